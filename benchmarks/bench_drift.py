"""Ice drift on synthetic pairs with a known displacement field.

Run: ``python benchmarks/bench_drift.py [--runs 512:0,1,2 1024:0 2048:0]`` (``size:seeds``).
Each pair comes from :func:`xseaice.synthetic.drift.make_drift_pair` with its defaults:
a translation of (1800, -1200) m (54 px), a 0.5 degree rotation and 0.002 shear about the
scene centre, 15 % of the large floes cracking open by 2-5 px, a new wind over open water,
new speckle, 12 h apart.  :func:`xseaice.sar.drift.drift` runs with its defaults (window
96 px, a vector every 16 px, ``max_displacement`` 8 km, dask blocks of 2048 px) and is
scored against the truth at every grid point whose true destination lies in the second
scene (half a window from its edges): the vector error in pixels (median, 90th
percentile), for all such points and for those with ``quality > 0``; the fraction kept
(``quality > 0``); the share of kept vectors wrong by more than 2 px, how many of those
lie on broken floes (a window across an opening crack has no single displacement), and
their median quality relative to that of vectors within 0.5 px; the error on broken
floes.  The baseline is one translation for the whole scene from scikit-image's phase
correlation of the two full images.  Wall time and the peak of
Python allocations (``tracemalloc``, numpy buffers included) cover the drift call only.

Prints a table and writes ``benchmarks/results/bench_drift.json``.

``--full 2048 4096 8192 10000`` measures the cost of a full-size call instead: a pair made
at ``--tile`` px (default 2048) is tiled to each size (`benchmarks/_fullsize.py`),
written to zarr and opened with dask chunks of 2048 px; ``drift(...).compute()`` is
timed (wall, CPU of the process tree) with the peak resident memory of the process tree
sampled by psutil.  Accuracy is not scored on tiled scenes (the seams are not the known
field).  Writes ``benchmarks/results/bench_drift_full.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
PX = 40.0


def _score(pair: Any, d: Any) -> dict[str, float]:
    tr = pair.displacement.sel(x=d.x, y=d.y, method="nearest")
    err = np.hypot(d.u.values - tr.u.values, d.v.values - tr.v.values) / PX
    xx, yy = np.meshgrid(d.x.values, d.y.values)
    gx, gy = xx + tr.u.values, yy + tr.v.values
    m = 48 * PX
    x, y = pair.second.x.values, pair.second.y.values
    inside = (gx > x.min() + m) & (gx < x.max() - m) & (gy > y.min() + m) & (gy < y.max() - m)
    q = d.quality.values
    kept = inside & (q > 0)
    wrong = inside & (err > 2.0)
    broken = inside & tr.broken.values & kept
    return {
        "points": int(inside.sum()),
        "median_px_all": float(np.median(err[inside])),
        "p90_px_all": float(np.quantile(err[inside], 0.9)),
        "median_px_kept": float(np.median(err[kept])),
        "p90_px_kept": float(np.quantile(err[kept], 0.9)),
        "kept": float(kept.sum() / max(inside.sum(), 1)),
        "wrong_kept_share": float((err[kept] > 2.0).mean()),
        "wrong_kept_on_broken": float(tr.broken.values[wrong & kept].mean())
        if (wrong & kept).any()
        else float("nan"),
        "q_wrong_over_right": float(np.median(q[wrong & kept]) / np.median(q[kept & (err < 0.5)]))
        if (wrong & kept).any()
        else float("nan"),
        "median_px_broken": float(np.median(err[broken])) if broken.any() else float("nan"),
    }


def _baseline(pair: Any, d: Any) -> float:
    """Median error (px) of one whole-scene phase-correlation translation."""
    from skimage.registration import phase_cross_correlation

    a = np.nan_to_num(pair.first.dataset.hh.values[0])
    b = np.nan_to_num(pair.second.hh.values[0])
    shift = phase_cross_correlation(a, b, upsample_factor=10)[0]  # registers b onto a
    drow, dcol = -shift
    tr = pair.displacement.sel(x=d.x, y=d.y, method="nearest")
    err = np.hypot(dcol * PX - tr.u.values, -drow * PX - tr.v.values) / PX
    return float(np.median(err))


def run(size: int, seed: int) -> dict[str, Any]:
    from xseaice.sar.drift import drift
    from xseaice.synthetic.drift import make_drift_pair

    t0 = time.perf_counter()
    pair = make_drift_pair(seed, shape=(size, size))
    t_make = time.perf_counter() - t0
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    d = drift(pair.first.dataset, pair.second).compute()
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    row = {
        "size": size,
        "seed": seed,
        "vectors": int(d.u.size),
        "make_pair_s": t_make,
        "drift_s": wall,
        "ms_per_vector": 1000 * wall / d.u.size,
        "peak_mib": peak / 2**20,
        **_score(pair, d),
        "baseline_median_px": _baseline(pair, d),
    }
    return row


def full_size(
    sizes: list[int], tile: int, seed: int, workdir: Path, name: str = "bench_drift_full.json"
) -> list[dict[str, Any]]:
    """Time and memory of one lazy drift call per size, on a tiled pair read from zarr."""
    from _fullsize import Measure, open_lazy, tile_dataset

    from xseaice.sar.drift import drift
    from xseaice.synthetic.drift import make_drift_pair

    pair = make_drift_pair(seed, shape=(tile, tile))
    a0 = pair.first.dataset[["hh", "hv"]]
    b0 = pair.second[["hh", "hv"]]
    rows = []
    for size in sizes:
        a = open_lazy(tile_dataset(a0, size), workdir / f"a_{size}.zarr")
        b = open_lazy(tile_dataset(b0, size), workdir / f"b_{size}.zarr")
        with Measure() as m:
            d = drift(a, b).compute()
        ok = np.isfinite(d.u.values) & (d.quality.values > 0)
        rows.append(
            {
                "size": size,
                "tile": tile,
                "vectors": int(d.u.size),
                "kept": float(ok.mean()),
                **m.row(),
                "ms_per_vector": 1000 * m.wall_s / d.u.size,
                "load_average_after": os.getloadavg(),
            }
        )
        r = rows[-1]
        print(
            f"{size:6d} px  {r['vectors']:7d} vectors  wall {r['wall_s']:7.1f} s  "
            f"cpu {r['cpu_s']:7.1f} s  peak RSS {r['peak_rss_mib']:7.0f} MiB",
            flush=True,
        )
        _write(rows, name, key="wall_s")
        for p in (workdir / f"a_{size}.zarr", workdir / f"b_{size}.zarr"):
            shutil.rmtree(p)
    return rows


def _write(rows: list[dict[str, Any]], name: str, key: str = "") -> Path:
    out = {
        "benchmark": "bench_drift",
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "rows": rows,
    }
    if not key:
        out["median_px_kept_over_all_pairs"] = float(np.median([r["median_px_kept"] for r in rows]))
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", nargs="+", default=["512:0,1,2", "1024:0", "2048:0"])
    ap.add_argument("--out", help="file name in results/ (bench_drift[_full].json)")
    ap.add_argument("--full", type=int, nargs="+", help="full-size mode: these sizes (px)")
    ap.add_argument("--tile", type=int, default=2048, help="full-size mode: tile size (px)")
    ap.add_argument("--workdir", default="/tmp/xseaice_bench_drift", help="zarr scratch")
    args = ap.parse_args()
    if args.full:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
        full_size(args.full, args.tile, 0, work, args.out or "bench_drift_full.json")
        return
    rows: list[dict[str, Any]] = []
    cols = (
        "size seed vectors drift_s ms_per_vector peak_mib median_px_all median_px_kept "
        "p90_px_kept kept wrong_kept_share wrong_kept_on_broken q_wrong_over_right "
        "median_px_broken baseline_median_px"
    ).split()
    print(" | ".join(cols))
    for spec in args.runs:
        size, seeds = spec.split(":")
        for seed in seeds.split(","):
            r = run(int(size), int(seed))
            rows.append(r)
            print(" | ".join(f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in cols))
            # after every pair: a long run keeps what it measured
            path = _write(rows, args.out or "bench_drift.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
