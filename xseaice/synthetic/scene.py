"""``make_scene``: one synthetic scene with its Dataset, pixel truth and ice chart."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from xseaice.exceptions import CRSError, InvalidArgumentError
from xseaice.synthetic.params import EW_SWATH_KM, SceneParams
from xseaice.synthetic.sampling import sample_params
from xseaice.synthetic.sensors import AmsrGrid, RadarProduct, simulate_amsr2, simulate_sar
from xseaice.synthetic.surface import add_coast_and_edge
from xseaice.synthetic.world import make_truth
from xseaice.variables import ATTRS, sigma0_to_db

if TYPE_CHECKING:
    import geopandas as gpd
    from odc.geo.geobox import GeoBox

__all__ = ["GENERATORS", "SyntheticScene", "make_geobox", "make_scene"]

logger = logging.getLogger(__name__)

_TRUTH_ATTRS: dict[str, dict[str, Any]] = {
    "ice": {
        "long_name": "true ice mask",
        "flag_values": np.array([0, 1], dtype="uint8"),
        "flag_meanings": "water ice",
    },
    "ice_type": {
        "long_name": "true ice type",
        "flag_values": np.array([0, 1, 2, 3, 4], dtype="uint8"),
        "flag_meanings": "water new_ice young_ice first_year_ice old_ice",
    },
    "lead": {"long_name": "narrow water feature (lead or crack, narrower than ~11 px)"},
    "sic": {"long_name": "true sea-ice concentration of the pixel", "units": "1"},
    "floe": {"long_name": "floe label (0 = not part of a floe)"},
    "pond_fraction": {"long_name": "melt-pond fraction of the ice surface", "units": "1"},
    "land_mask": {
        "long_name": "land mask (land pixels are never ice: leave them out of ice scores)",
        "flag_values": np.array([0, 1], dtype="uint8"),
        "flag_meanings": "sea land",
    },
    "feature": {
        "long_name": "surface feature",
        "flag_values": np.array([0, 1, 2, 3], dtype="uint8"),
        "flag_meanings": "none refrozen_lead fast_ice pancake_or_brash",
    },
}

Generator = Literal["A", "B"]
GENERATORS: tuple[str, ...] = ("A", "B")


@dataclass
class SyntheticScene:
    """A synthetic scene: what a real scene has, plus the truth nobody gets in reality.

    Attributes
    ----------
    dataset : xarray.Dataset
        The scene Dataset contract (`xseaice.variables`): ``hh``, ``hv`` (dB),
        ``incidence_angle`` (deg), ``tb18h``, ``tb18v``, ``tb36h``, ``tb36v`` (K), float32,
        dims ``(time, y, x)``, a ``spatial_ref`` coordinate.
    truth : xarray.Dataset
        ``(y, x)``: ``ice`` (uint8 0/1), ``ice_type`` (uint8 0 water, 1 new, 2 young,
        3 first-year, 4 old), ``lead`` (bool, narrow water), ``sic`` (float32, = ice),
        ``floe`` (int32 label), ``pond_fraction`` (float32); same grid.
    chart : geopandas.GeoDataFrame
        SIGRID-3 chart polygons in the scene CRS (see [`xseaice.synthetic.chart`][]).
    params : SceneParams
        The physics the scene was drawn with.
    radar : RadarProduct
        The GRD product in radar geometry (DN, LUTs, noise vectors) for the SAFE writer.
    amsr : AmsrGrid
        The AMSR-2 L3 cells on the NSIDC 12.5 km grid for the HDF-EOS5 writer.
    seed : int
        The seed.
    center : (float, float)
        Requested centre (lon, lat).
    chart_ids : numpy.ndarray
        ``ID_NEW`` of the chart polygon of every pixel.
    """

    dataset: xr.Dataset
    truth: xr.Dataset
    chart: gpd.GeoDataFrame
    params: SceneParams
    radar: RadarProduct | None = field(default=None, repr=False)
    amsr: AmsrGrid | None = field(default=None, repr=False)
    seed: int = 0
    center: tuple[float, float] = (-5.0, 80.0)
    chart_ids: np.ndarray | None = field(default=None, repr=False)
    extras: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def geobox(self) -> GeoBox:
        """The scene grid (`odc.geo.geobox.GeoBox`)."""
        import odc.geo.xr  # noqa: F401

        return self.dataset.odc.geobox

    @property
    def time(self) -> np.datetime64:
        """Acquisition time."""
        return np.datetime64(self.dataset["time"].values[0], "us")


def make_geobox(
    shape: tuple[int, int], pixel_size: float, crs: str, center: tuple[float, float]
) -> GeoBox:
    """The scene grid: ``shape`` pixels of ``pixel_size`` m centred on ``center`` (lon, lat).

    The corner is snapped to a multiple of the pixel size so that grids of different
    scenes align.
    """
    from affine import Affine
    from odc.geo.geobox import GeoBox
    from pyproj import CRS as PCRS
    from pyproj import Transformer

    try:
        pcrs = PCRS.from_user_input(crs)
    except Exception as exc:
        raise CRSError(
            f"crs={crs!r} is not understood by pyproj ({exc}); pass e.g. 'EPSG:3413'."
        ) from exc
    if not pcrs.is_projected:
        raise CRSError(
            f"crs={crs!r} is not projected; the scene needs metres, e.g. 'EPSG:3413' "
            "(north) or 'EPSG:3031' (south)."
        )
    cx, cy = Transformer.from_crs("EPSG:4326", pcrs, always_xy=True).transform(*center)
    ny, nx = shape
    x0 = np.round((cx - nx * pixel_size / 2.0) / pixel_size) * pixel_size
    y0 = np.round((cy + ny * pixel_size / 2.0) / pixel_size) * pixel_size
    return GeoBox(shape, Affine(pixel_size, 0.0, float(x0), 0.0, -pixel_size, float(y0)), crs)


def _scene_physics(
    p: SceneParams, shape: tuple[int, int], ps: float, generator: str
) -> SceneParams:
    """Resolve the swath window into an incidence span; generator B's sensor models."""
    if np.isfinite(p.swath_offset_km):
        width = shape[1] * ps / 1000.0
        off = float(np.clip(p.swath_offset_km, 0.0, max(EW_SWATH_KM - width, 0.0)))
        near = 19.0 + 28.0 * off / EW_SWATH_KM
        far = 19.0 + 28.0 * min(off + width, EW_SWATH_KM) / EW_SWATH_KM
        far = max(far, near + 1e-3)
        p = p.replace(incidence_range=(near, far) if p.ascending else (far, near))
    if generator == "B":
        p = p.replace(
            speckle_model="complex",
            texture_model="fractal",
            impulse_response_m=p.impulse_response_m or 90.0,
        )
    return p


