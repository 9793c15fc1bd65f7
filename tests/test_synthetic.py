"""The synthetic world: contract, determinism and the statistics of its physics.

Expected values come from the documented formulas evaluated by hand here, from the
configured parameters, from an independent library (exactextract for the chart) or from
the pixel truth; nothing is compared with the simulator's own helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from xseaice.exceptions import CRSError, InvalidArgumentError
from xseaice.synthetic import SceneParams, make_scene, sample_params
from xseaice.variables import ATTRS, SCENE_VARIABLES

SHAPE = (256, 256)


def lin(db: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 10.0)


# homogeneous ice of one type: no leads, no floe contrast, no texture, no noise
def homogeneous(**kw: object) -> SceneParams:
    base: dict[str, object] = dict(
        ice_concentration_mean=1.0,
        type_fractions=(0.0, 0.0, 1.0, 0.0),
        lead_spacing_km=1e6,
        floe_contrast_db=0.0,
        ice_texture_db=0.0,
        hv_noise_floor_db=-70.0,
        noise_scaling_error=0.0,
    )
    base.update(kw)
    return SceneParams(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def winter() -> object:
    return make_scene(7, shape=(384, 384))


@pytest.fixture(scope="module")
def summer() -> object:
    return make_scene(7, shape=(384, 384), season="summer")


# ---------------------------------------------------------------------------------------
# contract
# ---------------------------------------------------------------------------------------


def test_dataset_contract(winter: object) -> None:
    import odc.geo.xr  # noqa: F401
    import rioxarray  # noqa: F401

    ds = winter.dataset  # type: ignore[attr-defined]
    assert set(ds.data_vars) == set(SCENE_VARIABLES)
    for v in SCENE_VARIABLES:
        assert ds[v].dims == ("time", "y", "x")
        assert ds[v].dtype == np.float32
        for k, val in ATTRS[v].items():
            assert ds[v].attrs[k] == val
    assert ds.sizes["time"] == 1
    assert (np.diff(ds.y.values) < 0).all() and (np.diff(ds.x.values) > 0).all()
    assert np.allclose(np.diff(ds.x.values), 40.0)
    assert ds.rio.crs.to_epsg() == 3413
    assert ds.odc.geobox.crs.epsg == 3413
    assert ds.odc.geobox == winter.geobox  # type: ignore[attr-defined]
    # the requested centre lies inside the scene
    from pyproj import Transformer

    cx, cy = Transformer.from_crs(4326, 3413, always_xy=True).transform(-5.0, 80.0)
    assert ds.x.min() < cx < ds.x.max() and ds.y.min() < cy < ds.y.max()
    assert float(ds.hh.min()) >= -40.0 and np.isfinite(ds.hh.values).all()
    tr = winter.truth  # type: ignore[attr-defined]
    assert tr.ice.dtype == np.uint8 and tr.ice_type.dtype == np.uint8
    assert tr.lead.dtype == bool and tr.sic.dtype == np.float32
    assert set(np.unique(tr.ice_type.values)) <= {0, 1, 2, 3, 4}
    # ice type 0 exactly where there is no ice; leads are water
    assert ((tr.ice_type.values == 0) == (tr.ice.values == 0)).all()
    assert not (tr.lead.values & (tr.ice.values == 1)).any()
    np.testing.assert_array_equal(tr.x.values, ds.x.values)
    assert tr.rio.crs.to_epsg() == 3413


def test_determinism() -> None:
    a = make_scene(11, shape=(96, 128))
    b = make_scene(11, shape=(96, 128))
    c = make_scene(12, shape=(96, 128))
    for v in a.dataset.data_vars:
        assert a.dataset[v].values.tobytes() == b.dataset[v].values.tobytes()
    for v in a.truth.data_vars:
        assert a.truth[v].values.tobytes() == b.truth[v].values.tobytes()
    assert a.chart.drop(columns="geometry").equals(b.chart.drop(columns="geometry"))
    assert a.radar is not None and b.radar is not None
    assert a.radar.dn["hv"].tobytes() == b.radar.dn["hv"].tobytes()
    assert a.dataset.hh.values.tobytes() != c.dataset.hh.values.tobytes()
    assert a.truth.ice.values.tobytes() != c.truth.ice.values.tobytes()
    # randomize draws other physics from the same seed, reproducibly
    r1 = make_scene(11, shape=(64, 64), randomize=True)
    r2 = make_scene(11, shape=(64, 64), randomize=True)
    assert r1.params == r2.params and r1.params != a.params


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match="shape"):
        make_scene(0, shape=(8, 8))
    with pytest.raises(InvalidArgumentError, match="season"):
        make_scene(0, season="spring")  # type: ignore[arg-type]
    with pytest.raises(CRSError, match="projected"):
        make_scene(0, shape=(32, 32), crs="EPSG:4326")
    with pytest.raises(InvalidArgumentError, match="type_fractions"):
        SceneParams(type_fractions=(0.0, 0.0, 0.0, 0.0))
    with pytest.raises(InvalidArgumentError, match="incidence_range"):
        SceneParams(incidence_range=(30.0, 30.0))


def test_sample_params_is_wide_and_valid() -> None:
    rng = np.random.default_rng(0)
    ps = [sample_params(rng) for _ in range(60)]
    winds = np.array([p.wind_speed for p in ps])
    assert winds.min() < 3.0 and winds.max() > 14.0
    assert {p.season for p in ps} == {"winter", "summer"}
    assert {p.ascending for p in ps} == {True, False}
    assert all(min(p.incidence_range) >= 19.0 and max(p.incidence_range) <= 47.0 for p in ps)
    assert all(
        p.season == "summer" for p in (sample_params(rng, season="summer") for _ in range(5))
    )


# ---------------------------------------------------------------------------------------
# Sentinel-1
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("enl", [10.0, 4.0])
def test_speckle_enl(enl: float) -> None:
    sc = make_scene(3, shape=SHAPE, params=homogeneous(enl=enl, incidence_range=(30.0, 30.01)))
    for pol in ("hh", "hv"):
        x = lin(sc.dataset[pol].values[0])
        # four independent quadrants, each a homogeneous area
        for q in (x[:128, :128], x[:128, 128:], x[128:, :128], x[128:, 128:]):
            est = q.mean() ** 2 / q.var()
            assert abs(est / enl - 1.0) < 0.10, (pol, est)


def test_ice_backscatter_and_slopes_per_class() -> None:
    p = SceneParams(
        ice_concentration_mean=0.7,
        type_fractions=(0.25, 0.25, 0.25, 0.25),
        floe_contrast_db=0.0,
        ice_texture_db=0.0,
        hv_noise_floor_db=-45.0,
        noise_scaling_error=0.0,
        lead_refrozen_fraction=0.0,
    )
    sc = make_scene(5, shape=(512, 512), params=p)
    inc = sc.dataset.incidence_angle.values[0]
    typ = sc.truth.ice_type.values
    for pol, s30, slope in (("hh", p.hh_db, p.hh_slope), ("hv", p.hv_db, p.hv_slope)):
        x = lin(sc.dataset[pol].values[0])
        for t in (1, 2, 3, 4):
            # mean linear power in bins of 32 columns, then dB: free of the speckle bias
            th, db = [], []
            for c0 in range(0, 512, 32):
                m = typ[:, c0 : c0 + 32] == t
                if m.sum() < 200:
                    continue
                th.append(inc[:, c0 : c0 + 32][m].mean())
                db.append(10 * np.log10(x[:, c0 : c0 + 32][m].mean()))
            b, a = np.polyfit(th, db, 1)
            assert abs(b - slope[t - 1]) < 0.02, (pol, t, b)
            assert abs(a + 30 * b - s30[t - 1]) < 0.3, (pol, t, a + 30 * b)


def _water_hh_db(theta: float, wind: float, phi: float) -> float:
    """The documented open-water model, evaluated by hand (defaults of SceneParams)."""
    gam = 1.45 + 0.025 * (theta - 30)
    vv = -12.0 - 0.45 * (theta - 30) + 10 * gam * math.log10(wind / 10)
    d = (1 + 0.1 * math.cos(math.radians(phi)) + 0.3 * math.cos(math.radians(2 * phi))) / 0.7
    t2 = math.tan(math.radians(theta)) ** 2
    pr = (1 + 2 * t2) ** 2 / (1 + 0.6 * t2) ** 2
    return vv + 10 * math.log10(d) - 10 * math.log10(pr)


@pytest.mark.parametrize(("wind", "direction"), [(10.0, 180.0), (5.0, 90.0)])
def test_open_water_model(wind: float, direction: float) -> None:
    # all water, uniform wind; ascending pass looks east (90 deg): phi = direction - 90
    p = SceneParams(
        ice_concentration_mean=0.0,
        wind_speed=wind,
        wind_variability=0.0,
        wind_direction=direction,
        hv_noise_floor_db=-60.0,
    )
    sc = make_scene(9, shape=SHAPE, params=p)
    assert sc.truth.ice.values.sum() == 0
    inc = sc.dataset.incidence_angle.values[0, 0]
    x = lin(sc.dataset.hh.values[0])
    for c0 in range(0, 256, 32):
        theta = float(inc[c0 : c0 + 32].mean())
        got = 10 * np.log10(x[:, c0 : c0 + 32].mean())
        want = np.mean([_water_hh_db(float(t), wind, direction - 90) for t in inc[c0 : c0 + 32]])
        assert abs(got - want) < 0.25, (theta, got, want)
    # HV: Vachon & Wolfe (2011) 0.59 U - 35.6 dB, independent of incidence
    hv = 10 * np.log10(lin(sc.dataset.hv.values[0]).mean())
    assert abs(hv - (0.59 * wind - 35.6)) < 0.25


def test_wind_makes_water_brighter_than_ice_in_hh() -> None:
    """The real ambiguity: calm water is dark, windy water brighter than first-year ice."""
    means = {}
    for name, p in {
        "ice": homogeneous(incidence_range=(29.0, 31.0)),
        "calm": SceneParams(ice_concentration_mean=0.0, wind_speed=3.0, wind_variability=0.0,
                            incidence_range=(29.0, 31.0)),
        "windy": SceneParams(ice_concentration_mean=0.0, wind_speed=15.0, wind_variability=0.0,
                             incidence_range=(29.0, 31.0)),
    }.items():  # fmt: skip
        sc = make_scene(2, shape=(128, 128), params=p)
        means[name] = 10 * np.log10(lin(sc.dataset.hh.values[0]).mean())
    assert means["windy"] > means["ice"] + 1.0
    assert means["calm"] < means["ice"] - 2.0
    # and water is steeper in incidence than ice (calm water, full swath)
    calm = SceneParams(ice_concentration_mean=0.0, wind_speed=5.0, wind_variability=0.0)
    sc = make_scene(2, shape=(128, 256), params=calm)
    inc = sc.dataset.incidence_angle.values[0, 0]
    col = 10 * np.log10(lin(sc.dataset.hh.values[0]).mean(axis=0))
    water_slope = np.polyfit(inc, col, 1)[0]
    assert water_slope < min(SceneParams().hh_slope) - 0.2


def test_fetch_keeps_narrow_leads_dark() -> None:
    p = SceneParams(
        wind_speed=14.0, wind_variability=0.0, lead_refrozen_fraction=0.0,
        ice_concentration_mean=0.5, ice_concentration_kappa=1.0,
    )  # fmt: skip
    sc = make_scene(4, shape=(384, 384), params=p)
    water = sc.truth.ice.values == 0
    dist = ndimage.distance_transform_edt(water)
    hh = lin(sc.dataset.hh.values[0])
    narrow = water & (dist <= 1)
    wide = water & (dist >= 15)
    assert narrow.sum() > 500 and wide.sum() > 500
    assert 10 * np.log10(hh[narrow].mean()) < 10 * np.log10(hh[wide].mean()) - 5.0


def test_hv_noise_floor_and_scalloping() -> None:
    # calm open water: HV far below the noise; the raw power (before noise removal) shows
    # the noise floor with its sub-swath structure and azimuth scalloping
    p = SceneParams(
        ice_concentration_mean=0.0, wind_speed=0.0, wind_variability=0.0,
        hv_noise_floor_db=-25.0, scalloping_db=3.0, burst_length_km=8.0,
        noise_scaling_error=0.0, noise_edge_rise_db=0.0,
        noise_subswath_offsets_db=(0.0,), enl=10.0,
    )  # fmt: skip
    sc = make_scene(6, shape=(512, 512), params=p)
    radar = sc.radar
    assert radar is not None
    lut = radar.sigma_lut()[None, :]
    raw = radar.dn["hv"].astype(np.float64) ** 2 / lut**2  # no noise removal
    floor = 10 * np.log10(raw.mean())
    # mean of a cosine scalloping of +-1.5 dB is I0(1.5 ln10 / 10); the water (wind
    # clipped at 0.2 m/s) adds 0.59 * 0.2 - 35.6 dB
    from scipy.special import i0

    want = 10 * np.log10(10**-2.5 * i0(1.5 * math.log(10) / 10) + 10 ** ((0.59 * 0.2 - 35.6) / 10))
    assert abs(floor - want) < 0.15
    # row means over the first sub-swath, smoothed over 8 lines: scalloping peak-to-peak
    _, a, b = radar.swaths[0]
    rows = ndimage.uniform_filter1d(raw[:, a : b + 1].mean(axis=1), 8)
    p2p = 10 * np.log10(rows.max() / rows.min())
    assert abs(p2p - 3.0) < 0.5
    # noise removal: the scene's HV is unbiased (mean of noise-removed power ~ signal)
    hv = lin(sc.dataset.hv.values[0])
    removed = radar.to_scene(raw - radar.noise_dn2() / lut**2)
    assert abs(removed.mean() - 10 ** (-35.6 / 10)) < 0.15 * 10 ** (-35.6 / 10)
    assert (hv >= 1e-4 - 1e-12).all()  # floored at -40 dB
    assert (hv <= 1e-4 * 1.0001).mean() > 0.3  # noise-dominated: many values floored


# ---------------------------------------------------------------------------------------
# AMSR-2
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "tie"),
    [
        (dict(ice_concentration_mean=0.0), "tb_water"),
        (dict(type_fractions=(0.0, 0.0, 1.0, 0.0)), "tb_first_year"),
        (dict(type_fractions=(0.0, 0.0, 0.0, 1.0)), "tb_old"),
    ],
)
def test_brightness_temperatures_at_tie_points(params: dict, tie: str) -> None:
    kw = dict(ice_concentration_mean=1.0, lead_spacing_km=1e6, amsr_noise_k=0.5)
    kw.update(params)
    p = SceneParams(**kw)  # type: ignore[arg-type]
    sc = make_scene(8, shape=(128, 128), params=p)
    for k, name in enumerate(("tb18h", "tb18v", "tb36h", "tb36v")):
        v = sc.dataset[name].values[0]
        assert abs(float(v.mean()) - getattr(p, tie)[k]) < 0.8, (name, v.mean())
        assert float(v.std()) < 1.0


def test_brightness_temperature_follows_blurred_concentration() -> None:
    # first-year ice only: TB = TB_w + c_footprint (TB_fy - TB_w)
    p = SceneParams(
        ice_concentration_mean=0.6, ice_concentration_kappa=1.5, concentration_scale_km=15.0,
        type_fractions=(0.0, 0.0, 1.0, 0.0),
    )  # fmt: skip
    sc = make_scene(2, shape=(768, 768), params=p)
    ice = sc.truth.ice.values.astype(float)
    for k, name, fwhm in ((1, "tb18v", p.amsr_footprint_km), (3, "tb36v", p.amsr_footprint_36_km)):
        tb = sc.dataset[name].values[0].astype(float)
        # footprint blur plus the 12.5 km grid sampling (~ a 12.5 km box) as one Gaussian
        sigma = math.hypot(fwhm / 2.355, 12.5 / math.sqrt(12)) * 1000 / 40.0
        blurred = ndimage.gaussian_filter(ice, sigma, mode="reflect")
        r = np.corrcoef(blurred.ravel(), tb.ravel())[0, 1]
        assert r > 0.85, (name, r)
        slope = np.polyfit(blurred.ravel(), tb.ravel(), 1)[0]
        assert 0.75 < slope / (p.tb_first_year[k] - p.tb_water[k]) < 1.25, (name, slope)


# ---------------------------------------------------------------------------------------
# truth and seasons
# ---------------------------------------------------------------------------------------


def test_floe_sizes_are_heavy_tailed() -> None:
    p = SceneParams(floe_size_exponent=1.6)
    sc = make_scene(1, shape=(768, 768), params=p)
    area = np.bincount(sc.truth.floe.values.ravel())[1:]
    area = area[area > 0] * 40.0 * 40.0
    d = np.sort(2 * np.sqrt(area / np.pi))[::-1]
    assert d.max() / np.median(d) > 8  # a tail of big floes
    n = np.arange(1, d.size + 1)
    sel = (d > 300) & (d < p.floe_size_max_m / 2)
    slope = np.polyfit(np.log(d[sel]), np.log(n[sel]), 1)[0]
    assert abs(-slope - p.floe_size_exponent) < 0.45


def test_leads_are_narrow_and_branching() -> None:
    p = SceneParams(ice_concentration_mean=1.0, lead_refrozen_fraction=0.0, lead_spacing_km=3.0)
    sc = make_scene(12, shape=(384, 384), params=p)
    water = sc.truth.ice.values == 0
    lead = sc.truth.lead.values
    assert 0.005 < water.mean() < 0.2
    # closed pack: every water pixel is a lead, no wider than ~10 px
    np.testing.assert_array_equal(lead, water)
    assert ndimage.distance_transform_edt(water).max() <= 5.5
    # 1-px wide parts exist (a water pixel with ice on both sides)
    ice = ~water
    thin = water[1:-1, 1:-1] & ((ice[:-2, 1:-1] & ice[2:, 1:-1]) | (ice[1:-1, :-2] & ice[1:-1, 2:]))
    assert thin.sum() > 20
    lab, n = ndimage.label(water)
    assert n >= 1 and np.bincount(lab.ravel())[1:].max() > 300  # long connected leads


def test_lead_branching_adds_leads() -> None:
    area = {}
    for rate in (0.0, 1.0):
        p = SceneParams(
            ice_concentration_mean=1.0, lead_refrozen_fraction=0.0, lead_spacing_km=3.0,
            lead_branching_per_km=rate,
        )  # fmt: skip
        area[rate] = sum(
            int((make_scene(s, shape=(256, 256), params=p).truth.ice.values == 0).sum())
            for s in range(6)
        )
    assert area[1.0] > 1.3 * area[0.0] > 0


def test_seasons_differ() -> None:
    w = make_scene(21, shape=(384, 384), season="winter")
    s = make_scene(21, shape=(384, 384), season="summer")
    ice_w, ice_s = w.truth.ice.values == 1, s.truth.ice.values == 1
    # summer: fragmented (more floes per area), lower concentration, melt ponds
    n_w = np.unique(w.truth.floe.values).size / ice_w.sum()
    n_s = np.unique(s.truth.floe.values).size / ice_s.sum()
    assert n_s > 2 * n_w
    assert ice_s.mean() < ice_w.mean()
    assert s.truth.pond_fraction.values[ice_s].mean() > 0.1
    assert w.truth.pond_fraction.values.max() == 0.0

    # wet snow lowers the old / first-year contrast (configured, and seen in the images)
    def contrast(sc: object) -> float:
        hh = lin(sc.dataset.hh.values[0])  # type: ignore[attr-defined]
        t = sc.truth.ice_type.values  # type: ignore[attr-defined]
        return float(10 * np.log10(hh[t == 4].mean() / hh[t == 3].mean()))

    assert contrast(s) < contrast(w) - 2.0


# ---------------------------------------------------------------------------------------
# ice chart
# ---------------------------------------------------------------------------------------


def _expected_ct(frac: float) -> str:
    tenths = math.floor(frac * 10 + 0.5)
    if frac <= 0:
        return "00"
    if tenths == 0:
        return "01"
    return "92" if tenths >= 10 else f"{tenths}0"


@pytest.mark.parametrize("season", ["winter", "summer"])
def test_chart_ct_is_truth_concentration(tmp_path: object, season: str) -> None:
    from exactextract import exact_extract

    from xseaice.synthetic import write_cog

    sc = make_scene(
        31, shape=(384, 320), season=season, params=SceneParams(season=season, chart_cell_km=5.0)
    )
    chart = sc.chart
    assert chart.crs.to_epsg() == 3413
    assert len(chart) >= 4
    # polygons tile the scene
    gb = sc.geobox
    assert abs(chart.area.sum() - gb.shape[0] * gb.shape[1] * 1600.0) < 1.0
    tif = write_cog(sc.truth.ice.astype("float32"), f"{tmp_path}/ice.tif")
    res = exact_extract(str(tif), chart, ["mean"], include_cols=["ID_NEW"], output="pandas")
    frac = dict(zip(res["ID_NEW"], res["mean"], strict=True))
    for _, row in chart.iterrows():
        f = frac[row["ID_NEW"]]
        assert abs(f - row["true_concentration"]) < 1e-6
        assert row["CT"] == _expected_ct(f)
        assert row["POLY_TYPE"] == ("W" if row["CT"] == "00" else "I")


def test_chart_sigrid3_codes_are_valid(winter: object, summer: object) -> None:
    from xseaice.io.icechart import read_icechart
    from xseaice.io.sigrid3 import FORM_CODES, STAGE_CODES

    real_cols = ["CT", "CA", "SA", "FA", "CB", "SB", "FB", "CC", "SC", "FC", "CN", "CD", "CF",
                 "POLY_TYPE"]  # fmt: skip
    for sc in (winter, summer):
        chart = sc.chart  # type: ignore[attr-defined]
        for c in real_cols:
            assert chart[c].map(type).eq(str).all(), c
        decoded = read_icechart(chart, errors="raise")
        assert np.isfinite(decoded["ct"]).all()
        for _, r in chart.iterrows():
            if r["CT"] in ("00", "01"):
                continue
            ct = 10 if r["CT"] == "92" else int(r["CT"]) // 10
            partial = [r[c] for c in ("CA", "CB", "CC") if r[c] != "-9"]
            if partial:
                assert sum(10 if p == "92" else int(p) // 10 for p in partial) == ct
                # ordered by thickness: old (95) > first-year (86) > young (83) > new (81)
                stages = [int(r[s]) for s in ("SA", "SB", "SC") if r[s] != "-9"]
                assert stages == sorted(stages, reverse=True)
            for s in ("SA", "SB", "SC"):
                assert r[s] == "-9" or int(r[s]) in STAGE_CODES
            for f in ("FA", "FB", "FC"):
                assert r[f] == "-9" or int(r[f]) in FORM_CODES
        # the dominant stage matches the truth's most common ice type of the polygon
        ids = sc.chart_ids  # type: ignore[attr-defined]
        t = sc.truth.ice_type.values  # type: ignore[attr-defined]
        stage_of = {1: "81", 2: "83", 3: "86", 4: "95"}
        for _, r in chart.iterrows():
            if r["CT"] in ("00", "01"):
                continue
            counts = np.bincount(t[ids == r["ID_NEW"]], minlength=5)[1:]
            sa = [r[s] for s in ("SA", "SB", "SC") if r[s] != "-9"]
            assert stage_of[int(np.argmax(counts)) + 1] in sa
