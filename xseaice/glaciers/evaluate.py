"""Score a zone model on labelled glacier scenes the CaFFe way: MDE and zone IoU.

Each scene is segmented through the tiling engine (`
segment_zones`), the front is extracted as in the benchmark (`calving_front`), and the predicted
fronts and zones are scored against the labels
([`mean_distance_error`][xseaice.glaciers.mde.mean_distance_error],
[`zone_iou`][xseaice.glaciers.mde.zone_iou]).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.glaciers.fronts import calving_front
from xseaice.glaciers.mde import mean_distance_error, zone_iou
from xseaice.glaciers.segment import segment_zones

__all__ = ["evaluate_caffe", "evaluate_caffe_cli", "evaluate_zone_model", "format_result"]

logger = logging.getLogger(__name__)


def evaluate_zone_model(
    model: Any,
    scenes: Iterable[xr.Dataset],
    *,
    min_length: float = 750.0,
    precision: str = "auto",
    device: str = "auto",
) -> dict[str, Any]:
    """MDE, zone IoU per class and images without a predicted front, over ``scenes``.

    Parameters
    ----------
    model : str, path, WeightsSpec or (nn.Module, WeightsSpec)
        A zone model (see [`segment_zones`][xseaice.glaciers.segment.segment_zones]).
    scenes : iterable of xarray.Dataset
        Labelled scenes with ``sar``, ``zones`` and ``front`` (synthetic fjords or CaFFe).
    min_length : float, default 750.0
        Shortest front fragment kept, metres.
    precision, device
        Passed to the tiling engine.

    Returns
    -------
    dict
        The [`MDEResult`][xseaice.glaciers.mde.MDEResult] fields (``mde_m``, ``n_no_prediction``,
        ...), ``iou_<class>`` / ``iou_mean``, and ``images`` (name, glacier, sensor, date,
        per-image MDE).
    """
    preds, trues, pz, tz, sizes, meta = [], [], [], [], [], []
    for ds in scenes:
        missing = [v for v in ("sar", "zones", "front") if v not in ds]
        if missing:
            raise InvalidArgumentError(
                f"scene {ds.attrs.get('name', '')!r} lacks {missing}; evaluation needs labels"
            )
        out = segment_zones(ds, model, precision=precision, device=device)
        zones = out["zones"].compute()
        front = calving_front(zones, min_length=min_length, pixel_size=out.attrs["pixel_size"])
        preds.append(front.raster.values)
        trues.append(np.asarray(ds["front"].values))
        pz.append(zones.values)
        tz.append(np.asarray(ds["zones"].values))
        sizes.append(float(out.attrs["pixel_size"]))
        meta.append({k: ds.attrs.get(k) for k in ("name", "glacier", "sensor", "date")})
    if not preds:
        raise InvalidArgumentError("scenes is empty: nothing to evaluate")
    mde = mean_distance_error(preds, trues, sizes)
    result: dict[str, Any] = {k: v for k, v in mde.as_dict().items() if k != "per_image_m"}
    result.update(zone_iou(pz, tz))
    for m, d in zip(meta, mde.per_image, strict=True):
        m["mde_m"] = d
    result["images"] = meta
    return result


def evaluate_caffe(
    root: str | os.PathLike[str],
    model: Any,
    *,
    split: str = "test",
    min_length: float = 750.0,
    limit: int | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Score ``model`` on a CaFFe split on disk (the published benchmark or a synthetic one).

    Parameters
    ----------
    root : str or path
        The CaFFe folder (see [`xseaice.io.caffe.read_caffe`][]).
    model : str, path, WeightsSpec or (nn.Module, WeightsSpec)
        A zone model.
    split : str, default "test"
        The split to score.
    min_length : float, default 750.0
        Shortest front fragment kept, metres.
    limit : int, optional
        Score only the first ``limit`` images.
    precision : str, default "auto"
        Tiling-engine precision.

    Returns
    -------
    dict
        As `evaluate_zone_model`, plus ``root`` and
        ``split``.
    """
    from xseaice.io.caffe import iter_caffe

    scenes = iter_caffe(root, split, limit=limit)
    result = evaluate_zone_model(model, scenes, min_length=min_length, precision=precision)
    result.update({"root": str(root), "split": split})
    return result


def format_result(result: dict[str, Any]) -> str:
    """A printable summary of [`evaluate_caffe`][xseaice.glaciers.evaluate.evaluate_caffe] /
    `evaluate_zone_model`."""
    lines = [
        f"images                     {result['n_images']}",
        f"mean distance error (MDE)  {result['mde_m']:.1f} m  (pooled over "
        f"{result['n_distances']} front-pixel distances)",
        f"mean of per-image MDE      {result['mean_of_image_means_m']:.1f} m",
        f"images without a front     {result['n_no_prediction']} (excluded from the MDE)",
        f"images without a label     {result['n_no_truth']}",
        "zone IoU                   "
        + "  ".join(
            f"{k[4:]} {result[k]:.3f}"
            for k in ("iou_na", "iou_rock", "iou_glacier", "iou_ocean", "iou_mean")
        ),
    ]
    return "\n".join(lines)


def evaluate_caffe_cli(
    root: str | os.PathLike[str],
    model: Any = "glacier-zones",
    *,
    split: str = "test",
    output: str | os.PathLike[str] | None = None,
) -> str:
    """``xseaice evaluate --caffe ROOT``: score, optionally write JSON, return the summary."""
    import json
    from pathlib import Path

    from xseaice.io.atomic import atomic_path

    result = evaluate_caffe(root, model, split=split)
    if output is not None:
        with atomic_path(output) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=2, default=float) + "\n")
    return format_result(result)
