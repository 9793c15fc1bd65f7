"""Marine-terminating glaciers: calving fronts from SAR zone maps, and CaFFe's metrics.

>>> from xseaice.glaciers import calving_front, mean_distance_error
"""

from __future__ import annotations

from xseaice.glaciers.fronts import CalvingFront, calving_front, postprocess_zones
from xseaice.glaciers.mde import MDEResult, mean_distance_error, zone_iou
from xseaice.glaciers.retreat import front_positions

__all__ = [
    "CalvingFront",
    "MDEResult",
    "calving_front",
    "front_positions",
    "mean_distance_error",
    "postprocess_zones",
    "zone_iou",
]
