"""densify, co-location and the interpolation baselines."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from xseaice.altimetry import densify
from xseaice.altimetry.baselines import inverse_distance, nearest_track, ordinary_kriging
from xseaice.altimetry.colocate import colocate
from xseaice.exceptions import InvalidArgumentError, MissingVariablesError
from xseaice.synthetic import make_scene
from xseaice.synthetic.elevation import make_elevation
from xseaice.synthetic.tracks import simulate_tracks


@pytest.fixture(scope="module")
def case():
    sc = make_scene(21, shape=(160, 160))
    elev = make_elevation(sc)
    pts = simulate_tracks(sc.dataset, elev, mission="icesat2", n_tracks=2, seed=5, max_dt="12h")
    return sc, elev, pts


def test_densify_maps_the_truth_with_honest_uncertainty(case) -> None:
    sc, elev, pts = case
    fb = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"])
    truth = elev["freeboard"].values
    ice = sc.truth["ice"].values == 1
    assert fb.dims == ("y", "x") and fb.shape == truth.shape
    np.testing.assert_array_equal(fb["x"].values, sc.dataset["x"].values)
    assert fb.attrs["method"] == "regression-kriging"
    # leads are the sea-surface reference: exactly 0 freeboard there, with no uncertainty
    assert np.all(fb.values[~ice] == 0) and np.all(fb["uncertainty"].values[~ice] == 0)
    assert np.all(fb["uncertainty"].values[ice] > 0)
    # usable points: floe samples on ice pixels of the grid (counted independently)
    on = colocate(sc.dataset, pts)
    floe = on[(on["surface"] == "floe") & ice[on["row"], on["col"]]]
    assert fb.attrs["n_points"] == len(floe)
    rmse = float(np.sqrt(np.mean((fb.values - truth) ** 2)))
    constant = float(np.sqrt(np.mean((np.where(ice, floe["freeboard"].mean(), 0) - truth) ** 2)))
    assert rmse < 0.8 * constant
    err = np.abs(fb.values - truth)[ice]
    cover = float(np.mean(err <= 1.645 * fb["uncertainty"].values[ice]))
    assert 0.75 < cover < 0.99
    # calibrated on held-out blocks of track: the stated levels hold against the truth
    assert fb.attrs["calibration_folds"] >= 2 and fb.attrs["calibration_scale"] > 0
    cover68 = float(np.mean(err <= fb["uncertainty"].values[ice]))
    cover90 = float(np.mean(err <= fb.attrs["z90"] * fb["uncertainty"].values[ice]))
    assert 0.55 < cover68 < 0.85 and 0.8 < cover90 < 0.98, (cover68, cover90)
    assert fb.attrs["regressor"] == "boosted"
    uncal = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"], calibrate=False)
    np.testing.assert_allclose(
        fb["uncertainty"].values[ice],
        fb.attrs["calibration_scale"] * uncal["uncertainty"].values[ice],
        rtol=1e-4,
    )


def test_regression_only_and_no_lead_map(case) -> None:
    sc, elev, pts = case
    plain = densify(sc.dataset, pts, "freeboard", method="regression")
    assert plain.attrs["residual_kernel"] == "none"
    assert np.isfinite(plain.values).all() and (plain["uncertainty"].values > 0).all()
    truth = elev["freeboard"].values
    assert float(np.sqrt(np.mean((plain.values - truth) ** 2))) < float(truth.std())


def test_max_dt_and_errors(case) -> None:
    sc, _, pts = case
    t0 = pd.Timestamp(sc.dataset["time"].values[0])
    near = colocate(sc.dataset, pts, max_dt="2h")
    expect = int(((pd.to_datetime(pts["time"]) - t0).abs() <= pd.Timedelta("2h")).sum())
    assert len(near) <= expect and (near["dt_s"].abs() <= 7200).all()
    far = pts.assign(time=pd.to_datetime(pts["time"]) + pd.Timedelta("30D"))
    with pytest.raises(InvalidArgumentError, match="usable points"):
        densify(sc.dataset, far, max_dt="1D")
    with pytest.raises(InvalidArgumentError, match="method must be one of"):
        densify(sc.dataset, pts, method="magic")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="no column 'thickness'"):
        densify(sc.dataset, pts, "thickness")
    with pytest.raises(InvalidArgumentError, match="ice must be a 0/1 map"):
        densify(sc.dataset, pts, ice=np.ones((3, 3)))
    with pytest.raises(InvalidArgumentError, match="CRS"):
        densify(sc.dataset, pd.DataFrame(pts.drop(columns="geometry")))  # type: ignore[arg-type]
    with pytest.raises(MissingVariablesError, match="hh"):
        densify(sc.dataset.drop_vars("hh"), pts)


def test_footprint_averaging_cryosat2() -> None:
    """A 1.6 km footprint model fitted on footprint means predicts at the pixel."""
    sc = make_scene(23, shape=(160, 160))
    elev = make_elevation(sc)
    pts = simulate_tracks(sc.dataset, elev, mission="cryosat2", n_tracks=3, seed=2)
    fb = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"])
    truth = elev["ice_freeboard"].values
    assert float(np.sqrt(np.mean((fb.values - truth) ** 2))) < float(truth.std())


def test_cryosat2_uncertainty_keeps_what_the_footprints_miss() -> None:
    sc = make_scene(23, shape=(256, 256))
    elev = make_elevation(sc)
    pts = simulate_tracks(sc.dataset, elev, mission="cryosat2", n_tracks=3, seed=2)
    fb = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"])
    truth = elev["ice_freeboard"].values
    # the pixel's unexplained variance is at least what the held-out footprints miss
    # beyond their 0.1 m noise (the GP's nugget sits at the noise and cannot tell)
    ice = sc.truth["ice"].values == 1
    missed = fb.attrs["cv_rmse"] ** 2 - 0.1**2
    assert missed > 0
    floor = fb.attrs["calibration_scale"] * np.sqrt(missed)
    assert float(fb["uncertainty"].values[ice].min()) >= floor * (1 - 1e-5)
    err = np.abs(fb.values - truth)[ice]
    assert np.mean(err <= fb.attrs["z90"] * fb["uncertainty"].values[ice]) > 0.85


def test_baselines_interpolate_their_points() -> None:
    x = np.arange(10) * 100.0
    y = -np.arange(8) * 100.0
    pts = pd.DataFrame({"x": [0.0, 900.0, 400.0], "y": [0.0, -700.0, -300.0], "v": [1.0, 3.0, 2.0]})
    near = nearest_track(pts, "v", x, y)
    assert near[0, 0] == 1.0 and near[7, 9] == 3.0 and near[3, 4] == 2.0
    idw = inverse_distance(pts, "v", x, y)
    assert idw[0, 0] == pytest.approx(1.0, abs=1e-6) and idw[3, 4] == pytest.approx(2.0, abs=1e-6)
    # midway between two points at equal distance: the mean of the two
    two = pts.iloc[:2]
    assert inverse_distance(two, "v", np.array([450.0]), np.array([-350.0]))[0, 0] == pytest.approx(
        2.0
    )
    rng = np.random.default_rng(0)
    many = pd.DataFrame({"x": rng.uniform(0, 900, 60), "y": rng.uniform(-700, 0, 60)})
    many["v"] = many["x"] / 900.0
    ok = ordinary_kriging(many, "v", x, y)
    gx = np.broadcast_to(x / 900.0, ok.shape)
    assert float(np.abs(ok - gx).mean()) < 0.1
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        nearest_track(pts.iloc[:1], "v", x, y)


def test_points_need_a_crs_and_fall_on_the_grid(case) -> None:
    sc, _, pts = case
    moved = pts.to_crs(sc.dataset.odc.crs)
    moved = gpd.GeoDataFrame(moved, geometry=moved.geometry.translate(1e6, 0), crs=moved.crs)
    assert len(colocate(sc.dataset, moved)) == 0
    same = colocate(sc.dataset, pts)
    assert same["row"].between(0, 159).all() and same["col"].between(0, 159).all()


def _translation(ds, dx: float, dy: float, hours: float):
    import xarray as xr

    t0 = pd.Timestamp(ds["time"].values[0])
    x, y = ds["x"].values[::8], ds["y"].values[::8]
    field = xr.Dataset(
        {
            "u": (("y", "x"), np.full((y.size, x.size), dx, dtype=np.float32)),
            "v": (("y", "x"), np.full((y.size, x.size), dy, dtype=np.float32)),
        },
        coords={"y": y, "x": x, "spatial_ref": ds["spatial_ref"]},
    )
    field.attrs = {"time_a": str(t0), "time_b": str(t0 + pd.Timedelta(hours=hours))}
    return field


def test_drift_moves_late_points_back_onto_the_scene(case) -> None:
    sc, elev, pts = case
    ds = sc.dataset
    one = pts[pts["track"] == 0].copy()
    one["pid"] = np.arange(len(one))
    one["time"] = pd.Timestamp(ds["time"].values[0])
    # the ice drifts 1.2 km east and 0.8 km south in 10 h; a pass 10 h later sees it moved
    field = _translation(ds, 1200.0, -800.0, 10.0)
    late = one.to_crs(ds.odc.crs)
    late = late.set_geometry(late.geometry.translate(1200.0, -800.0)).to_crs(one.crs)
    late["time"] = pd.Timestamp(ds["time"].values[0]) + pd.Timedelta(hours=10)
    back = colocate(ds, late, drift=field)
    ref = colocate(ds, one)
    merged = back.merge(ref, on="pid", suffixes=("", "_ref"))
    assert len(merged) > 0.9 * len(ref)
    assert back["drift_valid"].all()  # points the drift field does not cover are dropped
    np.testing.assert_allclose(merged["x"], merged["x_ref"], atol=1e-3)
    np.testing.assert_allclose(merged["y"], merged["y_ref"], atol=1e-3)
    assert (back["dt_s"] == 36000.0).all()
    truth = elev["freeboard"].values
    fixed = densify(ds, late, ice=sc.truth["ice"], drift=field)
    naive = densify(ds, late, ice=sc.truth["ice"])
    err = [float(np.sqrt(np.mean((m.values - truth) ** 2))) for m in (fixed, naive)]
    assert err[0] < err[1]
    with pytest.raises(InvalidArgumentError, match="time"):
        densify(ds.drop_vars("time").squeeze(), late, drift=field)


def test_accessor_and_top_level_forward(case) -> None:
    import xseaice

    sc, _, pts = case
    via = sc.dataset.seaice.densify(pts, "freeboard", ice=sc.truth["ice"], method="regression")
    direct = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"], method="regression")
    np.testing.assert_array_equal(via.values, direct.values)
    assert xseaice.densify is densify


def test_basis_blocks_match_the_pixels_and_the_draw(monkeypatch) -> None:
    import itertools

    from xseaice.altimetry import features as F

    monkeypatch.setattr(F, "_BLOCK_PIXELS", 112 * 10)  # 10 rows a block, the last one short

    sc = make_scene(22, shape=(96, 112))
    ice = sc.truth["ice"].values == 1
    basis = F.make_basis(F.sar_features(sc.dataset, ice, 40.0), ice, n_clusters=4, seed=3)
    assert basis.names[:2] == ["level", "class_0"] and basis.names[-1] == "hv_floe"
    rows, cols = np.nonzero(np.ones((96, 112), dtype=bool))
    whole = basis.at(rows, cols)
    assert whole.shape == (len(basis.names), 96 * 112)
    # every class indicator sums to one on the ice, zero on water; z-scores are zero there
    classes = whole[1:5].reshape(4, 96, 112)
    np.testing.assert_array_equal(classes.sum(axis=0), ice.astype(float))
    assert np.all(whole[5:, ~ice.ravel()] == 0)
    # blocks of rows tile the scene and give the same numbers
    blocks = basis.blocks()
    assert len(blocks) == 10 and blocks[0][0] == 0 and blocks[-1] == (90, 96)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
    np.testing.assert_array_equal(np.concatenate([basis.rows(a, b) for a, b in blocks], 1), whole)
    # the k-means sample is numpy's draw over the support pixels, found without the index
    flat = np.flatnonzero(ice)
    expect = flat[np.random.default_rng(9).choice(flat.size, size=500, replace=False)]
    r, c = F._support_sample(ice, 500, np.random.default_rng(9))
    np.testing.assert_array_equal(r * 112 + c, expect)


def test_densify_does_not_depend_on_the_block_size(case, monkeypatch) -> None:
    from xseaice.altimetry import features as F

    sc, _, pts = case
    one = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"])
    monkeypatch.setattr(F, "_BLOCK_PIXELS", 160 * 7)  # 7 rows a block, the last one short
    many = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"])
    np.testing.assert_array_equal(one.values, many.values)
    np.testing.assert_array_equal(one["uncertainty"].values, many["uncertainty"].values)
