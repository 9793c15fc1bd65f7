"""Running a trained model over whole scenes and scoring it (used by
[`xseaice.evaluate`][xseaice.training.heldout.evaluate], validation during training and the
benchmarks).

Scenes run through [`xseaice.inference.predict_array`][xseaice.inference.tiling.predict_array], the
tiling engine `xseaice.inference.segment` runs per dask block, so evaluation and validation
score the code users run (windows, halo, batching, bf16 with float32 output heads).

Methods scored per scene (binary maps, pixel truth from the synthetic world):

``raw``
    ``sigmoid(logit) >= 0.5`` (the weakly trained model as it is).
``als``
    Analytical Logit Scaling ([`xseaice.products.als.scale_logits`][]) with its defaults
    (the model's own threshold, sharpened), then 0.5.
``als_midpoint``
    The paper's ALS (``bias="midpoint"``: the threshold at the middle of the scene's
    2nd-98th percentile logit spread), then 0.5.
``als_scene``
    ALS with ``preserve="scene"``: the bias makes the scene's ice fraction equal the
    model's own mean probability (no chart needed at inference).
``als_chart``
    ALS with ``preserve=chart``: a chart region whose ice fraction lies outside its
    code's range widened by a tenth is moved to the nearest bound of that interval.
``otsu_hv``, ``otsu_hh``
    Classical baselines: Otsu's threshold on the scene's HV (HH) backscatter in dB, ice
    above it.
``chart_hv``, ``chart_hh``
    Chart-matched quantile: in every chart region the brightest ``round(c n)`` HV (HH)
    pixels are ice (so each region's ice fraction equals the chart's CT); pixels outside
    regions use Otsu on HV (HH).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from xseaice.exceptions import InvalidArgumentError
from xseaice.inference import predict_array
from xseaice.io.autoice import AUTOICE_FLOE_CLASSES, AUTOICE_SOD_CLASSES
from xseaice.metrics import (
    IGNORE_INDEX,
    autoice_scores,
    class_scores,
    combined_score,
    concentration_error_summary,
    iou,
    pixel_accuracy,
    regional_concentration_error,
)
from xseaice.training.datasets import TrainScene, _canonical
from xseaice.variables import SAR_VARIABLES as SAR

__all__ = [
    "BASELINES",
    "METHODS",
    "baseline_map",
    "otsu_threshold",
    "predict_scene",
    "scene_rows",
    "summarise",
    "validate",
]

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("raw", "als", "als_midpoint", "als_scene", "als_chart")
BASELINES: tuple[str, ...] = ("otsu_hv", "otsu_hh", "chart_hv", "chart_hh")


def predict_scene(
    model: nn.Module,
    scene: TrainScene,
    normalisation: Mapping[str, Any],
    *,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    tile: int = 512,
    sic_mode: str = "classes",
) -> dict[str, np.ndarray]:
    """Run a model over a whole scene in overlapping tiles.

    Parameters
    ----------
    model : torch.nn.Module
        A model returning a dict with ``ice_logit`` (and optionally ``sic``, ``sod``,
        ``floe``).
    scene : TrainScene
        The scene (physical units; normalised here).
    normalisation : mapping
        ``variable -> (mean, std)`` the model was trained with.
    device, precision : str
        Torch device and ``"fp32"`` / ``"bf16"`` / ``"auto"``, as in
        `xseaice.inference.segment`.
    tile : int
        Tile side without halo (a multiple of the model's ``size_multiple``); the halo is
        the model's ``receptive_halo``, so tiles join without seams.  The model itself is
        left untouched (a prepared copy runs; see
        [`xseaice.inference.predict_array`][xseaice.inference.tiling.predict_array]).
    sic_mode : {"classes", "regression"}
        How to turn the SIC output into classes.

    Returns
    -------
    dict
        ``ice_logit`` float32 ``[H, W]`` (NaN where invalid) and, if the model has them,
        ``sic``, ``sod``, ``floe`` uint8 class maps (255 where invalid).
    """
    outs = predict_array(
        scene.inputs,
        model,
        normalisation,
        variables=scene.variables,
        tile=tile,
        device=device,
        precision=precision,  # type: ignore[arg-type]  # checked by resolve_precision
        mask_channels=[i for i, v in enumerate(scene.variables) if _canonical(v) in SAR] or None,
    )
    valid = scene.valid
    result: dict[str, np.ndarray] = {}
    logit = outs["ice_logit"][0]
    logit[~valid] = np.nan
    result["ice_logit"] = logit
    for task in ("sic", "sod", "floe"):
        if task not in outs:
            continue
        o = outs[task]
        if task == "sic" and (sic_mode == "regression" or o.shape[0] == 1):
            cls = np.clip(np.rint(o[0] * 10.0), 0, 10).astype("uint8")
        else:
            cls = np.argmax(o, axis=0).astype("uint8")
        cls[~valid] = IGNORE_INDEX
        result[task] = cls
    return result


# ---------------------------------------------------------------------------------------
# ALS and baselines
# ---------------------------------------------------------------------------------------


def _wrap(arr: np.ndarray, scene: TrainScene) -> Any:
    import xarray as xr

    if scene.like is not None:
        from odc.geo.xr import wrap_xr

        gbox = getattr(getattr(scene.like, "odc", None), "geobox", None) or scene.like
        return wrap_xr(arr, gbox)
    return xr.DataArray(arr, dims=("y", "x"))


def als_probabilities(
    logit: np.ndarray,
    scene: TrainScene,
    *,
    methods: Sequence[str] = ("als", "als_midpoint", "als_scene", "als_chart"),
    q: float = 0.98,
) -> dict[str, np.ndarray]:
    """ALS probabilities of a scene's logits: the defaults (``als``), the paper's midpoint
    bias (``als_midpoint``), ``preserve="scene"`` (``als_scene``) and ``preserve=chart``
    (``als_chart``), those in ``methods`` only.

    Returns
    -------
    dict
        The requested methods (``als_chart`` only when the scene has a georeferenced
        chart): float32 ``[H, W]`` probabilities (NaN where invalid).
    """
    import warnings

    from xseaice.products.als import scale_logits

    options: dict[str, dict[str, Any]] = {
        "als": {},
        "als_midpoint": {"bias": "midpoint"},
        "als_scene": {"preserve": "scene"},
    }
    if scene.chart is not None and scene.like is not None:
        options["als_chart"] = {"preserve": scene.chart}
    z = _wrap(logit.astype("float32"), scene)
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, kwargs in options.items():
            if method in methods:
                p = scale_logits(z, q=q, method="exact", **kwargs)
                out[method] = np.asarray(p.values, dtype="float32")
    return out


def otsu_threshold(values: np.ndarray, *, bins: int = 256) -> float:
    """Otsu's threshold of the finite values (maximum between-class variance).

    Parameters
    ----------
    values : numpy.ndarray
        Samples (any shape); NaN ignored.
    bins : int
        Histogram bins.

    Returns
    -------
    float
        The threshold (a bin edge); values above it form the bright class.
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise InvalidArgumentError("otsu_threshold needs at least one finite value")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return lo
    hist, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(hist).astype("float64")
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * centres)
    m0 = np.divide(s0, w0, out=np.zeros_like(s0), where=w0 > 0)
    m1 = np.divide(s0[-1] - s0, w1, out=np.zeros_like(s0), where=w1 > 0)
    between = w0 * w1 * (m0 - m1) ** 2
    k = int(np.argmax(between[:-1]))
    return float(edges[k + 1])


