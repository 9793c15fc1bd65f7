"""How separable is ice from water in a scene? An oracle reference for issue 13's targets.

Run::

    python benchmarks/bench_ceiling.py --split test            # the scenes of bench_heldout
    python benchmarks/bench_ceiling.py --split validation --per-group 4

For each scene of a ``bench_heldout`` split (same seeds, sizes, seasons and generators), a
gradient-boosted classifier (scikit-learn ``HistGradientBoostingClassifier``) is fitted to
the **pixel truth of the scene's left half** from local evidence at each pixel: HH and HV
boxcar means over 1, 3, 5, 9 and 17 px (power, in dB), the local coefficient of variation
of each (5 px), the four AMSR-2 brightness temperatures and the incidence angle.  It is
scored on the right half, beside the bundled U-Net's raw map on the same right half.  A
second oracle (``oracle_context``) adds boxcar means over 33 and 65 px (1.3 and 2.6 km)
to see whether wider context separates what local evidence does not.  Every accuracy is
also given over the *interior* pixels (3 x 3 truth neighbourhood of one class,
``heldout_scores.interior_mask``), away from the boundaries a ~90 m impulse response blurs.

The oracle is NOT a method: it learns each scene from its own truth, which no user has.  It
says how much of the scene a per-pixel classifier of local evidence *can* get right when it
knows the scene's own physics (its backscatter tables, wind, calibration offset); where it
stays near the ice fraction, the scene is ambiguous at 40 m and no model trained elsewhere
will do much better.  Land is left out of fitting and scoring.

A third classifier, ``global``, is a learned classical reference rather than an oracle: the
same trees over the context features, fitted once to the pixel truth of ``--global-scenes``
training-world scenes (generator A seeds 0.., 384 px, the training sampler with a mean ice
concentration drawn from 0.05-0.98, 8000 pixels each) and applied to every scene.  It has
pixel labels, which the U-Net never gets, but not the scene's own physics.

Prints a table (generator x season: mean accuracy of the oracle and of the U-Net, and the
oracle's range over scenes) and writes ``benchmarks/results/bench_ceiling_<split>.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results"

from heldout_scores import interior_mask, write_json  # noqa: E402

SCALES = (1, 3, 5, 9, 17)
CONTEXT_SCALES = (*SCALES, 33, 65)
MEANS = (
    "unet",
    "global",
    "oracle_context",
    "oracle_interior",
    "oracle_context_interior",
    "global_interior",
    "unet_interior",
    "interior_share",
    "ice_fraction",
)
PMW = ("tb18h", "tb18v", "tb36h", "tb36v")


def local_features(ds: Any, scales: tuple[int, ...] = SCALES) -> np.ndarray:
    """``(n_pixels, n_features)`` float32 local evidence of a synthetic scene (boxcar
    means over ``scales`` px)."""
    from scipy import ndimage

    cols = []
    for band in ("hh", "hv"):
        power = 10.0 ** (np.asarray(ds[band].values[0], dtype=np.float64) / 10.0)
        for size in scales:
            mean = ndimage.uniform_filter(power, size) if size > 1 else power
            cols.append(10.0 * np.log10(np.maximum(mean, 1e-8)))
        m5 = ndimage.uniform_filter(power, 5)
        sq = ndimage.uniform_filter(power**2, 5)
        cols.append(np.sqrt(np.maximum(sq - m5**2, 0.0)) / np.maximum(m5, 1e-12))
    for name in (*PMW, "incidence_angle"):
        cols.append(np.asarray(ds[name].values[0], dtype=np.float64))
    return np.stack([c.ravel() for c in cols], axis=1).astype(np.float32)


def fit_global(n_scenes: int, seed: int = 0) -> Any:
    """Trees fitted to the pixel truth of ``n_scenes`` training-world scenes."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from xseaice.synthetic import make_scene, sample_params

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for s in range(n_scenes):
        draw = np.random.default_rng([s, 1])
        season = "winter" if s % 2 else "summer"
        params = sample_params(draw, season=season)
        params = params.replace(ice_concentration_mean=float(draw.uniform(0.05, 0.98)))
        sc = make_scene(s, shape=(384, 384), params=params)
        x = local_features(sc.dataset, CONTEXT_SCALES)
        sea = np.asarray(sc.truth["land_mask"].values).ravel() == 0
        ok = np.flatnonzero(np.isfinite(x).all(axis=1) & sea)
        pick = rng.choice(ok, min(ok.size, 8000), replace=False)
        xs.append(x[pick])
        ys.append(np.asarray(sc.truth["ice"].values).ravel()[pick] == 1)
    clf = HistGradientBoostingClassifier(max_iter=300, random_state=seed)
    return clf.fit(np.concatenate(xs), np.concatenate(ys))


