"""What makes a panel of map coordinates in km a map: title, graticule and chart polygons.

[`xseaice.plot_overview.overview_figure`][] draws its panels on plain axes in projected km;
these helpers add the date, scene id and CRS above the figure, latitude/longitude lines
(computed with pyproj, so they need neither cartopy nor Natural Earth) and the ice-chart
polygons outlined and labelled with their total concentration (CT).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["chart_outlines", "figure_title", "latlon_lines"]

logger = logging.getLogger(__name__)


def _crs(ds: xr.Dataset | xr.DataArray) -> Any:
    try:
        return ds.odc.crs
    except Exception:  # no spatial_ref: plain coordinates
        return None


def figure_title(products: xr.Dataset, scene: xr.Dataset | None = None) -> str:
    """``"<date> | <Sentinel-1 scene id> | <CRS>"`` for a mapped scene (parts that are known).

    A scene of ``xseaice.synthetic.make_scene`` is named by its seed.

    Parameters
    ----------
    products : xarray.Dataset
        One time step of the products (a scalar ``time`` coordinate gives the date).
    scene : xarray.Dataset, optional
        The input scene; its ``sentinel1_items`` attribute gives the scene id (a synthetic
        scene's ``source`` and ``seed`` name it otherwise).

    Returns
    -------
    str
    """
    parts = []
    time = products.coords.get("time")
    if time is None and scene is not None:
        time = scene.coords.get("time")
    if time is not None and time.size >= 1:
        parts.append(str(np.datetime_as_string(np.ravel(time.values)[0], unit="m")) + " UTC")
    attrs = {**(scene.attrs if scene is not None else {}), **products.attrs}
    ids = str(attrs.get("sentinel1_items", "")).split()
    if ids:
        parts.append(ids[0] + (f" (+{len(ids) - 1})" if len(ids) > 1 else ""))
    elif "synthetic" in str(attrs.get("source", "")) and "seed" in attrs:
        parts.append(f"synthetic scene, seed {attrs['seed']}")
    crs = _crs(products)
    if crs is not None:
        parts.append(f"EPSG:{crs.epsg}" if crs.epsg else str(crs))
    return " | ".join(parts)


def latlon_lines(ax: Any, ds: xr.Dataset | xr.DataArray, *, n: int = 48) -> int:
    """Draw labelled latitude and longitude lines on plain axes in projected km.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes whose x/y are the dataset's ``x``/``y`` in km.
    ds : xarray.Dataset or xarray.DataArray
        Data with a projected CRS (``ds.odc.crs``) and ``x``/``y`` in metres.
    n : int
        Grid points per side on which latitude and longitude are computed.

    Returns
    -------
    int
        Number of lines drawn (0 when the data carry no CRS).
    """
    from pyproj import Transformer

    crs = _crs(ds)
    if crs is None:
        return 0
    xs = np.linspace(float(ds["x"][0]), float(ds["x"][-1]), n)
    ys = np.linspace(float(ds["y"][0]), float(ds["y"][-1]), n)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(gx, gy)
    lon = np.where(lon < 0, lon + 360, lon) if np.ptp(lon) > 180 else lon  # across 180 deg
    drawn = 0
    for values, unit in ((lat, "N"), (lon, "E")):
        levels = _nice_levels(float(values.min()), float(values.max()))
        if not levels:
            continue
        cs = ax.contour(
            gx / 1000, gy / 1000, values, levels=levels, colors="k", linewidths=0.6,
            linestyles="solid", alpha=0.6,
        )  # fmt: skip
        ax.clabel(cs, fmt=lambda v, u=unit: _degrees(v, u), fontsize=7)
        drawn += len(levels)
    return drawn


def _degrees(v: float, unit: str) -> str:
    """``80.1°N``, ``6°W``, ``170°E``: latitude (``unit="N"``) or longitude (``"E"``)."""
    v = v - 360 if v > 180 else v
    if unit == "E" and v < 0:
        return f"{-v:g}°W"
    if unit == "N" and v < 0:
        return f"{-v:g}°S"
    return f"{v:g}°{unit}"


def _nice_levels(lo: float, hi: float) -> list[float]:
    """Two to six round values inside (lo, hi)."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 30):
        levels = np.arange(np.ceil(lo / step) * step, hi, step)
        if len(levels) <= 6:
            return [round(float(v), 6) for v in levels if lo < v < hi]
    return []


def chart_outlines(ax: Any, table: Any, ds: xr.Dataset | xr.DataArray) -> int:
    """Outline the chart polygons on plain axes in projected km, labelled ``CT <tenths>``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes whose x/y are the dataset's ``x``/``y`` in km; their limits are kept.
    table : geopandas.GeoDataFrame
        Chart polygons with ``chart_concentration`` (0-1), e.g. from
        [`xseaice.products.zonal.concentration`][].
    ds : xarray.Dataset or xarray.DataArray
        The mapped data, for their CRS.

    Returns
    -------
    int
        Number of polygons labelled.
    """
    crs = _crs(ds)
    if table is None or "geometry" not in table or crs is None or table.crs is None:
        return 0
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    shown = 0
    for _, row in table.to_crs(crs.to_wkt()).iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        for part in getattr(geom, "geoms", [geom]):
            x, y = part.exterior.xy
            ax.plot(np.asarray(x) / 1000, np.asarray(y) / 1000, color="#ff7f00", lw=1.4)
        conc = float(row.get("chart_concentration", np.nan))
        label = "CT ?" if not np.isfinite(conc) else f"CT {round(conc * 10):d}/10"
        p = geom.intersection(_box(xlim, ylim)).representative_point()
        if p.is_empty:
            continue
        ax.annotate(
            label,
            (p.x / 1000, p.y / 1000),
            ha="center",
            fontsize=8,
            color="k",
            bbox={"boxstyle": "round", "fc": "#ffe8cc", "ec": "#ff7f00", "alpha": 0.9},
        )
        shown += 1
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return shown


def _box(xlim: tuple[float, float], ylim: tuple[float, float]) -> Any:
    from shapely.geometry import box

    return box(min(xlim) * 1000, min(ylim) * 1000, max(xlim) * 1000, max(ylim) * 1000)
