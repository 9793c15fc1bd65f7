"""Co-location of altimeter points with a scene grid: CRS, time window, drift, footprints,
the lead map and the usable points."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["colocate", "lead_map", "scene_grid", "scene_time", "usable_points"]

logger = logging.getLogger(__name__)


def scene_time(scene_ds: xr.Dataset | xr.DataArray) -> pd.Timestamp | None:
    """The acquisition time of a one-time scene, or ``None`` when it has none."""
    if "time" not in scene_ds.coords or scene_ds["time"].size != 1:
        return None
    return pd.Timestamp(np.asarray(scene_ds["time"].values).ravel()[0])


def scene_grid(scene_ds: xr.Dataset | xr.DataArray) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(x, y, crs)`` of a scene: 1-D regular coordinates and its projected CRS."""
    import odc.geo.xr  # noqa: F401

    crs = scene_ds.odc.crs
    if crs is None or "x" not in scene_ds.coords or "y" not in scene_ds.coords:
        raise InvalidArgumentError(
            "scene_ds must have x/y coordinates and a CRS (a spatial_ref coordinate), like "
            "xseaice.open_scene or make_scene produce; assign one with ds.odc.assign_crs(...)"
        )
    x = np.asarray(scene_ds["x"].values, dtype=np.float64)
    y = np.asarray(scene_ds["y"].values, dtype=np.float64)
    return x, y, crs


def _warp(pts: gpd.GeoDataFrame, drift: xr.Dataset, t_scene: pd.Timestamp) -> gpd.GeoDataFrame:
    """Move the points to the scene time along the drift field (`warp_points`)."""
    from xseaice.sar.warp import warp_points

    moved = warp_points(pts, drift, to_time=t_scene)
    moved = moved.loc[moved["drift_valid"].to_numpy(dtype=bool)]
    return moved.assign(time=moved["source_time"]).drop(columns="source_time")


def colocate(
    scene_ds: xr.Dataset | xr.DataArray,
    points: gpd.GeoDataFrame,
    *,
    max_dt: str | pd.Timedelta | None = None,
    drift: xr.Dataset | None = None,
) -> pd.DataFrame:
    """Altimeter points that fall on a scene, in its CRS, its time window, drift-corrected.

    Parameters
    ----------
    scene_ds : xarray.Dataset or xarray.DataArray
        The scene (grid, CRS and time).
    points : geopandas.GeoDataFrame
        From [`xseaice.read_altimetry`][xseaice.io.altimetry.read_altimetry] or the synthetic
        tracks.
    max_dt : str or pandas.Timedelta, optional
        Keep only points within this time of the scene.
    drift : xarray.Dataset, optional
        Ice displacement field ([`xseaice.sar.drift.drift`][], ``time_a``/``time_b``
        attributes); each point is moved by the share of it that matches its time
        difference to the scene ([`xseaice.sar.warp.warp_points`][]; the columns
        ``drift_dx``, ``drift_dy`` record the move).  Points outside the drift grid are
        dropped: their position at the scene time is unknown.

    Returns
    -------
    pandas.DataFrame
        The columns of ``points`` plus ``x``, ``y`` (scene CRS), ``row``, ``col`` (nearest
        pixel) and ``dt_s`` (point time minus scene time, seconds), only points inside
        the grid.

    Raises
    ------
    InvalidArgumentError
        If ``points`` has no CRS, or ``max_dt``/``drift`` is given for a scene without time.
    """
    if getattr(points, "crs", None) is None:
        raise InvalidArgumentError(
            "points must be a GeoDataFrame with a CRS (read_altimetry returns EPSG:4326 points)"
        )
    x, y, crs = scene_grid(scene_ds)
    t_scene = scene_time(scene_ds)
    pts = points
    if max_dt is not None or drift is not None:
        if t_scene is None:
            raise InvalidArgumentError(
                "max_dt and drift need a scene with one time coordinate; select one with "
                "scene_ds.isel(time=0) or pass max_dt=None, drift=None"
            )
    if max_dt is not None:
        dt = (pd.to_datetime(pts["time"]) - t_scene).abs()
        pts = pts.loc[dt <= pd.Timedelta(max_dt)]
    pts = pts.to_crs(crs)
    if drift is not None and len(pts):
        pts = _warp(pts, drift, t_scene)
    out = pd.DataFrame(pts.drop(columns="geometry"))
    out["x"] = pts.geometry.x.to_numpy()
    out["y"] = pts.geometry.y.to_numpy()
    dx, dy = x[1] - x[0], y[1] - y[0]
    col = np.round((out["x"].to_numpy() - x[0]) / dx)
    row = np.round((out["y"].to_numpy() - y[0]) / dy)
    inside = (col >= 0) & (col < x.size) & (row >= 0) & (row < y.size)
    out = out.loc[inside].copy()
    out["row"] = row[inside].astype(np.int64)
    out["col"] = col[inside].astype(np.int64)
    if t_scene is not None:
        out["dt_s"] = (pd.to_datetime(out["time"]) - t_scene).dt.total_seconds()
    logger.debug("colocate: %d of %d points on the scene", len(out), len(points))
    return out.reset_index(drop=True)


def lead_map(
    scene_ds: xr.Dataset, ice: xr.DataArray | np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(ice, valid)``: the lead map as booleans, and where it has data (0 or 1).

    ``ice`` (0/1 on the scene grid, e.g. ``prob.seaice.binarize()``; other values are no
    data) or, when None, the scene's ``ice`` variable; ``(None, None)`` without either.

    Raises
    ------
    InvalidArgumentError
        If the map is not on the scene grid.
    """
    src = ice if ice is not None else (scene_ds["ice"] if "ice" in scene_ds else None)
    if src is None:
        return None, None
    if isinstance(src, xr.DataArray):
        if "time" in src.dims:
            src = src.isel(time=0)
        src = src.transpose("y", "x").values
    arr = np.asarray(src)
    if arr.shape != (scene_ds.sizes["y"], scene_ds.sizes["x"]):
        raise InvalidArgumentError(
            f"ice must be a 0/1 map on the scene grid "
            f"{(scene_ds.sizes['y'], scene_ds.sizes['x'])}; "
            f"got shape {arr.shape}: binarize the scene's probability (prob.seaice.binarize())"
        )
    valid = np.isin(arr, (0, 1))
    return arr == 1, valid


def usable_points(pts: pd.DataFrame, value: str, lead_map: bool) -> pd.DataFrame:
    """The points with a finite ``value`` that pass their quality flag.

    Lead and ocean samples of ``"freeboard"`` are dropped with a lead map (the map is
    the sea-surface reference) and are 0 without one.

    Raises
    ------
    InvalidArgumentError
        If ``pts`` has no ``value`` column.
    """
    if value not in pts:
        raise InvalidArgumentError(
            f"points have no column {value!r}; choose value= among "
            f"{[c for c in pts.columns if pts[c].dtype.kind == 'f']}"
        )
    pts = pts.copy()
    surface = pts["surface"].astype(str) if "surface" in pts else pd.Series("floe", pts.index)
    if value == "freeboard":
        water = surface.isin(["lead", "ocean"])
        pts.loc[water, value] = np.nan if lead_map else 0.0
    keep = np.isfinite(pts[value].to_numpy(dtype=np.float64))
    if "quality_ok" in pts:
        keep &= pts["quality_ok"].to_numpy(dtype=bool)
    return pts.loc[keep].reset_index(drop=True)
