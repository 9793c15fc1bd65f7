"""Region-based and multi-task losses: hand-computed values, gradients, ignore handling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from xseaice.exceptions import InvalidArgumentError
from xseaice.training.losses import multitask_loss, region_loss, region_means

torch.set_num_threads(1)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _bce(p: float, c: float) -> float:
    return -(c * math.log(p) + (1 - c) * math.log(1 - p))


@pytest.fixture
def tiny() -> dict[str, torch.Tensor]:
    # one sample, 2 x 3 pixels: region 1 (c = 0.5) has probabilities 0.2, 0.4, 0.9;
    # region 2 (c = 0.3) has 0.5 and 0.1; the last pixel is outside every region
    p = torch.tensor([[[0.2, 0.4, 0.9], [0.5, 0.1, 0.7]]])
    ids = torch.tensor([[[1, 1, 1], [2, 2, 0]]])
    conc = torch.tensor([[[0.5, 0.5, 0.5], [0.3, 0.3, float("nan")]]])
    return {"logits": torch.logit(p), "ids": ids, "conc": conc}


def test_region_loss_bce_hand_computed(tiny: dict[str, torch.Tensor]) -> None:
    loss = region_loss(tiny["logits"], tiny["ids"], tiny["conc"], pure_weight=0.0)
    expected = (3 * _bce(0.5, 0.5) + 2 * _bce(0.3, 0.3)) / 5  # means 0.5 and 0.3
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_region_loss_mse_hand_computed(tiny: dict[str, torch.Tensor]) -> None:
    conc = tiny["conc"].clone()
    conc[0, 0, :] = 0.7  # region 1 mean 0.5 vs 0.7; region 2 mean 0.3 vs 0.1
    conc[0, 1, :2] = 0.1
    loss = region_loss(tiny["logits"], tiny["ids"], conc, kind="mse", pure_weight=0.0)
    assert float(loss) == pytest.approx((3 * 0.2**2 + 2 * 0.2**2) / 5, rel=1e-5)


def test_region_means_per_sample_regions() -> None:
    # the same id in two samples is two regions
    p = torch.tensor([[[0.2, 0.4]], [[0.8, 0.6]]])
    ids = torch.ones(2, 1, 2, dtype=torch.long)
    conc = torch.tensor([[[0.1, 0.1]], [[0.9, 0.9]]])
    pbar, c, n = region_means(p, ids, conc)
    assert pbar.tolist() == pytest.approx([0.3, 0.7])
    assert c.tolist() == pytest.approx([0.1, 0.9])
    assert n.tolist() == [2, 2]


def test_pure_regions_add_pixel_bce() -> None:
    p = torch.tensor([[[0.2, 0.6, 0.9, 0.7]]])
    ids = torch.tensor([[[1, 1, 2, 2]]])
    conc = torch.tensor([[[0.0, 0.0, 0.5, 0.5]]])
    z = torch.logit(p)
    region_only = region_loss(z, ids, conc, pure_weight=0.0)
    with_pure = region_loss(z, ids, conc, pure_weight=2.0)
    pixel = (_bce(0.2, 0.0) + _bce(0.6, 0.0)) / 2
    assert float(with_pure - region_only) == pytest.approx(2.0 * pixel, rel=1e-5)
    expected_region = (2 * _bce(0.4, 0.0) + 2 * _bce(0.8, 0.5)) / 4
    assert float(region_only) == pytest.approx(expected_region, rel=1e-5)


@pytest.mark.parametrize("kind", ["bce", "mse"])
def test_gradient_pulls_region_mean_to_concentration(kind: str) -> None:
    z = torch.zeros(1, 1, 2, 2, requires_grad=True)  # every probability 0.5
    ids = torch.tensor([[[1, 1], [2, 2]]])
    conc = torch.tensor([[[0.8, 0.8], [0.3, 0.3]]])
    region_loss(z, ids, conc, kind=kind).backward()
    g = z.grad[0, 0]
    assert (g[0] < 0).all()  # region 1 wants more ice: gradient descent raises its logits
    assert (g[1] > 0).all()  # region 2 wants less
    # a gradient step reduces the loss
    with torch.no_grad():
        z2 = z - 0.5 * z.grad
    with torch.no_grad():
        assert float(region_loss(z2, ids, conc, kind=kind)) < float(
            region_loss(z, ids, conc, kind=kind)
        )


def test_ignored_pixels_change_nothing_and_get_no_gradient(tiny: dict[str, torch.Tensor]) -> None:
    valid = torch.ones(1, 2, 3, dtype=torch.bool)
    valid[0, 0, 2] = False  # mask the 0.9 pixel of region 1
    z = tiny["logits"].clone().requires_grad_(True)
    loss = region_loss(z, tiny["ids"], tiny["conc"], valid=valid, pure_weight=0.0)
    expected = (2 * _bce(0.3, 0.5) + 2 * _bce(0.3, 0.3)) / 4
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert z.grad[0, 0, 2] == 0  # masked
    assert z.grad[0, 1, 2] == 0  # outside every region (and NaN concentration)
    # changing masked pixels' logits does not change the loss
    z3 = tiny["logits"].clone()
    z3[0, 0, 2] = -7.0
    z3[0, 1, 2] = 5.0
    loss3 = region_loss(z3, tiny["ids"], tiny["conc"], valid=valid, pure_weight=0.0)
    assert float(loss3) == pytest.approx(float(loss), rel=1e-6)


def test_nothing_usable_gives_zero_connected_loss() -> None:
    z = torch.randn(1, 1, 3, 3, requires_grad=True)
    ids = torch.zeros(1, 3, 3, dtype=torch.long)
    loss = region_loss(z, ids, torch.full((1, 3, 3), float("nan")))
    assert float(loss) == 0.0
    loss.backward()
    assert z.grad is not None and float(z.grad.abs().sum()) == 0.0


def test_region_loss_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidArgumentError, match="same"):
        region_loss(
            torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 3, dtype=torch.long), torch.zeros(1, 2, 3)
        )
    with pytest.raises(InvalidArgumentError, match="one channel"):
        region_loss(
            torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 2, 2)
        )
    with pytest.raises(InvalidArgumentError, match="kind"):
        region_loss(
            torch.zeros(1, 2, 2),
            torch.zeros(1, 2, 2, dtype=torch.long),
            torch.zeros(1, 2, 2),
            kind="l1",
        )  # type: ignore[arg-type]


def test_multitask_cross_entropy_ignores_255() -> None:
    g = torch.Generator().manual_seed(0)
    out = {
        "ice_logit": torch.randn(2, 1, 3, 3, generator=g),
        "sic": torch.randn(2, 11, 3, 3, generator=g),
        "sod": torch.randn(2, 6, 3, 3, generator=g),
        "floe": torch.randn(2, 7, 3, 3, generator=g),
    }
    sod = torch.randint(0, 6, (2, 3, 3), generator=g)
    sod[0, 0, :] = 255
    targets = {
        "sic": torch.full((2, 3, 3), 255),  # all undefined: contributes 0, not NaN
        "sod": sod,
        "floe": torch.randint(0, 7, (2, 3, 3), generator=g),
        "region_ids": torch.ones(2, 3, 3, dtype=torch.long),
        "concentration": torch.full((2, 3, 3), 0.4),
    }
    total, parts = multitask_loss(
        out, targets, task_weights={"ice": 0.5, "sic": 1.0, "sod": 2.0, "floe": 1.0}
    )
    keep = sod != 255
    logits = out["sod"].permute(0, 2, 3, 1)[keep]
    expected_sod = F.cross_entropy(logits, sod[keep])
    assert parts["sod"] == pytest.approx(float(expected_sod), rel=1e-5)
    assert parts["sic"] == 0.0
    expected_ice = float(
        region_loss(out["ice_logit"], targets["region_ids"], targets["concentration"])
    )
    assert parts["ice"] == pytest.approx(expected_ice, rel=1e-5)
    expected_total = 0.5 * parts["ice"] + 2.0 * parts["sod"] + parts["floe"]
    assert float(total) == pytest.approx(expected_total, rel=1e-5)


def test_multitask_valid_mask_and_regression() -> None:
    out = {"sic": torch.tensor([[[[0.2, 0.9]]]])}  # [B=1, 1, H=1, W=2]
    targets = {"sic": torch.tensor([[[3, 10]]]), "valid": torch.tensor([[[True, False]]])}
    total, parts = multitask_loss(out, targets, sic_mode="regression")
    assert parts["sic"] == pytest.approx((0.2 - 0.3) ** 2, rel=1e-5)
    assert float(total) == pytest.approx(parts["sic"])
    with pytest.raises(InvalidArgumentError, match="unknown tasks"):
        multitask_loss(out, targets, task_weights={"ridges": 1.0})
    with pytest.raises(InvalidArgumentError, match="no task"):
        multitask_loss({}, targets)


def test_entropy_term_hand_computed(tiny: dict[str, torch.Tensor]) -> None:
    def h(p: float) -> float:
        return -(p * math.log(p) + (1 - p) * math.log(1 - p))

    base = region_loss(tiny["logits"], tiny["ids"], tiny["conc"], pure_weight=0.0)
    with_ent = region_loss(
        tiny["logits"], tiny["ids"], tiny["conc"], pure_weight=0.0, entropy_weight=0.5
    )
    # labelled pixels: 0.2, 0.4, 0.9 (region 1) and 0.5, 0.1 (region 2); not the 0.7 one
    expected = sum(h(p) for p in (0.2, 0.4, 0.9, 0.5, 0.1)) / 5
    assert float(with_ent - base) == pytest.approx(0.5 * expected, rel=1e-5)
    # the entropy gradient pushes a confident-ish pixel further out
    z = torch.tensor([[[0.8]]], requires_grad=True)
    ids = torch.ones(1, 1, 1, dtype=torch.long)
    conc = torch.full((1, 1, 1), float("nan"))
    conc_ok = torch.full((1, 1, 1), 0.5)
    region_loss(z, ids, conc_ok, entropy_weight=1.0, pure_weight=0.0, kind="mse").backward()
    g_total = float(z.grad)
    z.grad = None
    region_loss(z, ids, conc_ok, entropy_weight=0.0, pure_weight=0.0, kind="mse").backward()
    assert g_total < float(z.grad)  # the entropy part of the gradient is negative (raise z)
    assert float(region_loss(z, ids, conc, entropy_weight=1.0)) == 0.0  # NaN region: ignored


# --- interval (range code + tolerance) region term ---------------------------------------


def _interval_expected(pbar: float, low: float, high: float, tol: float) -> float:
    lo, hi = max(0.0, low - tol), min(1.0, high + tol)
    t = min(max(pbar, lo), hi)
    ent = 0.0 if t in (0.0, 1.0) else -(t * math.log(t) + (1 - t) * math.log(1 - t))
    return _bce(pbar, t) - ent


def test_interval_loss_hand_computed(tiny: dict[str, torch.Tensor]) -> None:
    # region 1 (mean 0.5) coded 0.7-0.8: below 0.6 = 0.7 - 0.1, pulled to 0.6;
    # region 2 (mean 0.3) coded exactly 0.3: inside, costs nothing
    low = tiny["conc"].clone()
    high = tiny["conc"].clone()
    low[0, 0, :], high[0, 0, :] = 0.7, 0.8
    loss = region_loss(
        tiny["logits"], tiny["ids"], tiny["conc"], kind="interval", ct_low=low, ct_high=high
    )
    expected = (3 * _interval_expected(0.5, 0.7, 0.8, 0.1) + 2 * 0.0) / 5
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    # without tolerance region 2 is still inside its exact code, region 1 goes to 0.7
    loss0 = region_loss(
        tiny["logits"],
        tiny["ids"],
        tiny["conc"],
        kind="interval",
        ct_low=low,
        ct_high=high,
        tolerance=0.0,
    )
    assert float(loss0) == pytest.approx(3 * _interval_expected(0.5, 0.7, 0.8, 0.0) / 5, rel=1e-5)
    with pytest.raises(InvalidArgumentError, match="tolerance"):
        region_loss(tiny["logits"], tiny["ids"], tiny["conc"], kind="interval", tolerance=1.5)


def test_interval_loss_leaves_the_leads_of_a_compact_polygon_free() -> None:
    # a 10/10 polygon of 20 pixels, one of them a lead the model calls water (p = 0.05):
    # the region mean (19 * 0.98 + 0.05) / 20 = 0.9335 is within the chart's tolerance
    # (0.9-1.0), so nothing pulls the lead to ice
    p = torch.tensor([[[0.98] * 19 + [0.05]]])
    z = torch.logit(p).requires_grad_(True)
    ids = torch.ones(1, 1, 20, dtype=torch.long)
    conc = torch.ones(1, 1, 20)
    loss = region_loss(z, ids, conc, kind="interval")
    assert float(loss) == 0.0
    loss.backward()
    assert float(z.grad.abs().max()) == 0.0
    # the old pixel BCE on pure regions labels the lead as ice and pushes it up
    z2 = torch.logit(p).requires_grad_(True)
    region_loss(z2, ids, conc, kind="interval", pure_weight=1.0).backward()
    assert float(z2.grad[0, 0, 19]) < 0  # gradient descent raises the lead's logit
    # a mean far below the code is pulled up, all pixels alike
    z3 = torch.zeros(1, 1, 20, requires_grad=True)
    region_loss(z3, ids, conc, kind="interval").backward()
    assert (z3.grad < 0).all()


def test_multitask_passes_the_interval_targets() -> None:
    z = torch.zeros(1, 1, 2, 2)
    ids = torch.ones(1, 2, 2, dtype=torch.long)
    conc = torch.full((1, 2, 2), 0.9)
    targets = {
        "region_ids": ids,
        "concentration": conc,
        "ct_low": torch.full((1, 2, 2), 0.4),
        "ct_high": torch.full((1, 2, 2), 0.6),
    }
    _total, parts = multitask_loss({"ice_logit": z}, targets, region_kind="interval")
    assert parts["ice"] == pytest.approx(0.0)  # mean 0.5 lies in 0.4-0.6
    total2, _ = multitask_loss(
        {"ice_logit": z}, {"region_ids": ids, "concentration": conc}, region_kind="interval"
    )
    assert float(total2) == pytest.approx(_interval_expected(0.5, 0.9, 0.9, 0.1), rel=1e-5)


def test_truth_term_is_the_mean_bce_over_known_valid_pixels() -> None:
    """``truth_weight`` adds the pixel BCE against the simulator's truth, by hand."""
    p = [[0.2, 0.7, 0.9], [0.6, 0.3, 0.5]]
    truth = torch.tensor([[[0, 1, 255], [1, 0, 1]]])
    valid = torch.tensor([[[True, True, True], [True, True, False]]])
    logits = torch.tensor([[[[_logit(v) for v in row] for row in p]]], requires_grad=True)
    ids = torch.zeros((1, 2, 3), dtype=torch.long)  # no region: only the truth term is left
    conc = torch.full((1, 2, 3), float("nan"))
    targets = {"region_ids": ids, "concentration": conc, "valid": valid, "truth_ice": truth}
    total, parts = multitask_loss({"ice_logit": logits}, targets, truth_weight=2.0)
    # known and valid: (0.2, 0), (0.7, 1), (0.6, 1), (0.3, 0)
    expected = (_bce(0.2, 0) + _bce(0.7, 1) + _bce(0.6, 1) + _bce(0.3, 0)) / 4
    assert parts["truth"] == pytest.approx(expected, rel=1e-5)
    assert float(total.detach()) == pytest.approx(parts["ice"] + 2.0 * expected, rel=1e-5)
    total.backward()
    grad = logits.grad[0, 0]
    assert grad[0, 2] == 0 and grad[1, 2] == 0  # unknown truth / invalid pixel: no gradient
    assert grad[0, 0] > 0 and grad[0, 1] < 0  # water pushed down, ice pushed up
    _, off = multitask_loss({"ice_logit": logits}, targets)
    assert "truth" not in off  # weight 0 (the default): no truth term


