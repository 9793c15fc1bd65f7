"""Synthetic SAR scenes of marine-terminating glaciers, with pixel truth for zones and front.

[`make_fjord`][xseaice.synthetic.fjord.make_fjord] images one glacier
([`fjord_geometry`][xseaice.synthetic.fjord_geometry]) on one date with one sensor
([`fjord_sar`][xseaice.synthetic.fjord_sar]).  The result follows CaFFe's conventions: zones 0 no
data (outside the swath), 1 rock, 2 glacier, 3 ocean including ice melange and icebergs; the front
is the line of ocean pixels touching glacier pixels.
[`fjord_catalog`][xseaice.synthetic.fjord_catalog] draws dated series and the train / validation /
test split (unseen glaciers, sensors and seasons in test).

>>> import datetime as dt
>>> from xseaice.synthetic.fjord import make_fjord
>>> ds = make_fjord("Aurora", dt.date(2016, 3, 1), "S1", shape=(64, 64))
>>> sorted(ds.data_vars)
['front', 'sar', 'zones']
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.fjord_geometry import (
    ZONE_GLACIER,
    ZONE_NA,
    ZONE_OCEAN,
    front_position,
    glacier_params,
    local_frame,
    zone_truth,
)
from xseaice.synthetic.fjord_sar import render_sar, sensor_spec
from xseaice.synthetic.world import smooth_field

__all__ = ["ZONE_CLASSES", "default_shape", "glacier_location", "make_fjord", "truth_front"]

#: Zone class names in class order (CaFFe: N/A, rock, glacier, ocean/ice melange).
ZONE_CLASSES: tuple[str, ...] = ("na", "rock", "glacier", "ocean")

_SCENE_EXTENT_M = 7000.0
_CRS = "EPSG:3413"


def default_shape(pixel_size: float) -> tuple[int, int]:
    """Scene shape covering about 7 km at ``pixel_size``: 128-512 px, a multiple of 32."""
    side = int(np.clip(round(_SCENE_EXTENT_M / pixel_size / 32.0) * 32, 128, 512))
    return side, side


def glacier_location(name: str) -> tuple[float, float]:
    """(x, y) in EPSG:3413 metres of the glacier's 2015 mean front (Greenland coast)."""
    g = glacier_params(name)
    rng = np.random.default_rng([g.seed, 11])
    return float(rng.uniform(-400e3, 600e3)), float(rng.uniform(-3000e3, -900e3))


def truth_front(zones: np.ndarray) -> np.ndarray:
    """Ocean pixels with a glacier pixel among their 4 neighbours (uint8 0/1)."""
    glacier = np.pad(zones == ZONE_GLACIER, 1)
    touch = glacier[:-2, 1:-1] | glacier[2:, 1:-1] | glacier[1:-1, :-2] | glacier[1:-1, 2:]
    return ((zones == ZONE_OCEAN) & touch).astype(np.uint8)


