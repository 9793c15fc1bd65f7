"""AutoICE stage-of-development (SOD) and floe-size (FLOE) classes of every pixel, from the
synthetic world's pixel truth.

A chart labels a whole polygon with the stage that holds at least 70 % of its ice (AutoICE),
so its SOD labels are almost always first-year or old ice: open water, new and young ice
rarely dominate a polygon, and a head trained on chart labels alone learns two classes.  The
simulator knows each pixel's ice type and floe, which gives pixel labels in the same class
codes (`xseaice.io.autoice.AUTOICE_SOD_CLASSES`, `AUTOICE_FLOE_CLASSES`):

* SOD: water 0, new ice 1, young ice 2, first-year ice 4 (the simulator's first-year ice is
  charted as SIGRID-3 stage ``86``, which AutoICE maps to thick first-year), old ice 5
  (the stage codes of [`xseaice.synthetic.chart.STAGE_OF_TYPE`][]).
* FLOE: water 0; an ice pixel takes the class of its floe's equivalent diameter
  ``2 sqrt(area / pi)`` with the chart's edges (cake < 20 m, small < 100 m, medium < 500 m,
  big < 2 km, vast otherwise); new ice (charted as form ``99``, undefined) and ice outside
  every floe are 255.  Floe areas are measured inside the scene, as the chart does.
"""

from __future__ import annotations

import numpy as np

from xseaice.io.autoice import UNDEFINED
from xseaice.synthetic.chart import STAGE_OF_TYPE

__all__ = ["SOD_OF_TRUTH_TYPE", "floe_truth_classes", "sod_truth_classes"]

# SIGRID-3 stage code -> AutoICE SOD class, for the codes the simulator writes
_SOD_OF_STAGE = {"81": 1, "83": 2, "86": 4, "95": 5}
#: AutoICE SOD class of each truth ice type (0 water, 1 new, 2 young, 3 first-year, 4 old).
SOD_OF_TRUTH_TYPE: dict[int, int] = {
    0: 0,
    **{t: _SOD_OF_STAGE[c] for t, c in STAGE_OF_TYPE.items()},
}
# floe diameter edges (m) of the AutoICE classes 1 (cake) .. 5 (vast; giant floes too)
_FLOE_EDGES_M = (20.0, 100.0, 500.0, 2000.0)


def sod_truth_classes(ice_type: np.ndarray) -> np.ndarray:
    """uint8 AutoICE SOD class of every pixel of a truth ``ice_type`` map (255: unknown type).

    Parameters
    ----------
    ice_type : numpy.ndarray
        The simulator's ice type (0 water, 1 new, 2 young, 3 first-year, 4 old).

    Returns
    -------
    numpy.ndarray
        uint8 of the same shape.
    """
    lut = np.full(256, UNDEFINED, dtype="uint8")
    for t, c in SOD_OF_TRUTH_TYPE.items():
        lut[t] = c
    return lut[np.asarray(ice_type).astype("uint8")]


def floe_truth_classes(floe: np.ndarray, ice_type: np.ndarray, *, pixel_size: float) -> np.ndarray:
    """uint8 AutoICE FLOE class of every pixel from the truth floe labels.

    Parameters
    ----------
    floe : numpy.ndarray of int
        Floe label of each pixel (0: not part of a floe).
    ice_type : numpy.ndarray
        The simulator's ice type (0 water, 1 new ice: undefined, as on the chart).
    pixel_size : float
        Pixel size in metres.

    Returns
    -------
    numpy.ndarray
        uint8 of the same shape: 0 water, 1-5 by floe diameter, 255 undefined.
    """
    lab = np.asarray(floe).astype("int64")
    kind = np.asarray(ice_type)
    area = np.bincount(lab.ravel(), minlength=1).astype("float64") * float(pixel_size) ** 2
    diam = 2.0 * np.sqrt(area / np.pi)
    cls_of_floe = (1 + np.searchsorted(np.asarray(_FLOE_EDGES_M), diam, side="right")).astype(
        "uint8"
    )
    out = cls_of_floe[lab]
    out[(lab == 0) | (kind == 1)] = UNDEFINED
    out[kind == 0] = 0
    return out
