"""AutoICE and pixel metrics against scikit-learn and hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import f1_score
from sklearn.metrics import r2_score as sk_r2

from xseaice.exceptions import InvalidArgumentError
from xseaice.metrics import (
    autoice_scores,
    combined_score,
    concentration_error_summary,
    f1_weighted,
    format_table,
    iou,
    pixel_accuracy,
    r2_score,
    regional_concentration_error,
)


@pytest.fixture
def labels() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    shape = (40, 50)
    sic_t = rng.integers(0, 11, shape).astype("uint8")
    sic_p = np.clip(sic_t.astype(int) + rng.integers(-2, 3, shape), 0, 10).astype("uint8")
    sod_t = rng.integers(0, 6, shape).astype("uint8")
    sod_p = np.where(rng.random(shape) < 0.7, sod_t, rng.integers(0, 6, shape)).astype("uint8")
    floe_t = rng.integers(0, 5, shape).astype("uint8")
    floe_p = np.where(rng.random(shape) < 0.6, floe_t, rng.integers(0, 7, shape)).astype("uint8")
    mask = rng.random(shape) < 0.2
    for a in (sic_t, sod_t, floe_t):
        a[mask] = 255
    return {
        "sic_t": sic_t,
        "sic_p": sic_p,
        "sod_t": sod_t,
        "sod_p": sod_p,
        "floe_t": floe_t,
        "floe_p": floe_p,
        "mask": mask,
    }


def test_r2_equals_sklearn_ignoring_255(labels: dict[str, np.ndarray]) -> None:
    keep = ~labels["mask"]
    expected = sk_r2(labels["sic_t"][keep], labels["sic_p"][keep])
    assert r2_score(labels["sic_t"], labels["sic_p"]) == pytest.approx(expected, abs=1e-12)
    # the prediction at masked pixels must not matter
    p = labels["sic_p"].copy()
    p[labels["mask"]] = 0
    assert r2_score(labels["sic_t"], p) == pytest.approx(expected, abs=1e-12)


def test_r2_float_regression_and_constant_reference() -> None:
    t = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 1.5, 3.5, 3.0])
    assert r2_score(t, p) == pytest.approx(sk_r2(t, p))
    const = np.full(5, 3)
    assert r2_score(const, const) == sk_r2(const, const) == 1.0
    assert r2_score(const, const + 1) == sk_r2(const, const + 1) == 0.0
    assert math.isnan(r2_score(np.full(3, 255), np.zeros(3)))


def test_f1_weighted_equals_sklearn(labels: dict[str, np.ndarray]) -> None:
    keep = ~labels["mask"]
    for t, p in (("sod_t", "sod_p"), ("floe_t", "floe_p")):
        expected = f1_score(labels[t][keep], labels[p][keep], average="weighted")
        assert f1_weighted(labels[t], labels[p]) == pytest.approx(expected, abs=1e-12)


def test_f1_weighted_hand_computed_with_class_only_in_prediction() -> None:
    t = np.array([0, 0, 1, 1, 1, 255])
    p = np.array([0, 2, 1, 1, 0, 2])
    # class 0: tp1 fp1 fn1 -> F1 0.5, support 2; class 1: tp2 fp0 fn1 -> 0.8, support 3;
    # class 2: predicted once at a scored pixel, support 0 -> weight 0
    assert f1_weighted(t, p) == pytest.approx((2 * 0.5 + 3 * 0.8) / 5)
    expected = f1_score(t[:5], p[:5], average="weighted")
    assert f1_weighted(t, p) == pytest.approx(expected)


def test_combined_and_autoice_scores(labels: dict[str, np.ndarray]) -> None:
    assert combined_score(0.5, 0.75, 1.0) == pytest.approx((1.0 + 1.5 + 1.0) / 5)
    s = autoice_scores(
        sic_true=labels["sic_t"],
        sic_pred=labels["sic_p"],
        sod_true=labels["sod_t"],
        sod_pred=labels["sod_p"],
        floe_true=labels["floe_t"],
        floe_pred=labels["floe_p"],
    )
    keep = ~labels["mask"]
    r2 = sk_r2(labels["sic_t"][keep], labels["sic_p"][keep])
    f_sod = f1_score(labels["sod_t"][keep], labels["sod_p"][keep], average="weighted")
    f_floe = f1_score(labels["floe_t"][keep], labels["floe_p"][keep], average="weighted")
    assert s["combined"] == pytest.approx((2 * r2 + 2 * f_sod + f_floe) / 5)
    assert s["r2_sic"] == pytest.approx(r2)


def test_pixel_accuracy_and_iou_hand_computed() -> None:
    truth = np.array([[1, 1, 0, 0], [1, 0, 0, 1]])
    pred = np.array([[1, 0, 0, 1], [1, 0, 1, 1]])
    assert pixel_accuracy(pred, truth) == pytest.approx(5 / 8)
    assert iou(pred, truth) == pytest.approx(3 / 6)  # ice: inter 3, union 6
    assert iou(pred, truth, positive=0) == pytest.approx(2 / 5)  # water: inter 2, union 5
    valid = np.ones_like(truth, bool)
    valid[0, 1] = False
    assert pixel_accuracy(pred, truth, valid=valid) == pytest.approx(5 / 7)
    # NaN in a float prediction is not scored; xarray inputs are accepted
    pf = xr.DataArray(np.where(valid, pred, np.nan))
    assert pixel_accuracy(pf, truth) == pytest.approx(5 / 7)
    assert math.isnan(iou(np.zeros(3), np.zeros(3)))
    with pytest.raises(InvalidArgumentError, match="same shape"):
        pixel_accuracy(pred, truth[:, :2])


def test_regional_concentration_error_hand_computed() -> None:
    ice = np.array([[1, 1, 0, 0], [1, 0, 0, 1]], dtype=float)
    ids = np.array([[1, 1, 2, 2], [1, 1, 2, 0]])
    table = regional_concentration_error(ice, ids, [0.5, 0.1])
    assert list(table["region"]) == [1, 2]
    assert list(table["n_pixels"]) == [4, 3]
    assert table["mapped"].tolist() == pytest.approx([0.75, 0.0])
    assert table["error"].tolist() == pytest.approx([0.25, -0.1])
    summary = concentration_error_summary(table)
    assert summary["mae"] == pytest.approx(0.175)
    assert summary["mae_weighted"] == pytest.approx((4 * 0.25 + 3 * 0.1) / 7)
    assert summary["max"] == pytest.approx(0.25)


def test_format_table() -> None:
    text = format_table(
        [{"m": "raw", "acc": 0.8123}, {"m": "als", "acc": float("nan")}], percent=["acc"]
    )
    lines = text.splitlines()
    assert lines[0].split() == ["m", "acc"]
    assert lines[2].split() == ["raw", "81.2"]
    assert lines[3].split() == ["als", "-"]


def test_confusion_matrix_and_class_scores_equal_sklearn() -> None:
    from sklearn.metrics import confusion_matrix as sk_cm

    from xseaice.metrics import class_scores, confusion_matrix

    rng = np.random.default_rng(5)
    t = rng.choice([0, 1, 2, 4, 5, 255], size=(30, 40), p=[0.2, 0.05, 0.05, 0.4, 0.2, 0.1])
    p = rng.choice([0, 2, 4, 5], size=(30, 40))
    keep = t != 255
    got = confusion_matrix(t, p, n_classes=6)
    np.testing.assert_array_equal(got, sk_cm(t[keep], p[keep], labels=list(range(6))))
    s = class_scores(t, p, n_classes=6)
    present = sorted(set(t[keep].tolist()))
    assert s["f1_macro"] == pytest.approx(
        f1_score(t[keep], p[keep], labels=present, average="macro", zero_division=0)
    )
    assert s["f1_weighted"] == pytest.approx(f1_score(t[keep], p[keep], average="weighted"))
    per = f1_score(t[keep], p[keep], labels=[0, 1, 2, 4, 5], average=None, zero_division=0)
    np.testing.assert_allclose(np.array(s["f1_per_class"])[[0, 1, 2, 4, 5]], per)
    assert math.isnan(s["f1_per_class"][3])  # class 3 neither true nor predicted
    with pytest.raises(InvalidArgumentError, match="n_classes"):
        confusion_matrix(t, p + 3, n_classes=6)


def test_a_collapsed_head_shows_in_the_confusion_matrix() -> None:
    """A constant prediction: one non-zero column holding every class's support."""
    from sklearn.metrics import confusion_matrix as sk_cm

    from xseaice.metrics import class_scores

    t = np.array([0, 0, 0, 1, 2, 4, 4, 4, 4, 5, 255])
    p = np.full(t.shape, 4)
    s = class_scores(t, p, n_classes=6)
    cm = np.array(s["confusion"])
    np.testing.assert_array_equal(cm, sk_cm(t[:-1], p[:-1], labels=list(range(6))))
    assert cm[:, 4].tolist() == [3, 1, 1, 0, 4, 1] and cm.sum() == cm[:, 4].sum()
    # F1 of class 4: 2 * 4 / (2 * 4 + 6 + 0)
    assert s["f1_per_class"][4] == pytest.approx(8 / 14)
    assert s["f1_per_class"][0] == s["f1_per_class"][5] == 0.0
    assert s["f1_macro"] == pytest.approx((8 / 14) / 5)  # 5 classes in the reference
