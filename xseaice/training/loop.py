"""The training loop: data checks, optimisation, checkpoints, resumption, export.

Reproducibility: the model is initialised from ``torch.manual_seed(config.seed)``; batch
``(epoch, step)`` is a pure function of the seed
([`PatchSampler`][xseaice.training.datasets.PatchSampler]); the learning rate is a function of the
global step.  A checkpoint written after step ``k`` therefore holds everything the next step needs,
and a run resumed from it (after ``kill -9`` at any moment) produces the same weights as an
uninterrupted run on the same machine with the same number of threads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xseaice.exceptions import ConfigError, TrainingError, XSeaIceError
from xseaice.models.runtime import resolve_device
from xseaice.training.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from xseaice.training.config import TrainConfig, config_hash, load_config
from xseaice.training.datasets import (
    PatchSampler,
    TrainScene,
    compute_normalisation,
)
from xseaice.training.evaluation import validate
from xseaice.training.losses import multitask_loss
from xseaice.training.sources import build_scenes

__all__ = ["TrainResult", "build_training_model", "learning_rate", "train"]

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What [`train`][xseaice.training.loop.train] returns.

    Attributes
    ----------
    config : TrainConfig
        The validated configuration.
    model : torch.nn.Module
        The trained model (eval mode, CPU).
    normalisation : dict
        ``variable -> (mean, std)`` computed from the training scenes.
    history : list of dict
        One entry per finished epoch (mean loss per task, validation metrics).
    steps : int
        Optimiser steps done in total.
    output_dir : pathlib.Path
        Checkpoints and ``history.json``.
    weights : WeightsSpec, optional
        The exported weights (``None`` if export was switched off).
    pixel_size : float
        Median pixel size (metres) of the training scenes.
    """

    config: TrainConfig
    model: nn.Module
    normalisation: dict[str, tuple[float, float]]
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    output_dir: Path = Path(".")
    weights: Any = None
    pixel_size: float = 40.0


def learning_rate(config: TrainConfig, step: int) -> float:
    """Learning rate at global step ``step`` (warm-up, then cosine or constant)."""
    opt = config.optim
    total = max(1, opt.epochs * config.data.steps_per_epoch)
    if opt.warmup_steps and step < opt.warmup_steps:
        return opt.lr * (step + 1) / opt.warmup_steps
    if opt.schedule == "constant":
        return opt.lr
    t = min(1.0, (step - opt.warmup_steps) / max(1, total - opt.warmup_steps))
    lo = opt.lr * opt.min_lr_factor
    return lo + 0.5 * (opt.lr - lo) * (1.0 + math.cos(math.pi * t))


def build_training_model(config: TrainConfig) -> nn.Module:
    """The model a config describes: seeded by ``config.seed``, or ``model.init_weights``."""
    from xseaice.models import build_model

    m = config.model
    kwargs: dict[str, Any] = {"in_channels": len(config.data.variables), "widths": list(m.widths)}
    if m.architecture == "multitask_aspp":
        kwargs.update(atrous_rates=list(m.atrous_rates), sic_mode=m.sic_mode)
    torch.manual_seed(config.seed)
    model = build_model(m.architecture, **kwargs)
    if m.init_weights:
        module, _spec = _init_weights(config)
        model.load_state_dict(module.state_dict())
    return model


def _init_weights(config: TrainConfig) -> tuple[nn.Module, Any]:
    """The weights to fine-tune from, checked against the config."""
    from xseaice.models import load_model

    m = config.model
    try:
        module, spec = load_model(str(m.init_weights))
    except XSeaIceError as err:
        raise ConfigError(f"model.init_weights: {err}") from err
    widths = list(spec.arch_kwargs.get("widths", []))
    if spec.architecture != m.architecture or widths != list(m.widths):
        raise ConfigError(
            f"model.init_weights {m.init_weights!r} is a {spec.architecture} with widths "
            f"{widths}; the config asks for {m.architecture} with {list(m.widths)}: make them "
            "the same"
        )
    if list(spec.variables) != list(config.data.variables):
        raise ConfigError(
            f"model.init_weights {m.init_weights!r} takes {list(spec.variables)}; "
            f"data.variables is {list(config.data.variables)}: make them the same"
        )
    return module, spec