def scene_scores(
    item: dict[str, Any], logit: np.ndarray, seed: int, global_clf: Any = None
) -> dict[str, Any]:
    """Right-half accuracy of the oracles (fitted on the left half) and of the U-Net,
    over all and over interior pixels."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    sc = item["scene"]
    truth = np.asarray(sc.truth["ice"].values) == 1
    land = np.asarray(sc.truth["land_mask"].values).astype(bool)
    use = item["exact"].valid & ~land
    right = np.zeros_like(use)
    right[:, use.shape[1] // 2 :] = True
    fit_on, score_on = (use & ~right).ravel(), (use & right).ravel()
    inner = interior_mask(truth).ravel()[score_on]
    y = truth.ravel()
    out: dict[str, Any] = {}
    for name, scales in (("oracle", SCALES), ("oracle_context", CONTEXT_SCALES)):
        x = local_features(sc.dataset, scales)
        clf = HistGradientBoostingClassifier(max_iter=200, random_state=seed)
        clf.fit(x[fit_on], y[fit_on])
        hit = clf.predict(x[score_on]) == y[score_on]
        out[name], out[f"{name}_interior"] = float(hit.mean()), float(hit[inner].mean())
    if global_clf is not None:  # x: the context features of the last oracle
        hit = global_clf.predict(np.nan_to_num(x[score_on])) == y[score_on]
        out["global"], out["global_interior"] = float(hit.mean()), float(hit[inner].mean())
    hit = ((logit.ravel() > 0) == y)[score_on]
    out["unet"], out["unet_interior"] = float(hit.mean()), float(hit[inner].mean())
    out["interior_share"] = float(inner.mean())
    out["ice_fraction"] = float(y[score_on].mean())
    out["n_pixels"] = int(score_on.sum())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="per-scene oracle accuracy (local evidence)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--split", choices=("validation", "test"), default="test")
    ap.add_argument("--size", type=int, default=768)
    ap.add_argument("--seasons", nargs="+", default=["winter", "summer"])
    ap.add_argument("--generators", nargs="+", choices=("A", "B"), default=None)
    ap.add_argument("--per-group", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--global-scenes", type=int, default=40, help="training-world scenes for 'global'"
    )
    args = ap.parse_args(argv)

    import bench_heldout
    import torch
    from threadpoolctl import threadpool_limits

    from xseaice.metrics import format_table
    from xseaice.models import load_model
    from xseaice.training.evaluation import predict_scene

    torch.set_num_threads(args.threads)
    module, spec = load_model(args.model)
    t0 = time.perf_counter()
    items = bench_heldout._scenes(spec, args.split, args)
    rows = []
    with threadpool_limits(limits=args.threads, user_api="openmp"):
        global_clf = fit_global(args.global_scenes)
        for item in items:
            logit = predict_scene(module, item["exact"], spec.normalisation)["ice_logit"]
            scores = scene_scores(item, logit, item["seed"], global_clf)
            rows.append({k: item[k] for k in ("generator", "season", "seed")} | scores)
    summary = []
    for g in dict.fromkeys(r["generator"] for r in rows):
        for s in dict.fromkeys(r["season"] for r in rows):
            rs = [r for r in rows if r["generator"] == g and r["season"] == s]
            if not rs:
                continue
            o = np.array([r["oracle"] for r in rs])
            summary.append({
                "generator": g, "season": s, "n": len(rs),
                "oracle": float(o.mean()), "oracle_min": float(o.min()),
                "oracle_max": float(o.max()),
            } | {k: float(np.mean([r[k] for r in rs])) for k in MEANS})  # fmt: skip
    out = RESULTS / f"bench_ceiling_{args.split}.json"
    write_json(out, {
        "split": args.split, "size": args.size, "global_scenes": args.global_scenes,
        "model": {"name": spec.name, "sha256": spec.sha256},
        "machine": platform.platform(), "seconds": time.perf_counter() - t0,
        "summary": summary, "rows": rows,
    })  # fmt: skip
    pct = ["oracle", "oracle_min", "oracle_max", *MEANS]
    print(f"split={args.split} size={args.size}: right-half pixel accuracy in %")
    print(format_table(summary, percent=pct))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
