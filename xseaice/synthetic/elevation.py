"""Sea-ice elevation truth for a synthetic scene: thickness, snow, freeboard, sea surface.

The field is built on the scene's own truth so that what the SAR sees and what an
altimeter measures come from the same ice:

* thickness per ice type (new, young, first-year, old), scaled per pixel by the
  *deformation* the SAR simulator put into the scene (the per-floe backscatter offset
  and the ~300 m ridge texture, recovered from the scene's seed), by a per-floe factor
  the SAR does not see, and by a smooth regional factor; ridges (the rough tail of the
  texture) add keel-and-sail thickness;
* snow depth per ice type with a smooth modulation, deeper on ridged ice;
* hydrostatic equilibrium (Archimedes) gives the ice freeboard
  ``f_i = (h (rho_w - rho_i) - h_s rho_s) / rho_w`` (clipped at 0: flooding) and the
  total (laser) freeboard ``f_i + h_s``;
* open water and leads are at local sea level: freeboard 0, surface height = a smooth
  sea-surface anomaly (tens of km correlation, a few cm to a decimetre).

Densities and type means follow the usual literature values (Warren et al. 1999 snow,
Alexandrov et al. 2010 ice densities: first-year 917, multi-year 882 kg/m3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.sensors import simulate_sar
from xseaice.synthetic.world import make_truth, smooth_field
from xseaice.variables import sigma0_to_db

if TYPE_CHECKING:
    from xseaice.synthetic.scene import SyntheticScene

__all__ = ["ElevationParams", "make_elevation", "scene_deformation"]

RHO_WATER = 1024.0
RHO_SNOW = 300.0


@dataclass(frozen=True)
class ElevationParams:
    """Physics of the elevation field (winter Arctic defaults).

    Attributes
    ----------
    thickness_m : (float, float, float, float)
        Mean level-ice thickness of (new, young, first-year, old) ice, m.
    snow_m : (float, float, float, float)
        Mean snow depth per type, m.
    ice_density : (float, float, float, float)
        Ice density per type, kg/m3.
    sar_coupling : float
        Log-thickness change per standard deviation of the SAR-visible deformation.
    floe_sigma : float
        Standard deviation of a per-floe log-thickness factor the SAR does not see.
    regional_sigma : float
        Standard deviation of a smooth (``regional_km``) log-thickness factor.
    regional_km : float
        Correlation length of the regional factor, km.
    ridge_threshold : float
        Deformation (in standard deviations) above which ice is ridged.
    ridge_gain_m : float
        Extra thickness per standard deviation of deformation above the threshold, m.
    sea_surface_m : float
        Standard deviation of the sea-surface anomaly, m.
    sea_surface_km : float
        Correlation length of the sea-surface anomaly, km.
    """

    thickness_m: tuple[float, float, float, float] = (0.05, 0.25, 1.4, 2.8)
    snow_m: tuple[float, float, float, float] = (0.0, 0.04, 0.18, 0.32)
    ice_density: tuple[float, float, float, float] = (917.0, 917.0, 917.0, 882.0)
    sar_coupling: float = 0.25
    floe_sigma: float = 0.15
    regional_sigma: float = 0.12
    regional_km: float = 8.0
    ridge_threshold: float = 1.0
    ridge_gain_m: float = 1.2
    sea_surface_m: float = 0.08
    sea_surface_km: float = 30.0

    @classmethod
    def varied(cls, seed: int) -> ElevationParams:
        """A draw of the physics around the defaults: another region, season or year.

        Level thickness scaled by a common log-normal factor (sigma 0.2) and one per type
        (sigma 0.1), snow by a log-normal factor (sigma 0.3), the SAR coupling in
        0.15-0.35, the per-floe spread in 0.10-0.20, the ridge gain by 0.7-1.3.  A
        learned prior ([`DensifyPrior`][xseaice.altimetry.prior.DensifyPrior]) trained
        on such draws cannot know a new scene's physics; densify's points must
        calibrate it.
        """
        rng = np.random.default_rng([int(seed), 31])
        base = cls()
        thick = np.asarray(base.thickness_m) * np.exp(
            rng.normal(0.0, 0.2) + rng.normal(0.0, 0.1, 4)
        )
        snow = np.asarray(base.snow_m) * np.exp(rng.normal(0.0, 0.3))
        return cls(
            thickness_m=(float(thick[0]), float(thick[1]), float(thick[2]), float(thick[3])),
            snow_m=(float(snow[0]), float(snow[1]), float(snow[2]), float(snow[3])),
            sar_coupling=float(rng.uniform(0.15, 0.35)),
            floe_sigma=float(rng.uniform(0.10, 0.20)),
            ridge_gain_m=float(base.ridge_gain_m * rng.uniform(0.7, 1.3)),
        )


def scene_deformation(scene: SyntheticScene) -> np.ndarray:
    """The SAR-visible deformation (dB) the simulator put into ``scene``'s ice.

    Re-runs the scene's truth and SAR draws from its seed (as
    [`make_scene`][xseaice.synthetic.scene.make_scene] does) and returns ``10 log10(sigma0_true) -
    type mean`` of HH on ice: the per-floe offset plus the ridge texture, exactly; 0 on water.

    Raises
    ------
    InvalidArgumentError
        If the recomputed truth differs from ``scene.truth`` (the scene was not made by
        [`xseaice.synthetic.make_scene`][xseaice.synthetic.scene.make_scene] with its recorded seed
        and params).
    """
    ss = np.random.SeedSequence(int(scene.seed))
    _, r_truth, r_sar, _, _ = (np.random.default_rng(s) for s in ss.spawn(5))
    ice = np.asarray(scene.truth["ice"].values)
    shape = (int(ice.shape[0]), int(ice.shape[1]))
    x = np.asarray(scene.truth["x"].values)
    pixel = float(abs(x[1] - x[0]))
    p = scene.params
    truth = make_truth(r_truth, shape, pixel, p)
    if not np.array_equal(truth.ice, ice):
        raise InvalidArgumentError(
            "scene: its truth could not be recomputed from scene.seed and scene.params; "
            "pass a scene made by xseaice.synthetic.make_scene (unmodified)"
        )
    th0, th1 = p.incidence_range
    incidence = th0 + (th1 - th0) * (np.arange(shape[1]) + 0.5) / shape[1]
    _, _, _, extras = simulate_sar(r_sar, truth, incidence, pixel, p)
    t = np.clip(truth.ice_type.astype(np.int64) - 1, 0, 3)
    th = np.broadcast_to(incidence[None, :], shape)
    base = np.asarray(p.hh_db)[t] + np.asarray(p.hh_slope)[t] * (th - 30.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = sigma0_to_db(np.maximum(extras["hh_true"], 1e-12)) - base
    return np.where(truth.ice == 1, dev, 0.0).astype(np.float32)


def _attrs(long_name: str, units: str = "m", **extra: str) -> dict[str, str]:
    return {"long_name": long_name, "units": units, "grid_mapping": "spatial_ref", **extra}


def make_elevation(
    scene: SyntheticScene,
    *,
    params: ElevationParams | None = None,
    seed: int | None = None,
) -> xr.Dataset:
    """Simulate thickness, snow, freeboard and surface height on a scene's grid.

    Parameters
    ----------
    scene : SyntheticScene
        From [`xseaice.synthetic.make_scene`][xseaice.synthetic.scene.make_scene]; its truth (ice,
        type, floes, leads) and its SAR deformation drive the field.
    params : ElevationParams, optional
        The physics (winter Arctic defaults).
    seed : int, optional
        Seed of the elevation-only randomness (per-floe factor, regional factor, snow,
        sea surface); default derived from ``scene.seed``.

    Returns
    -------
    xarray.Dataset
        ``(y, x)`` float32: ``freeboard`` (total snow + ice freeboard, what a laser
        measures), ``ice_freeboard`` (ice surface above sea level, what a radar measures
        with full snow penetration), ``ice_thickness``, ``snow_depth``, ``sea_surface``
        (anomaly above the mean sea surface), ``surface_height`` (``sea_surface +
        freeboard``) and ``deformation`` (the SAR-visible part, dB); same coordinates
        as the scene.

    Examples
    --------
    >>> from xseaice.synthetic import make_scene
    >>> sc = make_scene(0, shape=(64, 64))
    >>> elev = make_elevation(sc)
    >>> float(elev.freeboard.where(sc.truth.ice == 0).max())
    0.0
    """
    p = params or ElevationParams()
    truth = scene.truth
    ice = np.asarray(truth["ice"].values) == 1
    itype = np.clip(np.asarray(truth["ice_type"].values).astype(np.int64) - 1, 0, 3)
    floe = np.asarray(truth["floe"].values)
    shape = ice.shape
    x = np.asarray(truth["x"].values)
    pixel = float(abs(x[1] - x[0]))
    rng = np.random.default_rng([int(scene.seed if seed is None else seed), 14])

    deform = scene_deformation(scene).astype(np.float64)
    sd = float(deform[ice].std()) if ice.any() else 1.0
    dnorm = deform / max(sd, 1e-6)
    floe_f = rng.normal(0.0, p.floe_sigma, int(floe.max()) + 1)
    regional = p.regional_sigma * smooth_field(rng, shape, pixel, p.regional_km * 1000.0)
    level = np.asarray(p.thickness_m)[itype]
    thick = level * np.exp(p.sar_coupling * dnorm + floe_f[floe] + regional)
    ridged = np.maximum(dnorm - p.ridge_threshold, 0.0)
    thick = thick + p.ridge_gain_m * ridged * (itype >= 2)
    snow_mod = 1.0 + 0.3 * smooth_field(rng, shape, pixel, 2000.0) + 0.3 * ridged
    snow = np.maximum(np.asarray(p.snow_m)[itype] * snow_mod, 0.0)
    rho_i = np.asarray(p.ice_density)[itype]
    f_ice = np.maximum((thick * (RHO_WATER - rho_i) - snow * RHO_SNOW) / RHO_WATER, 0.0)
    sea = p.sea_surface_m * smooth_field(rng, shape, pixel, p.sea_surface_km * 1000.0)

    thick, snow, f_ice = (np.where(ice, a, 0.0) for a in (thick, snow, f_ice))
    total = f_ice + snow
    fields = {
        "freeboard": (
            total,
            _attrs("total (snow + ice) freeboard", standard_name="sea_ice_freeboard"),
        ),
        "ice_freeboard": (f_ice, _attrs("ice freeboard (radar freeboard, full penetration)")),
        "ice_thickness": (thick, _attrs("sea-ice thickness", standard_name="sea_ice_thickness")),
        "snow_depth": (snow, _attrs("snow depth on sea ice")),
        "sea_surface": (sea, _attrs("sea-surface height anomaly above the mean sea surface")),
        "surface_height": (sea + total, _attrs("surface height above the mean sea surface")),
        "deformation": (deform, _attrs("SAR-visible deformation (HH offset from type mean)", "dB")),
    }
    ds = xr.Dataset(
        {k: (("y", "x"), v.astype(np.float32), a) for k, (v, a) in fields.items()},
        coords=truth.coords,
    )
    ds.attrs = {"source": "xseaice.synthetic.make_elevation", "seed": int(scene.seed)}
    return ds
