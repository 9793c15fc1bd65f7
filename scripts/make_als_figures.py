"""Make the figures of docs/als.md (Analytical Logit Scaling explained).

A synthetic 512 x 512 scene at 40 m: a true ice mask (floes whose local concentration
follows a smooth field, cut by narrow leads), a coarse ice chart (Voronoi polygons with
the true concentration rounded to tenths, like SIGRID-3 ``CT``) and a hand-made
under-confident logit field standing in for a weakly supervised model::

    z = a * blur(2 * truth - 1) + smooth regional bias + noise

Run ``python scripts/make_als_figures.py``; it writes ``docs/images/als_*.png`` and prints
the metrics table quoted in the docs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from scipy import ndimage
from scipy.special import expit, ndtr

import xseaice  # noqa: F401  (registers the accessor)
from xseaice.io.icechart import rasterize_chart
from xseaice.products.topology import topology

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
PIXEL = 40.0


def _smooth(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.normal(size=shape), sigma, mode="wrap")
    return (f - f.mean()) / f.std()


def _leads(rng: np.random.Generator, shape: tuple[int, int], count: int) -> np.ndarray:
    """Water lines 1-4 px wide across the scene."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype("float64")
    water = np.zeros(shape, dtype=bool)
    for _ in range(count):
        y0, x0 = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        angle, length = rng.uniform(0, np.pi), rng.uniform(80, 400)
        dy, dx = np.sin(angle), np.cos(angle)
        along = (yy - y0) * dy + (xx - x0) * dx
        across = np.abs(-(yy - y0) * dx + (xx - x0) * dy)
        width = rng.choice([1.0, 2.0, 3.0, 4.0])
        water |= (np.abs(along) <= length / 2) & (across <= width / 2)
    return water


def make_scene(n: int = 512, seed: int = 3) -> dict[str, Any]:
    """Truth, chart and under-confident logits of one synthetic scene."""
    rng = np.random.default_rng(seed)
    shape = (n, n)
    conc = np.clip(0.6 + 0.3 * _smooth(rng, shape, 90.0), 0.05, 0.98)
    floes = ndtr(_smooth(rng, shape, 5.0)) < conc  # local ice fraction ~ conc
    truth = (floes & ~_leads(rng, shape, 40)).astype("uint8")

    gbox = GeoBox.from_bbox((0.0, -n * PIXEL, n * PIXEL, 0.0), "EPSG:3413", resolution=PIXEL)
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")

    pts = shapely.multipoints(rng.uniform(0, n * PIXEL, size=(9, 2)) - [0, n * PIXEL])
    frame = shapely.box(0.0, -n * PIXEL, n * PIXEL, 0.0)
    cells = [c.intersection(frame) for c in shapely.voronoi_polygons(pts, extend_to=frame).geoms]
    chart = gpd.GeoDataFrame(geometry=cells, crs="EPSG:3413")
    like = xr.DataArray(np.zeros(shape, "float32"), dims=("y", "x"), coords=coords)
    ids = rasterize_chart(chart, like).values
    true_fraction = ndimage.mean(truth, ids, index=np.arange(1, len(chart) + 1))
    chart["ct"] = np.round(true_fraction, 1)  # a chart reports tenths

    signal = ndimage.gaussian_filter(2.0 * truth - 1.0, 1.5)
    regional = 0.5 * _smooth(rng, shape, 120.0) - 0.3
    z = 0.8 * signal + regional + 0.3 * rng.normal(size=shape)
    logits = xr.DataArray(
        z.astype("float32")[None],
        dims=("time", "y", "x"),
        coords={**coords, "time": np.array(["2023-07-20"], dtype="datetime64[ns]")},
        name="ice_logit",
    )
    return {"truth": truth, "chart": chart, "ids": ids, "logits": logits}


def _lead_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    def leads(m: np.ndarray) -> np.ndarray:
        arr = xr.DataArray(m, dims=("y", "x"))
        return topology(arr, pixel_size=PIXEL, lead_max_width=200.0).lead.values == 1

    a, b = leads(pred), leads(truth)
    return float((a & b).sum() / max((a | b).sum(), 1))


