"""Training: config schema, data checks, reproducibility, kill -9 + resume, export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
import torch
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import wrap_xr

from xseaice.exceptions import ConfigError, CRSError, TrainingError
from xseaice.training import (
    PatchSampler,
    compute_normalisation,
    load_config,
    scene_from_dataset,
    train,
)
from xseaice.training.checkpoint import load_checkpoint
from xseaice.training.config import TrainConfig

torch.set_num_threads(1)

PX = 40.0
N = 128
VARS = ["hh", "hv", "incidence_angle"]


def toy_scene(seed: int = 0, *, n: int = N) -> tuple[xr.Dataset, gpd.GeoDataFrame, np.ndarray]:
    """A small scene: four chart quadrants with 10 %, 50 %, 80 %, 100 % ice."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    gbox = GeoBox.from_bbox((0, 0, n * PX, n * PX), crs="EPSG:3413", resolution=PX)
    field = ndimage.gaussian_filter(rng.normal(size=(n, n)), 4)
    ice = np.zeros((n, n), bool)
    h = n // 2
    geoms, codes = [], []
    for k, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        frac = (0.1, 0.5, 0.8, 1.0)[k]
        sub = field[i * h : (i + 1) * h, j * h : (j + 1) * h]
        thr = np.quantile(sub, 1 - frac) if frac < 1 else -np.inf
        ice[i * h : (i + 1) * h, j * h : (j + 1) * h] = sub > thr
        geoms.append(
            shapely.box(j * h * PX, (n - (i + 1) * h) * PX, (j + 1) * h * PX, (n - i * h) * PX)
        )
        codes.append(("10", "50", "80", "92")[k])
    hh = np.where(ice, -12.0, -20.0) + rng.normal(0, 1.5, (n, n))
    hv = np.where(ice, -22.0, -30.0) + rng.normal(0, 1.5, (n, n))
    inc = np.tile(np.linspace(20, 45, n), (n, 1))
    ds = xr.Dataset(
        {
            "hh": wrap_xr(hh.astype("float32"), gbox),
            "hv": wrap_xr(hv.astype("float32"), gbox),
            "incidence_angle": wrap_xr(inc.astype("float32"), gbox),
        }
    )
    chart = gpd.GeoDataFrame({"CT": codes, "POLY_TYPE": ["I"] * 4}, geometry=geoms, crs="EPSG:3413")
    return ds, chart, ice


def small_config(out: Path, **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "output_dir": str(out),
        "seed": 0,
        "threads": 1,
        "checkpoint_every": 4,
        "model": {"widths": [4, 8]},
        "data": {
            "source": "scenes",
            "variables": VARS,
            "patch_size": 32,
            "batch_size": 2,
            "steps_per_epoch": 6,
        },
        "optim": {"epochs": 2, "warmup_steps": 2},
    }
    for k, v in over.items():
        if isinstance(v, dict):
            cfg.setdefault(k, {}).update(v)
        else:
            cfg[k] = v
    return cfg


@pytest.fixture(scope="module")
def toys() -> list[tuple[xr.Dataset, gpd.GeoDataFrame]]:
    return [toy_scene(s)[:2] for s in range(2)]


# ------------------------------------------------------------------ config


def test_unknown_config_keys_list_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) \['epochz'\].*'output_dir'"):
        load_config({"epochz": 3})
    with pytest.raises(ConfigError, match=r"\['optim.learning_rate'\].*'lr'"):
        load_config({"optim": {"learning_rate": 0.1}})
    f = tmp_path / "run.yaml"
    f.write_text("data:\n  patch_size: 64\n  synthetic:\n    n_scenes: 2\n    colour: blue\n")
    with pytest.raises(ConfigError, match=r"data\.synthetic\.colour.*'n_scenes'"):
        load_config(f)


