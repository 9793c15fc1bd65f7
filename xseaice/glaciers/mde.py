"""CaFFe's front and zone metrics: the mean distance error (MDE) and the zone IoU per class.

MDE (Gourmelon et al. 2022): for each image, the distance from every predicted front
pixel to the nearest labelled front pixel and from every labelled pixel to the nearest
predicted one, in metres (pixels times the image's pixel size).  The distances of all
images are pooled and averaged.  An image without a predicted front has no distances; it is
counted in ``n_no_prediction`` and reported beside the MDE, never silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.spatial import cKDTree

from xseaice.exceptions import InvalidArgumentError

__all__ = ["MDEResult", "mean_distance_error", "zone_iou"]

ZONE_NAMES = ("na", "rock", "glacier", "ocean")


@dataclass(frozen=True)
class MDEResult:
    """The mean distance error of a set of images.

    Attributes
    ----------
    mde : float
        Mean of all pooled distances in metres (NaN if no image has both fronts).
    mean_of_image_means : float
        Mean over images of each image's mean distance (metres).
    median : float
        Median of the pooled distances (metres).
    n_images : int
        Images given.
    n_no_prediction : int
        Images with a labelled front but no predicted front pixel (excluded from ``mde``).
    n_no_truth : int
        Images without a labelled front (excluded from ``mde``).
    n_distances : int
        Number of pooled distances.
    per_image : tuple of float
        Each image's mean distance in metres (NaN where excluded).
    """

    mde: float
    mean_of_image_means: float
    median: float
    n_images: int
    n_no_prediction: int
    n_no_truth: int
    n_distances: int
    per_image: tuple[float, ...] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (``per_image`` as a list)."""
        return {
            "mde_m": self.mde,
            "mean_of_image_means_m": self.mean_of_image_means,
            "median_m": self.median,
            "n_images": self.n_images,
            "n_no_prediction": self.n_no_prediction,
            "n_no_truth": self.n_no_truth,
            "n_distances": self.n_distances,
            "per_image_m": list(self.per_image),
        }


def _as_list(x: Any, name: str) -> list[np.ndarray]:
    if isinstance(x, np.ndarray) or hasattr(x, "dims"):
        arr = np.asarray(x)
        if arr.ndim == 2:
            return [arr]
        if arr.ndim == 3:
            return list(arr)
        raise InvalidArgumentError(
            f"{name} must be one 2-D front mask, a 3-D stack or a list of 2-D masks; got "
            f"{arr.ndim} dims"
        )
    if isinstance(x, Sequence):
        out = [np.asarray(a) for a in x]
        bad = [i for i, a in enumerate(out) if a.ndim != 2]
        if bad:
            raise InvalidArgumentError(f"{name}[{bad[0]}] is not a 2-D mask")
        return out
    raise InvalidArgumentError(f"{name} must be array(s) of front masks; got {type(x).__name__}")


