"""Plots of scenes and products with colour maps that suit each quantity.

``da.seaice.plot()`` picks the colour map from the variable: grey for backscatter, a
diverging map for logits, an ice/water map for probabilities and a legend built from
``flag_meanings`` for class maps.

When cartopy is installed (``pip install xseaice[plot]``) and the data carry a projected
CRS (a ``spatial_ref`` coordinate, read through ``da.odc.crs``), a new figure is a cartopy
map in the data's own projection (for example EPSG:3413, NSIDC polar stereographic north)
with labelled latitude/longitude gridlines; otherwise, or with ``projection=None``, the axes
show plain map coordinates in km.  Coastlines are opt-in (``coastlines=True``) because
cartopy reads them from Natural Earth, which it downloads on first use.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import xarray as xr

from xseaice.exceptions import CRSError, InvalidArgumentError, XSeaIceWarning
from xseaice.plot_attribution import plot_attribution

__all__ = ["ICE_CMAP_COLOURS", "map_projection", "plot", "plot_attribution", "plot_scene"]

logger = logging.getLogger(__name__)

#: Water (dark blue) to ice (white): the convention of ice-service products.
ICE_CMAP_COLOURS = ("#08306b", "#2171b5", "#9ecae1", "#f7fbff")
_CLASS_COLOURS = (
    "#08306b",
    "#f7fbff",
    "#fdae6b",
    "#74c476",
    "#9e9ac8",
    "#fb6a4a",
    "#fdd0a2",
    "#bcbddc",
    "#a1d99b",
    "#fc9272",
    "#d9d9d9",
    "#636363",
)


_SHORT_NAMES = {
    "hh": "Sentinel-1 HH sigma0",
    "hv": "Sentinel-1 HV sigma0",
    "incidence_angle": "incidence angle",
    "tb18h": "AMSR-2 TB 18.7 GHz H",
    "tb18v": "AMSR-2 TB 18.7 GHz V",
    "tb36h": "AMSR-2 TB 36.5 GHz H",
    "tb36v": "AMSR-2 TB 36.5 GHz V",
    "ice_logit": "ice logit",
    "ice_probability": "ice probability",
}


def _ice_cmap() -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("xseaice_ice", list(ICE_CMAP_COLOURS))


def _style(da: xr.DataArray) -> dict[str, Any]:
    """Colour map, limits and label for a product, from its name and attributes."""
    name = str(da.name or "")
    units = da.attrs.get("units", "")
    short = _SHORT_NAMES.get(name, da.attrs.get("long_name", name))
    label = short + (f" [{units}]" if units not in ("", "1") else "")
    if "flag_values" in da.attrs:
        return {"kind": "classes", "label": label}
    if name in ("hh", "hv") or units == "dB":
        vals = da.values[np.isfinite(da.values)] if da.size else np.array([])
        lo, hi = np.percentile(vals, [1, 99]) if vals.size else (-30.0, 0.0)
        return {"cmap": "gray", "vmin": float(lo), "vmax": float(hi), "label": label}
    if name.endswith("logit"):
        vals = np.abs(da.values[np.isfinite(da.values)])
        lim = float(np.percentile(vals, 98)) if vals.size else 1.0
        return {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim, "label": label}
    if "probability" in name or name in ("sic", "concentration"):
        return {"cmap": _ice_cmap(), "vmin": 0.0, "vmax": 1.0, "label": label}
    if name.startswith("tb"):
        return {"cmap": "viridis", "vmin": None, "vmax": None, "label": label}
    if name == "incidence_angle":
        return {"cmap": "cividis", "vmin": None, "vmax": None, "label": label}
    return {"cmap": "viridis", "vmin": None, "vmax": None, "label": label}


def _squeeze_time(da: xr.DataArray, time_index: int) -> xr.DataArray:
    if "time" in da.dims:
        if not 0 <= time_index < da.sizes["time"] and not -da.sizes["time"] <= time_index < 0:
            raise InvalidArgumentError(
                f"time_index={time_index} is out of range for {da.sizes['time']} time step(s); "
                "pass an index into the `time` dimension"
            )
        da = da.isel(time=time_index)
    extra = [d for d in da.dims if d not in ("y", "x")]
    if extra:
        raise InvalidArgumentError(
            f"cannot plot a DataArray with dimensions {da.dims}: expected ('y', 'x') plus an "
            f"optional 'time'; select one element of {extra} first (e.g. da.isel({extra[0]}=0))"
        )
    return da


def _cartopy_crs() -> Any:
    """``cartopy.crs``, or None when cartopy is not installed."""
    try:
        import cartopy.crs as ccrs
    except ImportError:
        return None
    return ccrs


def _cartopy_crs_instance(projection: Any) -> bool:
    ccrs = _cartopy_crs()
    return ccrs is not None and isinstance(projection, ccrs.Projection)


def _is_geoaxes(ax: Any) -> bool:
    try:
        from cartopy.mpl.geoaxes import GeoAxes
    except ImportError:
        return False
    return isinstance(ax, GeoAxes)


def _check_projection(projection: Any) -> None:
    if projection is None or projection is False or projection is True:
        return
    if isinstance(projection, str) and projection == "auto":
        return
    if _cartopy_crs_instance(projection):
        return
    raise InvalidArgumentError(
        f"projection={projection!r} is not understood: expected 'auto' (a cartopy map in the "
        "data's own CRS when cartopy is installed and the data carry one), True (the same, "
        "but an error when that is not possible), None or False (plain axes in km) or a "
        "cartopy.crs.Projection instance; pass one of these, for example "
        "projection=cartopy.crs.NorthPolarStereo() to reproject"
    )


def _data_crs(da: xr.DataArray) -> Any:
    """The DataArray's CRS as a ``pyproj.CRS`` (through ``da.odc.crs``), or None."""
    import odc.geo.xr  # noqa: F401  (registers .odc)

    try:
        crs = da.odc.crs
    except Exception as err:  # malformed spatial_ref: plot without a map projection
        logger.debug("could not read the CRS of %r: %s", da.name, err)
        return None
    return None if crs is None else crs.proj


