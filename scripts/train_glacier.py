"""Train glacier zone models on synthetic fjords: U-Net and Swin hybrid, with and without
self-supervised pretraining, on 10 % and 100 % of the labelled training scenes.

Run from the repository root (each architecture in its own process, ~15-30 min each on
2 shared CPU cores)::

    nice -n 10 python scripts/train_glacier.py --arch unet --workdir /tmp/xseaice-glacier
    nice -n 10 python scripts/train_glacier.py --arch hybrid --workdir /tmp/xseaice-glacier
    python scripts/train_glacier.py --bundle --workdir /tmp/xseaice-glacier
    python benchmarks/bench_calving.py --workdir /tmp/xseaice-glacier   # held-out test

Per architecture: masked-image-modelling pretraining on *unlabeled* fjord scenes (other
glaciers and years than the test split), then four fine-tunings (random init / pretrained
x 10 % / 100 % of the labelled training scenes), each scored on the validation glacier.
Every model is written to ``<workdir>/<arch>-<init>-<labels>.safetensors`` with its JSON
sidecar.  ``--bundle`` copies the 100 %-label model with the fewest validation images without a
front, then the lowest *validation* MDE, into
``xseaice/models/weights/glacier-zones.safetensors``.  The test split is never used here:
``benchmarks/bench_calving.py`` scores it once.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xseaice.glaciers.evaluate import evaluate_zone_model  # noqa: E402
from xseaice.models import WEIGHTS_DIR, build_model, save_weights  # noqa: E402
from xseaice.synthetic.fjord_catalog import split_entries  # noqa: E402
from xseaice.training.ssl import pretrain_mim  # noqa: E402
from xseaice.training.zones import (  # noqa: E402
    ZonePatches,
    load_pretrained,
    sar_normalisation,
    train_zones,
)

ARCHS: dict[str, dict[str, Any]] = {
    "unet": {"architecture": "zone_unet", "widths": [8, 16, 32, 32]},
    "hybrid": {
        "architecture": "swin_zones",
        "embed_dim": 16,
        "depths": [2, 2, 2],
        "heads": [1, 2, 4],
        "windows": [8, 4, 2],
        "stem": [8, 12],
    },
}
PER_GLACIER = {"train": 8, "val": 6, "unlabeled": 8}
PIXEL_SIZE_RANGE = [6.0, 50.0]
LICENCE = "Apache-2.0"
log = logging.getLogger("train_glacier")


def scenes(split: str, quick: bool = False) -> list[Any]:
    """Render a split's scenes (synthetic fjords); ``quick``: one per glacier."""
    n = 1 if quick else PER_GLACIER[split]
    return [e.make() for e in split_entries(split, per_glacier=n)]  # type: ignore[arg-type]


def build(arch: str) -> torch.nn.Module:
    kw = dict(ARCHS[arch])
    return build_model(kw.pop("architecture"), in_channels=1, **kw)


def label_subset(train: list[Any], fraction: float, seed: int = 0) -> list[Any]:
    """A seeded subset of whole training scenes (at least one per two glaciers)."""
    n = max(1, round(fraction * len(train)))
    idx = sorted(random.Random(seed).sample(range(len(train)), n))
    return [train[i] for i in idx]


