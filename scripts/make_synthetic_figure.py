"""Draw the synthetic-world figure of ``docs/synthetic.md``.

HH, HV (dB), the 36.5 GHz V brightness temperature and the pixel truth (ice type, with the
chart polygons and their CT codes) side by side, for a winter and a summer scene.

Usage::

    python scripts/make_synthetic_figure.py [--out docs/images/synthetic_scene.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from xseaice.synthetic import make_scene

TYPE_COLOURS = ["#08306b", "#fdae6b", "#74c476", "#d9d9d9", "#9e9ac8"]
TYPE_NAMES = ["water", "new", "young", "first-year", "old"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/images/synthetic_scene.png")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--size", type=int, default=640)
    args = ap.parse_args()

    fig, axes = plt.subplots(2, 4, figsize=(17, 8.6), constrained_layout=True)
    for row, season in enumerate(("winter", "summer")):
        sc = make_scene(args.seed, shape=(args.size, args.size), season=season)
        ds = sc.dataset.isel(time=0)
        km = sc.dataset.x.size * abs(float(ds.x[1] - ds.x[0])) / 1000.0
        ext = (0.0, km, 0.0, km)
        x0, y1 = float(ds.x[0]), float(ds.y[0])
        res = abs(float(ds.x[1] - ds.x[0]))
        panels = [
            ("hh", "gray", (-28.0, -6.0), "HH sigma0 [dB]"),
            ("hv", "gray", (-36.0, -16.0), "HV sigma0 [dB] (noise removed)"),
            ("tb36v", "viridis", None, "AMSR-2 TB 36.5 GHz V [K]"),
        ]
        for col, (name, cmap, lim, title) in enumerate(panels):
            ax = axes[row, col]
            vmin, vmax = lim if lim else (None, None)
            im = ax.imshow(ds[name].values, cmap=cmap, vmin=vmin, vmax=vmax, extent=ext)
            ax.set_title(f"{season}: {title}", fontsize=10)
            fig.colorbar(im, ax=ax, shrink=0.8)
        ax = axes[row, 3]
        cm = ListedColormap(TYPE_COLOURS)
        im = ax.imshow(
            sc.truth["ice_type"].values, cmap=cm, vmin=-0.5, vmax=4.5, extent=ext,
            interpolation="nearest",
        )  # fmt: skip
        for geom, ct in zip(sc.chart.geometry, sc.chart["CT"], strict=True):
            for poly in getattr(geom, "geoms", [geom]):
                xs, ys = poly.exterior.xy
                ax.plot(
                    (np.asarray(xs) - x0) / 1000.0,
                    km - (y1 + res / 2 - np.asarray(ys)) / 1000.0,
                    color="red", lw=1.0,
                )  # fmt: skip
            c = geom.representative_point()
            ax.text(
                (c.x - x0) / 1000.0, km - (y1 + res / 2 - c.y) / 1000.0, f"CT {ct}",
                color="red", fontsize=9, ha="center", weight="bold",
            )  # fmt: skip
        ax.set_title(f"{season}: truth (ice type) + chart CT", fontsize=10)
        cb = fig.colorbar(im, ax=ax, shrink=0.8, ticks=range(5))
        cb.ax.set_yticklabels(TYPE_NAMES)
        for a in axes[row]:
            a.set_xlabel("km")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=72)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
