"""The true sea-ice cover of a synthetic scene at the SAR pixel (40 m).

Construction (all vectorised numpy / scipy.ndimage, O(N) in the number of pixels):

1. A regional concentration field ``c(x)``: smooth Gaussian noise (correlation length
   ``concentration_scale_km``) mapped through a Beta distribution with mean
   ``ice_concentration_mean``; low values make open-water areas.
2. Floes: a Voronoi tessellation of seeds whose spacing varies in space.  The scene is split
   into regions of floe size ``d_k = d_max / 2**k`` (a smooth random field picks the
   region), region ``k`` holding the area share ``f_k ~ d_k**(2 - alpha)``; Poisson seeds of
   density ``1 / d_k**2`` in each region give a floe-number distribution
   ``N(>d) ~ d**-alpha`` between ``floe_size_min_m`` and ``floe_size_max_m``.  Each cell is
   shrunk towards its interior by ``t = 1 - sqrt(c)`` of its inradius (a shrunk polygon keeps
   ``(1 - t)**2`` of its area), with rough edges, so the pack opens where ``c`` is low.
3. Leads: random-walk centre lines crossing the scene (spacing ``lead_spacing_km``) with
   branches, widths log-uniform in ``lead_width_px``, rasterised with a distance transform.
   A share ``lead_refrozen_fraction`` is covered by new ice (nilas).
4. Ice types per floe from ``type_fractions`` (old / first-year mix varying regionally);
   melt ponds (summer) as a per-pixel pond fraction on the ice.

The truth ``lead`` flag marks *narrow water features*: water pixels removed by a
morphological opening of the water mask with a disc of radius 5.5 px, i.e. water narrower
than about 11 px (leads and cracks, not open-water areas).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special, stats

from xseaice.synthetic.params import SceneParams

__all__ = [
    "FEATURE_CODES",
    "Truth",
    "coarse_noise",
    "make_truth",
    "narrow_water",
    "smooth_field",
    "upsample",
]

#: Surface features of the truth ``feature`` variable (0 = plain ice or water).
FEATURE_CODES: dict[int, str] = {1: "refrozen_lead", 2: "fast_ice", 3: "pancake_or_brash"}

#: Radius (px) of the opening that separates narrow water (leads) from open water.
LEAD_OPENING_RADIUS_PX = 5.5


@dataclass
class Truth:
    """Pixel truth arrays of one scene (all ``(ny, nx)``)."""

    ice: np.ndarray  # uint8 0/1
    ice_type: np.ndarray  # uint8 0..4
    lead: np.ndarray  # bool, narrow water
    floe: np.ndarray  # int32 floe label (0 = not a floe)
    pond_fraction: np.ndarray  # float32 0..1 on ice
    regional_concentration: np.ndarray  # float32 target c(x)
    n_floes: int
    land: np.ndarray | None = None  # bool land mask (None: no land)
    feature: np.ndarray | None = None  # uint8 FEATURE_CODES (0 plain)

    def land_mask(self) -> np.ndarray:
        """bool land mask (all False when the scene has no land)."""
        return np.zeros(self.ice.shape, bool) if self.land is None else self.land

    def features(self) -> np.ndarray:
        """uint8 surface feature codes
        ([`FEATURE_CODES`][xseaice.synthetic.world.FEATURE_CODES])."""
        return np.zeros(self.ice.shape, np.uint8) if self.feature is None else self.feature


def coarse_noise(
    rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, scale_m: float
) -> tuple[np.ndarray, float]:
    """Standard-normal smooth noise on a coarse grid of spacing ``scale_m / 4``.

    Returns the coarse grid and its spacing in pixels;
    [`upsample`][xseaice.synthetic.world.upsample] brings it to ``shape``.  Non-linear transforms
    are cheap on the coarse grid.
    """
    spacing_px = max(1.0, scale_m / 4.0 / pixel_size)
    ny = math.ceil(shape[0] / spacing_px) + 4
    nx = math.ceil(shape[1] / spacing_px) + 4
    g = ndimage.gaussian_filter(rng.standard_normal((ny, nx)), sigma=1.5, mode="wrap")
    g = (g - g.mean()) / max(float(g.std()), 1e-12)
    return g, spacing_px


def upsample(coarse: np.ndarray, spacing_px: float, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a [`coarse_noise`][xseaice.synthetic.world.coarse_noise] grid to
    ``shape`` (float32)."""
    r = (np.arange(shape[0], dtype=np.float64) + 0.5) / spacing_px + 1.5
    c = (np.arange(shape[1], dtype=np.float64) + 0.5) / spacing_px + 1.5
    r0 = np.clip(np.floor(r).astype(np.int64), 0, coarse.shape[0] - 2)
    c0 = np.clip(np.floor(c).astype(np.int64), 0, coarse.shape[1] - 2)
    fr = (r - r0)[:, None]
    fc = (c - c0)[None, :]
    # separable: interpolate rows of the coarse grid, then columns
    rows = coarse[r0] * (1.0 - fr) + coarse[r0 + 1] * fr
    out = rows[:, c0] * (1.0 - fc) + rows[:, c0 + 1] * fc
    return out.astype(np.float32)


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, scale_m: float
) -> np.ndarray:
    """Smooth standard-normal noise with correlation length ``scale_m`` at pixel resolution."""
    g, sp = coarse_noise(rng, shape, pixel_size, scale_m)
    return upsample(g, sp, shape)


