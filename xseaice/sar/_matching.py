"""Block-level pattern matching for [`xseaice.sar.drift.drift`][] (numpy only).

A block holds both scenes' feature channels with a halo on every side (NaN outside the
scene).  Displacements are measured at points on a regular grid of the block's core with a
coarse-to-fine pyramid: at each level, windows of the first scene are phase-correlated
(scikit-image `phase_cross_correlation`, Hann-weighted) with
windows of the second scene placed at the current guess; the guess field is cleaned by a
3 x 3 median test between levels.  At the finest level the phase-correlation shift is
refined by the plain cross-correlation peak (both from scikit-image) where the two agree.
Displacements are in full-resolution pixels, ``(row, col)``, of the ice from the first
scene to the second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from threadpoolctl import threadpool_limits

__all__ = ["MatchConfig", "match_block"]

logger = logging.getLogger(__name__)

_MIN_VALID = 0.6  # a window is matched when this fraction of it holds data
_MIN_COVER = 0.25  # below this, a point has no vector at all (NaN)
_MIN_STD = 1e-6
_PLAIN_SIGMA = 1.0


@dataclass(frozen=True)
class MatchConfig:
    """Settings of one matching run (pixels of the full-resolution grid)."""

    depth: int
    step: int
    window: int
    levels: int
    upsample: int
    outlier_px: float


def features(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the per-channel standardised images (NaN -> 0) and the validity mask."""
    valid = np.all(np.isfinite(block), axis=0)
    out = np.zeros(block.shape[1:], np.float32)
    for ch in block:
        v = ch[valid]
        if v.size < 2:
            continue
        sd = float(v.std())
        if sd > _MIN_STD:
            out += np.where(valid, (ch - float(v.mean())) / sd, 0.0).astype(np.float32)
    return out, valid


def _reduce(img: np.ndarray, factor: int) -> np.ndarray:
    """Block mean by ``factor`` (edge rows/cols that do not fill a block are dropped)."""
    if factor == 1:
        return img
    h, w = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    return img[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def _window(img: np.ndarray, r0: int, c0: int, n: int) -> np.ndarray:
    """``n x n`` window at top-left ``(r0, c0)``, zero outside the image."""
    out = np.zeros((n, n), img.dtype)
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + n, img.shape[0]), min(c0 + n, img.shape[1])
    if re > rs and ce > cs:
        out[rs - r0 : re - r0, cs - c0 : ce - c0] = img[rs:re, cs:ce]
    return out


def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two windows (0 for a flat window)."""
    xs, ys = x - x.mean(), y - y.mean()
    den = float(np.sqrt((xs * xs).sum() * (ys * ys).sum()))
    return float((xs * ys).sum() / den) if den > 0 else 0.0


def _register(wa: np.ndarray, wb: np.ndarray, upsample: int, *, refine: bool) -> np.ndarray:
    """Shift registering ``wb`` onto ``wa``: phase correlation, refined by plain correlation.

    Phase correlation whitens the spectrum, which makes it robust to contrast changes but
    gives speckle at high frequencies as much weight as the ice's structure; the plain
    cross-correlation peak is more precise where both agree within a pixel.
    """
    from skimage.registration import phase_cross_correlation

    shift = phase_cross_correlation(wa, wb, upsample_factor=upsample)[0]
    if refine:
        plain = phase_cross_correlation(
            ndimage.gaussian_filter(wa, _PLAIN_SIGMA),
            ndimage.gaussian_filter(wb, _PLAIN_SIGMA),
            upsample_factor=upsample,
            normalization=None,
        )[0]
        if np.hypot(*(plain - shift)) < 1.0:
            shift = plain
    return np.asarray(shift)


def _match_level(
    fa: np.ndarray,
    fb: np.ndarray,
    va: np.ndarray,
    vb: np.ndarray,
    centres: tuple[np.ndarray, np.ndarray],
    guess: np.ndarray,
    scale: int,
    cfg: MatchConfig,
    upsample: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Displacement (full-res px) and match correlation at every point of one level."""

    n = cfg.window
    hann = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    out = np.full(guess.shape, np.nan)
    ncc = np.zeros(guess.shape[:2])
    for i, pr in enumerate(centres[0]):
        for j, pc in enumerate(centres[1]):
            g = guess[i, j]
            if not np.all(np.isfinite(g)):
                continue
            ra = round((pr + 0.5) / scale - 0.5) - n // 2
            ca = round((pc + 0.5) / scale - 0.5) - n // 2
            rb, cb = ra + round(g[0] / scale), ca + round(g[1] / scale)
            if min(_window(va, ra, ca, n).mean(), _window(vb, rb, cb, n).mean()) < _MIN_VALID:
                continue
            wa, wb = _window(fa, ra, ca, n), _window(fb, rb, cb, n)
            if wb.std() < _MIN_STD or wa.std() < _MIN_STD:
                continue
            shift = _register(wa * hann, wb * hann, upsample, refine=scale == 1)
            out[i, j] = (np.array([rb - ra, cb - ca]) - shift) * scale
            k = np.rint(shift).astype(int)
            ncc[i, j] = _ncc(wa, _window(fb, rb - k[0], cb - k[1], n))
    return out, ncc


