"""The learned densify prior, the prior= path of densify, and varied elevation physics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import save_file

from xseaice.altimetry import densify
from xseaice.altimetry.colocate import colocate
from xseaice.altimetry.prior import DensifyPrior
from xseaice.exceptions import InvalidArgumentError, WeightsError
from xseaice.synthetic import make_scene
from xseaice.synthetic.elevation import ElevationParams, make_elevation
from xseaice.synthetic.tracks import simulate_tracks


def _world(seed: int, size: int = 128):
    sc = make_scene(seed, shape=(size, size))
    elev = make_elevation(sc, params=ElevationParams.varied(seed))
    return sc, sc.dataset.assign(ice=sc.truth["ice"]), elev


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.fixture(scope="module")
def trained():
    scenes, points = [], []
    for seed in range(41, 53):
        _, ds, elev = _world(seed)
        scenes.append(ds)
        points.append(simulate_tracks(ds, elev, mission="icesat2", n_tracks=2, seed=seed))
    floe = pd.concat([colocate(d, p) for d, p in zip(scenes, points, strict=True)])
    climatology = float(floe.loc[floe["surface"] == "floe", "freeboard"].mean())
    return DensifyPrior.fit(scenes, points, "freeboard", steps=1500, progress=False), climatology


def test_prior_learns_sar_to_freeboard_on_new_scenes(trained) -> None:
    model, climatology = trained
    ours, flat = [], []
    for seed in (77, 78, 79):
        sc, ds, elev = _world(seed)
        prior = model.predict(ds)
        ice = sc.truth["ice"].values == 1
        truth = elev["freeboard"].values
        assert prior.dims == ("y", "x") and prior.shape == truth.shape
        assert np.all(prior.values[~ice] == 0) and np.all(prior.values[ice] >= 0)
        ours.append(_rmse(prior.values, truth))
        flat.append(_rmse(np.where(ice, climatology, 0.0), truth))
    # without a single point on these scenes, better than the training points' mean
    assert np.mean(ours) < 0.8 * np.mean(flat), (ours, flat)
    assert model.n_points > 50 and "hh_floe" in model.feature_names


def test_prior_round_trips_through_safetensors(trained, tmp_path) -> None:
    trained = trained[0]
    _, ds, _ = _world(78, size=64)
    path = tmp_path / "prior.safetensors"
    digest = trained.save(path)
    back = DensifyPrior.load(path, sha256=digest)
    assert back.feature_names == trained.feature_names and back.value == "freeboard"
    np.testing.assert_array_equal(back.predict(ds).values, trained.predict(ds).values)
    with pytest.raises(WeightsError, match="sha256"):
        DensifyPrior.load(path, sha256="0" * 64)
    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(other))
    with pytest.raises(InvalidArgumentError, match="not a densify prior"):
        DensifyPrior.load(other)


def test_prior_errors_name_the_fix(trained) -> None:
    trained = trained[0]
    _, ds, _ = _world(79, size=64)
    with pytest.raises(InvalidArgumentError, match="floe/lead map"):
        trained.predict(ds.drop_vars("ice"))
    with pytest.raises(InvalidArgumentError, match="incidence_angle"):
        trained.predict(ds.drop_vars("incidence_angle"))
    with pytest.raises(InvalidArgumentError, match="one entry per scene"):
        DensifyPrior.fit([ds], [], "freeboard")


def test_densify_corrects_a_mis_scaled_prior_with_the_points() -> None:
    sc, ds, elev = _world(81, size=160)
    truth = elev["freeboard"].values
    pts = simulate_tracks(ds, elev, mission="icesat2", n_tracks=2, seed=3)
    # the truth's pattern at 1.4 times its scale: the points must pull it back
    wrong = 1.4 * truth
    fb = densify(ds, pts, "freeboard", ice=sc.truth["ice"], prior=wrong)
    assert fb.attrs["prior"] == 1
    assert _rmse(fb.values, truth) < 0.5 * _rmse(wrong, truth)
    # the exact truth as prior: little is left for the points to fix
    exact = densify(ds, pts, "freeboard", ice=sc.truth["ice"], prior=elev["freeboard"])
    plain = densify(ds, pts, "freeboard", ice=sc.truth["ice"])
    assert _rmse(exact.values, truth) < 0.5 * _rmse(plain.values, truth)
    assert np.all(exact.values[sc.truth["ice"].values == 0] == 0)


def test_densify_rejects_a_prior_off_the_grid() -> None:
    _, ds, elev = _world(82, size=64)
    pts = simulate_tracks(ds, elev, mission="icesat2", n_tracks=2, seed=3)
    with pytest.raises(InvalidArgumentError, match="prior must be a map"):
        densify(ds, pts, "freeboard", prior=np.zeros((10, 10)))
    with pytest.raises(InvalidArgumentError, match="no finite value"):
        densify(ds, pts, "freeboard", prior=np.full((64, 64), np.nan))


def test_varied_physics_is_a_seeded_draw_around_the_defaults() -> None:
    a, b = ElevationParams.varied(1), ElevationParams.varied(2)
    assert a == ElevationParams.varied(1) and a != b
    base = ElevationParams()
    for p in (a, b):
        assert 0.15 <= p.sar_coupling <= 0.35 and 0.10 <= p.floe_sigma <= 0.20
        ratio = np.asarray(p.thickness_m) / np.asarray(base.thickness_m)
        assert np.all((ratio > 0.3) & (ratio < 3.0))
        assert p.ice_density == base.ice_density
