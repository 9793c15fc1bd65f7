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


def test_autoice_report_shows_a_collapsed_sod_head_against_chart_and_truth() -> None:
    """A head that predicts first-year ice (4) everywhere: the SOD confusion matrices against
    the chart labels and against the pixel truth are one column, as scikit-learn counts them."""
    from sklearn.metrics import confusion_matrix, f1_score

    from xseaice.training.evaluation import _autoice

    scenes = heldout_scenes(
        ["hh", "hv"], seeds=[500], seasons=["summer", "winter"], shape=(96, 96), chart="analyst"
    )
    preds = []
    for sc in scenes:
        invalid = ~sc.valid
        const = {t: np.full(sc.shape, v, dtype="uint8") for t, v in (("sic", 9), ("sod", 4))}
        const["floe"] = np.full(sc.shape, 3, dtype="uint8")
        for a in const.values():
            a[invalid] = 255
        preds.append(const)
    a = _autoice(preds, scenes)
    truth = np.concatenate([sc.truth["sod"][sc.valid] for sc in scenes])
    chart = np.concatenate([sc.label_map("sod")[sc.valid] for sc in scenes])
    six = list(range(6))
    expected = confusion_matrix(truth, np.full(truth.shape, 4), labels=six)
    np.testing.assert_array_equal(a["sod_confusion_truth"], expected)
    assert np.count_nonzero(np.array(a["sod_confusion_truth"]).sum(axis=0)) == 1
    keep = chart != 255
    np.testing.assert_array_equal(
        a["sod_confusion"], confusion_matrix(chart[keep], np.full(keep.sum(), 4), labels=six)
    )
    assert a["f1_sod_truth"] == pytest.approx(
        f1_score(truth, np.full(truth.shape, 4), average="weighted", zero_division=0)
    )
    assert a["f1_sod_truth_per_class"][4] > 0 and a["f1_sod_truth_per_class"][0] == 0.0
    assert a["f1_sod_truth_macro"] < a["f1_sod_truth"]  # the absent classes pull it down
    assert a["combined_truth"] == pytest.approx(
        (2 * a["r2_sic"] + 2 * a["f1_sod_truth"] + a["f1_floe_truth"]) / 5
    )


def test_evaluate_text_prints_each_confusion_matrix_as_a_table() -> None:
    from xseaice.training.heldout import _autoice_text

    text = _autoice_text(
        {
            "model": "m",
            "f1_sod": 0.5,
            "f1_sod_per_class": [0.1, 0.9],
            "sod_confusion": [[7, 2], [3, 4]],
        }
    )
    lines = text.splitlines()
    assert "f1_sod" in lines[1] and "0.500" in lines[3]
    assert "f1_sod_per_class" not in text  # lists stay out of the scalar row
    i = lines.index("sod_confusion")
    assert lines[i + 1].split() == ["ref", "pred", "0", "pred", "1"]
    assert [r.split() for r in lines[i + 3 : i + 5]] == [["0", "7", "2"], ["1", "3", "4"]]
    assert _autoice_text({}) == ""
