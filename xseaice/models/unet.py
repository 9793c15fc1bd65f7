"""A configurable U-Net (the AutoICE baseline shape is the default preset).

The network is fully convolutional with a finite receptive field, so it can run on tiles
of any size: [`UNet.forward`][xseaice.models.unet.UNet.forward] pads the input to a multiple of ``2
** depth`` and crops the result back.  Upsampling is nearest-neighbour (each fine cell reads exactly
one coarse cell), which keeps the receptive field small and exactly known; see
[`unet_reach`][xseaice.models.unet.unet_reach].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xseaice.exceptions import InvalidArgumentError

__all__ = ["UNet", "unet_reach"]


def _check_widths(widths: Sequence[int], in_channels: int) -> tuple[int, ...]:
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise InvalidArgumentError(
            f"in_channels must be a positive int (one per input variable); got {in_channels!r}"
        )
    out = tuple(int(w) for w in widths)
    if len(out) < 1 or any(w < 1 for w in out):
        raise InvalidArgumentError(
            f"widths must be a non-empty sequence of positive ints (channels per level, "
            f"e.g. (16, 32, 64, 64)); got {widths!r}"
        )
    return out


class DoubleConv(nn.Sequential):
    """Two ``3 x 3`` convolutions, each followed by batch norm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(
                out_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Encoder(nn.Module):
    """The contracting path: an input block, then ``maxpool + DoubleConv`` per level.

    Returns the feature maps of every level (scales ``1, 2, ..., 2 ** (len(widths) - 1)``).
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.inc = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(
            DoubleConv(widths[i - 1], widths[i]) for i in range(1, len(widths))
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = [self.inc(x)]
        for block in self.downs:
            feats.append(block(F.max_pool2d(feats[-1], 2)))
        return feats


def upsample_cat(x: Tensor, skip: Tensor) -> Tensor:
    """``cat([nearest_upsample(x, skip's size), skip], dim=1)`` in one output buffer.

    The upsampled tensor is written straight into its slice of the result (a broadcast
    copy), so the full-resolution intermediate never exists: less memory and one memory
    pass less than ``F.interpolate`` followed by ``torch.cat``.  Differentiable.
    """
    n, cu, h, w = x.shape
    H, W = skip.shape[-2:]
    fmt = (
        torch.channels_last
        if skip.is_contiguous(memory_format=torch.channels_last) and not skip.is_contiguous()
        else torch.contiguous_format
    )
    out = torch.empty(
        (n, cu + skip.shape[1], H, W),
        dtype=torch.result_type(x, skip),
        device=skip.device,
        memory_format=fmt,
    )
    if H == 2 * h and W == 2 * w:
        up = x[:, :, :, None, :, None].expand(n, cu, h, 2, w, 2)
        out[:, :cu].unflatten(3, (w, 2)).unflatten(2, (h, 2)).copy_(up)
    else:
        out[:, :cu].copy_(F.interpolate(x, size=(H, W), mode="nearest"))
    out[:, cu:].copy_(skip)
    return out


class Decoder(nn.Module):
    """The expanding path: nearest upsampling, concatenation with the skip, DoubleConv."""

    def __init__(self, bottom_channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        blocks = []
        below = bottom_channels
        for w in reversed(widths):
            blocks.append(DoubleConv(below + w, w))
            below = w
        self.blocks = nn.ModuleList(blocks)

    def forward(self, bottom: Tensor, skips: list[Tensor]) -> Tensor:
        """Decode; ``skips`` (finest first) is emptied as it is consumed.

        Popping the skips and upsampling straight into the concatenation buffer
        ([`upsample_cat`][xseaice.models.unet.upsample_cat]) lets each full-resolution tensor be
        freed as soon as it is used, which more than halves peak memory in inference.
        """
        if len(skips) != len(self.blocks):
            raise InvalidArgumentError(
                f"decoder expects {len(self.blocks)} skip tensors; got {len(skips)}"
            )
        x = bottom
        for block in self.blocks:
            x = upsample_cat(x, skips.pop())
            for layer in block.children():  # layer by layer: each input freed once used
                x = layer(x)
        return x


def unet_reach(depth: int, bottleneck: Callable[[int], int] | None = None) -> int:
    """Receptive-field reach of the U-Net family in pixels (one side).

    An output pixel depends only on input pixels at most ``reach`` pixels away (per axis).
    Per layer, at a scale of ``s`` input pixels per cell: a ``3 x 3`` convolution with
    dilation ``d`` adds ``d * s``; a ``2 x 2`` max-pool adds nothing beyond the cell's own
    footprint; a nearest upsampling from ``2 s`` to ``s`` adds ``s`` (the coarse cell
    covers the fine one plus up to ``s`` more on one side).

    Parameters
    ----------
    depth : int
        Number of downsamplings (``len(widths)``).
    bottleneck : callable, optional
        Reach added by the bottleneck block given its scale; default a DoubleConv
        (``2 * scale``).

    Returns
    -------
    int
        The reach in input pixels.
    """
    reach, scale = 2, 1  # input DoubleConv
    for _ in range(1, depth):
        scale *= 2
        reach += 2 * scale
    scale *= 2
    reach += (bottleneck or (lambda s: 2 * s))(scale)
    for _ in range(depth):
        scale //= 2
        reach += scale + 2 * scale  # upsample + DoubleConv
    return reach


class _TiledNet(nn.Module):
    """Shared plumbing: padding to the size multiple, halo metadata, init kwargs."""

    architecture: str = ""
    depth: int
    receptive_reach: int
    arch_kwargs: dict[str, Any]

    @property
    def size_multiple(self) -> int:
        """Tiles must start on multiples of this (``2 ** depth``) for exact tiling."""
        return 2**self.depth

    @property
    def receptive_halo(self) -> int:
        """Halo in pixels for seam-free tiling: the reach rounded up to the size multiple."""
        m = self.size_multiple
        return math.ceil(self.receptive_reach / m) * m

    def _pad(self, x: Tensor) -> tuple[Tensor, int, int]:
        if x.ndim != 4:
            raise InvalidArgumentError(
                f"{type(self).__name__} expects input of shape (batch, channels, height, "
                f"width); got shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise InvalidArgumentError(
                f"{type(self).__name__} was built for in_channels={self.in_channels}; the input "
                f"has {x.shape[1]} channels. Pass the variables the model declares, in order."
            )
        h, w = x.shape[-2:]
        m = self.size_multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        return x, h, w

    in_channels: int


class UNet(_TiledNet):
    """U-Net for the binary ice / water logit.

    Parameters
    ----------
    in_channels : int
        Number of input variables.
    widths : sequence of int, default (16, 32, 64, 64)
        Channels per encoder level (the AutoICE baseline); ``len(widths)`` downsamplings,
        plus a bottleneck of ``widths[-1]`` channels.
    out_channels : int, default 1
        Channels of the output logit.

    Notes
    -----
    ``forward`` returns ``{"ice_logit": Tensor[B, out_channels, H, W]}`` for any ``H, W``.
    """

    architecture = "unet"

    def __init__(
        self, in_channels: int, *, widths: Sequence[int] = (16, 32, 64, 64), out_channels: int = 1
    ) -> None:
        super().__init__()
        w = _check_widths(widths, in_channels)
        if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels < 1:
            raise InvalidArgumentError(f"out_channels must be a positive int; got {out_channels!r}")
        self.in_channels = in_channels
        self.arch_kwargs = {
            "in_channels": in_channels,
            "widths": list(w),
            "out_channels": out_channels,
        }
        self.depth = len(w)
        self.encoder = Encoder(in_channels, w)
        self.bridge = DoubleConv(w[-1], w[-1])
        self.decoder = Decoder(w[-1], w)
        self.head = nn.Conv2d(w[0], out_channels, 1)
        self.receptive_reach = unet_reach(self.depth)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Return ``{"ice_logit": logits}`` with the input's height and width."""
        x, h, w = self._pad(x)
        feats = self.encoder(x)
        del x
        bottom = self.bridge(F.max_pool2d(feats[-1], 2))
        out = self.head(self.decoder(bottom, feats))
        return {"ice_logit": out[..., :h, :w]}

    @property
    def output_classes(self) -> dict[str, tuple[str, ...] | None]:
        """Output names and their class names (``None`` for a logit)."""
        return {"ice_logit": None}
