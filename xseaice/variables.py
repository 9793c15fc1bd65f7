"""The Dataset contract shared by loading, inference, training and the synthetic world.

A scene is an `xarray.Dataset` with dimensions ``(time, y, x)`` on one GeoBox
(projected CRS, square pixels, ``y`` decreasing), a ``spatial_ref`` coordinate that
``.rio`` and ``.odc`` understand, float32 data and NaN where a sensor has no valid value.

========================  ==========  =====================================================
variable                  units       meaning
========================  ==========  =====================================================
``hh``                    dB          calibrated, thermal-noise-removed sigma0, HH
``hv``                    dB          calibrated, thermal-noise-removed sigma0, HV
``incidence_angle``       degree      local incidence angle of the SAR acquisition
``tb18h`` ... ``tb36v``   K           AMSR-2 brightness temperature, 18.7 / 36.5 GHz, H / V
========================  ==========  =====================================================

Backscatter is stored in decibels; after noise removal a linear sigma0 can be zero or
negative, so values are floored at [`SIGMA0_FLOOR_DB`][xseaice.variables.SIGMA0_FLOOR_DB] before the
conversion.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AMSR2_VARIABLES",
    "ATTRS",
    "SAR_VARIABLES",
    "SCENE_VARIABLES",
    "SIGMA0_FLOOR_DB",
    "sigma0_to_db",
]

SAR_VARIABLES: tuple[str, ...] = ("hh", "hv", "incidence_angle")
AMSR2_VARIABLES: tuple[str, ...] = ("tb18h", "tb18v", "tb36h", "tb36v")
SCENE_VARIABLES: tuple[str, ...] = SAR_VARIABLES + AMSR2_VARIABLES

#: Lowest sigma0 kept, in dB (about the EW noise-equivalent sigma0 minus a margin).
SIGMA0_FLOOR_DB: float = -40.0


def _tb_attrs(freq: str, pol: str) -> dict[str, Any]:
    return {
        "long_name": f"AMSR-2 brightness temperature {freq} GHz {pol}-polarized",
        "standard_name": "brightness_temperature",
        "units": "K",
        "sensor": "AMSR2",
        "frequency_GHz": float(freq),
        "polarization": pol,
    }


#: CF attributes of every scene variable.
ATTRS: dict[str, dict[str, Any]] = {
    "hh": {
        "long_name": "Sentinel-1 sigma0 HH (calibrated, thermal-noise removed)",
        "standard_name": "surface_backwards_scattering_coefficient_of_radar_wave",
        "units": "dB",
        "polarization": "HH",
        "sensor": "Sentinel-1 C-SAR",
    },
    "hv": {
        "long_name": "Sentinel-1 sigma0 HV (calibrated, thermal-noise removed)",
        "standard_name": "surface_backwards_scattering_coefficient_of_radar_wave",
        "units": "dB",
        "polarization": "HV",
        "sensor": "Sentinel-1 C-SAR",
    },
    "incidence_angle": {
        "long_name": "SAR incidence angle",
        "standard_name": "angle_of_incidence",
        "units": "degree",
        "sensor": "Sentinel-1 C-SAR",
    },
    "tb18h": _tb_attrs("18.7", "H"),
    "tb18v": _tb_attrs("18.7", "V"),
    "tb36h": _tb_attrs("36.5", "H"),
    "tb36v": _tb_attrs("36.5", "V"),
}


def sigma0_to_db(linear: Any) -> Any:
    """Convert linear sigma0 to decibels, flooring at
    [`SIGMA0_FLOOR_DB`][xseaice.variables.SIGMA0_FLOOR_DB].

    Parameters
    ----------
    linear : array-like
        Linear sigma0 (numpy, dask or xarray); NaN stays NaN.

    Returns
    -------
    array-like
        ``10 log10(max(linear, 10**(floor/10)))`` of the same type.
    """
    import numpy as np

    floor = 10.0 ** (SIGMA0_FLOOR_DB / 10.0)
    return 10.0 * np.log10(np.maximum(linear, floor))
