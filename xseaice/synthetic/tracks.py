"""Simulated altimeter tracks across a synthetic scene: CryoSat-2 SARIn and ICESat-2 ATL10.

A track is a straight ground track at a random heading through the scene (through a
point drawn in its central part), sampled like the instrument:

* **CryoSat-2 SARIn** (``"cryosat2"``): one sample every ~300 m; each sample averages the
  ice in a footprint ~300 m along-track by ~1.6 km across-track (Doppler-limited along,
  pulse-limited across).  A footprint with more than ``lead_fraction`` water near nadir
  returns a specular lead echo (surface ``lead``: sea-surface height only); otherwise a
  floe echo whose radar freeboard is the footprint mean of the ice freeboard.  Noise
  ~0.1 m.
* **ICESat-2 ATL10** (``"icesat2"``): six beams in three pairs ~3.3 km apart, 90 m between
  the beams of a pair, one strong and one weak beam per pair (which one follows the
  spacecraft orientation); short segments (~150 photons: ~20-40 m on strong beams, ~60-120
  m on weak ones) over the pixels they cover; total freeboard with a few cm of noise;
  water segments become ``leads`` (sea-surface height).

The points have the columns of [`xseaice.io.altimetry.read_altimetry`][] (EPSG:4326)
plus ``track``, ``x``/``y`` (scene CRS) and ``footprint_along_m``/``footprint_across_m``
(the footprint `xseaice.altimetry.densify` averages over; 0 for a point sample).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["simulate_tracks"]

Mission = Literal["cryosat2", "icesat2"]
_PAIR_SPACING_M = 3300.0
_BEAM_SEPARATION_M = 90.0


def _grid(elev: xr.Dataset) -> tuple[np.ndarray, np.ndarray, float]:
    x = np.asarray(elev["x"].values, dtype=np.float64)
    y = np.asarray(elev["y"].values, dtype=np.float64)
    return x, y, float(abs(x[1] - x[0]))


def _pass(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """A random ground track: heading (rad) and a point in the central part of the scene."""
    heading = float(rng.uniform(0.0, np.pi))
    cx = float(rng.uniform(*np.quantile(x, [0.3, 0.7])))
    cy = float(rng.uniform(*np.quantile(y, [0.3, 0.7])))
    return heading, cx, cy


def _line(
    track: tuple[float, float, float], x: np.ndarray, y: np.ndarray, offset: float, step: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions along ``track`` inside the scene, ``offset`` m across-track."""
    heading, cx, cy = track
    half = float(np.hypot(np.ptp(x), np.ptp(y)))
    s = -half + np.cumsum(step)
    s = s[s < half]
    ux, uy = np.cos(heading), np.sin(heading)
    px = cx + s * ux - offset * uy
    py = cy + s * uy + offset * ux
    inside = (px >= x.min()) & (px <= x.max()) & (py >= y.min()) & (py <= y.max())
    return px[inside], py[inside]


def _index(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, ...]:
    dx, dy = x[1] - x[0], y[1] - y[0]
    col = np.clip(np.round((px - x[0]) / dx).astype(np.int64), 0, x.size - 1)
    row = np.clip(np.round((py - y[0]) / dy).astype(np.int64), 0, y.size - 1)
    return row, col


def _cryosat2_track(
    rng: np.random.Generator, elev: xr.Dataset, ice: np.ndarray, lead_fraction: float
) -> pd.DataFrame:
    x, y, _ = _grid(elev)
    track = _pass(rng, x, y)
    heading = track[0]
    px, py = _line(track, x, y, 0.0, np.full(4000, 300.0))
    fb = np.asarray(elev["ice_freeboard"].values, dtype=np.float64)
    sea = np.asarray(elev["sea_surface"].values, dtype=np.float64)
    xx, yy = np.meshgrid(x, y)
    ux, uy = np.cos(heading), np.sin(heading)
    rows = []
    for cx, cy in zip(px, py, strict=True):
        near = (np.abs(xx - cx) < 900.0) & (np.abs(yy - cy) < 900.0)
        along = (xx[near] - cx) * ux + (yy[near] - cy) * uy
        across = -(xx[near] - cx) * uy + (yy[near] - cy) * ux
        foot = (np.abs(along) <= 150.0) & (np.abs(across) <= 800.0)
        nadir = foot & (np.abs(across) <= 400.0)
        ice_f, ice_n = ice[near][foot], ice[near][nadir]
        water = 1.0 - ice_n.mean() if ice_n.size else 1.0
        ssh = float(sea[near][foot].mean())
        if water > lead_fraction or not ice_f.any():
            rows.append((cx, cy, np.nan, ssh + rng.normal(0, 0.02), "lead"))
        else:
            f = float(fb[near][foot][ice_f].mean()) + rng.normal(0.0, 0.1)
            rows.append((cx, cy, f, ssh + f, "floe"))
    df = pd.DataFrame(rows, columns=["x", "y", "freeboard", "elevation", "surface"])
    df["footprint_along_m"] = 300.0
    df["footprint_across_m"] = 1600.0
    df["freeboard_sigma"] = np.where(df["surface"] == "floe", 0.1, np.nan)
    df["beam"] = "nadir"
    df["strong_beam"] = True
    return df


