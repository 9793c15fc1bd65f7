"""SAR appearance of a synthetic fjord: backscatter per zone, texture, sensor and speckle.

The radar image is built in dB from the pixel truth: bright, slope-modulated rock walls
with radar shadow; glacier ice with flow-parallel stripes and transverse crevasses that
grow toward the terminus (darker wet snow in summer); dark, wind-modulated open water,
a granular ice-melange belt in front of the terminus (wide in winter, narrow in summer)
and bright icebergs.  The sensor then adds its incidence-angle ramp, its point-spread
blur, multiplicative Gamma speckle of its number of looks, and its own 8-bit scaling (as
in the CaFFe PNGs), so sensors differ the way real archives do.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.fjord_geometry import (
    ZONE_GLACIER,
    ZONE_OCEAN,
    ZONE_ROCK,
    GlacierParams,
    front_position,
)
from xseaice.synthetic.world import smooth_field

__all__ = ["SENSORS", "SensorSpec", "render_sar", "sensor_spec"]


@dataclass(frozen=True)
class SensorSpec:
    """How one SAR sensor images a fjord.

    Attributes
    ----------
    name : str
        Short name as in CaFFe file names (``"S1"``, ``"TSX"``, ``"ERS"``, ...).
    pixel_size : float
        Pixel size of its products in metres.
    looks : float
        Equivalent number of looks of the speckle.
    db_range : tuple of float
        dB mapped to grey values 1 and 255 in its 8-bit images.
    ramp_db : float
        Backscatter drop across the swath (incidence-angle dependence), dB.
    blur_px : float
        Gaussian point-spread sigma in pixels.
    """

    name: str
    pixel_size: float
    looks: float
    db_range: tuple[float, float]
    ramp_db: float
    blur_px: float


#: The sensors of the synthetic archive (pixel sizes of the CaFFe missions, 6-50 m).
SENSORS: dict[str, SensorSpec] = {
    s.name: s
    for s in (
        SensorSpec("ERS", 20.0, 3.0, (-26.0, 4.0), 2.5, 0.8),
        SensorSpec("ENVISAT", 30.0, 4.0, (-27.0, 3.0), 2.0, 0.7),
        SensorSpec("RSAT", 12.0, 3.0, (-25.0, 5.0), 3.0, 0.8),
        SensorSpec("PALSAR", 17.0, 4.0, (-30.0, 2.0), 1.5, 0.7),
        SensorSpec("TSX", 7.0, 2.5, (-24.0, 6.0), 3.5, 0.9),
        SensorSpec("TDX", 6.0, 2.5, (-24.0, 6.0), 3.5, 0.9),
        SensorSpec("S1", 20.0, 5.0, (-28.0, 2.0), 2.0, 0.6),
        SensorSpec("S1EW", 50.0, 8.0, (-29.0, 1.0), 3.0, 0.6),
    )
}


def sensor_spec(sensor: str) -> SensorSpec:
    """The [`SensorSpec`][xseaice.synthetic.fjord_sar.SensorSpec] called ``sensor`` (one of
    `SENSORS`)."""
    try:
        return SENSORS[sensor]
    except (KeyError, TypeError):
        raise InvalidArgumentError(
            f"unknown sensor {sensor!r}; expected one of {sorted(SENSORS)}"
        ) from None


def _is_summer(date: dt.date) -> bool:
    return 6 <= date.month <= 9


def _rock_db(rng: np.random.Generator, shape: tuple[int, int], px: float) -> np.ndarray:
    dem = smooth_field(rng, shape, px, 900.0) * 300.0  # relief, metres
    slope = np.gradient(dem, px, axis=1)  # toward/away from a sensor looking along +x
    db = -7.0 + 7.0 * np.tanh(2.5 * slope) + 2.0 * smooth_field(rng, shape, px, 120.0)
    return np.where(slope < -0.6, -24.0, db)  # radar shadow behind steep slopes


def _glacier_db(
    rng: np.random.Generator,
    glacier: GlacierParams,
    date: dt.date,
    u: np.ndarray,
    v: np.ndarray,
    px: float,
) -> np.ndarray:
    shape = u.shape
    base = -14.0 if _is_summer(date) else -7.0
    wiggle = smooth_field(rng, shape, px, 700.0)
    stripe_len = 150.0 + 250.0 * (glacier.seed % 7) / 6.0
    stripes = 1.5 * np.sin(2.0 * math.pi * v / stripe_len + 1.5 * wiggle)
    to_front = np.maximum(front_position(glacier, date) - u, 0.0)
    crevasse_len = 90.0 + 60.0 * ((glacier.seed >> 3) % 5) / 4.0
    phase = 2.0 * math.pi * u / crevasse_len + 2.0 * wiggle + 0.002 * v
    crevasses = 6.0 * np.cos(phase) ** 16 * np.exp(-to_front / 1500.0)
    return base + stripes + crevasses + 1.0 * smooth_field(rng, shape, px, 200.0)


def _ocean_db(
    rng: np.random.Generator,
    glacier: GlacierParams,
    date: dt.date,
    u: np.ndarray,
    px: float,
) -> np.ndarray:
    shape = u.shape
    water = -22.0 + 3.0 * smooth_field(rng, shape, px, 2500.0)
    season = 0.5 * (1.0 + math.cos(2.0 * math.pi * (date.timetuple().tm_yday - 40) / 365.25))
    belt = glacier.melange_width * (0.15 + 0.85 * season)
    past_front = u - front_position(glacier, date)
    edge = belt * (1.0 + 0.3 * smooth_field(rng, shape, px, 600.0))
    melange = past_front < edge
    granular = -11.0 + 3.0 * smooth_field(rng, shape, px, max(40.0, 3.0 * px))
    db = np.where(melange, granular, water)
    # icebergs: bright blobs, denser near the terminus
    n = int(rng.poisson(6 + 20 * season))
    rows = rng.uniform(0, shape[0], n)
    cols = rng.uniform(0, shape[1], n)
    radius = rng.uniform(40.0, 250.0, n) / px
    bergs = np.zeros(shape, dtype=bool)
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    for r, c, rad in zip(rows, cols, radius, strict=True):
        bergs |= (yy - r) ** 2 + (xx - c) ** 2 <= rad**2
    return np.where(bergs, -4.0 + 2.0 * smooth_field(rng, shape, px, 60.0), db)


def render_sar(
    zones: np.ndarray,
    glacier: GlacierParams,
    date: dt.date,
    sensor: SensorSpec,
    u: np.ndarray,
    v: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The 8-bit-scaled SAR image (float32 grey values 1-255) of a fjord's zones.

    Parameters
    ----------
    zones : numpy.ndarray
        Zone truth (uint8, 1 rock / 2 glacier / 3 ocean).
    glacier, date, sensor
        The glacier, the acquisition date and the sensor.
    u, v : numpy.ndarray
        Local along-flow / across-fjord coordinates of the pixels, metres.
    rng : numpy.random.Generator
        Source of the texture and speckle.

    Returns
    -------
    numpy.ndarray
        float32 grey values in ``[1, 255]``.
    """
    px = sensor.pixel_size
    shape = zones.shape
    db = np.empty(shape, dtype=np.float64)
    db[:] = _rock_db(rng, shape, px)
    ice = zones == ZONE_GLACIER
    db[ice] = _glacier_db(rng, glacier, date, u, v, px)[ice]
    sea = zones == ZONE_OCEAN
    db[sea] = _ocean_db(rng, glacier, date, u, px)[sea]
    assert not np.any((zones != ZONE_ROCK) & ~ice & ~sea)
    db += sensor.ramp_db * (0.5 - np.linspace(0.0, 1.0, shape[1]))[None, :]
    power = ndimage.gaussian_filter(10.0 ** (db / 10.0), sensor.blur_px)
    power = power * rng.gamma(sensor.looks, 1.0 / sensor.looks, size=shape)
    db = 10.0 * np.log10(np.maximum(power, 1e-6))
    lo, hi = sensor.db_range
    grey = 1.0 + 254.0 * np.clip((db - lo) / (hi - lo), 0.0, 1.0)
    return np.round(grey).astype(np.float32)