def make_scene(
    seed: int = 0,
    *,
    shape: tuple[int, int] = (512, 512),
    pixel_size: float = 40.0,
    season: Literal["winter", "summer"] = "winter",
    params: SceneParams | None = None,
    randomize: bool = False,
    crs: str = "EPSG:3413",
    center: tuple[float, float] = (-5.0, 80.0),
    time: str = "2023-01-04T08:00:00",
    datetime: str | None = None,
    generator: Generator = "A",
) -> SyntheticScene:
    """Simulate one scene: S1 EW HH/HV, AMSR-2 TBs, pixel truth and an ice chart.

    Parameters
    ----------
    seed : int
        Seed of ``np.random.default_rng``; same seed and arguments give identical bytes.
    shape : (int, int)
        ``(ny, nx)`` pixels.
    pixel_size : float
        Pixel size in metres (40 m like EW GRDM).
    season : {"winter", "summer"}
        Season of the default physics (ignored when ``params`` is given).
    params : SceneParams, optional
        The physics; default ``SceneParams(season=season)``.
    randomize : bool
        Draw the physics with `sample_params` from the
        seed (ignored when ``params`` is given).
    crs : str
        Projected CRS of the grid.
    center : (float, float)
        Scene centre (lon, lat); its hemisphere picks the NSIDC AMSR-2 grid.
    time : str
        Acquisition time (ISO 8601).
    datetime : str, optional
        Alias of ``time`` (the STAC property name); wins when given.
    generator : {"A", "B"}
        ``"A"`` (training world): Voronoi floes, random-walk leads, per-type means +
        per-floe offsets + Gamma speckle.  ``"B"`` (held-out world, never for training):
        floes from a multi-scale crack network, curvilinear level-set leads, log-normal
        fractal texture and complex multi-look speckle through a 90 m impulse response
        (`xseaice.synthetic.world_b`).  Physics tables (``params`` / ``randomize``)
        are shared.

    Returns
    -------
    SyntheticScene

    Raises
    ------
    InvalidArgumentError
        For a bad shape, pixel size or season.
    CRSError
        If ``crs`` is unknown or not projected.

    Examples
    --------
    >>> from xseaice.synthetic import make_scene
    >>> sc = make_scene(0, shape=(256, 256))
    >>> sorted(sc.dataset.data_vars)
    ['hh', 'hv', 'incidence_angle', 'tb18h', 'tb18v', 'tb36h', 'tb36v']
    """
    import odc.geo.xr  # noqa: F401
    from odc.geo.xr import xr_coords

    from xseaice.synthetic.chart import make_chart

    if len(tuple(shape)) != 2 or min(int(v) for v in shape) < 16:
        raise InvalidArgumentError(f"shape must be (ny, nx) with both >= 16 pixels; got {shape!r}")
    shape = (int(shape[0]), int(shape[1]))
    if not pixel_size > 0:
        raise InvalidArgumentError(f"pixel_size must be > 0 metres; got {pixel_size!r}")
    if season not in ("winter", "summer"):
        raise InvalidArgumentError(f"season must be 'winter' or 'summer'; got {season!r}")
    if generator not in GENERATORS:
        raise InvalidArgumentError(
            f"generator must be one of {GENERATORS} ('A' to train on, 'B' held out); "
            f"got {generator!r}"
        )
    if not -90.0 <= center[1] <= 90.0:
        raise InvalidArgumentError(f"center must be (lon, lat) in degrees; got {center!r}")
    if datetime is not None:
        time = datetime
    try:
        t = np.array([np.datetime64(str(time).rstrip("Z"), "ns")])
    except ValueError as exc:
        raise InvalidArgumentError(
            f"time must be an ISO 8601 date-time like '2023-01-04T08:00:00'; got {time!r}"
        ) from exc
    ss = np.random.SeedSequence(int(seed))
    rngs = [np.random.default_rng(s) for s in ss.spawn(8)]
    r_params, r_truth, r_sar, r_amsr, r_chart, r_surf, r_sar2, r_amsr2 = rngs
    if params is None:
        params = sample_params(r_params, season=season) if randomize else SceneParams(season=season)
    p = _scene_physics(params, shape, float(pixel_size), generator)
    gbox = make_geobox(shape, float(pixel_size), crs, center)
    _ny, nx = shape

    if generator == "B":
        from xseaice.synthetic.world_b import make_truth_b

        truth = make_truth_b(r_truth, shape, float(pixel_size), p)
    else:
        truth = make_truth(r_truth, shape, float(pixel_size), p)
    truth = add_coast_and_edge(r_surf, truth, float(pixel_size), p)
    th0, th1 = p.incidence_range
    incidence = th0 + (th1 - th0) * (np.arange(nx) + 0.5) / nx
    hh, hv, radar, extras = simulate_sar(r_sar, truth, incidence, float(pixel_size), p, r_sar2)
    tbs, amsr = simulate_amsr2(r_amsr, truth, gbox, float(center[1]), p, r_amsr2)
    chart, chart_ids = make_chart(r_chart, truth, gbox, p, crs=crs)

    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    dims = ("time", "y", "x")

    def var(name: str, a: np.ndarray) -> xr.DataArray:
        attrs = dict(ATTRS[name])
        attrs["grid_mapping"] = "spatial_ref"
        return xr.DataArray(a.astype(np.float32)[None], dims=dims, attrs=attrs)

    data = {
        "hh": var("hh", sigma0_to_db(hh)),
        "hv": var("hv", sigma0_to_db(hv)),
        "incidence_angle": var("incidence_angle", np.broadcast_to(incidence, shape)),
        **{k: var(k, v) for k, v in tbs.items()},
    }
    land = truth.land_mask()
    land_da = xr.DataArray(
        land.astype(np.uint8),
        dims=("y", "x"),
        attrs={**_TRUTH_ATTRS["land_mask"], "grid_mapping": "spatial_ref"},
    )
    if land.any():
        data["land_mask"] = land_da
    ds = xr.Dataset(data, coords={**coords, "time": t})
    ds.attrs = {
        "title": "xseaice synthetic scene",
        "source": "xseaice.synthetic.make_scene",
        "seed": int(seed),
        "season": p.season,
        "pass_direction": "ASCENDING" if p.ascending else "DESCENDING",
        "generator": generator,
    }

    tdims = ("y", "x")
    tv = {
        "ice": truth.ice,
        "ice_type": truth.ice_type,
        "lead": truth.lead,
        "sic": truth.ice.astype(np.float32),
        "floe": truth.floe,
        "pond_fraction": truth.pond_fraction,
        "land_mask": land.astype(np.uint8),
        "feature": truth.features(),
    }
    tds = xr.Dataset(
        {
            k: xr.DataArray(v, dims=tdims, attrs={**_TRUTH_ATTRS[k], "grid_mapping": "spatial_ref"})
            for k, v in tv.items()
        },
        coords=coords,
    )
    tds.attrs = {"seed": int(seed), "season": p.season, "generator": generator}
    logger.debug("synthetic scene seed=%d shape=%s ice=%.3f", seed, shape, truth.ice.mean())
    return SyntheticScene(
        dataset=ds,
        truth=tds,
        chart=chart,
        params=p,
        radar=radar,
        amsr=amsr,
        seed=int(seed),
        center=(float(center[0]), float(center[1])),
        chart_ids=chart_ids,
        extras={
            "wind": extras["wind"],
            "regional_concentration": truth.regional_concentration,
            "land_mask": land,
            "hh_true": np.asarray(extras["hh_true"], dtype=np.float32),
            "hv_true": np.asarray(extras["hv_true"], dtype=np.float32),
        },
    )