def _floe_seeds(
    rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, p: SceneParams
) -> np.ndarray:
    """Seed positions (float pixel rows, cols) with a power-law spread of spacings."""
    ny, nx = shape
    dmin = max(p.floe_size_min_m, 2.5 * pixel_size)
    dmax = max(p.floe_size_max_m, dmin)
    nlev = math.floor(math.log2(dmax / dmin)) + 1
    d = dmax / 2.0 ** np.arange(nlev)
    share = d ** (2.0 - p.floe_size_exponent)
    cum = np.cumsum(share / share.sum())
    g, sp = coarse_noise(rng, shape, pixel_size, 1.5 * dmax)
    level = np.searchsorted(cum[:-1], special.ndtr(upsample(g, sp, shape)))
    area_px = float(ny * nx)
    pts = []
    for k in range(nlev):
        n = int(rng.poisson(area_px * (pixel_size / d[k]) ** 2))
        r = rng.uniform(0, ny, n)
        c = rng.uniform(0, nx, n)
        keep = level[r.astype(np.int64), c.astype(np.int64)] == k
        pts.append(np.stack([r[keep], c[keep]], axis=1))
    seeds = np.concatenate(pts, axis=0)
    if len(seeds) == 0:
        seeds = np.array([[ny / 2.0, nx / 2.0]])
    return seeds