def _ce(logits: list[float], k: int) -> float:
    """Cross-entropy of class ``k`` from raw logits, by hand."""
    return math.log(sum(math.exp(v) for v in logits)) - logits[k]


def test_truth_task_term_is_a_class_balanced_pixel_cross_entropy() -> None:
    """``truth_task_weight`` adds the SOD head's cross-entropy against the truth's pixel
    classes; ``truth_balance`` weighs each pixel by its class share to the power -b."""
    # one sample, 1 x 4 pixels, 3 SOD classes (the head has 6; the others are -inf-like)
    rows = [[2.0, 0.0, -1.0], [0.5, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 0.5]]
    sod = torch.full((1, 6, 1, 4), -30.0)
    for j, r in enumerate(rows):
        sod[0, :3, 0, j] = torch.tensor(r)
    sod.requires_grad_(True)
    truth = torch.tensor([[[0, 0, 2, 255]]])  # shares: class 0 2/3, class 2 1/3
    chart = torch.full((1, 1, 4), 255)  # no chart label: only the truth term
    targets = {"sod": chart, "truth_sod": truth}
    ce = [_ce(rows[0], 0), _ce(rows[1], 0), _ce(rows[2], 2)]
    _, plain = multitask_loss({"sod": sod}, targets, truth_task_weight=1.0)
    assert plain["truth_sod"] == pytest.approx(sum(ce) / 3, rel=1e-5)
    # balance 1: weights (2/3)^-1 and (1/3)^-1, scaled to average 1 over the 3 pixels
    w0, w2 = 1.5, 3.0
    scale = 3 / (2 * w0 + w2)
    total, bal = multitask_loss(
        {"sod": sod}, targets, truth_task_weight=2.0, truth_balance=1.0, task_weights={"sod": 0.5}
    )
    expected = scale * (w0 * ce[0] + w0 * ce[1] + w2 * ce[2]) / 3
    assert bal["truth_sod"] == pytest.approx(expected, rel=1e-5)
    assert bal["truth_sod"] != pytest.approx(plain["truth_sod"], rel=1e-3)
    assert float(total.detach()) == pytest.approx(2.0 * 0.5 * expected, rel=1e-5)
    total.backward()
    assert sod.grad is not None
    assert torch.all(sod.grad[0, :, 0, 3] == 0)  # unknown truth: no gradient
    assert sod.grad[0, 2, 0, 2] < 0  # the true class is pushed up
    _, off = multitask_loss({"sod": sod}, {**targets, "sod": truth})
    assert "truth_sod" not in off  # weight 0 (the default): no truth term