def _edges(coord: np.ndarray) -> tuple[float, float]:
    """Outer pixel edges ``(first, last)`` of a regular coordinate of pixel centres."""
    step = float(coord[1] - coord[0]) if coord.size > 1 else 1.0
    return float(coord[0]) - step / 2, float(coord[-1]) + step / 2


def _cartopy_projection(crs: Any, extent: tuple[float, float, float, float]) -> Any:
    """A cartopy projection for a projected ``pyproj.CRS`` whose domain holds ``extent``.

    ``cartopy.crs.Projection(crs)`` (and ``cartopy.crs.epsg``) take the domain from the
    corners of the CRS's area of use, which for polar projections is wrong: for EPSG:3413
    it is one quadrant, (-2350, 0) x (0, 2350) km, so most Arctic data would fall outside
    the map.  The domain is rebuilt from the whole edge of the area of use and the data.
    """
    import pyproj

    ccrs = _cartopy_crs()
    proj = ccrs.Projection(crs)
    left, right, bottom, top = extent
    xs = [min(left, right), max(left, right)]
    ys = [min(bottom, top), max(bottom, top)]
    area = crs.area_of_use
    if area is not None:
        east = area.east + 360.0 if area.east < area.west else area.east
        lon = np.linspace(area.west, east, 181)
        lat = np.linspace(area.south, area.north, 91)
        edge_lon = np.concatenate(
            [lon, np.full(lat.size, east), lon[::-1], np.full(lat.size, area.west)]
        )
        edge_lat = np.concatenate(
            [np.full(lon.size, area.south), lat, np.full(lon.size, area.north), lat[::-1]]
        )
        to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        px, py = (np.asarray(v, dtype=float) for v in to_crs.transform(edge_lon, edge_lat))
        ok = np.isfinite(px) & np.isfinite(py) & (np.abs(px) < 1e9) & (np.abs(py) < 1e9)
        if ok.any():
            xs += [float(px[ok].min()), float(px[ok].max())]
            ys += [float(py[ok].min()), float(py[ok].max())]
    proj.bounds = (min(xs), max(xs), min(ys), max(ys))
    # Line interpolation tolerance: fine enough for the data's extent, not the whole domain.
    proj.threshold = max(min(xs[1] - xs[0], ys[1] - ys[0]) / 100.0, 1e-3)
    return proj


