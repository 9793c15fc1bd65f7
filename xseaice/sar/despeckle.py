"""Speckle filters for SAR backscatter: boxcar, Lee, refined Lee and SAR2SAR.

The classical filters work in linear power (the scene's dB values are converted and
converted back), over dask blocks with a halo of the window's half-width, so a chunked
scene gives the same result as an unchunked one.  NaN is no data: windows average over
the valid pixels only, and NaN stays NaN.

- ``"boxcar"``: the mean over a ``size x size`` window.
- ``"lee"``: Lee's minimum mean-square-error filter.  With the local mean ``m`` and variance
  ``v`` of the intensity and the speckle's squared coefficient of variation
  ``cu2 = 1 / enl``, the signal variance is ``vx = max(0, (v - m^2 cu2) / (1 + cu2))`` and
  the estimate ``m + (vx / v) (I - m)``: the mean on homogeneous ice, the pixel itself on
  strong structure.
- ``"refined_lee"``: Lee's refined filter (Lee 1981): in a 7 x 7 window the 3 x 3 means of
  nine sub-windows give the gradient in four directions; the statistics are taken over the
  half of the window (one of eight edge-aligned masks) on the pixel's side of the
  strongest edge, so floe boundaries and leads are not smeared across.
- ``"sar2sar"``: the self-supervised SAR2SAR network, with the pretrained weights shipped
  in the MIT-licensed ``deepdespeckling`` package (``pip install xseaice[despeckle]``), run
  through the project's tiling engine (see [`xseaice.sar._sar2sar`][]).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError
from xseaice.sar._blocks import with_halo

__all__ = ["DespeckleMethod", "despeckle", "filter_intensity"]

logger = logging.getLogger(__name__)

DespeckleMethod = Literal["lee", "refined_lee", "boxcar", "sar2sar"]
_CLASSICAL = ("boxcar", "lee", "refined_lee")
_REFINED_SIZE = 7


def _local_moments(img: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the valid (finite) pixels under a (normalised) kernel."""
    valid = np.isfinite(img)
    x = np.where(valid, img, 0.0)
    w = ndimage.correlate(valid.astype(np.float64), kernel, mode="constant")
    s1 = ndimage.correlate(x, kernel, mode="constant")
    s2 = ndimage.correlate(x * x, kernel, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        m = s1 / w
        v = np.maximum(s2 / w - m * m, 0.0)
    return m, v


def _lee_weight(img: np.ndarray, m: np.ndarray, v: np.ndarray, enl: float) -> np.ndarray:
    cu2 = 1.0 / enl
    vx = np.maximum((v - m * m * cu2) / (1.0 + cu2), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(v > 0, vx / v, 0.0)
    return m + k * (img - m)


def _refined_masks() -> list[np.ndarray]:
    """The eight edge-aligned half-windows of a 7 x 7 window (each includes the edge line)."""
    n = _REFINED_SIZE
    r, c = np.mgrid[0:n, 0:n] - n // 2
    halves = [c <= 0, c >= 0, r <= 0, r >= 0, r + c <= 0, r + c >= 0, r - c <= 0, r - c >= 0]
    return [h.astype(np.float64) / h.sum() for h in halves]


def _refined_lee(img: np.ndarray, enl: float) -> np.ndarray:
    """Refined Lee on one 2-D intensity image (NaN = no data)."""
    valid = np.isfinite(img)
    x = np.where(valid, img, 0.0)
    w3 = ndimage.uniform_filter(valid.astype(np.float64), 3, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        m3 = np.where(w3 > 0, ndimage.uniform_filter(x, 3, mode="constant") / w3, np.nan)
    # 3 x 3 sub-window means at offsets -2, 0, +2 (rows) and (cols)
    p = np.pad(m3, 2, constant_values=np.nan)
    h, w = img.shape

    def sub(dr: int, dc: int) -> np.ndarray:
        return p[2 + dr : 2 + dr + h, 2 + dc : 2 + dc + w]

    c0 = sub(0, 0)
    # gradients: across columns, across rows, and the two diagonals
    pairs = [((0, -2), (0, 2)), ((-2, 0), (2, 0)), ((-2, -2), (2, 2)), ((-2, 2), (2, -2))]
    grads = np.stack([np.abs(sub(*a) - sub(*b)) for a, b in pairs])
    direction = np.argmax(np.nan_to_num(grads, nan=-1.0), axis=0)
    # side of the edge the centre resembles: the near sub-window is the first of the pair
    near = np.stack([np.abs(c0 - sub(*a)) <= np.abs(c0 - sub(*b)) for a, b in pairs])
    first = np.take_along_axis(near, direction[None], 0)[0]
    # mask order in _refined_masks: (left, right), (up, down), (up-left, down-right),
    # (up-right, down-left) expressed as half-planes
    mask_index = 2 * direction + np.where(first, 0, 1)
    out = np.full(img.shape, np.nan)
    masks = _refined_masks()
    # the diagonal pairs map to half-planes r + c <= 0 (up-left) and r - c <= 0 (up-right)
    for k, mask in enumerate(masks):
        sel = mask_index == k
        if not sel.any():
            continue
        m, v = _local_moments(img, mask)
        out[sel] = _lee_weight(img, m, v, enl)[sel]
    return np.where(valid, out, np.nan)


def filter_intensity(
    img: np.ndarray, *, method: str = "lee", size: int = 7, enl: float = 10.0
) -> np.ndarray:
    """Filter one 2-D linear-power image with a classical speckle filter (numpy).

    Parameters
    ----------
    img : numpy.ndarray
        Linear intensity (sigma0), NaN for no data.
    method : {"boxcar", "lee", "refined_lee"}
        The filter.
    size : int
        Window side (odd) of ``"boxcar"`` and ``"lee"``; ``"refined_lee"`` uses 7.
    enl : float
        Equivalent number of looks of the speckle (Lee filters).

    Returns
    -------
    numpy.ndarray
        The filtered intensity (float64), NaN where ``img`` is NaN.
    """
    img = np.asarray(img, dtype=np.float64)
    if method == "refined_lee":
        return _refined_lee(img, enl)
    kernel = np.full((size, size), 1.0 / (size * size))
    m, v = _local_moments(img, kernel)
    out = m if method == "boxcar" else _lee_weight(img, m, v, enl)
    return np.where(np.isfinite(img), out, np.nan)


def _filter_block(
    block: np.ndarray, *, method: str, size: int, enl: float, depth: int, db: bool
) -> np.ndarray:
    lin = 10.0 ** (block / 10.0) if db else block
    out = np.empty(
        (*block.shape[:-2], block.shape[-2] - 2 * depth, block.shape[-1] - 2 * depth), np.float32
    )
    for idx in np.ndindex(block.shape[:-2]):
        f = filter_intensity(lin[idx], method=method, size=size, enl=enl)
        f = f[depth : f.shape[0] - depth, depth : f.shape[1] - depth]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[idx] = 10.0 * np.log10(f) if db else f
    return out


def _classical(var: xr.DataArray, method: str, size: int, enl: float) -> xr.DataArray:
    var = var.transpose(..., "y", "x")
    db = str(var.attrs.get("units", "")).lower() == "db"
    data = (
        var.data
        if isinstance(var.data, da.Array)
        else da.from_array(var.data, chunks=(1,) * (var.ndim - 2) + (2048, 2048))
    )
    data = data.astype(np.float32)
    depth = (_REFINED_SIZE if method == "refined_lee" else size) // 2 + (
        2 if method == "refined_lee" else 0
    )
    ov = with_halo(data, depth, np.nan)
    out = da.map_blocks(
        _filter_block,
        ov,
        chunks=data.chunks,
        dtype=np.float32,
        method=method,
        size=size,
        enl=enl,
        depth=depth,
        db=db,
    )
    res = var.copy(data=out)
    side = _REFINED_SIZE if method == "refined_lee" else size
    res.attrs = {**var.attrs, "despeckle": f"{method} (size={side}, enl={enl:g})"}
    return res


def _check(method: str, size: int, enl: float) -> None:
    known = (*_CLASSICAL, "sar2sar")
    if method not in known:
        raise InvalidArgumentError(f"method must be one of {list(known)}; got {method!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 3 or size % 2 == 0:
        raise InvalidArgumentError(
            f"size must be an odd int >= 3 (window side in pixels); got {size!r}"
        )
    if not enl > 0:
        raise InvalidArgumentError(f"enl must be > 0 (equivalent number of looks); got {enl!r}")


def despeckle(
    ds: xr.Dataset | xr.DataArray,
    *,
    method: DespeckleMethod = "lee",
    size: int = 7,
    enl: float = 10.0,
    variables: Sequence[str] = ("hh", "hv"),
) -> xr.Dataset | xr.DataArray:
    """Reduce speckle in SAR backscatter.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A scene (the ``variables`` are filtered, others kept) or one backscatter
        DataArray; dims ``(..., y, x)``; dB when ``units`` is ``"dB"`` (the scene
        contract), else linear power.  NaN is no data.
    method : {"lee", "refined_lee", "boxcar", "sar2sar"}
        The filter (see the module documentation).  ``"sar2sar"`` needs the optional
        ``deepdespeckling`` package (``pip install xseaice[despeckle]``) and torch.
    size : int
        Odd window side in pixels of ``"boxcar"`` and ``"lee"``.
    enl : float
        Equivalent number of looks of the speckle (about 10 for Sentinel-1 EW GRDM).
    variables : sequence of str
        Variables of a Dataset to filter.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Same type, dims, units and coordinates; lazy (dask); a ``despeckle`` attribute
        records the filter.

    Raises
    ------
    InvalidArgumentError
        For an unknown method, a bad ``size`` or ``enl``, or variables missing from a
        Dataset.
    ImportError
        For ``"sar2sar"`` without the ``deepdespeckling`` extra.

    Examples
    --------
    >>> from xseaice.synthetic import make_scene
    >>> from xseaice.sar.despeckle import despeckle
    >>> ds = make_scene(0, shape=(64, 64)).dataset
    >>> clean = despeckle(ds, method="refined_lee")
    >>> clean.hh.attrs["despeckle"]
    'refined_lee (size=7, enl=10)'
    """
    _check(method, size, enl)
    if isinstance(ds, xr.DataArray):
        return _one(ds, method, size, enl)
    if not isinstance(ds, xr.Dataset):
        raise InvalidArgumentError(
            f"ds must be an xarray Dataset or DataArray; got {type(ds).__name__}"
        )
    missing = [v for v in variables if v not in ds.data_vars]
    if missing:
        raise InvalidArgumentError(
            f"variables {missing} are not in the dataset (it has "
            f"{sorted(map(str, ds.data_vars))}); pass variables= that exist"
        )
    out = ds.copy()
    for v in variables:
        out[v] = _one(ds[v], method, size, enl)
    return out


def _one(var: xr.DataArray, method: str, size: int, enl: float) -> xr.DataArray:
    if "y" not in var.dims or "x" not in var.dims:
        raise InvalidArgumentError(
            f"{var.name or 'the DataArray'} must have dims y and x; got {var.dims}"
        )
    if method == "sar2sar":
        from xseaice.sar._sar2sar import sar2sar

        return sar2sar(var)
    return _classical(var, method, size, enl)
