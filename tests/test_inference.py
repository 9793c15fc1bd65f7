"""segment(): seam-free tiling, NaN handling, outputs, laziness, distributed, bad input."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pytest
import torch
import xarray as xr
from pyproj import CRS

import xseaice  # noqa: F401  (registers the accessor)
from xseaice import exceptions
from xseaice.inference import cache, segment
from xseaice.models import WeightsSpec, build_model, load_model, runtime, save_weights
from xseaice.variables import SCENE_VARIABLES

torch.set_num_threads(1)

SAR = ("hh", "hv", "incidence_angle")
NORM = {
    "hh": (-18.0, 5.0),
    "hv": (-27.0, 4.0),
    "incidence_angle": (35.0, 8.0),
    "tb18h": (220.0, 20.0),
    "tb18v": (240.0, 15.0),
    "tb36h": (210.0, 20.0),
    "tb36v": (230.0, 15.0),
}
RES = 80.0
TOL = 1e-4  # float32 tolerance: tile and scene convolutions may sum in different orders


def _randomise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random weights whose receptive field is real, in eval mode.

    PyTorch's default init shrinks the signal at every layer, so far pixels barely
    matter; He init plus batch-norm statistics measured on data (as after training)
    keeps every layer near unit variance and the whole receptive field in play.
    """
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batches
            m.reset_running_stats()
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0.0, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(2, model.in_channels, 96, 96))
    return model.eval()


