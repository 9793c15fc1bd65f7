"""Draw the two-generator figure of ``docs/synthetic.md``.

Rows: generator A (training world) and generator B (held-out world), winter and summer,
randomised physics (``make_scene(seed, randomize=True, generator=...)``).  Columns: HH and
HV sigma0 (dB, 5x5 boxcar), the pixel truth (ice type, land, features) with the exact
chart, and the same truth with an analyst-like chart (:func:`xseaice.synthetic.analyst_chart`:
drifted, generalised, CT errors, uncovered strip).

Usage::

    python scripts/make_generator_figure.py [--out docs/images/synthetic_generators.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from scipy import ndimage

from xseaice.synthetic import analyst_chart, make_scene

# water, new, young, first-year, old, land, pancake/brash, fast ice
COLOURS = ["#08306b", "#fdae6b", "#74c476", "#d9d9d9", "#9e9ac8", "#8c510a", "#e7298a", "#ffffff"]
NAMES = ["water", "new", "young", "FY", "old", "land", "pancake", "fast ice"]
ROWS = (("A", "winter", 1), ("A", "summer", 1), ("B", "winter", 2003), ("B", "summer", 2003))


def _boxcar_db(db: np.ndarray) -> np.ndarray:
    lin = ndimage.uniform_filter(10.0 ** (db / 10.0), 5)
    return 10.0 * np.log10(np.maximum(lin, 1e-4))


def _classes(sc: object) -> np.ndarray:
    tr = sc.truth  # type: ignore[attr-defined]
    c = tr["ice_type"].values.astype(np.int64)
    c[tr["land_mask"].values == 1] = 5
    c[tr["feature"].values == 3] = 6
    c[tr["feature"].values == 2] = 7
    return c


def _chart(ax: object, chart: object, x0: float, y1: float, km: float, colour: str) -> None:
    for geom, ct in zip(chart.geometry, chart["CT"], strict=True):  # type: ignore[attr-defined]
        for poly in getattr(geom, "geoms", [geom]):
            xs, ys = poly.exterior.xy
            ax.plot(
                (np.asarray(xs) - x0) / 1e3, km - (y1 - np.asarray(ys)) / 1e3, color=colour, lw=1.0
            )  # type: ignore[attr-defined]
        c = geom.representative_point()
        ax.text(
            (c.x - x0) / 1e3,
            km - (y1 - c.y) / 1e3,
            ct,
            color=colour,
            fontsize=8,
            ha="center",
            weight="bold",
        )  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/images/synthetic_generators.png")
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    fig, axes = plt.subplots(len(ROWS), 4, figsize=(17, 4.3 * len(ROWS)), constrained_layout=True)
    cmap = ListedColormap(COLOURS)
    for row, (gen, season, seed) in enumerate(ROWS):
        sc = make_scene(
            seed, shape=(args.size, args.size), season=season, randomize=True, generator=gen
        )
        ds = sc.dataset.isel(time=0)
        res = abs(float(ds.x[1] - ds.x[0]))
        km = ds.x.size * res / 1e3
        x0, y1 = float(ds.x[0]) - res / 2, float(ds.y[0]) + res / 2
        ext = (0.0, km, 0.0, km)
        inc = sc.dataset["incidence_angle"].values[0, 0]
        tag = f"{gen} {season} (seed {seed}, {inc.min():.1f}-{inc.max():.1f} deg)"
        for col, (name, lim) in enumerate((("hh", (-28, -4)), ("hv", (-34, -14)))):
            im = axes[row, col].imshow(
                _boxcar_db(ds[name].values), cmap="gray", vmin=lim[0], vmax=lim[1], extent=ext
            )
            axes[row, col].set_title(f"{tag}: {name.upper()} [dB]", fontsize=9)
            fig.colorbar(im, ax=axes[row, col], shrink=0.8)
        analyst = analyst_chart(sc, seed)
        for col, (chart, title) in enumerate(
            ((sc.chart, "exact chart"), (analyst, "analyst-like chart")), start=2
        ):
            ax = axes[row, col]
            im = ax.imshow(
                _classes(sc), cmap=cmap, vmin=-0.5, vmax=7.5, extent=ext, interpolation="nearest"
            )
            _chart(ax, chart, x0, y1, km, "red" if col == 2 else "yellow")
            ax.set_xlim(0, km)
            ax.set_ylim(0, km)
            extra = ""
            if col == 3:
                dx, dy = analyst.attrs["drift_m"]
                extra = f", drift {np.hypot(dx, dy) / 1e3:.1f} km"
            ax.set_title(f"{gen} {season}: truth + {title}{extra}", fontsize=9)
            cb = fig.colorbar(im, ax=ax, shrink=0.8, ticks=range(8))
            cb.ax.set_yticklabels(NAMES, fontsize=7)
    for a in axes.ravel():
        a.set_xlabel("km")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=60)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