def _finite_median(values: np.ndarray) -> float:
    """Median of the finite values (NaN when there is none), without a warning."""
    v = values[np.isfinite(values)]
    return float(np.median(v)) if v.size else np.nan


def _median_test(field: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Replace vectors far from their 3 x 3 neighbourhood median; return field and mask."""
    med = np.stack(
        [
            ndimage.generic_filter(field[..., k], _finite_median, size=3, mode="nearest")
            for k in (0, 1)
        ],
        axis=-1,
    )
    with np.errstate(invalid="ignore"):
        bad = np.hypot(*(field - med).transpose(2, 0, 1)) > tol
    bad |= ~np.isfinite(field).all(-1) & np.isfinite(med).all(-1)
    return np.where(bad[..., None], med, field), bad


def _expand(sub: np.ndarray, k: int, shape: tuple[int, int]) -> np.ndarray:
    """Repeat a sub-sampled point grid back to ``shape``."""
    return np.repeat(np.repeat(sub, k, axis=0), k, axis=1)[: shape[0], : shape[1]]


def match_block(a: np.ndarray, b: np.ndarray, cfg: MatchConfig) -> np.ndarray:
    """Pyramidal phase-correlation drift of one halo'd block.

    Parameters
    ----------
    a, b : numpy.ndarray
        ``(channel, y, x)`` feature channels (dB) of the two scenes, NaN outside data,
        with ``cfg.depth`` halo pixels on each side of the core.
    cfg : MatchConfig
        Grid and pyramid settings.

    Returns
    -------
    numpy.ndarray
        ``(3, ny, nx)`` float32: row and column displacement (pixels) and quality (0-1) at
        the grid points of the core (``ny = core_height // step``).
    """
    # dask runs blocks in parallel: BLAS threads inside each block only contend (10x slower
    # small matrix products in the upsampled DFT on a busy machine)
    with threadpool_limits(1):
        return _match(a, b, cfg)


def _match(a: np.ndarray, b: np.ndarray, cfg: MatchConfig) -> np.ndarray:
    fa0, va0 = features(a)
    fb0, vb0 = features(b)
    d, s = cfg.depth, cfg.step
    ny, nx = (a.shape[1] - 2 * d) // s, (a.shape[2] - 2 * d) // s
    pr = d + np.arange(ny) * s + (s - 1) / 2.0
    pc = d + np.arange(nx) * s + (s - 1) / 2.0
    guess = np.zeros((ny, nx, 2))
    ncc = np.zeros((ny, nx))
    bad = np.zeros((ny, nx), bool)
    for level in range(cfg.levels - 1, -1, -1):
        scale = 2**level
        k = min(scale, max(ny, nx, 1))
        fa, fb = _reduce(fa0, scale), _reduce(fb0, scale)
        va = _reduce(va0.astype(np.float32), scale)
        vb = _reduce(vb0.astype(np.float32), scale)
        ups = cfg.upsample if level == 0 else 1
        sub, ncc_sub = _match_level(
            fa, fb, va, vb, (pr[::k], pc[::k]), guess[::k, ::k], scale, cfg, ups
        )
        sub, bad_sub = _median_test(sub, max(cfg.outlier_px, 1.0) * scale)
        # points no window could measure keep the coarser guess
        sub = np.where(np.isfinite(sub), sub, guess[::k, ::k])
        guess = _expand(sub, k, (ny, nx))
        ncc, bad = _expand(ncc_sub, k, (ny, nx)), _expand(bad_sub, k, (ny, nx))
    # no data under the first scene's window: no vector (NaN), not a filled-in guess
    covered = ndimage.uniform_filter(va0.astype(np.float32), cfg.window, mode="constant")
    empty = covered[np.rint(pr).astype(int)][:, np.rint(pc).astype(int)] < _MIN_COVER
    guess[empty] = np.nan
    quality = np.where(bad | empty | ~np.isfinite(guess).all(-1), 0.0, np.clip(ncc, 0.0, 1.0))
    return np.stack([guess[..., 0], guess[..., 1], quality]).astype(np.float32)
