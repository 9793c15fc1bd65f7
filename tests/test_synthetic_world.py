"""The broad synthetic world (issue 13): EW GRDM geometry, coast, ice-edge bands,
refrozen leads, swell, wind streaks, weather, randomisation and generator B.

Every element is checked against the truth it was made from with statistics computed here
by numpy (or scipy.ndimage for distances), never with the simulator's own helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import ConvexHull

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic import SceneParams, make_scene, sample_params

SHAPE = (256, 256)


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


def water(**kw: object) -> SceneParams:
    base: dict[str, object] = dict(
        ice_concentration_mean=0.0, wind_variability=0.0, hv_noise_floor_db=-70.0,
        noise_scaling_error=0.0, wind_speed=10.0,
    )  # fmt: skip
    base.update(kw)
    return SceneParams(**base)  # type: ignore[arg-type]


def lin(db: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 10.0)


def kernel1d(sigma: float) -> np.ndarray:
    x = np.arange(-int(4 * sigma + 1), int(4 * sigma + 1) + 1, dtype=np.float64)
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def lag1(a: np.ndarray, axis: int = 0) -> float:
    a = np.moveaxis(a, axis, 0)
    return float(np.corrcoef(a[1:].ravel(), a[:-1].ravel())[0, 1])


def normalised_intensity(sc: object) -> np.ndarray:
    i = lin(sc.dataset["hh"].values[0])  # type: ignore[attr-defined]
    return i / i.mean(axis=0, keepdims=True)  # removes the incidence trend across x


def boxcar(db: np.ndarray, n: int = 5) -> np.ndarray:
    return 10 * np.log10(np.maximum(ndimage.uniform_filter(lin(db), n), 1e-6))


# ---------------------------------------------------------------------------------------
# EW GRDM: speckle, impulse response, calibration, swath window
# ---------------------------------------------------------------------------------------


def test_correlated_gamma_speckle_keeps_enl_and_correlates_neighbours() -> None:
    s = 0.8
    sc = make_scene(1, shape=SHAPE, params=homogeneous(enl=10.0, speckle_correlation_px=s))
    i = normalised_intensity(sc)
    assert 1.0 / i.var() == pytest.approx(10.0, rel=0.12)
    k = kernel1d(s)
    expected = float((k[1:] * k[:-1]).sum() / (k * k).sum())  # smoothed white noise, lag 1
    assert lag1(i, 0) == pytest.approx(expected, abs=0.05)
    independent = normalised_intensity(make_scene(1, shape=SHAPE, params=homogeneous(enl=10.0)))
    assert abs(lag1(independent, 0)) < 0.03


def test_complex_speckle_has_the_impulse_response_correlation() -> None:
    p = homogeneous(enl=8.0, speckle_model="complex", impulse_response_m=90.0)
    i = normalised_intensity(make_scene(2, shape=SHAPE, params=p))
    assert 1.0 / i.var() == pytest.approx(8.0, rel=0.12)
    sigma_i = 90.0 / (2 * math.sqrt(2 * math.log(2))) / 40.0  # intensity PSF, px
    k = kernel1d(math.sqrt(2) * sigma_i)  # amplitude PSF
    rho_complex = float((k[1:] * k[:-1]).sum() / (k * k).sum())
    assert lag1(i, 0) == pytest.approx(rho_complex**2, abs=0.05)


def test_impulse_response_blurs_sigma0_before_speckle() -> None:
    base = SceneParams(hv_noise_floor_db=-70.0)
    sharp = make_scene(3, shape=SHAPE, params=base).extras
    blur_sc = make_scene(3, shape=SHAPE, params=base.replace(impulse_response_m=90.0))
    blurred = blur_sc.extras
    # independent Gaussian convolution by FFT (interior only: the edges are reflected)
    sig = 90.0 / (2 * math.sqrt(2 * math.log(2))) / 40.0
    fy = np.fft.fftfreq(SHAPE[0])[:, None]
    fx = np.fft.fftfreq(SHAPE[1])[None, :]
    h = np.exp(-2 * np.pi**2 * sig**2 * (fy**2 + fx**2))
    ref = np.real(np.fft.ifft2(np.fft.fft2(sharp["hh_true"]) * h))
    inner = np.s_[16:-16, 16:-16]
    assert np.allclose(blurred["hh_true"][inner], ref[inner], rtol=2e-2)
    assert lag1(blurred["hh_true"], 1) > lag1(sharp["hh_true"], 1) + 0.05
    # the speckled product: the blurred scene has a higher lag-1 correlation too
    a = blur_sc.dataset["hh"].values[0]
    b = make_scene(3, shape=SHAPE, params=base).dataset["hh"].values[0]
    assert lag1(a, 1) > lag1(b, 1)


def test_calibration_offset_scales_both_channels() -> None:
    p0 = homogeneous(type_fractions=(0.0, 0.0, 0.5, 0.5))
    a = make_scene(4, shape=(128, 128), params=p0).dataset
    b = make_scene(
        4, shape=(128, 128), params=p0.replace(calibration_offset_db=(1.5, -1.0))
    ).dataset
    for ch, off in (("hh", 1.5), ("hv", -1.0)):
        ratio = lin(b[ch].values).mean() / lin(a[ch].values).mean()
        assert 10 * math.log10(ratio) == pytest.approx(off, abs=0.05)


@pytest.mark.parametrize(("offset", "order"), [(100.0, (19.0, 47.0)), (399.0, (47.0, 19.0))])
def test_scene_is_a_window_into_the_swath(offset: float, order: tuple[float, float]) -> None:
    sc = make_scene(
        5, shape=(64, 128), params=SceneParams(swath_offset_km=offset, incidence_range=order)
    )
    inc = sc.dataset["incidence_angle"].values[0, 0]
    width_km = 128 * 40.0 / 1000.0
    start = min(offset, 400.0 - width_km)
    near, far = 19 + 28 * start / 400, 19 + 28 * (start + width_km) / 400
    assert inc.min() == pytest.approx(near + (far - near) * 0.5 / 128, abs=1e-3)
    assert inc.max() == pytest.approx(far - (far - near) * 0.5 / 128, abs=1e-3)
    assert (np.diff(inc) > 0).all() == (order[1] > order[0])


# ---------------------------------------------------------------------------------------
# coast, fast ice, ice-edge band, refrozen leads
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coastal() -> object:
    p = SceneParams(land_fraction=0.3, fast_ice_km=1.0, ice_concentration_mean=0.7)
    return make_scene(6, shape=SHAPE, params=p)


def test_land_is_never_ice_and_has_its_own_chart_polygon(coastal: object) -> None:
    tr = coastal.truth  # type: ignore[attr-defined]
    land = tr["land_mask"].values == 1
    assert land.mean() == pytest.approx(0.3, abs=0.01)
    assert not tr["ice"].values[land].any() and not tr["lead"].values[land].any()
    assert (tr["floe"].values[land] == 0).all() and (tr["ice_type"].values[land] == 0).all()
    ds = coastal.dataset  # type: ignore[attr-defined]
    assert (ds["land_mask"].values == tr["land_mask"].values).all()
    chart = coastal.chart  # type: ignore[attr-defined]
    lp = chart[chart["POLY_TYPE"] == "L"]
    assert len(lp) == 1 and lp["CT"].iloc[0] == "-9"
    ids = coastal.chart_ids  # type: ignore[attr-defined]
    ice = tr["ice"].values
    for _, row in chart[chart["POLY_TYPE"] != "L"].iterrows():
        m = (ids == row["ID_NEW"]) & ~land
        tenths = math.floor(ice[m].mean() * 10 + 0.5)
        assert row["CT"] == ("92" if tenths == 10 else f"{tenths * 10:02d}") or tenths == 0


def test_fast_ice_lines_the_coast_without_leads(coastal: object) -> None:
    tr = coastal.truth  # type: ignore[attr-defined]
    land = tr["land_mask"].values == 1
    d_km = ndimage.distance_transform_edt(~land) * 0.04
    near = ~land & (d_km < 0.3)
    assert tr["ice"].values[near].mean() > 0.95
    fast = tr["feature"].values == 2
    assert fast.any() and not tr["lead"].values[fast].any()
    assert (tr["ice"].values[fast] == 1).all()


def test_ice_edge_band_thins_out_away_from_the_pack() -> None:
    p = SceneParams(
        ice_concentration_mean=0.5, ice_concentration_kappa=1.0, ice_edge_band_km=0.8,
        concentration_scale_km=6.0, lead_spacing_km=1e6, wind_speed=3.0,
        pancake_db=(-9.0, -22.0), hv_noise_floor_db=-70.0,
    )  # fmt: skip
    sc = make_scene(7, shape=(384, 384), params=p)
    tr = sc.truth
    cakes = tr["feature"].values == 3
    pack = (tr["ice"].values == 1) & ~cakes
    d_km = ndimage.distance_transform_edt(~pack) * 0.04
    sea = ~pack

    def frac(lo: float, hi: float) -> float:
        m = sea & (d_km > lo) & (d_km <= hi)
        return float(cakes[m].mean())

    # density 0.75 (1 - d / w) with w = 0.8 km (1 + 0.4 g): none beyond ~2 km
    assert frac(0.0, 0.2) > frac(0.5, 0.8) > frac(2.0, 1e9)
    assert frac(2.0, 1e9) == 0.0
    assert (tr["ice_type"].values[cakes] == 1).all()  # winter: pancakes are new ice
    assert not tr["lead"].values[cakes].any()
    hh = boxcar(sc.dataset["hh"].values[0])
    calm = sea & ~cakes & (d_km > 2.0)
    assert np.median(hh[cakes]) > np.median(hh[calm]) + 3.0


def test_refrozen_leads_are_dark_in_hv_and_bright_in_hh() -> None:
    p = homogeneous(
        lead_spacing_km=2.0, lead_refrozen_fraction=1.0, lead_width_px=(6.0, 10.0),
        refrozen_lead_db=(-12.0, -30.0),
    )  # fmt: skip
    sc = make_scene(8, shape=SHAPE, params=p)
    feat = sc.truth["feature"].values
    lead = ndimage.binary_erosion(feat == 1, iterations=2)
    floe = ndimage.binary_erosion(feat == 0, iterations=3) & (sc.truth["ice"].values == 1)
    assert lead.sum() > 200
    inc = sc.dataset["incidence_angle"].values[0]
    hh, hv = lin(sc.dataset["hh"].values[0]), lin(sc.dataset["hv"].values[0])
    exp_hh = lin(-12.0 + p.hh_slope[0] * (inc - 30.0))
    assert hh[lead].mean() / exp_hh[lead].mean() == pytest.approx(1.0, rel=0.1)
    assert hh[lead].mean() > hh[floe].mean() and hv[lead].mean() < hv[floe].mean()


# ---------------------------------------------------------------------------------------
# water: streaks and swell; radiometer weather
# ---------------------------------------------------------------------------------------


def test_wind_streaks_are_elongated_along_the_wind() -> None:
    sc = make_scene(9, shape=SHAPE, params=water(wind_direction=90.0, wind_streak_db=2.0))
    db = boxcar(sc.dataset["hh"].values[0])
    db = db - db.mean(axis=0, keepdims=True)
    along = float(np.corrcoef(db[:, 12:].ravel(), db[:, :-12].ravel())[0, 1])
    across = float(np.corrcoef(db[12:, :].ravel(), db[:-12, :].ravel())[0, 1])
    assert along > across + 0.2


def test_swell_has_its_wavelength_on_open_water() -> None:
    # travelling along y: the pattern varies down the rows, the incidence trend across them
    p = water(swell_amplitude_db=2.0, swell_wavelength_m=320.0, swell_direction=90.0)
    db = make_scene(10, shape=SHAPE, params=p).dataset["hh"].values[0].astype(np.float64)
    db = db - db.mean(axis=0, keepdims=True)
    spec = (np.abs(np.fft.rfft(db, axis=0)) ** 2).mean(axis=1)
    assert int(np.argmax(spec[4:])) + 4 == SHAPE[0] * 40 // 320


def test_weather_warms_open_water_only() -> None:
    def tb(p: SceneParams) -> np.ndarray:
        return make_scene(11, shape=(128, 128), params=p).dataset["tb36h"].values

    dry, wet = tb(water()), tb(water(weather_k=20.0))
    assert 5.0 < float((wet - dry).mean()) < 40.0
    ice = homogeneous()
    assert abs(float((tb(ice.replace(weather_k=20.0)) - tb(ice)).mean())) < 0.2


# ---------------------------------------------------------------------------------------
# randomisation, plausibility, generator B
# ---------------------------------------------------------------------------------------


def test_sample_params_randomises_every_table() -> None:
    rng = np.random.default_rng(0)
    ps = [sample_params(rng) for _ in range(80)]
    cal = np.array([p.calibration_offset_db[0] for p in ps])
    assert np.abs(cal).max() <= 2.0 and cal.max() - cal.min() > 2.0
    assert np.ptp([p.swath_offset_km for p in ps]) > 300.0
    assert 0.15 < np.mean([p.land_fraction > 0 for p in ps]) < 0.6
    assert np.std([p.hh_db[2] for p in ps]) > 1.0 and np.std([p.hv_db[3] for p in ps]) > 1.0
    assert np.ptp([p.weather_k for p in ps]) > 15.0 and np.ptp([p.enl for p in ps]) > 6.0
    for p in ps:
        assert np.isfinite(p.refrozen_lead_db).all() == (p.season == "winter")
        assert 75.0 <= p.impulse_response_m <= 105.0


@pytest.mark.parametrize("generator", ["A", "B"])
def test_randomised_scenes_stay_in_real_s1_ranges(generator: str) -> None:
    for season in ("winter", "summer"):
        sc = make_scene(12, shape=(128, 128), season=season, randomize=True, generator=generator)
        ice = sc.truth["ice"].values == 1
        hh, hv = boxcar(sc.dataset["hh"].values[0]), boxcar(sc.dataset["hv"].values[0])
        if ice.any():
            assert -30.0 < np.median(hh[ice]) < 0.0 and -35.0 < np.median(hv[ice]) < -10.0
        sea = ~ice & (sc.truth["land_mask"].values == 0)
        if sea.any():
            assert -35.0 < np.median(hh[sea]) < 0.0


def _solidity(labels: np.ndarray) -> list[float]:
    """Area / convex-hull area of every labelled floe of at least 30 pixels."""
    out = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        m = labels[sl] == i
        if m.sum() < 30:
            continue
        yy, xx = np.nonzero(m)
        corners = np.concatenate([np.stack([yy + a, xx + b], 1) for a in (0, 1) for b in (0, 1)])
        out.append(m.sum() / ConvexHull(corners).volume)
    return out


def test_generator_b_makes_structurally_different_floes() -> None:
    p = SceneParams(
        ice_concentration_mean=0.75, ice_concentration_kappa=20.0, lead_spacing_km=1e6,
        floe_size_max_m=3000.0,
    )  # fmt: skip
    sol = {}
    for g in "AB":
        floe = make_scene(1, shape=(224, 224), params=p, generator=g).truth["floe"].values
        sol[g] = _solidity(floe)
    assert len(sol["A"]) > 10 and len(sol["B"]) > 10
    # shrunk Voronoi cells are nearly convex; fractured, bent pieces are not
    assert np.median(sol["A"]) > np.median(sol["B"]) + 0.05
    sc = make_scene(1, shape=(64, 64), params=p, generator="B")
    assert sc.params.speckle_model == "complex" and sc.params.texture_model == "fractal"
    assert sc.dataset.attrs["generator"] == "B"


def test_unknown_generator_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="generator"):
        make_scene(0, shape=(32, 32), generator="C")  # type: ignore[arg-type]
