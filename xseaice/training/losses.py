"""Losses for weak supervision from ice charts.

Region-based loss (the binary ice / water head)
-----------------------------------------------
An ice chart gives, for each polygon (region) ``r``, a total concentration ``c_r`` but no
pixel labels.  With ``p = sigmoid(z)`` the predicted ice probability and ``V_r`` the valid
pixels of region ``r`` inside the training patch, the region's mean probability is
``pbar_r = mean(p[V_r])``.  The region term pulls ``pbar_r`` to ``c_r``:

* ``kind="bce"`` (default): the binary cross-entropy with a soft target,
  ``l_r = -(c_r log pbar_r + (1 - c_r) log(1 - pbar_r))``.  Its gradient with respect to
  ``pbar_r`` is ``(pbar_r - c_r) / (pbar_r (1 - pbar_r))``, which stays strong when the
  region mean is far off and near 0 or 1 (where squared error flattens); the minimum is at
  ``pbar_r = c_r`` (value: the entropy of ``c_r``, not 0).
* ``kind="mse"``: the squared error ``l_r = (pbar_r - c_r)^2``.
* ``kind="interval"``: the chart as evidence within its tolerance.  A SIGRID-3 code
  stands for an interval ``[low_r, high_r]`` (``ct_low`` / ``ct_high``: 91 is 9-10
  tenths, 10 is exactly 10) and analysts err by about a tenth, so the region costs
  nothing while ``pbar_r`` lies in ``[low_r - tol, high_r + tol]`` (clipped to 0-1) and
  outside it is pulled to the nearest bound ``t_r`` with the cross-entropy minus its
  minimum, ``l_r = BCE(pbar_r, t_r) - H(t_r)`` (a hinge with the gradient of the BCE).
  A 10/10 polygon then leaves its leads free to be water (25-80 % of winter lead pixels
  lie in 10/10 polygons): which pixels are water is learnt from the contrast between
  regions and from the entropy term below.

Regions are weighted by their number of valid pixels ``n_r`` in the patch (their
coverage):
``L_region = sum_r n_r l_r / sum_r n_r``.  The loss constrains only each region's *mean*;
the network learns which pixels are ice from the contrast between many regions of
different concentration (that is why a weakly trained model is under-confident and needs
Analytical Logit Scaling after inference).

``pbar_r`` is the mean over the region's pixels *in the batch item*: train on whole
scenes (``patch_size`` equal to the scene size,
[`PatchSampler`][xseaice.training.datasets.PatchSampler]) so that it is the mean over the whole
polygon, as the chart states it; a patch that cuts a polygon sees a part whose concentration the
chart does not give.

Pure regions (``c_r`` is 0 or 1) can add a pixel-wise binary cross-entropy ``L_pure``
(mean over their valid pixels; ``pure_weight``, default 0).  It labels every pixel of a
10/10 polygon as ice, which teaches the model to erase leads; it is kept for charts
known to be exact.  Optionally (``entropy_weight > 0``) the mean binary entropy of the pixel
probabilities in labelled regions, ``L_ent = mean(-p log p - (1 - p) log(1 - p))``, is
added: as in learning from label proportions, it prefers the solution in which each
region's mean is met by confident ice and water pixels over the one that predicts the
regional concentration everywhere (which the AMSR-2 inputs alone make easy).  The loss is
``L_region + pure_weight * L_pure + entropy_weight * L_ent``.  Pixels outside every region,
in regions without a concentration (NaN), or masked (``valid`` False) are ignored.

Pixel truth (synthetic world)
-----------------------------
A simulated scene knows which pixels are ice.  With ``truth_weight > 0``
[`multitask_loss`][xseaice.training.losses.multitask_loss] adds the pixel-wise binary
cross-entropy of the ice logit against that truth (``truth_ice``: 0 water, 1 ice, 255
unknown), the mean over the known valid pixels.  Real charts have no such labels: this
term is for training on the simulator, where it teaches the network the pixel contrast
(leads, floe edges) that a region mean alone teaches slowly.

Multi-task loss
---------------
[`multitask_loss`][xseaice.training.losses.multitask_loss] adds the AutoICE heads: cross-entropy
with ``ignore_index=255`` for SIC (11 classes; or, with ``sic_mode="regression"``, the squared error
between the regression output and the SIC class / 10), SOD (6 classes) and FLOE (7 classes), from
the chart's AutoICE classes rasterized per pixel.  The total is the weighted sum with
configurable task weights; the binary head is trained with the region loss.

A chart's SOD label is the stage holding 70 % of a polygon's ice, so chart labels are almost
only first-year or old ice and a head trained on them alone never predicts water, new or
young ice.  On the simulator, ``truth_task_weight > 0`` adds the pixel cross-entropy of the
SOD and FLOE heads against the pixel classes of the truth (``truth_sod``, ``truth_floe``,
[`xseaice.training.truth_labels`][]), optionally class-balanced (``truth_balance``: new and
young ice are a few percent of the pixels); the chart terms stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from xseaice.exceptions import InvalidArgumentError

__all__ = ["IGNORE_INDEX", "TASKS", "multitask_loss", "region_loss", "region_means"]

#: Label of undefined pixels in SIC / SOD / FLOE targets.
IGNORE_INDEX: int = 255
#: Task names and the default weights of [`multitask_loss`][xseaice.training.losses.multitask_loss].
TASKS: tuple[str, ...] = ("ice", "sic", "sod", "floe")

_EPS = 1e-6


def _squeeze_logits(logits: Tensor) -> Tensor:
    if logits.ndim == 4:
        if logits.shape[1] != 1:
            raise InvalidArgumentError(
                f"logits must have one channel ([B, 1, H, W]); got shape {tuple(logits.shape)}"
            )
        return logits[:, 0]
    if logits.ndim != 3:
        raise InvalidArgumentError(
            f"logits must be [B, 1, H, W] or [B, H, W]; got shape {tuple(logits.shape)}"
        )
    return logits


def _region_sums(
    prob: Tensor, region_ids: Tensor, maps: list[Tensor], valid: Tensor | None
) -> tuple[Tensor, list[Tensor], Tensor]:
    """Mean probability and mean of each map per (sample, region), and the pixel count."""
    use = (region_ids > 0) & torch.isfinite(maps[0])
    if valid is not None:
        use = use & valid.bool()
    b = prob.shape[0]
    n_ids = int(region_ids.max().item()) + 1 if region_ids.numel() else 1
    group = (torch.arange(b, device=prob.device).view(b, 1, 1) * n_ids + region_ids.long())[use]
    n_groups = b * n_ids
    p = prob[use].float()
    count = torch.zeros(n_groups, device=prob.device).index_add_(0, group, torch.ones_like(p))
    psum = torch.zeros(n_groups, device=prob.device).index_add_(0, group, p)
    present = count > 0
    n = count[present]
    means = []
    for m in maps:
        msum = torch.zeros(n_groups, device=prob.device).index_add_(0, group, m[use].float())
        means.append(msum[present] / n)
    return psum[present] / n, means, n


def region_means(
    prob: Tensor, region_ids: Tensor, concentration: Tensor, valid: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Mean probability, target concentration and pixel count of every (sample, region).

    Parameters
    ----------
    prob : Tensor [B, H, W]
        Predicted ice probability.
    region_ids : Tensor [B, H, W] of int
        Region of each pixel (0 = none).  Ids are local to each sample.
    concentration : Tensor [B, H, W]
        The chart concentration (0-1) of each pixel's region; NaN where undefined.
    valid : Tensor [B, H, W] of bool, optional
        Pixels that may be used.

    Returns
    -------
    (Tensor, Tensor, Tensor)
        ``pbar``, ``c`` and ``n`` for each (sample, region) with at least one usable pixel.
    """
    pbar, (c,), n = _region_sums(prob, region_ids, [concentration], valid)
    return pbar, c, n


