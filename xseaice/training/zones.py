"""Training glacier zone models: patch datasets (synthetic fjords or CaFFe) and the loop.

`ZonePatches` cuts random, augmented patches from in-memory
scenes (Datasets with ``sar`` and ``zones``); [`CaffePatches`][xseaice.training.zones.CaffePatches]
does the same from the CaFFe PNG folders, reading one image per item.
[`train_zones`][xseaice.training.zones.train_zones] fine-tunes any zone model (``forward`` returning
``{"zones": logits}``) with cross-entropy, AdamW and a cosine schedule, optionally starting from
self-supervised weights ([`xseaice.training.ssl`][]).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence, Sized
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from torch import nn
from torch.utils.data import Dataset

from xseaice.exceptions import InvalidArgumentError, TrainingError
from xseaice.training.steps import RunningLoss, optimizer_step

__all__ = [
    "CaffePatches",
    "ZonePatches",
    "load_pretrained",
    "sar_normalisation",
    "train_zones",
]

logger = logging.getLogger(__name__)


def sar_normalisation(scenes: Sequence[xr.Dataset], variable: str = "sar") -> tuple[float, float]:
    """Mean and standard deviation of ``variable`` over the valid pixels of ``scenes``."""
    total = total2 = 0.0
    n = 0
    for ds in scenes:
        v = np.asarray(ds[variable].values, dtype=np.float64)
        v = v[np.isfinite(v)]
        total += float(v.sum())
        total2 += float((v * v).sum())
        n += v.size
    if n == 0:
        raise TrainingError(f"no valid {variable!r} pixels in the training scenes")
    mean = total / n
    return mean, math.sqrt(max(total2 / n - mean * mean, 1e-6))


def _augment(x: np.ndarray, y: np.ndarray | None, rng: np.random.Generator) -> tuple[Any, Any]:
    k = int(rng.integers(0, 4))
    flip = bool(rng.integers(0, 2))
    x = np.rot90(x, k, axes=(-2, -1))
    y = None if y is None else np.rot90(y, k)
    if flip:
        x = x[..., ::-1]
        y = None if y is None else y[..., ::-1]
    return np.ascontiguousarray(x), None if y is None else np.ascontiguousarray(y)


def _crop(
    sar: np.ndarray, zones: np.ndarray | None, patch: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    ny, nx = sar.shape
    if ny < patch or nx < patch:
        pad = ((0, max(0, patch - ny)), (0, max(0, patch - nx)))
        sar = np.pad(sar, pad, constant_values=np.nan)
        zones = None if zones is None else np.pad(zones, pad, constant_values=0)
        ny, nx = sar.shape
    r = int(rng.integers(0, ny - patch + 1))
    c = int(rng.integers(0, nx - patch + 1))
    return sar[r : r + patch, c : c + patch], (
        None if zones is None else zones[r : r + patch, c : c + patch]
    )


class ZonePatches(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Random augmented patches from in-memory glacier scenes.

    Parameters
    ----------
    scenes : sequence of xarray.Dataset
        Scenes with ``sar`` (NaN = no data) and, unless ``labels=False``, ``zones``.
    normalisation : (float, float)
        Mean and std of ``sar``; the input is ``(sar - mean) / std`` with NaN set to 0.
    patch : int, default 128
        Patch side in pixels.
    length : int, default 1024
        Items per epoch (each a fresh random patch).
    labels : bool, default True
        Return the zone patch as target (else a zero-size tensor).
    seed : int, default 0
        Seed of the crop and augmentation draws (mixed with the item index).
    """

    def __init__(
        self,
        scenes: Sequence[xr.Dataset],
        normalisation: tuple[float, float],
        *,
        patch: int = 128,
        length: int = 1024,
        labels: bool = True,
        seed: int = 0,
    ) -> None:
        if not scenes:
            raise InvalidArgumentError("scenes must be a non-empty sequence of Datasets")
        missing = [
            i for i, ds in enumerate(scenes) if "sar" not in ds or (labels and "zones" not in ds)
        ]
        if missing:
            raise InvalidArgumentError(
                f"scenes {missing[:5]} lack 'sar'{' or zones' if labels else ''}; expected "
                "make_fjord() or read_caffe() scenes"
            )
        self.sar = [np.asarray(ds["sar"].values, dtype=np.float32) for ds in scenes]
        self.zones = [np.asarray(ds["zones"].values, np.int64) for ds in scenes] if labels else None
        self.mean, self.std = float(normalisation[0]), float(normalisation[1])
        self.patch, self.length, self.seed = int(patch), int(length), int(seed)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, int(i)])
        k = int(rng.integers(0, len(self.sar)))
        z = None if self.zones is None else self.zones[k]
        sar, zones = _crop(self.sar[k], z, self.patch, rng)
        x = np.nan_to_num((sar - self.mean) / self.std, nan=0.0)[None]
        x, zones = _augment(x, zones, rng)
        y = torch.from_numpy(zones) if zones is not None else torch.empty(0, dtype=torch.long)
        return torch.from_numpy(x.astype(np.float32)), y


