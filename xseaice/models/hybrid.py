"""A Swin-style transformer encoder with a residual CNN decoder (SSL4SAR's shape, CPU-sized).

The encoder embeds 4 x 4 pixel patches (after a small convolutional stem that keeps
full- and half-resolution skips), then runs stages of windowed multi-head self-attention
with relative position bias, alternating plain and shifted windows (Swin), merging 2 x 2
tokens between stages.  The decoder upsamples with nearest neighbour and refines each scale
with residual convolution blocks fed by the encoder's skips.

Attention is confined to windows on a grid anchored at the image origin, so the receptive
field is finite and known (`SwinZoneNet.receptive_reach`) and tiles that start on
multiples of `SwinZoneNet.size_multiple` are computed exactly as the whole scene:
the model runs seam-free through `xseaice.inference.segment`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xseaice.exceptions import InvalidArgumentError
from xseaice.models.zones import ZONE_CLASSES

__all__ = ["SwinZoneNet", "hybrid_reach"]


class ConvBNAct(nn.Sequential):
    """Convolution, batch norm, ReLU."""

    def __init__(self, cin: int, cout: int, *, k: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class ResBlock(nn.Module):
    """Two 3 x 3 convolutions with a residual connection (1 x 1 projection if needed)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBNAct(cin, cout),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.skip(x))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside ``window x window`` token windows."""

    rel_index: Tensor

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        coords = torch.stack(
            torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        ).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("rel_index", rel[..., 0] * (2 * window - 1) + rel[..., 1], False)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x``: (windows, window**2, dim); ``mask``: (windows, n, n) additive or None."""
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.bias_table[self.rel_index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)
        attn = bias.unsqueeze(0).to(qkv.dtype)
        if mask is not None:
            attn = attn + mask.unsqueeze(1).to(qkv.dtype)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn)
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


def _windows(x: Tensor, w: int) -> Tensor:
    b, h, wd, c = x.shape
    x = x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, c)


def _unwindows(x: Tensor, w: int, b: int, h: int, wd: int) -> Tensor:
    c = x.shape[-1]
    x = x.view(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, wd, c)


def _shift_mask(h: int, w: int, window: int, shift: int, device: torch.device) -> Tensor:
    """Additive mask keeping rolled windows from mixing tokens of different regions."""
    region = torch.zeros(h, w, device=device)
    cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    k = 0
    for rs in cuts:
        for cs in cuts:
            region[rs, cs] = k
            k += 1
    ids = _windows(region[None, :, :, None], window).squeeze(-1)
    diff = ids[:, :, None] - ids[:, None, :]
    return torch.zeros_like(diff).masked_fill(diff != 0, -1e4)