def test_config_files_yaml_and_toml(tmp_path: Path) -> None:
    y = tmp_path / "a.yml"
    y.write_text("seed: 3\nmodel:\n  architecture: multitask_aspp\n  atrous_rates: [1, 3]\n")
    t = tmp_path / "a.toml"
    t.write_text('seed = 3\n[model]\narchitecture = "multitask_aspp"\natrous_rates = [1, 3]\n')
    a, b = load_config(y), load_config(t)
    assert isinstance(a, TrainConfig)
    assert a == b and a.seed == 3 and a.model.atrous_rates == [1, 3]
    with pytest.raises(ConfigError, match="must be one of"):
        load_config({"model": {"architecture": "resnet"}})
    with pytest.raises(ConfigError, match="must be an integer"):
        load_config({"data": {"patch_size": "big"}})
    with pytest.raises(ConfigError, match="multiple of"):
        load_config({"data": {"patch_size": 100}})
    with pytest.raises(ConfigError, match="overlap the training seeds"):
        load_config({"data": {"synthetic": {"seed": 0, "n_scenes": 10, "val_seed": 5}}})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


# ------------------------------------------------------------------ bad input


def test_bad_inputs_fail_before_training(tmp_path: Path) -> None:
    ds, chart, _ = toy_scene(0)
    steps: list[int] = []

    def run(pairs: list[Any], **over: Any) -> None:
        train(
            small_config(tmp_path / f"r{len(steps)}", **over),
            scenes=pairs,
            progress=False,
            on_step=lambda s, _: steps.append(s),
        )

    far = chart.copy()
    far["geometry"] = far.translate(1e6, 1e6)
    with pytest.raises(TrainingError, match="does not overlap"):
        run([(ds, far)])
    wrong_crs = chart.set_crs("EPSG:4326", allow_override=True)  # metres labelled as degrees
    with pytest.raises((TrainingError, CRSError), match=r"(overlap|CRS)"):
        run([(ds, wrong_crs)])
    with pytest.raises(CRSError, match="no CRS"):
        run([(ds, chart.set_crs(None, allow_override=True))])
    undefined = chart.copy()
    undefined.loc[1, "CT"] = "-9"
    with pytest.raises(TrainingError, match=r"regions \[2\].*undefined_ct"):
        run([(ds, undefined)])
    empty = ds.copy()
    empty["hh"] = empty["hh"] * np.nan
    with pytest.raises(TrainingError, match="no valid pixel"):
        run([(empty, chart)])
    with pytest.raises(TrainingError, match="lacks variables"):
        run([(ds.drop_vars("hv"), chart)])
    assert steps == []  # no step was taken for any of them
    # undefined regions can be left out explicitly
    scene = scene_from_dataset(ds, undefined, variables=VARS, undefined_ct="ignore")
    assert np.isnan(scene.region_ct[1]) and np.isfinite(scene.region_ct[0])


def test_existing_run_needs_resume(tmp_path: Path, toys: list[Any]) -> None:
    cfg = small_config(tmp_path / "run", optim={"epochs": 1})
    train(cfg, scenes=toys, progress=False, export=False)
    with pytest.raises(TrainingError, match="resume"):
        train(cfg, scenes=toys, progress=False, export=False)
    changed = small_config(tmp_path / "run", optim={"epochs": 1, "lr": 0.5})
    with pytest.raises(TrainingError, match="different configuration"):
        train(changed, scenes=toys, resume=True, progress=False, export=False)


# ------------------------------------------------------------------ data


def test_normalisation_from_training_data(toys: list[Any]) -> None:
    scenes = [scene_from_dataset(ds, ch, variables=VARS) for ds, ch in toys]
    norm = compute_normalisation(scenes)
    hv = np.concatenate([s.inputs[1][s.valid] for s in scenes]).astype("float64")
    assert norm["hv"][0] == pytest.approx(hv.mean(), rel=1e-6)
    assert norm["hv"][1] == pytest.approx(hv.std(), rel=1e-6)