def _channel(scene: TrainScene, name: str) -> np.ndarray:
    names = [_canonical(v) for v in scene.variables]
    if name not in names:
        raise InvalidArgumentError(f"scene {scene.name!r} has no {name!r} input for a baseline")
    return scene.inputs[names.index(name)]


def baseline_map(scene: TrainScene, method: str) -> np.ndarray:
    """Binary ice map (float32 0/1, NaN invalid) of a classical baseline.

    Parameters
    ----------
    scene : TrainScene
        The scene (needs ``hv`` / ``hh`` inputs; ``chart_hv`` needs chart regions).
    method : {"otsu_hv", "otsu_hh", "chart_hv", "chart_hh"}
        See the module documentation.
    """
    valid = scene.valid
    if method in ("otsu_hv", "otsu_hh"):
        x = _channel(scene, method[-2:])
        t = otsu_threshold(x[valid])
        out = (x > t).astype("float32")
    elif method in ("chart_hv", "chart_hh"):
        x = _channel(scene, method[-2:])
        out = (x > otsu_threshold(x[valid])).astype("float32")
        ids = scene.region_ids
        use = valid & (ids > 0)
        order = np.argsort(ids[use], kind="stable")
        flat_idx = np.flatnonzero(use)[order]
        sorted_ids = ids.ravel()[flat_idx]
        bounds = np.flatnonzero(np.diff(sorted_ids)) + 1
        flat_out = out.ravel()
        flat_x = x.ravel()
        for grp in np.split(flat_idx, bounds):
            if grp.size == 0:
                continue
            c = float(scene.region_ct[ids.ravel()[grp[0]] - 1])
            if not math.isfinite(c):
                continue
            k = math.floor(c * grp.size + 0.5)
            vals = flat_x[grp]
            rank = np.argsort(-vals, kind="stable")
            flat_out[grp] = 0.0
            flat_out[grp[rank[:k]]] = 1.0
        out = flat_out.reshape(x.shape)
    else:
        raise InvalidArgumentError(f"unknown baseline {method!r}; expected one of {BASELINES}")
    out[~valid] = np.nan
    return out


