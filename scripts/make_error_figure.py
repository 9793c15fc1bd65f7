"""Draw the "where the errors lie" figure of ``docs/training.md``.

One validation scene of ``benchmarks/bench_heldout.py`` (generator A, 768 px, winter and
summer): HH, the pixel truth, the bundled model's raw map, and its errors split into those
on boundary pixels (the 3 x 3 truth neighbourhood holds both classes) and those inside
resolved ice or water (``heldout_scores.interior_mask``).  A 256 px crop keeps the pixels
visible.

Usage::

    python scripts/make_error_figure.py [--out docs/images/heldout_errors.png] [--seed 500]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from heldout_scores import interior_mask

from xseaice.models import load_model
from xseaice.synthetic import make_scene
from xseaice.training.datasets import scene_from_dataset
from xseaice.training.evaluation import predict_scene

ERROR_COLOURS = ["#f0f0f0", "#fdae6b", "#d7301f"]  # right, boundary error, interior error


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/images/heldout_errors.png")
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--crop", type=int, default=256)
    args = ap.parse_args()

    module, spec = load_model("default")
    fig, axes = plt.subplots(2, 4, figsize=(17, 8.8), constrained_layout=True)
    for row, season in enumerate(("winter", "summer")):
        sc = make_scene(args.seed, shape=(768, 768), season=season, randomize=True)
        truth = {k: np.asarray(sc.truth[k].values) for k in ("ice", "lead", "land_mask")}
        ts = scene_from_dataset(
            sc.dataset, sc.chart, name="figure", variables=spec.variables,
            undefined_ct="ignore", truth=truth,
        )  # fmt: skip
        logit = predict_scene(module, ts, spec.normalisation)["ice_logit"]
        ice = truth["ice"] == 1
        sea = ts.valid & (truth["land_mask"] == 0)
        wrong = ((logit > 0) != ice) & sea
        inner = interior_mask(truth["ice"])
        acc = 1.0 - wrong[sea].mean()
        acc_in = 1.0 - wrong[sea & inner].mean()
        share = wrong[~inner].sum() / max(wrong.sum(), 1)
        c = slice(0, args.crop)
        km = args.crop * 0.04
        ext = (0.0, km, 0.0, km)
        hh = sc.dataset["hh"].values[0]
        errors = np.where(wrong, np.where(inner, 2, 1), 0)
        binary = ListedColormap(["#08306b", "#f7fbff"])
        panels = [
            (hh[c, c], "gray", (-28.0, -6.0), "HH sigma0 [dB]"),
            (ice[c, c], binary, (0, 1), "truth (white: ice)"),
            ((logit > 0)[c, c], binary, (0, 1), "model (logit > 0)"),
            (errors[c, c], ListedColormap(ERROR_COLOURS), (-0.5, 2.5), "errors"),
        ]  # fmt: skip
        for col, (img, cmap, (vmin, vmax), title) in enumerate(panels):
            ax = axes[row, col]
            ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, extent=ext, interpolation="nearest")
            ax.set_title(f"{season}, seed {args.seed}: {title}", fontsize=10)
            ax.set_xlabel("km")
        axes[row, 3].set_title(
            f"{season}: accuracy {100 * acc:.1f} %, interior {100 * acc_in:.1f} %;\n"
            f"{100 * share:.0f} % of the errors on boundary pixels (whole scene)",
            fontsize=10,
        )
        axes[row, 3].legend(
            handles=[
                Patch(color=ERROR_COLOURS[1], label="error beside a boundary"),
                Patch(color=ERROR_COLOURS[2], label="error inside ice or water"),
            ],
            loc="lower right",
            fontsize=8,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
