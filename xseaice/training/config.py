"""The schema of a training run and its YAML / TOML reader.

A run is described by a [`TrainConfig`][xseaice.training.config.TrainConfig] (nested dataclasses).
A config file holds the same structure; keys that are not part of the schema raise
[`ConfigError`][xseaice.exceptions.ConfigError] listing the valid keys, before anything else
happens.  Example (YAML)::

    output_dir: runs/ai4arctic-unet
    seed: 0
    precision: bf16          # bfloat16 autocast (CPU with AVX512-BF16/AMX, or CUDA)
    model:
      architecture: unet     # or multitask_aspp
      widths: [16, 32, 64, 64]
    data:
      source: ai4arctic      # synthetic | ai4arctic | scenes
      path: /data/ai4arctic/train
      val_path: /data/ai4arctic/val
      patch_size: 256
      batch_size: 8
      steps_per_epoch: 500
    loss:
      region: bce
      pure_weight: 1.0
    optim:
      epochs: 20
      lr: 0.001
    export:
      path: weights/my-unet.safetensors
      name: my-unet
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from xseaice.exceptions import ConfigError
from xseaice.training.typed_fields import build_dataclass
from xseaice.variables import SCENE_VARIABLES

__all__ = [
    "DataConfig",
    "ExportConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "SceneSpec",
    "SyntheticConfig",
    "TrainConfig",
    "config_hash",
    "load_config",
]


@dataclass
class ModelConfig:
    """The network.

    Attributes
    ----------
    architecture : {"unet", "multitask_aspp"}
        A key of [`xseaice.models.ARCHITECTURES`][].
    widths : list of int
        Channels per encoder level.
    atrous_rates : list of int
        ASPP dilation rates (``multitask_aspp`` only).
    sic_mode : {"classes", "regression"}
        SIC head of ``multitask_aspp``.
    init_weights : str, optional
        Fine-tune: start from these weights (a registered name or a weights file) instead
        of a random initialisation; their architecture must be the one above and their
        input variables ``data.variables``, and their normalisation is kept.
    """

    architecture: Literal["unet", "multitask_aspp"] = "unet"
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 64])
    atrous_rates: list[int] = field(default_factory=lambda: [1, 2, 4])
    sic_mode: Literal["classes", "regression"] = "classes"
    init_weights: str | None = None


@dataclass
class SyntheticConfig:
    """Scenes drawn from the synthetic world ([`xseaice.synthetic`][]).

    Attributes
    ----------
    n_scenes : int
        Training scenes (seeds ``seed .. seed + n_scenes - 1``).
    seed : int
        First training seed.
    val_scenes : int
        Validation scenes (seeds ``val_seed ...``; keep them apart from the training seeds).
    val_seed : int
        First validation seed.
    shape : list of int
        Scene size ``[height, width]`` in pixels.
    pixel_size : float
        Pixel size in metres.
    seasons : list of str
        Seasons drawn in turn (``summer``, ``winter``).
    randomize : bool
        Draw every scene's physics with ``sample_params`` (wind, incidence, noise, ice
        types, tie points), as wide as the simulator allows.
    concentration_mean : list of float
        ``[low, high]``: draw each *training* scene's mean ice concentration uniformly
        from this range instead of around the season's typical value, so that the charts
        span open water to compact ice (the contrast between regions of different
        concentration is all the region loss learns from).  Empty: the seasonal draw.
    chart_cell_km : list of float
        ``[low, high]``: draw each training scene's chart polygon size (km) from this
        range; small cells give a small training scene the number of polygons a real
        400 km EW scene has.  Empty: the simulator's draw (10-40 km).  Validation scenes
        always use the simulator's own draws, like the held-out test scenes.
    chart : {"exact", "analyst"}
        The charts of training and validation scenes: the simulator's exact chart, or an
        analyst-like one
        ([`xseaice.synthetic.analyst_chart`][xseaice.synthetic.analyst.analyst_chart]: CT off by a
        tenth or two, range codes, drift, generalised boundaries, an uncovered strip) so that the
        model learns to treat the chart as noisy evidence.  Training always uses generator mode
        ``A``; mode ``B`` is held out for testing.
    """

    n_scenes: int = 24
    seed: int = 0
    val_scenes: int = 4
    val_seed: int = 500
    shape: list[int] = field(default_factory=lambda: [512, 512])
    pixel_size: float = 40.0
    seasons: list[str] = field(default_factory=lambda: ["summer", "winter"])
    randomize: bool = True
    concentration_mean: list[float] = field(default_factory=list)
    chart_cell_km: list[float] = field(default_factory=list)
    chart: Literal["exact", "analyst"] = "exact"


@dataclass
class SceneSpec:
    """One scene of ``source: scenes``: a Dataset file and its ice chart.

    Attributes
    ----------
    dataset : str
        A zarr store or netCDF file holding a scene Dataset (as written from
        ``xseaice.load(...)`` with ``to_zarr`` / ``to_netcdf``).
    chart : str
        An ice chart file [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart] reads.
    time : int
        Index of the time step to use.
    """

    dataset: str = ""
    chart: str = ""
    time: int = 0


@dataclass
class DataConfig:
    """Where the scenes come from and how patches are drawn.

    Attributes
    ----------
    source : {"synthetic", "ai4arctic", "scenes"}
        The synthetic world; a folder of AI4Arctic ready-to-train netCDF files; or
        Dataset files with charts (``scenes`` / ``val_scenes``).
    path, val_path : str, optional
        AI4Arctic training / validation folders (or single files).
    scenes, val_scenes : list of SceneSpec
        Training / validation scenes of ``source: scenes``.
    variables : list of str
        Input variables in channel order.
    patch_size : int
        Side of the square training patches.
    batch_size : int
        Patches per step.
    steps_per_epoch : int
        Optimiser steps per epoch.
    augment : bool
        Random flips and 90-degree rotations (they keep SAR statistics).
    channel_dropout : list of str
        Variables that are together replaced by their training mean (0 after
        normalisation) in a random share ``channel_dropout_p`` of the patches, so the model
        cannot lean on them alone (e.g. the coarse AMSR-2 channels, which give the regional
        concentration but no pixel detail).
    channel_dropout_p : float
        Share of patches with ``channel_dropout`` applied.
    min_valid_fraction : float
        Patches with fewer valid, labelled pixels are redrawn (up to 20 times).
    undefined_ct : {"error", "ignore"}
        Ice or water regions without a total concentration: stop with an error, or leave
        them out of the loss.
    db_offset_std : float
        Standard deviation (dB) of a random calibration offset added per patch to ``hh``
        and ``hv`` (see [`PatchSampler`][xseaice.training.datasets.PatchSampler]); 0: off.
    incidence_slope_std : float
        Standard deviation (dB/degree) of a random incidence-angle slope added per patch
        to ``hh`` and ``hv``; 0: off.
    synthetic : SyntheticConfig
        The synthetic world (``source: synthetic``).
    """

    source: Literal["synthetic", "ai4arctic", "scenes"] = "synthetic"
    path: str | None = None
    val_path: str | None = None
    scenes: list[SceneSpec] = field(default_factory=list)
    val_scenes: list[SceneSpec] = field(default_factory=list)
    variables: list[str] = field(default_factory=lambda: list(SCENE_VARIABLES))
    patch_size: int = 128
    batch_size: int = 8
    steps_per_epoch: int = 100
    augment: bool = True
    channel_dropout: list[str] = field(default_factory=list)
    channel_dropout_p: float = 0.0
    min_valid_fraction: float = 0.5
    undefined_ct: Literal["error", "ignore"] = "error"
    db_offset_std: float = 0.0
    incidence_slope_std: float = 0.0
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass
class LossConfig:
    """Loss settings (see [`xseaice.training.losses`][]).

    Attributes
    ----------
    region : {"bce", "mse", "interval"}
        Region term of the binary head; ``interval`` treats each chart code as the range
        ``[ct_low - tolerance, ct_high + tolerance]``
        ([`region_loss`][xseaice.training.losses.region_loss]).
    tolerance : float
        Widening of the chart intervals for ``region: interval`` (about one tenth).
    pure_weight : float
        Pixel BCE weight on pure (0 % / 100 %) regions (default 0: it labels the leads of
        a 10/10 polygon as ice).
    entropy_weight : float
        Weight of the mean pixel entropy in labelled regions (0: off); pushes the model to
        meet each region's concentration with confident pixels.
    truth_weight : float
        Weight of a pixel BCE against the scene's pixel truth (0: off).  Only the
        synthetic world has one (``data.source: synthetic``): the simulator is then the
        teacher of *which* pixels are ice, the chart regions of *how much*.
    truth_task_weight : float
        Weight (times the task weight) of the pixel cross-entropy of the SOD and FLOE heads
        against the pixel truth's AutoICE classes (0: off; ``data.source: synthetic``
        only): chart polygons label only the dominant stage, so without it a SOD head
        never sees water, new or young ice.
    truth_balance : float
        Class balancing of that term: pixels weigh ``(class share) ** -truth_balance``
        (0: off, 0.5: inverse square root of the frequency).
    task_weights : dict
        Weights of ``ice``, ``sic``, ``sod``, ``floe`` (multi-task models).
    """

    region: Literal["bce", "mse", "interval"] = "interval"
    tolerance: float = 0.1
    pure_weight: float = 0.0
    entropy_weight: float = 0.0
    truth_weight: float = 0.0
    truth_task_weight: float = 0.0
    truth_balance: float = 0.0
    task_weights: dict[str, float] = field(
        default_factory=lambda: {"ice": 1.0, "sic": 1.0, "sod": 1.0, "floe": 1.0}
    )


@dataclass
class OptimConfig:
    """Optimiser (AdamW) and learning-rate schedule.

    Attributes
    ----------
    epochs : int
        Number of epochs.
    lr : float
        Peak learning rate.
    weight_decay : float
        AdamW weight decay.
    schedule : {"cosine", "constant"}
        Cosine decay to ``lr * min_lr_factor`` over the run, after ``warmup_steps``
        linear warm-up, or constant.
    warmup_steps : int
        Linear warm-up steps.
    min_lr_factor : float
        Final learning rate as a fraction of ``lr`` (cosine).
    grad_clip : float
        Clip the gradient norm (0: no clipping).
    """

    epochs: int = 10
    lr: float = 2e-3
    weight_decay: float = 1e-4
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_steps: int = 50
    min_lr_factor: float = 0.05
    grad_clip: float = 5.0


@dataclass
class ExportConfig:
    """Where the trained weights go (through
    [`xseaice.models.save_weights`][xseaice.models.registry.save_weights]).

    Attributes
    ----------
    path : str, optional
        Weights file (``.safetensors``); default ``<output_dir>/model.safetensors``.
    name : str
        Registry name.
    licence : str
        Licence of the weights.
    description : str
        Human description stored in the sidecar.
    """

    path: str | None = None
    name: str = "trained"
    licence: str = "CC-BY-4.0"
    description: str = ""


@dataclass
class TrainConfig:
    """A training run.

    Attributes
    ----------
    output_dir : str
        Folder of checkpoints, the log of metrics and (by default) the weights.
    seed : int
        Seed of model initialisation and of the patch stream (the run is reproducible).
    device : str
        ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
    precision : {"fp32", "bf16"}
        bfloat16 autocast for the forward pass (about 3x faster on CPUs with BF16).
    threads : int, optional
        Torch CPU threads (default: torch's choice).
    checkpoint_every : int
        Write a checkpoint every this many steps (and at the end of every epoch).
    val_every : int
        Validate every this many epochs (0: never).
    model, data, loss, optim, export
        See the nested classes.
    """

    output_dir: str = "runs/xseaice"
    seed: int = 0
    device: str = "cpu"
    precision: Literal["fp32", "bf16"] = "fp32"
    threads: int | None = None
    checkpoint_every: int = 100
    val_every: int = 1
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-serialisable data."""
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Check values that the types alone do not catch; raise
        [`ConfigError`][xseaice.exceptions.ConfigError]."""
        _positive("data.patch_size", self.data.patch_size)
        _positive("data.batch_size", self.data.batch_size)
        _positive("data.steps_per_epoch", self.data.steps_per_epoch)
        _positive("optim.epochs", self.optim.epochs)
        _positive("checkpoint_every", self.checkpoint_every)
        if not self.optim.lr > 0:
            raise ConfigError(f"optim.lr must be positive; got {self.optim.lr}")
        if not 0.0 <= self.loss.tolerance <= 1.0:
            raise ConfigError(f"loss.tolerance must be in [0, 1]; got {self.loss.tolerance}")
        for key in ("truth_weight", "truth_task_weight", "truth_balance"):
            value = getattr(self.loss, key)
            if not value >= 0:
                raise ConfigError(f"loss.{key} must be >= 0; got {value}")
        for key in ("truth_weight", "truth_task_weight"):
            if getattr(self.loss, key) > 0 and self.data.source != "synthetic":
                raise ConfigError(
                    f"loss.{key} > 0 needs pixel truth, which only data.source: synthetic "
                    f"has (got {self.data.source!r}); set loss.{key}: 0"
                )
        if self.data.db_offset_std < 0 or self.data.incidence_slope_std < 0:
            raise ConfigError(
                "data.db_offset_std and data.incidence_slope_std must be >= 0; got "
                f"{self.data.db_offset_std} and {self.data.incidence_slope_std}"
            )
        if self.threads is not None:
            _positive("threads", self.threads)
        _check_export_path(self.export.path)
        if not 0.0 <= self.data.min_valid_fraction <= 1.0:
            raise ConfigError(
                f"data.min_valid_fraction must be in [0, 1]; got {self.data.min_valid_fraction}"
            )
        if not self.data.variables or len(set(self.data.variables)) != len(self.data.variables):
            raise ConfigError(
                f"data.variables must be unique and non-empty; got {self.data.variables}"
            )
        if not self.model.widths or any(w < 1 for w in self.model.widths):
            raise ConfigError(f"model.widths must be positive ints; got {self.model.widths}")
        if self.data.patch_size % (2 ** len(self.model.widths)):
            raise ConfigError(
                f"data.patch_size={self.data.patch_size} must be a multiple of "
                f"2**len(model.widths) = {2 ** len(self.model.widths)}"
            )
        bad_drop = sorted(set(self.data.channel_dropout) - set(self.data.variables))
        if bad_drop or not 0 <= self.data.channel_dropout_p <= 1:
            raise ConfigError(
                f"data.channel_dropout must list some of data.variables {self.data.variables} "
                f"(got {self.data.channel_dropout}) and data.channel_dropout_p must be in "
                f"[0, 1] (got {self.data.channel_dropout_p})"
            )
        unknown = sorted(set(self.loss.task_weights) - {"ice", "sic", "sod", "floe"})
        if unknown:
            raise ConfigError(
                f"loss.task_weights has unknown tasks {unknown}; valid: ice, sic, sod, floe"
            )
        if self.data.source == "ai4arctic" and not self.data.path:
            raise ConfigError(
                "data.source is 'ai4arctic' but data.path is not set; give the folder of "
                "AI4Arctic ready-to-train netCDF files"
            )
        syn = self.data.synthetic
        if len(syn.shape) != 2 or (
            self.data.source == "synthetic" and any(s < self.data.patch_size for s in syn.shape)
        ):
            raise ConfigError(
                f"data.synthetic.shape must be [height, width], each >= data.patch_size "
                f"({self.data.patch_size}); got {syn.shape}"
            )
        bad = sorted(set(syn.seasons) - {"summer", "winter"})
        if bad or not syn.seasons:
            raise ConfigError(
                f"data.synthetic.seasons must be a non-empty list of 'summer' / 'winter'; "
                f"got {syn.seasons}"
            )
        _positive("data.synthetic.n_scenes", syn.n_scenes)
        _range("data.synthetic.concentration_mean", syn.concentration_mean, 0.0, 1.0)
        _range("data.synthetic.chart_cell_km", syn.chart_cell_km, 0.5, 1000.0)
        train_seeds = set(range(syn.seed, syn.seed + syn.n_scenes))
        val_seeds = set(range(syn.val_seed, syn.val_seed + syn.val_scenes))
        if train_seeds & val_seeds:
            raise ConfigError(
                "data.synthetic: validation seeds overlap the training seeds "
                f"({sorted(train_seeds & val_seeds)[:5]}...); move val_seed"
            )


def _check_export_path(path: str | None) -> None:
    """Reject an export path that cannot be written, before training starts."""
    if path is None:
        return
    p = Path(path)
    if p.suffix not in (".safetensors", ".pt"):
        raise ConfigError(
            f"export.path {path!r} must end in .safetensors or .pt (the weights file; its "
            "sidecar <file>.json is written beside it)"
        )
    if p.is_dir():
        raise ConfigError(f"export.path {path!r} is a folder; give a file name ending in .pt")
    parent = next((q for q in p.absolute().parents if q.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(f"export.path {path!r}: {str(parent)!r} is a file, not a folder")
    if parent is not None and not os.access(parent, os.W_OK):
        raise ConfigError(f"export.path {path!r}: folder {str(parent)!r} is not writable")


def _range(name: str, value: list[float], low: float, high: float) -> None:
    if value and not (len(value) == 2 and low <= value[0] <= value[1] <= high):
        raise ConfigError(
            f"{name} must be empty or [low, high] with {low} <= low <= high <= {high}; got {value}"
        )


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value}")


# ---------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------


def load_config(config: TrainConfig | dict[str, Any] | str | os.PathLike[str]) -> TrainConfig:
    """Read and validate a run configuration.

    Parameters
    ----------
    config : TrainConfig, dict, or path
        A config object, a mapping with the same structure, or a ``.yaml`` / ``.yml`` /
        ``.toml`` / ``.json`` file.

    Returns
    -------
    TrainConfig
        The validated configuration (a new object).

    Raises
    ------
    ConfigError
        If the file cannot be read, a key is unknown (the message lists the valid keys),
        a value has the wrong type, or values contradict each other.
    """
    if isinstance(config, TrainConfig):
        data: Any = config.to_dict()
    elif isinstance(config, dict):
        data = config
    elif isinstance(config, str | os.PathLike):
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        text = path.read_text()
        suffix = path.suffix.lower()
        try:
            if suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text) or {}
            elif suffix == ".toml":
                import tomllib

                data = tomllib.loads(text)
            elif suffix == ".json":
                data = json.loads(text)
            else:
                raise ConfigError(
                    f"config file {path.name!r}: unknown format; expected .yaml, .yml, .toml "
                    "or .json"
                )
        except ConfigError:
            raise
        except Exception as err:
            raise ConfigError(f"cannot parse config file {str(path)!r}: {err}") from err
    else:
        raise ConfigError(
            f"config must be a TrainConfig, a dict or a file path; got {type(config).__name__}"
        )
    cfg = build_dataclass(TrainConfig, data, "")
    cfg.validate()
    return typing.cast(TrainConfig, cfg)


#: Keys that may change between a run and its resumption.
RESUMABLE_CHANGES: tuple[str, ...] = (
    "output_dir",
    "device",
    "threads",
    "checkpoint_every",
    "val_every",
    "optim.epochs",
    "export",
)


def config_hash(config: TrainConfig) -> str:
    """Hash of everything that determines the weights step by step.

    Keys in [`RESUMABLE_CHANGES`][xseaice.training.config.RESUMABLE_CHANGES] are left out, so a run
    can be resumed with more epochs, another checkpoint interval or another export path.
    """
    d = config.to_dict()
    for key in RESUMABLE_CHANGES:
        parts = key.split(".")
        node = d
        for p in parts[:-1]:
            node = node[p]
        node.pop(parts[-1], None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