class CaffePatches(ZonePatches):
    """Random patches from a CaFFe split on disk (one PNG pair read per item).

    Parameters
    ----------
    root : str or path
        The CaFFe folder (see [`xseaice.io.caffe.read_caffe`][]).
    split : str, default "train"
        Split folder.
    normalisation : (float, float)
        Mean and std of the grey values.
    patch, length, seed
        As for `ZonePatches`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        normalisation: tuple[float, float],
        *,
        split: str = "train",
        patch: int = 256,
        length: int = 1024,
        seed: int = 0,
    ) -> None:
        from xseaice.io.caffe import list_caffe

        self.root, self.split = root, split
        self.names = list_caffe(root, split)
        if not self.names:
            raise InvalidArgumentError(f"no CaFFe images under {root} split {split!r}")
        self.mean, self.std = float(normalisation[0]), float(normalisation[1])
        self.patch, self.length, self.seed = int(patch), int(length), int(seed)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        from xseaice.io.caffe import read_caffe_scene

        rng = np.random.default_rng([self.seed, int(i)])
        ds = read_caffe_scene(
            self.root, self.names[int(rng.integers(0, len(self.names)))], self.split
        )
        sar, zones = _crop(ds["sar"].values, ds["zones"].values.astype(np.int64), self.patch, rng)
        x = np.nan_to_num((sar - self.mean) / self.std, nan=0.0)[None]
        x, zones = _augment(x, zones, rng)
        return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(zones)


def load_pretrained(model: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Load self-supervised weights into a zone model, all but its class head.

    Returns
    -------
    list of str
        The model's parameter names left at their initial values (the head).

    Raises
    ------
    TrainingError
        If a body tensor is missing from ``state`` or has another shape.
    """
    own = model.state_dict()
    body = {k: v for k, v in state.items() if not k.startswith("head.") and k in own}
    missing = [k for k in own if not k.startswith("head.") and k not in body]
    if missing:
        raise TrainingError(
            f"pretrained weights lack {missing[:5]} of the model; pretrain the same architecture "
            "with the same arguments"
        )
    bad = [k for k, v in body.items() if v.shape != own[k].shape]
    if bad:
        raise TrainingError(f"pretrained tensors {bad[:5]} do not fit the model's shapes")
    model.load_state_dict(body, strict=False)
    return [k for k in own if k.startswith("head.")]


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * t)))


def train_zones(
    model: nn.Module,
    data: Dataset[tuple[torch.Tensor, torch.Tensor]],
    *,
    steps: int = 300,
    batch_size: int = 8,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    precision: str = "auto",
    seed: int = 0,
    log_every: int = 25,
) -> dict[str, Any]:
    """Train a zone model with pixel-wise cross-entropy.

    Parameters
    ----------
    model : torch.nn.Module
        Returns ``{"zones": logits (B, 4, H, W)}``; trained in place on the CPU.
    data : torch.utils.data.Dataset
        Items ``(x (1, P, P) float, zones (P, P) long)``, e.g.
        `ZonePatches`.
    steps, batch_size, lr, weight_decay
        Optimisation: AdamW, linear warm-up (5 %) and cosine decay to 5 % of ``lr``.
    precision : {"auto", "fp32", "bf16"}, default "auto"
        ``"auto"``: bfloat16 autocast where the CPU supports it natively.
    seed : int, default 0
        Seed of the batch order.
    log_every : int, default 25
        Log the running loss every this many steps.

    Returns
    -------
    dict
        ``loss`` (per logged step), ``seconds``, ``steps``, ``precision``.
    """
    from torch.utils.data import DataLoader, RandomSampler

    if precision not in ("auto", "fp32", "bf16"):
        raise InvalidArgumentError(f"precision must be 'auto', 'fp32' or 'bf16'; got {precision!r}")
    bf16 = precision == "bf16" or (precision == "auto" and _native_bf16())
    gen = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(
        cast(Sized, data), replacement=True, num_samples=steps * batch_size, generator=gen
    )
    loader = DataLoader(data, batch_size=batch_size, sampler=sampler, num_workers=0)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    log = RunningLoss(steps, log_every, logger)
    t0 = time.perf_counter()
    for step, (x, y) in enumerate(loader):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, lr, max(1, steps // 20))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)["zones"]
        loss = F.cross_entropy(logits.float(), y)
        optimizer_step(loss, opt, model.parameters(), step=step, lr=lr)
        log.add(step, loss.item())
    model.eval()
    return {
        "loss": log.history,
        "seconds": time.perf_counter() - t0,
        "steps": steps,
        "precision": "bf16" if bf16 else "fp32",
    }


def _native_bf16() -> bool:
    from xseaice.models.runtime import cpu_supports_bf16

    return bool(cpu_supports_bf16())