def _scene(
    ny: int, nx: int, variables: tuple[str, ...] = SAR, *, seed: int = 0, time: bool = True
) -> xr.Dataset:
    """A small scene: smooth fields plus noise, a NaN swath border and a NaN hole."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx]
    data = {}
    for i, v in enumerate(variables):
        mean, std = NORM[v]
        field = np.sin(xx / (17.0 + i)) * np.cos(yy / 23.0) + rng.normal(0, 0.7, (ny, nx))
        arr = (mean + std * field).astype(np.float32)
        if v in SAR:
            arr[xx + yy // 3 < 40] = np.nan  # slanted scene border
            arr[ny // 2 : ny // 2 + 9, nx // 3 : nx // 3 + 7] = np.nan
        data[v] = arr[None] if time else arr
    dims = ("time", "y", "x") if time else ("y", "x")
    coords: dict[str, Any] = {
        "y": 9_000_000.0 - RES * (np.arange(ny) + 0.5),
        "x": 100_000.0 + RES * (np.arange(nx) + 0.5),
        "spatial_ref": ((), 0, {"crs_wkt": CRS.from_epsg(3413).to_wkt()}),
    }
    if time:
        coords["time"] = [np.datetime64("2023-01-04T08:00")]
    return xr.Dataset({v: (dims, a) for v, a in data.items()}, coords=coords)


def _reference(model: torch.nn.Module, ds: xr.Dataset, spec: WeightsSpec) -> dict[str, np.ndarray]:
    """Whole-scene forward pass in numpy/torch, independent of the engine."""
    x = np.stack(
        [(ds[v].values[0] - spec.normalisation[v][0]) / spec.normalisation[v][1] for v in
         spec.variables]
    )  # fmt: skip
    valid = np.isfinite(x[[i for i, v in enumerate(spec.variables) if v in SAR]]).all(0)
    with torch.no_grad():
        out = model.eval()(torch.from_numpy(np.nan_to_num(x)[None]).float())
    if not isinstance(out, dict):
        out = {"ice_logit": out}
    res = {}
    for k, t in out.items():
        a = t[0].numpy().copy()
        a[:, ~valid] = np.nan
        res[k] = a
    return res


@pytest.fixture(scope="module")
def unet(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, WeightsSpec]:
    """The default preset (halo 112) on the three SAR variables, saved and registered."""
    model = _randomise(build_model("unet", in_channels=3), seed=1)
    path = tmp_path_factory.mktemp("w") / "unet.safetensors"
    spec = save_weights(
        model, path, name="test-unet", variables=SAR, normalisation=NORM, pixel_size=RES,
        licence="CC0-1.0",
    )  # fmt: skip
    return model, spec


@pytest.fixture(scope="module")
def multitask(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, WeightsSpec]:
    """A small multi-task ASPP model on all seven variables."""
    model = _randomise(
        build_model("multitask_aspp", in_channels=7, widths=(8, 16, 16), atrous_rates=(1, 3)),
        seed=2,
    )
    path = tmp_path_factory.mktemp("w") / "mt.safetensors"
    spec = save_weights(
        model, path, name="test-multitask", variables=SCENE_VARIABLES,
        normalisation={v: NORM[v] for v in SCENE_VARIABLES}, pixel_size=RES, licence="CC0-1.0",
    )  # fmt: skip
    return model, spec


@pytest.fixture(scope="module")
def scene() -> xr.Dataset:
    return _scene(600, 520)


@pytest.fixture(scope="module")
def tiled(unet: Any, scene: xr.Dataset) -> np.ndarray:
    out = segment(scene, "test-unet", tile=256, precision="fp32")
    assert out.data.numblocks == (1, 3, 3)
    return np.asarray(out.compute(scheduler="threads").values)


def test_chunks_of_256_equal_one_chunk_and_the_whole_forward(
    unet: Any, scene: xr.Dataset, tiled: np.ndarray
) -> None:
    model, spec = unet
    whole = segment(scene, spec, tile=1024, precision="fp32")
    assert whole.data.numblocks == (1, 1, 1)
    ref = _reference(model, scene, spec)["ice_logit"]
    one = whole.values
    np.testing.assert_array_equal(np.isnan(tiled), np.isnan(ref))
    np.testing.assert_allclose(tiled, one, atol=TOL, rtol=TOL)
    np.testing.assert_allclose(tiled[0], ref[0], atol=TOL, rtol=TOL)
    # the border is NaN exactly where any SAR input is NaN
    sar_nan = np.isnan(np.stack([scene[v].values[0] for v in SAR])).any(0)
    assert np.isnan(tiled[0]).sum() == sar_nan.sum() > 0


def test_too_small_halo_shows_seams(unet: Any, scene: xr.Dataset, tiled: np.ndarray) -> None:
    """The test above could fail: with half the halo the tiles disagree."""
    with pytest.warns(exceptions.XSeaIceWarning, match="seams"):
        short = segment(scene, "test-unet", tile=256, overlap=48, precision="fp32")
    assert np.nanmax(np.abs(short.values - tiled)) > 100 * TOL


def test_output_metadata_and_zarr(unet: Any, scene: xr.Dataset, tmp_path: Path) -> None:
    _, spec = unet
    out = scene.seaice.segment("test-unet", tile=256, precision="fp32")
    assert out.name == "ice_logit" and out.dtype == np.float32
    assert out.dims == ("time", "y", "x")
    for c in ("time", "y", "x", "spatial_ref"):
        assert c in out.coords
    xr.testing.assert_equal(out.y, scene.y)
    assert out.attrs["weights_sha256"] == spec.sha256 and out.attrs["halo"] == 112
    assert out.attrs["grid_mapping"] == "spatial_ref" and out.attrs["model"] == "test-unet"
    out.to_dataset().to_zarr(tmp_path / "o.zarr", consolidated=False)
    back = xr.open_zarr(tmp_path / "o.zarr", consolidated=False)["ice_logit"]
    np.testing.assert_allclose(back.values, out.values, equal_nan=True)


def test_multitask_output_writes_to_zarr(multitask: Any, tmp_path: Path) -> None:
    ds = _scene(140, 150, SCENE_VARIABLES, seed=4)
    out = segment(ds, "test-multitask", tile=128)
    out.to_zarr(tmp_path / "m.zarr", consolidated=False)
    back = xr.open_zarr(tmp_path / "m.zarr", consolidated=False, mask_and_scale=False)
    assert back.sod.dtype == np.uint8 and back.sod.attrs["flag_meanings"].startswith("open_water")
    np.testing.assert_array_equal(back.sod.values, out.sod.values)
    assert (back.sod.values == 255).any() and list(back.floe_class.values)[-1] == "bergs"


def test_batches_of_tiles_give_the_same_result(unet: Any, scene: xr.Dataset, tiled: Any) -> None:
    out = segment(scene, "test-unet", tile=128, batch_size=4, precision="fp32")
    assert out.data.chunks[1][0] == 256  # a block holds 2 x 2 tiles
    np.testing.assert_allclose(out.values, tiled, atol=TOL, rtol=TOL)


def test_bf16_agrees_with_fp32(unet: Any, scene: xr.Dataset, tiled: np.ndarray) -> None:
    bf = segment(scene, "test-unet", tile=256, precision="bf16").values
    p32, p16 = 1 / (1 + np.exp(-tiled)), 1 / (1 + np.exp(-bf))
    assert np.array_equal(np.isnan(p32), np.isnan(p16))
    diff = np.abs(p32 - p16)[np.isfinite(p32)]
    agree = np.mean((p32 > 0.5) == (p16 > 0.5))
    assert 0 < diff.mean() < 0.03 and diff.max() < 0.3 and agree > 0.95, (diff.mean(), agree)


def test_segment_is_lazy() -> None:
    calls = []

    def make(block: np.ndarray) -> np.ndarray:
        calls.append(1)
        return block

    ds = _scene(300, 260)
    lazy = ds.copy()
    for v in SAR:
        lazy[v] = lazy[v].copy(data=dsa.from_array(ds[v].values, chunks=(1, 128, 128)))
        lazy[v] = lazy[v].copy(data=lazy[v].data.map_blocks(make, meta=np.empty((0,) * 3)))
    out = segment(lazy, "test-unet", tile=128)
    assert isinstance(out.data, dsa.Array) and calls == []
    out.compute()
    assert calls


def test_model_loaded_once_per_process(unet: Any) -> None:
    _, spec = unet
    cache.clear_model_cache()
    before = cache._LOAD_COUNT.get(spec.sha256, 0)
    out = segment(_scene(400, 400), "test-unet", tile=128, precision="fp32")
    assert out.data.npartitions >= 9
    out.compute(scheduler="threads")
    assert cache._LOAD_COUNT[spec.sha256] == before + 1


def test_in_memory_module_matches_saved_weights(unet: Any, scene: xr.Dataset, tiled: Any) -> None:
    model, spec = unet
    out = segment(scene, (model, spec), tile=256, precision="fp32")
    assert out.attrs["weights_sha256"].startswith("mem-")
    np.testing.assert_allclose(out.values, tiled, atol=TOL, rtol=TOL)
    assert model.training is False and next(model.parameters()).requires_grad  # untouched


def test_distributed_process_workers_match_threads(unet: Any, tiled: np.ndarray) -> None:
    from distributed import Client, LocalCluster

    model, spec = unet
    scene = _scene(600, 520)
    by_name = segment(scene, "test-unet", tile=256, precision="fp32")
    in_memory = segment(scene, (model, spec), tile=256, precision="fp32")
    # the module sits in the graph once, not once per task
    graph = dict(in_memory.data.__dask_graph__())
    extra = len(pickle.dumps(graph)) - len(pickle.dumps(dict(by_name.data.__dask_graph__())))
    assert len(graph) > 9 and 0 < extra < len(pickle.dumps(model)) + 20_000
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        a, b = dask.compute(by_name, in_memory, scheduler=client)
        loads = client.run(lambda: dict(cache._LOAD_COUNT))
    np.testing.assert_allclose(a.values, tiled, atol=TOL, rtol=TOL)
    np.testing.assert_allclose(b.values, tiled, atol=TOL, rtol=TOL)
    assert len(loads) == 2
    for counts in loads.values():  # each worker process loaded each model at most once
        assert set(counts.values()) <= {1}
        assert counts.get(spec.sha256, 1) == 1


def _flipped(ds: xr.Dataset, fy: int, fx: int) -> xr.Dataset:
    """The scene's data flipped (coordinates kept): what the model sees in a TTA view."""
    return ds.copy(data={v: ds[v].values[..., ::fy, ::fx].copy() for v in ds.data_vars})