def _distances(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    p = np.argwhere(pred > 0).astype(np.float64)
    t = np.argwhere(true > 0).astype(np.float64)
    d_pt, _ = cKDTree(t).query(p)
    d_tp, _ = cKDTree(p).query(t)
    return np.concatenate([d_pt, d_tp])


def mean_distance_error(
    pred_fronts: Any, true_fronts: Any, pixel_size: float | Sequence[float]
) -> MDEResult:
    """CaFFe's mean distance error between predicted and labelled calving fronts.

    Parameters
    ----------
    pred_fronts, true_fronts : array or sequence of arrays
        Front masks (non-zero on the front): one 2-D mask, a 3-D stack, or a list of 2-D
        masks of varying sizes; paired in order, shapes must match per image.
    pixel_size : float or sequence of float
        Metres per pixel, one for all or one per image.

    Returns
    -------
    MDEResult
        The pooled MDE in metres with the counts of excluded images.

    Raises
    ------
    InvalidArgumentError
        For unpaired images, mismatched shapes or non-positive pixel sizes.
    """
    preds = _as_list(pred_fronts, "pred_fronts")
    trues = _as_list(true_fronts, "true_fronts")
    if len(preds) != len(trues):
        raise InvalidArgumentError(
            f"pred_fronts has {len(preds)} images but true_fronts has {len(trues)}; pair them"
        )
    if isinstance(pixel_size, int | float | np.number):
        sizes = [float(pixel_size)] * len(preds)
    else:
        sizes = [float(p) for p in pixel_size]
    if len(sizes) != len(preds) or not all(math.isfinite(s) and s > 0 for s in sizes):
        raise InvalidArgumentError(
            f"pixel_size must be one positive number or one per image ({len(preds)}); got "
            f"{pixel_size!r}"
        )
    pooled: list[np.ndarray] = []
    per_image: list[float] = []
    no_pred = no_truth = 0
    for i, (p, t, px) in enumerate(zip(preds, trues, sizes, strict=True)):
        if p.shape != t.shape:
            raise InvalidArgumentError(
                f"image {i}: predicted front {p.shape} and labelled front {t.shape} differ in shape"
            )
        if not np.any(t):
            no_truth += 1
            per_image.append(math.nan)
        elif not np.any(p):
            no_pred += 1
            per_image.append(math.nan)
        else:
            d = _distances(p, t) * px
            pooled.append(d)
            per_image.append(float(d.mean()))
    alld = np.concatenate(pooled) if pooled else np.empty(0)
    means = [m for m in per_image if not math.isnan(m)]
    return MDEResult(
        mde=float(alld.mean()) if alld.size else math.nan,
        mean_of_image_means=float(np.mean(means)) if means else math.nan,
        median=float(np.median(alld)) if alld.size else math.nan,
        n_images=len(preds),
        n_no_prediction=no_pred,
        n_no_truth=no_truth,
        n_distances=int(alld.size),
        per_image=tuple(per_image),
    )


def zone_iou(
    pred_zones: Any,
    true_zones: Any,
    *,
    n_classes: int = 4,
    average: Literal["per_image", "pooled"] = "per_image",
) -> dict[str, float]:
    """Intersection over union per zone class, and their mean.

    Parameters
    ----------
    pred_zones, true_zones : array or sequence of arrays
        Zone class maps (0 NA, 1 rock, 2 glacier, 3 ocean), paired in order.
    n_classes : int, default 4
        Number of classes.
    average : {"per_image", "pooled"}, default "per_image"
        ``"per_image"`` (CaFFe): IoU per image, averaged over the images where the class
        occurs in prediction or truth; ``"pooled"``: intersections and unions summed first.

    Returns
    -------
    dict
        ``iou_<class>`` per class (``na``, ``rock``, ``glacier``, ``ocean``) and ``iou_mean``
        (mean over the classes), NaN for a class absent everywhere.
    """
    if average not in ("per_image", "pooled"):
        raise InvalidArgumentError(f"average must be 'per_image' or 'pooled'; got {average!r}")
    preds = _as_list(pred_zones, "pred_zones")
    trues = _as_list(true_zones, "true_zones")
    if len(preds) != len(trues):
        raise InvalidArgumentError(f"{len(preds)} predicted but {len(trues)} true zone maps")
    inter = np.zeros((len(preds), n_classes))
    union = np.zeros((len(preds), n_classes))
    for i, (p, t) in enumerate(zip(preds, trues, strict=True)):
        if p.shape != t.shape:
            raise InvalidArgumentError(f"image {i}: zone maps {p.shape} and {t.shape} differ")
        for c in range(n_classes):
            pc, tc = p == c, t == c
            inter[i, c] = np.count_nonzero(pc & tc)
            union[i, c] = np.count_nonzero(pc | tc)
    with np.errstate(invalid="ignore", divide="ignore"):
        if average == "pooled":
            iou = inter.sum(0) / union.sum(0)
        else:
            per = np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)
            iou = np.array(
                [
                    np.nanmean(per[:, c]) if np.any(union[:, c] > 0) else np.nan
                    for c in range(n_classes)
                ]
            )
    names = ZONE_NAMES if n_classes == 4 else tuple(str(c) for c in range(n_classes))
    out = {f"iou_{n}": float(v) for n, v in zip(names, iou, strict=True)}
    finite = [v for v in iou if np.isfinite(v)]
    out["iou_mean"] = float(np.mean(finite)) if finite else math.nan
    return out
