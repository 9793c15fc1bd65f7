"""Honest held-out evaluation against the synthetic PIXEL TRUTH (issue 13, item 5).

Run::

    python benchmarks/bench_heldout.py --split test            # the test split, once
    python benchmarks/bench_heldout.py --split validation      # choose settings here
    python benchmarks/bench_heldout.py --model path/to/weights.pt --size 768 --per-group 2
    python benchmarks/bench_heldout.py --split test --tta --out results/..._tta.json

Splits (never train on them; training uses generator A with other seeds):

* ``validation``: generator A, seeds 500-507;
* ``test``: generator B (a structurally different world, :mod:`xseaice.synthetic.world_b`),
  seeds 2000-2007, and generator A seeds 1000-1003.

Every seed is drawn in summer and winter with randomised physics
(``make_scene(..., randomize=True, generator=...)``).  Each scene gets an analyst-like chart
(:func:`xseaice.synthetic.analyst_chart`: CT errors, range codes, 0-3 km drift, generalised
boundaries, blank partials, an uncovered strip); its exact chart is the "truth chart".
All methods get the land mask (land logits / backscatter left out, as a user with a
coastline would), and every score is against the pixel truth (``heldout_scores``):

* model: ``raw`` (logit > 0), ``als`` (``scale_logits()`` default), ``als_analyst``
  (``preserve=<analyst chart>``), ``UPPER_als_truthchart`` (``preserve=<exact chart>``:
  an upper bound, NOT a result: no analyst has the exact chart), ``combined_analyst``
  (a reference, not in the package: per pixel, the mean of the model's probability
  ``sigmoid(logit)`` and the analyst chart's CT where the chart gives one, weight
  ``MAP_WEIGHT``; a regional estimate, so it has a regional error only);
  the binary map is the probability >= 0.5 (``raw``: logit > 0); ``accuracy_interior``
  is the accuracy away from the truth's ice / water boundaries; the regional error
  ``conc_mae`` is the mean absolute error of the polygons' ice fraction in that binary map,
  ``conc_mae_prob`` that of their mean probability (what
  ``prob.seaice.concentration(polygons)`` and the product table report);
* classical: Otsu on 5x5-boxcar HH and HV (dB), HH and HV quantiles matched to the
  analyst chart's CT per polygon, and the analyst chart itself as a concentration map.

Prints a table (method x season x generator) and writes ``benchmarks/results/
bench_heldout_<split>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results"

from heldout_scores import (  # noqa: E402
    boxcar_db,
    chart_matched,
    otsu_map,
    truth_scores,
    write_json,
)

SPLITS: dict[str, list[tuple[str, int]]] = {
    "validation": [("A", s) for s in range(500, 508)],
    "test": [("B", s) for s in range(2000, 2008)] + [("A", s) for s in range(1000, 1004)],
}
COLS = [
    "generator",
    "season",
    "method",
    "n",
    "accuracy",
    "accuracy_interior",
    "lead_iou_pack",
    "conc_mae",
    "conc_mae_prob",
    "fsd_log_err",
]
ANALYST_SEED_OFFSET = 7919
#: (row step, column step) of the test-time augmentation views (as in ``segment``).
FLIPS = ((1, 1), (1, -1), (-1, 1), (-1, -1))
#: Weight of the model's probability in ``combined_analyst`` (the analyst CT gets the rest),
#: chosen on the validation split.
MAP_WEIGHT = 0.5


def _scenes(spec: Any, split: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from xseaice.synthetic import analyst_chart, make_scene
    from xseaice.training.datasets import scene_from_dataset

    items = SPLITS[split]
    if args.generators:
        items = [it for it in items if it[0] in args.generators]
    out = []
    for season in args.seasons:
        per: dict[str, int] = {}
        for gen, seed in items:
            if args.per_group and per.get(gen, 0) >= args.per_group:
                continue
            per[gen] = per.get(gen, 0) + 1
            sc = make_scene(
                seed, shape=(args.size, args.size), season=season, randomize=True, generator=gen
            )
            analyst = analyst_chart(sc, np.random.default_rng(seed + ANALYST_SEED_OFFSET))
            truth = {k: np.asarray(sc.truth[k].values) for k in ("ice", "lead", "land_mask")}
            kw = dict(variables=spec.variables, undefined_ct="ignore", truth=truth)
            name = f"{gen}-{season}-{seed}"
            exact_ts = scene_from_dataset(sc.dataset, sc.chart, name=name, **kw)
            analyst_ts = scene_from_dataset(sc.dataset, analyst, name=name, **kw)
            out.append(
                {"scene": sc, "exact": exact_ts, "analyst": analyst_ts, "generator": gen,
                 "season": season, "seed": seed}
            )  # fmt: skip
    return out


def _model_maps(
    module: Any, spec: Any, item: dict[str, Any], precision: str, tta: bool = False
) -> dict[str, np.ndarray]:
    """Per method, the ice probability (``raw``: the sigmoid of the logit; NaN on land).
    With ``tta``, the logit is the mean over the four flipped views, each flipped back,
    as ``segment(tta=True)`` computes it."""
    from xseaice.training.evaluation import als_probabilities, predict_scene

    land = item["scene"].truth["land_mask"].values.astype(bool)
    ts = item["exact"]
    views = []
    for fy, fx in FLIPS if tta else ((1, 1),):
        view = ts
        if (fy, fx) != (1, 1):
            view = dataclasses.replace(
                ts, inputs=ts.inputs[:, ::fy, ::fx].copy(), valid=ts.valid[::fy, ::fx].copy()
            )
        out = predict_scene(module, view, spec.normalisation, precision=precision)
        views.append(out["ice_logit"][::fy, ::fx])
    logit = np.mean(views, axis=0)
    logit = np.where(land, np.nan, logit).astype(np.float32)
    maps = {"raw": 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))}
    a = als_probabilities(logit, item["analyst"], methods=("als", "als_chart"))
    t = als_probabilities(logit, item["exact"], methods=("als_chart",))
    for name, p in (("als", a.get("als")), ("als_analyst", a.get("als_chart")),
                    ("UPPER_als_truthchart", t.get("als_chart"))):  # fmt: skip
        if p is not None:
            maps[name] = p
    return maps


def _baseline_maps(item: dict[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    ts = item["analyst"]
    land = item["scene"].truth["land_mask"].values.astype(bool)
    use = ts.valid & ~land
    names = [v.lower() for v in ts.variables]
    maps = {}
    for ch in ("hh", "hv"):
        x = boxcar_db(ts.inputs[names.index(ch)])
        maps[f"otsu_{ch}"] = otsu_map(x, use)
        maps[f"chart_{ch}"] = chart_matched(x, ts.region_ids, ts.region_ct, use)
    conc = ts.concentration_map().astype(np.float64)
    return maps, np.where(land, np.nan, conc)


def evaluate(
    module: Any, spec: Any, items: list[dict[str, Any]], precision: str, tta: bool = False
) -> list[dict[str, Any]]:
    """Per-scene, per-method rows of truth scores."""
    rows = []
    for item in items:
        sc = item["scene"]
        ex = item["exact"]
        truth = {k: np.asarray(sc.truth[k].values) for k in ("ice", "lead", "land_mask")}
        land_ids = {int(i) for i in sc.chart.loc[sc.chart["POLY_TYPE"] == "L", "ID_NEW"]}
        kw = dict(valid=ex.valid, chart_ids=np.asarray(sc.chart_ids), land_ids=land_ids,
                  pixel_size=float(ex.pixel_size))  # fmt: skip
        base = {"scene": ex.name, "generator": item["generator"], "season": item["season"]}
        probs = _model_maps(module, spec, item, precision, tta) if module is not None else {}
        for method, p in probs.items():
            binary = np.where(np.isfinite(p), (p >= 0.5).astype(np.float32), np.nan)
            soft = truth_scores(None, truth, conc_map=p, **kw)
            rows.append(
                {**base, "method": method, **truth_scores(binary, truth, **kw),
                 "conc_mae_prob": soft["conc_mae"], "conc_max_prob": soft["conc_max"]}
            )  # fmt: skip
        bmaps, chart_conc = _baseline_maps(item)
        if "raw" in probs:
            both = np.where(
                np.isfinite(chart_conc),
                MAP_WEIGHT * probs["raw"] + (1.0 - MAP_WEIGHT) * chart_conc,
                probs["raw"],
            )
            rows.append(
                {**base, "method": "combined_analyst",
                 **truth_scores(None, truth, conc_map=both, **kw)}
            )  # fmt: skip
        for method, m in bmaps.items():
            rows.append({**base, "method": method, **truth_scores(m, truth, **kw)})
        rows.append(
            {
                **base,
                "method": "analyst_chart_ct",
                **truth_scores(None, truth, conc_map=chart_conc, **kw),
            }
        )
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean per (generator, season, method), NaN ignored, first-seen order."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["generator"], r["season"], r["method"]), []).append(r)
    out = []
    for (g, s, m), rs in groups.items():
        rec: dict[str, Any] = {"generator": g, "season": s, "method": m, "n": len(rs)}
        for c in [*COLS[4:], "interior_share", "conc_max", "conc_max_prob"]:
            v = np.array([r.get(c, np.nan) for r in rs], dtype=np.float64)
            rec[c] = float(np.nanmean(v)) if np.isfinite(v).any() else None
        out.append(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="held-out evaluation against the pixel truth")
    ap.add_argument("--model", default="default", help="registered weights name or a weights path")
    ap.add_argument("--split", choices=sorted(SPLITS), default="test")
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="fp32")
    ap.add_argument("--size", type=int, default=768)
    ap.add_argument("--seasons", nargs="+", default=["winter", "summer"])
    ap.add_argument("--generators", nargs="+", choices=("A", "B"), default=None)
    ap.add_argument(
        "--per-group",
        type=int,
        default=0,
        help="at most this many seeds per generator and season (0 = all)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baselines-only", action="store_true")
    ap.add_argument(
        "--tta", action="store_true", help="model maps with test-time augmentation (4 flips)"
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import torch

    from xseaice.metrics import format_table
    from xseaice.models import load_model

    torch.set_num_threads(args.threads)
    module, spec = load_model(args.model)
    precision = args.precision
    if precision == "auto":
        from xseaice.inference import cpu_supports_bf16

        precision = "bf16" if cpu_supports_bf16() else "fp32"
    t0 = time.perf_counter()
    items = _scenes(spec, args.split, args)
    t_scenes = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = evaluate(None if args.baselines_only else module, spec, items, precision, args.tta)
    t_eval = time.perf_counter() - t0
    summary = summarise(rows)
    result = {
        "split": args.split,
        "model": {"name": spec.name, "sha256": spec.sha256, "argument": args.model},
        "precision": precision,
        "tta": args.tta,
        "scenes": [
            {"generator": i["generator"], "season": i["season"], "seed": i["seed"]} for i in items
        ],
        "size": args.size,
        "machine": {"platform": platform.platform(), "torch_threads": torch.get_num_threads()},
        "timings_s": {"scenes": t_scenes, "evaluation": t_eval},
        "summary": summary,
        "rows": rows,
        "notes": "scores against the pixel truth; UPPER_* uses the exact chart "
        "(an upper bound, not a result)",
    }
    out = Path(args.out) if args.out else RESULTS / f"bench_heldout_{args.split}.json"
    write_json(out, result)
    print(f"split={args.split} model={spec.name} precision={precision} size={args.size} "
          f"scenes={len(items)} (accuracy, lead IoU in %; conc errors as fractions)")  # fmt: skip
    print(format_table([{k: r.get(k) for k in COLS} for r in summary], percent=COLS[4:7]))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
