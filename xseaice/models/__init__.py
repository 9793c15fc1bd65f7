"""Segmentation models and the weights registry.

This subpackage imports torch; ``import xseaice`` does not import it.

>>> from xseaice.models import build_model, receptive_halo
>>> model = build_model("unet", in_channels=7)          # the AutoICE baseline preset
>>> receptive_halo(model)
112
"""

from __future__ import annotations

from xseaice.models.aspp import ASPP, FLOE_CLASSES, SIC_CLASSES, SOD_CLASSES, MultiTaskASPP
from xseaice.models.registry import (
    ARCHITECTURES,
    WEIGHTS_DIR,
    WeightsSpec,
    build_model,
    get_weights,
    list_weights,
    load_model,
    measure_receptive_reach,
    receptive_halo,
    register_weights,
    save_weights,
)
from xseaice.models.unet import UNet, unet_reach

__all__ = [
    "ARCHITECTURES",
    "ASPP",
    "FLOE_CLASSES",
    "SIC_CLASSES",
    "SOD_CLASSES",
    "WEIGHTS_DIR",
    "MultiTaskASPP",
    "UNet",
    "WeightsSpec",
    "build_model",
    "get_weights",
    "list_weights",
    "load_model",
    "measure_receptive_reach",
    "receptive_halo",
    "register_weights",
    "save_weights",
    "unet_reach",
]