# ---------------------------------------------------------------------------------------
# scores
# ---------------------------------------------------------------------------------------


def _leads(binary: np.ndarray, pixel_size: float) -> np.ndarray:
    import xarray as xr

    from xseaice.products.topology import topology

    b = np.where(np.isfinite(binary), binary, 255).astype("uint8")
    topo = topology(xr.DataArray(b, dims=("y", "x")), pixel_size=pixel_size)
    lead = np.asarray(topo["lead"].values)
    return (lead == 1).astype("uint8")


def _truth_leads(scene: TrainScene) -> np.ndarray | None:
    if "lead" in scene.truth:
        return (np.asarray(scene.truth["lead"]) == 1).astype("uint8")
    if "ice" in scene.truth:
        return _leads(np.asarray(scene.truth["ice"], dtype="float32"), scene.pixel_size)
    return None


def _true_region_fractions(scene: TrainScene) -> np.ndarray | None:
    """The true ice fraction of every chart region over its valid pixels (NaN if none)."""
    if "ice" not in scene.truth:
        return None
    ids = scene.region_ids.ravel()
    use = scene.valid.ravel() & (ids > 0)
    n = scene.region_ct.size + 1
    ice = np.asarray(scene.truth["ice"]).ravel()[use].astype("float64")
    count = np.bincount(ids[use], minlength=n)[1:]
    total = np.bincount(ids[use], weights=ice, minlength=n)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def map_scores(
    binary: np.ndarray, scene: TrainScene, *, prob: np.ndarray | None = None
) -> dict[str, float]:
    """Scores of one binary map (float 0/1, NaN invalid) of a scene.

    Returns
    -------
    dict
        ``accuracy``, ``ice_iou``, ``lead_iou`` (if the scene has truth), ``conc_mae``,
        ``conc_max`` (binary map's regional ice fraction vs the chart: zero by
        construction for a map forced to that chart), ``conc_mae_truth`` (vs the true ice
        fraction of each chart region, if the scene has truth) and, with ``prob``,
        ``conc_mae_prob`` (the mean probability vs the chart).
    """
    valid = scene.valid & np.isfinite(binary)
    out: dict[str, float] = {}
    if "ice" in scene.truth:
        truth = np.asarray(scene.truth["ice"]).astype("int64")
        out["accuracy"] = pixel_accuracy(binary, truth, valid=valid)
        out["ice_iou"] = iou(binary, truth, valid=valid)
        tl = _truth_leads(scene)
        if tl is not None:
            pl = _leads(np.where(valid, binary, np.nan), scene.pixel_size)
            out["lead_iou"] = iou(pl, tl, valid=valid)
    table = regional_concentration_error(binary, scene.region_ids, scene.region_ct, valid=valid)
    s = concentration_error_summary(table)
    out["conc_mae"] = s["mae"]
    out["conc_max"] = s["max"]
    truth_ct = _true_region_fractions(scene)
    if truth_ct is not None:
        tt = regional_concentration_error(binary, scene.region_ids, truth_ct, valid=valid)
        out["conc_mae_truth"] = concentration_error_summary(tt)["mae"]
    if prob is not None:
        tp = regional_concentration_error(prob, scene.region_ids, scene.region_ct, valid=valid)
        out["conc_mae_prob"] = concentration_error_summary(tp)["mae"]
    return out