def test_patch_sampler_is_deterministic_and_keeps_alignment(toys: list[Any]) -> None:
    scenes = [scene_from_dataset(ds, ch, variables=VARS) for ds, ch in toys]
    norm = compute_normalisation(scenes)
    kw = {"normalisation": norm, "patch_size": 32, "batch_size": 4, "seed": 5}
    a = PatchSampler(scenes, **kw).batch(2, 3)
    b = PatchSampler(scenes, **kw).batch(2, 3)
    c = PatchSampler(scenes, **kw).batch(2, 4)
    assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    assert not np.array_equal(a["x"], c["x"])
    assert a["x"].shape == (4, 3, 32, 32) and a["region_ids"].shape == (4, 32, 32)
    # augmentation moves labels with the inputs: every region's concentration is its chart CT
    lut = np.concatenate([[np.nan], scenes[0].region_ct])
    inside = a["region_ids"] > 0
    assert np.allclose(a["concentration"][inside], lut[a["region_ids"][inside]])
    # the incidence angle (a ramp along x) shows up rotated in some patches
    inc = a["x"][:, 2]
    along_x = [abs(np.diff(p, axis=1).mean()) > abs(np.diff(p, axis=0).mean()) for p in inc]
    many = PatchSampler(scenes, **kw).batch(0, 0)["x"][:, 2]
    along_x += [abs(np.diff(p, axis=1).mean()) > abs(np.diff(p, axis=0).mean()) for p in many]
    assert any(along_x) and not all(along_x)


# ------------------------------------------------------------------ runs