def map_projection(da: xr.DataArray) -> Any:
    """The cartopy projection of a DataArray's CRS, with a domain that holds the data.

    Use it to make cartopy axes for [`plot`][xseaice.plotting.plot] yourself, for example several
    panels::

        proj = xseaice.plotting.map_projection(ds.hh)
        fig, axes = plt.subplots(1, 2, subplot_kw={"projection": proj})
        ds.hh.seaice.plot(ax=axes[0])

    ``cartopy.crs.epsg(3413)`` is not a substitute: cartopy takes its domain from the
    corners of the CRS's area of use, which for EPSG:3413 is one quadrant of the Arctic.

    Parameters
    ----------
    da : xarray.DataArray
        A map with ``y`` / ``x`` coordinates in metres and a projected CRS
        (a ``spatial_ref`` coordinate, read through ``da.odc.crs``).

    Returns
    -------
    cartopy.crs.Projection
        The data's projection.

    Raises
    ------
    CRSError
        ``da`` carries no projected CRS.
    ImportError
        cartopy is not installed (``pip install xseaice[plot]``).
    """
    if _cartopy_crs() is None:
        raise ImportError(
            "a cartopy map needs cartopy; install it with `pip install xseaice[plot]` "
            "or plot with projection=None for plain axes in km"
        )
    crs = _data_crs(da)
    if crs is None or not crs.is_projected or "x" not in da.coords or "y" not in da.coords:
        raise CRSError(
            f"cannot place {da.name or 'the DataArray'!s} on a cartopy map: expected a "
            "projected CRS (a `spatial_ref` coordinate such as EPSG:3413) and x/y "
            f"coordinates in metres, got crs={None if crs is None else crs.to_string()!r}; "
            "assign one with da.odc.assign_crs('EPSG:3413'), or plot with projection=None "
            "or plain matplotlib axes"
        )
    left, right = _edges(da["x"].values)
    top, bottom = _edges(da["y"].values)
    return _cartopy_projection(crs, (left, right, bottom, top))


def _zoom_to(ax: Any, extent: tuple[float, float, float, float], data_proj: Any) -> None:
    """Set a GeoAxes' view to the data's extent (metres in ``data_proj``)."""
    left, right, bottom, top = extent
    box = (min(left, right), max(left, right), min(bottom, top), max(bottom, top))
    try:
        ax.set_extent(box, crs=data_proj)
    except ValueError as err:
        raise CRSError(
            f"the data's extent {box} (metres in {data_proj.to_string()}) lies outside the "
            f"domain of the axes' projection {ax.projection!r}: expected a GeoAxes whose map "
            "holds the data; make the axes with "
            "projection=xseaice.plotting.map_projection(da), or let plot() make them"
        ) from err


