"""Inference: the one tiling engine and the lazy scene segmentation built on it.

* `segment` - a scene Dataset to lazy logits over dask blocks with a
  halo;
* [`predict_array`][xseaice.inference.tiling.predict_array] - the same engine on an in-memory ``(C,
  H, W)`` array (evaluation, training validation, any image-to-image model);
* [`grad_cam`][xseaice.inference.attribution.grad_cam],
  [`channel_attribution`][xseaice.inference.attribution.channel_attribution] - what the model
  looks at (Grad-CAM) and which input variables it leans on;
* [`clear_model_cache`][xseaice.inference.cache.clear_model_cache],
  `default_tile`,
  [`BF16_LOGIT_TOLERANCE`][xseaice.inference.BF16_LOGIT_TOLERANCE].

This subpackage imports torch; ``import xseaice`` does not.
"""

from __future__ import annotations

from xseaice.inference.attribution import channel_attribution, explain, grad_cam
from xseaice.inference.cache import clear_model_cache, keep_heads_fp32, prepare_model
from xseaice.inference.segment import CLASS_FILL, PIXEL_SIZE_TOLERANCE, segment
from xseaice.inference.tiling import (
    BF16_LOGIT_TOLERANCE,
    DEFAULT_TILE,
    default_tile,
    predict_array,
)
from xseaice.models.runtime import cpu_supports_bf16, warn_if_bf16_emulated

__all__ = [
    "BF16_LOGIT_TOLERANCE",
    "CLASS_FILL",
    "DEFAULT_TILE",
    "PIXEL_SIZE_TOLERANCE",
    "channel_attribution",
    "clear_model_cache",
    "cpu_supports_bf16",
    "default_tile",
    "explain",
    "grad_cam",
    "keep_heads_fp32",
    "predict_array",
    "prepare_model",
    "segment",
    "warn_if_bf16_emulated",
]
