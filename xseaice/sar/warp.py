"""Move scenes and altimeter points onto another time along a drift field.

A drift field from [`xseaice.sar.drift.drift`][] gives the displacement ``D`` of the ice
between two acquisition times ``t_a`` and ``t_b``.  Assuming a steady drift over the
interval, ice seen at time ``t`` is at ``p + D(p) (t' - t) / (t_b - t_a)`` at time ``t'``
(``D`` read at ``p``, bilinear between the drift grid's cells, nearest beyond its edges).
Backwards in time the fraction is negative.

- [`warp`][xseaice.sar.warp.warp] resamples a scene (every variable with ``y``/``x`` dims) onto
  ``to_time``: the value at pixel ``q`` is read at ``q - f D(q)`` (bilinear; nearest for integer
  variables); lazily over dask blocks with a halo as wide as the largest displacement.
- [`warp_points`][xseaice.sar.warp.warp_points] moves altimeter points (a GeoDataFrame with a
  ``time`` column).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError
from xseaice.sar._blocks import axis_chunks, with_halo

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DriftField", "warp", "warp_points"]

logger = logging.getLogger(__name__)


def _as_time(value: Any, name: str) -> np.datetime64:
    import pandas as pd

    try:
        t = pd.Timestamp(value.rstrip("Z") if isinstance(value, str) else value)
    except (ValueError, TypeError) as exc:
        raise InvalidArgumentError(
            f"{name} must be a date-time (ISO 8601 string, numpy.datetime64 or pandas.Timestamp); "
            f"got {value!r}"
        ) from exc
    if pd.isna(t):
        raise InvalidArgumentError(f"{name} must be a date-time, got {value!r}")
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return np.datetime64(t.to_datetime64(), "ns")


class DriftField:
    """A drift Dataset ready for sampling at any CRS position.

    Parameters
    ----------
    drift : xarray.Dataset
        Output of [`xseaice.sar.drift.drift`][] (``u``, ``v`` in metres, ``x``/``y``
        coordinates, attributes ``time_a``, ``time_b``).

    Raises
    ------
    InvalidArgumentError
        If variables, coordinates or the two times are missing, or no vector is finite.
    """

    def __init__(self, drift: xr.Dataset) -> None:
        if not isinstance(drift, xr.Dataset) or not {"u", "v"} <= set(drift.data_vars):
            raise InvalidArgumentError(
                "drift must be the Dataset returned by xseaice.sar.drift.drift (variables u, v)"
            )
        if "time_a" not in drift.attrs or "time_b" not in drift.attrs:
            raise InvalidArgumentError(
                "drift has no time_a/time_b attributes (the scenes had no time coordinate): "
                "set them, e.g. drift.attrs.update(time_a='2023-01-04T08:00', time_b=...)"
            )
        self.t_a = _as_time(drift.attrs["time_a"], "drift.attrs['time_a']")
        self.t_b = _as_time(drift.attrs["time_b"], "drift.attrs['time_b']")
        self.span = float((self.t_b - self.t_a) / np.timedelta64(1, "s"))
        if self.span == 0:
            raise InvalidArgumentError("drift.attrs time_a and time_b are equal: no rate of motion")
        d = drift.compute()
        self.x, self.y = d.x.values.astype(float), d.y.values.astype(float)
        if self.x.size < 1 or self.y.size < 1:
            raise InvalidArgumentError("drift has an empty grid")
        self.dx = float(self.x[1] - self.x[0]) if self.x.size > 1 else 1.0
        self.dy = float(self.y[1] - self.y[0]) if self.y.size > 1 else 1.0
        self.crs = d.odc.crs if "spatial_ref" in d.coords else None
        self.u, self.v = self._fill(d.u.values), self._fill(d.v.values)

    @staticmethod
    def _fill(a: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(a)
        if bad.all():
            raise InvalidArgumentError("drift has no finite vector to move anything with")
        if bad.any():
            idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
            a = a[tuple(idx)]
        return a.astype(np.float64)

    def fraction(self, t_from: Any, t_to: Any) -> Any:
        """Fraction of the drift interval between two times (array-friendly)."""
        return (np.asarray(t_to, "datetime64[ns]") - np.asarray(t_from, "datetime64[ns]")) / (
            np.timedelta64(1, "s") * self.span
        )

    def sample(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Displacement ``(u, v)`` in metres at CRS positions (bilinear, nearest outside)."""
        idx = np.stack(
            [(np.asarray(y) - self.y[0]) / self.dy, (np.asarray(x) - self.x[0]) / self.dx]
        )
        u = ndimage.map_coordinates(self.u, idx, order=1, mode="nearest")
        v = ndimage.map_coordinates(self.v, idx, order=1, mode="nearest")
        return u, v

    def inside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether positions lie within half a cell of the drift grid."""
        fy = (np.asarray(y) - self.y[0]) / self.dy
        fx = (np.asarray(x) - self.x[0]) / self.dx
        return (fy >= -0.5) & (fy <= self.y.size - 0.5) & (fx >= -0.5) & (fx <= self.x.size - 0.5)

    def max_displacement(self) -> float:
        """Largest displacement in metres."""
        return float(np.hypot(self.u, self.v).max())


def _scene_time(ds: xr.Dataset | xr.DataArray) -> np.datetime64:
    if "time" not in ds.coords or ds["time"].size != 1:
        raise InvalidArgumentError(
            "the scene must carry one acquisition time (a 'time' coordinate of size 1) so "
            "warp knows how far to move it; assign one with ds.assign_coords(time=...)"
        )
    return _as_time(ds["time"].values.reshape(-1)[0], "the scene's time")


def _warp_block(
    block: np.ndarray,
    block_info: dict[Any, Any] | None = None,
    *,
    field: DriftField,
    frac: float,
    grid: tuple[float, float, float, float],
    starts: tuple[np.ndarray, np.ndarray],
    depth: int,
    order: int,
) -> np.ndarray:
    """Resample the core of one halo'd block: value at ``q`` read at ``q - frac D(q)``."""
    assert block_info is not None
    i, j = block_info[0]["chunk-location"][-2:]
    r0, c0 = int(starts[0][i]), int(starts[1][j])
    ny, nx = block.shape[-2] - 2 * depth, block.shape[-1] - 2 * depth
    x0, y0, dx, dy = grid
    rr, cc = np.mgrid[r0 : r0 + ny, c0 : c0 + nx]
    u, v = field.sample(x0 + cc * dx, y0 + rr * dy)
    src = np.stack([rr - frac * v / dy - (r0 - depth), cc - frac * u / dx - (c0 - depth)])
    out = np.empty((*block.shape[:-2], ny, nx), block.dtype)
    fill = np.nan if block.dtype.kind == "f" else 0
    for idx in np.ndindex(block.shape[:-2]):
        out[idx] = ndimage.map_coordinates(block[idx], src, order=order, mode="constant", cval=fill)
    return out


