"""Coasts, fast ice, ice-edge bands, ridges, swell and wind streaks.

Two kinds of element, both drawn from their own random stream so that a scene without
them is unchanged:

* [`add_coast_and_edge`][xseaice.synthetic.surface.add_coast_and_edge] changes the *truth*: land (a
  fractal coast entering from a random side, islands), landfast ice along it (one sheet, no leads),
  and a band of pancake (winter) or brash (summer) ice in the open water along the ice edge, its
  density falling with distance from the pack.  Land pixels are never ice, never leads.
* [`sar_modulations`][xseaice.synthetic.surface.sar_modulations] gives *backscatter-only* fields:
  ridge sails (thin bright lines on pack ice), ocean swell (on open water, decaying into
  wave-affected marginal ice) and wind streaks (boundary-layer rolls elongated along the wind) on
  open water.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import ndimage, special

from xseaice.synthetic.params import SceneParams
from xseaice.synthetic.world import Truth, narrow_water, smooth_field

__all__ = ["add_coast_and_edge", "open_water", "sar_modulations"]


def _land(rng: np.random.Generator, shape: tuple[int, int], ps: float, frac: float) -> np.ndarray:
    ny, nx = shape
    a = rng.uniform(0.0, 2.0 * np.pi)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    ramp = ((xx - nx / 2) * math.cos(a) + (yy - ny / 2) * math.sin(a)) / max(ny, nx)
    side = max(ny, nx) * ps
    g = 2.0 * ramp + 0.35 * smooth_field(rng, shape, ps, side / 3.0)
    g += 0.15 * smooth_field(rng, shape, ps, side / 12.0) + 0.06 * smooth_field(
        rng, shape, ps, 800.0
    )
    return g > np.quantile(g, 1.0 - frac)


def open_water(ice: np.ndarray, land: np.ndarray) -> np.ndarray:
    """Water wider than a lead (not narrow water), land excluded."""
    water = (ice == 0) & ~land
    return water & ~narrow_water(np.where(land, 1, ice).astype(np.uint8))


def add_coast_and_edge(
    rng: np.random.Generator, truth: Truth, pixel_size: float, p: SceneParams
) -> Truth:
    """Add land, fast ice and the ice-edge band of ``p`` to a truth (a new
    [`Truth`][xseaice.synthetic.world.Truth]).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (its own stream).
    truth : Truth
        The sea-ice truth from a generator.
    pixel_size : float
        Pixel size (m).
    p : SceneParams
        ``land_fraction``, ``fast_ice_km``, ``ice_edge_band_km``.

    Returns
    -------
    Truth
        With ``land`` set (bool) and ``feature`` codes 2 (fast ice) and 3 (pancake or
        brash); unchanged arrays when all three are 0.
    """
    if p.land_fraction <= 0 and p.ice_edge_band_km <= 0:
        return truth
    shape = truth.ice.shape
    ice = truth.ice.astype(bool).copy()
    it, floe = truth.ice_type.copy(), truth.floe.copy()
    pond, feat = truth.pond_fraction.copy(), truth.features().copy()
    land = _land(rng, shape, pixel_size, p.land_fraction) if p.land_fraction > 0 else None
    band = np.zeros(shape, bool)
    if land is not None:
        if p.fast_ice_km > 0:
            d_km = ndimage.distance_transform_edt(~land) * pixel_size / 1000.0
            w = p.fast_ice_km * (1.0 + 0.5 * smooth_field(rng, shape, pixel_size, 8000.0))
            fast = ~land & (d_km < np.maximum(w, 0.0))
            ice |= fast
            it[fast], feat[fast] = 3, 2
            floe[fast] = int(floe.max()) + 1
            pond[fast] = 0.8 * p.pond_fraction
        ice &= ~land
        it[land], floe[land], pond[land], feat[land] = 0, 0, 0.0, 0
    lmask = np.zeros(shape, bool) if land is None else land
    if p.ice_edge_band_km > 0 and ice.any():
        wide = open_water(ice.astype(np.uint8), lmask)
        d_km = ndimage.distance_transform_edt(~ice) * pixel_size / 1000.0
        width = p.ice_edge_band_km * (1.0 + 0.4 * smooth_field(rng, shape, pixel_size, 6000.0))
        band = wide & (d_km < width)
        dens = 0.75 * np.clip(1.0 - d_km / np.maximum(width, 1e-6), 0.0, 1.0)
        cakes = band & (special.ndtr(smooth_field(rng, shape, pixel_size, 100.0)) < dens)
        ice |= cakes
        it[cakes] = 1 if p.season == "winter" else 3
        feat[cakes], floe[cakes], pond[cakes] = 3, 0, 0.0
    ice_u8 = ice.astype(np.uint8)
    lead = narrow_water(np.where(lmask, 1, ice_u8).astype(np.uint8)) & ~band & ~lmask
    return replace(
        truth,
        ice=ice_u8,
        ice_type=it.astype(np.uint8),
        lead=lead,
        floe=floe.astype(np.int32),
        pond_fraction=pond.astype(np.float32),
        land=land,
        feature=feat.astype(np.uint8),
    )


def _ridges(
    rng: np.random.Generator, shape: tuple[int, int], ps: float, density: float
) -> np.ndarray:
    """1-px ridge sails: random-walk lines of 1-6 km, total length ~ density * area * pi/2."""
    ny, nx = shape
    area_km2 = ny * nx * (ps / 1000.0) ** 2
    n = int(rng.poisson(density * area_km2 * math.pi / 2.0 / 3.5))
    out = np.zeros(shape, bool)
    if n == 0:
        return out
    length_px = rng.uniform(1000.0, 6000.0, n) / ps
    steps = int(length_px.max() / 0.5) + 1
    a0 = rng.uniform(0.0, np.pi, n)[:, None]
    ang = a0 + np.cumsum(rng.normal(0.0, 0.05, (n, steps)), axis=1)
    r = rng.uniform(0, ny, n)[:, None] + np.cumsum(0.5 * np.sin(ang), axis=1)
    c = rng.uniform(0, nx, n)[:, None] + np.cumsum(0.5 * np.cos(ang), axis=1)
    keep = (np.arange(steps)[None, :] * 0.5) < length_px[:, None]
    rr, cc = np.floor(r[keep]).astype(np.int64), np.floor(c[keep]).astype(np.int64)
    ok = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
    out[rr[ok], cc[ok]] = True
    return out


def _streaks(
    rng: np.random.Generator, shape: tuple[int, int], ps: float, direction_deg: float
) -> np.ndarray:
    """Unit-variance noise elongated along the wind (rolls ~1-2 km apart)."""
    f = 4  # work at 4 pixels
    ny, nx = (math.ceil(s / f) for s in shape)
    side = math.ceil(math.hypot(ny, nx)) + 4
    g = rng.standard_normal((side, side))
    along, across = 2500.0 / (ps * f), 350.0 / (ps * f)
    g = ndimage.gaussian_filter(g, (across, along), mode="wrap")
    # the wind blows from direction_deg (clockwise from north): streaks along it
    g = ndimage.rotate(g, 90.0 - direction_deg, reshape=False, order=1, mode="wrap")
    y0, x0 = (side - ny) // 2, (side - nx) // 2
    g = g[y0 : y0 + ny, x0 : x0 + nx]
    g = (g - g.mean()) / max(float(g.std()), 1e-12)
    g = ndimage.zoom(g, f, order=1)[: shape[0], : shape[1]]
    return np.pad(g, ((0, shape[0] - g.shape[0]), (0, shape[1] - g.shape[1])), mode="edge")


def sar_modulations(
    rng: np.random.Generator, truth: Truth, pixel_size: float, p: SceneParams
) -> np.ndarray:
    """Backscatter offsets (dB, both channels) of ridges, swell and wind streaks.

    Returns
    -------
    numpy.ndarray
        float64 ``(ny, nx)`` dB offset; zeros when the three amplitudes are 0.
    """
    shape = truth.ice.shape
    out = np.zeros(shape)
    ice = truth.ice == 1
    land = truth.land_mask()
    feat = truth.features()
    if p.ridge_density_per_km > 0:
        ridge = _ridges(rng, shape, pixel_size, p.ridge_density_per_km)
        out += p.ridge_contrast_db * (ridge & ice & ((feat == 0) | (feat == 2)))
    water = (truth.ice == 0) & ~land
    if p.swell_amplitude_db > 0:
        wide = open_water(truth.ice, land)
        if wide.any():
            d_km = ndimage.distance_transform_edt(~wide) * pixel_size / 1000.0
            yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] * pixel_size
            a = math.radians(p.swell_direction)
            k = 2.0 * np.pi / p.swell_wavelength_m
            wave = np.cos(k * (xx * math.cos(a) - yy * math.sin(a)) + rng.uniform(0, 2 * np.pi))
            out += np.where(
                land, 0.0, p.swell_amplitude_db * wave * np.exp(-d_km / p.swell_decay_km)
            )
    if p.wind_streak_db > 0:
        out += np.where(
            water, p.wind_streak_db * _streaks(rng, shape, pixel_size, p.wind_direction), 0.0
        )
    return out
