"""AMSR-2 onto the load's GeoBox: one read per file, bilinear reprojection per chunk.

[`reproject_to`][xseaice.stac.amsr2_graph.reproject_to] puts a dataset read by
[`xseaice.io.amsr2.read_amsr2`][] on any GeoBox;
[`amsr2_stack`][xseaice.stac.amsr2_graph.amsr2_stack] builds the dask graph that
[`xseaice.stac.load`][xseaice.stac.loading.load] uses.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xseaice.exceptions import (
    AssetReadError,
    CRSError,
    InvalidArgumentError,
    LoadError,
    MissingSensorWarning,
)
from xseaice.io.http import DEFAULT_TIMEOUT
from xseaice.stac.grid import ChunkLayout, nan_chunk
from xseaice.stac.items import asset_error, item_time
from xseaice.variables import AMSR2_VARIABLES

__all__ = ["amsr2_stack", "reproject_to"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _AmsrSpec:
    item_id: str
    href: str
    key: str
    sign: Callable[[str], str] | None = None
    pass_: str = "DAY"
    timeout: float = DEFAULT_TIMEOUT


def _read_amsr2(spec: _AmsrSpec) -> Any:
    from xseaice.io import amsr2

    href = spec.sign(spec.href) if spec.sign else spec.href
    try:
        return amsr2.read_amsr2(href, pass_=spec.pass_, timeout=spec.timeout)  # type: ignore[arg-type]
    except AssetReadError as exc:
        raise asset_error(spec.item_id, spec.key, spec.href, str(exc)) from None


def _amsr2_chunk(ds: Any, gbox: Any) -> np.ndarray:
    out = reproject_to(ds, gbox, resampling="bilinear")
    return np.stack([np.asarray(out[v].values, dtype="float32") for v in AMSR2_VARIABLES])[None]


def _amsr2_asset(item: Any) -> tuple[str, str]:
    preferred = ("data", "he5", "hdf", "h5", "nc", "netcdf", "cog", "tif", "tiff")
    for key in preferred:
        if key in item.assets:
            asset = item.assets[key]
            return key, asset.get_absolute_href() or asset.href
    for key, asset in item.assets.items():
        href = asset.get_absolute_href() or asset.href
        path = href.split("?", 1)[0].lower()
        if path.endswith((".he5", ".h5", ".hdf", ".nc", ".tif", ".tiff")) or "data" in (
            asset.roles or []
        ):
            return key, href
    raise LoadError(
        f"AMSR-2 item {item.id!r} has no data asset (HDF-EOS5, netCDF or GeoTIFF) among "
        f"{sorted(item.assets)}; expected an AU_SI12-like file."
    )


def amsr2_stack(
    amsr2_items: Sequence[Any],
    groups: Sequence[tuple[np.datetime64, list[Any]]],
    layout: ChunkLayout,
    *,
    sign: Callable[[str], str] | None,
    pass_: str,
    token: str,
    covered: set[tuple[int, int, int]],
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[Any, list[str]]:
    """The lazy ``(time, 4, y, x)`` AMSR-2 stack on the layout's GeoBox, or None.

    For every time step the AMSR-2 item of the same UTC day nearest in time is read once
    and reprojected bilinearly onto each chunk; steps without one, and chunks outside
    ``covered`` (the ``(t, i, j)`` chunks holding Sentinel-1 data: nothing to fuse
    AMSR-2 with), are NaN.  Warns
    ([`MissingSensorWarning`][xseaice.exceptions.MissingSensorWarning]) when some or all are
    missing.  Each file is downloaded within ``timeout`` seconds
    ([`read_amsr2`][xseaice.io.amsr2.read_amsr2]).

    Returns
    -------
    (dask.array.Array or None, list of str)
        The stack (None without any usable item) and the ids of the items used.
    """
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    chosen = _choose(amsr2_items, groups)
    if chosen is None:
        return None, []
    read_name = f"amsr2-read-{token}"
    name = f"amsr2-load-{token}"
    dsk: dict[Any, Any] = {}
    read_keys: dict[str, Any] = {}
    for k, item in enumerate(c for c in chosen if c is not None):
        if item.id in read_keys:
            continue
        key_name, href = _amsr2_asset(item)
        read_keys[item.id] = (read_name, k)
        spec = _AmsrSpec(item.id, href, key_name, sign, pass_, timeout)
        dsk[read_keys[item.id]] = (_read_amsr2, spec)
    nvar = len(AMSR2_VARIABLES)
    for t, item in enumerate(chosen):
        for i, j, sub in layout.blocks():
            key = (name, t, 0, i, j)
            if item is None or (t, i, j) not in covered:  # nothing to fuse it with
                dsk[key] = (nan_chunk, nvar, sub.shape.yx)
            else:
                dsk[key] = (_amsr2_chunk, read_keys[item.id], sub)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    chunks = ((1,) * len(groups), (nvar,), layout.ychunks, layout.xchunks)
    arr = da.Array(graph, name, chunks=chunks, dtype="float32")
    return arr, sorted({c.id for c in chosen if c is not None})


def _choose(
    amsr2_items: Sequence[Any], groups: Sequence[tuple[np.datetime64, list[Any]]]
) -> list[Any | None] | None:
    """The AMSR-2 item of each time step (same UTC day, nearest), or None for none at all."""

    if not amsr2_items:
        warnings.warn(
            "no AMSR-2 item for this place and time: the dataset holds the Sentinel-1 "
            "variables only, and models that need tb18h..tb36v will say so. AMSR-2 L3 "
            "(AU_SI12) is found with catalog='cmr' and needs an Earthdata login to read.",
            MissingSensorWarning,
            stacklevel=4,
        )
        return None
    chosen: list[Any | None] = []
    for _t, members in groups:
        day = item_time(members[0]).date()
        same_day = [a for a in amsr2_items if item_time(a).date() == day]
        if not same_day:
            chosen.append(None)
            continue
        t0 = item_time(members[0])
        chosen.append(min(same_day, key=lambda a: (abs(item_time(a) - t0), a.id)))
    if all(c is None for c in chosen):
        warnings.warn(
            "no AMSR-2 item of the same day as any Sentinel-1 scene: the dataset holds the "
            "Sentinel-1 variables only. Search AMSR-2 over the scene dates (catalog='cmr').",
            MissingSensorWarning,
            stacklevel=4,
        )
        return None
    missing = [str(t)[:10] for (t, _), c in zip(groups, chosen, strict=True) if c is None]
    if missing:
        warnings.warn(
            f"no AMSR-2 item for {missing}: tb18h..tb36v are NaN on those days.",
            MissingSensorWarning,
            stacklevel=4,
        )
    return chosen


_RESAMPLING = ("nearest", "bilinear", "cubic", "average")


def _quiet_rasterio_warp() -> None:
    """Silence rasterio's spurious NotGeoreferencedWarning from its scratch datasets.

    A process-wide filter (``warnings.catch_warnings`` is not thread-safe under dask);
    re-adding an identical filter replaces it.
    """
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    warnings.filterwarnings(
        "ignore",
        message="Dataset has no geotransform",
        category=NotGeoreferencedWarning,
        module=r"rasterio\.warp",
    )


def reproject_to(
    ds: Any,
    geobox: Any,
    *,
    resampling: str = "bilinear",
    chunks: tuple[int, int] | None = None,
) -> Any:
    """Reproject AMSR-2 brightness temperatures onto a target grid.

    The source is first cropped to the target's footprint (plus a 3-cell margin), so a
    12.5 km hemisphere grid costs nothing beyond the cells a scene needs.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        From `read_amsr2` (any object with a CRS that ``.odc`` reads); numpy or
        dask backed.  A dask input gives a lazy output.
    geobox : odc.geo.geobox.GeoBox or xarray object
        The target grid (e.g. the Sentinel-1 GeoBox), or an object to take it from.
    resampling : {"bilinear", "nearest", "cubic", "average"}
        GDAL resampling.  NaN cells are nodata (not averaged in).
    chunks : (int, int), optional
        Output chunks ``(y, x)`` for a dask input; default up to 2048 x 2048.  Pass the
        chunks of the Sentinel-1 variables to align them.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        float32 on ``geobox`` (dims ``y``, ``x``), NaN outside the source grid;
        attributes and a scalar ``time`` coordinate kept.

    Raises
    ------
    InvalidArgumentError
        If ``resampling`` is unknown or ``geobox`` is not a grid.
    CRSError
        If ``ds`` has no CRS.
    """
    import odc.geo.xr  # noqa: F401
    import xarray as xr
    from dask.base import is_dask_collection
    from odc.geo.geobox import GeoBox

    if resampling not in _RESAMPLING:
        raise InvalidArgumentError(
            f"resampling={resampling!r} is not supported; expected one of {_RESAMPLING}."
        )
    if not isinstance(geobox, GeoBox):
        gb = getattr(getattr(geobox, "odc", None), "geobox", None)
        if gb is None:
            raise InvalidArgumentError(
                "geobox must be an odc.geo GeoBox or an xarray object with a CRS; got "
                f"{type(geobox).__name__}."
            )
        geobox = gb
    src_box = getattr(ds.odc, "geobox", None)
    if src_box is None or src_box.crs is None:
        raise CRSError("ds has no CRS; read it with xseaice.io.amsr2.read_amsr2 or assign one.")
    _quiet_rasterio_warp()
    arrays = [ds[v] for v in ds.data_vars] if isinstance(ds, xr.Dataset) else [ds]
    lazy = any(is_dask_collection(a) for a in arrays)
    out_chunks = chunks or (min(2048, geobox.shape[0]), min(2048, geobox.shape[1]))
    ydim, xdim = ds.odc.spatial_dims

    window = _crop_window(src_box, geobox, margin=3)
    if window is None:
        return _all_nan(ds, geobox, lazy=lazy, chunks=out_chunks)
    ds = ds.isel({ydim: window[0], xdim: window[1]})

    def one(da: xr.DataArray) -> xr.DataArray:
        src = da.astype("float32")
        kw: dict[str, Any] = {}
        if is_dask_collection(src):
            # one source block: every output block sees all the cells it needs
            src = src.chunk({ydim: -1, xdim: -1})
            kw["chunks"] = out_chunks
        out = src.odc.reproject(
            geobox, resampling=resampling, dst_nodata=np.nan, src_nodata=np.nan, **kw
        )
        out.attrs = {k: v for k, v in da.attrs.items() if k not in ("nodata", "_FillValue")}
        return out.astype("float32")

    if isinstance(ds, xr.DataArray):
        return one(ds)
    out = xr.Dataset({name: one(ds[name]) for name in ds.data_vars}, attrs=dict(ds.attrs))
    if "time" in ds.coords and "time" not in out.coords:
        out = out.assign_coords(time=ds["time"])
    return out


def _crop_window(src_box: Any, dst_box: Any, *, margin: int) -> tuple[slice, slice] | None:
    """Row/column slices of ``src_box`` covering ``dst_box`` (+ margin); None if disjoint."""
    try:
        footprint = dst_box.extent.to_crs(src_box.crs)
    except Exception:  # projection failure: take everything
        logger.debug("cannot project the target footprint; no crop")
        return slice(None), slice(None)
    left, bottom, right, top = footprint.boundingbox.bbox
    inv = ~src_box.affine
    cols, rows = zip(*(inv @ (x, y) for x in (left, right) for y in (bottom, top)), strict=True)
    ny, nx = src_box.shape
    r0 = max(int(np.floor(min(rows))) - margin, 0)
    r1 = min(int(np.ceil(max(rows))) + margin, ny)
    c0 = max(int(np.floor(min(cols))) - margin, 0)
    c1 = min(int(np.ceil(max(cols))) + margin, nx)
    if r1 <= r0 or c1 <= c0:
        return None
    return slice(r0, r1), slice(c0, c1)


def _all_nan(ds: Any, geobox: Any, *, lazy: bool, chunks: tuple[int, int]) -> Any:
    """All-NaN result on ``geobox`` for a source that does not overlap it."""
    import dask.array as dsa
    import xarray as xr
    from odc.geo.xr import wrap_xr

    logger.warning("the AMSR-2 grid does not overlap the target grid; returning NaN")

    def nan(da: xr.DataArray) -> xr.DataArray:
        if lazy:
            data: Any = dsa.full(geobox.shape, np.nan, dtype="float32", chunks=chunks)
        else:
            data = np.full(geobox.shape, np.nan, dtype="float32")
        return wrap_xr(data, geobox, attrs=dict(da.attrs))

    if isinstance(ds, xr.DataArray):
        return nan(ds)
    return xr.Dataset({n: nan(ds[n]) for n in ds.data_vars}, attrs=dict(ds.attrs))
