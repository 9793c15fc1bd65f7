"""Grad-CAM and gradient x input (xseaice.inference.attribution) and their figure.

The bundled models are checked for shape, range and finiteness; the values are checked on a
hand-built model whose output depends only on HH and only on the left half of the image, so
the expected Grad-CAM map and per-variable attribution follow from its construction (computed
here with numpy from the normalised input).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import matplotlib
import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

from xseaice.exceptions import InvalidArgumentError, XSeaIceWarning
from xseaice.inference.attribution import channel_attribution, explain, grad_cam
from xseaice.models import WeightsSpec, get_weights
from xseaice.synthetic import make_scene

matplotlib.use("Agg")

W_HH = 1.5  # the hand-built model's weight on HH


@pytest.fixture(scope="module")
def scene():
    return make_scene(3, shape=(64, 96)).dataset


class LeftHH(nn.Module):
    """logit = W_HH * hh_normalised on the left half of the image, 0 on the right half.

    ``mask_after``: the half is cut after the ``features`` layer instead of before it, so
    the layer's activations cover the whole image but only the left half reaches the output.
    """

    def __init__(self, n_in: int, *, mask_after: bool = False) -> None:
        super().__init__()
        self.mask_after = mask_after
        self.features = nn.Conv2d(n_in, 1, 1, bias=False)
        self.head = nn.Conv2d(1, 1, 1, bias=False)
        with torch.no_grad():
            self.features.weight.zero_()
            self.features.weight[0, 0] = W_HH
            self.head.weight.fill_(1.0)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        keep = torch.zeros_like(x[:1, :1])
        keep[..., : x.shape[-1] // 2] = 1.0
        if self.mask_after:
            return {"ice_logit": self.head(self.features(x) * keep)}
        return {"ice_logit": self.head(self.features(x * keep))}


@pytest.fixture(scope="module")
def left_hh():
    base = get_weights("default")
    spec = WeightsSpec(
        name="left-hh",
        architecture="test-left-hh",
        arch_kwargs={},
        variables=base.variables,
        normalisation=dict(base.normalisation),
        pixel_size=base.pixel_size,
        outputs={"ice_logit": None},
        licence="Apache-2.0",
        description="HH on the left half only",
        sha256="0" * 64,
        filename="in-memory",
    )
    return LeftHH(len(base.variables)), spec


def _hh_normalised(scene, spec):
    mean, std = spec.normalisation["hh"]
    hh = scene["hh"].isel(time=0).values.astype(np.float64)
    valid = np.isfinite(hh)
    for v in ("hv", "incidence_angle"):
        valid &= np.isfinite(scene[v].isel(time=0).values)
    return np.where(valid, (hh - mean) / std, 0.0), valid


def test_grad_cam_of_a_left_half_hh_model_matches_its_construction(scene, left_hh) -> None:
    _, spec = left_hh
    xn, valid = _hh_normalised(scene, spec)
    left = np.zeros(xn.shape, bool)
    left[:, : xn.shape[1] // 2] = True
    # score = mean logit; dS/dA = 1/N on valid pixels, so every channel weight is > 0 and
    # the map is ReLU(A) = ReLU(W_HH * hh_n) on the left half, scaled to its maximum
    act = np.maximum(W_HH * xn * left, 0.0)
    expected = act / act[valid].max()
    cam = grad_cam(scene, left_hh, layer="features")
    assert cam.dims == ("y", "x") and cam.shape == xn.shape
    np.testing.assert_allclose(cam.values[valid], expected[valid], atol=1e-5)
    assert np.all(cam.values[:, xn.shape[1] // 2 :][valid[:, xn.shape[1] // 2 :]] == 0.0)
    np.testing.assert_array_equal(cam["x"].values, scene["x"].values)
    # water (minus the logit): the map follows where HH is below its training mean instead
    water = grad_cam(scene, left_hh, layer="features", target_class="water")
    act_w = np.maximum(-W_HH * xn * left, 0.0)
    np.testing.assert_allclose(water.values[valid], (act_w / act_w[valid].max())[valid], atol=1e-5)


def test_a_map_without_evidence_warns(scene, left_hh) -> None:
    flat = scene.copy()
    flat["hh"] = xr.full_like(scene["hh"], left_hh[1].normalisation["hh"][0])  # the mean
    with pytest.warns(XSeaIceWarning, match="zero everywhere.*hirescam"):
        cam = grad_cam(flat, left_hh, layer="features")
    assert np.nanmax(cam.values) == 0.0


def test_hirescam_localises_where_grad_cam_cannot(scene, left_hh) -> None:
    _, spec = left_hh
    xn, valid = _hh_normalised(scene, spec)
    left = np.zeros(xn.shape, bool)
    left[:, : xn.shape[1] // 2] = True
    model = (LeftHH(len(spec.variables), mask_after=True), spec)
    # the features cover the whole image; dS/dA = 1/N on the left half, 0 on the right.
    # Grad-CAM weights the channel by the mean gradient (> 0): ReLU(A) on BOTH halves
    act = np.maximum(W_HH * xn, 0.0)
    cam = grad_cam(scene, model, layer="features")
    np.testing.assert_allclose(cam.values[valid], (act / act[valid].max())[valid], atol=1e-5)
    assert cam.values[:, xn.shape[1] // 2 :].max() > 0.1
    # HiResCAM weights each location by its own gradient: the left half only
    hires = grad_cam(scene, model, layer="features", method="hirescam")
    act_left = act * left
    want = act_left / act_left[valid].max()
    np.testing.assert_allclose(hires.values[valid], want[valid], atol=1e-5)
    assert hires.attrs["method"] == "hirescam"


def test_channel_attribution_sees_only_hh_and_only_the_region(scene, left_hh) -> None:
    _, spec = left_hh
    xn, valid = _hh_normalised(scene, spec)
    half = xn.shape[1] // 2
    table = channel_attribution(scene, left_hh)
    # d(mean logit)/d x_hh = W_HH / N on valid left pixels: sum |g x| = W_HH mean_left |x|
    n = valid.sum()
    want = W_HH * np.abs(xn[:, :half][valid[:, :half]]).sum() / n
    assert table.loc["hh", "abs_grad_x_input"] == pytest.approx(want, rel=1e-5)
    others = table.drop(index="hh")
    assert (others["abs_grad_x_input"] == 0.0).all()
    assert table.loc["hh", "share"] == pytest.approx(1.0)
    assert list(table["sensor"]) == ["Sentinel-1"] * 3 + ["AMSR-2"] * 4
    # a region of the top rows: the mean runs over those pixels only
    region = np.zeros(xn.shape, bool)
    region[:20] = True
    top = channel_attribution(scene, left_hh, region=region)
    r = region & valid
    want_top = W_HH * np.abs(xn[r & (np.arange(xn.shape[1]) < half)[None, :]]).sum() / r.sum()
    assert top.loc["hh", "abs_grad_x_input"] == pytest.approx(want_top, rel=1e-5)


@pytest.mark.parametrize(
    ("model", "output"),
    [
        ("default", "ice_logit"),
        ("multitask", "ice_logit"),
        ("multitask", "sic"),
        ("multitask", "sod"),
        ("multitask", "floe"),
    ],
)
def test_bundled_models_give_a_map_on_the_scene_grid(scene, model, output) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = explain(scene, model, output=output)
    cam = ds["grad_cam"].values
    assert cam.shape == (scene.sizes["y"], scene.sizes["x"])
    assert np.isfinite(cam).all()  # the synthetic scene has no no-data pixel
    assert cam.min() >= 0.0 and cam.max() <= 1.0
    # scaled to its maximum, or zero everywhere and then said so
    zero_warned = any("zero everywhere" in str(w.message) for w in caught)
    assert cam.max() == (0.0 if zero_warned else 1.0)
    assert ds.attrs["layer"] == ("bridge" if model == "default" else "aspp")
    assert ds["channel_attribution"].sizes["variable"] == 7
    assert np.isfinite(ds["channel_attribution"].values).all()
    assert ds["channel_attribution"].values.sum() > 0


def test_numpy_input_gives_the_same_map(scene) -> None:
    spec = get_weights("default")
    arr = np.stack([scene[v].isel(time=0).values for v in spec.variables])
    from_array = grad_cam(arr, "default", layer="decoder.blocks.2.5")
    from_scene = grad_cam(scene, "default", layer="decoder.blocks.2.5")
    assert isinstance(from_array, np.ndarray)
    assert from_array.max() == 1.0 and (from_array < 0.5).any()  # a map, not a constant
    np.testing.assert_allclose(from_array, from_scene.values, atol=1e-6)


def test_the_callers_module_is_left_untouched(scene) -> None:
    import dataclasses

    from xseaice.models import build_model

    spec = get_weights("default")
    net = build_model("unet", in_channels=7, widths=(8, 16))
    spec = dataclasses.replace(spec, name="small", arch_kwargs=dict(net.arch_kwargs))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    # a layer followed by an in-place ReLU: its activations must not be overwritten
    cam = grad_cam(scene, (net, spec), layer="encoder.inc.1", method="hirescam")
    assert np.isfinite(cam.values).all() and cam.values.max() == pytest.approx(1.0)
    assert all(m.inplace for m in net.modules() if isinstance(m, nn.ReLU))
    assert all(p.requires_grad for p in net.parameters()) and net.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.filterwarnings("ignore:the hirescam map is zero")
def test_predicted_region_and_class_names(scene) -> None:
    ds = explain(scene, "multitask", output="sod", region="predicted", method="hirescam")
    assert ds["region"].values.all()  # every pixel is predicted as its own class
    pred = ds["prediction"].values
    k = int(np.bincount(pred.ravel()).argmax())
    name = ds["prediction"].attrs["flag_meanings"].split()[k]
    by_name = explain(
        scene, "multitask", output="sod", target_class=name, region="predicted", method="hirescam"
    )
    np.testing.assert_array_equal(by_name["region"].values, pred == k)
    assert by_name.attrs["target_class"] == name


def test_bad_layer_output_class_and_region_name_the_options(scene, left_hh) -> None:
    with pytest.raises(InvalidArgumentError, match=r"layer='nope'.*'bridge'"):
        grad_cam(scene, "default", layer="nope")
    with pytest.raises(InvalidArgumentError, match=r"output='sod'.*\['ice_logit'\]"):
        grad_cam(scene, "default", output="sod")
    with pytest.raises(InvalidArgumentError, match=r"target_class='pancake'.*old_ice"):
        grad_cam(scene, "multitask", output="sod", target_class="pancake")
    with pytest.raises(InvalidArgumentError, match=r"target_class=9.*0\.\.5"):
        grad_cam(scene, "multitask", output="sod", target_class=9)
    # the decoder runs its blocks layer by layer: a block is never called as a whole
    with pytest.raises(InvalidArgumentError, match=r"never called.*decoder\.blocks\.0\.0"):
        grad_cam(scene, "default", layer="decoder.blocks.0")
    with pytest.raises(InvalidArgumentError, match=r"layer='encoder' returns a list"):
        grad_cam(scene, "default", layer="encoder")
    with pytest.raises(InvalidArgumentError, match=r"region 'the mask' holds no valid pixel"):
        grad_cam(scene, "default", region=np.zeros((64, 96), bool))
    with pytest.raises(InvalidArgumentError, match=r"boolean array of the scene's shape"):
        grad_cam(scene, "default", region=np.ones((3, 3), bool))
    with pytest.raises(InvalidArgumentError, match=r"method must be 'grad-cam' or 'hirescam'"):
        grad_cam(scene, "default", method="cam++")
    with pytest.raises(InvalidArgumentError, match=r"no default Grad-CAM layer.*'features'"):
        grad_cam(scene, left_hh)


@pytest.mark.parametrize(("model", "n_out"), [("default", 1), ("multitask", 4)])
def test_attribution_figure_has_a_panel_per_map(scene, model, n_out) -> None:
    import matplotlib.pyplot as plt

    from xseaice.plotting import plot_attribution

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "the grad-cam map is zero", XSeaIceWarning)
        fig = plot_attribution(scene, model)
    try:
        # 2 rows x (1 + outputs) panels, plus the Grad-CAM colour bar
        assert len(fig.axes) == 2 * (1 + n_out) + 1
        maps = [ax for ax in fig.axes[: 2 * (1 + n_out)] if ax.images]
        assert len(maps) == 2 * (1 + n_out) - 1  # all but the bar chart
        bars = fig.axes[1 + n_out]
        assert len(bars.patches) == 7 * n_out  # one bar per variable per output
        heights = np.array([p.get_height() for p in bars.patches]).reshape(n_out, 7)
        np.testing.assert_allclose(heights.sum(axis=1), 1.0, rtol=1e-5)  # shares
        fig.canvas.draw()
    finally:
        plt.close(fig)
    with pytest.raises(InvalidArgumentError, match=r"outputs=\['wind'\].*has outputs"):
        plot_attribution(scene, model, outputs=["wind"])


def test_plotting_stays_torch_free() -> None:
    code = "import sys, xseaice.plotting; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
