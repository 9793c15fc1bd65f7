"""Binary ice maps and their topology: floes, leads and the floe size distribution.

``binarize`` turns an ice probability into a CF flag map (0 water, 1 ice, 255 no data).
``topology`` labels its floes and leads, lazily, on dask arrays of any size:

Floes
    Connected components of ice pixels (``connectivity`` 4: edge neighbours, the
    `scipy.ndimage.label` default; 8: also diagonal neighbours), labelled across
    dask blocks by [`xseaice.products.labels.label_2d`][], so ``floe_id`` equals
    ``scipy.ndimage.label`` of the whole image up to a permutation of the labels.

Leads
    Narrow water.  From a water pixel, look along four directions (along ``x``, along
    ``y`` and the two diagonals) and count the run of consecutive water pixels through it;
    the run's width is its pixel count times the step length (the pixel size, or the
    diagonal for the diagonals).  A water pixel is a lead pixel when, in at least one
    direction, its run is bounded by ice at both ends and is at most ``lead_max_width``
    metres wide.  A run that reaches no data or the scene edge before ice has an unknown
    width and does not count.  Wide open water is therefore never a lead, while a channel
    of water between floes (and a narrow inlet of open water) is, whatever its direction
    (a channel at an angle between two directions reads up to 8 % wider).

Pixel sizes come from the ``x``/``y`` coordinates (projected CRS, metres) or from the
``pixel_size`` argument.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from xseaice.exceptions import CRSError, InvalidArgumentError
from xseaice.products.labels import label_2d

if TYPE_CHECKING:
    import dask.array
    import pandas as pd

__all__ = ["FILL_VALUE", "binarize", "floe_table", "topology"]

logger = logging.getLogger(__name__)

#: Fill value of the uint8 flag maps (``ice``, ``lead``) where the input has no data.
FILL_VALUE: int = 255

_DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))


# ---------------------------------------------------------------------------------------
# binarize
# ---------------------------------------------------------------------------------------


def _lazy_or_numpy(data: Any) -> Any:
    import dask.array as da

    return da if isinstance(data, da.Array) else np


def binarize(prob: xr.DataArray, threshold: float = 0.5) -> xr.DataArray:
    """Ice (1) where the probability is at least ``threshold``, water (0) below.

    Parameters
    ----------
    prob : xarray.DataArray
        Ice probability (e.g. from [`xseaice.products.als.scale_logits`][]), numpy- or
        dask-backed; NaN is no data.
    threshold : float
        Probability at and above which a pixel is ice.

    Returns
    -------
    xarray.DataArray
        uint8 ``ice`` with the input's dims and coordinates (lazy if the input is):
        0 water, 1 ice, 255 no data; CF attributes ``flag_values [0, 1]``,
        ``flag_meanings "water ice"`` and ``_FillValue 255``.

    Raises
    ------
    InvalidArgumentError
        If ``threshold`` is not a finite number or ``prob`` is not a DataArray.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> p = xr.DataArray(np.array([[0.2, 0.5, np.nan]]), dims=("y", "x"))
    >>> binarize(p).values.tolist()
    [[0, 1, 255]]
    """
    if not isinstance(prob, xr.DataArray):
        raise InvalidArgumentError(
            f"prob is a {type(prob).__name__}; expected an xarray.DataArray of probabilities."
        )
    try:
        thr = float(threshold)
    except (TypeError, ValueError):
        thr = math.nan
    if not math.isfinite(thr):
        raise InvalidArgumentError(
            f"threshold={threshold!r}: expected a finite number, e.g. 0.5 for probabilities."
        )
    xp = _lazy_or_numpy(prob.data)
    data = prob.data
    with np.errstate(invalid="ignore"):
        ice = xp.where(xp.isfinite(data), (data >= thr).astype("uint8"), np.uint8(FILL_VALUE))
    out = xr.DataArray(ice.astype("uint8"), dims=prob.dims, coords=prob.coords, name="ice")
    out.attrs = {
        "long_name": "sea ice (1) or water (0)",
        "flag_values": np.array([0, 1], dtype="uint8"),
        "flag_meanings": "water ice",
        "_FillValue": np.uint8(FILL_VALUE),
        "threshold": thr,
    }
    if "grid_mapping" in prob.attrs:
        out.attrs["grid_mapping"] = prob.attrs["grid_mapping"]
    return out


# ---------------------------------------------------------------------------------------
# leads
# ---------------------------------------------------------------------------------------


def _shift(a: np.ndarray, dy: int, dx: int, fill: bool) -> np.ndarray:
    """``out[y, x] = a[y + dy, x + dx]``, ``fill`` outside."""
    out = np.full(a.shape, fill, dtype=a.dtype)
    ny, nx = a.shape
    if abs(dy) >= ny or abs(dx) >= nx:
        return out
    ys, yd = (slice(dy, ny), slice(0, ny - dy)) if dy >= 0 else (slice(0, ny + dy), slice(-dy, ny))
    xs, xd = (slice(dx, nx), slice(0, nx - dx)) if dx >= 0 else (slice(0, nx + dx), slice(-dx, nx))
    out[yd, xd] = a[ys, xs]
    return out


def _run_bounded(water: np.ndarray, ice: np.ndarray, dy: int, dx: int, kmax: int) -> Any:
    """(run length from each pixel along +(dy, dx), whether ice ends it within kmax)."""
    alive = water.copy()
    length = water.astype("int32")
    bounded = np.zeros(water.shape, dtype=bool)
    for s in range(1, kmax + 1):
        ws = _shift(water, s * dy, s * dx, False)
        ends = alive & ~ws
        bounded |= ends & _shift(ice, s * dy, s * dx, False)
        alive &= ws
        length += alive
    return length, bounded & ~alive


def _lead_block(block: np.ndarray, kmax: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 lead mask of one (halo-padded) block: 1 lead, 0 not, 255 no data."""
    b = np.asarray(block)
    water, ice = b == 0, b == 1
    lead = np.zeros(b.shape, dtype=bool)
    for (dy, dx), k in zip(_DIRECTIONS, kmax, strict=True):
        if k < 1:
            continue
        fwd, fwd_ok = _run_bounded(water, ice, dy, dx, k)
        bwd, bwd_ok = _run_bounded(water, ice, -dy, -dx, k)
        lead |= water & fwd_ok & bwd_ok & (fwd + bwd - 1 <= k)
    out = lead.astype("uint8")
    out[~(water | ice)] = FILL_VALUE
    return out