def test_tta_is_the_mean_of_the_four_flipped_views(
    unet: Any, multitask: Any, scene: xr.Dataset, tiled: np.ndarray
) -> None:
    model, spec = unet
    flips = ((1, 1), (1, -1), (-1, 1), (-1, -1))
    out = segment(scene, "test-unet", tile=256, precision="fp32", tta=True)
    assert out.data.numblocks == (1, 3, 3) and out.attrs["test_time_augmentation"] != "none"
    views = [
        _reference(model, _flipped(scene, fy, fx), spec)["ice_logit"][0][::fy, ::fx]
        for fy, fx in flips
    ]
    got = out.values[0]
    np.testing.assert_allclose(got, np.mean(views, axis=0), atol=TOL, rtol=TOL)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(tiled[0]))
    assert np.nanmax(np.abs(got - tiled[0])) > 10 * TOL  # the views do differ

    mt_model, mt_spec = multitask
    ds = _scene(200, 230, SCENE_VARIABLES, seed=5)
    mt = segment(ds, "test-multitask", tile=128, precision="fp32", tta=True).compute()
    sod = np.mean(
        [_reference(mt_model, _flipped(ds, fy, fx), mt_spec)["sod"][:, ::fy, ::fx]
         for fy, fx in flips],
        axis=0,
    )  # fmt: skip
    np.testing.assert_allclose(mt.sod_logit.values[0], sod, atol=TOL, rtol=TOL)
    valid = np.isfinite(sod).all(0)
    np.testing.assert_array_equal(mt.sod.values[0][valid], np.argmax(sod[:, valid], axis=0))
    with pytest.raises(exceptions.InvalidArgumentError, match="tta"):
        segment(scene, "test-unet", tta="yes")  # type: ignore[arg-type]