def scene_rows(
    pred: Mapping[str, np.ndarray],
    scene: TrainScene,
    *,
    methods: Sequence[str] = METHODS,
    baselines: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Score rows (one per method) of a scene's prediction."""
    logit = pred["ice_logit"]
    prob = 1.0 / (1.0 + np.exp(-logit.astype("float64")))
    maps: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    if "raw" in methods:
        maps["raw"] = (np.where(np.isfinite(prob), (prob >= 0.5).astype("float32"), np.nan), prob)
    for k, p in als_probabilities(logit, scene, methods=methods).items():
        maps[k] = (np.where(np.isfinite(p), (p >= 0.5).astype("float32"), np.nan), None)
    for b in baselines:
        maps[b] = (baseline_map(scene, b), None)
    rows = []
    base = {"scene": scene.name, "season": scene.meta.get("season", "")}
    for m, (binary, pm) in maps.items():
        rows.append({**base, "method": m, **map_scores(binary, scene, prob=pm)})
    return rows


def summarise(
    rows: Iterable[Mapping[str, Any]], by: Sequence[str] = ("season", "method")
) -> list[dict[str, Any]]:
    """Mean of every numeric column per group (NaN ignored), groups in first-seen order."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in by), []).append(r)
    out = []
    for key, rs in groups.items():
        rec: dict[str, Any] = dict(zip(by, key, strict=True))
        rec["n"] = len(rs)
        cols: list[str] = []
        for r in rs:
            cols.extend(k for k, v in r.items() if isinstance(v, float) and k not in cols)
        for c in cols:
            vals = np.array([float(r.get(c, np.nan)) for r in rs], dtype="float64")
            rec[c] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
        out.append(rec)
    return out


def _autoice(
    preds: Sequence[Mapping[str, np.ndarray]], scenes: Sequence[TrainScene]
) -> dict[str, Any]:
    """AutoICE scores against the scenes' chart labels and, where every scene has the pixel
    truth's classes (synthetic world), against the truth (``*_truth`` keys): the SOD and
    FLOE confusion matrices (rows reference, columns prediction) and per-class F1 make a
    head that predicts one or two classes visible."""
    if not preds or not all(t in p for p in preds for t in ("sic", "sod", "floe")):
        return {}

    def pooled(get: Any) -> np.ndarray:
        return np.concatenate(
            [np.asarray(get(p, s)).ravel() for p, s in zip(preds, scenes, strict=True)]
        )

    c: dict[str, np.ndarray] = {}
    for task in ("sic", "sod", "floe"):
        pred = pooled(lambda p, s, t=task: p[t])
        ref = pooled(lambda p, s, t=task: s.label_map(t))
        c[task] = pred
        c[f"{task}_ref"] = np.where(pred == IGNORE_INDEX, IGNORE_INDEX, ref)  # invalid input
    out: dict[str, Any] = dict(
        autoice_scores(
            sic_true=c["sic_ref"],
            sic_pred=c["sic"],
            sod_true=c["sod_ref"],
            sod_pred=c["sod"],
            floe_true=c["floe_ref"],
            floe_pred=c["floe"],
        )
    )
    sod = class_scores(c["sod_ref"], c["sod"], n_classes=len(AUTOICE_SOD_CLASSES))
    out.update({"sod_confusion": sod["confusion"], "f1_sod_per_class": sod["f1_per_class"]})
    out["f1_sod_macro"] = sod["f1_macro"]
    if all("sod" in s.truth and "floe" in s.truth for s in scenes):
        for task, n in (("sod", len(AUTOICE_SOD_CLASSES)), ("floe", len(AUTOICE_FLOE_CLASSES))):
            ref = pooled(lambda p, s, t=task: s.truth[t])
            ref = np.where(c[task] == IGNORE_INDEX, IGNORE_INDEX, ref)
            sc = class_scores(ref, c[task], n_classes=n)
            out[f"f1_{task}_truth"] = sc["f1_weighted"]
            out[f"f1_{task}_truth_macro"] = sc["f1_macro"]
            out[f"f1_{task}_truth_per_class"] = sc["f1_per_class"]
            out[f"{task}_confusion_truth"] = sc["confusion"]
        out["combined_truth"] = combined_score(
            out["r2_sic"], out["f1_sod_truth"], out["f1_floe_truth"]
        )
    return out


def validate(
    model: nn.Module,
    scenes: Sequence[TrainScene],
    normalisation: Mapping[str, Any],
    *,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    multitask: bool = False,
    sic_mode: str = "classes",
) -> dict[str, float]:
    """Quick validation metrics of the raw model (used at the end of each epoch).

    Returns
    -------
    dict
        ``val_conc_mae_prob`` (regional mean probability vs chart), and where the scenes
        have truth ``val_accuracy`` / ``val_ice_iou`` of the raw map; for multi-task
        models the AutoICE ``val_combined``.
    """
    rows, preds = [], []
    for sc in scenes:
        pred = predict_scene(
            model, sc, normalisation, device=device, precision=precision, sic_mode=sic_mode
        )
        preds.append(pred)
        rows.extend(scene_rows(pred, sc, methods=("raw",)))
    s = summarise(rows, by=("method",))[0]
    out = {f"val_{k}": v for k, v in s.items() if isinstance(v, float) and k != "conc_max"}
    if multitask:
        a = _autoice(preds, scenes)
        if a:
            out["val_combined"] = a["combined"]
    return out


# ---------------------------------------------------------------------------------------
# evaluation of weights
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# the weak-supervision report (scripts/train_default.py, benchmarks)
# ---------------------------------------------------------------------------------------
