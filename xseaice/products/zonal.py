"""Statistics of a map inside polygons, with exact fractional pixel coverage.

[`concentration`][xseaice.products.zonal.concentration] answers "what fraction of this ice-chart
polygon is ice?" for a probability or binary ice map.  Each pixel counts with the fraction of its
area that the polygon covers (computed by `exactextract <https://isciences.github.io/exactextract/>`_),
so a pixel half inside a polygon weighs one half, and the mean is::

    mean = sum(c_i * v_i) / sum(c_i)        over valid pixels i (c_i = covered fraction)

Dask-backed maps are processed block by block: every block is passed to exactextract
with only the polygons that touch it, and the per-block sums, coverage counts, minima,
maxima and variances are combined exactly (coverage fractions add up across blocks), so
the map is never loaded whole and the result equals one exactextract run on the full map.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from xseaice.exceptions import CRSError, InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["STATS", "concentration"]

logger = logging.getLogger(__name__)

#: Statistics [`concentration`][xseaice.products.zonal.concentration] can compute (``count`` is
#: always added).
STATS: tuple[str, ...] = ("mean", "std", "min", "max")

_OPS: tuple[str, ...] = ("count", "sum", "min", "max", "variance")
_ROW = "xseaice_row"


def _nodata_of(da: xr.DataArray) -> float | int | None:
    for key in ("_FillValue", "nodata", "missing_value"):
        if key in da.attrs:
            return da.attrs[key]
    fill = da.encoding.get("_FillValue")
    return fill


def _block_zonal(
    block: np.ndarray,
    bounds: tuple[float, ...],
    flip: bool,
    geoms: list[Any],
    rows: np.ndarray,
    crs_wkt: str,
    nodata: Any,
    ops: tuple[str, ...] = _OPS,
) -> tuple[np.ndarray, np.ndarray]:
    """exactextract of one block: (polygon rows, [count, sum, min, max, variance]).

    Only ``ops`` are computed; the other columns are NaN.
    """
    import geopandas as gpd
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    arr = np.asarray(block)
    if arr.dtype == bool:
        arr = arr.astype("uint8")
    if flip:
        arr = arr[::-1]
    xmin, ymin, xmax, ymax = bounds
    src = NumPyRasterSource(
        np.ascontiguousarray(arr), xmin, ymin, xmax, ymax, nodata=nodata, srs_wkt=None
    )
    frame = gpd.GeoDataFrame({_ROW: rows}, geometry=geoms, crs=crs_wkt)
    res = exact_extract(src, frame, list(ops), include_cols=[_ROW], output="pandas")
    values = np.full((len(res), len(_OPS)), np.nan)
    for k, op in enumerate(_OPS):
        if op in ops:
            values[:, k] = res[op].to_numpy(dtype="float64")
    return res[_ROW].to_numpy(dtype="int64"), values


def _combine(parts: list[tuple[np.ndarray, np.ndarray]], npoly: int) -> np.ndarray:
    """Exact merge of per-block results: (npoly, [count, sum, min, max, variance])."""
    n = np.zeros(npoly)
    total = np.zeros(npoly)
    lo = np.full(npoly, np.inf)
    hi = np.full(npoly, -np.inf)
    for rows, v in parts:
        np.add.at(n, rows, v[:, 0])
        np.add.at(total, rows, v[:, 1])
        for col, acc, func in ((2, lo, np.minimum), (3, hi, np.maximum)):
            ok = (v[:, 0] > 0) & np.isfinite(v[:, col])  # NaN when not asked for
            func.at(acc, rows[ok], v[ok, col])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
    m2 = np.zeros(npoly)
    for rows, v in parts:
        ok = v[:, 0] > 0
        r, nb = rows[ok], v[ok, 0]
        mb = v[ok, 1] / nb
        np.add.at(m2, r, nb * v[ok, 4] + nb * (mb - mean[r]) ** 2)
    empty = n <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(empty, np.nan, np.maximum(m2 / n, 0.0))
    lo[empty], hi[empty], mean[empty] = np.nan, np.nan, np.nan
    return np.stack([n, mean, lo, hi, np.sqrt(var)], axis=1)


def _chart_values(polygons: Any, column: str | None) -> np.ndarray | None:
    """The chart's concentration per polygon, or None for polygons without one."""
    from xseaice.products.regions import chart_concentration

    if column is None and "ct" not in polygons.columns and "CT" not in polygons.columns:
        return None
    return chart_concentration(polygons, column=column).value