def metrics(scene: dict[str, Any], maps: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    truth, ids, chart = scene["truth"], scene["ids"], scene["chart"]
    out = {}
    for name, ice in maps.items():
        frac = ndimage.mean(ice, ids, index=np.arange(1, len(chart) + 1))
        err = np.abs(frac - chart["ct"].to_numpy())
        out[name] = {
            "pixel_accuracy": float((ice == truth).mean()),
            "lead_iou": _lead_iou(ice, truth),
            "region_error_mean": float(err.mean()),
            "region_error_max": float(err.max()),
        }
    return out


def _panel(
    ax: Any, img: np.ndarray, title: str, cmap: Any, vmin: float = 0, vmax: float = 1
) -> Any:
    im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from xseaice.plotting import _ice_cmap

    cmap = _ice_cmap()
    scene = make_scene(args.size)
    z = scene["logits"]
    raw = expit(z.values[0])
    als = z.seaice.scale_logits()
    kept = z.seaice.scale_logits(preserve=scene["chart"])
    maps = {
        "raw sigmoid >= 0.5": (raw >= 0.5).astype("uint8"),
        "ALS": als.seaice.binarize().values[0],
        "ALS, preserve=chart": kept.seaice.binarize().values[0],
    }
    table = metrics(scene, maps)

    # 1. before / after
    fig, axes = plt.subplots(2, 3, figsize=(12, 8.4), constrained_layout=True)
    _panel(axes[0, 0], scene["truth"], "pixel truth", cmap)
    _panel(axes[0, 1], raw, "model probability sigmoid(z)", cmap)
    im = _panel(axes[0, 2], als.values[0], "ALS probability", cmap)
    for ax, (name, ice) in zip(axes[1], maps.items(), strict=True):
        m = table[name]
        _panel(ax, ice, f"{name}\naccuracy {m['pixel_accuracy']:.1%}", cmap)
    fig.colorbar(im, ax=axes[0, :], shrink=0.7, label="ice probability")
    fig.savefig(args.out / "als_before_after.png", dpi=80)
    plt.close(fig)

    # 2. the percentiles and the mapping
    t = als.isel(time=0)
    p_lo, p_hi, b, temp = (float(t[k]) for k in ("p_lo", "p_hi", "bias", "temperature"))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    vals = z.values.ravel()
    ax1.hist(vals, bins=200, color="#2171b5")
    for x, label, style in ((p_lo, "p_lo (2 %)", "--"), (p_hi, "p_hi (98 %)", "--"), (b, "b", "-")):
        ax1.axvline(x, color="k", ls=style)
        ax1.annotate(
            label, (x, ax1.get_ylim()[1] * 0.92), ha="center", fontsize=9, backgroundcolor="w"
        )
    ax1.set_xlabel("logit z")
    ax1.set_ylabel("pixels")
    ax1.set_title("scene logits and their percentiles")
    grid = np.linspace(vals.min(), vals.max(), 400)
    ax2.plot(grid, expit(grid), label="sigmoid(z) (model)")
    ax2.plot(grid, expit((grid - b) / temp), label="sigmoid((z - b) / T) (ALS)")
    ax2.scatter([p_lo, p_hi], [0.02, 0.98], color="k", zorder=3, label="(p_lo, 1 - q), (p_hi, q)")
    ax2.axhline(0.5, color="0.6", lw=0.8)
    ax2.set_xlabel("logit z")
    ax2.set_ylabel("ice probability")
    ax2.set_title(f"b = {b:.2f}, T = {temp:.3f}")
    ax2.legend(fontsize=8, loc="lower right")
    fig.savefig(args.out / "als_percentiles.png", dpi=80)
    plt.close(fig)

    # 3. regional concentrations kept by preserve=chart
    chart, ids = scene["chart"], scene["ids"]
    index = np.arange(1, len(chart) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    extent = np.array([0, args.size * PIXEL, -args.size * PIXEL, 0.0])
    ax1.imshow(
        maps["ALS, preserve=chart"], cmap=cmap, extent=tuple(extent), interpolation="nearest"
    )
    ax1.set_title("ALS, preserve=chart, and the chart (polygon: CT)", fontsize=10)
    ax1.set_xticks([])
    ax1.set_yticks([])
    for k, (geom, ct) in enumerate(zip(chart.geometry, chart["ct"], strict=True), start=1):
        x, y = geom.exterior.xy
        ax1.plot(x, y, color="#fd8d3c", lw=1.5)
        c = geom.representative_point()
        ax1.annotate(
            f"{k}: {ct:.1f}",
            (c.x, c.y),
            fontsize=9,
            ha="center",
            bbox={"boxstyle": "round", "fc": "w", "ec": "#fd8d3c"},
        )
    ax1.set_xlim(extent[:2])
    ax1.set_ylim(extent[2:])
    width = 0.2
    ax2.bar(index - 1.5 * width, chart["ct"], width, label="chart CT", color="0.25")
    colours = ("#9ecae1", "#2171b5", "#fd8d3c")
    for k, (name, ice) in enumerate(maps.items()):
        frac = ndimage.mean(ice, ids, index=index)
        ax2.bar(index + (k - 0.5) * width, frac, width, label=name, color=colours[k])
    ax2.set_xlabel("chart polygon")
    ax2.set_ylabel("ice fraction")
    ax2.set_xticks(index)
    ax2.legend(fontsize=8)
    ax2.set_title("binarized ice fraction per polygon")
    fig.savefig(args.out / "als_regions.png", dpi=80)
    plt.close(fig)

    print(f"{'map':<22} {'accuracy':>9} {'lead IoU':>9} {'|dC| mean':>10} {'|dC| max':>9}")
    for name, m in table.items():
        print(
            f"{name:<22} {m['pixel_accuracy']:>9.3f} {m['lead_iou']:>9.3f} "
            f"{m['region_error_mean']:>10.3f} {m['region_error_max']:>9.3f}"
        )
    print(json.dumps({"p_lo": p_lo, "p_hi": p_hi, "bias": b, "temperature": temp}))


if __name__ == "__main__":
    main()