def _voronoi(seeds: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Label of the nearest seed (1-based) per pixel and the list of used seed ids."""
    img = np.zeros(shape, dtype=np.int32)
    ids = np.arange(1, len(seeds) + 1, dtype=np.int32)
    img[seeds[:, 0].astype(np.int64), seeds[:, 1].astype(np.int64)] = ids
    idx = ndimage.distance_transform_edt(img == 0, return_distances=False, return_indices=True)
    labels = img[idx[0], idx[1]]
    return labels, np.unique(labels)


def _depth(labels: np.ndarray) -> np.ndarray:
    """Distance (px) of each pixel to the boundary of its cell, normalised by the inradius."""
    bnd = np.zeros(labels.shape, dtype=bool)
    dv = labels[1:, :] != labels[:-1, :]
    dh = labels[:, 1:] != labels[:, :-1]
    bnd[1:, :] |= dv
    bnd[:-1, :] |= dv
    bnd[:, 1:] |= dh
    bnd[:, :-1] |= dh
    depth = ndimage.distance_transform_edt(~bnd).astype(np.float32)
    n = int(labels.max())
    inr = np.asarray(ndimage.maximum(depth, labels, index=np.arange(n + 1)), dtype=np.float32)
    inr = np.maximum(np.nan_to_num(inr, nan=1.0), 1.0)
    return depth / inr[labels]


def _lead_lines(
    rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, p: SceneParams
) -> list[tuple[np.ndarray, np.ndarray, float, bool]]:
    """Random-walk lead centre lines with branches: (rows, cols, width_px, refrozen)."""
    ny, nx = shape
    diag = math.hypot(ny, nx)
    side_km = math.sqrt(ny * nx) * pixel_size / 1000.0
    n_trunks = int(rng.poisson(max(side_km / p.lead_spacing_km, 0.0)))
    step = 2.0  # px
    curv = 0.04  # rad per step
    lo, hi = p.lead_width_px
    lines: list[tuple[np.ndarray, np.ndarray, float, bool]] = []

    def walk(r0: float, c0: float, a0: float, length: float) -> tuple[np.ndarray, np.ndarray]:
        n = max(int(length / step), 2)
        a = a0 + np.cumsum(rng.normal(0.0, curv, n))
        r = r0 + np.concatenate([[0.0], np.cumsum(step * np.sin(a))[:-1]])
        c = c0 + np.concatenate([[0.0], np.cumsum(step * np.cos(a))[:-1]])
        return r, c

    for _ in range(n_trunks):
        r0, c0 = rng.uniform(0, ny), rng.uniform(0, nx)
        a0 = rng.uniform(0, np.pi)
        w = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        frozen = bool(rng.random() < p.lead_refrozen_fraction)
        ra, ca = walk(r0, c0, a0, rng.uniform(0.4, 1.0) * diag)
        rb, cb = walk(r0, c0, a0 + np.pi, rng.uniform(0.4, 1.0) * diag)
        r = np.concatenate([rb[::-1], ra[1:]])
        c = np.concatenate([cb[::-1], ca[1:]])
        lines.append((r, c, w, frozen))
        seg_km = len(r) * step * pixel_size / 1000.0
        nb = int(rng.poisson(p.lead_branching_per_km * seg_km))
        for _b in range(nb):
            i = int(rng.integers(0, len(r)))
            da = rng.uniform(np.radians(20), np.radians(60)) * rng.choice([-1.0, 1.0])
            heading = math.atan2(r[min(i + 1, len(r) - 1)] - r[i], c[min(i + 1, len(c) - 1)] - c[i])
            blen = rng.exponential(2000.0 / pixel_size)
            br, bc = walk(r[i], c[i], heading + da, blen)
            bw = float(max(lo, w * rng.uniform(0.3, 1.0)))
            lines.append((br, bc, bw, frozen or bool(rng.random() < p.lead_refrozen_fraction)))
    return lines


def _rasterise_leads(
    lines: list[tuple[np.ndarray, np.ndarray, float, bool]], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Open and refrozen lead masks from centre lines (4-connected, width by distance)."""
    ny, nx = shape
    width = np.zeros(shape, dtype=np.float32)
    frozen = np.zeros(shape, dtype=bool)
    opened = np.zeros(shape, dtype=bool)
    for r, c, w, fz in lines:
        # resample at 0.25 px so consecutive pixels are neighbours
        seg = np.hypot(np.diff(r), np.diff(c))
        s = np.concatenate([[0.0], np.cumsum(seg)])
        t = np.arange(0.0, s[-1] + 1e-9, 0.25)
        rr = np.floor(np.interp(t, s, r)).astype(np.int64)
        cc = np.floor(np.interp(t, s, c)).astype(np.int64)
        # 4-connect diagonal steps
        diag = (rr[1:] != rr[:-1]) & (cc[1:] != cc[:-1])
        rr = np.concatenate([rr, rr[:-1][diag]])
        cc = np.concatenate([cc, cc[1:][diag]])
        ok = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
        rr, cc = rr[ok], cc[ok]
        width[rr, cc] = np.maximum(width[rr, cc], w)
        if fz:
            frozen[rr, cc] = True
        else:
            opened[rr, cc] = True
    centre = width > 0
    if not centre.any():
        return np.zeros(shape, bool), np.zeros(shape, bool)
    dist, idx = ndimage.distance_transform_edt(~centre, return_indices=True)
    half = width[idx[0], idx[1]] / 2.0
    mask = dist < np.maximum(half, 0.5)
    is_open = opened[idx[0], idx[1]]
    return mask & is_open, mask & ~is_open


def narrow_water(ice: np.ndarray, radius_px: float = LEAD_OPENING_RADIUS_PX) -> np.ndarray:
    """Water pixels narrower than about ``2 * radius_px`` (removed by a disc opening)."""
    water = ice == 0
    if not water.any():
        return np.zeros(ice.shape, dtype=bool)
    # opening = dilation of the erosion; both by Euclidean distance transforms
    eroded = ndimage.distance_transform_edt(water) > radius_px
    if not eroded.any():
        return water
    opened = ndimage.distance_transform_edt(~eroded) <= radius_px
    return water & ~opened


def make_truth(
    rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, p: SceneParams
) -> Truth:
    """Generate the pixel truth of one scene.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (consumed in a fixed order: same state, same truth).
    shape : (int, int)
        ``(ny, nx)`` pixels.
    pixel_size : float
        Pixel size (m).
    p : SceneParams
        Physics of the scene.

    Returns
    -------
    Truth
    """
    # 1. regional concentration
    g, sp = coarse_noise(rng, shape, pixel_size, p.concentration_scale_km * 1000.0)
    m = min(max(p.ice_concentration_mean, 1e-4), 1 - 1e-4)
    a, b = m * p.ice_concentration_kappa, (1 - m) * p.ice_concentration_kappa
    cg = stats.beta.ppf(special.ndtr(g), a, b)
    if p.ice_concentration_mean >= 1.0:
        cg[:] = 1.0
    elif p.ice_concentration_mean <= 0.0:
        cg[:] = 0.0
    conc = np.clip(upsample(cg, sp, shape), 0.0, 1.0)
    conc = np.where(conc > 0.97, 1.0, np.where(conc < 0.03, 0.0, conc)).astype(np.float32)

    # 2. floes
    seeds = _floe_seeds(rng, shape, pixel_size, p)
    labels, _ = _voronoi(seeds, shape)
    depth = _depth(labels)
    t = 1.0 - np.sqrt(conc)
    rough = smooth_field(rng, shape, pixel_size, 4.0 * pixel_size)
    ice = (conc >= 1.0) | ((conc > 0.0) & (depth >= t * (1.0 + p.floe_roughness * rough)))

    # 4. ice types per seed (before leads so the draw order is fixed)
    n = len(seeds)
    gt = smooth_field(rng, shape, pixel_size, 3.0 * p.concentration_scale_km * 1000.0)
    sr = np.clip(seeds[:, 0].astype(np.int64), 0, shape[0] - 1)
    sc = np.clip(seeds[:, 1].astype(np.int64), 0, shape[1] - 1)
    w = np.tile(np.asarray(p.type_fractions, dtype=np.float64), (n, 1))
    mod = np.exp(p.type_regional_contrast * gt[sr, sc].astype(np.float64))
    w[:, 3] *= mod
    w[:, 2] /= mod
    w /= w.sum(axis=1, keepdims=True)
    u = rng.random(n)
    seed_type = (1 + (u[:, None] > np.cumsum(w, axis=1)).sum(axis=1)).astype(np.uint8)
    seed_type = np.minimum(seed_type, 4)
    seed_type = np.concatenate([[0], seed_type]).astype(np.uint8)

    # 3. leads
    lines = _lead_lines(rng, shape, pixel_size, p)
    open_lead, frozen_lead = _rasterise_leads(lines, shape)

    ice_type = np.where(ice, seed_type[labels], 0).astype(np.uint8)
    floe = np.where(ice, labels, 0).astype(np.int32)
    ice &= ~open_lead
    ice_type[open_lead] = 0
    floe[open_lead | frozen_lead] = 0
    ice |= frozen_lead
    ice_type[frozen_lead] = 1

    # melt ponds on floes older than new ice
    pond = np.zeros(shape, dtype=np.float32)
    if p.pond_fraction > 0:
        gp = smooth_field(rng, shape, pixel_size, 300.0)
        pond = np.clip(p.pond_fraction * (1.0 + 0.8 * gp), 0.0, 0.9).astype(np.float32)
        pond[ice_type <= 1] = 0.0

    feature = np.where(frozen_lead & ice, 1, 0).astype(np.uint8)
    ice_u8 = ice.astype(np.uint8)
    return Truth(
        ice=ice_u8,
        ice_type=ice_type,
        lead=narrow_water(ice_u8),
        floe=floe,
        pond_fraction=pond,
        regional_concentration=conc,
        n_floes=n,
        feature=feature,
    )
