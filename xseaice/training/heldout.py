"""Scoring trained weights on held-out scenes: [`evaluate`][xseaice.training.heldout.evaluate]
(``xseaice.evaluate``), the ``xseaice evaluate`` command and the weak-supervision report of
``scripts/train_default.py``.

Each scene runs through [`xseaice.training.evaluation.predict_scene`][] (the inference
engine users run) and is scored by [`xseaice.training.evaluation.scene_rows`][].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from xseaice.exceptions import InvalidArgumentError
from xseaice.metrics import _jsonable, format_table
from xseaice.training.datasets import TrainScene
from xseaice.training.evaluation import (
    BASELINES,
    _autoice,
    predict_scene,
    scene_rows,
    summarise,
)
from xseaice.training.sources import ai4arctic_files, read_ai4arctic
from xseaice.training.synthetic_scenes import synthetic_scene

__all__ = [
    "PAPER_ANCHORS",
    "binary_report",
    "evaluate",
    "evaluate_cli",
    "evaluate_model",
    "heldout_scenes",
    "spec_of_result",
]


def evaluate(
    model: Any = "default",
    scenes: Any = "synthetic",
    *,
    seeds: Sequence[int] = (1000, 1001),
    seasons: Sequence[str] = ("summer", "winter"),
    shape: tuple[int, int] = (512, 512),
    als: bool = True,
    preserve_chart: bool = True,
    device: str = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """Score a trained model on held-out scenes.

    Parameters
    ----------
    model : str, path, WeightsSpec or (torch.nn.Module, WeightsSpec)
        Registered weights name (``"default"``, ``"multitask"``), a weights file with its
        sidecar, or an already loaded model with its spec.
    scenes : "synthetic", path, or iterable of TrainScene
        ``"synthetic"``: fresh synthetic scenes for every ``seeds`` x ``seasons``;
        a folder of AI4Arctic ready-to-train netCDF files (or one file); or scenes built
        with `xseaice.training.datasets`.
    seeds : sequence of int
        Synthetic seeds (hold them out of training).
    seasons : sequence of {"summer", "winter"}
        Synthetic seasons.
    shape : (int, int)
        Synthetic scene size in pixels.
    als : bool, default True
        Also score the map after Analytical Logit Scaling (and, with
        ``preserve_chart``, ALS with ``preserve=chart``).
    preserve_chart : bool, default True
        Score ALS with ``preserve=chart`` where a chart is known.
    device : str
        Torch device.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``rows``: one dict per scene and method (``method`` in ``raw``, ``als``,
        ``als_chart``; ``accuracy``, ``ice_iou``, ``lead_iou`` where truth exists;
        ``conc_mae``); ``summary``: the same averaged per group (season and method);
        ``autoice``: AutoICE scores where the model has SIC/SOD/FLOE heads and the
        scenes carry AutoICE labels, with the SOD confusion matrix and per-class F1
        against the chart and, on synthetic scenes, the SOD / FLOE scores against the
        pixel truth (``*_truth``, ``combined_truth``).
    """
    return evaluate_model(
        model,
        scenes,
        seeds=seeds,
        seasons=seasons,
        shape=shape,
        als=als,
        preserve_chart=preserve_chart,
        device=device,
        progress=progress,
    )


def evaluate_cli(
    *,
    model: str = "default",
    data: str = "synthetic",
    seeds: Sequence[int] = (1000, 1001),
    output: str | None = None,
    progress: bool = True,
) -> str:
    """``xseaice evaluate``: run [`evaluate`][xseaice.training.heldout.evaluate] and return the
    printable table.

    Parameters
    ----------
    model : str
        Registered weights name or weights file.
    data : str
        ``"synthetic"`` or the path of AI4Arctic netCDF scenes.
    seeds : sequence of int
        Synthetic seeds.
    output : str, optional
        Write the result as JSON to this file (atomically).
    progress : bool
        Show a progress bar.

    Returns
    -------
    str
        The summary table.
    """
    import json
    import os
    import tempfile
    from pathlib import Path

    result = evaluate(model, data, seeds=tuple(seeds), progress=progress)
    if output is not None:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(_jsonable(result), f, indent=2)
        os.replace(tmp, path)
    return format_table(result["summary"]) + _autoice_text(result.get("autoice") or {})


def _autoice_text(autoice: dict[str, Any]) -> str:
    """The AutoICE scalars as one table row, then each confusion matrix (rows reference,
    columns prediction) as its own table."""
    if not autoice:
        return ""
    scalars = {k: v for k, v in autoice.items() if not isinstance(v, list)}
    parts = ["", format_table([scalars])]
    for key, cm in autoice.items():
        if key.endswith("confusion") or "_confusion_" in key:
            rows = [
                {"ref": i, **{f"pred {j}": n for j, n in enumerate(r)}} for i, r in enumerate(cm)
            ]
            parts += ["", key, format_table(rows)]
    return "\n".join(parts)


def spec_of_result(result: Any) -> Any:
    """An in-memory [`WeightsSpec`][xseaice.models.registry.WeightsSpec] of a
    [`TrainResult`][xseaice.training.loop.TrainResult] (not registered, no file: ``sha256`` is
    zeros) for evaluating before export."""
    from xseaice.models import WeightsSpec

    cfg = result.config
    return WeightsSpec(
        name=cfg.export.name,
        architecture=cfg.model.architecture,
        arch_kwargs=dict(getattr(result.model, "arch_kwargs", {})),
        variables=tuple(cfg.data.variables),
        normalisation=dict(result.normalisation),
        pixel_size=float(result.pixel_size),
        outputs=dict(getattr(result.model, "output_classes", {"ice_logit": None})),
        licence=cfg.export.licence,
        description="in-memory result of xseaice.training.train",
        sha256="0" * 64,
        filename="<memory>",
    )


def _resolve(model: Any) -> tuple[nn.Module, Any]:
    from xseaice.models import WeightsSpec, load_model
    from xseaice.training.loop import TrainResult

    if isinstance(model, TrainResult):
        return model.model, spec_of_result(model)
    if isinstance(model, tuple) and len(model) == 2 and isinstance(model[0], nn.Module):
        return model[0], model[1]
    if isinstance(model, str | WeightsSpec) or hasattr(model, "__fspath__"):
        return load_model(model)
    raise InvalidArgumentError(
        "model must be a weights name, a weights path, a WeightsSpec, (module, spec) or a "
        f"TrainResult; got {type(model).__name__}"
    )


def evaluate_model(
    model: Any,
    scenes: Any,
    *,
    seeds: Sequence[int] = (1000, 1001),
    seasons: Sequence[str] = ("summer", "winter"),
    shape: Sequence[int] = (512, 512),
    als: bool = True,
    preserve_chart: bool = True,
    baselines: Sequence[str] = (),
    device: str = "cpu",
    precision: str = "fp32",
    progress: bool = False,
) -> dict[str, Any]:
    """Implementation of [`evaluate`][xseaice.training.heldout.evaluate] (see there); also scores
    ``baselines`` (names of [`BASELINES`][xseaice.training.heldout.BASELINES])."""
    from tqdm.auto import tqdm

    module, spec = _resolve(model)
    variables = tuple(spec.variables)
    scene_list: list[TrainScene]
    if isinstance(scenes, str) and scenes == "synthetic":
        scene_list = [
            synthetic_scene(
                s,
                season=season,
                shape=shape,
                pixel_size=float(spec.pixel_size),
                randomize=True,
                variables=variables,
            )
            for season in seasons
            for s in seeds
        ]
    elif isinstance(scenes, str) or hasattr(scenes, "__fspath__"):
        scene_list = [read_ai4arctic(f, variables=variables) for f in ai4arctic_files(scenes)]
    else:
        scene_list = list(scenes)
    methods = ["raw"]
    if als:
        methods.extend(["als", "als_midpoint", "als_scene"])
        if preserve_chart:
            methods.append("als_chart")
    sic_mode = str(spec.arch_kwargs.get("sic_mode", "classes"))
    rows: list[dict[str, Any]] = []
    preds = []
    for sc in tqdm(scene_list, desc="evaluate", disable=not progress, leave=False):
        pred = predict_scene(
            module, sc, spec.normalisation, device=device, precision=precision, sic_mode=sic_mode
        )
        preds.append(pred)
        rows.extend(scene_rows(pred, sc, methods=methods, baselines=baselines))
    summary = summarise(rows)
    autoice = _autoice(preds, scene_list)
    return {
        "model": spec.name,
        "rows": rows,
        "summary": summary,
        "autoice": ({"model": spec.name, **autoice} if autoice else {}),
    }


#: Published figures quoted beside ours (not comparable one-to-one: real data).
PAPER_ANCHORS: dict[str, str] = {
    "als_accuracy_summer": "78 % pixel accuracy on fragmented summer scenes (ALS paper, real "
    "Sentinel-1, no pixel labels)",
    "autoice_combined": "86.3 combined score (AutoICE challenge winner, real AI4Arctic data)",
}


def heldout_scenes(
    variables: Sequence[str],
    *,
    seeds: Sequence[int],
    seasons: Sequence[str] = ("summer", "winter"),
    shape: Sequence[int] = (512, 512),
    pixel_size: float = 40.0,
    generator: str = "A",
    chart: str = "exact",
) -> list[TrainScene]:
    """Synthetic evaluation scenes, every seed in every season (randomised physics).

    ``generator="B"`` gives the held-out generator mode (never trained on);
    ``chart="analyst"`` gives each scene an analyst-like chart (CT errors, drift,
    generalised boundaries, partial coverage) instead of the exact one.
    """
    return [
        synthetic_scene(
            s,
            season=season,
            shape=shape,
            pixel_size=pixel_size,
            randomize=True,
            variables=variables,
            generator=generator,
            chart=chart,
        )
        for season in seasons
        for s in seeds
    ]


def binary_report(
    model: Any,
    scenes: Sequence[TrainScene],
    *,
    baselines: Sequence[str] = BASELINES,
    precision: str = "fp32",
) -> dict[str, Any]:
    """Per-scene rows and the per-(season, method) summary of a binary ice model.

    Parameters
    ----------
    model : (torch.nn.Module, WeightsSpec) or weights name / path
        The model.
    scenes : sequence of TrainScene
        Held-out scenes with truth.
    baselines : sequence of str
        Classical baselines to score beside it.
    precision : str
        ``"fp32"`` or ``"bf16"``.

    Returns
    -------
    dict
        ``rows``, ``summary`` (as [`evaluate_model`][xseaice.training.heldout.evaluate_model]).
    """
    res = evaluate_model(model, scenes, baselines=baselines, precision=precision)
    return {"rows": res["rows"], "summary": res["summary"], "autoice": res["autoice"]}
