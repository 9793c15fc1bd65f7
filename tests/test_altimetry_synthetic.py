"""Synthetic elevation truth and altimeter tracks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic import make_scene
from xseaice.synthetic.elevation import (
    RHO_SNOW,
    RHO_WATER,
    ElevationParams,
    make_elevation,
    scene_deformation,
)
from xseaice.synthetic.tracks import simulate_tracks


@pytest.fixture(scope="module")
def world():
    sc = make_scene(11, shape=(192, 192))
    return sc, make_elevation(sc)


def test_elevation_physics(world) -> None:
    sc, elev = world
    ice = sc.truth["ice"].values == 1
    itype = np.clip(sc.truth["ice_type"].values.astype(int) - 1, 0, 3)
    fb, fi = elev["freeboard"].values, elev["ice_freeboard"].values
    h, hs = elev["ice_thickness"].values, elev["snow_depth"].values
    assert np.all(fb[~ice] == 0) and np.all(h[~ice] == 0)  # leads at local sea level
    rho_i = np.asarray(ElevationParams().ice_density)[itype]
    archimedes = np.maximum((h * (RHO_WATER - rho_i) - hs * RHO_SNOW) / RHO_WATER, 0.0)
    np.testing.assert_allclose(fi[ice], archimedes[ice], atol=1e-5)
    np.testing.assert_allclose(fb, fi + hs, atol=1e-5)
    np.testing.assert_allclose(
        elev["surface_height"].values, elev["sea_surface"].values + fb, atol=1e-5
    )
    means = [
        fb[sc.truth["ice_type"].values == t].mean()
        for t in (1, 2, 3, 4)
        if (sc.truth["ice_type"].values == t).sum() > 50
    ]
    assert means == sorted(means)  # thicker ice types float higher
    assert 0.05 < fb[ice].mean() < 0.8


def test_deformation_is_what_the_sar_shows(world) -> None:
    sc, elev = world
    ice = sc.truth["ice"].values == 1
    hh = sc.dataset["hh"].values[0].astype(float)
    # remove the per-type, per-incidence mean of the scene's own HH; smooth out speckle
    p = sc.params
    itype = np.clip(sc.truth["ice_type"].values.astype(int) - 1, 0, 3)
    th = sc.dataset["incidence_angle"].values[0]
    base = np.asarray(p.hh_db)[itype] + np.asarray(p.hh_slope)[itype] * (th - 30.0)
    seen = ndimage.uniform_filter(np.where(ice, hh - base, 0.0), 7)
    truth = ndimage.uniform_filter(elev["deformation"].values, 7)
    inner = ndimage.binary_erosion(ice, iterations=4)
    assert np.corrcoef(seen[inner], truth[inner])[0, 1] > 0.6
    other = dataclasses.replace(sc, seed=sc.seed + 1)
    with pytest.raises(InvalidArgumentError, match="scene"):
        scene_deformation(other)


def test_cryosat2_tracks(world) -> None:
    sc, elev = world
    pts = simulate_tracks(sc.dataset, elev, mission="cryosat2", n_tracks=2, seed=3, max_dt="3h")
    assert set(pts["track"]) == {0, 1}
    t0 = np.datetime64(sc.dataset["time"].values[0])
    assert (np.abs(pts["time"].to_numpy() - t0) <= np.timedelta64(3 * 3600 + 60, "s")).all()
    one = pts[pts["track"] == 0]
    steps = np.hypot(np.diff(one["x"]), np.diff(one["y"]))
    np.testing.assert_allclose(steps, 300.0, atol=1e-6)
    floe = pts[pts["surface"] == "floe"]
    assert floe["freeboard"].notna().all()
    assert pts.loc[pts["surface"] == "lead", "freeboard"].isna().all()
    # a floe sample is the mean of the ice freeboard in its footprint plus 0.1 m noise
    x, y = sc.truth["x"].values, sc.truth["y"].values
    col = np.round((floe["x"] - x[0]) / (x[1] - x[0])).astype(int)
    row = np.round((floe["y"] - y[0]) / (y[1] - y[0])).astype(int)
    smooth = ndimage.uniform_filter(elev["ice_freeboard"].values, 25)
    d = floe["freeboard"].to_numpy() - smooth[row, col]
    assert abs(d.mean()) < 0.1 and 0.05 < d.std() < 0.25


def test_icesat2_beams(world) -> None:
    sc, elev = world
    pts = simulate_tracks(sc.dataset, elev, mission="icesat2", n_tracks=1, seed=8)
    assert set(pts["beam"]) <= {"gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"}
    assert {"gt2l", "gt2r"} <= set(pts["beam"])
    a = pts[pts["beam"] == "gt2l"][["x", "y"]].to_numpy()
    b = pts[pts["beam"] == "gt2r"][["x", "y"]].to_numpy()
    u = (a[-1] - a[0]) / np.linalg.norm(a[-1] - a[0])
    normal = np.array([-u[1], u[0]])
    sep = abs(float(np.median(b @ normal) - np.median(a @ normal)))
    assert sep == pytest.approx(90.0, abs=1.0)
    # strong beams: short segments, ~2 cm noise; weak: longer, ~4 cm
    x, y = sc.truth["x"].values, sc.truth["y"].values
    for strong, spacing, noise in ((True, 30.0, 0.02), (False, 90.0, 0.04)):
        sel = pts[(pts["strong_beam"] == strong) & (pts["surface"] == "floe")]
        col = np.round((sel["x"] - x[0]) / (x[1] - x[0])).astype(int)
        row = np.round((sel["y"] - y[0]) / (y[1] - y[0])).astype(int)
        d = sel["freeboard"].to_numpy() - elev["freeboard"].values[row, col]
        assert d.std() == pytest.approx(noise, rel=0.25)
        beam = pts[pts["beam"] == sel["beam"].iloc[0]]
        gaps = np.hypot(np.diff(beam["x"]), np.diff(beam["y"]))
        assert np.median(gaps) == pytest.approx(spacing, rel=0.3)
    with pytest.raises(InvalidArgumentError, match="mission"):
        simulate_tracks(sc.dataset, elev, mission="swot")  # type: ignore[arg-type]
