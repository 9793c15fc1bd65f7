"""Sensor models of the synthetic world: Sentinel-1 EW GRD and AMSR-2 L3.

Sentinel-1 (C band, 5.405 GHz), per pixel, in linear power:

* ice: ``sigma0_dB = s30[type] + slope[type] * (theta - 30) + floe offset + texture``
  (per-type values at 30 deg and slopes from [`SceneParams`][xseaice.synthetic.params.SceneParams]);
* open water, CMOD-like (Hersbach et al. 2007 in spirit, not its coefficients)::

      VV = 10**((vv30 + k (theta - 30)) / 10) * (U / 10)**gamma(theta)
           * (1 + b1 cos(phi) + b2 cos(2 phi)) / (1 - b2)
      HH = VV / PR,   PR = (1 + 2 tan^2 theta)^2 / (1 + alpha tan^2 theta)^2

  with ``gamma(theta) = a + b (theta - 30)``, ``phi`` the wind direction relative to the
  radar look, the polarisation ratio of Thompson et al. (1998, ``alpha = 0.6``) and
  cross-pol ``HV[dB] = 0.59 U - 35.6`` (Vachon & Wolfe 2011).  The wind ``U`` is damped by
  fetch near ice, ``U (1 - exp(-d / fetch))``, so narrow leads stay dark;
* melt ponds mix water (at ``pond_wind_factor * U``) into the ice pixel;
* thermal noise ``eta`` (NESZ, a bowl across each of the EW sub-swaths plus azimuth
  scalloping) is added in power, then multiplicative Gamma speckle
  (shape ``ENL``, scale ``1/ENL``), then the amplitude is quantised to DN::

      P  = (sigma0 + eta_true) * speckle
      DN = round(A * sqrt(P))                  (uint16, >= 1; 0 is no-data)
      sigma0_scene = (DN**2 - eta_annot) / A**2

  ``A`` is the ``sigmaNought`` LUT (``betaNought / sqrt(sin theta)``), ``eta_annot`` (DN^2)
  the annotated noise ``noiseRange * noiseAzimuth`` and ``eta_true`` differs from it by a
  per-sub-swath factor ``1 + N(0, noise_scaling_error)``.  The scene ``hh``/``hv`` are the
  noise-removed values a reader computes from the SAFE files (exactly).

AMSR-2: tie-point mixing of the effective ice fractions (first-year, old; new ice counts
``new_ice_tb_weight``, melt ponds ``pond_tb_weight`` as water)::

    TB = TB_w + w_fy (TB_fy - TB_w) + w_old (TB_old - TB_w)

blurred by a Gaussian of the footprint FWHM (18.7 and 36.5 GHz separately), sampled at the
cell centres of the NSIDC 12.5 km polar stereographic grid (as AU_SI12), plus Gaussian
noise, rounded to 0.1 K like the product, and interpolated bilinearly back onto the scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from xseaice.synthetic.ew import _broad_ice, _broad_scene, _speckle
from xseaice.synthetic.params import SceneParams
from xseaice.synthetic.world import Truth, smooth_field

__all__ = [
    "AMSR_CHANNELS",
    "EW_SUBSWATH_FRACTIONS",
    "NSIDC_12KM",
    "AmsrGrid",
    "RadarProduct",
    "simulate_amsr2",
    "simulate_sar",
    "water_sigma0",
]

#: Sub-swath widths of an EW GRDM product as fractions of the swath (from the real
#: S1A_EW_GRDM_1SDH_20221130T014342 noise annotation: EW1..EW5 first range samples
#: 0, 3130, 5012, 7081, 8960 of 10487).
EW_SUBSWATH_FRACTIONS: tuple[float, ...] = (0.2985, 0.1795, 0.1972, 0.1791, 0.1457)
#: Incidence range of the full EW swath (deg).
EW_SWATH_DEG: tuple[float, float] = (19.0, 47.0)
#: betaNought calibration constant of EW GRDM products (the real annotation's value).
BETA_NOUGHT: float = 1087.0
#: Sentinel-1 orbit height (m) and mean Earth radius (m) for the elevation angle.
ORBIT_HEIGHT_M: float = 693000.0
EARTH_RADIUS_M: float = 6371000.0

#: NSIDC polar stereographic 12.5 km grids: name, EPSG, (rows, cols), upper-left (x, y).
NSIDC_12KM: dict[str, dict[str, Any]] = {
    "north": {
        "name": "NpPolarGrid12km",
        "hemisphere": "NH",
        "epsg": 3411,
        "shape": (896, 608),
        "upper_left": (-3850000.0, 5850000.0),
        "res": 12500.0,
    },
    "south": {
        "name": "SpPolarGrid12km",
        "hemisphere": "SH",
        "epsg": 3412,
        "shape": (664, 632),
        "upper_left": (-3950000.0, 4350000.0),
        "res": 12500.0,
    },
}

#: Channels of AU_SI12 written by the HDF-EOS5 writer (scene uses 18 and 36 GHz).
AMSR_CHANNELS: tuple[str, ...] = ("18h", "18v", "23h", "23v", "36h", "36v", "89h", "89v")
# 89 GHz tie points (K), (H, V): water, first-year, old.  Only used to fill the HE5 file.
_TB89 = {"water": (190.0, 240.0), "fy": (232.0, 242.0), "old": (185.0, 198.0)}


# ---------------------------------------------------------------------------------------
# Sentinel-1
# ---------------------------------------------------------------------------------------


def water_sigma0(
    theta: np.ndarray, wind: np.ndarray, phi_deg: float, p: SceneParams
) -> tuple[np.ndarray, np.ndarray]:
    """Open-water HH and HV sigma0 (linear) for incidence ``theta`` (deg) and wind (m/s).

    Parameters
    ----------
    theta : numpy.ndarray
        Incidence angle (deg).
    wind : numpy.ndarray
        10 m wind speed (m/s), broadcast with ``theta``.
    phi_deg : float
        Wind direction relative to the radar look direction (0 = upwind).
    p : SceneParams
        The CMOD-like coefficients.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``hh``, ``hv`` linear sigma0.
    """
    th = np.asarray(theta, dtype=np.float64)
    u = np.maximum(np.asarray(wind, dtype=np.float64), 0.2)
    a, b = p.water_wind_exponent
    gam = a + b * (th - 30.0)
    vv_db = p.water_vv30_db + p.water_vv_slope * (th - 30.0) + 10.0 * gam * np.log10(u / 10.0)
    b1, b2 = p.water_updown
    phi = math.radians(phi_deg)
    direc = (1.0 + b1 * math.cos(phi) + b2 * math.cos(2 * phi)) / (1.0 - b2)
    vv = 10.0 ** (vv_db / 10.0) * direc
    t2 = np.tan(np.radians(th)) ** 2
    pr = (1.0 + 2.0 * t2) ** 2 / (1.0 + p.polarization_ratio_alpha * t2) ** 2
    hh = vv / pr
    ca, cb = p.water_hv_coeffs
    hv = 10.0 ** ((ca * u + cb) / 10.0) * np.ones_like(th)
    return hh, hv


@dataclass
class RadarProduct:
    """The simulated GRD product in radar geometry (line, pixel), ready to be written.

    Radar geometry is the scene grid mirrored as a right-looking SAR sees it: an
    ascending pass (incidence increasing to the east of the map grid) has its lines
    reversed (first line = southern edge), a descending pass its pixels reversed.
    """

    shape: tuple[int, int]
    flip_lines: bool
    flip_pixels: bool
    incidence_near: float
    incidence_far: float
    swaths: list[tuple[str, int, int]]  # (name, first sample, last sample)
    calibration_lines: np.ndarray
    calibration_pixels: np.ndarray
    sigma_nought: np.ndarray  # per calibration pixel (same on every calibration line)
    beta_nought: np.ndarray
    gamma: np.ndarray
    dn_lut: np.ndarray
    noise_range_lines: np.ndarray
    noise_range_pixels: np.ndarray
    noise_range_lut: np.ndarray  # DN^2, per noise range pixel (same on every line)
    noise_azimuth: list[dict[str, Any]]  # swath, first/last line/sample, line, lut
    dn: dict[str, np.ndarray] = field(default_factory=dict)  # "hh"/"hv" uint16 (lines, pixels)

    def to_scene(self, a: np.ndarray) -> np.ndarray:
        """Radar-geometry array to the scene grid (an involution: also scene -> radar)."""
        if self.flip_lines:
            a = a[::-1, :]
        if self.flip_pixels:
            a = a[:, ::-1]
        return a

    to_radar = to_scene

    def incidence_at_pixel(self, pixel: np.ndarray | float) -> np.ndarray:
        """Incidence (deg) at radar pixel index (centre of pixel ``i`` is ``i``)."""
        w = self.shape[1]
        return (
            self.incidence_near
            + (self.incidence_far - self.incidence_near)
            * (np.asarray(pixel, dtype=np.float64) + 0.5)
            / w
        )

    def sigma_lut(self) -> np.ndarray:
        """``A`` (sigmaNought) at every radar pixel, shape ``(pixels,)``."""
        return np.interp(np.arange(self.shape[1]), self.calibration_pixels, self.sigma_nought)

    def noise_dn2(self) -> np.ndarray:
        """Annotated noise ``noiseRange * noiseAzimuth`` (DN^2) in radar geometry."""
        h, w = self.shape
        rng = np.interp(np.arange(w), self.noise_range_pixels, self.noise_range_lut)
        az = np.ones((h, w))
        lines = np.arange(h)
        for b in self.noise_azimuth:
            lo, hi = b["first_sample"], b["last_sample"] + 1
            l0, l1 = b["first_line"], b["last_line"] + 1
            az[l0:l1, lo:hi] = np.interp(lines[l0:l1], b["line"], b["lut"])[:, None]
        return rng[None, :] * az


def _swath_layout(
    p: SceneParams, near: float, far: float, width: int
) -> list[tuple[str, int, int]]:
    """Sub-swaths crossing this scene: (name, first sample, last sample)."""
    n = p.n_subswaths
    fr = np.asarray(EW_SUBSWATH_FRACTIONS if n == 5 else np.full(n, 1.0 / n))
    edges = EW_SWATH_DEG[0] + (EW_SWATH_DEG[1] - EW_SWATH_DEG[0]) * np.concatenate(
        [[0.0], np.cumsum(fr)]
    )
    edges[0], edges[-1] = -np.inf, np.inf
    theta = near + (far - near) * (np.arange(width) + 0.5) / width
    sw = np.clip(np.searchsorted(edges, theta, side="right") - 1, 0, n - 1)
    out = []
    for k in np.unique(sw):
        idx = np.nonzero(sw == k)[0]
        out.append((f"EW{k + 1}", int(idx[0]), int(idx[-1])))
    return out


def _noise_profile_db(p: SceneParams, theta: np.ndarray, swath_index: np.ndarray) -> np.ndarray:
    """NESZ (dB) across range: a bowl per sub-swath in incidence, plus an offset."""
    n = p.n_subswaths
    fr = np.asarray(EW_SUBSWATH_FRACTIONS if n == 5 else np.full(n, 1.0 / n))
    edges = EW_SWATH_DEG[0] + (EW_SWATH_DEG[1] - EW_SWATH_DEG[0]) * np.concatenate(
        [[0.0], np.cumsum(fr)]
    )
    lo, hi = edges[swath_index], edges[swath_index + 1]
    u = (theta - 0.5 * (lo + hi)) / (0.5 * (hi - lo))
    offs = np.asarray(p.noise_subswath_offsets_db)[swath_index % len(p.noise_subswath_offsets_db)]
    return p.hv_noise_floor_db + offs + p.noise_edge_rise_db * u**2


def _pixel_vector(width: int, swaths: list[tuple[str, int, int]], step: int = 40) -> np.ndarray:
    """Pixels of an annotation vector: every ``step`` plus both ends of each sub-swath."""
    pts = set(range(0, width, step)) | {width - 1}
    for _, a, b in swaths:
        pts |= {a, b}
    return np.array(sorted(pts), dtype=np.int64)


def _line_vector(height: int, n: int = 6) -> np.ndarray:
    return np.unique(np.round(np.linspace(0, height - 1, max(2, n))).astype(np.int64))


def simulate_sar(
    rng: np.random.Generator,
    truth: Truth,
    incidence: np.ndarray,
    pixel_size: float,
    p: SceneParams,
    extra_rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, RadarProduct, dict[str, np.ndarray]]:
    """Simulate the EW GRD HH/HV product of a truth.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    truth : Truth
        Pixel truth on the scene grid.
    incidence : numpy.ndarray
        Incidence (deg) per scene column, shape ``(nx,)``.
    pixel_size : float
        Pixel size (m).
    p : SceneParams
        Physics.
    extra_rng : numpy.random.Generator, optional
        Stream of the broad-world elements ([`xseaice.synthetic.ew`][]): land, feature
        signatures, fractal texture, ridges, swell, streaks, calibration offset and the
        impulse response.  None = the simple world of the first release.

    Returns
    -------
    (hh, hv, product, extras)
        Noise-removed linear sigma0 on the scene grid (float64, may be negative), the
        radar product (DN, LUTs, noise vectors) and diagnostic fields (``wind`` m/s,
        ``hh_true``/``hv_true`` linear sigma0 without noise and speckle).
    """
    ny, nx = truth.ice.shape
    th = np.broadcast_to(incidence[None, :], (ny, nx))

    # --- wind and open water
    wind = p.wind_speed + p.wind_variability * smooth_field(
        rng, (ny, nx), pixel_size, p.wind_scale_km * 1000.0
    )
    wind = np.maximum(wind, 0.0)
    water = truth.ice == 0
    if water.all():
        dist = np.full((ny, nx), np.inf)
    elif water.any():
        dist = ndimage.distance_transform_edt(water) * pixel_size
    else:
        dist = np.zeros((ny, nx))
    u_eff = wind * (1.0 - np.exp(-dist / p.fetch_length_m))
    look_az = 90.0 if p.ascending else 270.0
    phi = p.wind_direction - look_az
    w_hh, w_hv = water_sigma0(th, u_eff, phi, p)

    # --- ice
    t = np.clip(truth.ice_type.astype(np.int64) - 1, 0, 3)
    hh_db = np.asarray(p.hh_db)[t] + np.asarray(p.hh_slope)[t] * (th - 30.0)
    hv_db = np.asarray(p.hv_db)[t] + np.asarray(p.hv_slope)[t] * (th - 30.0)
    n_lab = int(truth.floe.max()) + 1
    floe_off = rng.normal(0.0, p.floe_contrast_db, n_lab)
    floe_off[0] = 0.0
    tex = p.ice_texture_db * smooth_field(rng, (ny, nx), pixel_size, 300.0)
    off = floe_off[truth.floe] + tex
    if extra_rng is not None:
        hh_db, hv_db, off = _broad_ice(extra_rng, truth, th, hh_db, hv_db, off, pixel_size, p)
    i_hh = 10.0 ** ((hh_db + off) / 10.0)
    i_hv = 10.0 ** ((hv_db + off) / 10.0)
    if truth.pond_fraction.any():
        p_hh, p_hv = water_sigma0(th, wind * p.pond_wind_factor, phi, p)
        pf = truth.pond_fraction
        i_hh = (1 - pf) * i_hh + pf * p_hh
        i_hv = (1 - pf) * i_hv + pf * p_hv
    ice = truth.ice == 1
    s_hh = np.where(ice, i_hh, w_hh)
    s_hv = np.where(ice, i_hv, w_hv)
    if extra_rng is not None:
        s_hh, s_hv = _broad_scene(extra_rng, truth, th, s_hh, s_hv, pixel_size, p)

    # --- radar geometry, calibration and noise annotation
    near, far = (min(p.incidence_range), max(p.incidence_range))
    flip_lines = p.ascending
    flip_pixels = not p.ascending
    theta_px = near + (far - near) * (np.arange(nx) + 0.5) / nx
    swaths = _swath_layout(p, near, far, nx)
    cal_pix = _pixel_vector(nx, [], step=40)
    th_cal = near + (far - near) * (cal_pix + 0.5) / nx
    sin_c = np.sin(np.radians(th_cal))
    sigma_nought = BETA_NOUGHT / np.sqrt(sin_c)
    gamma = sigma_nought * np.sqrt(np.cos(np.radians(th_cal)))
    nr_pix = _pixel_vector(nx, swaths, step=40)
    sw_of = np.zeros(nx, dtype=np.int64)
    for name, a, b in swaths:
        sw_of[a : b + 1] = int(name[2:]) - 1
    nesz_db = _noise_profile_db(p, theta_px, sw_of)
    a_px = np.interp(np.arange(nx), cal_pix, sigma_nought)
    nr_lut = 10.0 ** (nesz_db[nr_pix] / 10.0) * a_px[nr_pix] ** 2
    period = max(p.burst_length_km * 1000.0 / pixel_size, 4.0)
    az_blocks = []
    for name, a, b in swaths:
        lines = np.unique(np.concatenate([np.arange(0, ny, 10), [ny - 1]]))
        phase = rng.uniform(0, 2 * np.pi)
        lut = 10.0 ** (0.5 * p.scalloping_db * np.cos(2 * np.pi * lines / period + phase) / 10.0)
        az_blocks.append(
            {
                "swath": name,
                "first_line": 0,
                "last_line": ny - 1,
                "first_sample": a,
                "last_sample": b,
                "line": lines,
                "lut": lut,
            }
        )
    prod = RadarProduct(
        shape=(ny, nx),
        flip_lines=flip_lines,
        flip_pixels=flip_pixels,
        incidence_near=near,
        incidence_far=far,
        swaths=swaths,
        calibration_lines=_line_vector(ny),
        calibration_pixels=cal_pix,
        sigma_nought=sigma_nought,
        beta_nought=np.full(cal_pix.shape, BETA_NOUGHT),
        gamma=gamma,
        dn_lut=np.full(cal_pix.shape, BETA_NOUGHT),
        noise_range_lines=_line_vector(ny),
        noise_range_pixels=nr_pix,
        noise_range_lut=nr_lut,
        noise_azimuth=az_blocks,
    )
    eta_dn = prod.noise_dn2()  # radar geometry, DN^2
    a2 = (a_px**2)[None, :]
    err = 1.0 + rng.normal(0.0, p.noise_scaling_error, len(swaths))
    err_px = np.ones(nx)
    for k, (_, a, b) in enumerate(swaths):
        err_px[a : b + 1] = max(err[k], 0.0)
    eta_true = eta_dn / a2 * err_px[None, :]  # sigma0 units, radar geometry

    out = {}
    for pol, s in (("hh", s_hh), ("hv", s_hv)):
        s_r = prod.to_radar(s)
        speckle = _speckle(rng, (ny, nx), pixel_size, p)
        power = (s_r + eta_true) * speckle
        dn = np.clip(np.rint(np.sqrt(power * a2)), 1, 65535).astype(np.uint16)
        prod.dn[pol] = dn
        sig = (dn.astype(np.float64) ** 2 - eta_dn) / a2
        out[pol] = prod.to_scene(sig)
    extras = {"wind": wind.astype(np.float32), "hh_true": s_hh, "hv_true": s_hv}
    return out["hh"], out["hv"], prod, extras


# ---------------------------------------------------------------------------------------
# AMSR-2
# ---------------------------------------------------------------------------------------


@dataclass
class AmsrGrid:
    """AMSR-2 L3 cells near the scene on the NSIDC 12.5 km grid.

    ``values[ch]`` are brightness temperatures in K, already rounded to 0.1 K, on the
    window ``rows = row0 .. row0 + n - 1``, ``cols = col0 .. col0 + m - 1`` of the grid.
    """

    grid: dict[str, Any]
    row0: int
    col0: int
    values: dict[str, np.ndarray]

    @property
    def shape(self) -> tuple[int, int]:
        v = next(iter(self.values.values()))
        return (int(v.shape[0]), int(v.shape[1]))

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Grid-CRS x (cols) and y (rows) of the window's cell centres (1-D)."""
        res = self.grid["res"]
        x0, y0 = self.grid["upper_left"]
        n, m = self.shape
        x = x0 + (self.col0 + np.arange(m) + 0.5) * res
        y = y0 - (self.row0 + np.arange(n) + 0.5) * res
        return x, y


