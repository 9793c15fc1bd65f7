"""The SAR evidence of densify: ice-only smoothing, floe classes, the unshrunk level."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from xseaice.altimetry import densify
from xseaice.altimetry import features as F
from xseaice.synthetic import make_scene
from xseaice.synthetic.elevation import make_elevation
from xseaice.synthetic.tracks import simulate_tracks


def _scene(hh: np.ndarray, hv: np.ndarray) -> xr.Dataset:
    ny, nx = hh.shape
    return xr.Dataset(
        {"hh": (("y", "x"), hh), "hv": (("y", "x"), hv)},
        coords={"y": -40.0 * np.arange(ny), "x": 40.0 * np.arange(nx)},
    )


def test_smoothing_averages_the_ice_pixels_only() -> None:
    rng = np.random.default_rng(4)
    ny, nx = 24, 30
    ice = np.ones((ny, nx), dtype=bool)
    ice[:, 11:13] = False  # a lead two pixels wide
    ice[5:8, 20:26] = False  # and a pond-sized opening
    hh = rng.normal(-18.0, 2.0, (ny, nx)).astype(np.float32)
    hv = rng.normal(-26.0, 2.0, (ny, nx)).astype(np.float32)
    feats = F.sar_features(_scene(hh, hv), ice, 40.0)
    # by hand: the mean over the ice pixels of the 5 x 5 window (reflected at the edges)
    pad = np.pad(hh, 2, mode="symmetric")
    wpad = np.pad(ice, 2, mode="symmetric")
    expect = np.empty_like(hh)
    for r in range(ny):
        for c in range(nx):
            win, w = pad[r : r + 5, c : c + 5], wpad[r : r + 5, c : c + 5]
            expect[r, c] = win[w].mean() if w.any() else np.nan
    np.testing.assert_allclose(feats["hh"][ice], expect[ice], rtol=1e-5)
    # the water's backscatter does not reach the ice features at all
    loud = _scene(np.where(ice, hh, 40.0).astype(np.float32), np.where(ice, hv, 40.0))
    again = F.sar_features(loud, ice, 40.0)
    for name in ("hh", "hv", "hh_1km", "hv_1km", "hh_floe", "hv_floe"):
        np.testing.assert_allclose(again[name][ice], feats[name][ice], rtol=1e-5, err_msg=name)
    # without a lead map the plain boxcar (scipy's) is kept
    plain = F.sar_features(_scene(hh, hv), None, 40.0)
    np.testing.assert_allclose(plain["hh"], ndimage.uniform_filter(hh, 5, mode="reflect"))


def test_floe_classes_are_one_class_per_floe() -> None:
    sc = make_scene(24, shape=(128, 128))
    ice = sc.truth["ice"].values == 1
    ice[:, 40:42] = ice[70:72, :] = ice[:, 95:97] = False  # straight leads: several floes
    feats = F.sar_features(sc.dataset, ice, 40.0)
    floe = F.make_basis(feats, ice, n_clusters=5, seed=1, cluster_on="floe")
    labels, n = ndimage.label(ice)
    assert n > 3
    for k in range(1, n + 1):  # a floe (connected ice between leads) is in a single class
        assert np.unique(floe.label[labels == k]).size == 1
    assert np.all(floe.label[~ice] == -1) and np.unique(floe.label[ice]).size > 1
    pixel = F.make_basis(feats, ice, n_clusters=5, seed=1, cluster_on="pixel")
    assert max(np.unique(pixel.label[labels == k]).size for k in range(1, n + 1)) > 1
    # no lead map, no floe means: the pixel classes
    whole = np.ones_like(ice)
    nofloe = F.sar_features(sc.dataset, None, 40.0)
    a = F.make_basis(nofloe, whole, n_clusters=5, seed=1, cluster_on="floe")
    b = F.make_basis(nofloe, whole, n_clusters=5, seed=1, cluster_on="pixel")
    np.testing.assert_array_equal(a.label, b.label)


def test_few_footprints_keep_their_mean_level() -> None:
    """A constant ice freeboard seen by two CryoSat-2 passes: the map keeps the points' mean.

    The level is the intercept of the footprint regression; shrunk like the other
    coefficients, a few dozen noisy footprints would pull the whole map towards zero.
    """
    sc = make_scene(25, shape=(256, 256))
    elev = make_elevation(sc)
    ice = sc.truth["ice"].values == 1
    elev["ice_freeboard"] = elev["ice_freeboard"].where(~ice, 0.3)
    pts = simulate_tracks(sc.dataset, elev, mission="cryosat2", n_tracks=2, seed=3)
    fb = densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"])
    floe = pts[pts["surface"].astype(str) == "floe"]
    assert 10 <= fb.attrs["n_points"] <= len(floe)
    sample_mean = float(floe["freeboard"].mean())
    se = 0.1 / np.sqrt(fb.attrs["n_points"])
    # within a quarter of the sample mean's standard error (a level shrunk like the
    # features, with _LEVEL_SCALE = 10, lands 0.4 standard errors low here)
    assert abs(float(fb.values[ice].mean()) - sample_mean) < 0.25 * se
    assert abs(float(fb.values[ice].mean()) - 0.3) < 3 * se


def test_the_largest_floes_get_an_offset_map_each(monkeypatch) -> None:
    monkeypatch.setattr(F, "_MIN_FLOE_PX", 30)
    support = np.zeros((40, 50), dtype=bool)
    support[0:10, 0:10] = True  # 100 px
    support[20:40, 0:5] = True  # 100 px, found later in scan order
    support[0:6, 20:50] = True  # 180 px: the largest
    support[30:35, 30:35] = True  # 25 px: below the minimum
    floe, n = F._largest_floes(support, 3)
    assert n == 3 and floe.dtype == np.int16
    assert np.all(floe[0:6, 20:50] == 0)
    assert {int(floe[0, 0]), int(floe[25, 2])} == {1, 2}  # the two of 100 px, in some order
    assert np.all(floe[30:35, 30:35] == -1) and np.all(floe[~support] == -1)
    assert F._largest_floes(support, 1)[1] == 1
    # in the basis: one map per floe, the floe's pixels at _FLOE_SCALE, zero elsewhere
    rng = np.random.default_rng(0)
    feats = {"hh": rng.normal(size=support.shape).astype(np.float32)}
    feats["hv"] = rng.normal(size=support.shape).astype(np.float32)
    basis = F.make_basis(feats, support, n_clusters=2, seed=0, n_floes=3)
    assert basis.names[-3:] == ["floe_0", "floe_1", "floe_2"]
    rows, cols = np.nonzero(np.ones(support.shape, dtype=bool))
    maps = basis.at(rows, cols)[-3:].reshape(3, *support.shape)
    for k in range(3):
        np.testing.assert_array_equal(maps[k], np.where(floe == k, F._FLOE_SCALE, 0.0))
    # no lead map (support everywhere): no floe maps
    assert F.make_basis(feats, np.ones_like(support), n_clusters=2, n_floes=3).n_floes == 0


def test_an_unseen_basis_map_keeps_its_prior_variance() -> None:
    """A class or floe no point sees: coefficient 0, the prior's variance (not 0)."""
    from sklearn.linear_model import BayesianRidge

    from xseaice.altimetry.densify import _fit_regression

    rng = np.random.default_rng(1)
    design = np.column_stack([np.full(40, 10.0), rng.normal(size=40), np.zeros(40)])
    y = 0.2 + 0.05 * design[:, 1] + rng.normal(0, 0.01, 40)
    beta, cov, resid = _fit_regression(design, y)
    ref = BayesianRidge(fit_intercept=False).fit(design[:, :2], y)
    np.testing.assert_allclose(beta[:2], ref.coef_)
    np.testing.assert_allclose(cov[:2, :2], ref.sigma_)
    assert beta[2] == 0 and cov[2, 2] == pytest.approx(1.0 / ref.lambda_)
    assert np.all(cov[2, :2] == 0) and np.all(cov[:2, 2] == 0)
    np.testing.assert_allclose(resid, y - design[:, :2] @ ref.coef_)