def test_multitask_dataset(multitask: Any) -> None:
    model, spec = multitask
    ds = _scene(260, 300, SCENE_VARIABLES, seed=3)
    ds["tb18h"][0, 100:110, 100:110] = np.nan  # an AMSR-2 gap does not mask the output
    out = segment(ds, "test-multitask", tile=128, precision="fp32")
    assert isinstance(out, xr.Dataset)
    assert set(out.data_vars) == {
        "ice_logit", "sic_logit", "sic", "sod_logit", "sod", "floe_logit", "floe"
    }  # fmt: skip
    assert out.sic_logit.dims == ("time", "sic_class", "y", "x")
    assert list(out.sod_class.values) == list(spec.outputs["sod"])
    assert out.floe.dtype == np.uint8 and out.floe.attrs["flag_meanings"].split() == list(
        spec.outputs["floe"]
    )
    np.testing.assert_array_equal(out.sic.attrs["flag_values"], np.arange(11))
    got = out.compute()
    one = segment(ds, "test-multitask", tile=512, precision="fp32").compute()
    ref = _reference(model, ds, spec)
    for task in ("sic", "sod", "floe"):
        logits = got[f"{task}_logit"].values[0]
        np.testing.assert_allclose(logits, one[f"{task}_logit"].values[0], atol=TOL, rtol=TOL)
        np.testing.assert_allclose(logits, ref[task], atol=TOL, rtol=TOL)
        valid = np.isfinite(logits).all(0)
        cls = got[task].values[0]
        np.testing.assert_array_equal(cls[valid], np.argmax(logits[:, valid], axis=0))
        assert (cls[~valid] == 255).all() and (~valid).sum() > 0
    assert np.isfinite(got.ice_logit.values[0, 100:110, 100:110]).all()
    only = segment(ds, "test-multitask", tile=128, outputs=["ice_logit"])
    assert isinstance(only, xr.DataArray) and only.name == "ice_logit"


def test_all_nan_input_gives_all_nan_output(unet: Any, multitask: Any) -> None:
    ds = _scene(200, 180)
    for v in SAR:
        ds[v][:] = np.nan
    out = segment(ds, "test-unet", tile=128).values
    assert out.shape == (1, 200, 180) and np.isnan(out).all()
    ds7 = _scene(150, 140, SCENE_VARIABLES)
    ds7["hh"][:] = np.nan
    mt = segment(ds7, "test-multitask", tile=128).compute()
    assert np.isnan(mt.sic_logit.values).all() and (mt.sod.values == 255).all()


def test_scene_without_time_and_smaller_than_halo(unet: Any) -> None:
    model, spec = unet
    ds = _scene(70, 90, time=False)
    out = segment(ds, "test-unet", tile=128, precision="fp32")
    assert out.dims == ("y", "x") and out.shape == (70, 90)
    ref = _reference(model, ds.expand_dims("time"), spec)["ice_logit"][0]
    np.testing.assert_allclose(out.values, ref, atol=TOL, rtol=TOL)


