"""The one lookup of a chart's concentration per polygon.

Analytical Logit Scaling with ``preserve=chart`` ([`xseaice.products.als.scale_logits`][])
and the zonal statistics ([`xseaice.products.zonal.concentration`][]) both read each
polygon's total concentration through
[`chart_concentration`][xseaice.products.regions.chart_concentration], so both accept the same
charts: one read by [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart] (``ct``,
``ct_low``, ``ct_high``, 0-1), a table with SIGRID-3 ``CT`` codes, or any 0-1 column named by
``column``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from xseaice.exceptions import IceChartError, IceChartWarning, InvalidArgumentError

__all__ = ["ChartConcentration", "chart_concentration", "chart_on_map"]

logger = logging.getLogger(__name__)

#: Below this fraction of the map's extent covered by chart polygons, warn.
SMALL_OVERLAP = 0.05


@dataclass(frozen=True)
class ChartConcentration:
    """Concentration (0-1) per chart row: the value and the interval its code stands for.

    ``value``, ``low`` and ``high`` are float64 arrays with one entry per row, NaN where
    the chart gives no concentration; ``low == high == value`` for exact values.
    ``source`` names the column read.
    """

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    source: str


def _numeric(chart: Any, name: str) -> np.ndarray:
    import pandas as pd

    return np.asarray(pd.to_numeric(chart[name], errors="coerce"), dtype="float64")


Convention = Literal["sigrid3", "ai4arctic"]


def _from_codes(chart: Any, name: str, convention: Convention) -> ChartConcentration:
    from xseaice.io.icechart import concentration_bounds, decode_concentration

    value = np.asarray(decode_concentration(chart[name], convention=convention), dtype="float64")
    if convention == "sigrid3":
        low, high = concentration_bounds(chart[name])
    else:
        low, high = value, value
    return ChartConcentration(value, np.asarray(low, "float64"), np.asarray(high, "float64"), name)


def chart_concentration(
    chart: Any,
    *,
    column: str | None = None,
    convention: Convention = "sigrid3",
) -> ChartConcentration:
    """Each chart polygon's total concentration (0-1) and the interval it stands for.

    Parameters
    ----------
    chart : pandas.DataFrame or geopandas.GeoDataFrame
        The chart's polygons.
    column : str, optional
        A 0-1 concentration column.  Default: ``ct`` (with ``ct_low`` / ``ct_high`` when
        present, as [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart] writes them), else
        the SIGRID-3 ``CT`` codes decoded with [`xseaice.io.sigrid3.decode_concentration`][].
    convention : {"sigrid3", "ai4arctic"}
        How ``CT`` codes are read.

    Returns
    -------
    ChartConcentration
        ``value``, ``low``, ``high`` per row (NaN where unknown) and the column read.

    Raises
    ------
    IceChartError
        ``column`` is not in the chart, or the chart has neither ``ct`` nor ``CT``.
    InvalidArgumentError
        A concentration outside 0-1 (e.g. percentages).

    Examples
    --------
    >>> import pandas as pd
    >>> c = chart_concentration(pd.DataFrame({"CT": ["30", "13", None]}))
    >>> c.value.tolist()[:2], c.low.tolist()[:2], c.high.tolist()[:2]
    ([0.3, 0.2], [0.3, 0.1], [0.3, 0.3])
    """
    columns = [str(c) for c in chart.columns]
    if column is not None:
        if column not in chart.columns:
            raise IceChartError(
                f"column={column!r} is not a column of the chart; its columns are {columns}. "
                "Pass the name of the 0-1 concentration column (read_icechart adds 'ct') or "
                "leave column=None."
            )
        value = _numeric(chart, column)
        out = ChartConcentration(value, value, value, column)
    elif "ct" in chart.columns:
        value = _numeric(chart, "ct")
        has_bounds = "ct_low" in chart.columns and "ct_high" in chart.columns
        low = _numeric(chart, "ct_low") if has_bounds else value
        high = _numeric(chart, "ct_high") if has_bounds else value
        out = ChartConcentration(value, low, high, "ct")
    elif "CT" in chart.columns:
        out = _from_codes(chart, "CT", convention)
    else:
        raise IceChartError(
            f"the chart has neither a 'ct' (0-1) nor a 'CT' (SIGRID-3 code) column (it has "
            f"{columns}); read it with xseaice.read_icechart or pass column='<0-1 column>'."
        )
    v = out.value
    bad = np.isfinite(v) & ((v < 0) | (v > 1))
    if bad.any():
        raise InvalidArgumentError(
            f"the chart's concentration column {out.source!r} holds values outside 0-1 "
            f"(e.g. {v[bad][:3].tolist()}); expected fractions. Divide percentages by 100, "
            "or use read_icechart's 'ct'."
        )
    return out


def _polygonal(geom: Any) -> Any:
    """The polygonal part of a geometry (None when it has none)."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts) if parts else None
    return None


