"""Physical parameters of the synthetic world: [`SceneParams`][xseaice.synthetic.params.SceneParams]
and `sample_params`.

Every knob of the simulator lives in one frozen dataclass with SI-like units.  Fields whose
typical value depends on the season default to a sentinel (NaN or an empty tuple) and are
filled in ``__post_init__`` from [`SEASON_DEFAULTS`][xseaice.synthetic.params.SEASON_DEFAULTS], so
``SceneParams(season="summer")`` gives a typical summer scene and ``SceneParams(season="summer",
wind_speed=15)`` overrides one value.  Sources of the numbers are given per field;
``docs/synthetic.md`` discusses them.

Ice types are indexed ``(new, young, first-year, old)`` everywhere (truth codes 1-4);
brightness-temperature tuples are ordered ``(18.7H, 18.7V, 36.5H, 36.5V)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from xseaice.exceptions import InvalidArgumentError

__all__ = ["EW_SWATH_KM", "ICE_TYPES", "SEASON_DEFAULTS", "TB_CHANNELS", "SceneParams"]

Season = Literal["winter", "summer"]
_SEASONS = ("winter", "summer")

#: Names of the ice types, truth codes 1..4 (0 is open water).
ICE_TYPES: tuple[str, ...] = ("new", "young", "first-year", "old")
#: Ground-range width of the Sentinel-1 EW swath (km), incidence 19-47 deg across it.
EW_SWATH_KM = 400.0
#: Order of the brightness-temperature tie-point tuples.
TB_CHANNELS: tuple[str, ...] = ("tb18h", "tb18v", "tb36h", "tb36v")

_NAN = float("nan")

#: Season-dependent defaults (fields left at NaN / () are filled from here).
SEASON_DEFAULTS: dict[str, dict[str, Any]] = {
    "winter": {
        "ice_concentration_mean": 0.92,
        "ice_concentration_kappa": 5.0,
        "floe_size_exponent": 1.5,
        "floe_size_max_m": 6000.0,
        "floe_roughness": 0.3,
        "lead_refrozen_fraction": 0.3,
        "type_fractions": (0.04, 0.12, 0.59, 0.25),
        "pond_fraction": 0.0,
        # C-band HH / HV sigma0 at 30 deg (dB) per type (new, young, first-year, old);
        # rounded from Onstott 1992, Zakhvatkina et al. 2013, Lohse et al. 2020
        "hh_db": (-22.0, -15.0, -18.0, -11.0),
        "hv_db": (-31.0, -26.0, -27.5, -20.0),
        # incidence slopes (dB/deg): Makynen & Karvonen 2017, Lohse et al. 2020 (rounded)
        "hh_slope": (-0.25, -0.22, -0.21, -0.12),
        "hv_slope": (-0.15, -0.13, -0.13, -0.08),
        "ice_texture_db": 1.0,
        # tie points (K), (18H, 18V, 36H, 36V): rounded winter Arctic NASA-Team-like values
        # (Markus & Cavalieri 2009 ATBD; the compilation of Ivanova et al. 2015)
        "tb_water": (108.0, 185.0, 145.0, 210.0),
        "tb_first_year": (237.0, 253.0, 235.0, 247.0),
        "tb_old": (203.0, 223.0, 180.0, 190.0),
    },
    "summer": {
        "ice_concentration_mean": 0.6,
        "ice_concentration_kappa": 2.0,
        "floe_size_exponent": 1.9,
        "floe_size_max_m": 2000.0,
        "floe_roughness": 0.5,
        "lead_refrozen_fraction": 0.0,
        "type_fractions": (0.0, 0.03, 0.77, 0.20),
        "pond_fraction": 0.3,
        # wet snow absorbs: volume scattering of old ice is lost and the type contrast
        # shrinks (Onstott 1992)
        "hh_db": (-21.0, -17.0, -16.5, -14.5),
        "hv_db": (-31.0, -28.5, -28.0, -25.5),
        "hh_slope": (-0.25, -0.22, -0.20, -0.16),
        "hv_slope": (-0.15, -0.13, -0.12, -0.10),
        "ice_texture_db": 0.6,
        # wet snow: emissivity near 1 and little polarisation difference
        "tb_water": (112.0, 188.0, 150.0, 213.0),
        "tb_first_year": (245.0, 256.0, 242.0, 252.0),
        "tb_old": (238.0, 250.0, 232.0, 244.0),
    },
}


def _tuple(v: Any, n: int, name: str) -> tuple[float, ...]:
    t = tuple(float(x) for x in v)
    if len(t) != n:
        raise InvalidArgumentError(f"SceneParams.{name} must have {n} values; got {len(t)}: {t!r}")
    return t


@dataclass(frozen=True)
class SceneParams:
    """Every physical knob of one synthetic scene (defaults: a typical scene of ``season``).

    Attributes
    ----------
    season : {"winter", "summer"}
        Winter: compact ice, big floes, refrozen leads, dry snow (strong type contrast).
        Summer: fragmented ice, melt ponds, wet snow (weak contrast, TB near ice).
    ice_concentration_mean : float
        Mean of the regional (km-scale) ice concentration, 0-1.  Seasonal default.
    ice_concentration_kappa : float
        Concentration parameter of the Beta distribution of the regional concentration
        (small = more open-water areas and more contrast).  Seasonal default.
    concentration_scale_km : float
        Correlation length of the regional concentration field (km).
    floe_size_exponent : float
        Exponent ``alpha`` of the cumulative floe-number distribution ``N(>d) ~ d**-alpha``
        (Rothrock & Thorndike 1984; Stern et al. 2018 compile 1.5-2.5).  Seasonal default.
    floe_size_min_m, floe_size_max_m : float
        Smallest and largest floe diameters (m).  ``floe_size_max_m`` is seasonal.
    floe_roughness : float
        Irregularity of floe edges (relative to the shrinkage that opens the pack).
    lead_spacing_km : float
        Mean spacing of leads (km); Lindsay & Rothrock 1995 and Wernecke & Kaleschke 2015
        find lead spacings of a few km to tens of km.
    lead_width_px : (float, float)
        Range of lead widths in pixels (log-uniform); 1-10 px = 40-400 m at 40 m.
    lead_branching_per_km : float
        Rate of branch leads per km of lead.
    lead_refrozen_fraction : float
        Share of leads covered by new ice (nilas).  Seasonal default.
    type_fractions : (float, float, float, float)
        Relative shares of (new, young, first-year, old) ice among floes.  Seasonal.
    type_regional_contrast : float
        How strongly the old / first-year mix varies regionally (0 = uniform).
    pond_fraction : float
        Mean melt-pond fraction of the ice surface (summer ~0.2-0.5, Polashenski 2012).
    wind_speed : float
        Mean 10 m wind speed (m/s).
    wind_direction : float
        Direction the wind blows from (deg clockwise from map north, +y).
    wind_variability : float
        Standard deviation of the wind speed over the scene (m/s).
    wind_scale_km : float
        Correlation length of the wind field (km).
    fetch_length_m : float
        e-folding fetch (m) over which short (Bragg) waves develop downwind of ice: narrow
        leads stay smooth and dark.
    pond_wind_factor : float
        Wind on melt ponds relative to the open sea (sheltered, short fetch).
    water_vv30_db : float
        Open-water VV sigma0 at 30 deg, 10 m/s, crosswind (dB); CMOD5 (Hersbach et al. 2007)
        gives about -12 dB.
    water_vv_slope : float
        Incidence slope of open-water VV sigma0 at 10 m/s (dB/deg).
    water_wind_exponent : (float, float)
        Wind exponent ``gamma(theta) = a + b (theta - 30)`` of ``sigma0 ~ U**gamma``.
    water_updown : (float, float)
        ``b1, b2`` of the directional term ``1 + b1 cos(phi) + b2 cos(2 phi)``.
    polarization_ratio_alpha : float
        ``alpha`` of the Thompson et al. (1998) VV/HH polarisation ratio over water.
    water_hv_coeffs : (float, float)
        Cross-pol over water, ``sigma0_HV[dB] = a U + b`` (Vachon & Wolfe 2011: 0.59, -35.6).
    incidence_range : (float, float)
        Incidence angle (deg) at the left and right edge of the scene (EW swath 19-47).
        Increasing left-to-right is an ascending pass, decreasing a descending pass.
    enl : float
        Equivalent number of looks of the Gamma speckle (EW GRDM ~10-12).
    hv_noise_floor_db : float
        Noise-equivalent sigma0 (NESZ) at sub-swath centres (dB), EW about -25 dB.
    noise_edge_rise_db : float
        Rise of the noise floor from a sub-swath centre to its edges (dB).
    noise_subswath_offsets_db : tuple of float
        Per-sub-swath NESZ offsets (dB), cycled if shorter than ``n_subswaths``.
    noise_scaling_error : float
        Standard deviation of the per-sub-swath error of the annotated noise (fraction):
        the true noise differs from the one removed, leaving the residual banding of real
        EW HV products.
    scalloping_db : float
        Peak-to-peak azimuth scalloping of the noise (dB), TOPS antenna steering.
    burst_length_km : float
        Azimuth period of the scalloping (km).
    n_subswaths : int
        Number of sub-swaths across the scene (EW: 5).
    hh_db, hv_db : (float, float, float, float)
        sigma0 at 30 deg (dB) of (new, young, first-year, old) ice.  Seasonal.
    hh_slope, hv_slope : (float, float, float, float)
        Incidence slopes (dB/deg) per ice type.  Seasonal.
    floe_contrast_db : float
        Standard deviation of a per-floe sigma0 offset (deformation, snow), dB.
    ice_texture_db : float
        Standard deviation of a spatially correlated (~300 m) texture on ice (ridges), dB.
    tb_water, tb_first_year, tb_old : (float, float, float, float)
        Brightness-temperature tie points (K) for (18.7H, 18.7V, 36.5H, 36.5V).  Seasonal.
    new_ice_tb_weight : float
        Emission of new ice as a fraction of the way from water to first-year ice.
    pond_tb_weight : float
        Share of melt ponds seen as open water by the radiometer (summer underestimate).
    amsr_footprint_km : float
        FWHM of the 18.7 GHz footprint (km); AMSR-2 IFOV 22 x 14 km.
    amsr_footprint_36_km : float
        FWHM of the 36.5 GHz footprint (km); AMSR-2 IFOV 12 x 7 km.
    amsr_noise_k : float
        Radiometric noise per 12.5 km grid cell (K); AMSR-2 NEDT ~0.6-0.7 K.
    chart_cell_km : float
        Typical ice-chart polygon size (km).
    chart_min_polygons : int
        At least this many chart polygons per scene (small scenes still get regions).

    The fields below default to *off* (the simple world of the first release, kept
    byte-identical); [`sample_params`][xseaice.synthetic.sampling.sample_params] turns them on,
    widely drawn.

    impulse_response_m : float
        FWHM (m) of the SAR impulse response applied to sigma0 *before* speckle (EW GRDM
        about 90 m, i.e. ~2.2 pixels of 40 m).  0 = none.
    speckle_correlation_px : float
        Gaussian correlation radius (px) of the speckle; 0 = independent pixels.  The raw
        looks are drawn so the filtered speckle keeps ``enl``.
    speckle_model : {"gamma", "complex"}
        ``"gamma"``: Gamma(ENL) intensity speckle (smoothed when correlated);
        ``"complex"``: the mean of ``round(enl)`` looks of circular complex Gaussian noise
        filtered by the impulse response (generator B).
    texture_model : {"floe", "fractal"}
        Ice backscatter: per-type mean + per-floe offset + ~300 m texture (``"floe"``), or
        per-type mean + a log-normal fractal (power-law spectrum) roughness (``"fractal"``,
        generator B).
    calibration_offset_db : (float, float)
        Absolute calibration error of (HH, HV) in dB, applied to the true sigma0.
    swath_offset_km : float
        Position (km) of the scene's near-range edge inside the 400 km EW swath; when set,
        the incidence span follows from the scene width (``incidence_range`` then only gives
        the pass direction by its order).  NaN = use ``incidence_range`` as is.
    land_fraction : float
        Share of the scene covered by land (a fractal coast entering from one side).
    land_db : (float, float)
        Mean HH, HV sigma0 (dB) of snow-covered land (terrain texture of 3 dB added).
    fast_ice_km : float
        Mean width (km) of landfast ice along the coast (no leads, one sheet).
    ridge_density_per_km : float
        Ridge sails per km (random 1-6 km long lines, bright in SAR only).
    ridge_contrast_db : float
        Ridge brightening (dB) in both channels.
    ice_edge_band_km : float
        Width (km) of the band of pancake (winter) or brash (summer) ice at the ice edge.
    pancake_db : (float, float)
        HH, HV sigma0 (dB) at 30 deg of pancake / brash ice (rough rims: bright in HH).
    refrozen_lead_db : (float, float)
        HH, HV sigma0 (dB) at 30 deg of refrozen leads (nilas, frost flowers: dark in HV,
        moderately bright in HH); NaN = the new-ice values of ``hh_db``/``hv_db``.
    swell_amplitude_db, swell_wavelength_m, swell_direction, swell_decay_km : float
        Ocean swell modulating water and wave-affected marginal ice: amplitude (dB),
        wavelength (m), direction of travel (deg from +x), e-folding distance into the ice
        (km).  Amplitude 0 = none.
    wind_streak_db : float
        Amplitude (dB) of wind streaks (boundary-layer rolls) on open water, elongated along
        the wind, about 1-2 km apart.
    weather_k : float
        Atmospheric water: mean increase (K) of the 36.5 GHz H brightness temperature over
        open water (clouds, vapour); other channels scaled; varies over ~100 km.
    """

    season: Season = "winter"
    # ice cover
    ice_concentration_mean: float = _NAN
    ice_concentration_kappa: float = _NAN
    concentration_scale_km: float = 12.0
    floe_size_exponent: float = _NAN
    floe_size_min_m: float = 200.0
    floe_size_max_m: float = _NAN
    floe_roughness: float = _NAN
    lead_spacing_km: float = 5.0
    lead_width_px: tuple[float, float] = (1.0, 10.0)
    lead_branching_per_km: float = 0.25
    lead_refrozen_fraction: float = _NAN
    type_fractions: tuple[float, ...] = ()
    type_regional_contrast: float = 1.0
    pond_fraction: float = _NAN
    # wind and open water
    wind_speed: float = 8.0
    wind_direction: float = 45.0
    wind_variability: float = 1.5
    wind_scale_km: float = 25.0
    fetch_length_m: float = 150.0
    pond_wind_factor: float = 0.5
    water_vv30_db: float = -12.0
    water_vv_slope: float = -0.45
    water_wind_exponent: tuple[float, float] = (1.45, 0.025)
    water_updown: tuple[float, float] = (0.1, 0.3)
    polarization_ratio_alpha: float = 0.6
    water_hv_coeffs: tuple[float, float] = (0.59, -35.6)
    # SAR acquisition
    incidence_range: tuple[float, float] = (19.0, 47.0)
    enl: float = 10.0
    hv_noise_floor_db: float = -25.0
    noise_edge_rise_db: float = 3.0
    noise_subswath_offsets_db: tuple[float, ...] = (1.0, -0.5, 0.0, -0.5, 0.5)
    noise_scaling_error: float = 0.05
    scalloping_db: float = 1.0
    burst_length_km: float = 20.0
    n_subswaths: int = 5
    # ice backscatter
    hh_db: tuple[float, ...] = ()
    hv_db: tuple[float, ...] = ()
    hh_slope: tuple[float, ...] = ()
    hv_slope: tuple[float, ...] = ()
    floe_contrast_db: float = 1.0
    ice_texture_db: float = _NAN
    # passive microwave
    tb_water: tuple[float, ...] = ()
    tb_first_year: tuple[float, ...] = ()
    tb_old: tuple[float, ...] = ()
    new_ice_tb_weight: float = 0.5
    pond_tb_weight: float = 0.8
    amsr_footprint_km: float = 18.0
    amsr_footprint_36_km: float = 10.0
    amsr_noise_k: float = 0.7
    # ice chart
    chart_cell_km: float = 25.0
    chart_min_polygons: int = 4
    # broad world (off by default; sample_params draws them)
    impulse_response_m: float = 0.0
    speckle_correlation_px: float = 0.0
    speckle_model: str = "gamma"
    texture_model: str = "floe"
    calibration_offset_db: tuple[float, float] = (0.0, 0.0)
    swath_offset_km: float = _NAN
    land_fraction: float = 0.0
    land_db: tuple[float, float] = (-10.0, -18.0)
    fast_ice_km: float = 0.0
    ridge_density_per_km: float = 0.0
    ridge_contrast_db: float = 4.0
    ice_edge_band_km: float = 0.0
    pancake_db: tuple[float, float] = (-11.0, -23.0)
    refrozen_lead_db: tuple[float, float] = (_NAN, _NAN)
    swell_amplitude_db: float = 0.0
    swell_wavelength_m: float = 250.0
    swell_direction: float = 0.0
    swell_decay_km: float = 3.0
    wind_streak_db: float = 0.0
    weather_k: float = 0.0

    def __post_init__(self) -> None:
        if self.season not in _SEASONS:
            raise InvalidArgumentError(
                f"SceneParams.season must be one of {_SEASONS}; got {self.season!r}"
            )
        for name, value in SEASON_DEFAULTS[self.season].items():
            cur = getattr(self, name)
            if (isinstance(cur, float) and math.isnan(cur)) or (isinstance(cur, tuple) and not cur):
                object.__setattr__(self, name, value)
        for name in ("type_fractions", "hh_db", "hv_db", "hh_slope", "hv_slope"):
            object.__setattr__(self, name, _tuple(getattr(self, name), 4, name))
        for name in ("tb_water", "tb_first_year", "tb_old"):
            object.__setattr__(self, name, _tuple(getattr(self, name), 4, name))
        for name in (
            "lead_width_px",
            "incidence_range",
            "water_wind_exponent",
            "water_updown",
            "water_hv_coeffs",
            "calibration_offset_db",
            "land_db",
            "pancake_db",
            "refrozen_lead_db",
        ):
            object.__setattr__(self, name, _tuple(getattr(self, name), 2, name))
        object.__setattr__(
            self,
            "noise_subswath_offsets_db",
            tuple(float(v) for v in self.noise_subswath_offsets_db),
        )
        self._validate()

    def _validate(self) -> None:
        def bad(name: str, expected: str) -> InvalidArgumentError:
            return InvalidArgumentError(
                f"SceneParams.{name} must be {expected}; got {getattr(self, name)!r}"
            )

        if not 0.0 <= self.ice_concentration_mean <= 1.0:
            raise bad("ice_concentration_mean", "within [0, 1]")
        for name in (
            "ice_concentration_kappa",
            "concentration_scale_km",
            "floe_size_exponent",
            "floe_size_min_m",
            "lead_spacing_km",
            "wind_scale_km",
            "fetch_length_m",
            "enl",
            "burst_length_km",
            "amsr_footprint_km",
            "amsr_footprint_36_km",
            "chart_cell_km",
        ):
            if not getattr(self, name) > 0:
                raise bad(name, "> 0")
        if not self.floe_size_max_m >= self.floe_size_min_m:
            raise bad("floe_size_max_m", f">= floe_size_min_m ({self.floe_size_min_m})")
        lo, hi = self.lead_width_px
        if not 0 < lo <= hi:
            raise bad("lead_width_px", "(min, max) with 0 < min <= max")
        fr = np.asarray(self.type_fractions)
        if (fr < 0).any() or fr.sum() <= 0:
            raise bad("type_fractions", "four non-negative shares with a positive sum")
        for name in ("lead_refrozen_fraction", "pond_fraction", "pond_tb_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise bad(name, "within [0, 1]")
        if self.wind_speed < 0 or self.wind_variability < 0:
            raise bad("wind_speed", "non-negative (m/s), with wind_variability >= 0")
        a, b = self.incidence_range
        if not (0 < a < 90 and 0 < b < 90 and a != b):
            raise bad("incidence_range", "two different angles in (0, 90) degrees")
        if self.n_subswaths < 1 or not self.noise_subswath_offsets_db:
            raise bad("n_subswaths", ">= 1 (with a non-empty noise_subswath_offsets_db)")
        if self.chart_min_polygons < 1:
            raise bad("chart_min_polygons", ">= 1")
        if self.speckle_model not in ("gamma", "complex"):
            raise bad("speckle_model", "'gamma' or 'complex'")
        if self.texture_model not in ("floe", "fractal"):
            raise bad("texture_model", "'floe' or 'fractal'")
        if not 0.0 <= self.land_fraction < 1.0:
            raise bad("land_fraction", "within [0, 1)")
        for name in (
            "impulse_response_m",
            "speckle_correlation_px",
            "fast_ice_km",
            "ridge_density_per_km",
            "ice_edge_band_km",
            "swell_amplitude_db",
            "wind_streak_db",
            "weather_k",
        ):
            if not getattr(self, name) >= 0:
                raise bad(name, ">= 0")
        if not (self.swell_wavelength_m > 0 and self.swell_decay_km > 0):
            raise bad("swell_wavelength_m", "> 0 (with swell_decay_km > 0)")

    @property
    def ascending(self) -> bool:
        """True when the incidence increases left-to-right (an ascending, right-looking pass)."""
        return self.incidence_range[1] > self.incidence_range[0]

    def replace(self, **changes: Any) -> SceneParams:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)
