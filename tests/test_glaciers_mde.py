"""Tests of CaFFe's mean distance error and the zone IoU (xseaice.glaciers.mde)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError
from xseaice.glaciers.mde import mean_distance_error, zone_iou


def _mask(shape: tuple[int, int], pixels: list[tuple[int, int]]) -> np.ndarray:
    m = np.zeros(shape, dtype=np.uint8)
    for r, c in pixels:
        m[r, c] = 1
    return m


def test_single_pixels_hand_computed() -> None:
    pred = _mask((4, 6), [(0, 0)])
    true = _mask((4, 6), [(0, 3)])
    res = mean_distance_error(pred, true, 10.0)
    assert res.mde == pytest.approx(30.0)  # 3 px each way, 10 m pixels
    assert res.n_distances == 2
    assert res.n_no_prediction == 0


def test_asymmetric_sets_hand_computed() -> None:
    pred = _mask((3, 3), [(0, 0), (0, 1)])
    true = _mask((3, 3), [(2, 0)])
    # pred->true: 2 and sqrt(5); true->pred: 2
    expected = (2.0 + math.sqrt(5.0) + 2.0) / 3.0
    assert mean_distance_error(pred, true, 1.0).mde == pytest.approx(expected)


def test_pooled_over_images_with_their_pixel_sizes() -> None:
    a_pred, a_true = _mask((2, 5), [(0, 0)]), _mask((2, 5), [(0, 3)])  # 30, 30 m
    b_pred, b_true = _mask((1, 6), [(0, 0)]), _mask((1, 6), [(0, 4), (0, 5)])  # 80 | 80, 100 m
    res = mean_distance_error([a_pred, b_pred], [a_true, b_true], [10.0, 20.0])
    assert res.mde == pytest.approx((30 + 30 + 80 + 80 + 100) / 5)
    assert res.mean_of_image_means == pytest.approx((30 + (80 + 80 + 100) / 3) / 2)
    assert res.per_image[0] == pytest.approx(30.0)


def test_images_without_prediction_are_counted_not_dropped_silently() -> None:
    a_pred, a_true = _mask((2, 5), [(0, 0)]), _mask((2, 5), [(0, 3)])
    empty = np.zeros((2, 5), dtype=np.uint8)
    res = mean_distance_error([a_pred, empty, a_pred], [a_true, a_true, empty], 10.0)
    assert res.n_images == 3
    assert res.n_no_prediction == 1
    assert res.n_no_truth == 1
    assert res.mde == pytest.approx(30.0)
    assert math.isnan(res.per_image[1]) and math.isnan(res.per_image[2])
    none = mean_distance_error(empty, a_true, 10.0)
    assert math.isnan(none.mde) and none.n_no_prediction == 1


def test_matches_an_independent_distance_transform() -> None:
    rng = np.random.default_rng(3)
    preds, trues, sizes, pooled = [], [], [], []
    for k in range(4):
        shape = (30 + 5 * k, 40)
        p = (rng.random(shape) < 0.02).astype(np.uint8)
        t = (rng.random(shape) < 0.03).astype(np.uint8)
        px = 7.0 + 10 * k
        # independent: exact Euclidean distance transforms of the complements
        d_pt = ndimage.distance_transform_edt(t == 0)[p > 0]
        d_tp = ndimage.distance_transform_edt(p == 0)[t > 0]
        pooled.append(np.concatenate([d_pt, d_tp]) * px)
        preds.append(p)
        trues.append(t)
        sizes.append(px)
    res = mean_distance_error(preds, trues, sizes)
    allp = np.concatenate(pooled)
    assert res.mde == pytest.approx(allp.mean(), rel=1e-12)
    assert res.median == pytest.approx(np.median(allp), rel=1e-12)
    assert res.n_distances == allp.size


def test_bad_input_is_named() -> None:
    a = np.zeros((3, 3))
    with pytest.raises(InvalidArgumentError, match="pair them"):
        mean_distance_error([a, a], [a], 10.0)
    with pytest.raises(InvalidArgumentError, match="pixel_size"):
        mean_distance_error(a, a, -1.0)
    with pytest.raises(InvalidArgumentError, match="differ in shape"):
        mean_distance_error(np.zeros((3, 3)), np.zeros((3, 4)), 1.0)


def test_zone_iou_hand_computed() -> None:
    true = np.array([[1, 1, 2, 2], [1, 1, 3, 3]])
    pred = np.array([[1, 2, 2, 2], [1, 1, 3, 0]])
    res = zone_iou(pred, true)
    assert res["iou_rock"] == pytest.approx(3 / 4)
    assert res["iou_glacier"] == pytest.approx(2 / 3)
    assert res["iou_ocean"] == pytest.approx(1 / 2)
    assert res["iou_na"] == pytest.approx(0.0)  # predicted NA where truth has none
    assert res["iou_mean"] == pytest.approx((0 + 3 / 4 + 2 / 3 + 1 / 2) / 4)


def test_zone_iou_per_image_versus_pooled() -> None:
    t1, p1 = np.array([[2, 2]]), np.array([[2, 3]])  # glacier IoU 1/2
    t2, p2 = np.array([[2, 2, 2, 2]]), np.array([[2, 2, 2, 2]])  # glacier IoU 1
    per = zone_iou([p1, p2], [t1, t2])
    pooled = zone_iou([p1, p2], [t1, t2], average="pooled")
    assert per["iou_glacier"] == pytest.approx(0.75)
    assert pooled["iou_glacier"] == pytest.approx(5 / 6)
    assert math.isnan(per["iou_rock"])