def _normalise_stats(stats: str | Sequence[str]) -> list[str]:
    wanted = [stats] if isinstance(stats, str) else list(stats)
    bad = [s for s in wanted if s not in STATS]
    if bad or not wanted:
        raise InvalidArgumentError(
            f"stats={stats!r}: expected one or more of {list(STATS)} (count is always given)."
        )
    return wanted


def concentration(
    da: xr.DataArray,
    polygons: gpd.GeoDataFrame,
    *,
    column: str | None = None,
    stats: str | Sequence[str] = "mean",
) -> gpd.GeoDataFrame:
    """Area-weighted mean of a map inside each polygon (exact fractional pixel coverage).

    Parameters
    ----------
    da : xarray.DataArray
        Ice probability, ice fraction or a 0/1 ice map with dims ``(y, x)`` (or
        ``(time, y, x)`` with a single time step) and a CRS (``spatial_ref``
        coordinate); numpy- or dask-backed.  NaN and the ``_FillValue``/``nodata``
        attribute (255 for [`xseaice.products.topology.binarize`][] maps) are no data.
    polygons : geopandas.GeoDataFrame
        Polygons in any CRS (reprojected to the map's), e.g. an ice chart from
        [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart].
    column : str, optional
        Column with the chart's concentration (0-1).  By default ``ct`` if present, else
        SIGRID-3 ``CT`` codes decoded with [`xseaice.io.sigrid3.decode_concentration`][];
        without either, no comparison columns are added.
    stats : str or sequence of str
        Any of ``"mean"``, ``"std"``, ``"min"``, ``"max"`` (coverage-weighted mean and
        population standard deviation; minimum and maximum over touched pixels).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``polygons`` (same rows, index and CRS) with the requested statistics,
        ``count`` (the sum of the covered fractions of valid pixels: a fractional pixel
        count, 0 for a polygon outside the map or over no data) and, when the chart
        concentration is known, ``chart_concentration`` and
        ``difference = mean - chart_concentration``.  Statistics are NaN where ``count``
        is 0.

    Raises
    ------
    InvalidArgumentError
        For a map with several time steps (select one: ``da.isel(time=i)``), other
        dims, or unknown ``stats``.
    CRSError
        If the map or the polygons carry no CRS.
    IceChartError
        If ``column`` is not a column of ``polygons``.

    Examples
    --------
    >>> table = ice.seaice.concentration(chart)            # doctest: +SKIP
    >>> table[["ct", "mean", "difference"]].describe()     # doctest: +SKIP
    """
    import dask
    import dask.array as dsa
    import geopandas as gpd
    import odc.geo.xr  # noqa: F401  (registers .odc)
    import shapely

    wanted = _normalise_stats(stats)
    if not isinstance(da, xr.DataArray):
        raise InvalidArgumentError(
            f"da is a {type(da).__name__}; expected an xarray.DataArray map with a CRS."
        )
    if "time" in da.dims:
        if da.sizes["time"] != 1:
            raise InvalidArgumentError(
                f"the map has {da.sizes['time']} time steps; concentration() compares one map "
                "with one chart.  Select a time step first, e.g. da.isel(time=0) or "
                "da.sel(time='2023-01-04'), and call it once per time step."
            )
        da = da.isel(time=0)
    if tuple(da.dims) != ("y", "x"):
        raise InvalidArgumentError(
            f"the map has dims {tuple(da.dims)}; expected ('y', 'x') or ('time', 'y', 'x')."
        )
    if not isinstance(polygons, gpd.GeoDataFrame):
        if isinstance(polygons, gpd.GeoSeries):
            polygons = gpd.GeoDataFrame(geometry=polygons)
        else:
            raise InvalidArgumentError(
                f"polygons is a {type(polygons).__name__}; expected a geopandas.GeoDataFrame."
            )
    if polygons.crs is None:
        raise CRSError(
            "polygons have no CRS; set it with polygons.set_crs('EPSG:...') (charts from "
            "read_icechart carry theirs)."
        )
    gbox = getattr(da.odc, "geobox", None)
    if gbox is None or gbox.crs is None:
        raise CRSError(
            "the map has no CRS; it needs a 'spatial_ref' coordinate (maps from xseaice carry "
            "one), or assign one with da.odc.assign_crs('EPSG:3413')."
        )
    chart = _chart_values(polygons, column)

    from xseaice.products.regions import chart_on_map

    target = chart_on_map(polygons, gbox).geometry
    geoms = np.asarray(target.values, dtype=object)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    valid_idx = np.flatnonzero(ok)
    tree = shapely.STRtree(list(geoms[ok]))

    nodata = _nodata_of(da)
    if nodata is not None and np.issubdtype(da.dtype, np.floating):
        nodata = float(nodata)
    elif nodata is not None:
        nodata = int(nodata)
    flip = gbox.transform.e > 0
    crs_wkt = gbox.crs.to_wkt()
    npoly = len(polygons)
    extra = {"min": "min", "max": "max", "std": "variance"}
    ops = ("count", "sum", *(extra[w] for w in wanted if w in extra))
    data = da.data
    if not isinstance(data, dsa.Array):
        # in memory: one exactextract run over the whole array, no copy
        bounds = tuple(float(b) for b in gbox.extent.boundingbox)
        hits = np.sort(valid_idx[tree.query(shapely.box(*bounds), predicate="intersects")])
        parts = []
        if hits.size:
            parts.append(
                _block_zonal(
                    np.asarray(data), bounds, flip, list(geoms[hits]), hits, crs_wkt, nodata, ops
                )
            )
        combined = _combine(parts, npoly)
    else:
        blocks = data.to_delayed(optimize_graph=False)
        ystarts = np.cumsum((0, *data.chunks[0]))
        xstarts = np.cumsum((0, *data.chunks[1]))
        tasks = []
        for i in range(blocks.shape[0]):
            for j in range(blocks.shape[1]):
                sub = gbox[
                    int(ystarts[i]) : int(ystarts[i + 1]), int(xstarts[j]) : int(xstarts[j + 1])
                ]
                bounds = tuple(float(b) for b in sub.extent.boundingbox)
                hits = valid_idx[tree.query(shapely.box(*bounds), predicate="intersects")]
                if not hits.size:
                    continue
                hits = np.sort(hits)
                tasks.append(
                    dask.delayed(_block_zonal, pure=True)(
                        blocks[i, j], bounds, flip, list(geoms[hits]), hits, crs_wkt, nodata, ops
                    )
                )
        (combined,) = dask.compute(dask.delayed(_combine, pure=True)(tasks, npoly))

    out = polygons.copy()
    names = {"mean": 1, "min": 2, "max": 3, "std": 4}
    clash = [c for c in [*wanted, "count", "chart_concentration", "difference"] if c in out]
    if clash:
        logger.warning("concentration(): overwriting existing columns %s", clash)
    for name in wanted:
        out[name] = combined[:, names[name]]
    out["count"] = combined[:, 0]
    if chart is not None:
        out["chart_concentration"] = chart
        if "mean" in wanted:
            out["difference"] = combined[:, 1] - chart
    return out
