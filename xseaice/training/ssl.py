"""Self-supervised masked-image-modelling pretraining for zone models (SimMIM-style).

Blocks of ``block x block`` pixels (a multiple of the hybrid's 4-pixel patches) are hidden
(set to 0 after normalisation, i.e. the mean grey value) in a fraction ``mask_ratio`` of
the positions; the model's decoder features feed a 1 x 1 reconstruction head that must
restore the hidden normalised grey values.  The loss is the mean squared error over hidden,
valid pixels only.  No label is used, so any number of unlabeled scenes can serve; the body
weights then initialise the zone model ([`xseaice.training.zones.load_pretrained`][]).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sized
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from xseaice.exceptions import InvalidArgumentError
from xseaice.training.steps import RunningLoss, optimizer_step

__all__ = ["mask_blocks", "pretrain_mim"]

logger = logging.getLogger(__name__)


def mask_blocks(
    x: torch.Tensor,
    *,
    block: int = 16,
    ratio: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random boolean mask (B, 1, H, W) hiding ``ratio`` of the ``block``-pixel blocks.

    Parameters
    ----------
    x : torch.Tensor
        Input (B, C, H, W).
    block : int, default 16
        Block side in pixels.
    ratio : float, default 0.5
        Fraction of blocks hidden (rounded to whole blocks, at least one).
    generator : torch.Generator, optional
        Random source.

    Returns
    -------
    torch.Tensor
        True where hidden.
    """
    if not 0.0 < ratio < 1.0:
        raise InvalidArgumentError(f"ratio must be in (0, 1); got {ratio}")
    b, _, h, w = x.shape
    gh, gw = math.ceil(h / block), math.ceil(w / block)
    n = gh * gw
    k = max(1, round(ratio * n))
    scores = torch.rand(b, n, generator=generator)
    idx = scores.argsort(dim=1)[:, :k]
    grid = torch.zeros(b, n, dtype=torch.bool)
    grid.scatter_(1, idx, True)
    grid = grid.view(b, 1, gh, gw)
    full = grid.repeat_interleave(block, 2).repeat_interleave(block, 3)
    return full[..., :h, :w]


class _MIMNet(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.features = cast(Callable[[torch.Tensor], torch.Tensor], body.forward_features)
        channels = cast(int, body.feature_channels)
        self.recon = nn.Conv2d(channels, cast(int, body.in_channels), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.recon(self.features(x))


def pretrain_mim(
    model: nn.Module,
    data: Dataset[tuple[torch.Tensor, torch.Tensor]],
    *,
    steps: int = 300,
    batch_size: int = 8,
    lr: float = 2e-3,
    block: int = 16,
    ratio: float = 0.5,
    bf16: bool = True,
    seed: int = 0,
    log_every: int = 25,
) -> dict[str, Any]:
    """Pretrain a zone model's body by masked image modelling (in place).

    Parameters
    ----------
    model : torch.nn.Module
        A zone model with ``forward_features`` and ``feature_channels``
        (`ZoneUNet`,
        `SwinZoneNet`).
    data : torch.utils.data.Dataset
        Items whose first element is a normalised input patch (labels are ignored), e.g.
        `ZonePatches` with ``labels=False``.
    steps, batch_size, lr
        AdamW with a cosine schedule.
    block, ratio
        Masking: block side in pixels and fraction hidden.
    bf16 : bool, default True
        bfloat16 autocast on the CPU.
    seed : int, default 0
        Seed of batch order and masks.
    log_every : int, default 25
        Log interval in steps.

    Returns
    -------
    dict
        ``loss`` history, ``seconds`` and the settings.
    """
    from torch.utils.data import DataLoader, RandomSampler

    if not hasattr(model, "forward_features") or not hasattr(model, "feature_channels"):
        raise InvalidArgumentError(
            f"{type(model).__name__} has no forward_features/feature_channels; pretrain a zone "
            "model (ZoneUNet or SwinZoneNet)"
        )
    net = _MIMNet(model)
    gen = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(
        cast(Sized, data), replacement=True, num_samples=steps * batch_size, generator=gen
    )
    loader = DataLoader(data, batch_size=batch_size, sampler=sampler)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.05)
    net.train()
    log = RunningLoss(steps, log_every, logger, "MIM step")
    t0 = time.perf_counter()
    for step, batch in enumerate(loader):
        x = batch[0]
        frac = step / max(1, steps - 1)
        for group in opt.param_groups:
            group["lr"] = (
                lr
                * min(1.0, (step + 1) / max(1, steps // 20))
                * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            )
        hide = mask_blocks(x, block=block, ratio=ratio, generator=gen)
        valid = x.abs().sum(1, keepdim=True) > 0  # no-data pixels are exactly 0
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            rec = net(x.masked_fill(hide, 0.0))
        sel = hide & valid
        if not sel.any():
            continue
        loss = F.mse_loss(rec.float()[sel.expand_as(rec)], x[sel.expand_as(x)])
        optimizer_step(loss, opt, net.parameters(), step=step, lr=lr, what="MIM loss")
        log.add(step, loss.item())
    model.eval()
    return {
        "loss": log.history,
        "seconds": time.perf_counter() - t0,
        "steps": steps,
        "block": block,
        "ratio": ratio,
    }