class SwinBlock(nn.Module):
    """LayerNorm, (shifted) window attention, LayerNorm, MLP; both residual."""

    def __init__(self, dim: int, heads: int, window: int, shift: int) -> None:
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: (B, H, W, C) tokens; H and W multiples of the window."""
        b, h, w, _ = x.shape
        y = self.norm1(x)
        mask = None
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), dims=(1, 2))
            mask = _shift_mask(h, w, self.window, self.shift, x.device).repeat(b, 1, 1)
        y = _unwindows(self.attn(_windows(y, self.window), mask), self.window, b, h, w)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), dims=(1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


def hybrid_reach(depths: Sequence[int], windows: Sequence[int]) -> int:
    """Receptive-field reach in pixels of `SwinZoneNet` (one
    side, an upper bound).

    Stem and half-resolution block: 3 + 1 + 4 px; each attention block at scale ``s`` with
    window ``w``: ``(w - 1) * s``, plus ``s`` for the shifted window's offset; merges add
    nothing beyond their footprint; decoder: per scale ``s`` an upsampling (``s``) and a
    residual block (``2 s``).
    """
    reach = 8
    scale = 4
    for d, w in zip(depths, windows, strict=True):
        reach += d * w * scale
        scale *= 2
    scale //= 2
    while scale >= 1:
        reach += 3 * scale
        scale //= 2
    return reach


class SwinZoneNet(nn.Module):
    """Swin-style encoder + residual CNN decoder for glacier zones (4 classes).

    Parameters
    ----------
    in_channels : int, default 1
        Input variables (the SAR grey value).
    embed_dim : int, default 32
        Token channels of the first stage (doubled at each merge).
    depths : sequence of int, default (2, 2, 2)
        Attention blocks per stage (scales 1/4, 1/8, 1/16).
    heads : sequence of int, default (2, 4, 8)
        Attention heads per stage.
    windows : sequence of int, default (8, 8, 4)
        Window side in tokens per stage.
    stem : (int, int), default (16, 24)
        Channels of the full- and half-resolution convolutional stem (decoder skips).

    Notes
    -----
    ``forward`` returns ``{"zones": Tensor[B, 4, H, W]}``; any ``H, W`` (padded internally
    to `size_multiple` and cropped back).
    """

    architecture = "swin_zones"

    def __init__(
        self,
        in_channels: int = 1,
        *,
        embed_dim: int = 32,
        depths: Sequence[int] = (2, 2, 2),
        heads: Sequence[int] = (2, 4, 8),
        windows: Sequence[int] = (8, 8, 4),
        stem: Sequence[int] = (16, 24),
    ) -> None:
        super().__init__()
        if not (len(depths) == len(heads) == len(windows) >= 1):
            raise InvalidArgumentError(
                f"depths, heads and windows need one entry per stage; got {depths}, {heads}, "
                f"{windows}"
            )
        dims = [embed_dim * 2**i for i in range(len(depths))]
        if any(d % h for d, h in zip(dims, heads, strict=True)) or any(w < 2 for w in windows):
            raise InvalidArgumentError(
                f"stage widths {dims} must be divisible by heads {list(heads)}; windows >= 2"
            )
        self.in_channels = int(in_channels)
        self.arch_kwargs: dict[str, Any] = {
            "in_channels": int(in_channels),
            "embed_dim": int(embed_dim),
            "depths": [int(d) for d in depths],
            "heads": [int(h) for h in heads],
            "windows": [int(w) for w in windows],
            "stem": [int(s) for s in stem],
        }
        s0, s1 = int(stem[0]), int(stem[1])
        self.stem0 = nn.Sequential(ConvBNAct(in_channels, s0), ResBlock(s0, s0))
        self.stem1 = nn.Sequential(ConvBNAct(s0, s1, stride=2), ResBlock(s1, s1))
        self.embed = nn.Conv2d(s1, dims[0], 2, stride=2)
        self.merges = nn.ModuleList(
            nn.Conv2d(dims[i - 1], dims[i], 2, stride=2) for i in range(1, len(dims))
        )
        self.stages = nn.ModuleList(
            nn.ModuleList(
                SwinBlock(dims[i], heads[i], windows[i], (windows[i] // 2) * (k % 2))
                for k in range(depths[i])
            )
            for i in range(len(dims))
        )
        self.norms = nn.ModuleList(nn.LayerNorm(d) for d in dims)
        ups = []
        below = dims[-1]
        for skip in [*dims[-2::-1], s1, s0]:
            ups.append(ResBlock(below + skip, skip))
            below = skip
        self.decoder = nn.ModuleList(ups)
        self.head = nn.Conv2d(s0, len(ZONE_CLASSES), 1)
        self.size_multiple = math.lcm(*(w * 4 * 2**i for i, w in enumerate(windows)))
        self.receptive_reach = hybrid_reach(depths, windows)

    @property
    def receptive_halo(self) -> int:
        """Halo for seam-free tiling: the reach rounded up to `size_multiple`."""
        m = self.size_multiple
        return math.ceil(self.receptive_reach / m) * m

    @property
    def feature_channels(self) -> int:
        """Channels of `forward_features`."""
        return int(self.head.in_channels)

    @property
    def output_classes(self) -> dict[str, tuple[str, ...] | None]:
        """``{"zones": ("na", "rock", "glacier", "ocean")}``."""
        return {"zones": ZONE_CLASSES}

    def _pad(self, x: Tensor) -> tuple[Tensor, int, int]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise InvalidArgumentError(
                f"SwinZoneNet was built for in_channels={self.in_channels}: it expects input of "
                f"shape (batch, {self.in_channels}, height, width); got {tuple(x.shape)}"
            )
        h, w = x.shape[-2:]
        m = self.size_multiple
        return F.pad(x, (0, (-w) % m, 0, (-h) % m)), h, w

    def forward_features(self, x: Tensor) -> Tensor:
        """Decoder features at input resolution (before the class head)."""
        x, h, w = self._pad(x)
        f0 = self.stem0(x)
        f1 = self.stem1(f0)
        t = self.embed(f1)
        skips = [f0, f1]
        for i, stage in enumerate(self.stages):
            if i:
                t = self.merges[i - 1](t)
            tok = t.permute(0, 2, 3, 1)
            for block in cast(nn.ModuleList, stage):
                tok = block(tok)
            t = self.norms[i](tok).permute(0, 3, 1, 2)
            skips.append(t)
        y = skips.pop()
        for block in self.decoder:
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="nearest")
            y = block(torch.cat([y, skip], dim=1))
        return y[..., :h, :w]

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Return ``{"zones": logits}`` with the input's height and width."""
        return {"zones": self.head(self.forward_features(x))}
