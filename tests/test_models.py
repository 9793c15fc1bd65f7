"""Models and the weights registry: one shared test class runs every architecture."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from xseaice import exceptions
from xseaice.models import (
    ARCHITECTURES,
    FLOE_CLASSES,
    SIC_CLASSES,
    SOD_CLASSES,
    UNet,
    WeightsSpec,
    build_model,
    get_weights,
    list_weights,
    load_model,
    measure_receptive_reach,
    receptive_halo,
    register_weights,
    save_weights,
    unet_reach,
)
from xseaice.models import registry as reg

torch.set_num_threads(1)

VARS = ("hh", "hv", "incidence_angle")
NORM = {"hh": (-20.0, 5.0), "hv": (-28.0, 4.0), "incidence_angle": (35.0, 8.0)}


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial running statistics, as after training."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty registry whose bundled folder is a temporary directory."""
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    monkeypatch.setattr(reg, "WEIGHTS_DIR", bundled)
    monkeypatch.setattr(reg, "_REGISTRY", {})
    monkeypatch.setattr(reg, "_BUNDLED_SCANNED", False)
    return bundled


class BaseModelTest:
    """Checks every architecture must pass (cf. smp ``tests/models/base.py``)."""

    architecture: ClassVar[str]
    kwargs: ClassVar[dict[str, Any]] = {}
    small: ClassVar[dict[str, Any]] = {"widths": (8, 16)}
    expected: ClassVar[dict[str, int]]  # output name -> channels

    def make(self, **kw: Any) -> torch.nn.Module:
        torch.manual_seed(0)
        return build_model(self.architecture, in_channels=len(VARS), **{**self.kwargs, **kw})

    @pytest.mark.parametrize("hw", [(37, 50), (1, 1), (16, 48), (65, 17)])
    def test_forward_any_size(self, hw: tuple[int, int]) -> None:
        model = self.make(**self.small).eval()
        x = torch.randn(2, len(VARS), *hw)
        with torch.no_grad():
            out = model(x)
        assert {k: tuple(v.shape) for k, v in out.items()} == {
            k: (2, c, *hw) for k, c in self.expected.items()
        }
        assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in out.values())
        assert {k: (len(v) if v else 1) for k, v in model.output_classes.items()} == self.expected

    def test_backward_reaches_every_parameter(self) -> None:
        model = self.make(**self.small).train()
        out = model(torch.randn(2, len(VARS), 32, 40))
        sum(v.square().mean() for v in out.values()).backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert p.grad.abs().sum() > 0, name

    def test_wrong_channel_count_is_a_clear_error(self) -> None:
        model = self.make(**self.small)
        with pytest.raises(exceptions.InvalidArgumentError, match="in_channels=3"):
            model(torch.randn(1, 5, 16, 16))

    def test_receptive_field_is_measured_exactly(self) -> None:
        """The analytic reach equals the gradient support, at every pooling alignment."""
        model = self.make()  # the default preset: a real, large receptive field
        _randomise_bn(model)
        reach = model.receptive_reach
        measured = measure_receptive_reach(
            model, in_channels=len(VARS), size=2 * reach + 80, positions=(0, 5, 15)
        )
        assert measured == reach
        m = model.size_multiple
        halo = receptive_halo(model)
        assert halo % m == 0 and reach <= halo < reach + m

    def test_crop_with_halo_reproduces_whole_forward(self) -> None:
        """A window aligned to the pooling grid with a full halo sees what the scene sees."""
        model = self.make(**self.small).eval()
        _randomise_bn(model)
        halo, m = receptive_halo(model), model.size_multiple
        x = torch.randn(1, len(VARS), 4 * halo + 3 * m, 4 * halo + 5)
        with torch.no_grad():
            full = model(x)
            y0, y1 = 2 * halo, 2 * halo + 2 * m  # the core, aligned to the grid
            crop = model(x[..., y0 - halo : y1 + halo, :])
        for k in full:
            torch.testing.assert_close(crop[k][..., halo:-halo, :], full[k][..., y0:y1, :])

    @pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
    def test_save_load_round_trip(self, suffix: str, tmp_path: Path, clean_registry: Path) -> None:
        model = self.make(**self.small).eval()
        _randomise_bn(model)
        path = tmp_path / f"w{suffix}"
        spec = save_weights(
            model,
            path,
            name="mine",
            variables=VARS,
            normalisation=NORM,
            pixel_size=80.0,
            licence="CC0-1.0",
            description="test weights",
            training={"epochs": 1},
        )
        sidecar = json.loads(path.with_name(path.name + ".json").read_text())
        assert sidecar["filename"] == path.name and sidecar["sha256"] == spec.sha256
        assert sidecar["variables"] == list(VARS) and sidecar["arch_kwargs"]["in_channels"] == 3
        assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave nothing behind
        assert "mine" in list_weights() and get_weights("mine") == spec
        x = torch.randn(1, len(VARS), 40, 24)
        with torch.no_grad():
            want = model(x)
        for ref in ("mine", path, str(path), path.with_name(path.name + ".json"), spec):
            loaded, lspec = load_model(ref)
            assert not loaded.training and lspec.sha256 == spec.sha256
            assert lspec.normalisation == NORM and lspec.training == {"epochs": 1}
            with torch.no_grad():
                got = loaded(x)
            for k in want:
                assert torch.equal(got[k], want[k])

    def test_corrupt_or_mismatched_weights_are_refused(
        self, tmp_path: Path, clean_registry: Path
    ) -> None:
        model = self.make(**self.small)
        path = tmp_path / "w.safetensors"
        spec = save_weights(
            model, path, name="x", variables=VARS, normalisation=NORM, pixel_size=80.0, licence="-"
        )
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(exceptions.WeightsError, match="sha256"):
            load_model(path)
        # a sidecar declaring another input set: tensors no longer fit
        save_weights(
            model, path, name="x", variables=VARS, normalisation=NORM, pixel_size=80.0, licence="-"
        )
        side = path.with_name(path.name + ".json")
        bad = json.loads(side.read_text())
        bad["variables"] = [*VARS, "tb18h"]
        bad["normalisation"]["tb18h"] = [250.0, 10.0]
        bad["arch_kwargs"]["in_channels"] = 4
        side.write_text(json.dumps(bad))
        with pytest.raises(exceptions.WeightsError, match=r"do not fit|does not match"):
            load_model(path)
        bad["arch_kwargs"]["in_channels"] = 3
        side.write_text(json.dumps(bad))
        with pytest.raises(exceptions.WeightsError, match="in_channels=3 but 4 variables"):
            load_model(path)
        assert spec.name == "x"


