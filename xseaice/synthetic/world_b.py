"""Generator B: a structurally different sea-ice truth, held out from training.

Generator A ([`xseaice.synthetic.world`][]) makes floes as shrunk Voronoi cells of
Poisson seeds and leads as random-walk lines.  Generator B shares only the physics tables
([`SceneParams`][xseaice.synthetic.params.SceneParams]) and builds the ice in other ways:

1. **Concentration**: spectral synthesis (power law ``|f|^-beta``, ``beta`` 3-4.5, flat
   beyond ``concentration_scale_km``) through the same Beta marginal.
2. **Floes by fracture**: one sheet split level by level.  At level ``k`` every piece
   wider than ``d_k = d_max / 2**(k/2)`` breaks with probability ``q`` along a crack
   through a random point of the middle of its bounding box, at a random angle, bent by a
   sinusoid; the cascade gives angular, often elongated pieces with T-junctions and a power-law size
   distribution (``N(>d) ~ d**-(2 log2(1 + q))``, ``q`` set from ``floe_size_exponent``).
   The pack opens mostly by losing whole pieces (share ``1 - c`` times a drawn 0.6-0.9)
   and by eroding the others by an absolute 1-4 px times ``1 - c``; cracks between kept
   pieces stay closed where ``c`` exceeds a drawn 0.4-0.8.
3. **Leads as level sets**: the zero contours of 1-3 smooth random fields
   (``|g| < w |grad g| / 2``), gated by another field so they end, widths varying along
   them within ``lead_width_px``; parts are refrozen (``lead_refrozen_fraction``).
4. **Ice types** from a regional field sampled at each piece's centre plus noise; melt
   ponds from a fractal field.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, special, stats

from xseaice.synthetic.ew import fractal_field
from xseaice.synthetic.params import SceneParams
from xseaice.synthetic.world import Truth, narrow_water

__all__ = ["make_truth_b"]


def _concentration(
    rng: np.random.Generator, shape: tuple[int, int], ps: float, p: SceneParams
) -> np.ndarray:
    g = fractal_field(rng, shape, float(rng.uniform(3.0, 4.5)), ps, p.concentration_scale_km * 1e3)
    m = min(max(p.ice_concentration_mean, 1e-4), 1 - 1e-4)
    a, b = m * p.ice_concentration_kappa, (1 - m) * p.ice_concentration_kappa
    grid = np.linspace(0.0, 1.0, 2049)
    c = np.interp(special.ndtr(g), grid, stats.beta.ppf(grid, a, b))
    if p.ice_concentration_mean >= 1.0:
        c[:] = 1.0
    return np.where(c > 0.97, 1.0, np.where(c < 0.03, 0.0, c)).astype(np.float32)


def _fracture(
    rng: np.random.Generator, shape: tuple[int, int], ps: float, p: SceneParams
) -> tuple[np.ndarray, np.ndarray]:
    """Piece labels (0 on cracks) and the crack mask of a fractured sheet."""
    ny, nx = shape
    cracks = np.zeros(shape, bool)
    labels, n = ndimage.label(~cracks)
    dmin = max(p.floe_size_min_m, 3.0 * ps) / ps
    dmax = max(p.floe_size_max_m / ps, dmin)
    # a binary cascade halving areas with split probability q has N(>d) ~ d**-(2 log2(1 + q))
    q = float(np.clip(2.0 ** (p.floe_size_exponent / 2.0) - 1.0, 0.3, 0.9) * rng.uniform(0.8, 1.0))
    d = 2.0 * max(ny, nx)
    while d > dmin:
        area = np.bincount(labels.ravel(), minlength=n + 1).astype(np.float64)
        diam = 2.0 * np.sqrt(area / np.pi)
        split = (diam > min(d, dmax)) & (rng.random(n + 1) < (1.0 if d > dmax else q))
        split[0] = False
        if split.any():
            # a random point in the middle half of every piece's bounding box
            r0 = np.zeros(n + 1)
            c0 = np.zeros(n + 1)
            for i, sl in enumerate(ndimage.find_objects(labels), start=1):
                if sl is not None and split[i]:
                    (ra, rb), (ca, cb) = (sl[0].start, sl[0].stop), (sl[1].start, sl[1].stop)
                    r0[i] = ra + (rb - ra) * rng.uniform(0.25, 0.75)
                    c0[i] = ca + (cb - ca) * rng.uniform(0.25, 0.75)
            ang = rng.uniform(0.0, np.pi, n + 1)
            bend = rng.uniform(0.0, 0.15, n + 1) * np.maximum(diam, 1.0)
            wl = np.maximum(diam, 4.0) * rng.uniform(0.7, 2.0, n + 1)
            ph = rng.uniform(0.0, 2 * np.pi, n + 1)
            at = np.flatnonzero(split[labels.ravel()])
            lab = labels.ravel()[at]
            x, y = (at % nx).astype(np.float32), (at // nx).astype(np.float32)
            ca, sa = np.cos(ang)[lab], np.sin(ang)[lab]
            u = (x - c0[lab]) * ca + (y - r0[lab]) * sa
            v = -(x - c0[lab]) * sa + (y - r0[lab]) * ca
            f = v - bend[lab] * np.sin(2 * np.pi * u / wl[lab] + ph[lab])
            cracks.ravel()[at[np.abs(f) < 0.71]] = True
            labels, n = ndimage.label(~cracks)
        d /= math.sqrt(2.0)
    return labels, cracks


def _leads(
    rng: np.random.Generator, shape: tuple[int, int], ps: float, p: SceneParams
) -> tuple[np.ndarray, np.ndarray]:
    """Open and refrozen lead masks from gated level sets of smooth fields."""
    ny, nx = shape
    side_km = math.sqrt(ny * nx) * ps / 1000.0
    lo, hi = p.lead_width_px
    opened = np.zeros(shape, bool)
    frozen = np.zeros(shape, bool)
    n_sys = 1 + int(rng.poisson(min(side_km / p.lead_spacing_km, 6.0) / 2.0))
    for _ in range(min(n_sys, 4)):
        scale = p.lead_spacing_km * 1e3 * rng.uniform(1.0, 3.0)
        g = fractal_field(rng, shape, 4.0, ps, scale)
        gy, gx = np.gradient(g)
        wfield = special.ndtr(fractal_field(rng, shape, 3.0, ps, 5000.0))
        w = np.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * wfield)
        line = np.abs(g) < np.maximum(w, 1.0) * np.hypot(gy, gx) / 2.0
        gate = fractal_field(rng, shape, 3.5, ps, 8000.0) > rng.uniform(-0.8, 0.4)
        ref = special.ndtr(fractal_field(rng, shape, 3.5, ps, 6000.0)) < p.lead_refrozen_fraction
        line &= gate
        frozen |= line & ref
        opened |= line & ~ref
    return opened, frozen & ~opened


def make_truth_b(
    rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, p: SceneParams
) -> Truth:
    """Pixel truth of generator B (see the module documentation).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    shape : (int, int)
        ``(ny, nx)`` pixels.
    pixel_size : float
        Pixel size (m).
    p : SceneParams
        Physics (concentration, floe sizes, leads, types, ponds).

    Returns
    -------
    Truth
    """
    ps = float(pixel_size)
    conc = _concentration(rng, shape, ps, p)
    labels, cracks = _fracture(rng, shape, ps, p)
    n = int(labels.max())
    idx = np.arange(n + 1)
    cy = np.asarray(ndimage.mean(np.mgrid[0 : shape[0], 0 : shape[1]][0], labels, idx))
    cx = np.asarray(ndimage.mean(np.mgrid[0 : shape[0], 0 : shape[1]][1], labels, idx))
    cy = np.clip(np.nan_to_num(cy), 0, shape[0] - 1).astype(np.int64)
    cx = np.clip(np.nan_to_num(cx), 0, shape[1] - 1).astype(np.int64)
    c_piece = conc[cy, cx].astype(np.float64)
    drop_share = float(rng.uniform(0.6, 0.9))
    keep = rng.random(n + 1) >= drop_share * (1.0 - c_piece)
    keep[0] = False
    erode_px = float(rng.uniform(1.0, 4.0))
    depth = ndimage.distance_transform_edt(labels > 0)
    rough = 1.0 + 0.5 * fractal_field(rng, shape, 3.0, ps, 400.0)
    ice = keep[labels] & (depth >= erode_px * (1.0 - conc) * rough)
    # cracks between two kept pieces stay closed in compact ice
    closed = ndimage.binary_closing(ice, structure=np.ones((3, 3), bool))
    ice |= cracks & closed & (conc >= float(rng.uniform(0.4, 0.8)))
    ice &= conc > 0.0

    gt = special.ndtr(fractal_field(rng, shape, 3.5, ps, 3.0 * p.concentration_scale_km * 1e3))
    u = np.clip(0.6 * gt[cy, cx] + 0.4 * rng.random(n + 1), 0.0, 1.0 - 1e-9)
    cum = np.cumsum(np.asarray(p.type_fractions) / np.sum(p.type_fractions))
    piece_type = (1 + np.searchsorted(cum, u, side="right")).astype(np.uint8)
    piece_type = np.minimum(piece_type, 4)
    ice_type = np.where(ice, np.where(labels > 0, piece_type[labels], 3), 0).astype(np.uint8)
    floe = np.where(ice, labels, 0).astype(np.int32)

    open_lead, frozen_lead = _leads(rng, shape, ps, p)
    ice &= ~open_lead
    ice |= frozen_lead
    ice_type[open_lead] = 0
    ice_type[frozen_lead] = 1
    floe[open_lead | frozen_lead] = 0
    pond = np.zeros(shape, np.float32)
    if p.pond_fraction > 0:
        gp = fractal_field(rng, shape, 2.5, ps, 1000.0)
        pond = np.clip(p.pond_fraction * (1.0 + 0.8 * gp), 0.0, 0.9).astype(np.float32)
        pond[ice_type <= 1] = 0.0
    ice_u8 = ice.astype(np.uint8)
    return Truth(
        ice=ice_u8,
        ice_type=ice_type,
        lead=narrow_water(ice_u8),
        floe=floe,
        pond_fraction=pond,
        regional_concentration=conc,
        n_floes=n,
        feature=np.where(frozen_lead & ice, 1, 0).astype(np.uint8),
    )