def _swath_edge(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Pixels outside the swath: a straight cut across one corner in ~40 % of scenes."""
    out = np.zeros(shape, dtype=bool)
    if rng.uniform() > 0.4:
        return out
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] / max(shape)
    a = rng.uniform(0.0, 2.0 * math.pi)
    d = np.cos(a) * (xx - 0.5) + np.sin(a) * (yy - 0.5)
    return d > rng.uniform(0.3, 0.5)


def _check_inputs(date: Any, shape: Any) -> None:
    if not isinstance(date, dt.date):
        raise InvalidArgumentError(f"date must be a datetime.date; got {type(date).__name__}")
    if shape is not None and (
        len(shape) != 2 or any(not isinstance(n, int) or n < 16 for n in shape)
    ):
        raise InvalidArgumentError(f"shape must be two ints >= 16 (rows, cols); got {shape!r}")


def make_fjord(
    glacier: str,
    date: dt.date,
    sensor: str,
    *,
    shape: tuple[int, int] | None = None,
    offset: tuple[float, float] | None = None,
) -> xr.Dataset:
    """One synthetic SAR scene of a marine-terminating glacier, with pixel truth.

    Parameters
    ----------
    glacier : str
        Glacier name (any name; its shape and dynamics derive from it).
    date : datetime.date
        Acquisition date: sets the front position (season and trend) and the surface state.
    sensor : str
        One of `xseaice.synthetic.fjord_sar.SENSORS` (sets pixel size, looks,
        scaling, blur).
    shape : (int, int), optional
        Rows and columns; default `default_shape` of the
        sensor's pixel size.
    offset : (float, float), optional
        Shift of the scene centre from the front centre, as fractions of the scene extent
        (along x and y); default drawn within +-0.2 from the glacier, date and sensor.

    Returns
    -------
    xarray.Dataset
        ``sar`` (float32 grey value 1-255, NaN outside the swath), ``zones`` (uint8, 0 NA,
        1 rock, 2 glacier, 3 ocean), ``front`` (uint8 0/1); dims ``(y, x)`` in EPSG:3413
        metres with a ``spatial_ref`` coordinate; attributes ``glacier``, ``date``,
        ``sensor``, ``pixel_size`` (m) and ``front_position`` (m, along flow).
    """
    _check_inputs(date, shape)
    g = glacier_params(glacier)
    spec = sensor_spec(sensor)
    px = spec.pixel_size
    ny, nx = shape if shape is not None else default_shape(px)
    rng = np.random.default_rng([g.seed, date.toordinal(), sum(map(ord, sensor))])
    if offset is None:
        offset = (float(rng.uniform(-0.2, 0.2)), float(rng.uniform(-0.2, 0.2)))
    gx, gy = glacier_location(glacier)
    f0 = front_position(g, date)
    cx = gx + f0 * math.cos(g.angle) + offset[0] * nx * px
    cy = gy + f0 * math.sin(g.angle) + offset[1] * ny * px
    x0 = math.floor((cx - nx * px / 2.0) / px) * px
    y0 = math.floor((cy + ny * px / 2.0) / px) * px
    xs = x0 + (np.arange(nx) + 0.5) * px
    ys = y0 - (np.arange(ny) + 0.5) * px
    u, v = local_frame(g, xs[None, :] - gx, ys[:, None] - gy)
    wall = smooth_field(rng, (ny, nx), px, 800.0)
    zones = zone_truth(g, date, u, v, pixel_size=px, wall_noise=wall)
    sar = render_sar(zones, g, date, spec, u, v, rng)
    cut = _swath_edge(rng, (ny, nx))
    zones[cut] = ZONE_NA
    sar[cut] = np.nan
    return _as_dataset(sar, zones, xs, ys, glacier, date, sensor, px, f0)


def _as_dataset(
    sar: np.ndarray,
    zones: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    glacier: str,
    date: dt.date,
    sensor: str,
    px: float,
    f0: float,
) -> xr.Dataset:
    from pyproj import CRS

    coords = {
        "y": ("y", ys, {"units": "m", "standard_name": "projection_y_coordinate"}),
        "x": ("x", xs, {"units": "m", "standard_name": "projection_x_coordinate"}),
        "spatial_ref": ((), np.int32(0), {"crs_wkt": CRS.from_user_input(_CRS).to_wkt()}),
    }
    common = {"grid_mapping": "spatial_ref"}
    ds = xr.Dataset(
        {
            "sar": (
                ("y", "x"),
                sar,
                {**common, "long_name": "SAR backscatter, 8-bit grey value", "units": "1"},
            ),
            "zones": (
                ("y", "x"),
                zones,
                {
                    **common,
                    "long_name": "glacier zones",
                    "flag_values": np.arange(4, dtype=np.uint8),
                    "flag_meanings": " ".join(ZONE_CLASSES),
                },
            ),
            "front": (
                ("y", "x"),
                truth_front(zones),
                {**common, "long_name": "calving front pixels", "flag_values": [0, 1]},
            ),
        },
        coords=coords,
        attrs={
            "glacier": glacier,
            "date": date.isoformat(),
            "sensor": sensor,
            "pixel_size": float(px),
            "front_position": float(f0),
            "source": "xseaice.synthetic.fjord (simulated, not a real acquisition)",
        },
    )
    return ds
