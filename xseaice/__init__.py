"""xseaice: sea-ice maps from Sentinel-1 SAR and AMSR-2, the xarray way.

``import xseaice`` registers the ``seaice`` accessors on xarray objects and exposes the
top-level functions below.  Heavy modules (torch, odc-stac, geopandas) load on first use.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from xseaice import accessor as _accessor  # noqa: F401  (registers ``.seaice``)
from xseaice.exceptions import XSeaIceError, XSeaIceWarning

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that owns it; imported on first attribute access
_LAZY: dict[str, str] = {
    "search": "xseaice.stac.searching",
    "load": "xseaice.stac.loading",
    "open_scene": "xseaice.stac.loading",
    "read_icechart": "xseaice.io.icechart",
    "scale_logits": "xseaice.products.als",
    "binarize": "xseaice.products.topology",
    "concentration": "xseaice.products.zonal",
    "chart_concentration": "xseaice.products.regions",
    "segment": "xseaice.inference.segment",
    "predict_array": "xseaice.inference.tiling",
    "train": "xseaice.training",
    "evaluate": "xseaice.training.heldout",
    "read_caffe": "xseaice.io.caffe",
    "calving_front": "xseaice.glaciers.fronts",
    "mean_distance_error": "xseaice.glaciers.mde",
    "drift": "xseaice.sar.drift",
    "warp": "xseaice.sar.warp",
    "despeckle": "xseaice.sar.despeckle",
    "read_altimetry": "xseaice.io.altimetry",
    "search_altimetry": "xseaice.stac.altimetry",
    "densify": "xseaice.altimetry.densify",
}

# Module names differ from the function names above (``searching`` owns ``search``), so
# importing a submodule never shadows a top-level function.  (``inference`` is a package
# whose ``segment`` module owns ``segment``; ``xseaice.segment`` stays the function.)
_SUBMODULES = {
    "synthetic",
    "models",
    "inference",
    "products",
    "io",
    "stac",
    "metrics",
    "plotting",
    "workflow",
    "variables",
    "exceptions",
    "cli",
    "demo",
    "training",
    "glaciers",
    "sar",
    "altimetry",
}

__all__ = ["XSeaIceError", "XSeaIceWarning", "__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"xseaice.{name}")
    raise AttributeError(f"module 'xseaice' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