def _warp_array(
    data: Any, field: DriftField, frac: float, grid: tuple[float, float, float, float], order: int
) -> da.Array:
    """Lazy warp of a ``(..., y, x)`` array."""
    depth = math.ceil(abs(frac) * field.max_displacement() / min(abs(grid[2]), abs(grid[3]))) + 2
    if isinstance(data, da.Array):
        arr = data
    else:
        arr = da.from_array(data, chunks=(1,) * (data.ndim - 2) + (2048, 2048))
    nd = arr.ndim
    spatial = {k: axis_chunks(arr.shape[k], max(arr.chunks[k]), depth) for k in (nd - 2, nd - 1)}
    arr = arr.rechunk(spatial)
    if order and arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    ov = with_halo(arr, depth, np.nan if arr.dtype.kind == "f" else 0)
    starts = tuple(np.cumsum((0, *c[:-1])) for c in arr.chunks[-2:])
    return da.map_blocks(
        _warp_block,
        ov,
        chunks=arr.chunks,
        dtype=arr.dtype,
        field=field,
        frac=frac,
        grid=grid,
        starts=starts,
        depth=depth,
        order=order,
    )


def warp(
    ds: xr.Dataset | xr.DataArray | gpd.GeoDataFrame,
    drift: xr.Dataset,
    to_time: Any,
    *,
    order: int | None = None,
) -> xr.Dataset | xr.DataArray | gpd.GeoDataFrame:
    """Move a scene (or altimeter points) onto another time along a drift field.

    Parameters
    ----------
    ds : xarray.Dataset, xarray.DataArray or geopandas.GeoDataFrame
        A scene with ``y``/``x`` dims on a projected grid (the drift's CRS) and one time
        (a ``time`` coordinate of size 1); a GeoDataFrame of points is handed to
        [`warp_points`][xseaice.sar.warp.warp_points].
    drift : xarray.Dataset
        Output of [`xseaice.sar.drift.drift`][] with ``time_a``/``time_b`` attributes.
    to_time : str, numpy.datetime64 or pandas.Timestamp
        The time to move the scene to.
    order : int, optional
        Interpolation order (default 1, bilinear, for floats; 0, nearest, for integers).

    Returns
    -------
    xarray.Dataset, xarray.DataArray or geopandas.GeoDataFrame
        Same variables and grid, lazy, ``time`` set to ``to_time``; NaN where the moved
        scene has no data (floats).  Points: see [`warp_points`][xseaice.sar.warp.warp_points].

    Raises
    ------
    InvalidArgumentError
        If the scene has no single time, the drift no times, or the grids differ in CRS.

    Examples
    --------
    >>> from xseaice.synthetic.drift import make_drift_pair
    >>> from xseaice.sar.drift import drift
    >>> from xseaice.sar.warp import warp
    >>> pair = make_drift_pair(0, shape=(128, 128))
    >>> d = drift(pair.first.dataset, pair.second, max_displacement=3000)
    >>> moved = warp(pair.first.dataset, d, pair.second.time.values[0])
    """
    import geopandas as gpd
    import odc.geo.xr  # noqa: F401

    if isinstance(ds, gpd.GeoDataFrame):
        return warp_points(ds, drift, to_time=to_time)
    field = DriftField(drift)
    frac = float(field.fraction(_scene_time(ds), _as_time(to_time, "to_time")))
    if field.crs is not None and ds.odc.crs is not None and ds.odc.crs != field.crs:
        raise InvalidArgumentError(
            f"the scene CRS {ds.odc.crs} differs from the drift CRS {field.crs}: reproject first"
        )
    grid = (float(ds.x[0]), float(ds.y[0]), float(ds.x[1] - ds.x[0]), float(ds.y[1] - ds.y[0]))
    new_time = _as_time(to_time, "to_time")

    def one(var: xr.DataArray) -> xr.DataArray:
        if "y" not in var.dims or "x" not in var.dims:
            return var
        var = var.transpose(..., "y", "x")
        o = order if order is not None else (0 if var.dtype.kind in "iub" else 1)
        return var.copy(data=_warp_array(var.data, field, frac, grid, o))

    if isinstance(ds, xr.DataArray):
        out: xr.Dataset | xr.DataArray = one(ds)
    else:
        out = ds.map(one, keep_attrs=True)
    logger.debug("warp by %.3f of the drift interval", frac)
    return out.assign_coords(time=np.atleast_1d(new_time) if "time" in out.dims else new_time)


