"""Sea-ice drift between two SAR acquisitions on the same grid.

[`drift`][xseaice.sar.drift.drift] measures where the ice of each grid cell of the first scene is in
the second: displacements ``u``, ``v`` in metres along the x and y axes of the first scene's CRS, on
a coarser grid of that scene (one vector every ``step`` pixels), with a ``quality`` in 0-1.
The default ``"pyramid"`` method phase-correlates Hann-weighted windows of the standardised
HH and HV images (in dB) coarse-to-fine (scikit-image
`phase_cross_correlation`), rejecting vectors that disagree
with their 3 x 3 neighbourhood median.

The work runs over dask blocks: each block of the first scene is matched against the
second scene read with a halo wide enough for ``max_displacement``, so a full EW scene
runs in bounded memory and the result stays lazy until computed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import dask.array as da
import numpy as np
import xarray as xr

from xseaice.exceptions import CRSError, InvalidArgumentError, MissingVariablesError
from xseaice.sar._blocks import axis_chunks, with_halo
from xseaice.sar._matching import MatchConfig, match_block

__all__ = ["DriftMethod", "drift"]

logger = logging.getLogger(__name__)

DriftMethod = Literal["pyramid"]

_METHODS: dict[str, Callable[[np.ndarray, np.ndarray, MatchConfig], np.ndarray]] = {
    "pyramid": match_block,
}

_ATTRS = {
    "u": {
        "long_name": "ice displacement along the x axis of the CRS",
        "units": "m",
        "grid_mapping": "spatial_ref",
    },
    "v": {
        "long_name": "ice displacement along the y axis of the CRS",
        "units": "m",
        "grid_mapping": "spatial_ref",
    },
    "quality": {
        "long_name": "match quality (correlation of the matched windows; 0 = outlier or no data)",
        "units": "1",
        "valid_range": np.array([0.0, 1.0], dtype="float32"),
        "grid_mapping": "spatial_ref",
    },
}


def _single_time(ds: xr.Dataset, name: str) -> xr.Dataset:
    if "time" in ds.dims:
        if ds.sizes["time"] != 1:
            raise InvalidArgumentError(
                f"{name} must hold one acquisition; got {ds.sizes['time']} times: "
                f"select one with {name}.isel(time=i)"
            )
        ds = ds.isel(time=0)
    return ds


def _acq_time(ds: xr.Dataset) -> np.datetime64 | None:
    if "time" in ds.coords and ds["time"].size == 1:
        return np.datetime64(ds["time"].values.reshape(-1)[0], "ns")
    return None


def _check_grid(a: xr.Dataset, b: xr.Dataset, channels: Sequence[str]) -> None:
    for name, ds in (("a", a), ("b", b)):
        if not isinstance(ds, xr.Dataset):
            raise InvalidArgumentError(
                f"{name} must be an xarray.Dataset scene (hh, hv in dB); got {type(ds).__name__}"
            )
        missing = [c for c in channels if c not in ds.data_vars]
        if missing:
            raise MissingVariablesError(
                f"{name} lacks {missing} needed by drift(channels={tuple(channels)!r}); "
                f"it has {sorted(map(str, ds.data_vars))}: pass channels= that exist"
            )
        if "x" not in ds.dims or "y" not in ds.dims:
            raise InvalidArgumentError(f"{name} must have dims (y, x); got {tuple(ds.dims)}")
    same = (
        a.sizes["y"] == b.sizes["y"]
        and a.sizes["x"] == b.sizes["x"]
        and np.allclose(a.x.values, b.x.values)
        and np.allclose(a.y.values, b.y.values)
    )
    if not same:
        raise InvalidArgumentError(
            "a and b must be on the same GeoBox (same x/y coordinates); reproject b onto a's "
            "grid first, e.g. b.odc.reproject(a.odc.geobox)"
        )
    crs_a, crs_b = a.odc.crs, b.odc.crs
    if crs_a is None or not crs_a.projected:
        raise CRSError(
            "drift needs a projected CRS on a (a spatial_ref coordinate such as EPSG:3413); "
            "assign one with a.odc.assign_crs(...)"
        )
    if crs_b is not None and crs_b != crs_a:
        raise CRSError(f"a and b have different CRS ({crs_a} vs {crs_b}); reproject b onto a")


def _stack(
    ds: xr.Dataset, channels: Sequence[str], n: tuple[int, int], chunks: tuple[tuple[int, ...], ...]
) -> da.Array:
    arrs = []
    for c in channels:
        v = ds[c].transpose("y", "x").data[: n[0], : n[1]]
        arrs.append(v if isinstance(v, da.Array) else da.from_array(v, chunks=chunks))
    return da.stack(arrs).astype(np.float32).rechunk(((len(arrs),), *chunks))


def _check_options(method: str, step: int, window: int, max_px: float, upsample: int) -> None:
    if method not in _METHODS:
        raise InvalidArgumentError(f"method must be one of {sorted(_METHODS)}; got {method!r}")
    if step < 1 or window < 8 or window % 2:
        raise InvalidArgumentError(
            f"step must be >= 1 and window an even number >= 8 pixels; got step={step!r}, "
            f"window={window!r}"
        )
    if not max_px >= 0:
        raise InvalidArgumentError("max_displacement must be >= 0 metres")
    if upsample < 1:
        raise InvalidArgumentError(f"upsample must be an integer >= 1; got {upsample!r}")


def drift(
    a: xr.Dataset,
    b: xr.Dataset,
    *,
    method: DriftMethod = "pyramid",
    channels: Sequence[str] = ("hh", "hv"),
    step: int = 16,
    window: int = 96,
    max_displacement: float = 8000.0,
    upsample: int = 10,
    outlier_px: float = 2.0,
    chunk: int = 2048,
) -> xr.Dataset:
    """Ice displacement from scene ``a`` to scene ``b``.

    Parameters
    ----------
    a, b : xarray.Dataset
        Scenes on the same GeoBox with the ``channels`` in dB; dims ``(y, x)`` or
        ``(time, y, x)`` with one time.  NaN marks no data.
    method : {"pyramid"}
        Coarse-to-fine phase correlation of windows with outlier rejection (scikit-image's
        dense TV-L1 optical flow was tried and lost the track of 50 px motions under
        speckle, so it is not offered).
    channels : sequence of str
        Variables matched together (each standardised, then summed).
    step : int
        Spacing of the output grid in pixels.
    window : int
        Side of the correlation windows in pixels (even), the same at every level.
    max_displacement : float
        Largest displacement to look for, in metres; sets the pyramid depth and the halo
        of the dask blocks.
    upsample : int
        Sub-pixel precision of the finest level is ``1 / upsample`` pixel.
    outlier_px : float
        A vector further than this (pixels, scaled per level) from its 3 x 3 median is
        replaced by the median and gets quality 0.
    chunk : int
        Block size of the dask work (pixels; rounded up to a multiple of ``step`` and to
        at least the halo).

    Returns
    -------
    xarray.Dataset
        ``u``, ``v`` (float32, metres along the CRS x and y axes), ``quality`` (0-1) on
        the grid ``y[k * step + (step - 1) / 2]``, ``x[...]`` of ``a``, with
        ``spatial_ref``; dask-backed (lazy).  ``quality`` is the correlation of the
        matched windows, 0 for a vector replaced by its neighbours' median or not
        measurable; ``u``, ``v`` are NaN where ``a`` has (almost) no data under the
        window.  Attributes record the method, ``step`` and, when both scenes carry a
        time, ``time_a``, ``time_b`` and ``dt_seconds``.

    Raises
    ------
    InvalidArgumentError
        For an unknown method, bad sizes, several times, or scenes on different grids.
    MissingVariablesError
        If a channel is missing.
    CRSError
        If ``a`` has no projected CRS or ``b`` another CRS.

    Examples
    --------
    >>> from xseaice.synthetic.drift import make_drift_pair
    >>> from xseaice.sar.drift import drift
    >>> pair = make_drift_pair(0, shape=(128, 128))
    >>> d = drift(pair.first.dataset, pair.second, max_displacement=3000).compute()
    >>> sorted(d.data_vars)
    ['quality', 'u', 'v']
    """
    import odc.geo.xr  # noqa: F401

    t_a, t_b = _acq_time(a), _acq_time(b)
    a, b = _single_time(a, "a"), _single_time(b, "b")
    _check_grid(a, b, channels)
    px, py = float(a.x[1] - a.x[0]), float(a.y[1] - a.y[0])
    max_px = max_displacement / min(abs(px), abs(py))
    _check_options(method, int(step), int(window), max_px, int(upsample))
    ny, nx = a.sizes["y"] // step, a.sizes["x"] // step
    if ny < 1 or nx < 1:
        raise InvalidArgumentError(f"the scene is smaller than one step ({step} px)")
    # a window follows shifts up to about a quarter of its side reliably
    levels = max(1, math.ceil(math.log2(max(4.0 * (max_px + 1) / window, 1.0))) + 1)
    depth = math.ceil(max_px + window / 2 + 2 ** (levels - 1))
    cfg = MatchConfig(depth, int(step), int(window), levels, int(upsample), float(outlier_px))
    shape = (ny * step, nx * step)
    chunks = tuple(axis_chunks(n, int(chunk), depth, step) for n in shape)
    sa, sb = _stack(a, channels, shape, chunks), _stack(b, channels, shape, chunks)
    ga, gb = with_halo(sa, depth, np.nan), with_halo(sb, depth, np.nan)
    out_chunks = ((3,), *(tuple(c // step for c in ch) for ch in chunks))
    res = da.map_blocks(_METHODS[method], ga, gb, cfg, chunks=out_chunks, dtype=np.float32)
    logger.debug("drift %s: %d levels, halo %d px, grid %d x %d", method, levels, depth, ny, nx)
    return _to_dataset(a, res, step, (px, py), method, t_a, t_b)


def _to_dataset(
    a: xr.Dataset,
    res: da.Array,
    step: int,
    pixel: tuple[float, float],
    method: str,
    t_a: np.datetime64 | None,
    t_b: np.datetime64 | None,
) -> xr.Dataset:
    ny, nx = res.shape[1:]
    centre = np.arange(max(ny, nx)) * step + (step - 1) / 2.0
    ys = float(a.y[0]) + centre[:ny] * pixel[1]
    xs = float(a.x[0]) + centre[:nx] * pixel[0]
    coords: dict[str, Any] = {"y": ("y", ys, dict(a.y.attrs)), "x": ("x", xs, dict(a.x.attrs))}
    if "spatial_ref" in a.coords:
        coords["spatial_ref"] = a.coords["spatial_ref"]
    data = {
        "u": (("y", "x"), res[1] * np.float32(pixel[0]), _ATTRS["u"]),
        "v": (("y", "x"), res[0] * np.float32(pixel[1]), _ATTRS["v"]),
        "quality": (("y", "x"), res[2], _ATTRS["quality"]),
    }
    attrs: dict[str, object] = {"method": method, "step": int(step)}
    if t_a is not None and t_b is not None:
        attrs["time_a"] = str(t_a)
        attrs["time_b"] = str(t_b)
        attrs["dt_seconds"] = float((t_b - t_a) / np.timedelta64(1, "s"))
    return xr.Dataset(data, coords=coords, attrs=attrs)
