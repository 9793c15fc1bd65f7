"""Tests of the zone models, their tiled inference, training and MIM pretraining."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xseaice.exceptions import InvalidArgumentError, ModelError  # noqa: E402
from xseaice.glaciers.segment import segment_zones  # noqa: E402
from xseaice.models import WeightsSpec, build_model, load_model, save_weights  # noqa: E402
from xseaice.models.build import measure_receptive_reach  # noqa: E402
from xseaice.synthetic.fjord import make_fjord  # noqa: E402

SMALL = {
    "zone_unet": {"widths": [4, 8, 8]},
    "swin_zones": {
        "embed_dim": 8,
        "depths": [1, 1, 1],
        "heads": [1, 1, 2],
        "windows": [4, 2, 2],
        "stem": [4, 6],
    },
}


def _model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(arch, in_channels=1, **SMALL[arch]).eval()


def _spec(model: torch.nn.Module) -> WeightsSpec:
    return WeightsSpec(
        name="test-zones",
        architecture=model.architecture,
        arch_kwargs=model.arch_kwargs,
        variables=("sar",),
        normalisation={"sar": (110.0, 60.0)},
        pixel_size=20.0,
        outputs={"zones": ("na", "rock", "glacier", "ocean")},
        licence="Apache-2.0",
        description="test",
        sha256="0" * 64,
        filename="/nonexistent",
        training={"pixel_size_range": [6.0, 50.0]},
    )


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_any_size_four_classes_and_declared_reach(arch: str) -> None:
    model = _model(arch)
    with torch.no_grad():
        out = model(torch.randn(2, 1, 70, 90))
    assert set(out) == {"zones"} and tuple(out["zones"].shape) == (2, 4, 70, 90)
    assert model.output_classes == {"zones": ("na", "rock", "glacier", "ocean")}
    measured = measure_receptive_reach(model, in_channels=1, size=448, positions=(0, 3))
    assert 0 < measured <= model.receptive_reach <= model.receptive_halo
    assert model.receptive_halo % model.size_multiple == 0


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_tiled_inference_is_seam_free(arch: str) -> None:
    model = _model(arch)
    spec = _spec(model)
    ds = make_fjord("Isfall", dt.date(2019, 4, 1), "S1", shape=(400, 420))
    halo = model.receptive_halo
    tile = halo  # several blocks, each with a full halo
    whole = segment_zones(ds, (model, spec), tile=4 * halo, precision="fp32").compute()
    tiled = segment_zones(ds, (model, spec), tile=tile, precision="fp32").compute()
    assert tiled["zones_logit"].attrs["tile"] == tile < 400
    np.testing.assert_allclose(
        tiled["zones_logit"].values, whole["zones_logit"].values, atol=1e-4, equal_nan=True
    )
    z = tiled["zones"].values
    assert z.dtype == np.uint8 and set(np.unique(z)) <= {0, 1, 2, 3}
    assert (z[np.isnan(ds["sar"].values)] == 0).all()  # no data -> NA


def test_pixel_size_outside_the_models_range_is_refused() -> None:
    model = _model("zone_unet")
    spec = dataclasses.replace(_spec(model), training={"pixel_size_range": [15.0, 25.0]})
    ds = make_fjord("Isfall", dt.date(2019, 4, 1), "TDX", shape=(64, 64))
    with pytest.raises(ModelError, match="15-25 m"):
        segment_zones(ds, (model, spec))
    with pytest.raises(InvalidArgumentError, match="model"):
        segment_zones(ds, 42)


def test_save_and_load_registered_architectures(tmp_path: Path) -> None:
    model = _model("swin_zones")
    path = tmp_path / "z.safetensors"
    spec = save_weights(
        model,
        path,
        name="test-swin-zones",
        variables=["sar"],
        normalisation={"sar": (110.0, 60.0)},
        pixel_size=20.0,
        licence="Apache-2.0",
        training={"pixel_size_range": [6.0, 50.0]},
    )
    loaded, spec2 = load_model(path)
    assert spec2.outputs == {"zones": ("na", "rock", "glacier", "ocean")}
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x)["zones"], model(x)["zones"])
    assert spec.sha256 == spec2.sha256


def test_training_lowers_the_loss_and_mim_initialises_the_body() -> None:
    from xseaice.training.ssl import mask_blocks, pretrain_mim
    from xseaice.training.zones import ZonePatches, load_pretrained, train_zones

    scenes = [make_fjord("Aurora", dt.date(2016, m, 1), "ENVISAT", shape=(96, 96)) for m in (2, 8)]
    data = ZonePatches(scenes, (110.0, 60.0), patch=32, length=64)
    model = build_model("zone_unet", in_channels=1, widths=[4, 8])
    hist = train_zones(model, data, steps=30, batch_size=4, lr=1e-2, log_every=10)
    (_, first), (_, last) = hist["loss"][0], hist["loss"][-1]
    assert last < first  # cross-entropy falls on the synthetic zones

    pre = build_model("zone_unet", in_channels=1, widths=[4, 8])
    unl = ZonePatches(scenes, (110.0, 60.0), patch=32, length=64, labels=False)
    log = pretrain_mim(pre, unl, steps=4, batch_size=2, block=8, bf16=False)
    assert len(log["loss"]) >= 1
    fresh = build_model("zone_unet", in_channels=1, widths=[4, 8])
    head_before = fresh.head.weight.detach().clone()
    left = load_pretrained(fresh, pre.state_dict())
    assert left == ["head.weight", "head.bias"]
    torch.testing.assert_close(fresh.encoder.inc[0].weight, pre.encoder.inc[0].weight)
    torch.testing.assert_close(fresh.head.weight, head_before)

    hide = mask_blocks(torch.zeros(3, 1, 32, 48), block=8, ratio=0.5)
    assert hide.shape == (3, 1, 32, 48)
    # 4 x 6 = 24 blocks, 12 hidden per image: exactly half the pixels
    assert hide.float().mean(dim=(1, 2, 3)).tolist() == [0.5, 0.5, 0.5]
