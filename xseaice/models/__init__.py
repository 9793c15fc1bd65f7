"""Segmentation models, the weights registry and the runtime (device, precision).

This subpackage imports torch; ``import xseaice`` does not import it.

>>> from xseaice.models import build_model, receptive_halo
>>> model = build_model("unet", in_channels=7)          # the AutoICE baseline preset
>>> receptive_halo(model)
112
"""

from __future__ import annotations

from xseaice.models.aspp import ASPP, FLOE_CLASSES, SIC_CLASSES, SOD_CLASSES, MultiTaskASPP
from xseaice.models.build import (
    ARCHITECTURES,
    build_model,
    measure_receptive_reach,
    receptive_halo,
)
from xseaice.models.registry import (
    WEIGHTS_DIR,
    WeightsSpec,
    file_sha256,
    get_weights,
    list_weights,
    load_model,
    register_weights,
    resolve_weights,
    save_weights,
)
from xseaice.models.runtime import (
    cpu_supports_bf16,
    resolve_device,
    resolve_precision,
    warn_if_bf16_emulated,
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
    "cpu_supports_bf16",
    "file_sha256",
    "get_weights",
    "list_weights",
    "load_model",
    "measure_receptive_reach",
    "receptive_halo",
    "register_weights",
    "resolve_device",
    "resolve_precision",
    "resolve_weights",
    "save_weights",
    "unet_reach",
    "warn_if_bf16_emulated",
]
