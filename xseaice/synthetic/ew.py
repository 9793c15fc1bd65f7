"""Sentinel-1 EW GRDM details of the broad world: impulse response, correlated speckle,
land, feature signatures, fractal texture, calibration offset.

Used by [`xseaice.synthetic.sensors.simulate_sar`][] when it is given a second random
stream (``extra_rng``); without one the simple world of the first release is kept.

* **Impulse response**: the true sigma0 is convolved with a Gaussian of FWHM
  ``impulse_response_m`` (EW GRDM about 93 x 87 m, i.e. ~2.2 pixels of 40 m) *before* the
  speckle, so narrow leads lose contrast and 1-px features are smeared.
* **Speckle**: ``"gamma"``: Gamma intensity speckle with ``ENL_raw = ENL * sum(k^2)``
  smoothed by a unit-sum Gaussian kernel ``k`` of radius ``speckle_correlation_px``, so
  its mean stays 1, its variance is ``1 / ENL`` and neighbouring pixels correlate;
  ``"complex"``: the mean of ``L = round(ENL)`` looks of circular complex Gaussian noise
  filtered by the amplitude impulse response (``sigma_a = sqrt(2) sigma_I``), i.e.
  exponential looks whose intensity correlation is that of the resolution cell.
* **Texture**: ``"floe"`` (per-floe offsets + ~300 m texture) or ``"fractal"``: a
  log-normal roughness, Gaussian in dB with a power-law spectrum ``|f|^-beta``, ``beta``
  drawn in 2.0-3.2, no per-floe offsets (generator B).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from xseaice.synthetic.params import SceneParams
from xseaice.synthetic.world import Truth, smooth_field

__all__ = ["fractal_field", "kernel_energy", "psf_sigma_px"]

_FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))


def psf_sigma_px(fwhm_m: float, pixel_size: float) -> float:
    """Gaussian sigma (px) of an intensity impulse response of FWHM ``fwhm_m``."""
    return fwhm_m / _FWHM / pixel_size


def kernel_energy(sigma_px: float) -> float:
    """``sum(k^2)`` of the unit-sum Gaussian kernel ``scipy.ndimage.gaussian_filter`` uses."""
    n = 2 * int(4.0 * sigma_px + 1.0) + 1
    d = np.zeros((n, n))
    d[n // 2, n // 2] = 1.0
    return float((ndimage.gaussian_filter(d, sigma_px, mode="constant") ** 2).sum())


def fractal_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    beta: float,
    pixel_size: float,
    cutoff_m: float = 10000.0,
) -> np.ndarray:
    """Zero-mean unit-variance field with power spectrum ``|f|^-beta``, flat beyond
    ``cutoff_m`` (spectral synthesis, periodic)."""
    ny, nx = shape
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.rfftfreq(nx)[None, :]
    f = np.hypot(fy, fx)
    f0 = pixel_size / cutoff_m
    amp = (np.maximum(f, f0)) ** (-beta / 2.0)
    amp[0, 0] = 0.0
    g = np.fft.irfft2(np.fft.rfft2(rng.standard_normal(shape)) * amp, s=shape)
    return (g - g.mean()) / max(float(g.std()), 1e-12)


def _broad_ice(
    rng: np.random.Generator,
    truth: Truth,
    th: np.ndarray,
    hh_db: np.ndarray,
    hv_db: np.ndarray,
    off: np.ndarray,
    pixel_size: float,
    p: SceneParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature signatures (refrozen leads, pancakes, fast ice) and the texture model."""
    feat = truth.features()
    d = th - 30.0
    if np.isfinite(p.refrozen_lead_db).all():
        m = feat == 1
        hh_db = np.where(m, p.refrozen_lead_db[0] + p.hh_slope[0] * d, hh_db)
        hv_db = np.where(m, p.refrozen_lead_db[1] + p.hv_slope[0] * d, hv_db)
    m = feat == 3
    hh_db = np.where(m, p.pancake_db[0] - 0.2 * d, hh_db)
    hv_db = np.where(m, p.pancake_db[1] - 0.12 * d, hv_db)
    if p.texture_model == "fractal":
        beta = float(rng.uniform(2.0, 3.2))
        std = p.ice_texture_db + float(rng.uniform(0.3, 1.5))
        off = std * fractal_field(rng, truth.ice.shape, beta, pixel_size)
    off = np.where(feat == 2, 0.5 * off, off)
    return hh_db, hv_db, off


def _broad_scene(
    rng: np.random.Generator,
    truth: Truth,
    th: np.ndarray,
    s_hh: np.ndarray,
    s_hv: np.ndarray,
    pixel_size: float,
    p: SceneParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Land, ridges / swell / streaks, calibration offset, then the impulse response."""
    from xseaice.synthetic.surface import sar_modulations

    land = truth.land_mask()
    if land.any():
        shape = land.shape
        tex = 3.0 * (
            0.7 * smooth_field(rng, shape, pixel_size, 600.0)
            + 0.3 * smooth_field(rng, shape, pixel_size, 3000.0)
        )
        s_hh = np.where(land, 10.0 ** ((p.land_db[0] - 0.1 * (th - 30.0) + tex) / 10.0), s_hh)
        s_hv = np.where(land, 10.0 ** ((p.land_db[1] - 0.08 * (th - 30.0) + tex) / 10.0), s_hv)
    mod = 10.0 ** (sar_modulations(rng, truth, pixel_size, p) / 10.0)
    s_hh = s_hh * mod * 10.0 ** (p.calibration_offset_db[0] / 10.0)
    s_hv = s_hv * mod * 10.0 ** (p.calibration_offset_db[1] / 10.0)
    if p.impulse_response_m > 0:
        sig = psf_sigma_px(p.impulse_response_m, pixel_size)
        s_hh = ndimage.gaussian_filter(s_hh, sig, mode="reflect")
        s_hv = ndimage.gaussian_filter(s_hv, sig, mode="reflect")
    return s_hh, s_hv


def _speckle(
    rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, p: SceneParams
) -> np.ndarray:
    """Unit-mean multiplicative speckle of ``p.enl`` looks (see the module docs)."""
    if p.speckle_model == "complex":
        fwhm = p.impulse_response_m if p.impulse_response_m > 0 else 90.0
        sig_a = math.sqrt(2.0) * psf_sigma_px(fwhm, pixel_size)
        k2 = kernel_energy(sig_a)
        looks = max(1, round(p.enl))
        acc = np.zeros(shape)
        for _ in range(looks):
            re = ndimage.gaussian_filter(rng.standard_normal(shape), sig_a, mode="wrap")
            im = ndimage.gaussian_filter(rng.standard_normal(shape), sig_a, mode="wrap")
            acc += (re * re + im * im) / (2.0 * k2)
        return acc / looks
    if p.speckle_correlation_px > 0:
        k2 = kernel_energy(p.speckle_correlation_px)
        raw = p.enl * k2
        g = rng.gamma(raw, 1.0 / raw, size=shape)
        return ndimage.gaussian_filter(g, p.speckle_correlation_px, mode="wrap")
    return rng.gamma(p.enl, 1.0 / p.enl, size=shape)