def _repair(geoms: np.ndarray) -> np.ndarray:
    """Polygons only; invalid (self-intersecting) ones repaired with ``make_valid``."""
    import shapely

    out = np.array([_polygonal(g) for g in geoms], dtype=object)
    dropped = [i for i, (g, p) in enumerate(zip(geoms, out, strict=True)) if g and p is None]
    if dropped:
        warnings.warn(
            f"chart rows {dropped[:10]} are not polygons (points or lines) and are ignored; "
            "a chart's regions must be polygons.",
            IceChartWarning,
            stacklevel=3,
        )
    present = np.array([g is not None for g in out], dtype=bool)
    invalid = np.zeros(len(out), dtype=bool)
    invalid[present] = ~shapely.is_valid(out[present])
    if invalid.any():
        rows = np.flatnonzero(invalid).tolist()
        warnings.warn(
            f"chart rows {rows[:10]} are invalid polygons (e.g. self-intersecting); they were "
            "repaired with shapely.make_valid. Fix the chart to silence this.",
            IceChartWarning,
            stacklevel=3,
        )
        out[invalid] = [_polygonal(shapely.make_valid(g)) for g in out[invalid]]
    return out


def _overlapping_pairs(geoms: np.ndarray, tolerance: float) -> list[tuple[int, int]]:
    import shapely

    idx = np.flatnonzero([g is not None for g in geoms])
    if idx.size < 2:
        return []
    tree = shapely.STRtree(list(geoms[idx]))
    left, right = tree.query(list(geoms[idx]), predicate="overlaps")
    pairs = []
    for a, b in zip(left, right, strict=True):
        if a < b:
            ga, gb = geoms[idx[a]], geoms[idx[b]]
            shared = ga.intersection(gb).area
            if shared > tolerance * min(ga.area, gb.area):
                pairs.append((int(idx[a]), int(idx[b])))
    return pairs


def chart_on_map(
    chart: Any,
    geobox: Any,
    *,
    overlaps: Literal["refuse", "allow"] = "allow",
) -> Any:
    """The chart in the map's CRS, checked to overlap the map, its polygons repaired.

    The one check used by ``scale_logits(preserve=chart)`` and ``concentration(chart)``:
    a chart in the wrong CRS, made of points or lines, empty, or outside the scene would
    otherwise give a plain-ALS map or a table of NaN without a word.

    Parameters
    ----------
    chart : geopandas.GeoDataFrame
        The chart's polygons, with a CRS.
    geobox : odc.geo.geobox.GeoBox, xarray.DataArray or xarray.Dataset
        The map's grid (or a map with a CRS).
    overlaps : {"allow", "refuse"}
        ``"refuse"``: raise when polygons overlap each other (a pixel can then belong to
        one region only, so per-region guarantees such as ALS ``preserve`` break).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in the map's CRS, same rows in the same order; non-polygon rows have no
        geometry; invalid polygons are repaired with `shapely.make_valid`.

    Raises
    ------
    IceChartError
        If no chart polygon overlaps the map, or (``overlaps="refuse"``) polygons overlap.

    Warns
    -----
    IceChartWarning
        When rows are repaired or ignored, or polygons cover under 5 % of the map.
    """
    import shapely
    from odc.geo import CRS

    from xseaice.io.icechart import _geobox_of

    geobox = _geobox_of(geobox)
    if overlaps not in ("allow", "refuse"):
        raise InvalidArgumentError(f"overlaps={overlaps!r}; expected 'allow' or 'refuse'.")
    if chart.crs is None:
        raise IceChartError("the chart has no CRS; set one with chart.set_crs('EPSG:...').")
    target = chart if CRS(chart.crs) == geobox.crs else chart.to_crs(geobox.crs.to_wkt())
    geoms = np.asarray(target.geometry.values, dtype=object)
    with np.errstate(invalid="ignore"):  # off the projection's domain: inf coordinates
        finite = np.array(
            [g is not None and np.isfinite(shapely.bounds(g)).all() for g in geoms], dtype=bool
        )
    geoms[~finite] = None
    geoms = _repair(geoms)
    extent = shapely.box(*geobox.extent.boundingbox)
    present = [g for g in geoms if g is not None]
    covered = shapely.union_all(present).intersection(extent).area if present else 0.0
    fraction = float(covered / extent.area) if extent.area else 0.0
    if not fraction > 0:
        raise IceChartError(
            f"no polygon of the chart ({len(chart)} rows, {len(present)} polygons, CRS "
            f"{CRS(chart.crs).to_epsg() or 'custom'}) overlaps the map (CRS "
            f"{geobox.crs.to_epsg() or 'custom'}, bounds "
            f"{tuple(round(b) for b in geobox.extent.boundingbox)}). Check the chart's CRS "
            "(chart.crs must describe its coordinates), its date and area, and that it holds "
            "polygons."
        )
    if fraction < SMALL_OVERLAP:
        warnings.warn(
            f"the chart's polygons cover only {100 * fraction:.1f} % of the map; the rest "
            "has no chart concentration. Check that the chart is for this scene.",
            IceChartWarning,
            stacklevel=2,
        )
    if overlaps == "refuse":
        pairs = _overlapping_pairs(geoms, 1e-6)
        if pairs:
            raise IceChartError(
                f"chart polygons overlap (rows {pairs[:5]}{' ...' if len(pairs) > 5 else ''}); "
                "a pixel can belong to one region only. Dissolve or clip them first, e.g. "
                "chart.overlay(chart, how='union'), or preserve='scene'."
            )
    import geopandas as gpd

    out = target.copy()
    out[out.geometry.name] = gpd.GeoSeries(list(geoms), index=out.index, crs=target.crs)
    return out