def _binary_entropy(p: Tensor) -> Tensor:
    p = p.clamp(_EPS, 1.0 - _EPS)
    return -(p * torch.log(p) + (1.0 - p) * torch.log1p(-p))


def _interval_term(pbar: Tensor, low: Tensor, high: Tensor, tolerance: float) -> Tensor:
    """BCE to the nearest bound of ``[low - tol, high + tol]`` minus its minimum (0 inside)."""
    lo = (torch.minimum(low, high) - tolerance).clamp(0.0, 1.0)
    hi = (torch.maximum(low, high) + tolerance).clamp(0.0, 1.0)
    t = torch.minimum(torch.maximum(pbar.detach(), lo), hi)
    pb = pbar.clamp(_EPS, 1.0 - _EPS)
    bce = -(t * torch.log(pb) + (1.0 - t) * torch.log1p(-pb))
    return (bce - _binary_entropy(t)).clamp_min(0.0)


def region_loss(
    logits: Tensor,
    region_ids: Tensor,
    concentration: Tensor,
    *,
    valid: Tensor | None = None,
    kind: Literal["bce", "mse", "interval"] = "bce",
    ct_low: Tensor | None = None,
    ct_high: Tensor | None = None,
    tolerance: float = 0.1,
    pure_weight: float = 0.0,
    entropy_weight: float = 0.0,
) -> Tensor:
    """Region-based loss of a binary ice logit against chart concentrations.

    Parameters
    ----------
    logits : Tensor [B, 1, H, W] or [B, H, W]
        Ice logits.
    region_ids : Tensor [B, H, W] of int
        Chart region of each pixel (0 = outside every region); ids are local per sample.
    concentration : Tensor [B, H, W]
        Concentration (0-1) of the pixel's region, NaN where the region has none.
    valid : Tensor [B, H, W] of bool, optional
        Usable pixels (e.g. finite inputs).
    kind : {"bce", "mse", "interval"}
        Region term (module documentation).
    ct_low, ct_high : Tensor [B, H, W], optional
        Bounds of the interval the region's code stands for (``kind="interval"``);
        default: ``concentration`` (an exact code).
    tolerance : float, default 0.1
        Widening of the interval on both sides (``kind="interval"``): the chart's own
        uncertainty, about one tenth.
    pure_weight : float, default 0.0
        Weight of the pixel-wise BCE on pure (0 % / 100 %) regions (0 switches it off).
    entropy_weight : float, default 0.0
        Weight of the mean pixel entropy in labelled regions (module documentation).

    Returns
    -------
    Tensor
        A scalar; zero (still connected to ``logits``) if no pixel is usable.
    """
    if kind not in ("bce", "mse", "interval"):
        raise InvalidArgumentError(f"kind must be 'bce', 'mse' or 'interval'; got {kind!r}")
    if not 0.0 <= tolerance <= 1.0:
        raise InvalidArgumentError(f"tolerance must be in [0, 1] (a fraction); got {tolerance}")
    z = _squeeze_logits(logits).float()
    extra = {"ct_low": ct_low, "ct_high": ct_high, "valid": valid}
    for name, arr in (("region_ids", region_ids), ("concentration", concentration), *extra.items()):
        if arr is not None and tuple(arr.shape) != tuple(z.shape):
            raise InvalidArgumentError(
                f"logits {tuple(z.shape)} and {name} {tuple(arr.shape)} must have the same "
                "[B, H, W] shape"
            )
    prob = torch.sigmoid(z)
    low = concentration if ct_low is None else ct_low
    high = concentration if ct_high is None else ct_high
    pbar, (c, lo, hi), n = _region_sums(prob, region_ids, [concentration, low, high], valid)
    zero = z.sum() * 0.0
    if n.numel() == 0:
        return zero
    if kind == "bce":
        pb = pbar.clamp(_EPS, 1.0 - _EPS)
        per_region = -(c * torch.log(pb) + (1.0 - c) * torch.log1p(-pb))
    elif kind == "mse":
        per_region = (pbar - c) ** 2
    else:
        lo = torch.where(torch.isfinite(lo), lo, c)
        hi = torch.where(torch.isfinite(hi), hi, c)
        per_region = _interval_term(pbar, lo, hi, float(tolerance))
    loss = (per_region * n).sum() / n.sum()
    use = (region_ids > 0) & torch.isfinite(concentration)
    if valid is not None:
        use = use & valid.bool()
    if entropy_weight:
        zu = z[use]
        # binary entropy from logits: softplus(z) - z * sigmoid(z)
        ent = F.softplus(zu) - zu * torch.sigmoid(zu)
        loss = loss + entropy_weight * ent.mean()
    if pure_weight:
        pure = ((concentration == 0) | (concentration == 1)) & use
        if bool(pure.any()):
            loss = loss + pure_weight * F.binary_cross_entropy_with_logits(
                z[pure], concentration[pure].float()
            )
    return loss


