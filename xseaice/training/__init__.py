"""Weakly supervised training from ice charts (the region-based loss), checkpoints and
evaluation helpers.

>>> import xseaice
>>> result = xseaice.train("run.yaml")            # doctest: +SKIP
>>> result = xseaice.train("run.yaml", resume=True)  # after an interruption  # doctest: +SKIP

This subpackage imports torch; ``import xseaice`` does not.
"""

from __future__ import annotations

from xseaice.training.config import (
    DataConfig,
    ExportConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    SceneSpec,
    SyntheticConfig,
    TrainConfig,
    load_config,
)
from xseaice.training.datasets import (
    PatchSampler,
    TrainScene,
    compute_normalisation,
    scene_from_dataset,
)
from xseaice.training.loop import TrainResult, train
from xseaice.training.losses import multitask_loss, region_loss
from xseaice.training.sources import build_scenes, read_ai4arctic
from xseaice.training.synthetic_scenes import synthetic_scene

__all__ = [
    "DataConfig",
    "ExportConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "PatchSampler",
    "SceneSpec",
    "SyntheticConfig",
    "TrainConfig",
    "TrainResult",
    "TrainScene",
    "build_scenes",
    "compute_normalisation",
    "load_config",
    "multitask_loss",
    "read_ai4arctic",
    "region_loss",
    "scene_from_dataset",
    "synthetic_scene",
    "train",
]
