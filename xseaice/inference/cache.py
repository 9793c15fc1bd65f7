"""The per-process model cache: each model is loaded, folded and prepared once per
worker process and device.

Preparing a model for inference: gradients off, eval-mode ``BatchNorm2d`` folded into
the convolution before it, output heads kept in float32
([`keep_heads_fp32`][xseaice.inference.cache.keep_heads_fp32]), and channels-last memory.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from xseaice.models import WeightsSpec, load_model

__all__ = [
    "Float32Head",
    "cached_model",
    "clear_model_cache",
    "keep_heads_fp32",
    "module_token",
    "prepare_model",
]

logger = logging.getLogger(__name__)


_MODEL_CACHE: dict[tuple[str, str], nn.Module] = {}
_CACHE_LOCK = threading.Lock()
_LOAD_COUNT: dict[str, int] = {}


def clear_model_cache() -> None:
    """Forget the models cached in this process (they are reloaded on next use)."""
    with _CACHE_LOCK:
        _MODEL_CACHE.clear()


def cached_model(
    key: str, device: torch.device, *, spec: WeightsSpec | None, module: nn.Module | None
) -> nn.Module:
    """The prepared model for ``key`` on ``device``, loaded on first use in this process.

    Parameters
    ----------
    key : str
        Cache key: the weights' sha256, or [`module_token`][xseaice.inference.cache.module_token] of
        an in-memory module.
    device : torch.device
        Where the model runs.
    spec : WeightsSpec or None
        Weights to load when ``module`` is None.
    module : torch.nn.Module or None
        An in-memory module; a prepared copy is cached (the caller's module is untouched).
    """
    ck = (key, str(device))
    model = _MODEL_CACHE.get(ck)
    if model is not None:
        return model
    with _CACHE_LOCK:
        model = _MODEL_CACHE.get(ck)
        if model is not None:
            return model
        if module is not None:
            model = copy.deepcopy(module).to(device)
        else:
            assert spec is not None
            model, _ = load_model(spec, device=device)
        model = prepare_model(model)
        _MODEL_CACHE[ck] = model
        _LOAD_COUNT[key] = _LOAD_COUNT.get(key, 0) + 1
        logger.debug("loaded model %s on %s (pid %d)", key[:12], device, os.getpid())
        return model


def prepare_model(model: nn.Module) -> nn.Module:
    """Prepare a model for inference, in place: eval mode, no gradients, ``BatchNorm2d``
    folded, output heads in float32 ([`keep_heads_fp32`][xseaice.inference.cache.keep_heads_fp32]),
    channels-last memory.

    Parameters
    ----------
    model : torch.nn.Module
        The model (modified; pass a copy to keep the original trainable).

    Returns
    -------
    torch.nn.Module
        The same model, prepared.
    """
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    _fold_batchnorm(model)
    keep_heads_fp32(model)
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


class Float32Head(nn.Module):
    """A head module run in float32 with autocast off (see
    [`keep_heads_fp32`][xseaice.inference.cache.keep_heads_fp32])."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The inner head on ``x`` cast to float32, outside autocast."""
        with torch.autocast(x.device.type, enabled=False):
            return self.inner(x.float())


def _output_heads(model: nn.Module) -> list[tuple[Any, str]]:
    """``(parent, name)`` of each output head: ``model.head`` and ``model.heads[...]``."""
    found: list[tuple[Any, str]] = []
    if isinstance(getattr(model, "head", None), nn.Module):
        found.append((model, "head"))
    heads = getattr(model, "heads", None)
    if isinstance(heads, nn.ModuleDict):
        found.extend((heads, name) for name in heads)
    return found


def keep_heads_fp32(model: nn.Module) -> int:
    """Run a model's output heads in float32 even under bf16 autocast, in place.

    The body of the network runs in bfloat16; its features are cast to float32 and the
    final convolutions (``model.head``, ``model.heads[...]``, the layout of every xseaice
    model) run in float32 with autocast off.  A bf16 head rounds every logit to 8
    significant bits, so many pixels share one logit value and a bias solved on the
    logits (ALS ``preserve``) can no longer reach a target ice fraction; with a float32
    head the logits stay continuous and within
    [`xseaice.inference.BF16_LOGIT_TOLERANCE`][] of the float32 model's.

    Parameters
    ----------
    model : torch.nn.Module
        The model, modified in place.

    Returns
    -------
    int
        The number of heads wrapped (0 for a module without ``head`` / ``heads``: it then
        runs entirely under autocast).
    """
    n = 0
    for parent, name in _output_heads(model):
        is_dict = isinstance(parent, Mapping)
        head = parent[name] if is_dict else getattr(parent, name)
        if isinstance(head, Float32Head):
            continue
        if is_dict:
            parent[name] = Float32Head(head)
        else:
            setattr(parent, name, Float32Head(head))
        n += 1
    return n


def _fold_batchnorm(model: nn.Module) -> int:
    """Fold eval-mode ``BatchNorm2d`` layers into the ``Conv2d`` before them, in place.

    Only ``Conv2d -> BatchNorm2d`` pairs inside an ``nn.Sequential`` are folded (the
    layout of every xseaice model); the result is the same function with one memory pass
    less per layer.  Returns the number of folded layers.
    """
    n = 0
    for mod in model.modules():
        if not isinstance(mod, nn.Sequential):
            continue
        for i in range(len(mod) - 1):
            conv, bn = mod[i], mod[i + 1]
            if not (
                isinstance(conv, nn.Conv2d)
                and isinstance(bn, nn.BatchNorm2d)
                and bn.running_mean is not None
                and bn.running_var is not None
                and bn.num_features == conv.out_channels
            ):
                continue
            with torch.no_grad():
                scale = torch.rsqrt(bn.running_var + bn.eps)
                if bn.weight is not None:
                    scale = scale * bn.weight
                shift = -bn.running_mean * scale
                if bn.bias is not None:
                    shift = shift + bn.bias
                if conv.bias is not None:
                    shift = shift + conv.bias * scale
                conv.weight.mul_(scale.view(-1, 1, 1, 1))
                conv.bias = nn.Parameter(shift, requires_grad=False)
            mod[i + 1] = nn.Identity()
            n += 1
    return n


def module_token(module: nn.Module) -> str:
    """A cache key for an in-memory module: sha256 of its class name and state dict."""
    h = hashlib.sha256(type(module).__qualname__.encode())
    for k, v in module.state_dict().items():
        h.update(k.encode())
        t = v.detach().to("cpu").contiguous()
        h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(_tensor_bytes(t))
    return "mem-" + h.hexdigest()


def _tensor_bytes(t: torch.Tensor) -> bytes:
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()