def _lead_kmax(lead_max_width: float, dy: float, dx: float) -> tuple[int, int, int, int]:
    diag = math.hypot(dx, dy)
    steps = (dx, dy, diag, diag)
    k = [math.floor(lead_max_width / s + 1e-9) for s in steps]
    return k[0], k[1], k[2], k[3]


def _leads_2d(mask: dask.array.Array, kmax: tuple[int, int, int, int]) -> dask.array.Array:
    depth = max(kmax)
    if depth == 0:
        import dask.array as da

        return da.map_blocks(_lead_block, mask, kmax=kmax, dtype="uint8")
    # runs are counted up to ``depth`` pixels away; a block thinner than its halo is
    # merged with its neighbours by dask (allow_rechunk)
    return mask.map_overlap(
        _lead_block,
        depth={0: min(depth, mask.shape[0]), 1: min(depth, mask.shape[1])},
        boundary=FILL_VALUE,
        kmax=kmax,
        dtype="uint8",
        meta=np.empty((0, 0), dtype="uint8"),
        allow_rechunk=True,
    )


# ---------------------------------------------------------------------------------------
# floe size distribution
# ---------------------------------------------------------------------------------------


def _fsd_counts(table: dict[str, Any], edges_px: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(table["floe_pixels"], bins=edges_px)
    return counts.astype("int64")


def _nfloes(table: dict[str, Any]) -> np.ndarray:
    return np.array(table["nfloes"], dtype="int64")


def _pixel_size(da_: xr.DataArray, pixel_size: Any) -> tuple[float, float]:
    """(dy, dx) in metres from the argument or the map's coordinates."""
    if pixel_size is not None:
        vals = np.broadcast_to(np.asarray(pixel_size, dtype="float64"), (2,))
        if not np.all(np.isfinite(vals) & (vals > 0)):
            raise InvalidArgumentError(
                f"pixel_size={pixel_size!r}: expected a positive size in metres or (dy, dx)."
            )
        return float(vals[0]), float(vals[1])
    crs_wkt = None
    if "spatial_ref" in da_.coords:
        attrs = da_.coords["spatial_ref"].attrs
        crs_wkt = attrs.get("crs_wkt") or attrs.get("spatial_ref")
    if crs_wkt:
        from pyproj import CRS

        if CRS.from_user_input(crs_wkt).is_geographic:
            raise CRSError(
                "the ice map is on a geographic (degree) grid; floe areas and lead widths need "
                "metres.  Reproject it to a projected CRS (e.g. EPSG:3413) or pass "
                "pixel_size=<metres>."
            )
    sizes = []
    for dim in ("y", "x"):
        if dim not in da_.coords or da_.sizes[dim] < 2:
            raise InvalidArgumentError(
                f"cannot tell the pixel size: the map has no usable {dim!r} coordinate.  Pass "
                "pixel_size=<metres> (or (dy, dx))."
            )
        c = np.asarray(da_.coords[dim].values, dtype="float64")
        sizes.append(float(abs(c[1] - c[0])))
    return sizes[0], sizes[1]


def _fsd_edges(npix: int, fsd_bins: Any, pixel_area: float) -> np.ndarray:
    """Bin edges in m^2: powers of two times the pixel area, or the user's edges."""
    if fsd_bins is None:
        kmax = max(1, math.ceil(math.log2(max(npix, 2)))) + 1
        return pixel_area * 2.0 ** np.arange(kmax + 1)
    edges = np.asarray(fsd_bins, dtype="float64")
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
        raise InvalidArgumentError(
            f"fsd_bins={fsd_bins!r}: expected increasing floe-area bin edges in m^2 "
            "(at least two), or None for powers of two of the pixel area."
        )
    return edges


def _as_flag_mask(ice: xr.DataArray) -> Any:
    """uint8 0 water / 1 ice / 255 no data from a flag map, a boolean or a 0-1 float map."""
    import dask.array as da

    data = ice.data
    xp = da if isinstance(data, da.Array) else np
    if data.dtype == bool:
        return data.astype("uint8")
    if np.issubdtype(data.dtype, np.floating):
        with np.errstate(invalid="ignore"):
            return xp.where(data == 1, 1, xp.where(data == 0, 0, FILL_VALUE)).astype("uint8")
    return xp.where(data == 1, 1, xp.where(data == 0, 0, FILL_VALUE)).astype("uint8")


def topology(
    ice: xr.DataArray,
    *,
    lead_max_width: float = 400.0,
    connectivity: Literal[4, 8] = 4,
    pixel_size: float | Sequence[float] | None = None,
    fsd_bins: Sequence[float] | None = None,
) -> xr.Dataset:
    """Floes, leads and the floe size distribution of a binary ice map.

    Parameters
    ----------
    ice : xarray.DataArray
        0 water / 1 ice map with dims ``(y, x)`` or ``(time, y, x)`` (e.g. from
        [`binarize`][xseaice.products.topology.binarize]); any other value (255, NaN) is no data.
        numpy- or dask-backed.
    lead_max_width : float
        Widest water channel (metres) that counts as a lead (module documentation).
    connectivity : {4, 8}
        Pixel neighbourhood of a floe.
    pixel_size : float or (float, float), optional
        Pixel size in metres (or ``(dy, dx)``); default from the ``x``/``y`` coordinates.
    fsd_bins : sequence of float, optional
        Floe-area bin edges (m^2) of the size distribution; default powers of two of the
        pixel area, from one pixel to the whole map.

    Returns
    -------
    xarray.Dataset
        Lazy if ``ice`` is dask-backed:

        - ``floe_id`` (int32, ``0`` = no floe): connected ice components, labelled
          ``1..floe_count``;
        - ``lead`` (uint8 flags: 1 lead, 0 not, 255 no data);
        - ``floe_size_distribution`` (``fsd_bin``): number of floes per area bin
          ``[fsd_area_min, fsd_area_max)`` in m^2 (floes cut by the map edge included);
        - ``floe_count``, ``lead_fraction`` (lead pixels / valid pixels) and
          ``ice_fraction`` (ice pixels / valid pixels), per time step if ``ice`` has one.

        [`floe_table`][xseaice.products.topology.floe_table] turns ``floe_id`` into a per-floe table
        (area, equivalent diameter, centroid).

    Raises
    ------
    InvalidArgumentError
        For dims other than ``(time, y, x)`` / ``(y, x)``, a bad option, or no way to
        tell the pixel size.
    CRSError
        If the map is on a geographic grid (degrees) and no ``pixel_size`` is given.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = np.array([[1, 1, 0, 1], [1, 1, 0, 1]], dtype="uint8")
    >>> topo = topology(xr.DataArray(m, dims=("y", "x")), pixel_size=40.0, lead_max_width=40)
    >>> int(topo.floe_count), topo.lead.values[0].tolist()
    (2, [0, 0, 1, 0])
    """
    import dask
    import dask.array as da

    if not isinstance(ice, xr.DataArray):
        raise InvalidArgumentError(
            f"ice is a {type(ice).__name__}; expected an xarray.DataArray (e.g. from binarize)."
        )
    dims = tuple(ice.dims)
    if dims not in (("y", "x"), ("time", "y", "x")):
        raise InvalidArgumentError(
            f"ice has dims {dims}; expected ('time', 'y', 'x') or ('y', 'x')."
        )
    if connectivity not in (4, 8):
        raise InvalidArgumentError(f"connectivity={connectivity!r}: expected 4 or 8.")
    try:
        lmw = float(lead_max_width)
    except (TypeError, ValueError):
        lmw = math.nan
    if not (math.isfinite(lmw) and lmw >= 0):
        raise InvalidArgumentError(
            f"lead_max_width={lead_max_width!r}: expected a width in metres >= 0."
        )
    dy, dx = _pixel_size(ice, pixel_size)
    pixel_area = dy * dx
    ny, nx = ice.sizes["y"], ice.sizes["x"]
    edges = _fsd_edges(ny * nx, fsd_bins, pixel_area)
    kmax = _lead_kmax(lmw, dy, dx)

    lazy = isinstance(ice.data, da.Array)
    mask = _as_flag_mask(ice)
    if not lazy:
        mask = da.from_array(mask, chunks=-1)
    stack = mask if "time" in dims else mask[None]
    ntime = stack.shape[0]
    floe_ids, leads, fsds, nfloes, lead_fr, ice_fr = [], [], [], [], [], []
    edges_px = edges / pixel_area
    for t in range(ntime):
        m = stack[t]
        labels, table = label_2d(m, connectivity)
        lead = _leads_2d(m, kmax)
        valid = (m != FILL_VALUE).sum()
        floe_ids.append(labels)
        leads.append(lead)
        fsds.append(
            da.from_delayed(
                dask.delayed(_fsd_counts, pure=True)(table, edges_px),
                shape=(edges.size - 1,),
                dtype="int64",
            )
        )
        nfloes.append(
            da.from_delayed(dask.delayed(_nfloes, pure=True)(table), shape=(), dtype="int64")
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            lead_fr.append((lead == 1).sum() / valid)
            ice_fr.append((m == 1).sum() / valid)

    def stacked(parts: list[Any]) -> Any:
        return da.stack(parts) if "time" in dims else parts[0]

    spatial = dims
    tdim: tuple[str, ...] = ("time",) if "time" in dims else ()
    flag_attrs = {"flag_values": np.array([0, 1], dtype="uint8"), "_FillValue": np.uint8(255)}
    ds = xr.Dataset(
        {
            "floe_id": (
                spatial,
                stacked(floe_ids),
                {"long_name": "floe label (connected ice component); 0 = no floe", "units": "1"},
            ),
            "lead": (
                spatial,
                stacked(leads),
                {
                    "long_name": f"lead (water channel at most {lmw:g} m wide)",
                    "flag_meanings": "not_lead lead",
                    **flag_attrs,
                },
            ),
            "floe_size_distribution": (
                (*tdim, "fsd_bin"),
                stacked(fsds),
                {"long_name": "number of floes per area bin", "units": "1"},
            ),
            "floe_count": (tdim, stacked(nfloes), {"long_name": "number of floes"}),
            "lead_fraction": (
                tdim,
                stacked(lead_fr),
                {"long_name": "lead pixels / valid pixels", "units": "1"},
            ),
            "ice_fraction": (
                tdim,
                stacked(ice_fr),
                {"long_name": "ice pixels / valid pixels", "units": "1"},
            ),
        },
        coords={
            **{k: v for k, v in ice.coords.items() if set(v.dims) <= set(dims)},
            "fsd_area_min": ("fsd_bin", edges[:-1], {"units": "m2"}),
            "fsd_area_max": ("fsd_bin", edges[1:], {"units": "m2"}),
        },
        attrs={
            "pixel_area_m2": pixel_area,
            "pixel_size_m": [dy, dx],
            "lead_max_width_m": lmw,
            "connectivity": int(connectivity),
        },
    )
    if "grid_mapping" in ice.attrs:
        for name in ("floe_id", "lead"):
            ds[name].attrs["grid_mapping"] = ice.attrs["grid_mapping"]
    if not lazy:
        with dask.config.set(scheduler="sync"):
            ds = ds.compute()
    return ds


def _block_floe_sums(
    block: np.ndarray, ys: np.ndarray, xs: np.ndarray, *, nfloes: int, ndim: int
) -> np.ndarray:
    lab = np.asarray(block).reshape(ys.size, xs.size).astype("int64")
    yy = np.broadcast_to(ys[:, None], lab.shape).ravel()
    xx = np.broadcast_to(xs[None, :], lab.shape).ravel()
    flat = lab.ravel()
    out = np.stack(
        [
            np.bincount(flat, minlength=nfloes + 1),
            np.bincount(flat, weights=yy, minlength=nfloes + 1),
            np.bincount(flat, weights=xx, minlength=nfloes + 1),
        ]
    ).astype("float64")
    return out.reshape((1,) * ndim + out.shape)


def floe_table(topo: xr.Dataset) -> pd.DataFrame:
    """One row per floe: area, equivalent diameter, centroid, whether the map edge cuts it.

    Parameters
    ----------
    topo : xarray.Dataset
        The result of [`topology`][xseaice.products.topology.topology] (computes its ``floe_id``).

    Returns
    -------
    pandas.DataFrame
        Columns ``floe_id``, ``pixels``, ``area_m2``, ``equivalent_diameter_m``
        (``2 sqrt(area / pi)``), ``y``, ``x`` (centroid in map coordinates, pixel indices
        when the map has none) and ``touches_edge`` (the floe reaches the map border, so
        its area is a lower bound); plus ``time`` when ``floe_id`` has a time dim.
    """
    import dask.array as da
    import pandas as pd

    if "floe_id" not in getattr(topo, "data_vars", {}):
        raise InvalidArgumentError(
            "topo has no 'floe_id' variable; pass the Dataset returned by topology()."
        )
    fid = topo["floe_id"]
    pixel_area = float(topo.attrs.get("pixel_area_m2", 1.0))
    frames = []
    times = fid["time"].values if "time" in fid.dims else [None]
    for t, tval in enumerate(times):
        lab = fid.isel(time=t) if tval is not None else fid
        ys = (
            np.asarray(lab["y"].values, dtype="float64")
            if "y" in lab.coords
            else np.arange(lab.sizes["y"], dtype="float64")
        )
        xs = (
            np.asarray(lab["x"].values, dtype="float64")
            if "x" in lab.coords
            else np.arange(lab.sizes["x"], dtype="float64")
        )
        data = lab.data if isinstance(lab.data, da.Array) else da.from_array(np.asarray(lab.data))
        nfloes = int(data.max().compute()) if data.size else 0
        ych = da.from_array(ys, chunks=(data.chunks[0],))
        xch = da.from_array(xs, chunks=(data.chunks[1],))
        sums = da.blockwise(
            _block_floe_sums,
            "yxsk",
            data,
            "yx",
            ych,
            "y",
            xch,
            "x",
            nfloes=nfloes,
            ndim=2,
            new_axes={"s": 3, "k": nfloes + 1},
            adjust_chunks={"y": 1, "x": 1},
            dtype="float64",
            meta=np.empty((0, 0, 0, 0)),
        ).sum(axis=(0, 1))
        border = da.concatenate([data[0], data[-1], data[:, 0], data[:, -1]])
        s, on_border = da.compute(sums, border)
        pixels = s[0, 1:]
        area = pixels * pixel_area
        with np.errstate(invalid="ignore", divide="ignore"):
            frame = pd.DataFrame(
                {
                    "floe_id": np.arange(1, nfloes + 1, dtype="int32"),
                    "pixels": pixels.astype("int64"),
                    "area_m2": area,
                    "equivalent_diameter_m": 2.0 * np.sqrt(area / np.pi),
                    "y": s[1, 1:] / pixels,
                    "x": s[2, 1:] / pixels,
                    "touches_edge": np.isin(np.arange(1, nfloes + 1), on_border),
                }
            )
        if tval is not None:
            frame.insert(0, "time", tval)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
