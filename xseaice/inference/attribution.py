"""Which pixels and which inputs a segmentation model leans on: Grad-CAM and gradient x input.

[`explain`][xseaice.inference.attribution.explain] runs one forward and one backward pass of a
model over a scene (the same input preparation as
[`segment`][xseaice.inference.segment.segment]: the spec's variables in its order, normalised
by its ``(mean, std)`` table, no-data pixels where a SAR input is NaN) and returns, for one
output and one target:

* **Grad-CAM** (Selvaraju et al. 2017, in its segmentation form after Vinogradova et al.
  2020): the target score is the mean logit of the target class over a region of pixels;
  each channel ``k`` of a layer's activations ``A_k`` is weighted by the mean of
  ``d score / d A_k`` over the layer's grid, and the map is ``ReLU(sum_k alpha_k A_k)``,
  upsampled (bilinear) to the input grid and divided by its maximum over valid pixels.
* **gradient x input per channel**: ``sum |d score / d x_c * x_c|`` over valid pixels, with
  ``x`` the normalised input the model reads, in logit units.  Because the input is
  ``(value - training mean) / std``, ``d score / d x_c * x_c`` is the first-order
  contribution of each variable's departure from its training mean to the region's mean
  logit (for a linear model the signed sum over variables and pixels is the score itself):
  which of HH, HV, the incidence angle and the AMSR-2 brightness temperatures the
  prediction depends on.

[`grad_cam`][xseaice.inference.attribution.grad_cam] and
[`channel_attribution`][xseaice.inference.attribution.channel_attribution] return one of the two.
The whole scene runs in one float32 pass (no tiling, gradients kept): use scenes or crops of
up to a few thousand pixels a side.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from torch import nn

from xseaice.exceptions import InvalidArgumentError, ModelError, XSeaIceWarning
from xseaice.inference.segment import _check_pixel_size, _check_variables, _resolve_model
from xseaice.inference.tiling import normalise_array
from xseaice.models import WeightsSpec, load_model, resolve_device
from xseaice.variables import AMSR2_VARIABLES, SAR_VARIABLES

__all__ = [
    "DEFAULT_LAYERS",
    "attribution_table",
    "channel_attribution",
    "explain",
    "grad_cam",
]

logger = logging.getLogger(__name__)

#: Layer Grad-CAM reads by default, by architecture: the bottleneck, the coarsest and most
#: semantic layer whose output every head sees (the U-Net's bridge, the multi-task ASPP).
DEFAULT_LAYERS: dict[str, str] = {"unet": "bridge", "multitask_aspp": "aspp"}

Region = Literal["valid", "predicted"]
CamMethod = Literal["grad-cam", "hirescam"]


@dataclass(frozen=True)
class _Inputs:
    """A scene ready for the model: normalised ``(1, C, H, W)`` tensor and its context.

    ``x`` is zero-padded at the bottom and right to the model's ``size_multiple`` (as the
    model would pad it itself), so every layer's grid divides the padded input exactly.
    """

    x: torch.Tensor
    valid: np.ndarray
    module: nn.Module
    spec: WeightsSpec
    coords: dict[str, Any]


def _prepare(data: Any, model: Any, device: Any, time_index: int) -> _Inputs:
    """Resolve the model and build its input exactly as `segment` does."""
    spec, module, _ = _resolve_model(model)
    if isinstance(data, xr.Dataset):
        arrays = _check_variables(data, spec)
        _check_pixel_size(data, spec)
        if "time" in arrays[0].dims:
            nt = arrays[0].sizes["time"]
            if not -nt <= time_index < nt:
                raise InvalidArgumentError(
                    f"time_index={time_index} is outside the scene's {nt} time steps"
                )
            arrays = [a.isel(time=time_index) for a in arrays]
        stack = np.stack([np.asarray(a.values, dtype=np.float32) for a in arrays])
        coords = {str(k): c for k, c in arrays[0].coords.items() if set(c.dims) <= {"y", "x"}}
    elif isinstance(data, np.ndarray):
        stack, coords = data, {}
    else:
        raise InvalidArgumentError(
            "data must be a scene xarray.Dataset (the model's variables) or a (channels, y, x) "
            f"numpy array in physical units; got {type(data).__name__}"
        )
    xn, valid = normalise_array(stack, spec)
    if not valid.any():
        raise InvalidArgumentError(
            "data has no valid pixel (a SAR input is NaN everywhere); nothing to attribute"
        )
    dev = resolve_device(device)
    net = load_model(spec, device=dev)[0] if module is None else module
    net = copy.deepcopy(net).to(dev).float().eval()
    for mod in net.modules():  # in-place ops would overwrite the activations Grad-CAM reads
        if isinstance(getattr(mod, "inplace", None), bool):
            mod.__dict__["inplace"] = False
    for p in net.parameters():
        p.requires_grad_(False)
    m = int(getattr(net, "size_multiple", 1))
    x = torch.from_numpy(np.ascontiguousarray(xn.transpose(2, 0, 1)))[None]
    x = F.pad(x, (0, -x.shape[-1] % m, 0, -x.shape[-2] % m)).to(dev)
    return _Inputs(x=x, valid=valid, module=net, spec=spec, coords=coords)


def _default_layer(net: nn.Module, spec: WeightsSpec) -> str:
    names = dict(net.named_modules())
    layer = DEFAULT_LAYERS.get(spec.architecture, "")
    if layer and layer in names:
        return layer
    raise InvalidArgumentError(
        f"model {spec.name!r} ({spec.architecture or type(net).__name__}) has no default "
        f"Grad-CAM layer; pass layer= one of {_layer_names(net)}"
    )


def _layer_names(net: nn.Module) -> list[str]:
    return [n for n, _ in net.named_modules() if n]


def _target_class(spec: WeightsSpec, output: str, target: int | str | None) -> int | None:
    """The class index of ``target`` in ``output`` (None: each pixel's predicted class)."""
    if output not in spec.outputs:
        raise InvalidArgumentError(
            f"output={output!r} is not an output of model {spec.name!r}; choose one of "
            f"{list(spec.outputs)}"
        )
    classes = spec.outputs[output]
    names = list(classes) if classes is not None else ["water", "ice"]
    if target is None:
        return None if classes is not None else 1
    if isinstance(target, str):
        if target not in names:
            raise InvalidArgumentError(
                f"target_class={target!r} is not a class of {output!r}; choose one of {names}"
            )
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < len(names):
        raise InvalidArgumentError(
            f"target_class={target!r} must be a class index 0..{len(names) - 1} or a class name "
            f"of {output!r} ({names})"
        )
    return target


def _score_map(logits: torch.Tensor, binary: bool, k: int | None) -> torch.Tensor:
    """Per-pixel score ``(H, W)``: the target class's logit (ice logit, or minus it for water)."""
    if binary:
        return logits[0, 0] if k == 1 else -logits[0, 0]
    if k is None:  # each pixel's predicted class
        return logits[0].max(dim=0).values
    return logits[0, k]


def _region_mask(
    region: Any, valid: np.ndarray, logits: torch.Tensor, binary: bool, k: int | None
) -> np.ndarray:
    if isinstance(region, str):
        if region == "valid":
            return valid
        if region == "predicted":
            lg = logits[0].detach().cpu().numpy()
            if binary:
                pred = (lg[0] > 0) if k == 1 else (lg[0] <= 0)
            else:
                pred = lg.argmax(axis=0) == k if k is not None else np.ones(valid.shape, bool)
            return valid & pred
        raise InvalidArgumentError(
            f"region must be 'valid', 'predicted' or a boolean (y, x) mask; got {region!r}"
        )
    mask = np.asarray(region.values if isinstance(region, xr.DataArray) else region)
    if mask.shape != valid.shape or mask.dtype != bool:
        raise InvalidArgumentError(
            f"region as a mask must be a boolean array of the scene's shape {valid.shape}; got "
            f"{mask.dtype} {mask.shape}. Build one with e.g. (ds.hv.isel(time=0) > -20).values"
        )
    return mask & valid


def explain(
    data: xr.Dataset | np.ndarray,
    model: Any = "default",
    *,
    output: str = "ice_logit",
    target_class: int | str | None = None,
    region: Region | np.ndarray | xr.DataArray = "valid",
    layer: str | None = None,
    method: CamMethod = "grad-cam",
    device: str = "cpu",
    time_index: int = 0,
) -> xr.Dataset:
    """Grad-CAM map, prediction and per-channel gradient x input of one output of a model.

    Parameters
    ----------
    data : xarray.Dataset or numpy.ndarray
        A scene with the model's variables (as for `segment`), or a ``(C, y, x)`` array of
        them in physical units, in the spec's order.
    model : str, path, WeightsSpec or (nn.Module, WeightsSpec), default "default"
        As in [`segment`][xseaice.inference.segment.segment].
    output : str, default "ice_logit"
        The output to explain: ``"ice_logit"``, or a multi-task head (``"sic"``, ``"sod"``,
        ``"floe"``).
    target_class : int or str, optional
        The class whose logit is the score (index or name).  Default: ice for
        ``ice_logit`` (``0`` / ``"water"`` explains water: minus the logit), and each
        pixel's predicted class for a class head.
    region : {"valid", "predicted"} or bool array, default "valid"
        Pixels whose mean score is explained: all valid pixels, the pixels predicted as
        ``target_class``, or a boolean ``(y, x)`` mask (numpy or DataArray).
    layer : str, optional
        Grad-CAM layer, a dotted name from ``model.named_modules()`` (e.g.
        ``"encoder.downs.1"``); default the bottleneck
        ([`DEFAULT_LAYERS`][xseaice.inference.attribution.DEFAULT_LAYERS]).
    method : {"grad-cam", "hirescam"}, default "grad-cam"
        ``"grad-cam"``: one weight per channel (the gradient's mean over the layer's grid).
        ``"hirescam"`` (Draelos & Carin 2020): gradient times activation per location,
        summed over channels; it shows where the layer's activations raise the score even
        when, averaged over the grid, a channel lowers it (a Grad-CAM map that is zero
        everywhere, common at a U-Net's bottleneck whose skips carry the fine detail).
    device : str, default "cpu"
        As in `segment`.
    time_index : int, default 0
        Time step of a scene with a ``time`` dim.

    Returns
    -------
    xarray.Dataset
        ``grad_cam`` (float32 ``(y, x)`` in [0, 1], NaN where the input is not valid),
        ``prediction`` (the ice probability, or the class index with ``flag_meanings``),
        ``region`` (bool ``(y, x)``) and ``channel_attribution`` (float32 over
        ``variable``: the sum of ``|gradient x input|`` over valid pixels of the region's
        mean score, in logit units, with a ``sensor`` coordinate).  Attributes name the
        output, class, layer and model.

    Raises
    ------
    InvalidArgumentError
        An unknown output, class or layer (the message lists the valid ones), a layer the
        forward pass never calls, an empty region or a bad mask.
    MissingVariablesError, ModelError, WeightsError
        As in `segment`.
    """
    if method not in ("grad-cam", "hirescam"):
        raise InvalidArgumentError(f"method must be 'grad-cam' or 'hirescam'; got {method!r}")
    inp = _prepare(data, model, device, time_index)
    return _run(inp, output, target_class, region, layer, method=method)


def _run(
    inp: _Inputs,
    output: str,
    target_class: Any,
    region: Any,
    layer: str | None,
    *,
    method: CamMethod | None,
) -> xr.Dataset:
    """Resolve the target and layer, run the passes and wrap the result."""
    spec, net = inp.spec, inp.module
    k = _target_class(spec, output, target_class)
    binary = spec.outputs[output] is None
    module = None
    if method is not None:
        layer = _default_layer(net, spec) if layer is None else layer
        modules = dict(net.named_modules())
        if not layer or layer not in modules:
            raise InvalidArgumentError(
                f"layer={layer!r} is not a module of model {spec.name!r}; choose one of "
                f"{_layer_names(net)}"
            )
        module = modules[layer]
    grads = _backward(net, inp, module, layer or "", output, binary, k, region)
    return _as_dataset(inp, grads, output=output, k=k, layer=layer or "", method=method)


def _backward(
    net: nn.Module,
    inp: _Inputs,
    module: nn.Module | None,
    layer: str,
    output: str,
    binary: bool,
    k: int | None,
    region: Any,
) -> dict[str, Any]:
    """One forward + backward pass; the hooked layer's activations (``module`` not None)
    and their gradient, and the input gradient."""
    acts: list[Any] = []

    def hook(_m: nn.Module, _i: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.ndim == 4:
            out.retain_grad()
        acts.append(out)

    x = inp.x.clone().requires_grad_(True)
    handle = module.register_forward_hook(hook) if module is not None else None
    try:
        with torch.enable_grad():
            res = net(x)
    finally:
        if handle is not None:
            handle.remove()
    if not isinstance(res, Mapping):
        res = {next(iter(inp.spec.outputs)): res}
    if output not in res:
        raise ModelError(f"the model returned {sorted(res)}, not the output {output!r}")
    h, w = inp.valid.shape
    logits = res[output][..., :h, :w]
    children = [f"{layer}.{n}" for n, _ in module.named_children()] if module is not None else []
    if module is not None and not acts:
        raise InvalidArgumentError(
            f"layer={layer!r} is never called as a whole by the model's forward pass, so it has "
            f"no activations; pick one of its sub-layers {children} or another layer"
        )
    if acts and not (isinstance(acts[-1], torch.Tensor) and acts[-1].ndim == 4):
        raise InvalidArgumentError(
            f"layer={layer!r} returns a {type(acts[-1]).__name__}, not one (batch, channel, y, x) "
            f"feature map; pick one of its sub-layers {children} or another layer"
        )
    mask = _region_mask(region, inp.valid, logits, binary, k)
    if not mask.any():
        where = region if isinstance(region, str) else "the mask"
        raise InvalidArgumentError(
            f"region {where!r} holds no valid pixel for output {output!r}, class {k}; choose "
            "another region or target_class"
        )
    score_map = _score_map(logits, binary, k)
    m = torch.from_numpy(mask).to(score_map.device)
    score = score_map[m].mean()
    score.backward()
    assert x.grad is not None
    return {
        "acts": acts[-1] if acts else None,
        "logits": logits.detach(),
        "x_grad": x.grad[..., :h, :w],
        "x": x.detach()[..., :h, :w],
        "mask": mask,
        "padded": tuple(x.shape[-2:]),
    }


def _cam(
    acts: torch.Tensor, padded: tuple[int, int], valid: np.ndarray, method: CamMethod
) -> np.ndarray:
    """``ReLU(sum_k mean(dS/dA_k) A_k)`` (HiResCAM: ``ReLU(sum_k dS/dA_k A_k)``) upsampled
    to the input and scaled to [0, 1]."""
    a = acts.detach()
    g = acts.grad if acts.grad is not None else torch.zeros_like(a)
    if method == "grad-cam":
        g = g.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((g * a).sum(dim=1, keepdim=True))
    # the layer's grid covers the padded input: upsample to it, then crop to the scene
    up = F.interpolate(cam, size=padded, mode="bilinear", align_corners=False)
    out = up[0, 0, : valid.shape[0], : valid.shape[1]].cpu().numpy().astype(np.float32)
    top = float(out[valid].max()) if valid.any() else 0.0
    if top > 0:
        out /= top
    else:
        other = "" if method == "hirescam" else "method='hirescam', "
        warnings.warn(
            f"the {method} map is zero everywhere: the layer adds no positive evidence for "
            f"the target; try {other}another layer (e.g. a decoder layer), class or region",
            XSeaIceWarning,
            stacklevel=5,
        )
    out = np.clip(out, 0.0, 1.0)
    out[~valid] = np.nan
    return out


def _sensor(v: str) -> str:
    return "Sentinel-1" if v in SAR_VARIABLES else "AMSR-2" if v in AMSR2_VARIABLES else "other"


def _as_dataset(
    inp: _Inputs,
    res: dict[str, Any],
    *,
    output: str,
    k: int | None,
    layer: str,
    method: CamMethod | None,
) -> xr.Dataset:
    spec, valid = inp.spec, inp.valid
    gx = (res["x_grad"][0] * res["x"][0]).abs().cpu().numpy()
    per_channel = np.array([float(c[valid].sum()) for c in gx], dtype=np.float32)
    lg = res["logits"][0].cpu().numpy()
    classes = spec.outputs[output]
    pred_attrs: dict[str, Any]
    if classes is None:
        pred = (1.0 / (1.0 + np.exp(-lg[0]))).astype(np.float32)
        pred[~valid] = np.nan
        pred_attrs = {"long_name": "ice probability (sigmoid of the logit)", "units": "1"}
        target = "ice" if k == 1 else "water"
    else:
        pred = np.where(valid, lg.argmax(axis=0), 255).astype(np.uint8)
        pred_attrs = {
            "long_name": f"{output.upper()} class (argmax of the logits)",
            "flag_values": np.arange(len(classes), dtype=np.uint8),
            "flag_meanings": " ".join(classes),
        }
        target = classes[k] if k is not None else "predicted class"
    variables = list(spec.variables)
    dims = ("y", "x")
    ds = xr.Dataset(
        {
            "prediction": xr.DataArray(pred, dims=dims, attrs=pred_attrs),
            "region": xr.DataArray(res["mask"], dims=dims),
            "channel_attribution": xr.DataArray(
                per_channel,
                dims=("variable",),
                coords={
                    "variable": variables,
                    "sensor": ("variable", [_sensor(v) for v in variables]),
                },
                attrs={
                    "long_name": "sum over valid pixels of |gradient x normalised input|",
                    "units": "logit",
                },
            ),
        },
        coords=inp.coords,
        attrs={"model": spec.name, "output": output, "target_class": target, "layer": layer},
    )
    if res["acts"] is not None and method is not None:
        cam = _cam(res["acts"], res["padded"], valid, method)
        ds["grad_cam"] = xr.DataArray(cam, dims=dims, attrs={"long_name": method, "units": "1"})
        ds.attrs["method"] = method
    return ds


def grad_cam(
    data: xr.Dataset | np.ndarray,
    model: Any = "default",
    *,
    output: str = "ice_logit",
    target_class: int | str | None = None,
    region: Region | np.ndarray | xr.DataArray = "valid",
    layer: str | None = None,
    method: CamMethod = "grad-cam",
    device: str = "cpu",
    time_index: int = 0,
) -> xr.DataArray | np.ndarray:
    """The Grad-CAM map of one output of a model (see
    [`explain`][xseaice.inference.attribution.explain] for the parameters).

    Returns
    -------
    xarray.DataArray or numpy.ndarray
        Float32 ``(y, x)`` in [0, 1] on the scene grid (a DataArray for a Dataset, an
        array for an array), NaN where the input is not valid.

    Examples
    --------
    >>> from xseaice.synthetic import make_scene
    >>> from xseaice.inference.attribution import grad_cam
    >>> scene = make_scene(0, shape=(64, 64)).dataset
    >>> cam = grad_cam(scene, "multitask", output="sod", target_class="old_ice")
    >>> cam.shape
    (64, 64)
    """
    ds = explain(
        data,
        model,
        output=output,
        target_class=target_class,
        region=region,
        layer=layer,
        method=method,
        device=device,
        time_index=time_index,
    )
    cam = ds["grad_cam"].assign_attrs({**ds.attrs, **ds["grad_cam"].attrs})
    return cam if isinstance(data, xr.Dataset) else cam.values


def channel_attribution(
    data: xr.Dataset | np.ndarray,
    model: Any = "default",
    *,
    output: str = "ice_logit",
    target_class: int | str | None = None,
    region: Region | np.ndarray | xr.DataArray = "valid",
    device: str = "cpu",
    time_index: int = 0,
) -> Any:
    """How much one output leans on each input variable: ``|gradient x input|`` per variable.

    Parameters are those of [`explain`][xseaice.inference.attribution.explain].

    Returns
    -------
    pandas.DataFrame
        One row per input variable (the spec's order): ``sensor`` (``"Sentinel-1"`` for
        HH, HV and the incidence angle, ``"AMSR-2"`` for the brightness temperatures),
        ``abs_grad_x_input`` (the sum over valid pixels of ``|d score / d x * x|``, ``x``
        the normalised input and the score the region's mean logit of the target, in logit
        units) and ``share`` (its fraction of the sum over variables).
        ``df.groupby("sensor")["share"].sum()`` answers "how much SAR vs AMSR-2".
    """
    inp = _prepare(data, model, device, time_index)
    return attribution_table(_run(inp, output, target_class, region, None, method=None))


def attribution_table(ds: xr.Dataset) -> Any:
    """The per-variable table of an [`explain`][xseaice.inference.attribution.explain] result."""
    ca = ds["channel_attribution"]
    df = ca.to_dataframe(name="abs_grad_x_input")[["sensor", "abs_grad_x_input"]]
    total = float(df["abs_grad_x_input"].sum())
    df["share"] = df["abs_grad_x_input"] / total if total > 0 else 0.0
    return df
