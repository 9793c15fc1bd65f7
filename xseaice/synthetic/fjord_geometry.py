"""The geometry of a synthetic marine-terminating glacier and its calving front over time.

A glacier is described in a local frame in metres: ``u`` along the flow (downstream, the
glacier at ``u < front``, the fjord at ``u > front``) and ``v`` across the fjord.  Rock walls
bound the fjord where ``|v - centre(u)| > half_width(u)``; the calving front crosses the fjord
at ``u = front(v, t)``: a seasonal cycle (advance in winter and spring, retreat in late
summer), a multi-year retreat trend, calving embayments and a rough, fractal small-scale
shape.  [`glacier_params`][xseaice.synthetic.fjord_geometry.glacier_params] derives every knob
deterministically from the glacier's name, so a glacier keeps its shape across dates and sensors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import numpy as np

from xseaice.exceptions import InvalidArgumentError

__all__ = ["GlacierParams", "front_position", "glacier_params", "local_frame", "zone_truth"]

#: Zone classes (CaFFe's order): 0 no data, 1 rock, 2 glacier, 3 ocean incl. ice melange.
ZONE_NA, ZONE_ROCK, ZONE_GLACIER, ZONE_OCEAN = 0, 1, 2, 3

_DAY_OF_MAX_ADVANCE = 130  # early May: fronts advance through winter, retreat in summer


@dataclass(frozen=True)
class GlacierParams:
    """Shape and dynamics of one synthetic glacier (metres, days, radians).

    Attributes
    ----------
    name : str
        Glacier name (also the seed of every knob).
    angle : float
        Flow direction in the map, radians counter-clockwise from +x.
    half_width : float
        Half width of the fjord at the mean front, metres.
    widening : float
        Growth of the half width per metre downstream (fjords open seaward).
    meander_amp, meander_len : float
        Amplitude and wavelength of the fjord centre line's meander, metres.
    season_amp : float
        Half the seasonal front excursion, metres.
    retreat_rate : float
        Multi-year retreat, metres per year (positive = retreat).
    roughness : float
        Standard deviation of the small-scale front roughness, metres.
    front_bulge : float
        Curvature of the front: the centre leads the margins by this many metres.
    melange_width : float
        Width of the ice-melange belt in front of the terminus in winter, metres.
    seed : int
        Seed for the glacier's random fields.
    """

    name: str
    angle: float
    half_width: float
    widening: float
    meander_amp: float
    meander_len: float
    season_amp: float
    retreat_rate: float
    roughness: float
    front_bulge: float
    melange_width: float
    seed: int


def glacier_params(name: str) -> GlacierParams:
    """The deterministic parameters of the synthetic glacier called ``name``.

    Parameters
    ----------
    name : str
        Any non-empty name without underscores (it becomes part of CaFFe file names).

    Returns
    -------
    GlacierParams
        The glacier's shape and dynamics.
    """
    if not isinstance(name, str) or not name or "_" in name:
        raise InvalidArgumentError(
            f"glacier name must be a non-empty str without '_' (CaFFe file names split on "
            f"'_'); got {name!r}"
        )
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    rng = np.random.default_rng(seed)
    return GlacierParams(
        name=name,
        angle=float(rng.uniform(0.0, 2.0 * math.pi)),
        half_width=float(rng.uniform(1200.0, 2200.0)),
        widening=float(rng.uniform(0.02, 0.12)),
        meander_amp=float(rng.uniform(100.0, 600.0)),
        meander_len=float(rng.uniform(6000.0, 14000.0)),
        season_amp=float(rng.uniform(150.0, 700.0)),
        retreat_rate=float(rng.uniform(-50.0, 400.0)),
        roughness=float(rng.uniform(20.0, 90.0)),
        front_bulge=float(rng.uniform(-200.0, 600.0)),
        melange_width=float(rng.uniform(300.0, 2000.0)),
        seed=seed,
    )


def front_position(glacier: GlacierParams, date: dt.date) -> float:
    """Mean front position ``u`` (metres, 0 = the glacier's 2015 mean) on ``date``.

    A seasonal cosine (most advanced in early May) plus the multi-year retreat trend plus a
    date-seeded calving jitter of up to ~10 % of the seasonal amplitude.
    """
    doy = date.timetuple().tm_yday
    years = (date - dt.date(2015, 1, 1)).days / 365.25
    seasonal = glacier.season_amp * math.cos(2.0 * math.pi * (doy - _DAY_OF_MAX_ADVANCE) / 365.25)
    jitter_rng = np.random.default_rng([glacier.seed, date.toordinal()])
    jitter = float(jitter_rng.normal(0.0, 0.1 * glacier.season_amp))
    return seasonal - glacier.retreat_rate * years + jitter


def _fractal_1d(rng: np.random.Generator, n: int, beta: float = 1.8) -> np.ndarray:
    """Unit-variance 1-D noise with a power spectrum ~ f**-beta (rough, self-affine)."""
    f = np.fft.rfftfreq(n)
    amp = np.zeros_like(f)
    amp[1:] = f[1:] ** (-beta / 2.0)
    phase = rng.uniform(0.0, 2.0 * math.pi, f.size)
    out = np.fft.irfft(amp * np.exp(1j * phase), n)
    return out / max(float(out.std()), 1e-12)


def front_offsets(
    glacier: GlacierParams, date: dt.date, v: np.ndarray, spacing: float
) -> np.ndarray:
    """Across-fjord shape of the front ``u(v) - mean`` in metres at positions ``v``.

    Curvature (``front_bulge``), one or two calving embayments, and self-affine roughness
    sampled every ``spacing`` metres; seeded by the glacier and the date.
    """
    rng = np.random.default_rng([glacier.seed, date.toordinal(), 7])
    span = 4.0 * glacier.half_width + 4000.0
    grid = np.arange(-span, span + spacing, spacing)
    rough = glacier.roughness * _fractal_1d(rng, grid.size)
    shape = -glacier.front_bulge * (grid / glacier.half_width) ** 2
    for _ in range(int(rng.integers(0, 3))):  # calving embayments
        c = rng.uniform(-0.7, 0.7) * glacier.half_width
        w = rng.uniform(0.08, 0.3) * glacier.half_width
        depth = rng.uniform(0.3, 1.2) * glacier.season_amp
        shape -= depth * np.exp(-0.5 * ((grid - c) / w) ** 2)
    return np.interp(v, grid, shape + rough)


def local_frame(
    glacier: GlacierParams, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates relative to the glacier origin -> local ``(u, v)`` in metres."""
    ca, sa = math.cos(glacier.angle), math.sin(glacier.angle)
    return x * ca + y * sa, -x * sa + y * ca


def zone_truth(
    glacier: GlacierParams,
    date: dt.date,
    u: np.ndarray,
    v: np.ndarray,
    *,
    pixel_size: float,
    wall_noise: np.ndarray,
) -> np.ndarray:
    """Zone classes (uint8: 1 rock, 2 glacier, 3 ocean) at local coordinates ``(u, v)``.

    ``wall_noise`` (unit-variance smooth noise, same shape) roughens the rock walls.
    Icebergs and melange are ocean (as in CaFFe); NA areas are added by the sensor.
    """
    centre = glacier.meander_amp * np.sin(2.0 * math.pi * u / glacier.meander_len)
    half = glacier.half_width * (1.0 + glacier.widening * u / glacier.half_width)
    half = np.maximum(half, 0.3 * glacier.half_width) + 0.06 * glacier.half_width * wall_noise
    across = v - centre
    front_u = front_position(glacier, date) + front_offsets(
        glacier, date, across, max(pixel_size, 5.0)
    )
    zones = np.full(u.shape, ZONE_ROCK, dtype=np.uint8)
    inside = np.abs(across) <= half
    zones[inside & (u <= front_u)] = ZONE_GLACIER
    zones[inside & (u > front_u)] = ZONE_OCEAN
    return zones
