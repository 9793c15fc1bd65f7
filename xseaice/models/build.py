"""Building models by architecture name and measuring their receptive field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from xseaice.exceptions import ModelError
from xseaice.models.aspp import MultiTaskASPP
from xseaice.models.hybrid import SwinZoneNet
from xseaice.models.unet import UNet
from xseaice.models.zones import ZoneUNet

__all__ = ["ARCHITECTURES", "build_model", "measure_receptive_reach", "receptive_halo"]

#: Architecture name -> model class (the keys are what
#: [`build_model`][xseaice.models.build.build_model] accepts).
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "multitask_aspp": MultiTaskASPP,
    "zone_unet": ZoneUNet,
    "swin_zones": SwinZoneNet,
}


def build_model(architecture: str, **kwargs: Any) -> nn.Module:
    """Build an untrained model by architecture name.

    Parameters
    ----------
    architecture : str
        One of `ARCHITECTURES` (``"unet"``,
        ``"multitask_aspp"``, ``"zone_unet"``, ``"swin_zones"``).
    **kwargs
        Arguments of the model class (``in_channels``, ``widths``, ...).

    Returns
    -------
    torch.nn.Module
        The model, randomly initialised, in training mode.

    Raises
    ------
    ModelError
        If the architecture is unknown or the arguments do not fit it.
    """
    try:
        cls = ARCHITECTURES[architecture]
    except (KeyError, TypeError):
        raise ModelError(
            f"unknown architecture {architecture!r}; expected one of {sorted(ARCHITECTURES)}"
        ) from None
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ModelError(f"cannot build {architecture!r} with arguments {kwargs!r}: {err}") from err


def receptive_halo(model: nn.Module) -> int:
    """Halo in pixels a tile needs on each side for seam-free tiled inference.

    This is the model's receptive-field reach (see [`xseaice.models.unet.unet_reach`][])
    rounded up to a multiple of the model's ``size_multiple`` (``2 ** depth``), so that
    every tile's pooling grid lines up with the whole scene's.

    Parameters
    ----------
    model : torch.nn.Module
        A model with a ``receptive_halo`` attribute (every model of
        `ARCHITECTURES`).

    Returns
    -------
    int
        The halo in pixels.

    Raises
    ------
    ModelError
        If the model does not declare its receptive field.
    """
    halo = getattr(model, "receptive_halo", None)
    if isinstance(halo, int) and not isinstance(halo, bool) and halo >= 0:
        return halo
    raise ModelError(
        f"{type(model).__name__} does not declare its receptive field: give it an int attribute "
        "`receptive_halo` (pixels, a multiple of its `size_multiple`), or pass overlap= to "
        "segment(); measure_receptive_reach() estimates the reach from gradients"
    )


def measure_receptive_reach(
    model: nn.Module, *, in_channels: int, size: int = 256, positions: Sequence[int] = (0,)
) -> int:
    """Measure a model's receptive-field reach from input gradients.

    Back-propagates from one output pixel near the centre (shifted by each of
    ``positions``, to sample different alignments to the pooling grid) and returns the
    largest distance, per axis, of an input pixel with a non-zero gradient.

    Parameters
    ----------
    model : torch.nn.Module
        A model returning a tensor or a dict of tensors; it is run in eval mode.
    in_channels : int
        Channels of the probe input.
    size : int, default 256
        Side of the probe (must exceed twice the reach).
    positions : sequence of int
        Offsets of the probed output pixel from ``size // 2`` (same offset in y and x).

    Returns
    -------
    int
        The measured reach in pixels (a lower bound of the true reach).
    """
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(0)
    reach = 0
    try:
        for off in positions:
            x = torch.randn(1, in_channels, size, size, generator=gen, requires_grad=True)
            out = model(x)
            outs = list(out.values()) if isinstance(out, Mapping) else [out]
            c = size // 2 + int(off)
            torch.stack([o[0, :, c, c].sum() for o in outs]).sum().backward()
            assert x.grad is not None
            nz = (x.grad[0].abs().sum(0) > 0).nonzero()
            if len(nz):
                reach = max(reach, int((nz - c).abs().max()))
    finally:
        model.train(was_training)
    return reach