def _to_tensors(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, default=float)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def train(
    config: TrainConfig | dict[str, Any] | str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    scenes: Sequence[Any] | None = None,
    val_scenes: Sequence[Any] | None = None,
    export: bool = True,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train a model with the region-based loss from ice charts.

    Parameters
    ----------
    config : TrainConfig, dict or path
        The run (a YAML / TOML / JSON file, see [`xseaice.training.config`][]).
    resume : bool, default False
        Continue from ``<output_dir>/checkpoint.pt`` (after an interruption).  Without it,
        an existing checkpoint in ``output_dir`` is an error (no silent overwrite).
    progress : bool, default True
        Show tqdm progress bars (loss per task in the postfix).
    scenes, val_scenes : sequence, optional
        In-memory training / validation scenes (``TrainScene`` objects or
        ``(Dataset, chart)`` pairs, e.g. from [`xseaice.load`][xseaice.stac.loading.load] and
        [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart]), overriding ``data.source``.
    export : bool, default True
        Write the weights through
        [`xseaice.models.save_weights`][xseaice.models.registry.save_weights] at the end.
    on_step : callable, optional
        Called as ``on_step(global_step, losses)`` after every optimiser step.

    Returns
    -------
    TrainResult

    Raises
    ------
    ConfigError
        Invalid configuration (unknown keys are listed with the valid ones).
    TrainingError
        Bad data (no valid pixel, chart not overlapping a scene, undefined concentrations),
        a checkpoint that does not belong to this config, or an existing run without
        ``resume``.  All data checks run before the first step.
    """
    cfg = load_config(config)
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    try:
        device = resolve_device(cfg.device)
    except XSeaIceError as err:
        raise ConfigError(f"device: {err}") from err
    out_dir = Path(cfg.output_dir)
    ckpt_path = out_dir / CHECKPOINT_NAME
    if ckpt_path.exists() and not resume:
        raise TrainingError(
            f"{ckpt_path} exists (an earlier run); pass resume=True (--resume) to continue it, "
            "or choose another output_dir"
        )
    state: dict[str, Any] | None = None
    if resume:
        state = load_checkpoint(ckpt_path)
        if state.get("config_hash") != config_hash(cfg):
            raise TrainingError(
                f"checkpoint {ckpt_path} was written by a different configuration (only "
                "epochs, output_dir, device, threads, checkpoint_every, val_every and export "
                "may change when resuming); restore the original config or start a new "
                "output_dir"
            )

    t0 = time.perf_counter()
    train_scenes = build_scenes(cfg, split="train", scenes=scenes)
    if not train_scenes:
        raise TrainingError("no training scenes; check data.source and data.path")
    val = build_scenes(cfg, split="val", scenes=val_scenes)
    logger.info(
        "%d training and %d validation scenes ready in %.1f s",
        len(train_scenes),
        len(val),
        time.perf_counter() - t0,
    )
    if state is not None:
        norm = {k: (float(v[0]), float(v[1])) for k, v in state["normalisation"].items()}
    elif cfg.model.init_weights:
        norm = {
            k: (float(a), float(b)) for k, (a, b) in _init_weights(cfg)[1].normalisation.items()
        }
    else:
        norm = compute_normalisation(train_scenes)
    sampler = PatchSampler(
        train_scenes,
        normalisation=norm,
        patch_size=cfg.data.patch_size,
        batch_size=cfg.data.batch_size,
        seed=cfg.seed,
        augment=cfg.data.augment,
        min_valid_fraction=cfg.data.min_valid_fraction,
        channel_dropout=cfg.data.channel_dropout,
        channel_dropout_p=cfg.data.channel_dropout_p,
        db_offset_std=cfg.data.db_offset_std,
        incidence_slope_std=cfg.data.incidence_slope_std,
    )

    model = build_training_model(cfg).to(device)
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
    )
    epoch, step_in_epoch, global_step = 0, 0, 0
    history: list[dict[str, Any]] = []
    sums: dict[str, float] = {}
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        epoch, step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        global_step = int(state["global_step"])
        history = json.loads(state["history"])
        sums = json.loads(state.get("epoch_sums", "{}"))
        torch.set_rng_state(state["torch_rng"])
        logger.info("resumed at epoch %d step %d (global %d)", epoch, step_in_epoch, global_step)
    else:
        torch.manual_seed(cfg.seed + 1)

    multitask = cfg.model.architecture == "multitask_aspp"
    use_bf16 = cfg.precision == "bf16"
    if use_bf16:
        from xseaice.models.runtime import warn_if_bf16_emulated

        warn_if_bf16_emulated(device)
    spe = cfg.data.steps_per_epoch
    chash = config_hash(cfg)

    def checkpoint(next_epoch: int, next_step: int) -> None:
        save_checkpoint(
            ckpt_path,
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": next_epoch,
                "step_in_epoch": next_step,
                "global_step": global_step,
                "history": json.dumps(history),
                "epoch_sums": json.dumps(sums),
                "normalisation": {k: [float(a), float(b)] for k, (a, b) in norm.items()},
                "torch_rng": torch.get_rng_state(),
                "config_hash": chash,
                "config": json.dumps(cfg.to_dict()),
            },
        )

    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    while epoch < cfg.optim.epochs:
        model.train()
        bar = tqdm(
            total=spe,
            initial=step_in_epoch,
            desc=f"epoch {epoch + 1}/{cfg.optim.epochs}",
            disable=not progress,
            leave=False,
            dynamic_ncols=True,
        )
        try:
            while step_in_epoch < spe:
                batch = _to_tensors(sampler.batch(epoch, step_in_epoch), device)
                for g in opt.param_groups:
                    g["lr"] = learning_rate(cfg, global_step)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    outputs = model(batch["x"])
                if not isinstance(outputs, dict):
                    outputs = {"ice_logit": outputs}
                targets = {k: v for k, v in batch.items() if k != "x"}
                if not multitask:
                    keep = (
                        "region_ids",
                        "concentration",
                        "ct_low",
                        "ct_high",
                        "valid",
                        "truth_ice",
                    )
                    targets = {k: targets[k] for k in keep}
                loss, parts = multitask_loss(
                    outputs,
                    targets,
                    task_weights=cfg.loss.task_weights,
                    sic_mode=cfg.model.sic_mode,
                    region_kind=cfg.loss.region,
                    tolerance=cfg.loss.tolerance,
                    pure_weight=cfg.loss.pure_weight,
                    entropy_weight=cfg.loss.entropy_weight,
                    truth_weight=cfg.loss.truth_weight,
                    truth_task_weight=cfg.loss.truth_task_weight,
                    truth_balance=cfg.loss.truth_balance,
                )
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"loss became {float(loss)} at epoch {epoch} step {step_in_epoch}; lower "
                        "optim.lr or use precision: fp32"
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.optim.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
                opt.step()
                global_step += 1
                step_in_epoch += 1
                parts["total"] = float(loss.detach())
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + v
                sums["_n"] = sums.get("_n", 0.0) + 1
                bar.update(1)
                bar.set_postfix({k: f"{v:.3f}" for k, v in parts.items()})
                if on_step is not None:
                    on_step(global_step, parts)
                if global_step % cfg.checkpoint_every == 0 and step_in_epoch < spe:
                    checkpoint(epoch, step_in_epoch)
        finally:
            bar.close()
        n = max(sums.pop("_n", 1.0), 1.0)
        record: dict[str, Any] = {"epoch": epoch + 1, "step": global_step}
        record.update({f"loss_{k}": v / n for k, v in sums.items()})
        sums = {}
        if val and cfg.val_every and (epoch + 1) % cfg.val_every == 0:
            record.update(
                validate(
                    model,
                    val,
                    norm,
                    device=device,
                    precision=cfg.precision,
                    multitask=multitask,
                    sic_mode=cfg.model.sic_mode,
                )
            )
            model.train()
        history.append(record)
        logger.info("epoch %d: %s", epoch + 1, record)
        if progress:
            tqdm.write(
                "epoch {}: {}".format(
                    epoch + 1,
                    ", ".join(f"{k}={v:.4f}" for k, v in record.items() if isinstance(v, float)),
                )
            )
        epoch += 1
        step_in_epoch = 0
        checkpoint(epoch, 0)
        _write_json(out_dir / "history.json", history)

    model.eval().cpu()
    result = TrainResult(
        config=cfg,
        model=model,
        normalisation=norm,
        history=history,
        steps=global_step,
        output_dir=out_dir,
        pixel_size=float(np.median([s.pixel_size for s in train_scenes])),
    )
    if export:
        result.weights = export_weights(result, train_scenes)
    return result


def _init_description(cfg: TrainConfig) -> dict[str, Any] | None:
    if not cfg.model.init_weights:
        return None
    from xseaice.models.registry import resolve_weights

    spec = resolve_weights(cfg.model.init_weights)
    return {"name": spec.name, "sha256": spec.sha256}


def _describe_data(cfg: TrainConfig, scenes: Sequence[TrainScene]) -> dict[str, Any]:
    d: dict[str, Any] = {"source": cfg.data.source, "n_scenes": len(scenes)}
    if cfg.data.source == "synthetic":
        syn = cfg.data.synthetic
        d.update(
            seeds=[syn.seed, syn.seed + syn.n_scenes - 1],
            val_seeds=[syn.val_seed, syn.val_seed + syn.val_scenes - 1],
            seasons=list(syn.seasons),
            shape=list(syn.shape),
            randomize=syn.randomize,
        )
    elif cfg.data.source == "ai4arctic":
        d["path"] = cfg.data.path
    return d


def export_weights(
    result: TrainResult,
    scenes: Sequence[TrainScene],
    *,
    path: str | os.PathLike[str] | None = None,
    name: str | None = None,
    description: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Any:
    """Write the trained model through
    [`xseaice.models.save_weights`][xseaice.models.registry.save_weights].

    Parameters
    ----------
    result : TrainResult
        A finished run.
    scenes : sequence of TrainScene
        Its training scenes (their provenance goes into the metadata).
    path, name, description : optional
        Override ``config.export``'s path, registry name and description.
    extra : dict, optional
        More JSON metadata for the sidecar's ``training`` entry (e.g. held-out scores).

    Returns
    -------
    WeightsSpec
        The registered spec.
    """
    from xseaice.models import save_weights

    cfg = result.config
    path = Path(path or cfg.export.path or Path(cfg.output_dir) / "model.safetensors")
    last = result.history[-1] if result.history else {}
    training: dict[str, Any] = {
        "method": (
            "weak supervision from ice-chart regions (region-based loss)"
            + (
                " + the simulator's pixel truth"
                if cfg.loss.truth_weight > 0 or cfg.loss.truth_task_weight > 0
                else ""
            )
        ),
        "data": _describe_data(cfg, scenes),
        "steps": result.steps,
        "epochs": cfg.optim.epochs,
        "patch_size": cfg.data.patch_size,
        "batch_size": cfg.data.batch_size,
        "precision": cfg.precision,
        "seed": cfg.seed,
        "init_weights": _init_description(cfg),
        "loss": {
            "region": cfg.loss.region,
            "tolerance": cfg.loss.tolerance,
            "pure_weight": cfg.loss.pure_weight,
            "entropy_weight": cfg.loss.entropy_weight,
            "truth_weight": cfg.loss.truth_weight,
            "truth_task_weight": cfg.loss.truth_task_weight,
            "truth_balance": cfg.loss.truth_balance,
        },
        "final_epoch": {k: v for k, v in last.items() if isinstance(v, int | float)},
        "config": cfg.to_dict(),
        **(extra or {}),
    }
    return save_weights(
        result.model,
        path,
        name=name or cfg.export.name,
        variables=list(cfg.data.variables),
        normalisation=result.normalisation,
        pixel_size=result.pixel_size,
        licence=cfg.export.licence,
        description=description
        or cfg.export.description
        or f"{cfg.model.architecture} trained with the region-based loss on {cfg.data.source} data",
        training=training,
    )
