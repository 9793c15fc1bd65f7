"""Glacier zone segmentation with the U-Net: four classes (NA, rock, glacier, ocean).

`ZoneUNet` is the project's [`UNet`][xseaice.models.unet.UNet] with
a four-class head named ``zones``, so the tiling engine returns ``zones_logit`` and the argmax
``zones`` with CF flag attributes.  Input: one channel, the SAR grey value (CaFFe PNG convention).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from xseaice.models.unet import UNet

__all__ = ["ZONE_CLASSES", "ZoneUNet"]

#: Output classes of every zone model, in class order (CaFFe's coding 0-3).
ZONE_CLASSES: tuple[str, ...] = ("na", "rock", "glacier", "ocean")


class ZoneUNet(UNet):
    """U-Net baseline for glacier zones.

    Parameters
    ----------
    in_channels : int, default 1
        Input variables (the SAR grey value).
    widths : sequence of int, default (16, 32, 64, 64)
        Channels per encoder level.

    Notes
    -----
    ``forward`` returns ``{"zones": Tensor[B, 4, H, W]}`` (logits);
    `forward_features` the decoder's last feature map (for self-supervised heads).
    """

    architecture = "zone_unet"

    def __init__(self, in_channels: int = 1, *, widths: Sequence[int] = (16, 32, 64, 64)) -> None:
        super().__init__(in_channels, widths=widths, out_channels=len(ZONE_CLASSES))
        self.arch_kwargs = {"in_channels": in_channels, "widths": list(self.arch_kwargs["widths"])}

    @property
    def feature_channels(self) -> int:
        """Channels of `forward_features`."""
        head: nn.Conv2d = self.head
        return int(head.in_channels)

    def forward_features(self, x: Tensor) -> Tensor:
        """Decoder features at input resolution (before the class head)."""
        x, h, w = self._pad(x)
        feats = self.encoder(x)
        del x
        bottom = self.bridge(F.max_pool2d(feats[-1], 2))
        return self.decoder(bottom, feats)[..., :h, :w]

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Return ``{"zones": logits}`` with the input's height and width."""
        return {"zones": self.head(self.forward_features(x))}

    @property
    def output_classes(self) -> dict[str, tuple[str, ...] | None]:
        """``{"zones": ("na", "rock", "glacier", "ocean")}``."""
        return {"zones": ZONE_CLASSES}
