"""Scoring a trained model over whole held-out scenes (xseaice.training.evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from xseaice.exceptions import InvalidArgumentError
from xseaice.models import load_model
from xseaice.training.evaluation import BASELINES, METHODS, otsu_threshold, predict_scene
from xseaice.training.heldout import evaluate_model, heldout_scenes


def test_otsu_threshold_minimises_the_within_class_variance() -> None:
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal(-22.0, 1.5, 7000), rng.normal(-14.0, 2.0, 3000), [np.nan]])
    t = otsu_threshold(v, bins=256)
    finite = v[np.isfinite(v)]
    edges = np.linspace(finite.min(), finite.max(), 257)[1:-1]

    def within(th: float) -> float:
        lo, hi = finite[finite < th], finite[finite >= th]
        return lo.size * lo.var() + hi.size * hi.var()

    best = edges[int(np.argmin([within(e) for e in edges]))]
    assert abs(t - best) <= 2 * (edges[1] - edges[0])  # same split, to a bin or two
    assert -20.0 < t < -15.0  # between the two modes
    with pytest.raises(InvalidArgumentError, match="finite"):
        otsu_threshold(np.array([np.nan]))


def test_evaluate_scores_every_method_against_the_pixel_truth() -> None:
    model, spec = load_model("default")
    scenes = heldout_scenes(spec.variables, seeds=[1000], seasons=["winter"], shape=(256, 256))
    result = evaluate_model((model, spec), scenes, baselines=BASELINES)
    rows = {r["method"]: r for r in result["rows"]}
    assert set(rows) == set(METHODS) | set(BASELINES)

    scene = scenes[0]
    logit = predict_scene(model, scene, spec.normalisation)["ice_logit"]
    truth = np.asarray(scene.truth["ice"])
    ok = scene.valid & np.isfinite(logit)
    # raw accuracy by hand: sigmoid(z) >= 0.5 is z >= 0
    assert rows["raw"]["accuracy"] == pytest.approx(((logit[ok] >= 0) == truth[ok]).mean())
    # the chart-keeping maps hold every region's concentration to a pixel
    for method in ("als_chart", "chart_hv"):
        assert rows[method]["conc_max"] <= 0.1, method
    for r in rows.values():
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["ice_iou"] <= 1.0
    # the default ALS keeps the model's threshold: its binary map is the raw one
    assert rows["als"]["accuracy"] == rows["raw"]["accuracy"]
    # the regional error against the truth: by hand from the true ice fraction per region
    ids = scene.region_ids
    use = ok & (ids > 0)
    raw = (logit >= 0).astype(float)
    errs = [
        abs(raw[use & (ids == r)].mean() - truth[use & (ids == r)].mean())
        for r in np.unique(ids[use])
    ]
    assert rows["raw"]["conc_mae_truth"] == pytest.approx(np.mean(errs), abs=1e-9)
    summary = {(r["season"], r["method"]) for r in result["summary"]}
    assert ("winter", "als_scene") in summary


def test_chart_matched_hh_quantile_and_truth_map_scores() -> None:
    from xseaice.training.evaluation import baseline_map, map_scores

    scene = heldout_scenes(
        ["hh", "hv", "incidence_angle"], seeds=[1001], seasons=["summer"], shape=(128, 128)
    )[0]
    hh = scene.inputs[0]
    m = baseline_map(scene, "chart_hh")
    ids = scene.region_ids
    for r in np.unique(ids[scene.valid & (ids > 0)]):
        c = float(scene.region_ct[r - 1])
        sel = scene.valid & (ids == r)
        if not np.isfinite(c):
            continue
        k = int(np.floor(c * sel.sum() + 0.5))
        assert int(m[sel].sum()) == k  # the chart's count of ice pixels ...
        if 0 < k < sel.sum():  # ... and they are the brightest in HH
            assert hh[sel][m[sel] == 1].min() >= hh[sel][m[sel] == 0].max()
    perfect = map_scores(np.asarray(scene.truth["ice"], dtype="float32"), scene)
    assert perfect["accuracy"] == 1.0 and perfect["conc_mae_truth"] == 0.0
