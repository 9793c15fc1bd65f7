"""Front position along a flow line, per date: the retreat (or advance) of a glacier.

Glaciologists measure terminus change along the glacier's centre line: the position of the
front where it crosses the flow line, in metres from the line's upstream end.  A decrease
between two dates is a retreat.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["front_positions"]


def front_positions(fronts: Mapping[Any, gpd.GeoDataFrame], flowline: Any) -> pd.DataFrame:
    """Position of the calving front along ``flowline`` for each date, and its change.

    Parameters
    ----------
    fronts : mapping
        Date (any sortable label) -> front lines (the ``lines`` of
        [`xseaice.glaciers.calving_front`][xseaice.glaciers.fronts.calving_front]), all in the flow
        line's CRS.
    flowline : shapely.LineString
        The glacier's centre line, digitised from upstream (on the glacier) to downstream
        (in the fjord), long enough to cross every front.

    Returns
    -------
    pandas.DataFrame
        Indexed by date: ``position_m`` (distance along the flow line of the most
        downstream crossing; NaN where the front does not cross it), ``change_m`` (since the
        previous date; negative = retreat) and ``total_change_m`` (since the first date).
    """
    import pandas as pd
    from shapely.geometry import LineString

    if not isinstance(flowline, LineString) or flowline.length <= 0:
        raise InvalidArgumentError(
            "flowline must be a shapely LineString from upstream to downstream (map units)"
        )
    rows = []
    for date in sorted(fronts):
        lines = fronts[date]
        pos = math.nan
        for geom in getattr(lines, "geometry", []):
            hit = flowline.intersection(geom.buffer(1e-6 + _half_pixel(lines)))
            if hit.is_empty:
                continue
            parts = getattr(hit, "geoms", [hit])
            for part in parts:  # the centre of each crossing of the buffered front
                ds = [flowline.project(_point(xy)) for xy in getattr(part, "coords", [])]
                if ds:
                    mid = 0.5 * (min(ds) + max(ds))
                    pos = mid if math.isnan(pos) else max(pos, mid)
        rows.append({"date": date, "position_m": pos})
    table = pd.DataFrame(rows).set_index("date")
    table["change_m"] = table["position_m"].diff()
    table["total_change_m"] = table["position_m"] - table["position_m"].iloc[0]
    return table


def _half_pixel(lines: Any) -> float:
    """Half a pixel: front lines join pixel centres, so a crossing may pass between them."""
    try:
        n = lines["n_pixels"].to_numpy()
        lengths = lines["length_m"].to_numpy()
        steps = [length / max(k - 1, 1) for length, k in zip(lengths, n, strict=True) if k > 1]
        return 0.75 * min(steps) if steps else 0.0
    except (KeyError, TypeError, AttributeError):
        return 0.0


def _point(xy: Any) -> Any:
    from shapely.geometry import Point

    return Point(xy)
