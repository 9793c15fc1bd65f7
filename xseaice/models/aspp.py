"""Multi-task U-Net with Atrous Spatial Pyramid Pooling (SIC, SOD, FLOE and ice/water).

The encoder and decoder are those of [`UNet`][xseaice.models.unet.UNet]; the bottleneck is
an ASPP block (a ``1 x 1`` branch plus one dilated ``3 x 3`` branch per atrous rate,
concatenated and projected).  Small rates suit 40-80 m SAR; larger rates widen the
receptive field (and the halo tiled inference needs).  There is deliberately no global
image-pooling branch: it would make every output pixel depend on the whole tile, and no
tiling could then reproduce the whole-scene result.

Class names follow the AutoICE challenge (see [`xseaice.io.icechart`][]), written as single
words so they can be CF ``flag_meanings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xseaice.exceptions import InvalidArgumentError
from xseaice.models.unet import Decoder, Encoder, _check_widths, _TiledNet, unet_reach

__all__ = ["ASPP", "FLOE_CLASSES", "SIC_CLASSES", "SOD_CLASSES", "MultiTaskASPP"]

#: SIC classes: ice concentration in tenths (AutoICE: 0, 10, ..., 100 %).
SIC_CLASSES: tuple[str, ...] = tuple(f"sic_{10 * i}_percent" for i in range(11))
#: SOD classes (AutoICE stage of development).
SOD_CLASSES: tuple[str, ...] = (
    "open_water",
    "new_ice",
    "young_ice",
    "thin_first_year_ice",
    "thick_first_year_ice",
    "old_ice",
)
#: FLOE classes (AutoICE floe size).
FLOE_CLASSES: tuple[str, ...] = (
    "open_water",
    "cake_ice",
    "small_floe",
    "medium_floe",
    "big_floe",
    "vast_floe",
    "bergs",
)


def _cbr(cin: int, cout: int, k: int, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling without the global pooling branch.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    atrous_rates : sequence of int
        Dilation of each ``3 x 3`` branch (a ``1 x 1`` branch is always present).
    """

    def __init__(self, in_channels: int, out_channels: int, atrous_rates: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [_cbr(in_channels, out_channels, 1)]
            + [_cbr(in_channels, out_channels, 3, dilation=r) for r in atrous_rates]
        )
        self.project = _cbr(out_channels * len(self.branches), out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.project(torch.cat([b(x) for b in self.branches], dim=1))


class MultiTaskASPP(_TiledNet):
    """Shared U-Net encoder/decoder with an ASPP bottleneck and four heads.

    Parameters
    ----------
    in_channels : int
        Number of input variables.
    widths : sequence of int, default (16, 32, 64, 64)
        Channels per encoder level.
    atrous_rates : sequence of int, default (1, 2, 4)
        Dilation rates of the ASPP branches (at the bottleneck scale ``2 ** len(widths)``).
    sic_mode : {"classes", "regression"}
        SIC head: 11 class logits, or one regression channel.

    Notes
    -----
    ``forward`` returns ``{"ice_logit": [B,1,H,W], "sic": [B,11,H,W] (or [B,1,H,W]),
    "sod": [B,6,H,W], "floe": [B,7,H,W]}`` for any ``H, W``.
    """

    architecture = "multitask_aspp"

    def __init__(
        self,
        in_channels: int,
        *,
        widths: Sequence[int] = (16, 32, 64, 64),
        atrous_rates: Sequence[int] = (1, 2, 4),
        sic_mode: Literal["classes", "regression"] = "classes",
    ) -> None:
        super().__init__()
        w = _check_widths(widths, in_channels)
        rates = tuple(int(r) for r in atrous_rates)
        if not rates or any(r < 1 for r in rates):
            raise InvalidArgumentError(
                f"atrous_rates must be a non-empty sequence of positive ints, e.g. (1, 2, 4); "
                f"got {atrous_rates!r}"
            )
        if sic_mode not in ("classes", "regression"):
            raise InvalidArgumentError(
                f"sic_mode must be 'classes' or 'regression'; got {sic_mode!r}"
            )
        self.in_channels = in_channels
        self.sic_mode = sic_mode
        self.arch_kwargs = {
            "in_channels": in_channels,
            "widths": list(w),
            "atrous_rates": list(rates),
            "sic_mode": sic_mode,
        }
        self.depth = len(w)
        self.encoder = Encoder(in_channels, w)
        self.aspp = ASPP(w[-1], w[-1], rates)
        self.decoder = Decoder(w[-1], w)
        n_sic = len(SIC_CLASSES) if sic_mode == "classes" else 1
        self.heads = nn.ModuleDict(
            {
                "ice_logit": nn.Conv2d(w[0], 1, 1),
                "sic": nn.Conv2d(w[0], n_sic, 1),
                "sod": nn.Conv2d(w[0], len(SOD_CLASSES), 1),
                "floe": nn.Conv2d(w[0], len(FLOE_CLASSES), 1),
            }
        )
        self.receptive_reach = unet_reach(self.depth, lambda s: max(rates) * s)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Return the four task outputs with the input's height and width."""
        x, h, w = self._pad(x)
        feats = self.encoder(x)
        del x
        bottom = self.aspp(F.max_pool2d(feats[-1], 2))
        z = self.decoder(bottom, feats)
        return {name: head(z)[..., :h, :w] for name, head in self.heads.items()}

    @property
    def output_classes(self) -> dict[str, tuple[str, ...] | None]:
        """Output names and their class names (``None`` for a logit or a regression)."""
        return {
            "ice_logit": None,
            "sic": SIC_CLASSES if self.sic_mode == "classes" else None,
            "sod": SOD_CLASSES,
            "floe": FLOE_CLASSES,
        }
