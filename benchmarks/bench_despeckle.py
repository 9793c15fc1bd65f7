"""Speckle filters on synthetic scenes: noise reduction, edges, leads, segmentation.

Run: ``python benchmarks/bench_despeckle.py [--size 512] [--seeds 100 101 102]``.
For each method of :func:`xseaice.sar.despeckle.despeckle` (and ``none``) on
``make_scene(seed, randomize=True)`` scenes (physics drawn from the seed):

- ``enl_flat``: ENL (mean^2 / variance, numpy) of HH over a flat field of Gamma speckle
  (ENL 10, sigma0 0.05) after filtering, divided by the same before: the gain on perfectly
  homogeneous ice;
- ``enl_floe``: the same ratio, median over 15 x 15 windows lying inside floes (5 px away
  from their boundary) of the synthetic scenes, where the ice carries texture, so the gain
  is lower than on a flat field;
- ``lead_contrast_kept``: HH contrast (dB of mean linear power) between leads 1-4 px wide
  and the ice 4-8 px away, after / before filtering (1 = kept, 0 = erased);
- ``edge_contrast_kept``: the same across ice / open-water boundaries (the 2 px either
  side; open water wider than 10 px);
- ``accuracy_model``: pixel accuracy of the bundled ``default`` model
  (:func:`xseaice.inference.segment`, logit > 0 = ice) on the filtered scene, against the
  true ice mask; ``accuracy_otsu_hv``: Otsu threshold on the filtered HV (dB), ice above;
- ``s_per_mpx``: wall time per million pixels (HH and HV filtered).

Prints a table and writes ``benchmarks/results/bench_despeckle.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

HERE = Path(__file__).resolve().parent
ENL = 10.0


def _enl(x: np.ndarray) -> float:
    return float(x.mean() ** 2 / x.var())


def _lin(db: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 10.0)


def flat_gain(method: str) -> float:
    import xarray as xr

    from xseaice.sar.despeckle import despeckle

    img = 0.05 * np.random.default_rng(0).gamma(ENL, 1.0 / ENL, (384, 384))
    da = xr.DataArray(
        (10 * np.log10(img))[None].astype(np.float32),
        dims=("time", "y", "x"),
        coords={"x": np.arange(384) * 40.0, "y": -np.arange(384) * 40.0},
        attrs={"units": "dB"},
    )
    out = img if method == "none" else _lin(despeckle(da, method=method).values[0])  # type: ignore[arg-type]
    inner = (slice(32, -32),) * 2
    return _enl(out[inner]) / _enl(img[inner])


def _masks(truth: Any) -> dict[str, np.ndarray]:
    ice = truth.ice.values.astype(bool)
    water = ~ice
    floe = truth.floe.values
    interior = ndimage.binary_erosion(floe > 0, iterations=5) & (
        ndimage.minimum_filter(floe, 11) == ndimage.maximum_filter(floe, 11)
    )
    d_ice = ndimage.distance_transform_edt(water)  # water pixels: distance to ice
    d_water = ndimage.distance_transform_edt(ice)  # ice pixels: distance to water
    # largest distance to ice across a water feature: 1 for 1-2 px, 2 for 3-4 px wide
    reach = ndimage.maximum_filter(d_ice * water, 5)
    narrow = water & (reach <= 2) & truth.lead.values.astype(bool)
    near_narrow = ndimage.binary_dilation(narrow, iterations=8) & ~ndimage.binary_dilation(
        narrow, iterations=3
    )
    wide = water & ndimage.binary_erosion(water, iterations=5)
    wide_zone = ndimage.binary_dilation(wide, iterations=7)
    return {
        "interior": interior,
        "lead": narrow,
        "lead_ice": near_narrow & ice,
        "edge_ice": ice & (d_water <= 2) & wide_zone,
        "edge_water": water & (d_ice <= 2) & wide_zone,
    }


def _contrast(lin: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(lin[a].mean() / lin[b].mean())) if a.any() and b.any() else np.nan


def _window_enl(lin: np.ndarray, interior: np.ndarray, n: int = 15) -> list[float]:
    out = []
    for r in range(0, lin.shape[0] - n, n):
        for c in range(0, lin.shape[1] - n, n):
            if interior[r : r + n, c : c + n].all():
                out.append(_enl(lin[r : r + n, c : c + n]))
    return out


def scene_metrics(scene: Any, filtered: Any, raw: Any) -> dict[str, float]:
    from skimage.filters import threshold_otsu

    from xseaice.inference import segment

    m = _masks(scene.truth)
    hh_f, hh_r = _lin(filtered.hh.values[0]), _lin(raw.hh.values[0])
    enl_f = _window_enl(hh_f, m["interior"])
    enl_r = _window_enl(hh_r, m["interior"])
    truth = scene.truth.ice.values.astype(bool)
    logit = segment(filtered, "default", precision="fp32").values
    logit = logit[0] if logit.ndim == 3 else logit
    ok = np.isfinite(logit)
    hv = filtered.hv.values[0]
    hv_ok = np.isfinite(hv)
    ice_otsu = hv > threshold_otsu(hv[hv_ok])
    return {
        "enl_floe": float(np.median(enl_f) / np.median(enl_r)) if enl_f else np.nan,
        "lead_contrast_kept": _contrast(hh_f, m["lead"], m["lead_ice"])
        / _contrast(hh_r, m["lead"], m["lead_ice"]),
        "edge_contrast_kept": _contrast(hh_f, m["edge_ice"], m["edge_water"])
        / _contrast(hh_r, m["edge_ice"], m["edge_water"]),
        "accuracy_model": float(((logit > 0) == truth)[ok].mean()),
        "accuracy_otsu_hv": float((ice_otsu == truth)[hv_ok].mean()),
    }


def main() -> None:
    from xseaice.sar.despeckle import despeckle
    from xseaice.synthetic import make_scene

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    args = ap.parse_args()
    methods = ["none", "boxcar", "lee", "refined_lee"]
    if importlib.util.find_spec("deepdespeckling") is not None:
        methods.append("sar2sar")
    scenes = [make_scene(s, shape=(args.size, args.size), randomize=True) for s in args.seeds]
    rows = []
    cols = [
        "method", "enl_flat", "enl_floe", "lead_contrast_kept", "edge_contrast_kept",
        "accuracy_model", "accuracy_otsu_hv", "s_per_mpx",
    ]  # fmt: skip
    print(" | ".join(cols))
    for method in methods:
        per_scene = []
        wall = 0.0
        for sc in scenes:
            t0 = time.perf_counter()
            if method == "none":
                filtered = sc.dataset
            else:
                filtered = despeckle(sc.dataset, method=method).compute()  # type: ignore[arg-type]
            wall += time.perf_counter() - t0
            per_scene.append(scene_metrics(sc, filtered, sc.dataset))
        row: dict[str, Any] = {"method": method, "enl_flat": flat_gain(method)}
        for k in per_scene[0]:
            row[k] = float(np.nanmean([p[k] for p in per_scene]))
        row["per_scene"] = per_scene
        row["s_per_mpx"] = wall / (len(scenes) * args.size**2 / 1e6)
        rows.append(row)
        print(
            " | ".join(f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in cols)
        )
    out = {
        "benchmark": "bench_despeckle",
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "size": args.size,
        "seeds": args.seeds,
        "rows": rows,
    }
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / "bench_despeckle.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