def plot(
    da: xr.DataArray,
    *,
    ax: Any = None,
    time_index: int = 0,
    title: str | None = None,
    add_colorbar: bool = True,
    coarsen: int | None = None,
    projection: Any = "auto",
    coastlines: bool = False,
) -> Any:
    """Plot one product with a colour map chosen for it.

    Parameters
    ----------
    da : xarray.DataArray
        A 2-D map with dims ``(y, x)`` or ``(time, y, x)``: backscatter, brightness
        temperature, logits, probabilities, a binary ice map or a class map carrying CF
        ``flag_values`` / ``flag_meanings``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into, used as they are (``projection`` is then ignored); a new figure
        is made when omitted.  A cartopy ``GeoAxes`` is drawn into with the data's CRS as
        ``transform``, so the data must carry one.
    time_index : int, default 0
        Which time step to plot when ``da`` has a ``time`` dimension.
    title : str, optional
        Axes title; defaults to the variable's ``long_name``.
    add_colorbar : bool, default True
        Draw a colour bar (or a legend for class maps).
    coarsen : int, optional
        Average blocks of this many pixels first (a class map: take every n-th pixel);
        by default large maps are reduced to at most about 1500 pixels per side.  A lazy
        map is computed once, reduced; the colour limits (1-99 % of backscatter, 98 % of
        ``|logit|``) come from the pixels shown.
    projection : {"auto", True, None, False} or cartopy.crs.Projection, default "auto"
        Map projection of a new figure.  ``"auto"``: when cartopy is installed
        (``pip install xseaice[plot]``) and ``da`` carries a projected CRS (a
        ``spatial_ref`` coordinate, see ``da.odc.crs``), a cartopy ``GeoAxes`` in the data's
        own projection with the image placed in metres and labelled latitude/longitude
        gridlines; otherwise plain axes in km.  ``True``: the same, but an error when it is
        not possible.  ``None`` or ``False``: plain axes with map coordinates in km.  A
        cartopy projection: a map in that projection, the data reprojected onto it.
    coastlines : bool, default False
        Draw coastlines on a cartopy map (``ax.coastlines()``).  Cartopy reads them from
        Natural Earth, which must be in its data directory (``cartopy.config["data_dir"]``)
        or is downloaded when the figure is drawn, so this needs network access the first
        time.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into: a ``cartopy.mpl.geoaxes.GeoAxes`` for a map.

    Raises
    ------
    InvalidArgumentError
        ``da`` is not a 2-D map, ``time_index`` is out of range, ``projection`` is not one
        of the values above, or ``coastlines=True`` with ``projection=None``/``False``.
    CRSError
        A map was asked for (``projection=True``, a cartopy projection or a ``GeoAxes`` as
        ``ax``) but ``da`` carries no projected CRS.
    ImportError
        ``projection=True`` or a cartopy projection without cartopy installed.

    Warns
    -----
    XSeaIceWarning
        ``coastlines=True`` but the axes are not a cartopy map.

    Examples
    --------
    >>> ax = ds.hh.seaice.plot()  # doctest: +SKIP
    >>> ax = ds.hh.seaice.plot(projection=None)  # plain axes in km  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    if not isinstance(da, xr.DataArray):
        raise InvalidArgumentError(
            f"plot() expects an xarray.DataArray, got {type(da).__name__}; "
            "for a scene Dataset use ds.seaice.plot()"
        )
    _check_projection(projection)
    if coastlines and ax is None and (projection is None or projection is False):
        raise InvalidArgumentError(
            f"coastlines=True needs a cartopy map, but projection={projection!r} asks for "
            "plain axes; pass projection='auto' (cartopy installed and a CRS on the data) or "
            "drop coastlines=True"
        )
    da = _squeeze_time(da, time_index)
    factor = coarsen or max(1, int(np.ceil(max(da.sizes["y"], da.sizes["x"]) / 1500)))
    # Reduced first, then computed once; the colour limits come from the pixels shown.
    da = _reduce(da, factor, classes="flag_values" in da.attrs).compute()
    style = _style(da)
    left, right = _edges(da["x"].values)
    top, bottom = _edges(da["y"].values)
    extent_m = (left, right, bottom, top)

    want_map = ax is None and projection is not None and projection is not False
    strict = ax is None and (projection is True or _cartopy_crs_instance(projection))
    data_proj = None
    if strict or _is_geoaxes(ax):
        data_proj = map_projection(da)  # raises when not possible
    elif want_map and _cartopy_crs() is not None:  # "auto": a map when possible
        try:
            data_proj = map_projection(da)
        except Exception as err:  # no (usable) projected CRS: plain axes in km
            logger.debug("no cartopy map for %r (%s): plain axes in km", da.name, err)

    if ax is None:
        if want_map and data_proj is not None:
            map_proj = data_proj if not _cartopy_crs_instance(projection) else projection
            _, ax = plt.subplots(figsize=(6, 5.5), subplot_kw={"projection": map_proj})
            gl = ax.gridlines(
                draw_labels=True, linewidth=0.6, color="#ff7f00", alpha=0.8, linestyle="--"
            )
            gl.top_labels = gl.right_labels = False  # the colour bar sits on the right
            gl.xlabel_style = gl.ylabel_style = {"size": 7}
        else:
            _, ax = plt.subplots(figsize=(6, 5.5))
    geo = _is_geoaxes(ax)
    if geo:
        # Zoom first: an image in another projection is regridded onto the current view.
        _zoom_to(ax, extent_m, data_proj)
        extent: tuple[float, ...] = extent_m
        draw_kwargs: dict[str, Any] = {"transform": data_proj}
    else:
        extent = tuple(v / 1000.0 for v in extent_m)
        draw_kwargs = {}
    if style.get("kind") == "classes":
        _plot_classes(ax, da, extent, add_colorbar, **draw_kwargs)
    else:
        im = ax.imshow(
            da.values,
            extent=extent,
            cmap=style["cmap"],
            vmin=style["vmin"],
            vmax=style["vmax"],
            interpolation="nearest",
            **draw_kwargs,
        )
        if add_colorbar:
            plt.colorbar(im, ax=ax, shrink=0.8, label=style["label"])
    ax.set_title(title if title is not None else style["label"], fontsize=10)
    if geo:
        if coastlines:
            ax.coastlines(linewidth=0.8)
    else:
        if coastlines:
            warnings.warn(
                "coastlines=True was ignored: the axes are not a cartopy map (plain axes "
                "were passed, cartopy is not installed or the data carry no projected CRS); "
                "install cartopy with `pip install xseaice[plot]`, give the data a "
                "`spatial_ref` coordinate and pass no `ax` (or a cartopy GeoAxes)",
                XSeaIceWarning,
                stacklevel=2,
            )
        ax.set_xlabel("x [km]")
        ax.set_ylabel("y [km]")
        ax.set_aspect("equal")
    return ax


def _reduce(da: xr.DataArray, factor: int, *, classes: bool) -> xr.DataArray:
    """``da`` at 1/``factor`` of its resolution: block means (``boundary="trim"``), or
    every ``factor``-th pixel of a class map; lazy when ``da`` is."""
    if factor <= 1:
        return da
    if classes:
        return da.isel(y=slice(None, None, factor), x=slice(None, None, factor))
    return da.coarsen(y=factor, x=factor, boundary="trim").mean().assign_attrs(da.attrs)


def _plot_classes(
    ax: Any, da: xr.DataArray, extent: tuple[float, ...], legend: bool, **kwargs: Any
) -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    values = [int(v) for v in np.atleast_1d(da.attrs["flag_values"])]
    meanings = str(da.attrs.get("flag_meanings", "")).split()
    if len(meanings) != len(values):
        meanings = [str(v) for v in values]
    colours = list(_CLASS_COLOURS[: len(values)])
    cmap = ListedColormap(colours)
    bounds = [*[v - 0.5 for v in values], values[-1] + 0.5]
    data = np.ma.masked_where(~np.isin(da.values, values), da.values)
    ax.imshow(
        data,
        extent=extent,
        cmap=cmap,
        norm=BoundaryNorm(bounds, cmap.N),
        interpolation="nearest",
        **kwargs,
    )
    if legend:
        handles = [
            Patch(facecolor=c, edgecolor="k", label=m.replace("_", " "))
            for c, m in zip(colours, meanings, strict=True)
        ]
        ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)


def plot_scene(
    ds: xr.Dataset,
    *,
    variables: tuple[str, ...] | None = None,
    time_index: int = 0,
    ncols: int = 4,
) -> Any:
    """Plot a scene's input variables side by side.

    Parameters
    ----------
    ds : xarray.Dataset
        A scene following the Dataset contract (``hh``, ``hv``, ``incidence_angle``,
        ``tb18h`` ... ``tb36v``).
    variables : tuple of str, optional
        Which variables to show; by default those of ``hh``, ``hv``, ``incidence_angle``,
        ``tb18h``, ``tb36v`` that are present.
    time_index : int, default 0
        Time step to show.
    ncols : int, default 4
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt

    default = ("hh", "hv", "incidence_angle", "tb18h", "tb36v")
    names = variables or tuple(v for v in default if v in ds.data_vars)
    missing = [v for v in names if v not in ds.data_vars]
    if missing or not names:
        raise InvalidArgumentError(
            f"variables {missing or list(names)} are not in the dataset; it has "
            f"{sorted(map(str, ds.data_vars))}"
        )
    ncols = min(ncols, len(names))
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.2 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        plot(ds[name], ax=ax, time_index=time_index)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