def test_last_chunk_smaller_than_halo_is_merged(unet: Any, tiled: np.ndarray) -> None:
    scene = _scene(600, 520)
    out = segment(scene, "test-unet", tile=128, precision="fp32")
    # internally the last 88 rows (< halo 112) ride with the block before; the output
    # chunks are regular again (Zarr needs that)
    assert out.data.chunks[1] == (128, 128, 128, 128, 88) and out.data.chunks[2][-1] == 8
    np.testing.assert_allclose(out.values, tiled, atol=TOL, rtol=TOL)


def test_missing_and_misnamed_variables(unet: Any) -> None:
    ds = _scene(64, 64).drop_vars("hv")
    with pytest.raises(exceptions.MissingVariablesError, match=r"lacks \['hv'\]") as err:
        segment(ds, "test-unet")
    assert "xseaice.load" in str(err.value)
    upper = _scene(64, 64).rename(hh="HH", hv="HV")
    with pytest.raises(exceptions.MissingVariablesError, match=r"not used by the model.*rename"):
        segment(upper, "test-unet")
    with pytest.raises(exceptions.InvalidArgumentError, match=r"expects a scene xarray\.Dataset"):
        segment(_scene(64, 64)["hh"], "test-unet")  # type: ignore[arg-type]


def test_wrong_dtype_dims_and_pixel_size(unet: Any) -> None:
    ds = _scene(64, 64)
    with pytest.raises(exceptions.ModelError, match="dtype uint16"):
        segment(ds.assign(hh=ds.hh.fillna(0).astype("uint16")), "test-unet")
    with pytest.raises(exceptions.ModelError, match="dims"):
        segment(ds.rename(y="lat"), "test-unet")
    coarse = ds.assign_coords(x=ds.x * 2, y=ds.y * 2)  # 160 m pixels
    with pytest.raises(exceptions.ModelError, match=r"160 m .* 80 m.*resolution=80"):
        segment(coarse, "test-unet")
    close = ds.assign_coords(x=ds.x * 1.05, y=ds.y * 1.05)  # 84 m: within 10 %
    assert segment(close, "test-unet").shape == (1, 64, 64)


def test_bad_tiles_and_options(unet: Any) -> None:
    ds = _scene(64, 64)
    with pytest.raises(exceptions.InvalidArgumentError, match=r"smaller than the halo 112"):
        segment(ds, "test-unet", tile=64)
    with pytest.raises(exceptions.InvalidArgumentError, match="tile=192 or 208"):
        segment(ds, "test-unet", tile=200)
    with pytest.raises(exceptions.InvalidArgumentError, match="use 128"):
        segment(ds, "test-unet", overlap=120)
    with pytest.raises(exceptions.InvalidArgumentError, match="precision"):
        segment(ds, "test-unet", precision="fp8")  # type: ignore[arg-type]
    with pytest.raises(exceptions.InvalidArgumentError, match="unknown"):
        segment(ds, "test-unet", outputs=["sod"])
    with pytest.raises(exceptions.InvalidArgumentError, match=r"\(module, WeightsSpec\)"):
        segment(ds, build_model("unet", in_channels=3))
    with pytest.raises(exceptions.WeightsError, match="no weights named 'nope'"):
        segment(ds, "nope")
    if torch.cuda.is_available():
        assert segment(ds, "test-unet", device="cuda").shape == (1, 64, 64)
    else:
        with pytest.raises(exceptions.ModelError, match="CUDA is not available"):
            segment(ds, "test-unet", device="cuda")


def test_batchnorm_folding_keeps_the_function(unet: Any) -> None:
    model, spec = unet
    folded, _ = load_model(spec)
    assert cache._fold_batchnorm(folded) == 2 * 9  # two per DoubleConv, nine blocks
    x = torch.randn(1, 3, 96, 80)
    with torch.no_grad():
        torch.testing.assert_close(
            folded(x)["ice_logit"], model(x)["ice_logit"], atol=TOL, rtol=TOL
        )