def run_arch(arch: str, args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    train, val, unlabeled = (scenes(s, args.quick) for s in ("train", "val", "unlabeled"))
    norm = sar_normalisation(train)
    log.info(
        "rendered %d/%d/%d scenes in %.0f s",
        len(train),
        len(val),
        len(unlabeled),
        time.perf_counter() - t0,
    )
    torch.manual_seed(0)
    pre = build(arch)
    ssl_data = ZonePatches(unlabeled, norm, patch=args.patch, labels=False, seed=1)
    ssl_log = pretrain_mim(
        pre, ssl_data, steps=args.pretrain_steps, batch_size=args.batch, lr=args.lr, seed=0
    )
    pre_state = {k: v.clone() for k, v in pre.state_dict().items()}
    for fraction in (0.1, 1.0):
        subset = label_subset(train, fraction)
        for init in ("random", "mim"):
            torch.manual_seed(1)
            model = build(arch)
            if init == "mim":
                load_pretrained(model, pre_state)
            data = ZonePatches(subset, norm, patch=args.patch, seed=2)
            hist = train_zones(model, data, steps=args.steps, batch_size=args.batch, lr=args.lr)
            name = f"{arch}-{init}-{round(fraction * 100)}"
            meta = {
                "data": "synthetic fjords only (xseaice.synthetic.fjord), no real SAR",
                "train_scenes": len(subset),
                "label_fraction": fraction,
                "init": init,
                "pixel_size_range": PIXEL_SIZE_RANGE,
                "patch": args.patch,
                "fine_tune": {k: hist[k] for k in ("steps", "seconds", "precision")},
                "final_loss": hist["loss"][-1][1],
                "pretrain": None
                if init == "random"
                else {
                    "steps": ssl_log["steps"],
                    "seconds": ssl_log["seconds"],
                    "unlabeled_scenes": len(unlabeled),
                    "final_loss": ssl_log["loss"][-1][1],
                },
            }
            spec = save_weights(
                model,
                work / f"{name}.safetensors",
                name=name,
                variables=["sar"],
                normalisation={"sar": norm},
                pixel_size=20.0,
                licence=LICENCE,
                training=meta,
                description=f"{arch} zone model ({init} init, "
                f"{round(fraction * 100)} % labels), synthetic fjords only",
            )
            res = evaluate_zone_model((model, spec), val, precision="auto")
            res.pop("images")
            meta["validation"] = res
            (work / f"{name}.val.json").write_text(json.dumps(meta, indent=2))
            log.info(
                "%s: val MDE %.0f m (no front %d), IoU %.3f, %.0f s",
                name,
                res["mde_m"],
                res["n_no_prediction"],
                res["iou_mean"],
                hist["seconds"],
            )


def bundle(args: argparse.Namespace) -> None:
    import shutil

    work = Path(args.workdir)
    runs = {p.name[: -len(".val.json")]: json.loads(p.read_text()) for p in work.glob("*.val.json")}
    if not runs:
        raise SystemExit(f"no trained runs in {work}; train first")
    full = {k: v for k, v in runs.items() if v["label_fraction"] == 1.0}

    def rank(k: str) -> tuple[int, float]:  # fewest validation images without a front, then MDE
        val = full[k]["validation"]
        return val["n_no_prediction"], val["mde_m"]

    best = min(full, key=rank)
    log.info("best by validation MDE: %s", best)
    from xseaice.models import load_model

    model, spec = load_model(work / f"{best}.safetensors")
    dest = WEIGHTS_DIR / "glacier-zones.safetensors"
    meta = dict(spec.training)
    meta["selected_from"] = sorted(runs)
    meta["selection"] = (
        "100 %-label run with the fewest validation images without a front, then the lowest "
        "validation MDE"
    )
    save_weights(
        model,
        dest,
        name="glacier-zones",
        variables=list(spec.variables),
        normalisation=dict(spec.normalisation),
        pixel_size=spec.pixel_size,
        licence=LICENCE,
        training=meta,
        description="Glacier zone model (NA / rock / glacier / ocean incl. ice melange) "
        "trained ONLY on xseaice synthetic fjords (simulated SAR of 6 made-up "
        "glaciers); not trained on CaFFe or any real SAR. Train on CaFFe for real use.",
    )
    shutil.copy(
        work / f"{best}.val.json", ROOT / "benchmarks" / "results" / "glacier_selected.json"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", choices=sorted(ARCHS))
    p.add_argument("--bundle", action="store_true")
    p.add_argument("--workdir", default="/tmp/xseaice-glacier")
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--pretrain-steps", type=int, default=250)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--patch", type=int, default=96)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="smoke run: one scene per glacier")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    np.seterr(all="ignore")
    if args.bundle:
        bundle(args)
    elif args.arch:
        run_arch(args.arch, args)
    else:
        p.error("give --arch or --bundle")


if __name__ == "__main__":
    main()
