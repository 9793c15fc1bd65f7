"""The ALS + binarize + topology stage of ``write_products`` alone, from stored logits.

Run: ``python benchmarks/profile_products.py PRODUCTS_DIR [--chart chart.gpkg] [--cores 2]``
on a product folder written by ``benchmarks/bench_scene.py --products PRODUCTS_DIR`` (its
Zarr store holds ``ice_logit``).  Runs what ``write_products`` runs after the logits are
stored: ``products_from_logits(stored logits, preserve=chart)`` written to a new Zarr store
(in a temporary folder), in this process pinned to ``--cores`` CPUs with the threaded
scheduler.  Prints the wall and CPU time, the peak RSS (``/proc/self/statm`` sampled every
0.2 s in a thread), the task time per task prefix and, at the highest RSS, the bytes of the
results dask held per task prefix (``bench_scene._Phases``).  ``--json`` writes it all.

This is a profiling aid for one stage (a minute on the full scene instead of six for the
whole chain); the numbers to quote come from ``bench_scene.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(products: Path, chart_path: Path | None, cores: int, reread: bool) -> dict[str, Any]:
    """Compute the stage once; return timings, peak RSS and the held-memory snapshot."""
    import dask
    import xarray as xr
    from bench_scene import _Phases

    from xseaice.io.icechart import read_icechart
    from xseaice.products.writers import cf_dataset
    from xseaice.workflow import products_from_logits

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    dask.config.set(scheduler="threads", num_workers=cores)
    store = next(products.glob("*_products.zarr"))
    chart = read_icechart(chart_path) if chart_path else None
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.time(), _rss()))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    rec = _Phases()
    rss0 = _rss()
    sampler.start()
    t0, c0 = time.time(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="xseaice-profile-") as tmp, rec.callback:
        stored = xr.open_zarr(store, chunks={})["ice_logit"]
        # only what write_products' store holds at that point: the logits on their grid
        extra = [c for c in stored.coords if c not in ("time", "y", "x", "spatial_ref")]
        stored = stored.drop_vars(extra)
        # (no keyword at all when holding: the same call runs on a checkout without it)
        kwargs = {"reread": True} if reread else {}
        derived = products_from_logits(stored, preserve=chart, **kwargs)
        cf_dataset(derived.drop_vars("ice_logit"), {}).to_zarr(
            Path(tmp) / "out.zarr", mode="w", zarr_format=2, consolidated=True
        )
    t1, c1 = time.time(), time.process_time()
    done.set()
    sampler.join()
    phase = rec.phases[-1] if rec.phases else {}
    tasks = sorted(phase.get("tasks", {}).items(), key=lambda kv: -kv[1])
    return {
        "store": str(store),
        "grid": [int(s) for s in stored.shape],
        "chunks": [int(c[0]) for c in stored.chunks],
        "wall_seconds": t1 - t0,
        "cpu_seconds": c1 - c0,
        "rss_start_gb": rss0 / 1e9,
        "peak_rss_gb": max(r for _, r in samples) / 1e9,
        "computes": len(rec.phases),
        "task_seconds": dict(tasks),
        "held_at_peak": {k: phase.get(k) for k in ("held_rss", "held_total", "held", "running")},
        "rss_samples": [(t - t0, r) for t, r in samples[:: max(1, len(samples) // 500)]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("products", type=Path, help="a product folder of bench_scene --products")
    parser.add_argument("--chart", type=Path, help="the chart (preserve=chart); default: none")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--hold", action="store_true",
                        help="reread=False: hold the logits between the ALS passes")  # fmt: skip
    args = parser.parse_args(argv)
    res = run(args.products, args.chart, args.cores, not args.hold)
    print(f"grid {res['grid']} chunks {res['chunks']}: wall {res['wall_seconds']:.1f} s, "
          f"CPU {res['cpu_seconds']:.1f} s, RSS {res['rss_start_gb']:.2f} -> peak "
          f"{res['peak_rss_gb']:.2f} GB, {res['computes']} computes")  # fmt: skip
    print("task seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                       list(res["task_seconds"].items())[:10]))  # fmt: skip
    held = res["held_at_peak"]
    if held.get("held"):
        print(f"held at {held['held_rss'] / 1e9:.2f} GB RSS: {held['held_total'] / 1e9:.2f} GB "
              "in dask results: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in
                                               held["held"].items()))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
