"""Percentiles of a 10k x 10k scene: streaming (dask) vs numpy on the loaded array.

Run: ``python benchmarks/bench_percentiles.py [--size 10000] [--chunk 2048]``.  A float32
logit-like field (5 % NaN) is written once to a Zarr store; each method then runs in its
own subprocess, reading that store, so its peak memory is its own: the peak of Python
allocations (``tracemalloc``, which sees numpy buffers) and the rise of ``ru_maxrss``
over the RSS after imports:

- ``numpy``: load the array whole, then ``np.nanpercentile`` (time of both reported);
- ``histogram``: :func:`xseaice.products.als.nanpercentile`, one streaming pass
  (``--bins``, default 2**20 and 2**16);
- ``refine``: the same plus the exact second pass (which holds the blocks);
- ``dask.array.percentile``: dask's own (per-chunk percentiles merged; approximate,
  no NaN support, so on the NaN-free values of a 1-D ravel).

Prints a table and writes ``benchmarks/results/bench_percentiles.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PCTS = [2.0, 98.0]

WORKER = r"""
import json, resource, sys, time, tracemalloc
import numpy as np, dask, dask.array as da, zarr
from xseaice.products.percentiles import nanpercentile
path, method, pcts, bins = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
arr = da.from_zarr(path)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
t0 = time.perf_counter()
load = 0.0
err = 0.0
if method == "numpy":
    x = arr.compute()
    load = time.perf_counter() - t0
    values = np.nanpercentile(x, pcts)
elif method == "dask.array.percentile":
    flat = arr.ravel()
    flat = flat[~da.isnan(flat)]
    values = da.percentile(flat, pcts).compute()
else:
    v, e = nanpercentile(arr, pcts, method=method, bins=bins)
    values, err = dask.compute(v, e)
total = time.perf_counter() - t0
traced = tracemalloc.get_traced_memory()[1]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"values": np.asarray(values).tolist(), "error_bound": float(err),
                  "seconds": total, "load_seconds": load,
                  "rss_peak_increase_mib": (peak - base) / 1024.0,
                  "traced_peak_mib": traced / 2**20}))
"""


def _make_store(path: Path, size: int, chunk: int) -> None:
    import dask.array as da

    rng = da.random.default_rng(42)
    z = rng.standard_normal((size, size), chunks=chunk, dtype="float32")
    z = z + 0.5 * da.sin(da.arange(size, chunks=chunk) / 500.0)[None, :].astype("float32")
    z = da.where(rng.random((size, size), chunks=chunk) < 0.05, np.float32("nan"), z)
    z.to_zarr(str(path), overwrite=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=2048)
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        store = Path(tmp) / "logits.zarr"
        _make_store(store, args.size, args.chunk)
        runs = [
            ("numpy", 0),
            ("histogram", 2**20),
            ("histogram", 2**16),
            ("refine", 2**20),
            ("dask.array.percentile", 0),
        ]
        for method, bins in runs:
            out = subprocess.run(
                [sys.executable, "-c", WORKER, str(store), method, json.dumps(PCTS), str(bins)],
                capture_output=True,
                text=True,
                check=True,
            )
            res = json.loads(out.stdout.strip().splitlines()[-1])
            res["method"] = (
                method
                if not bins or method != "histogram"
                else f"{method} 2^{bins.bit_length() - 1}"
            )
            res["bins"] = bins
            rows.append(res)
    exact = rows[0]["values"]
    for r in rows:
        r["abs_error_vs_numpy"] = max(abs(a - b) for a, b in zip(r["values"], exact, strict=True))
    print(f"percentiles {PCTS} of a {args.size} x {args.size} float32 array, chunks {args.chunk}")
    print(
        f"{'method':<24} {'seconds':>8} {'(load)':>7} {'traced MiB':>11} {'RSS+ MiB':>9} "
        f"{'|err|':>10} {'bound':>9}"
    )
    for r in rows:
        print(
            f"{r['method']:<24} {r['seconds']:>8.2f} {r['load_seconds']:>7.2f} "
            f"{r['traced_peak_mib']:>11.0f} {r['rss_peak_increase_mib']:>9.0f} "
            f"{r['abs_error_vs_numpy']:>10.2e} {r['error_bound']:>9.2e}"
        )
    result = {
        "benchmark": "percentiles",
        "size": args.size,
        "chunk": args.chunk,
        "percentiles": PCTS,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "rows": rows,
    }
    (HERE / "results").mkdir(exist_ok=True)
    tmp_out = HERE / "results" / "bench_percentiles.json.tmp"
    tmp_out.write_text(json.dumps(result, indent=2))
    os.replace(tmp_out, HERE / "results" / "bench_percentiles.json")
    return result


if __name__ == "__main__":
    main()