def test_precision_auto_follows_the_cpu() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dtype = runtime.resolve_precision("auto", torch.device("cpu"))
    assert (dtype == torch.bfloat16) == runtime.cpu_supports_bf16()
    assert runtime.resolve_precision("fp32", torch.device("cpu")) is None


def test_foreign_module_with_explicit_overlap() -> None:
    """Any fully convolutional module runs, given its spec and a halo."""
    torch.manual_seed(5)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 5, padding=2)
    ).eval()
    spec = WeightsSpec(
        name="mine", architecture="sequential", arch_kwargs={}, variables=SAR,
        normalisation={v: NORM[v] for v in SAR}, pixel_size=RES, outputs={"ice_logit": None},
        licence="-", description="", sha256="0" * 64, filename="none",
    )  # fmt: skip
    ds = _scene(200, 190)
    with pytest.raises(exceptions.ModelError, match="receptive_halo"):
        segment(ds, (net, spec))
    out = segment(ds, (net, spec), tile=64, overlap=3, precision="fp32")
    assert out.data.numblocks == (1, 4, 3)
    want = _reference(net, ds, spec)
    np.testing.assert_allclose(out.values[0], want["ice_logit"][0], atol=TOL, rtol=TOL)


def test_bf16_on_a_cpu_without_native_bf16_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(runtime, "cpu_supports_bf16", lambda: False)
    with pytest.warns(exceptions.XSeaIceWarning, match="emulated"):
        assert runtime.resolve_precision("bf16", cpu) is torch.bfloat16
    assert runtime.resolve_precision("auto", cpu) is None  # auto stays in float32
    monkeypatch.setattr(runtime, "cpu_supports_bf16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert runtime.resolve_precision("bf16", cpu) is torch.bfloat16
        assert runtime.resolve_precision("auto", cpu) is torch.bfloat16


def test_lazy_all_nan_amsr2_channel_is_refused_at_compute(multitask: Any) -> None:
    """Issue 17: a lazy (dask) AMSR-2 channel that is NaN everywhere cannot be checked
    when the graph is built; the block that would mean-fill it refuses at compute time."""
    ds = _scene(150, 140, SCENE_VARIABLES).chunk({"y": 64, "x": 64})
    ds["tb18h"] = ds.tb18h * np.nan
    out = segment(ds, "test-multitask", tile=128)  # lazy: nothing is known yet
    with pytest.raises(exceptions.ModelError, match=r"'tb18h' is NaN at every one of the"):
        out.compute()
    # with data in the channel the same lazy scene computes, equal to the eager run
    good = _scene(150, 140, SCENE_VARIABLES)
    lazy = segment(good.chunk({"y": 64, "x": 64}), "test-multitask", tile=128).compute()
    eager = segment(good, "test-multitask", tile=128).compute()
    np.testing.assert_allclose(lazy.sic_logit.values, eager.sic_logit.values, atol=1e-5)


def test_partly_nan_amsr2_channel_warns_once_and_still_maps(multitask: Any) -> None:
    """A channel NaN at part of the valid SAR pixels is mean-filled there: the map is made
    (finite wherever the SAR is) but the user is told, once, not once per block."""
    ds = _scene(150, 140, SCENE_VARIABLES)
    tb = ds.tb18h.values.copy()
    tb[:, :40] = np.nan  # a strip without AMSR-2 crossing several blocks
    ds["tb18h"] = ds.tb18h.copy(data=tb)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        out = segment(ds.chunk({"y": 64, "x": 64}), "test-multitask", tile=128).compute()
    hits = [w for w in caught if issubclass(w.category, exceptions.MissingSensorWarning)]
    assert len(hits) == 1 and "'tb18h' is NaN at some pixels" in str(hits[0].message)
    sar_ok = (np.isfinite(ds.hh) & np.isfinite(ds.hv)).transpose(..., "y", "x").values
    logits = out.sic_logit.transpose(..., "y", "x").values
    assert sar_ok.squeeze().any() and np.isfinite(logits[..., sar_ok.squeeze()]).all()
    # the same scene with the channel complete raises no such warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        segment(_scene(150, 140, SCENE_VARIABLES), "test-multitask", tile=128).compute()
    assert not [w for w in caught if issubclass(w.category, exceptions.MissingSensorWarning)]