def _balance_weights(t: Tensor, n_classes: int, power: float) -> Tensor:
    """Class weights ``(n_c / n) ** -power`` of the labelled pixels of ``t`` (0 for absent
    classes), scaled so that the labelled pixels' weights average to 1."""
    known = t[t != IGNORE_INDEX]
    counts = torch.bincount(known, minlength=n_classes)[:n_classes].float()
    present = counts > 0
    w = torch.zeros(n_classes, device=t.device)
    w[present] = (counts[present] / counts.sum()) ** (-float(power))
    return w * counts.sum() / (w * counts).sum()


def _masked_ce(
    logits: Tensor, target: Tensor, valid: Tensor | None, *, balance: float = 0.0
) -> Tensor:
    """Mean cross-entropy over the labelled valid pixels; with ``balance > 0`` each pixel is
    weighted by ``_balance_weights`` of the batch (inverse class frequency to that power)."""
    t = target.long()
    if valid is not None:
        t = torch.where(valid.bool(), t, torch.full_like(t, IGNORE_INDEX))
    n = int((t != IGNORE_INDEX).sum())
    if n == 0:
        return logits.float().sum() * 0.0
    weight = _balance_weights(t, int(logits.shape[1]), balance) if balance > 0 else None
    ce = F.cross_entropy(
        logits.float(), t, weight=weight, ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return ce / n


def _truth_bce(logits: Tensor, truth: Tensor, valid: Tensor | None) -> Tensor:
    """Mean BCE of the ice logit over the pixels with a known truth (not 255) and valid."""
    z = _squeeze_logits(logits).float()
    known = truth != IGNORE_INDEX
    if valid is not None:
        known = known & valid.bool()
    if not bool(known.any()):
        return z.sum() * 0.0
    return F.binary_cross_entropy_with_logits(z[known], truth[known].float())


def _masked_regression(out: Tensor, target: Tensor, valid: Tensor | None) -> Tensor:
    t = target.long()
    keep = t != IGNORE_INDEX
    if valid is not None:
        keep = keep & valid.bool()
    pred = out[:, 0].float() if out.ndim == 4 else out.float()
    if not bool(keep.any()):
        return pred.sum() * 0.0
    return F.mse_loss(pred[keep], t[keep].float() / 10.0)


def multitask_loss(
    outputs: Mapping[str, Tensor],
    targets: Mapping[str, Tensor],
    *,
    task_weights: Mapping[str, float] | None = None,
    sic_mode: Literal["classes", "regression"] = "classes",
    region_kind: Literal["bce", "mse", "interval"] = "bce",
    tolerance: float = 0.1,
    pure_weight: float = 0.0,
    entropy_weight: float = 0.0,
    truth_weight: float = 0.0,
    truth_task_weight: float = 0.0,
    truth_balance: float = 0.0,
) -> tuple[Tensor, dict[str, float]]:
    """Weighted sum of the region loss (binary head) and the AutoICE task losses.

    Parameters
    ----------
    outputs : mapping of Tensor
        Model outputs: ``ice_logit`` [B,1,H,W] and, for a multi-task model, ``sic``
        [B,11,H,W] (or [B,1,H,W] in regression mode), ``sod`` [B,6,H,W], ``floe`` [B,7,H,W].
    targets : mapping of Tensor
        ``region_ids``, ``concentration``, ``valid`` and optionally ``ct_low`` /
        ``ct_high`` [B,H,W] for the region loss; ``sic``,
        ``sod``, ``floe`` [B,H,W] integer classes with 255 = undefined for the task heads.
    task_weights : mapping, optional
        Weights of ``ice``, ``sic``, ``sod``, ``floe`` (default 1 each).  A task whose
        output or target is absent, or whose weight is 0, is skipped.
    sic_mode : {"classes", "regression"}
        SIC as cross-entropy over 11 classes, or squared error of ``sic / 10``.
    region_kind : {"bce", "mse", "interval"}
        Region term of the binary head (see [`region_loss`][xseaice.training.losses.region_loss]).
    tolerance : float
        Widening of the chart intervals (``region_kind="interval"``).
    pure_weight : float
        Pixel BCE weight on pure regions (see [`region_loss`][xseaice.training.losses.region_loss]).
    entropy_weight : float
        Pixel entropy weight (see [`region_loss`][xseaice.training.losses.region_loss]).
    truth_weight : float
        Weight of the pixel BCE against ``targets["truth_ice"]`` (module documentation);
        0 or an absent target skips it.
    truth_task_weight : float
        Weight (times the task's weight) of the pixel cross-entropy of the ``sod`` and
        ``floe`` heads against ``targets["truth_sod"]`` / ``targets["truth_floe"]`` (the
        simulator's pixel classes, 255 unknown); 0 or an absent target skips it.
    truth_balance : float
        Class balancing of those terms: each pixel weighs ``(n_c / n) ** -truth_balance``
        for its class's share ``n_c / n`` of the batch's labelled pixels (0: unweighted,
        0.5: inverse square root, 1: inverse frequency); the weights average to 1.

    Returns
    -------
    (Tensor, dict)
        The total loss and the unweighted value of each task that was used.
    """
    weights = {t: 1.0 for t in TASKS}
    if task_weights is not None:
        unknown = sorted(set(task_weights) - set(TASKS))
        if unknown:
            raise InvalidArgumentError(
                f"task_weights has unknown tasks {unknown}; valid tasks are {list(TASKS)}"
            )
        weights.update({k: float(v) for k, v in task_weights.items()})
    if sic_mode not in ("classes", "regression"):
        raise InvalidArgumentError(f"sic_mode must be 'classes' or 'regression'; got {sic_mode!r}")
    valid = targets.get("valid")
    parts: dict[str, Tensor] = {}
    if weights["ice"] and "ice_logit" in outputs and "region_ids" in targets:
        parts["ice"] = region_loss(
            outputs["ice_logit"],
            targets["region_ids"],
            targets["concentration"],
            valid=valid,
            kind=region_kind,
            ct_low=targets.get("ct_low"),
            ct_high=targets.get("ct_high"),
            tolerance=tolerance,
            pure_weight=pure_weight,
            entropy_weight=entropy_weight,
        )
    if truth_weight > 0 and "ice_logit" in outputs and "truth_ice" in targets:
        parts["truth"] = _truth_bce(outputs["ice_logit"], targets["truth_ice"], valid)
        weights["truth"] = float(truth_weight)
    for task in ("sic", "sod", "floe"):
        if not weights[task] or task not in outputs or task not in targets:
            continue
        if task == "sic" and sic_mode == "regression":
            parts[task] = _masked_regression(outputs[task], targets[task], valid)
        else:
            parts[task] = _masked_ce(outputs[task], targets[task], valid)
    for task in ("sod", "floe"):
        key = f"truth_{task}"
        if truth_task_weight > 0 and weights[task] and task in outputs and key in targets:
            parts[key] = _masked_ce(outputs[task], targets[key], valid, balance=truth_balance)
            weights[key] = float(truth_task_weight) * weights[task]
    if not parts:
        raise InvalidArgumentError(
            f"no task could be trained: outputs {sorted(outputs)}, targets {sorted(targets)}, "
            f"weights {weights}; give at least one output with its target and a non-zero weight"
        )
    items = iter(parts.items())
    k0, v0 = next(items)
    total = weights[k0] * v0
    for k, v in items:
        total = total + weights[k] * v
    return total, {k: float(v.detach()) for k, v in parts.items()}
