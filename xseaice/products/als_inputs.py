"""The logits Analytical Logit Scaling reads: masked-out pixels as NaN, optional smoothing."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import dask.array


def _smooth_block(block: np.ndarray, *, sigma: float) -> np.ndarray:
    """Gaussian smoothing of the finite logits of a (time, y, x) block (NaN stays NaN)."""
    from scipy.ndimage import gaussian_filter

    z = np.asarray(block, dtype="float32")
    ok = np.isfinite(z)
    sig = (0.0, float(sigma), float(sigma))
    num = gaussian_filter(np.where(ok, z, 0.0), sig, mode="nearest")
    den = gaussian_filter(ok.astype("float32"), sig, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~ok] = np.nan
    return out.astype("float32")


def _prepare(
    z: dask.array.Array, logits: xr.DataArray, mask: Any, smooth: float
) -> dask.array.Array:
    """Logits with the masked-out pixels (land, no data) as NaN, optionally smoothed."""
    import dask.array as da

    if mask is not None:
        m = mask.data if isinstance(mask, xr.DataArray) else mask
        if tuple(np.shape(m)) not in (tuple(z.shape[1:]), tuple(logits.shape)):
            raise InvalidArgumentError(
                f"mask has shape {tuple(np.shape(m))}; expected {tuple(z.shape[1:])} (y, x) or "
                f"{tuple(logits.shape)} like the logits.  Pass e.g. ~ds.land_mask."
            )
        m = m if isinstance(m, da.Array) else da.from_array(np.asarray(m))
        m = m.astype(bool)
        m = da.broadcast_to(m if m.ndim == 2 else m.reshape(z.shape), z.shape)
        z = da.where(m.rechunk(z.chunks), z, np.nan).astype("float32")
    if smooth:
        if not smooth > 0 or not math.isfinite(smooth):
            raise InvalidArgumentError(
                f"smooth={smooth!r}: expected a Gaussian sigma in pixels >= 0 (0: off)."
            )
        depth = math.ceil(4.0 * smooth)
        z = z.map_overlap(
            _smooth_block,
            depth={0: 0, 1: depth, 2: depth},
            boundary="none",
            sigma=float(smooth),
            dtype="float32",
        )
    return z