#: Brightness temperatures (K) of snow-covered land (18H, 18V, 36H, 36V).
TB_LAND: tuple[float, ...] = (245.0, 252.0, 238.0, 246.0)
#: Atmospheric-water TB increase over open water per unit ``weather_k`` (36H = 1).
_WEATHER_GAIN: tuple[float, ...] = (0.6, 0.3, 1.0, 0.5)


def _grid_for(lat: float) -> dict[str, Any]:
    return NSIDC_12KM["north" if lat >= 0 else "south"]


def simulate_amsr2(
    rng: np.random.Generator,
    truth: Truth,
    gbox: Any,
    center_lat: float,
    p: SceneParams,
    extra_rng: np.random.Generator | None = None,
) -> tuple[dict[str, np.ndarray], AmsrGrid]:
    """AMSR-2 18.7 / 36.5 GHz TBs on the scene grid and the L3 cells they come from.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    truth : Truth
        Pixel truth.
    gbox : odc.geo.geobox.GeoBox
        The scene grid.
    center_lat : float
        Latitude of the scene centre (picks the northern or southern NSIDC grid).
    p : SceneParams
        Tie points, footprints, noise.
    extra_rng : numpy.random.Generator, optional
        Stream of the broad world: land emission ([`TB_LAND`][xseaice.synthetic.sensors.TB_LAND])
        mixed into the footprints, and atmospheric water (``weather_k``) raising TB over open water
        in a field varying over ~100 km.  None = neither.

    Returns
    -------
    (dict, AmsrGrid)
        ``{"tb18h": ..., ...}`` float32 on the scene grid, and the L3 cells.
    """
    from pyproj import Transformer

    ny, nx = truth.ice.shape
    ps = float(abs(gbox.resolution.x))
    it = truth.ice_type
    ice = truth.ice == 1
    pond_w = 1.0 - p.pond_tb_weight * truth.pond_fraction
    w_fy = np.where(ice & ((it == 2) | (it == 3)), pond_w, 0.0)
    w_fy = w_fy + np.where(ice & (it == 1), p.new_ice_tb_weight, 0.0)
    w_old = np.where(ice & (it == 4), pond_w, 0.0)

    # block-average to ~500 m, then blur per footprint
    f = max(1, round(500.0 / ps))
    py, px = (-ny) % f, (-nx) % f

    def block(a: np.ndarray) -> np.ndarray:
        a = np.pad(a, ((0, py), (0, px)), mode="edge")
        return a.reshape(a.shape[0] // f, f, a.shape[1] // f, f).mean(axis=(1, 3))

    b_fy, b_old = block(w_fy), block(w_old)
    land = truth.land_mask()
    b_land = block(land.astype(np.float64)) if land.any() else None
    grid = _grid_for(center_lat)
    crs_grid = f"EPSG:{grid['epsg']}"
    to_grid = Transformer.from_crs(gbox.crs.to_wkt(), crs_grid, always_xy=True)
    from_grid = Transformer.from_crs(crs_grid, gbox.crs.to_wkt(), always_xy=True)
    tr = gbox.transform
    x0, y0 = tr.c, tr.f
    # scene outline in grid coordinates -> cell window (+2 cells)
    e = np.linspace(0, 1, 33)
    bx = np.concatenate([e * nx, np.full(33, nx), e[::-1] * nx, np.zeros(33)]) * ps + x0
    by = y0 - np.concatenate([np.zeros(33), e * ny, np.full(33, ny), e[::-1] * ny]) * ps
    gx, gy = to_grid.transform(bx, by)
    res = grid["res"]
    ulx, uly = grid["upper_left"]
    gr, gc = grid["shape"]
    c_lo = max(math.floor((np.min(gx) - ulx) / res - 0.5) - 2, 0)
    c_hi = min(math.ceil((np.max(gx) - ulx) / res - 0.5) + 2, gc - 1)
    r_lo = max(math.floor((uly - np.max(gy)) / res - 0.5) - 2, 0)
    r_hi = min(math.ceil((uly - np.min(gy)) / res - 0.5) + 2, gr - 1)
    cols = np.arange(c_lo, c_hi + 1)
    rows = np.arange(r_lo, r_hi + 1)
    cx = ulx + (cols + 0.5) * res
    cy = uly - (rows + 0.5) * res
    mx, my = np.meshgrid(cx, cy)
    sx, sy = from_grid.transform(mx.ravel(), my.ravel())
    # fractional index into the block-averaged arrays
    br = ((y0 - np.asarray(sy)) / ps) / f - 0.5
    bc = ((np.asarray(sx) - x0) / ps) / f - 0.5

    values: dict[str, np.ndarray] = {}
    names = ("18h", "18v", "36h", "36v")
    weather = None
    if extra_rng is not None and p.weather_k > 0:
        wg = smooth_field(extra_rng, (rows.size, cols.size), res, 100000.0).ravel()
        weather = np.maximum(1.0 + 0.5 * wg.astype(np.float64), 0.0)
    for freq, fwhm in (("18", p.amsr_footprint_km), ("36", p.amsr_footprint_36_km)):
        sigma = fwhm * 1000.0 / (2.0 * math.sqrt(2.0 * math.log(2.0))) / (ps * f)
        s_fy = ndimage.gaussian_filter(b_fy, sigma, mode="reflect")
        s_old = ndimage.gaussian_filter(b_old, sigma, mode="reflect")
        c_fy = ndimage.map_coordinates(s_fy, [br, bc], order=1, mode="nearest")
        c_old = ndimage.map_coordinates(s_old, [br, bc], order=1, mode="nearest")
        c_land = np.zeros_like(c_fy)
        if b_land is not None:
            s_land = ndimage.gaussian_filter(b_land, sigma, mode="reflect")
            c_land = ndimage.map_coordinates(s_land, [br, bc], order=1, mode="nearest")
        for pol in ("h", "v"):
            k = names.index(freq + pol)
            tw, tf, to = p.tb_water[k], p.tb_first_year[k], p.tb_old[k]
            tb = tw + c_fy * (tf - tw) + c_old * (to - tw) + c_land * (TB_LAND[k] - tw)
            if weather is not None:
                open_frac = np.clip(1.0 - c_fy - c_old - c_land, 0.0, 1.0)
                tb = tb + p.weather_k * _WEATHER_GAIN[k] * weather * open_frac
            tb = tb + rng.normal(0.0, p.amsr_noise_k, tb.shape)
            values[freq + pol] = np.round(tb.reshape(rows.size, cols.size) * 10.0) / 10.0
        if freq == "36":
            # 89 GHz only fills the HE5 file (not part of the scene Dataset)
            for j, pol in enumerate(("h", "v")):
                tw, tf, to = _TB89["water"][j], _TB89["fy"][j], _TB89["old"][j]
                tb = tw + c_fy * (tf - tw) + c_old * (to - tw)
                tb = tb + rng.normal(0.0, p.amsr_noise_k, tb.shape)
                values["89" + pol] = np.round(tb.reshape(rows.size, cols.size) * 10.0) / 10.0
    for pol in ("h", "v"):
        values["23" + pol] = np.round((values["18" + pol] + values["36" + pol]) * 5.0) / 10.0
    values = {k: values[k] for k in AMSR_CHANNELS}
    amsr = AmsrGrid(grid=grid, row0=int(r_lo), col0=int(c_lo), values=values)

    # bilinear interpolation back onto the scene (projection evaluated every 16 px)
    step = 16
    sr = np.unique(np.concatenate([np.arange(0, ny, step), [ny - 1]]))
    sc = np.unique(np.concatenate([np.arange(0, nx, step), [nx - 1]]))
    qx, qy = np.meshgrid(x0 + (sc + 0.5) * ps, y0 - (sr + 0.5) * ps)
    qgx, qgy = to_grid.transform(qx.ravel(), qy.ravel())
    fc = ((np.asarray(qgx) - ulx) / res - 0.5 - c_lo).reshape(qx.shape)
    fr = ((uly - np.asarray(qgy)) / res - 0.5 - r_lo).reshape(qx.shape)
    # bilinear upsampling of the coarse index maps to every pixel
    ri = np.interp(np.arange(ny), sr, np.arange(sr.size))
    ci = np.interp(np.arange(nx), sc, np.arange(sc.size))
    rr, cc = np.meshgrid(ri, ci, indexing="ij")
    full_r = ndimage.map_coordinates(fr, [rr, cc], order=1)
    full_c = ndimage.map_coordinates(fc, [rr, cc], order=1)
    scene: dict[str, np.ndarray] = {}
    for ch in names:
        scene["tb" + ch] = ndimage.map_coordinates(
            values[ch], [full_r, full_c], order=1, mode="nearest"
        ).astype(np.float32)
    return scene, amsr
