"""Scores of sea-ice maps: the AutoICE challenge metrics and pixel metrics against truth.

AutoICE (the AI4Arctic sea-ice challenge) scores three charts:

* sea-ice concentration (SIC, classes 0-10 in tenths) by the coefficient of determination
  :math:`R^2 = 1 - \\sum (y - \\hat y)^2 / \\sum (y - \\bar y)^2`;
* stage of development (SOD) and floe size (FLOE) by the support-weighted F1 score;
* the combined score ``(2 R2_SIC + 2 F1_SOD + F1_FLOE) / 5``.

Pixels whose *reference* label is the ignore index (255) are left out.  The functions here
agree with ``sklearn.metrics.r2_score`` and ``sklearn.metrics.f1_score(average="weighted")``
on the remaining pixels (scikit-learn is not needed at run time).  All scores are
fractions (1.0 is perfect); AutoICE reports them multiplied by 100.

Pixel metrics compare a binary ice map with pixel truth (only the synthetic world has it):
[`pixel_accuracy`][xseaice.metrics.pixel_accuracy], [`iou`][xseaice.metrics.iou] (of ice, or of
leads), and [`regional_concentration_error`][xseaice.metrics.regional_concentration_error], the
difference between the mapped ice fraction of each chart region and the chart's concentration.

[`xseaice.evaluate`][xseaice.training.heldout.evaluate] (in [`xseaice.training.heldout`][]) runs a
trained model over held-out scenes and reports all of them; this module imports no model code.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from xseaice.exceptions import InvalidArgumentError
from xseaice.glaciers.mde import MDEResult, mean_distance_error, zone_iou

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "IGNORE_INDEX",
    "MDEResult",
    "autoice_scores",
    "class_scores",
    "combined_score",
    "confusion_matrix",
    "f1_per_class",
    "f1_weighted",
    "format_table",
    "iou",
    "mean_distance_error",
    "pixel_accuracy",
    "r2_score",
    "regional_concentration_error",
    "zone_iou",
]

logger = logging.getLogger(__name__)

#: Label value of masked / undefined pixels (AutoICE convention).
IGNORE_INDEX: int = 255


def _as_array(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    elif hasattr(x, "compute") and hasattr(x, "dims"):  # xarray backed by dask
        x = x.compute()
    arr = np.asarray(x)
    if arr.dtype == object:
        raise InvalidArgumentError(f"{name} must be a numeric array; got an object array")
    return arr


def _pair(
    y_true: Any,
    y_pred: Any,
    valid: Any,
    ignore_index: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    t = _as_array(y_true, "y_true")
    p = _as_array(y_pred, "y_pred")
    if t.shape != p.shape:
        raise InvalidArgumentError(
            f"y_true and y_pred must have the same shape; got {t.shape} and {p.shape}"
        )
    keep = np.ones(t.shape, dtype=bool)
    if ignore_index is not None:
        keep &= t != ignore_index
    if np.issubdtype(t.dtype, np.floating):
        keep &= np.isfinite(t)
    if valid is not None:
        v = _as_array(valid, "valid").astype(bool)
        if v.shape != t.shape:
            raise InvalidArgumentError(
                f"valid must have the shape of y_true {t.shape}; got {v.shape}"
            )
        keep &= v
    return t[keep], p[keep]


def r2_score(
    y_true: Any, y_pred: Any, *, ignore_index: int | None = IGNORE_INDEX, valid: Any = None
) -> float:
    """Coefficient of determination over the pixels whose reference is not ignored.

    Parameters
    ----------
    y_true, y_pred : array-like
        Reference and prediction of the same shape (e.g. SIC classes 0-10).
    ignore_index : int or None, default 255
        Reference value of pixels to leave out (``None``: keep all finite pixels).
    valid : array-like of bool, optional
        Extra mask of pixels to score.

    Returns
    -------
    float
        ``1 - SS_res / SS_tot``; as scikit-learn (``force_finite=True``) a constant
        reference gives 1.0 for a perfect prediction and 0.0 otherwise; NaN if no pixel
        is left.
    """
    t, p = _pair(y_true, y_pred, valid, ignore_index)
    if t.size == 0:
        return float("nan")
    t = t.astype("float64")
    p = p.astype("float64")
    ss_res = float(np.sum((t - p) ** 2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def f1_weighted(
    y_true: Any, y_pred: Any, *, ignore_index: int | None = IGNORE_INDEX, valid: Any = None
) -> float:
    """Support-weighted F1 score over the pixels whose reference is not ignored.

    For each class ``c`` appearing in the reference or the prediction,
    ``F1_c = 2 TP / (2 TP + FP + FN)`` (0 when undefined); the result is the mean of
    ``F1_c`` weighted by the number of reference pixels of class ``c``, as
    ``sklearn.metrics.f1_score(average="weighted")``.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        Reference and predicted class labels of the same shape.
    ignore_index : int or None, default 255
        Reference label of pixels to leave out.
    valid : array-like of bool, optional
        Extra mask of pixels to score.

    Returns
    -------
    float
        The weighted F1 score in [0, 1]; NaN if no pixel is left.
    """
    t, p = _pair(y_true, y_pred, valid, ignore_index)
    if t.size == 0:
        return float("nan")
    t = t.astype("int64")
    p = p.astype("int64")
    labels, inverse = np.unique(np.concatenate([t, p]), return_inverse=True)
    n = len(labels)
    ti, pi = inverse[: t.size], inverse[t.size :]
    cm = np.bincount(ti * n + pi, minlength=n * n).reshape(n, n)
    support = cm.sum(axis=1)
    total = support.sum()
    # every label here is in the reference or the prediction, so no F1 is NaN
    return float((f1_per_class(cm) * support).sum() / total) if total > 0 else 0.0


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    n_classes: int,
    ignore_index: int | None = IGNORE_INDEX,
    valid: Any = None,
) -> np.ndarray:
    """Pixel counts of each (reference class, predicted class) pair.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        Reference and predicted class labels (0 .. ``n_classes - 1``) of the same shape.
    n_classes : int
        Number of classes (e.g. 6 for AutoICE SOD, 7 for FLOE).
    ignore_index : int or None, default 255
        Reference label of pixels to leave out.
    valid : array-like of bool, optional
        Extra mask of pixels to score.

    Returns
    -------
    numpy.ndarray
        int64 ``[n_classes, n_classes]``: row = reference class, column = prediction (as
        ``sklearn.metrics.confusion_matrix(labels=range(n_classes))``).

    Raises
    ------
    InvalidArgumentError
        A kept label outside ``0 .. n_classes - 1``.
    """
    t, p = _pair(y_true, y_pred, valid, ignore_index)
    t = t.astype("int64")
    p = p.astype("int64")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise InvalidArgumentError(
                f"{name} has labels {sorted(set(np.unique(a).tolist()))[:10]} outside "
                f"0..{n_classes - 1}; pass n_classes large enough or mask them with "
                "ignore_index / valid"
            )
    cm = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return cm.reshape(n_classes, n_classes)


def f1_per_class(cm: Any) -> np.ndarray:
    """F1 of every class of a confusion matrix, ``2 TP / (2 TP + FP + FN)``; NaN for a class
    neither in the reference nor predicted.

    Parameters
    ----------
    cm : array-like
        ``[n, n]`` counts, rows reference, columns prediction
        ([`confusion_matrix`][xseaice.metrics.confusion_matrix]).

    Returns
    -------
    numpy.ndarray
        float64 ``[n]``.
    """
    m = np.asarray(cm, dtype="float64")
    tp = np.diag(m)
    denom = m.sum(axis=1) + m.sum(axis=0)
    return np.divide(2 * tp, denom, out=np.full(len(tp), np.nan), where=denom > 0)


def class_scores(
    y_true: Any, y_pred: Any, *, n_classes: int, ignore_index: int | None = IGNORE_INDEX
) -> dict[str, Any]:
    """Confusion matrix, per-class, macro and weighted F1 of a class map.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        Reference and prediction.
    n_classes : int
        Number of classes.
    ignore_index : int or None, default 255
        Reference label of pixels to leave out.

    Returns
    -------
    dict
        ``confusion`` (list of rows, reference x prediction), ``f1_per_class`` (NaN: class
        absent from both), ``f1_macro`` (mean over the classes present in the reference,
        as ``sklearn.metrics.f1_score(average="macro", labels=<those classes>)``),
        ``f1_weighted`` (support-weighted) and ``support`` (reference pixels per class).
    """
    cm = confusion_matrix(y_true, y_pred, n_classes=n_classes, ignore_index=ignore_index)
    f1 = f1_per_class(cm)
    support = cm.sum(axis=1)
    present = support > 0
    total = support.sum()
    return {
        "confusion": cm.tolist(),
        "f1_per_class": f1.tolist(),
        "f1_macro": float(np.mean(f1[present])) if present.any() else float("nan"),
        "f1_weighted": float((f1[present] * support[present]).sum() / total)
        if total
        else float("nan"),
        "support": support.tolist(),
    }


def combined_score(r2_sic: float, f1_sod: float, f1_floe: float) -> float:
    """AutoICE combined score ``(2 R2_SIC + 2 F1_SOD + F1_FLOE) / 5``."""
    return (2.0 * r2_sic + 2.0 * f1_sod + f1_floe) / 5.0


def autoice_scores(
    *,
    sic_true: Any,
    sic_pred: Any,
    sod_true: Any,
    sod_pred: Any,
    floe_true: Any,
    floe_pred: Any,
    ignore_index: int = IGNORE_INDEX,
) -> dict[str, float]:
    """The AutoICE challenge scores of one set of charts (pooled over all pixels given).

    Parameters
    ----------
    sic_true, sic_pred : array-like
        SIC classes (0-10; the prediction may also be a regression in tenths).
    sod_true, sod_pred, floe_true, floe_pred : array-like of int
        SOD (0-5) and FLOE (0-6) classes.
    ignore_index : int, default 255
        Reference label of masked pixels.

    Returns
    -------
    dict
        ``r2_sic``, ``f1_sod``, ``f1_floe`` and ``combined`` (fractions; x100 for the
        challenge's percentages).
    """
    r2 = r2_score(sic_true, sic_pred, ignore_index=ignore_index)
    f_sod = f1_weighted(sod_true, sod_pred, ignore_index=ignore_index)
    f_floe = f1_weighted(floe_true, floe_pred, ignore_index=ignore_index)
    return {
        "r2_sic": r2,
        "f1_sod": f_sod,
        "f1_floe": f_floe,
        "combined": combined_score(r2, f_sod, f_floe),
    }


def pixel_accuracy(pred: Any, truth: Any, *, valid: Any = None) -> float:
    """Fraction of valid pixels where a binary (or class) map equals the truth.

    Parameters
    ----------
    pred, truth : array-like
        Maps of the same shape; NaN in a float ``pred`` or ``truth`` counts as invalid.
    valid : array-like of bool, optional
        Pixels to score (default all finite ones).

    Returns
    -------
    float
        Accuracy in [0, 1]; NaN if no pixel is valid.
    """
    t, p = _pair(truth, pred, valid, None)
    if np.issubdtype(p.dtype, np.floating):
        ok = np.isfinite(p)
        t, p = t[ok], p[ok]
    if t.size == 0:
        return float("nan")
    return float(np.mean(t.astype("int64") == p.astype("int64")))


def iou(pred: Any, truth: Any, *, valid: Any = None, positive: int = 1) -> float:
    """Intersection over union of the ``positive`` class of two maps.

    Parameters
    ----------
    pred, truth : array-like
        Binary (or class) maps of the same shape.  For the IoU of leads pass lead masks.
    valid : array-like of bool, optional
        Pixels to score (default all finite ones).
    positive : int, default 1
        The class whose IoU is returned.

    Returns
    -------
    float
        ``|pred & truth| / |pred | truth|`` over valid pixels; NaN if neither map has
        the class.
    """
    t, p = _pair(truth, pred, valid, None)
    if np.issubdtype(p.dtype, np.floating):
        ok = np.isfinite(p)
        t, p = t[ok], p[ok]
    a = t.astype("int64") == positive
    b = p.astype("int64") == positive
    union = int(np.count_nonzero(a | b))
    if union == 0:
        return float("nan")
    return int(np.count_nonzero(a & b)) / union


def regional_concentration_error(
    ice: Any,
    region_ids: Any,
    region_ct: Any,
    *,
    valid: Any = None,
) -> pd.DataFrame:
    """Mapped ice fraction of every chart region against the chart's concentration.

    Parameters
    ----------
    ice : array-like
        Binary ice map (0/1) or ice probability in [0, 1]; NaN counts as invalid.
    region_ids : array-like of int
        Chart region of each pixel (``1..N``, 0 = outside every region), e.g. from
        [`xseaice.io.icechart.rasterize_chart`][].
    region_ct : sequence of float
        Concentration (0-1) of regions ``1..N`` in order (entry ``k - 1`` is region ``k``);
        NaN for a region without a concentration.
    valid : array-like of bool, optional
        Pixels to count.

    Returns
    -------
    pandas.DataFrame
        One row per region with at least one valid pixel: ``region`` (id), ``n_pixels``,
        ``ct`` (chart), ``mapped`` (mean of ``ice``) and ``error`` (``mapped - ct``).
    """
    import pandas as pd

    ice_a = _as_array(ice, "ice").astype("float64")
    ids = _as_array(region_ids, "region_ids").astype("int64")
    ct = np.asarray(region_ct, dtype="float64").ravel()
    if ice_a.shape != ids.shape:
        raise InvalidArgumentError(
            f"ice and region_ids must have the same shape; got {ice_a.shape} and {ids.shape}"
        )
    keep = np.isfinite(ice_a) & (ids > 0) & (ids <= ct.size)
    if valid is not None:
        keep &= _as_array(valid, "valid").astype(bool)
    n = ct.size + 1
    count = np.bincount(ids[keep], minlength=n)
    total = np.bincount(ids[keep], weights=ice_a[keep], minlength=n)
    rid = np.nonzero(count[1:] > 0)[0] + 1
    mapped = total[rid] / count[rid]
    chart = ct[rid - 1]
    return pd.DataFrame(
        {
            "region": rid,
            "n_pixels": count[rid],
            "ct": chart,
            "mapped": mapped,
            "error": mapped - chart,
        }
    )


def concentration_error_summary(table: pd.DataFrame) -> dict[str, float]:
    """Mean absolute and maximum absolute regional error (regions with a chart value).

    Parameters
    ----------
    table : pandas.DataFrame
        The output of [`regional_concentration_error`][xseaice.metrics.regional_concentration_error]
        (possibly several scenes concatenated).

    Returns
    -------
    dict
        ``mae`` (unweighted over regions), ``mae_weighted`` (by pixel count) and ``max``,
        as fractions (0.1 = one chart tenth); NaN if no region has a concentration.
    """
    t = table[np.isfinite(table["ct"].to_numpy())]
    if len(t) == 0:
        return {"mae": float("nan"), "mae_weighted": float("nan"), "max": float("nan")}
    err = np.abs(t["error"].to_numpy())
    w = t["n_pixels"].to_numpy().astype("float64")
    return {
        "mae": float(err.mean()),
        "mae_weighted": float((err * w).sum() / w.sum()),
        "max": float(err.max()),
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def format_table(rows: Iterable[Mapping[str, Any]], *, percent: Iterable[str] = ()) -> str:
    """Format dict rows as a fixed-width text table (floats with 3 decimals).

    Parameters
    ----------
    rows : iterable of mapping
        Rows; the columns are the union of their keys in first-seen order.
    percent : iterable of str
        Columns printed as percentages (value x 100, one decimal).

    Returns
    -------
    str
        The table.
    """
    rows = list(rows)
    pct = set(percent)
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)

    def fmt(k: str, v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float | np.floating):
            if not math.isfinite(float(v)):
                return "-"
            return f"{100 * float(v):.1f}" if k in pct else f"{float(v):.3f}"
        return str(v)

    cells = [[fmt(k, r.get(k)) for k in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, sep, *body])
