"""bf16 against float32: the engine's output heads run in float32, so bf16 logits stay
continuous and within :data:`xseaice.inference.BF16_LOGIT_TOLERANCE` of float32.

Every test here forces both precisions (the ``precision`` fixture of conftest.py), so they
run whatever the CPU: natively with AVX512-BF16 / AMX, emulated (slow, tiny inputs) without.
"""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pytest
import torch
import xarray as xr

from xseaice.inference import BF16_LOGIT_TOLERANCE, keep_heads_fp32, predict_array, segment
from xseaice.inference.cache import Float32Head
from xseaice.models import build_model, load_model
from xseaice.synthetic import make_scene

EMULATED = pytest.mark.filterwarnings("ignore:precision='bf16' on a CPU")


@pytest.fixture(scope="module")
def scene() -> xr.Dataset:
    ds = make_scene(11, shape=(128, 128)).dataset
    return ds.isel(time=0) if "time" in ds.dims else ds


def _inputs(ds: xr.Dataset, variables: tuple[str, ...]) -> np.ndarray:
    return np.stack([np.asarray(ds[v].values, dtype="float32") for v in variables])


def _tiny_unet(n_in: int) -> torch.nn.Module:
    torch.manual_seed(3)
    return build_model("unet", in_channels=n_in, widths=(8, 16, 16)).eval()


@EMULATED
@pytest.mark.parametrize("weights", ["default", "untrained"])
def test_bf16_logits_agree_with_fp32_within_the_stated_tolerance(
    scene: xr.Dataset, weights: str
) -> None:
    model, spec = load_model("default")
    if weights == "untrained":
        model = _tiny_unet(len(spec.variables))
    x = _inputs(scene, spec.variables)
    z32 = predict_array(x, model, spec, tile=128, precision="fp32")["ice_logit"][0]
    z16 = predict_array(x, model, spec, tile=128, precision="bf16")["ice_logit"][0]
    ok = np.isfinite(z32)
    assert np.array_equal(ok, np.isfinite(z16)) and ok.mean() > 0.5
    diff = np.abs(z32 - z16)[ok]
    assert diff.max() > 0  # bf16 really ran: the body's rounding shows in the logits
    assert diff.mean() <= BF16_LOGIT_TOLERANCE["mean"], diff.mean()
    assert np.percentile(diff, 99) <= BF16_LOGIT_TOLERANCE["p99"], np.percentile(diff, 99)


@EMULATED
def test_float32_heads_keep_bf16_logits_continuous(scene: object) -> None:
    """A bf16 head rounds the logits of a model with a narrow logit range to a handful of
    values (14 distinct values on 256 x 256 pixels, measured), so no bias can split
    them at a wanted ice fraction; the float32 head keeps them distinct."""
    _, spec = load_model("default")
    model = _tiny_unet(len(spec.variables))
    x = _inputs(scene, spec.variables)  # type: ignore[arg-type]
    z = predict_array(x, model, spec, tile=128, precision="bf16")["ice_logit"][0]
    finite = z[np.isfinite(z)]
    assert len(np.unique(finite)) > 0.25 * finite.size
    # the same body with a bf16 head: the logits collapse onto few values
    mean, std = (np.array([spec.normalisation[v][i] for v in spec.variables]) for i in (0, 1))
    xn = np.nan_to_num((x - mean[:, None, None]) / std[:, None, None]).astype("float32")
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        inp = torch.from_numpy(xn)[None]
        coarse = model(inp)["ice_logit"].float().numpy().ravel()
    assert len(np.unique(coarse)) < 0.05 * coarse.size


def test_heads_are_wrapped_once_and_compute_the_same_in_float32() -> None:
    model = _tiny_unet(3)
    multi = build_model("multitask_aspp", in_channels=3, widths=(8, 16, 16, 16)).eval()
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        before = model(x)["ice_logit"]
        assert keep_heads_fp32(model) == 1 and keep_heads_fp32(model) == 0
        assert keep_heads_fp32(multi) == 4
        assert isinstance(multi.heads["sod"], Float32Head)
        torch.testing.assert_close(model(x)["ice_logit"], before)


def test_segment_and_predict_array_are_one_engine(scene: xr.Dataset, precision: str) -> None:
    """The lazy dask path and the in-memory path give the same logits, in both precisions."""
    model, spec = load_model("default")
    ds = scene[list(spec.variables)].chunk({"y": 64, "x": 64})
    lazy = segment(ds, (model, spec), tile=64, precision=precision)  # type: ignore[arg-type]
    assert isinstance(lazy.data, dsa.Array) and lazy.data.numblocks == (2, 2)
    eager = predict_array(_inputs(scene, spec.variables), model, spec, tile=64, precision=precision)
    np.testing.assert_allclose(lazy.values, eager["ice_logit"][0], atol=1e-4, rtol=1e-4)