class TestUNet(BaseModelTest):
    architecture = "unet"
    expected: ClassVar[dict[str, int]] = {"ice_logit": 1}


class TestMultiTaskASPP(BaseModelTest):
    architecture = "multitask_aspp"
    expected: ClassVar[dict[str, int]] = {
        "ice_logit": 1,
        "sic": len(SIC_CLASSES),
        "sod": len(SOD_CLASSES),
        "floe": len(FLOE_CLASSES),
    }


class TestMultiTaskASPPRegression(BaseModelTest):
    architecture = "multitask_aspp"
    kwargs: ClassVar[dict[str, Any]] = {"sic_mode": "regression", "atrous_rates": (1, 3)}
    expected: ClassVar[dict[str, int]] = {"ice_logit": 1, "sic": 1, "sod": 6, "floe": 7}


class TestZoneUNet(BaseModelTest):
    architecture = "zone_unet"
    expected: ClassVar[dict[str, int]] = {"zones": 4}


class TestSwinZoneNet(BaseModelTest):
    architecture = "swin_zones"
    small: ClassVar[dict[str, Any]] = {
        "embed_dim": 8,
        "depths": (1, 1, 1),
        "heads": (1, 1, 2),
        "windows": (4, 2, 2),
        "stem": (4, 6),
    }
    expected: ClassVar[dict[str, int]] = {"zones": 4}

    def test_receptive_field_is_measured_exactly(self) -> None:
        """Window attention: the declared reach is an upper bound of the gradient support."""
        model = self.make(**self.small)
        _randomise_bn(model)
        reach = model.receptive_reach
        measured = measure_receptive_reach(
            model, in_channels=len(VARS), size=2 * reach + 80, positions=(0, 5, 15)
        )
        assert 0 < measured <= reach
        m = model.size_multiple
        halo = receptive_halo(model)
        assert halo % m == 0 and reach <= halo < reach + m


def test_every_architecture_has_a_test_class() -> None:
    tested = {c.architecture for c in BaseModelTest.__subclasses__()}
    assert tested == set(ARCHITECTURES)


def test_autoice_preset_and_reach_by_hand() -> None:
    model = UNet(7)
    assert model.arch_kwargs == {"in_channels": 7, "widths": [16, 32, 64, 64], "out_channels": 1}
    # enc 2+4+8+16, bridge 2*16, decoder (8+16)+(4+8)+(2+4)+(1+2): 107, halo 112
    assert unet_reach(4) == 107 and model.receptive_reach == 107
    assert receptive_halo(model) == 112 == math.ceil(107 / 16) * 16
    aspp = build_model("multitask_aspp", in_channels=7, atrous_rates=(1, 2, 4))
    # bottleneck is the ASPP: 4 (largest rate) * 16 instead of the DoubleConv's 2 * 16
    assert aspp.receptive_reach == 107 - 32 + 64
    assert receptive_halo(aspp) == 144


