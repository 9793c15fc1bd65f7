"""Calving-front benchmark on held-out synthetic fjords: MDE, zone IoU, images without front.

Scores every model trained by ``scripts/train_glacier.py`` (U-Net and Swin hybrid, random
init or masked-image-modelling pretraining, 10 % or 100 % of the labelled scenes) on the
*test* split of the synthetic fjords: glaciers never seen in training (Hvidbrae, Isfall,
Jokulvik), a later year (2019, all seasons) and two sensors never seen in training (PALSAR,
TDX) besides S1, ERS and the 50 m S1EW.  Fronts are extracted and scored as in CaFFe
(ocean/glacier boundary, fragments <= 750 m dropped, pooled mean distance error; images
without a predicted front counted separately).  The scenes pass through the CaFFe writer and
reader first, so the benchmark runs the same path as the published data.

Run (after training)::

    nice -n 10 python benchmarks/bench_calving.py --workdir /tmp/xseaice-glacier

Writes ``benchmarks/results/bench_calving.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xseaice.glaciers.evaluate import evaluate_caffe  # noqa: E402
from xseaice.io.caffe import read_caffe  # noqa: E402
from xseaice.synthetic.caffe import write_caffe  # noqa: E402
from xseaice.synthetic.fjord_catalog import SPLITS, split_scenes  # noqa: E402

TEST_PER_GLACIER = 6
UNSEEN_SENSORS = sorted(set(SPLITS["test"].sensors) - set(SPLITS["train"].sensors))


def _group_mean(images: list[dict[str, Any]], keep: Any) -> tuple[float, int]:
    vals = [i["mde_m"] for i in images if keep(i) and not math.isnan(i["mde_m"])]
    return (float(np.mean(vals)) if vals else math.nan), len(vals)


def score(model_path: Path, root: Path) -> dict[str, Any]:
    """Evaluate one saved model on the written test split."""
    t0 = time.perf_counter()
    res = evaluate_caffe(root, model_path, split="test")
    images = res.pop("images")
    res["mde_unseen_sensors_m"], _ = _group_mean(images, lambda i: i["sensor"] in UNSEEN_SENSORS)
    res["mde_seen_sensors_m"], _ = _group_mean(images, lambda i: i["sensor"] not in UNSEEN_SENSORS)
    res["images"] = images
    res["seconds"] = time.perf_counter() - t0
    return res


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'model':<8} {'init':<7} {'labels':>6} {'MDE m':>7} {'img-mean':>8} {'no front':>8} "
        f"{'unseen-sens':>11} {'rock':>6} {'glac':>6} {'ocean':>6} {'mean3':>6} {'NA':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['arch']:<8} {r['init']:<7} {r['labels']:>5}% {r['mde_m']:>7.0f} "
            f"{r['mean_of_image_means_m']:>8.0f} {r['n_no_prediction']:>4}/{r['n_images']:<3} "
            f"{r['mde_unseen_sensors_m']:>11.0f} {r['iou_rock']:>6.3f} "
            f"{r['iou_glacier']:>6.3f} {r['iou_ocean']:>6.3f} {_iou3(r):>6.3f} {r['iou_na']:>6.3f}"
        )
    return "\n".join(lines)


def _iou3(r: dict[str, Any]) -> float:
    """Mean IoU of rock, glacier and ocean (NA follows the no-data mask by construction)."""
    return float(np.nanmean([r["iou_rock"], r["iou_glacier"], r["iou_ocean"]]))


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (for docs/glaciers.md)."""
    out = [
        "| model | init | labels | MDE (m) | mean of image MDEs (m) | images without front "
        "| MDE unseen sensors (m) | IoU rock | IoU glacier | IoU ocean | IoU mean (3) | IoU NA |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['arch']} | {r['init']} | {r['labels']} % | {r['mde_m']:.0f} | "
            f"{r['mean_of_image_means_m']:.0f} | {r['n_no_prediction']} / {r['n_images']} | "
            f"{r['mde_unseen_sensors_m']:.0f} | {r['iou_rock']:.3f} | {r['iou_glacier']:.3f} | "
            f"{r['iou_ocean']:.3f} | {_iou3(r):.3f} | {r['iou_na']:.3f} |"
        )
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", default="/tmp/xseaice-glacier")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pattern", default="*-*-*.safetensors", help="model files to score")
    p.add_argument(
        "--merge", action="store_true", help="keep rows of other models already in --out"
    )
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_calving.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    models = sorted(Path(args.workdir).glob(args.pattern))
    if not models:
        raise SystemExit(f"no trained models in {args.workdir}: run scripts/train_glacier.py")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "caffe-synthetic"
        write_caffe(split_scenes("test", per_glacier=TEST_PER_GLACIER), root, split="test")
        n = len(read_caffe(root, "test"))
        rows = []
        for path in models:
            arch, init, labels = path.stem.split("-")
            res = score(path, root)
            rows.append({"arch": arch, "init": init, "labels": int(labels), **res})
            print(f"scored {path.stem}: MDE {res['mde_m']:.0f} m", flush=True)
    if args.merge and Path(args.out).exists():
        done = {(r["arch"], r["init"], r["labels"]) for r in rows}
        old = json.loads(Path(args.out).read_text())["rows"]
        rows += [r for r in old if (r["arch"], r["init"], r["labels"]) not in done]
    rows.sort(key=lambda r: (r["arch"], -r["labels"], r["init"]))
    gains = []
    for arch in sorted({r["arch"] for r in rows}):
        for labels in (10, 100):
            by = {r["init"]: r for r in rows if r["arch"] == arch and r["labels"] == labels}
            if {"random", "mim"} <= set(by):
                gains.append(
                    {
                        "arch": arch,
                        "labels": labels,
                        "mde_gain_m": by["random"]["mde_m"] - by["mim"]["mde_m"],
                        "iou3_gain": _iou3(by["mim"]) - _iou3(by["random"]),
                        "no_front_change": by["mim"]["n_no_prediction"]
                        - by["random"]["n_no_prediction"],
                    }
                )
    out = {
        "benchmark": "calving fronts on held-out synthetic fjords (CaFFe metrics)",
        "test_split": {
            "glaciers": SPLITS["test"].glaciers,
            "sensors": SPLITS["test"].sensors,
            "unseen_sensors": UNSEEN_SENSORS,
            "years": SPLITS["test"].years,
            "n_images": n,
        },
        "rows": rows,
        "pretraining_gain": gains,
        "machine": {"platform": platform.platform(), "torch": torch.__version__},
    }
    Path(args.out).write_text(json.dumps(out, indent=2, default=float) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(rows) + "\n")
    print(table(rows))
    for g in gains:
        print(
            f"pretraining gain {g['arch']} {g['labels']}% labels: MDE {g['mde_gain_m']:+.0f} m, "
            f"mean IoU (rock, glacier, ocean) {g['iou3_gain']:+.3f}, images without front "
            f"{g['no_front_change']:+d}"
        )


if __name__ == "__main__":
    main()