def warp_points(points: gpd.GeoDataFrame, drift: xr.Dataset, *, to_time: Any) -> gpd.GeoDataFrame:
    """Move altimeter points onto another time along a drift field.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Point geometries with a CRS (EPSG:4326 from the altimetry readers) and a ``time``
        column (the acquisition time of each point).
    drift : xarray.Dataset
        Output of [`xseaice.sar.drift.drift`][] with ``time_a``/``time_b`` attributes
        and a ``spatial_ref`` coordinate.
    to_time : str, numpy.datetime64 or pandas.Timestamp
        The time to move the points to.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in the input CRS with moved geometries, ``time`` set to ``to_time``,
        ``source_time`` (the original times), ``drift_dx``/``drift_dy`` (metres moved along
        the drift CRS axes) and ``drift_valid`` (False where a point lies outside the drift
        grid; such points keep their position and NaN displacements).

    Raises
    ------
    InvalidArgumentError
        If ``points`` has no ``time`` column, no CRS or no point geometries, or the drift
        lacks times or a CRS.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely.geometry import Point
    >>> from xseaice.synthetic.drift import make_drift_pair
    >>> from xseaice.sar.drift import drift
    >>> from xseaice.sar.warp import warp_points
    >>> pair = make_drift_pair(0, shape=(128, 128))
    >>> d = drift(pair.first.dataset, pair.second, max_displacement=3000)
    >>> pts = gpd.GeoDataFrame({"time": pd.to_datetime(["2023-01-04T08:00"])},
    ...                        geometry=[Point(-5.0, 80.0)], crs="EPSG:4326")
    >>> moved = warp_points(pts, d, to_time="2023-01-04T20:00")
    """
    import geopandas as gpd

    if not isinstance(points, gpd.GeoDataFrame) or "time" not in points.columns:
        raise InvalidArgumentError(
            "points must be a GeoDataFrame with a 'time' column (as from read_altimetry)"
        )
    if points.crs is None:
        raise InvalidArgumentError("points has no CRS: set it with points.set_crs('EPSG:4326')")
    if len(points) and not (points.geom_type == "Point").all():
        raise InvalidArgumentError("points must hold Point geometries only")
    field = DriftField(drift)
    if field.crs is None:
        raise InvalidArgumentError("drift has no spatial_ref coordinate: its CRS is unknown")
    target = _as_time(to_time, "to_time")
    proj = points.to_crs(field.crs.to_wkt())
    x, y = proj.geometry.x.to_numpy(), proj.geometry.y.to_numpy()
    times = points["time"].to_numpy().astype("datetime64[ns]")
    frac = np.asarray(field.fraction(times, target), dtype=float)
    u, v = field.sample(x, y)
    ok = field.inside(x, y) & np.isfinite(frac)
    dxm = np.where(ok, frac * u, np.nan)
    dym = np.where(ok, frac * v, np.nan)
    moved = gpd.GeoSeries(
        gpd.points_from_xy(x + np.nan_to_num(dxm), y + np.nan_to_num(dym)), crs=proj.crs
    ).to_crs(points.crs)
    out = points.copy()
    out["source_time"] = points["time"].to_numpy()
    out["time"] = target
    out["drift_dx"], out["drift_dy"], out["drift_valid"] = dxm, dym, ok
    out = out.set_geometry(moved.values)
    if (~ok).any():
        logger.info(
            "warp_points: %d of %d points outside the drift grid kept in place",
            int((~ok).sum()),
            len(ok),
        )
    return out
