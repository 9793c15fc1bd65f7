"""SAR image processing between acquisitions: ice drift, warping between dates, despeckling.

- :func:`xseaice.sar.drift.drift`: displacement of the ice from one scene to another;
- :func:`xseaice.sar.warp.warp` / :func:`~xseaice.sar.warp.warp_points`: a scene or
  altimeter points moved onto another time along a drift field;
- :func:`xseaice.sar.despeckle.despeckle`: boxcar, Lee, refined Lee and (optional extra)
  SAR2SAR speckle filters.

The submodules load lazily, so ``import xseaice.sar`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["despeckle", "drift", "warp", "warp_points"]

_WHERE = {
    "drift": "xseaice.sar.drift",
    "warp": "xseaice.sar.warp",
    "warp_points": "xseaice.sar.warp",
    "despeckle": "xseaice.sar.despeckle",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'xseaice.sar' has no attribute {name!r}")