def test_build_model_errors_list_the_choices() -> None:
    with pytest.raises(
        exceptions.ModelError, match=r"\['multitask_aspp', 'swin_zones', 'unet', 'zone_unet'\]"
    ):
        build_model("resnet", in_channels=3)
    with pytest.raises(exceptions.ModelError, match="cannot build 'unet'"):
        build_model("unet", in_channels=3, depth=9)
    with pytest.raises(exceptions.InvalidArgumentError, match="widths"):
        build_model("unet", in_channels=3, widths=())
    with pytest.raises(exceptions.InvalidArgumentError, match="sic_mode"):
        build_model("multitask_aspp", in_channels=3, sic_mode="ordinal")


def test_receptive_halo_of_a_foreign_module() -> None:
    with pytest.raises(exceptions.ModelError, match="receptive_halo"):
        receptive_halo(torch.nn.Conv2d(3, 1, 3))


def test_registry_names_and_overwrite(tmp_path: Path, clean_registry: Path) -> None:
    model = build_model("unet", in_channels=3, widths=(4,))
    spec = save_weights(
        model, tmp_path / "a.safetensors", name="a", variables=VARS, normalisation=NORM,
        pixel_size=40.0, licence="-",
    )  # fmt: skip
    other = WeightsSpec(**{**spec.__dict__, "description": "changed"})
    with pytest.raises(exceptions.WeightsError, match="already registered"):
        register_weights(other)
    register_weights(other, overwrite=True)
    assert get_weights("a").description == "changed"
    with pytest.raises(exceptions.WeightsError, match=r"named 'nope'; registered: \['a'\]"):
        get_weights("nope")
    with pytest.raises(exceptions.WeightsError, match="no JSON sidecar"):
        bare = tmp_path / "bare.pt"
        torch.save(model.state_dict(), bare)
        load_model(bare)
    with pytest.raises(exceptions.WeightsError, match="normalisation"):
        register_weights(WeightsSpec(**{**spec.__dict__, "name": "b", "normalisation": {}}))


def test_bundled_sidecars_are_discovered(tmp_path: Path, clean_registry: Path) -> None:
    model = build_model("unet", in_channels=3, widths=(4,))
    spec = save_weights(
        model, clean_registry / "tiny.safetensors", name="tiny", variables=VARS,
        normalisation=NORM, pixel_size=40.0, licence="-",
    )  # fmt: skip
    (clean_registry / "broken.safetensors.json").write_text("{not json")
    reg._REGISTRY.clear()
    reg._BUNDLED_SCANNED = False
    assert list_weights() == ["tiny"]  # the broken sidecar is skipped with a warning
    bundled = get_weights("tiny")
    assert bundled.filename == "tiny.safetensors" and bundled.path == spec.path
    loaded, _ = load_model("tiny")
    assert isinstance(loaded, UNet)


def test_shipped_weights_load_and_match_their_hash() -> None:
    """Every sidecar shipped in xseaice/models/weights/ loads and verifies (none yet is fine)."""
    for sidecar in sorted(reg.WEIGHTS_DIR.glob("*.json")):
        model, spec = load_model(sidecar)
        assert spec.path.exists() and len(spec.variables) == spec.arch_kwargs["in_channels"]
        assert set(spec.outputs) == set(model.output_classes)


def test_save_refuses_inconsistent_metadata(tmp_path: Path, clean_registry: Path) -> None:
    model = build_model("unet", in_channels=3, widths=(4,))
    kw: dict[str, Any] = {"name": "z", "normalisation": NORM, "pixel_size": 40.0, "licence": "-"}
    with pytest.raises(exceptions.WeightsError, match="in_channels=3 but 2 variables"):
        save_weights(model, tmp_path / "z.safetensors", variables=("hh", "hv"), **kw)
    with pytest.raises(exceptions.InvalidArgumentError, match=r"\.safetensors or \.pt"):
        save_weights(model, tmp_path / "z.bin", variables=VARS, **kw)
    with pytest.raises(exceptions.WeightsError, match="only models built by build_model"):
        save_weights(torch.nn.Conv2d(3, 1, 1), tmp_path / "z.pt", variables=VARS, **kw)
    assert not list(tmp_path.glob("z*"))


def test_in_place_edit_with_restored_mtime_is_refused(tmp_path: Path, clean_registry: Path) -> None:
    """The digest is taken from the bytes loaded, every call: no (path, size, mtime) cache."""
    model = build_model("unet", in_channels=len(VARS), **BaseModelTest.small)
    path = tmp_path / "w.safetensors"
    save_weights(
        model, path, name="m", variables=VARS, normalisation=NORM, pixel_size=80.0, licence="-"
    )
    load_model(path)  # first use: accepted (and, before the fix, cached)
    st = os.stat(path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # same size
    with open(path, "r+b") as f:  # in place: same inode
        f.write(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    with pytest.raises(exceptions.WeightsError, match="sha256"):
        load_model(path)
