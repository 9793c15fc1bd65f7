"""The synthetic sea-ice world: scenes with pixel truth, and real-format writers.

No labelled real SAR scene can be downloaded for tests, so xseaice carries a physically
grounded simulator.  For a seed and a size, [`make_scene`][xseaice.synthetic.scene.make_scene]
returns everything a real scene has (Sentinel-1 EW HH/HV sigma0, incidence angle, AMSR-2 18.7/36.5
GHz brightness temperatures, a SIGRID-3 ice chart) plus the pixel truth (ice, ice type, leads,
floes). The writers put a scene into the real file formats (SAFE, HDF-EOS5, COG, STAC,
AI4Arctic netCDF) so that the readers and loaders are tested on the real layouts.

Modules: [`params`][xseaice.synthetic.params] (every physical knob), ``world`` (the truth),
``sensors`` (SAR and radiometer physics), ``chart`` (SIGRID-3 polygons), ``scene``
([`make_scene`][xseaice.synthetic.scene.make_scene]) and the writers.  See ``docs/synthetic.md``.
"""

from __future__ import annotations

from typing import Any

from xseaice.synthetic.params import ICE_TYPES, SEASON_DEFAULTS, SceneParams
from xseaice.synthetic.sampling import sample_params
from xseaice.synthetic.scene import GENERATORS, SyntheticScene, make_geobox, make_scene

__all__ = [
    "GENERATORS",
    "ICE_TYPES",
    "SEASON_DEFAULTS",
    "SceneParams",
    "SyntheticScene",
    "analyst_chart",
    "make_fjord",
    "make_geobox",
    "make_scene",
    "sample_params",
    "write_ai4arctic",
    "write_amsr2_he5",
    "write_caffe",
    "write_cog",
    "write_fjord_stac",
    "write_safe",
    "write_stac",
]

_WRITERS = {
    "analyst_chart": "xseaice.synthetic.analyst",
    "write_safe": "xseaice.synthetic.safe",
    "write_amsr2_he5": "xseaice.synthetic.amsr2_he5",
    "write_cog": "xseaice.synthetic.cog",
    "write_stac": "xseaice.synthetic.stac",
    "write_ai4arctic": "xseaice.synthetic.ai4arctic",
    "make_fjord": "xseaice.synthetic.fjord",
    "write_caffe": "xseaice.synthetic.caffe",
    "write_fjord_stac": "xseaice.synthetic.fjord_stac",
}


def __getattr__(name: str) -> Any:
    if name in _WRITERS:
        import importlib

        value = getattr(importlib.import_module(_WRITERS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'xseaice.synthetic' has no attribute {name!r}")
