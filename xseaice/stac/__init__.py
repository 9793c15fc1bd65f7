"""STAC: catalogs, search, item helpers, and the co-registered load onto one GeoBox.

``search``, ``load``, ``open_scene``, ``make_geobox`` and ``SearchResult`` are importable
from here (and ``search``, ``load``, ``open_scene`` from `xseaice`); the modules load
on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "search": "xseaice.stac.searching",
    "SearchResult": "xseaice.stac.result",
    "load": "xseaice.stac.loading",
    "open_scene": "xseaice.stac.loading",
    "make_geobox": "xseaice.stac.grid",
    "default_crs": "xseaice.stac.grid",
    "get_catalog": "xseaice.stac.catalogs",
    "register_catalog": "xseaice.stac.catalogs",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xseaice.stac' has no attribute {name!r}")
