"""A second acquisition of a synthetic scene after a known ice drift.

[`make_drift_pair`][xseaice.synthetic.drift.make_drift_pair] simulates a first scene with
[`make_scene`][xseaice.synthetic.scene.make_scene] on a grid padded by a margin, then renders the
same ice after a known motion:

- a smooth field: translation, rotation and simple shear about the scene centre;
- some floes break up along a straight crack and their two halves move apart, which
  opens a new lead (water) between them;
- the wind over open water changes (new speed and direction: water backscatter differs);
- new multiplicative Gamma speckle.

The ice signature moved with the drift is the first scene's backscatter averaged over a
small Gaussian (ice pixels only), so floe contrast and texture move with the ice while the
speckle is redrawn.  The incidence-angle dependence of the moved ice is not re-evaluated
(a few kilometres of motion change the incidence by about 0.1 degree).  Both scenes are
cropped to the same GeoBox; the margin supplies the ice that drifts into the frame.

The truth is the displacement of every pixel of the first scene, in metres along the x
and y axes of the CRS (``v`` positive towards increasing y, i.e. north-up images move up).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.scene import SyntheticScene, make_scene
from xseaice.synthetic.sensors import water_sigma0
from xseaice.variables import sigma0_to_db

__all__ = ["DriftPair", "make_drift_pair"]

logger = logging.getLogger(__name__)

_SIGNATURE_SIGMA_PX = 1.5
_MIN_BREAK_AREA_PX = 200


@dataclass
class DriftPair:
    """Two acquisitions of the same synthetic ice and the true motion between them.

    Attributes
    ----------
    first : SyntheticScene
        The first scene (``dataset``, ``truth``, ...) cropped to the common GeoBox.
    second : xarray.Dataset
        The second acquisition: ``hh``, ``hv`` (dB), ``incidence_angle``; dims
        ``(time, y, x)`` on the same GeoBox, a later ``time``.
    second_truth : xarray.Dataset
        ``ice`` (uint8) and ``floe`` (int32, labels of the first scene) of the second scene.
    displacement : xarray.Dataset
        ``u``, ``v`` (float32, metres): where the ice of each pixel of the first scene is in
        the second, along the x and y axes of the CRS; ``ice`` (uint8) the first scene's
        mask; ``broken`` (bool) pixels of floes that broke up.
    hours : float
        Time between the acquisitions.
    """

    first: SyntheticScene
    second: xr.Dataset
    second_truth: xr.Dataset
    displacement: xr.Dataset
    hours: float


def _affine(
    rc: tuple[np.ndarray, np.ndarray],
    centre: tuple[float, float],
    shift_px: tuple[float, float],
    rotation_deg: float,
    shear: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column displacement (pixels) of the smooth part of the motion."""
    r, c = rc
    # image rows grow southwards: work in (x, y) = (col, -row) so rotation is counter-clockwise
    x = c - centre[1]
    y = -(r - centre[0])
    th = np.radians(rotation_deg)
    dx = (np.cos(th) - 1.0) * x - np.sin(th) * y + shear * y + shift_px[0]
    dy = np.sin(th) * x + (np.cos(th) - 1.0) * y + shift_px[1]
    return -dy, dx