def _state(result: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result.model.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_seeded_runs_are_reproducible(tmp_path: Path, toys: list[Any]) -> None:
    r1 = train(small_config(tmp_path / "a"), scenes=toys, progress=False, export=False)
    r2 = train(small_config(tmp_path / "b"), scenes=toys, progress=False, export=False)
    r3 = train(small_config(tmp_path / "c", seed=1), scenes=toys, progress=False, export=False)
    assert _same(_state(r1), _state(r2))
    assert not _same(_state(r1), _state(r3))
    assert r1.steps == 12 and len(r1.history) == 2
    hist = json.loads((tmp_path / "a" / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    sys.path.insert(0, {tests!r})
    from test_training import small_config, toy_scene
    from xseaice.training import train

    torch.set_num_threads(1)
    toys = [toy_scene(s)[:2] for s in range(2)]

    def kill(step, parts):
        if step == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 mid-epoch, no cleanup at all

    train(small_config({out!r}), scenes=toys, progress=False, export=False, on_step=kill)
    """
)


def test_resume_after_kill_9_matches_uninterrupted_run(tmp_path: Path, toys: list[Any]) -> None:
    out = tmp_path / "killed"
    # checkpoints every 4 steps, 6 steps per epoch: killed at step 10 (epoch 2, step 4 of 6)
    # after the checkpoint of step 8; steps 9-10 are redone on resume
    code = _CHILD.format(tests=str(Path(__file__).parent), out=str(out), kill_at=10)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    state = load_checkpoint(out / "checkpoint.pt")
    assert (state["epoch"], state["step_in_epoch"], state["global_step"]) == (1, 2, 8)
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]

    resumed = train(small_config(out), scenes=toys, resume=True, progress=False, export=False)
    straight = train(small_config(tmp_path / "straight"), scenes=toys, progress=False, export=False)
    assert resumed.steps == straight.steps == 12
    assert _same(_state(resumed), _state(straight))
    assert [h["loss_total"] for h in resumed.history] == pytest.approx(
        [h["loss_total"] for h in straight.history]
    )


def test_export_goes_through_the_weights_registry(tmp_path: Path, toys: list[Any]) -> None:
    from xseaice.models import load_model

    path = tmp_path / "w" / "toy.safetensors"
    cfg = small_config(
        tmp_path / "run", optim={"epochs": 1}, export={"path": str(path), "name": "toy-test"}
    )
    result = train(cfg, scenes=toys, progress=False)
    spec = result.weights
    assert path.exists() and Path(str(path) + ".json").exists()
    assert spec.variables == tuple(VARS) and spec.pixel_size == PX
    for v in VARS:
        assert spec.normalisation[v] == pytest.approx(result.normalisation[v])
    model, spec2 = load_model(path)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x)["ice_logit"], result.model(x)["ice_logit"])
    assert spec2.training["steps"] == 6 and spec2.training["data"]["source"] == "scenes"


def test_weak_supervision_learns_ice_on_toy_scenes(tmp_path: Path) -> None:
    """Trained on chart regions only, the model separates ice from water at pixel level."""
    from xseaice.training.evaluation import predict_scene

    pairs = [toy_scene(s)[:2] for s in range(3)]
    cfg = small_config(
        tmp_path / "learn",
        model={"widths": [8, 16]},
        data={"steps_per_epoch": 40, "batch_size": 4},
        optim={"epochs": 2, "lr": 0.01},
    )
    result = train(cfg, scenes=pairs, progress=False, export=False)
    ds, chart, truth = toy_scene(99)
    scene = scene_from_dataset(ds, chart, variables=VARS)
    logit = predict_scene(result.model, scene, result.normalisation)["ice_logit"]
    # ranking by the logit separates ice from water (no pixel label was used)
    assert np.corrcoef(logit.ravel(), truth.ravel())[0, 1] > 0.6


# ------------------------------------------------------------------ AI4Arctic files


def _write_ai4arctic_like(path: Path, *, with_polygons: bool) -> np.ndarray:
    """A small file in the AI4Arctic ready-to-train layout (AMSR-2 on a coarse grid)."""
    rng = np.random.default_rng(1)
    n, m = 64, 64
    sic = np.full((n, m), 10, "uint8")
    sic[:, 32:] = 3
    sic[:8, :8] = 255
    sod = np.where(sic == 10, 4, 1).astype("uint8")
    sod[sic == 255] = 255
    floe = np.where(sic == 10, 5, 2).astype("uint8")
    floe[sic == 255] = 255
    hh = rng.normal(-15, 2, (n, m)).astype("float32")
    hh[-2:, :] = np.nan
    coarse = np.tile(np.linspace(200.0, 260.0, 8, dtype="float32"), (8, 1))
    data = {
        "nersc_sar_primary": (("sar_lines", "sar_samples"), hh),
        "nersc_sar_secondary": (("sar_lines", "sar_samples"), hh - 10),
        "sar_incidenceangle": (("sar_lines", "sar_samples"), np.full((n, m), 30.0, "float32")),
        "btemp_18_7h": (("2km_grid_lines", "2km_grid_samples"), coarse),
        "SIC": (("sar_lines", "sar_samples"), sic),
        "SOD": (("sar_lines", "sar_samples"), sod),
        "FLOE": (("sar_lines", "sar_samples"), floe),
    }
    if with_polygons:
        poly = np.where(np.arange(m)[None, :] < 32, 7, 9) * np.ones((n, 1))
        data["polygon_icechart"] = (("sar_lines", "sar_samples"), poly.astype("float32"))
        data["polygon_codes"] = (
            (),
            "id;CT;CA;SA;FA;CB;SB;FB;CC;SC;FC;CN;CD;CF;POLY_TYPE\n"
            "7;92;-9;93;05;-9;-9;-9;-9;-9;-9;-9;-9;-9;I\n"
            "9;30;-9;81;02;-9;-9;-9;-9;-9;-9;-9;-9;-9;I",
        )
    xr.Dataset(data).to_netcdf(path)
    return sic


@pytest.mark.parametrize("with_polygons", [False, True])
def test_read_ai4arctic_scene(tmp_path: Path, with_polygons: bool) -> None:
    from xseaice.training import read_ai4arctic

    f = tmp_path / "20210101T000000_dmi_prep.nc"
    sic = _write_ai4arctic_like(f, with_polygons=with_polygons)
    scene = read_ai4arctic(f, variables=["hh", "hv", "incidence_angle", "tb18h"])
    assert scene.inputs.shape == (4, 64, 64)
    tb = scene.inputs[3]
    # the coarse AMSR-2 ramp (along x only) is upsampled bilinearly: monotone in x,
    # constant in y, within the coarse range
    assert np.allclose(tb, tb[0:1, :]) and np.all(np.diff(tb[0]) >= 0)
    assert 200.0 <= tb.min() and tb.max() <= 260.0
    assert not scene.valid[-2:].any() and scene.valid[:-2].all()
    conc = scene.concentration_map()
    assert np.nanmax(conc[:, :32]) == pytest.approx(1.0)
    assert conc[20, 40] == pytest.approx(0.3)
    assert np.array_equal(scene.label_map("sic"), sic)
    if not with_polygons:  # the masked corner is no region
        assert (scene.region_ids[:8, :8] == 0).all()
    # it trains
    cfg = small_config(
        tmp_path / "run",
        data={"variables": ["hh", "hv", "incidence_angle", "tb18h"]},
        optim={"epochs": 1},
    )
    res = train(cfg, scenes=[scene], progress=False, export=False)
    assert res.steps == 6


def test_channel_dropout_zeroes_channels_together(toys: list[Any]) -> None:
    scenes = [scene_from_dataset(ds, ch, variables=VARS) for ds, ch in toys]
    norm = compute_normalisation(scenes)
    s = PatchSampler(
        scenes,
        normalisation=norm,
        patch_size=32,
        batch_size=16,
        seed=0,
        augment=False,
        channel_dropout=["hv", "incidence_angle"],
        channel_dropout_p=0.5,
    )
    x = s.batch(0, 0)["x"]
    dropped = [bool((p[1] == 0).all()) for p in x]
    assert any(dropped) and not all(dropped)
    for p, d in zip(x, dropped, strict=True):
        assert bool((p[2] == 0).all()) == d  # both listed channels go together
        assert not (p[0] == 0).all()  # hh is never dropped
    with pytest.raises(ConfigError, match="channel_dropout"):
        load_config({"data": {"channel_dropout": ["vv"], "channel_dropout_p": 0.5}})


def test_synthetic_training_ranges_widen_the_charts() -> None:
    from xseaice.training.sources import build_scenes

    cfg = load_config(
        {
            "data": {
                "variables": ["hh", "hv"],
                "patch_size": 64,
                "synthetic": {
                    "n_scenes": 4,
                    "val_scenes": 1,
                    "shape": [96, 96],
                    "concentration_mean": [0.1, 0.3],
                    "chart_cell_km": [1.0, 1.5],
                },
            }
        }
    )
    train_scenes = build_scenes(cfg, split="train")
    for sc in train_scenes:
        p = sc.meta["params"]
        assert 0.1 <= p.ice_concentration_mean <= 0.3
        assert 1.0 <= p.chart_cell_km <= 1.5
        assert len(sc.region_ct) >= 4  # 3.84 km scene, cells of at most 1.5 km
    assert len({s.meta["params"].ice_concentration_mean for s in train_scenes}) == 4
    again = build_scenes(cfg, split="train")
    np.testing.assert_array_equal(train_scenes[2].inputs, again[2].inputs)
    # validation scenes keep the simulator's own draws (as the held-out test scenes)
    (val,) = build_scenes(cfg, split="val")
    assert not 1.0 <= val.meta["params"].chart_cell_km <= 1.5
    with pytest.raises(ConfigError, match=r"concentration_mean must be empty or \[low, high\]"):
        load_config({"data": {"synthetic": {"concentration_mean": [0.9, 0.2]}}})
    with pytest.raises(ConfigError, match="chart_cell_km"):
        load_config({"data": {"synthetic": {"chart_cell_km": [5.0]}}})


def test_whole_scene_batches_and_interval_targets(toys: list[Any]) -> None:
    scenes = [scene_from_dataset(ds, ch, variables=VARS) for ds, ch in toys]
    norm = compute_normalisation(scenes)
    b = PatchSampler(scenes, normalisation=norm, patch_size=N, batch_size=2, seed=1).batch(0, 0)
    # a patch as large as the scene holds every pixel of every polygon
    for ids in b["region_ids"]:
        assert sorted(np.unique(ids).tolist()) == [1, 2, 3, 4]
        assert all(int((ids == r).sum()) == (N // 2) ** 2 for r in (1, 2, 3, 4))
    # codes 10, 50, 80 are exact; 92 (10/10) is exactly 1.0: low = high = ct here
    inside = b["region_ids"] > 0
    assert np.allclose(b["ct_low"][inside], b["concentration"][inside])
    assert np.allclose(b["ct_high"][inside], b["concentration"][inside])


def test_range_codes_give_intervals() -> None:
    ds, chart, _ = toy_scene(0)
    chart = chart.assign(CT=["13", "46", "80", "91"])
    sc = scene_from_dataset(ds, chart, variables=VARS)
    assert sc.region_low is not None and sc.region_high is not None
    np.testing.assert_allclose(sc.region_low, [0.1, 0.4, 0.8, 0.9])
    np.testing.assert_allclose(sc.region_high, [0.3, 0.6, 0.8, 1.0])
    low, high = sc.interval_maps()
    assert low[0, 0] == pytest.approx(0.1) and high[-1, -1] == pytest.approx(1.0)


def test_radiometric_augmentation_is_an_offset_plus_an_incidence_slope(toys: list[Any]) -> None:
    scenes = [scene_from_dataset(ds, ch, variables=VARS) for ds, ch in toys]
    norm = compute_normalisation(scenes)
    kw = {"normalisation": norm, "patch_size": 32, "batch_size": 8, "seed": 3, "augment": False}
    plain = PatchSampler(scenes, **kw).batch(0, 0)["x"]
    shifted = PatchSampler(scenes, db_offset_std=2.0, **kw).batch(0, 0)["x"]
    tilted = PatchSampler(scenes, incidence_slope_std=0.2, **kw).batch(0, 0)["x"]
    for c, var in ((0, "hh"), (1, "hv")):
        d_db = (shifted[:, c] - plain[:, c]) * norm[var][1]
        # one offset per patch and channel, the same at every pixel, different between patches
        assert np.allclose(d_db, d_db[:, :1, :1], atol=1e-4)
        assert d_db[:, 0, 0].std() > 0.3
        # the slope: linear in the incidence angle, zero at 35 degrees
        inc = plain[:, 2] * norm["incidence_angle"][1] + norm["incidence_angle"][0]
        t_db = (tilted[:, c] - plain[:, c]) * norm[var][1]
        for k in range(t_db.shape[0]):
            slope = np.polyfit(inc[k].ravel() - 35.0, t_db[k].ravel(), 1)
            assert abs(slope[1]) < 1e-3
            np.testing.assert_allclose(t_db[k], slope[0] * (inc[k] - 35.0), atol=1e-3)
    assert np.array_equal(shifted[:, 2], plain[:, 2])  # the incidence angle is untouched
    with pytest.raises(ConfigError, match="db_offset_std"):
        load_config({"data": {"db_offset_std": -1.0}})


def test_fine_tuning_starts_from_the_given_weights(tmp_path: Path, toys: list[Any]) -> None:
    from xseaice.models import load_model

    path = tmp_path / "w" / "base.safetensors"
    cfg = small_config(tmp_path / "base", optim={"epochs": 1}, export={"path": str(path)})
    base = train(cfg, scenes=toys, progress=False)
    # lr ~ 0: the fine-tuned parameters are the initial ones (batch-norm running statistics
    # still follow the new data), and the normalisation is kept
    other = [toy_scene(7)[:2]]  # other data: a recomputed normalisation would differ
    ft_cfg = small_config(
        tmp_path / "ft",
        model={"widths": [4, 8], "init_weights": str(path)},
        optim={"epochs": 1, "lr": 1e-12, "warmup_steps": 0},
    )
    ft = train(ft_cfg, scenes=other, progress=False, export=False)
    assert ft.normalisation == {k: tuple(v) for k, v in base.weights.normalisation.items()}
    init, _ = load_model(path)
    start = dict(init.named_parameters())
    for name, value in ft.model.named_parameters():
        np.testing.assert_allclose(value.detach().numpy(), start[name].detach().numpy(), atol=1e-8)
    bad = small_config(tmp_path / "bad", model={"widths": [8, 16], "init_weights": str(path)})
    with pytest.raises(ConfigError, match="widths"):
        train(bad, scenes=other, progress=False, export=False)


def test_truth_weight_needs_the_synthetic_world_and_reaches_the_batches(
    tmp_path: Path, toys: list[Any]
) -> None:
    with pytest.raises(ConfigError, match=r"truth_weight > 0 needs pixel truth.*'scenes'"):
        load_config(small_config(tmp_path, loss={"truth_weight": 1.0}))
    with pytest.raises(ConfigError, match="truth_weight must be >= 0"):
        load_config(small_config(tmp_path, data={"source": "synthetic"}, loss={"truth_weight": -1}))
    ds, chart, ice = toy_scene(0)
    scene = scene_from_dataset(ds, chart, variables=VARS, truth={"ice": ice.astype("uint8")})
    bare = scene_from_dataset(ds, chart, variables=VARS)
    norm = compute_normalisation([scene])
    kw = dict(normalisation=norm, patch_size=scene.shape[0], batch_size=1, seed=3)
    b = PatchSampler([scene], **kw).batch(0, 0)
    # whole-scene patch, rotated / flipped like the inputs: the truth follows the pixels
    x_hh = b["x"][0, VARS.index("hh")]
    t = b["truth_ice"][0]
    assert set(np.unique(t)) <= {0, 1}
    assert x_hh[t == 1].mean() > x_hh[t == 0].mean() + 1.0  # ice is brighter in the toy
    assert (PatchSampler([bare], **kw).batch(0, 0)["truth_ice"] == 255).all()


def test_truth_task_weight_needs_the_synthetic_world_and_trains_the_sod_head(
    tmp_path: Path, toys: list[Any]
) -> None:
    with pytest.raises(ConfigError, match=r"truth_task_weight > 0 needs pixel truth.*'scenes'"):
        load_config(small_config(tmp_path, loss={"truth_task_weight": 1.0}))
    with pytest.raises(ConfigError, match="truth_balance must be >= 0"):
        load_config(small_config(tmp_path, loss={"truth_balance": -0.5}))
    from xseaice.training.synthetic_scenes import synthetic_scene

    scenes = [
        synthetic_scene(s, season=season, shape=(64, 64), variables=VARS)
        for s, season in ((3, "winter"), (4, "summer"))
    ]
    norm = compute_normalisation(scenes)
    b = PatchSampler(scenes, normalisation=norm, patch_size=64, batch_size=2, seed=1).batch(0, 0)
    for k in range(2):  # rotated / flipped with the pixels: water in the truth is water
        assert set(np.unique(b["truth_sod"][k])) <= {0, 1, 2, 4, 5}
        np.testing.assert_array_equal(b["truth_sod"][k] == 0, b["truth_ice"][k] == 0)
    cfg = small_config(
        tmp_path / "mt",
        model={"architecture": "multitask_aspp", "widths": [4, 8, 8, 8], "atrous_rates": [1, 2]},
        data={"source": "synthetic", "patch_size": 64, "steps_per_epoch": 2},
        loss={"truth_task_weight": 2.0, "truth_balance": 0.5},
        optim={"epochs": 1},
    )
    res = train(cfg, scenes=scenes, progress=False, export=False)
    last = res.history[-1]
    assert last["loss_truth_sod"] > 0 and last["loss_truth_floe"] > 0
    off = train(
        {**cfg, "output_dir": str(tmp_path / "off"), "loss": {"truth_task_weight": 0.0}},
        scenes=scenes,
        progress=False,
        export=False,
    )
    assert "loss_truth_sod" not in off.history[-1]