def _icesat2_track(rng: np.random.Generator, elev: xr.Dataset, ice: np.ndarray) -> pd.DataFrame:
    x, y, _ = _grid(elev)
    fb = np.asarray(elev["freeboard"].values, dtype=np.float64)
    sea = np.asarray(elev["sea_surface"].values, dtype=np.float64)
    track = _pass(rng, x, y)
    forward = bool(rng.integers(0, 2))
    frames = []
    for pair, centre in zip((1, 2, 3), (-_PAIR_SPACING_M, 0.0, _PAIR_SPACING_M), strict=True):
        for side, sign in (("l", -0.5), ("r", 0.5)):
            strong = (side == "r") == forward
            mean_len, noise = (30.0, 0.02) if strong else (90.0, 0.04)
            steps = rng.gamma(4.0, mean_len / 4.0, 3000)
            px, py = _line(track, x, y, centre + sign * _BEAM_SEPARATION_M, steps)
            row, col = _index(x, y, px, py)
            on_ice = ice[row, col]
            f = np.where(on_ice, fb[row, col] + rng.normal(0.0, noise, px.size), np.nan)
            ssh = sea[row, col] + rng.normal(0.0, noise, px.size)
            frames.append(
                pd.DataFrame(
                    {
                        "x": px,
                        "y": py,
                        "freeboard": f,
                        "elevation": np.where(on_ice, ssh + np.nan_to_num(f), ssh),
                        "surface": np.where(on_ice, "floe", "lead"),
                        "footprint_along_m": 0.0,
                        "footprint_across_m": 0.0,
                        "freeboard_sigma": noise,
                        "beam": f"gt{pair}{side}",
                        "strong_beam": strong,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def simulate_tracks(
    scene_ds: xr.Dataset,
    elevation: xr.Dataset,
    *,
    mission: Mission = "icesat2",
    n_tracks: int = 1,
    seed: int = 0,
    max_dt: str | pd.Timedelta = "0h",
    lead_fraction: float = 0.05,
) -> gpd.GeoDataFrame:
    """Draw altimeter tracks across a scene from its elevation truth.

    Parameters
    ----------
    scene_ds : xarray.Dataset
        The scene (for its CRS and time).
    elevation : xarray.Dataset
        From [`xseaice.synthetic.elevation.make_elevation`][] on the same grid; an
        ``ice`` truth is taken from where ``freeboard > 0`` or the scene truth ``ice``
        if ``elevation`` carries it.
    mission : {"icesat2", "cryosat2"}
        Which instrument to simulate.
    n_tracks : int
        Number of passes, each at a random heading and position.
    seed : int
        Seed of the draw.
    max_dt : str or pandas.Timedelta
        Each pass is at the scene time plus a uniform offset in ``[-max_dt, max_dt]``.
    lead_fraction : float
        CryoSat-2: water fraction near nadir above which the echo is a lead.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``time``, ``freeboard``, ``elevation``, ``surface``,
        ``quality_ok``, ``kind``, ``track``, ``beam``, ``strong_beam``, ``freeboard_sigma``,
        ``footprint_along_m``, ``footprint_across_m`` and the scene-CRS ``x``/``y``.

    Raises
    ------
    InvalidArgumentError
        For an unknown mission or ``n_tracks < 1``.
    """
    import geopandas as gpd

    if mission not in ("icesat2", "cryosat2"):
        raise InvalidArgumentError(f"mission must be 'icesat2' or 'cryosat2'; got {mission!r}")
    if int(n_tracks) < 1:
        raise InvalidArgumentError(f"n_tracks must be >= 1; got {n_tracks!r}")
    import odc.geo.xr  # noqa: F401

    rng = np.random.default_rng([int(seed), 15])
    ice = (
        np.asarray(elevation["ice"].values) == 1
        if "ice" in elevation
        else np.asarray(elevation["freeboard"].values) > 0
    )
    t0 = pd.Timestamp(np.asarray(scene_ds["time"].values).ravel()[0])
    span = pd.Timedelta(max_dt)
    frames = []
    for k in range(int(n_tracks)):
        if mission == "cryosat2":
            df = _cryosat2_track(rng, elevation, ice, lead_fraction)
        else:
            df = _icesat2_track(rng, elevation, ice)
        when = t0 + span * rng.uniform(-1.0, 1.0)
        df["time"] = when + pd.to_timedelta(np.arange(len(df)) * 0.05, unit="s")
        df["track"] = k
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["surface"] = pd.Categorical(df["surface"], categories=["unknown", "ocean", "lead", "floe"])
    df["quality_ok"] = True
    df["kind"] = f"synthetic_{mission}"
    pts = gpd.GeoDataFrame(
        df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=scene_ds.odc.crs
    ).to_crs("EPSG:4326")
    return pts