def _breakup(
    rng: np.random.Generator, floe: np.ndarray, fraction: float, gap_px: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a fraction of the larger floes; return row/col offsets of the pieces and a mask."""
    dr = np.zeros(floe.shape)
    dc = np.zeros(floe.shape)
    broken = np.zeros(floe.shape, bool)
    labels, counts = np.unique(floe[floe > 0], return_counts=True)
    big = labels[counts >= _MIN_BREAK_AREA_PX]
    if big.size == 0 or fraction <= 0:
        return dr, dc, broken
    chosen = rng.choice(big, size=max(1, round(fraction * big.size)), replace=False)
    objects = ndimage.find_objects(floe)
    for lab in chosen:
        sl = objects[lab - 1]
        m = floe[sl] == lab
        rr, cc = np.nonzero(m)
        r0, c0 = rr.mean(), cc.mean()
        ang = rng.uniform(0, np.pi)
        nr, nc = np.sin(ang), np.cos(ang)  # crack normal
        side = (rr - r0) * nr + (cc - c0) * nc > 0
        half = rng.uniform(*gap_px) / 2.0
        sign = np.where(side, 1.0, -1.0)
        dr[sl][rr, cc] = sign * half * nr
        dc[sl][rr, cc] = sign * half * nc
        broken[sl][rr, cc] = True
    return dr, dc, broken


def _signature(db: np.ndarray, ice: np.ndarray) -> np.ndarray:
    """Speckle-reduced linear backscatter of the ice (Gaussian over ice pixels only)."""
    lin = 10.0 ** (db / 10.0)
    w = ndimage.gaussian_filter(ice.astype(float), _SIGNATURE_SIGMA_PX)
    s = ndimage.gaussian_filter(np.where(ice, lin, 0.0), _SIGNATURE_SIGMA_PX)
    return np.where(ice, s / np.maximum(w, 1e-6), 0.0)


def _source_positions(
    shape: tuple[int, int],
    centre: tuple[float, float],
    motion: tuple[tuple[float, float], float, float],
    pieces: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invert the motion: first-scene position of every second-scene pixel, and gaps."""
    qr, qc = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    shift_px, rot, shear = motion
    pr, pc = qr.copy(), qc.copy()
    for _ in range(8):  # fixed point of q = p + D(p)
        ir = np.clip(np.rint(pr).astype(int), 0, shape[0] - 1)
        ic = np.clip(np.rint(pc).astype(int), 0, shape[1] - 1)
        ar, ac = _affine((pr, pc), centre, shift_px, rot, shear)
        pr = qr - ar - pieces[0][ir, ic]
        pc = qc - ac - pieces[1][ir, ic]
    ir = np.clip(np.rint(pr).astype(int), 0, shape[0] - 1)
    ic = np.clip(np.rint(pc).astype(int), 0, shape[1] - 1)
    ar, ac = _affine((pr, pc), centre, shift_px, rot, shear)
    miss = np.hypot(pr + ar + pieces[0][ir, ic] - qr, pc + ac + pieces[1][ir, ic] - qc)
    return pr, pc, miss > 0.5


def _wind(
    rng: np.random.Generator, shape: tuple[int, int], speed: float, spread: float
) -> np.ndarray:
    """A smooth wind-speed field (m/s) of mean ``speed``."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), max(shape) / 6.0, mode="wrap")
    field /= max(float(field.std()), 1e-9)
    return np.maximum(speed + spread * field, 0.0)


def _check(shape: tuple[int, int], hours: float, breakup: float) -> None:
    if len(tuple(shape)) != 2 or min(shape) < 32:
        raise InvalidArgumentError(f"shape must be (ny, nx) with both >= 32 pixels; got {shape!r}")
    if not hours > 0:
        raise InvalidArgumentError(f"hours must be > 0 (time between acquisitions); got {hours!r}")
    if not 0.0 <= breakup <= 1.0:
        raise InvalidArgumentError(f"breakup must be a fraction in [0, 1]; got {breakup!r}")


def _render(
    big: SyntheticScene,
    ice_b: np.ndarray,
    sig: dict[str, np.ndarray],
    rng: np.random.Generator,
    wind_in: tuple[float | None, float | None],
    pixel_size: float,
) -> dict[str, np.ndarray]:
    """HH, HV (dB) of the second acquisition: moved ice, new wind over water, new speckle."""
    p = big.params
    speed = float(wind_in[0] if wind_in[0] is not None else rng.uniform(2.0, 16.0))
    direction = float(
        wind_in[1] if wind_in[1] is not None else (p.wind_direction + rng.uniform(60, 300))
    )
    p2 = dataclasses.replace(p, wind_speed=speed, wind_direction=direction % 360.0)
    wind = _wind(rng, ice_b.shape, speed, p.wind_variability)
    dist = ndimage.distance_transform_edt(~ice_b) * pixel_size if ice_b.any() else np.inf
    theta = np.broadcast_to(big.dataset.incidence_angle.values[0], ice_b.shape)
    look = 90.0 if p.ascending else 270.0
    w_hh, w_hv = water_sigma0(
        theta, wind * (1.0 - np.exp(-dist / p.fetch_length_m)), direction - look, p2
    )
    out = {}
    for pol, water in (("hh", w_hh), ("hv", w_hv)):
        clean = np.where(ice_b, sig[pol], water)
        speckle = rng.gamma(p.enl, 1.0 / p.enl, ice_b.shape)
        out[pol] = sigma0_to_db(clean * speckle).astype(np.float32)
    logger.debug("second acquisition: wind %.1f -> %.1f m/s", p.wind_speed, speed)
    return out


def make_drift_pair(
    seed: int = 0,
    *,
    shape: tuple[int, int] = (256, 256),
    pixel_size: float = 40.0,
    translation: tuple[float, float] = (1800.0, -1200.0),
    rotation_deg: float = 0.5,
    shear: float = 0.002,
    breakup: float = 0.15,
    gap_px: tuple[float, float] = (2.0, 5.0),
    wind_speed: float | None = None,
    wind_direction: float | None = None,
    hours: float = 12.0,
    season: str = "winter",
    time: str = "2023-01-04T08:00:00",
) -> DriftPair:
    """Simulate two acquisitions of the same ice with a known drift between them.

    Parameters
    ----------
    seed : int
        Seed of the first scene and of the second acquisition's draws.
    shape : (int, int)
        ``(ny, nx)`` of both scenes (>= 32).
    pixel_size : float
        Pixel size in metres.
    translation : (float, float)
        Mean displacement ``(dx, dy)`` in metres along the CRS axes.
    rotation_deg : float
        Counter-clockwise rotation of the ice about the scene centre (degrees).
    shear : float
        Simple shear: extra x displacement per metre of y (dimensionless).
    breakup : float
        Fraction of the floes of >= 200 pixels that crack in two; the halves move apart by
        ``gap_px`` pixels, which opens a lead.
    gap_px : (float, float)
        Range of the opening of each crack (pixels).
    wind_speed, wind_direction : float, optional
        Wind of the second acquisition (m/s, degrees); default drawn from the seed,
        different from the first scene's.
    hours : float
        Time between the acquisitions.
    season : {"winter", "summer"}
        Season of the first scene's physics.
    time : str
        Time of the first acquisition (ISO 8601).

    Returns
    -------
    DriftPair

    Raises
    ------
    InvalidArgumentError
        For a bad shape, time interval or breakup fraction.

    Examples
    --------
    >>> from xseaice.synthetic.drift import make_drift_pair
    >>> pair = make_drift_pair(0, shape=(128, 128))
    >>> float(pair.displacement.u.mean()) > 0
    True
    """
    _check(shape, hours, breakup)
    ny, nx = int(shape[0]), int(shape[1])
    shift_px = (translation[0] / pixel_size, translation[1] / pixel_size)
    reach = np.hypot(*shift_px) + (abs(np.radians(rotation_deg)) + abs(shear)) * np.hypot(ny, nx)
    margin = int(np.ceil(reach + gap_px[1] + 8))
    big_shape = (ny + 2 * margin, nx + 2 * margin)
    big = make_scene(seed, shape=big_shape, pixel_size=pixel_size, season=season, time=time)  # type: ignore[arg-type]
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7919]))
    centre = ((big_shape[0] - 1) / 2.0, (big_shape[1] - 1) / 2.0)
    floe = big.truth.floe.values
    ice = big.truth.ice.values.astype(bool)
    pieces_r, pieces_c, broken = _breakup(rng, floe, breakup, gap_px)
    motion = (shift_px, float(rotation_deg), float(shear))

    pr, pc, gap = _source_positions(big_shape, centre, motion, (pieces_r, pieces_c))
    coords = np.stack([pr, pc])
    ice_b = (
        ndimage.map_coordinates(ice.astype(float), coords, order=0, mode="constant") > 0.5
    ) & ~gap
    floe_b = np.where(ice_b, ndimage.map_coordinates(floe, coords, order=0, mode="constant"), 0)
    sig = {}
    for pol in ("hh", "hv"):
        s = _signature(big.dataset[pol].values[0], ice)
        sig[pol] = ndimage.map_coordinates(s, coords, order=1, mode="nearest")

    out = _render(big, ice_b, sig, rng, (wind_speed, wind_direction), pixel_size)
    ys, xs = slice(margin, margin + ny), slice(margin, margin + nx)
    first = _crop_scene(big, ys, xs)
    t_b = first.dataset.time.values + np.timedelta64(round(hours * 3600), "s")
    second = first.dataset[["incidence_angle"]].assign_coords(time=t_b)
    for pol in ("hh", "hv"):
        second[pol] = (("time", "y", "x"), out[pol][ys, xs][None], dict(first.dataset[pol].attrs))
    second = second[["hh", "hv", "incidence_angle"]]
    second.attrs = {**first.dataset.attrs, "title": "xseaice synthetic second acquisition"}
    second_truth = xr.Dataset(
        {
            "ice": (("y", "x"), ice_b[ys, xs].astype(np.uint8)),
            "floe": (("y", "x"), floe_b[ys, xs].astype(np.int32)),
        },
        coords={k: first.truth.coords[k] for k in ("y", "x", "spatial_ref")},
    )
    rr, cc = np.mgrid[0 : big_shape[0], 0 : big_shape[1]].astype(float)
    ar, ac = _affine((rr, cc), centre, shift_px, rotation_deg, shear)
    drow = (ar + pieces_r)[ys, xs]
    dcol = (ac + pieces_c)[ys, xs]
    displacement = xr.Dataset(
        {
            "u": (("y", "x"), (dcol * pixel_size).astype(np.float32), {"units": "m"}),
            "v": (("y", "x"), (-drow * pixel_size).astype(np.float32), {"units": "m"}),
            "ice": first.truth.ice,
            "broken": (("y", "x"), broken[ys, xs]),
        },
        coords={k: first.truth.coords[k] for k in ("y", "x", "spatial_ref")},
    )
    logger.debug("drift pair seed=%d margin=%d", seed, margin)
    return DriftPair(first, second, second_truth, displacement, float(hours))


def _crop_scene(sc: SyntheticScene, ys: slice, xs: slice) -> SyntheticScene:
    """The scene restricted to a window (Dataset, truth and extras)."""
    extras = {k: v[ys, xs] for k, v in sc.extras.items() if getattr(v, "ndim", 0) == 2}
    chart_ids = sc.chart_ids[ys, xs] if sc.chart_ids is not None else None
    return dataclasses.replace(
        sc,
        dataset=sc.dataset.isel(y=ys, x=xs),
        truth=sc.truth.isel(y=ys, x=xs),
        chart_ids=chart_ids,
        extras=extras,
    )
