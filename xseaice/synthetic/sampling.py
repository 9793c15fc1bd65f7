"""[`sample_params`][xseaice.synthetic.sampling.sample_params]: widely randomised scene physics
(training and robustness).

Every table of the simulator is drawn per scene, so that a model trained on these scenes
cannot learn one calibration: per-type backscatter (HH and HV each within several dB),
incidence slopes, the part of the EW swath the scene sees, the pass direction, wind,
noise floor, ENL, impulse response, a per-scene calibration offset, land and coast, fast
ice, ridges, ice-edge bands, swell, wind streaks, refrozen-lead signatures, tie points and
the weather seen by the radiometer.  Values are clipped to physically plausible ranges of
Sentinel-1 EW sigma0 (about -30..0 dB HH, -35..-10 dB HV).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.params import EW_SWATH_KM, SEASON_DEFAULTS, SceneParams, Season

__all__ = ["sample_params"]

_SEASONS = ("winter", "summer")


def _jitter(
    rng: np.random.Generator, values: tuple[float, ...], scale: float, lo: float, hi: float
) -> tuple[float, ...]:
    return tuple(float(np.clip(v + rng.normal(0.0, scale), lo, hi)) for v in values)


def _surface(rng: np.random.Generator, season: str) -> dict[str, Any]:
    """Coast, fast ice, ridges, ice edge, swell, streaks, refrozen leads."""
    winter = season == "winter"
    has_land = rng.random() < 0.35
    out: dict[str, Any] = {
        "land_fraction": float(rng.uniform(0.03, 0.35)) if has_land else 0.0,
        "land_db": (float(rng.uniform(-14.0, -5.0)), float(rng.uniform(-22.0, -14.0))),
        "fast_ice_km": float(rng.uniform(0.5, 6.0 if winter else 2.0))
        if has_land and rng.random() < 0.7
        else 0.0,
        "ridge_density_per_km": float(rng.uniform(0.0, 1.5)),
        "ridge_contrast_db": float(rng.uniform(2.0, 6.0)),
        "ice_edge_band_km": float(rng.uniform(0.3, 4.0)) if rng.random() < 0.5 else 0.0,
        "pancake_db": (float(rng.uniform(-15.0, -7.0)), float(rng.uniform(-26.0, -19.0))),
        "swell_amplitude_db": float(rng.uniform(0.5, 3.0)) if rng.random() < 0.4 else 0.0,
        "swell_wavelength_m": float(rng.uniform(150.0, 450.0)),
        "swell_direction": float(rng.uniform(0.0, 360.0)),
        "swell_decay_km": float(rng.uniform(1.0, 8.0)),
        "wind_streak_db": float(rng.uniform(0.0, 2.0)),
    }
    if winter:
        # nilas / frost flowers: dark in HV, from dark to moderately bright in HH
        out["refrozen_lead_db"] = (
            float(rng.uniform(-22.0, -9.0)),
            float(rng.uniform(-32.0, -24.0)),
        )
    return out


def sample_params(rng: np.random.Generator, *, season: Season | None = None) -> SceneParams:
    """Draw widely varied scene physics, for training and robustness tests.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (e.g. ``np.random.default_rng(seed)``).
    season : {"winter", "summer"}, optional
        Fix the season; drawn with equal odds when omitted.

    Returns
    -------
    SceneParams
        Wind 0-20 m/s from any direction; the scene a window anywhere in the 400 km EW
        swath (either pass direction); NESZ -28 to -22 dB; ENL 6-14; a 75-105 m impulse
        response and correlated speckle; calibration offsets of about +-1.5 dB; per-type
        backscatter within about +-3 dB (sd 1.5 dB) and slopes +-0.05 dB/deg of the
        seasonal means; land in about a third of the scenes (with fast ice), ridges,
        ice-edge bands, swell, wind streaks; tie points within about 5 K and atmospheric
        water up to 25 K; wide ranges of concentration, floe sizes and lead densities.

    Raises
    ------
    InvalidArgumentError
        If ``season`` is not ``"winter"``, ``"summer"`` or None.
    """
    if season is None:
        season = "winter" if rng.random() < 0.5 else "summer"
    if season not in _SEASONS:
        raise InvalidArgumentError(f"season must be one of {_SEASONS} or None; got {season!r}")
    d = SEASON_DEFAULTS[season]
    fr = np.asarray(d["type_fractions"]) * rng.uniform(0.3, 1.7, 4)
    if fr.sum() <= 0:
        fr = np.asarray(d["type_fractions"])
    cmean = float(np.clip(d["ice_concentration_mean"] + rng.normal(0.0, 0.15), 0.15, 0.99))
    inc = (19.0, 47.0) if rng.random() < 0.5 else (47.0, 19.0)
    cal = float(np.clip(rng.normal(0.0, 0.8), -2.0, 2.0))
    return SceneParams(
        season=season,
        ice_concentration_mean=cmean,
        ice_concentration_kappa=float(d["ice_concentration_kappa"] * rng.uniform(0.5, 2.5)),
        concentration_scale_km=float(rng.uniform(5.0, 30.0)),
        floe_size_exponent=float(d["floe_size_exponent"] + rng.uniform(-0.4, 0.4)),
        floe_size_max_m=float(d["floe_size_max_m"] * rng.uniform(0.4, 2.5)),
        floe_roughness=float(rng.uniform(0.1, 0.8)),
        lead_spacing_km=float(rng.uniform(1.5, 15.0)),
        lead_width_px=(1.0, float(rng.uniform(4.0, 14.0))),
        lead_branching_per_km=float(rng.uniform(0.05, 0.6)),
        lead_refrozen_fraction=float(
            np.clip(d["lead_refrozen_fraction"] + rng.normal(0, 0.2), 0, 0.9)
        ),
        type_fractions=tuple(float(v) for v in fr),
        pond_fraction=float(np.clip(d["pond_fraction"] + rng.normal(0, 0.15), 0, 0.6))
        if season == "summer"
        else 0.0,
        wind_speed=float(rng.uniform(0.0, 20.0)),
        wind_direction=float(rng.uniform(0.0, 360.0)),
        wind_variability=float(rng.uniform(0.3, 3.5)),
        wind_scale_km=float(rng.uniform(8.0, 60.0)),
        fetch_length_m=float(rng.uniform(60.0, 400.0)),
        incidence_range=inc,
        swath_offset_km=float(rng.uniform(0.0, EW_SWATH_KM)),
        enl=float(rng.uniform(6.0, 14.0)),
        impulse_response_m=float(rng.uniform(75.0, 105.0)),
        speckle_correlation_px=float(rng.uniform(0.4, 1.0)),
        calibration_offset_db=(cal, float(np.clip(cal + rng.normal(0.0, 0.5), -2.5, 2.5))),
        hv_noise_floor_db=float(rng.uniform(-28.0, -22.0)),
        noise_edge_rise_db=float(rng.uniform(1.0, 5.0)),
        noise_subswath_offsets_db=tuple(float(v) for v in rng.normal(0.0, 0.8, 5)),
        noise_scaling_error=float(rng.uniform(0.0, 0.15)),
        scalloping_db=float(rng.uniform(0.0, 3.0)),
        burst_length_km=float(rng.uniform(15.0, 25.0)),
        hh_db=_jitter(rng, d["hh_db"], 1.5, -28.0, -5.0),
        hv_db=_jitter(rng, d["hv_db"], 1.5, -34.0, -14.0),
        hh_slope=_jitter(rng, d["hh_slope"], 0.04, -0.4, 0.0),
        hv_slope=_jitter(rng, d["hv_slope"], 0.04, -0.3, 0.0),
        floe_contrast_db=float(rng.uniform(0.2, 2.5)),
        ice_texture_db=float(rng.uniform(0.3, 2.0)),
        **_surface(rng, season),
        tb_water=_jitter(rng, d["tb_water"], 5.0, 80.0, 230.0),
        tb_first_year=_jitter(rng, d["tb_first_year"], 4.0, 180.0, 270.0),
        tb_old=_jitter(rng, d["tb_old"], 6.0, 150.0, 265.0),
        new_ice_tb_weight=float(rng.uniform(0.3, 0.8)),
        pond_tb_weight=float(rng.uniform(0.5, 1.0)),
        weather_k=float(rng.uniform(0.0, 25.0)),
        amsr_footprint_km=float(rng.uniform(14.0, 25.0)),
        amsr_footprint_36_km=float(rng.uniform(7.0, 12.0)),
        amsr_noise_k=float(rng.uniform(0.3, 1.5)),
        chart_cell_km=float(rng.uniform(10.0, 40.0)),
    )
