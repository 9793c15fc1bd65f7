"""The truth scores of ``benchmarks/bench_heldout.py`` (``benchmarks/heldout_scores.py``),
on hand-made maps whose expected values are computed here by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

import heldout_scores as hs


def test_fsd_counts_interior_floes_per_km2_per_km() -> None:
    ice = np.zeros((100, 100), bool)
    for r, c in ((10, 10), (10, 40), (50, 50)):
        ice[r : r + 10, c : c + 10] = True  # three 10 x 10 px floes
    ice[0:5, 80:90] = True  # touches the edge: left out
    n = hs.fsd(ice, 40.0)
    d = 2 * math.sqrt(100 / math.pi) * 40.0  # equivalent diameter, m
    k = int(np.searchsorted(hs.FSD_EDGES_M, d, side="right")) - 1
    width_km = (hs.FSD_EDGES_M[k + 1] - hs.FSD_EDGES_M[k]) / 1000.0
    assert n[k] == pytest.approx(3 / (100 * 100 * 0.04**2) / width_km)
    assert n.sum() == n[k]
    assert hs.fsd_log_error(n, n, 40.0, 16.0) == 0.0


def test_pack_mask_and_lead_iou_inside_the_pack() -> None:
    ice = np.ones((120, 120), np.uint8)
    ice[:, 100:] = 0  # open water on the right
    ice[:, 40] = 0  # a 1-px lead in the pack
    lead = np.zeros(ice.shape, bool)
    lead[:, 40] = True
    sea = np.ones(ice.shape, bool)
    pack = hs.pack_mask(ice, sea, 40.0)
    assert pack[:, 40].all() and not pack[:, 110].any()
    truth = {"ice": ice, "lead": lead, "land_mask": np.zeros(ice.shape, np.uint8)}
    ids = np.ones(ice.shape, np.int32)
    kw = dict(valid=sea, chart_ids=ids, land_ids=set(), pixel_size=40.0)
    perfect = hs.truth_scores(ice.astype(np.float32), truth, **kw)
    assert perfect["accuracy"] == 1.0 and perfect["lead_iou_pack"] == 1.0
    assert perfect["conc_mae"] == pytest.approx(0.0, abs=1e-6)
    no_lead = ice.astype(np.float32)
    no_lead[:, 40] = 1.0
    s = hs.truth_scores(no_lead, truth, **kw)
    assert s["lead_iou_pack"] == 0.0
    assert s["accuracy"] == pytest.approx(1 - 120 / ice.size)
    assert s["conc_mae"] == pytest.approx(120 / ice.size, rel=1e-4)


def test_interior_accuracy_leaves_out_the_pixels_beside_a_boundary() -> None:
    ice = np.ones((20, 20), np.uint8)
    ice[:, 10] = 0  # a 1-px lead: columns 9-11 touch the boundary
    truth = {"ice": ice, "lead": ice == 0, "land_mask": np.zeros(ice.shape, np.uint8)}
    kw = dict(valid=np.ones(ice.shape, bool), chart_ids=np.ones(ice.shape, np.int32),
              land_ids=set(), pixel_size=40.0)  # fmt: skip
    guess = np.ones(ice.shape, np.float32)  # misses the lead
    guess[0, 0] = 0.0  # and one interior pixel
    s = hs.truth_scores(guess, truth, **kw)
    assert s["accuracy"] == pytest.approx(1 - 21 / 400)
    assert s["interior_share"] == pytest.approx(17 * 20 / 400)
    assert s["accuracy_interior"] == pytest.approx(1 - 1 / 340)


def test_land_is_left_out_and_chart_matched_keeps_the_ct() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 60)).astype(np.float32)
    ids = np.ones((60, 60), np.int32)
    ids[:, 30:] = 2
    use = np.ones(x.shape, bool)
    m = hs.chart_matched(x, ids, np.array([0.3, 0.8], np.float32), use)
    assert m[ids == 1].mean() == pytest.approx(0.3, abs=1 / 1800)
    assert m[ids == 2].mean() == pytest.approx(0.8, abs=1 / 1800)
    # the brightest pixels are the ice
    assert x[(ids == 1) & (m == 1)].min() >= x[(ids == 1) & (m == 0)].max()
    land = np.zeros((60, 60), np.uint8)
    land[:10] = 1
    ice = np.ones((60, 60), np.uint8)
    ice[:10] = 0
    truth = {"ice": ice, "lead": np.zeros((60, 60), bool), "land_mask": land}
    s = hs.truth_scores(np.ones((60, 60), np.float32), truth, valid=use, chart_ids=ids,
                        land_ids=set(), pixel_size=40.0)  # fmt: skip
    assert s["accuracy"] == 1.0  # land would have been "wrong" had it been scored


def test_boxcar_averages_power_not_db() -> None:
    db = np.full((9, 9), -20.0, np.float32)
    db[4, 4] = 0.0
    out = hs.boxcar_db(db, 3)
    assert out[4, 4] == pytest.approx(10 * math.log10((8 * 0.01 + 1.0) / 9), abs=1e-4)
