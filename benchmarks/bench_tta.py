"""Cost of test-time augmentation: ``segment(tta=True)`` against ``segment()``.

Run: ``python benchmarks/bench_tta.py [--size 2048] [--repeat 2] [--threads 2]``

Time: one synthetic scene (``make_scene``, in memory), the bundled ``default`` weights, the
threaded scheduler; each setting timed ``--repeat`` times side by side in one run (the
best time is kept), in float32 and, where the CPU runs it natively, bfloat16.

Memory: ``segment(ds, tta=...).to_zarr()`` of a lazily generated ``--memory-size`` scene with
the defaults, each in its own process (``bench_inference.py``'s peak-RSS child).

The accuracy gain is measured by ``bench_heldout.py --tta``.  Prints tables and writes
``benchmarks/results/bench_tta.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results"

from heldout_scores import write_json  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="segment() with and without TTA")
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-size", type=int, default=4096)
    args = ap.parse_args(argv)

    import dask
    import torch

    from xseaice.inference import cpu_supports_bf16, segment
    from xseaice.metrics import format_table
    from xseaice.synthetic import make_scene

    torch.set_num_threads(args.threads)
    ds = make_scene(1, shape=(args.size, args.size), season="winter").dataset
    precisions = ["fp32", "bf16"] if cpu_supports_bf16() else ["fp32"]
    rows = []
    for precision in precisions:
        best: dict[bool, float] = {}
        for _ in range(args.repeat):
            for tta in (False, True):
                t0 = time.perf_counter()
                with dask.config.set(scheduler="threads", num_workers=1):
                    segment(ds, "default", precision=precision, tta=tta).compute()
                dt = time.perf_counter() - t0
                best[tta] = min(best.get(tta, float("inf")), dt)
        rows.append({
            "precision": precision, "plain_s": best[False], "tta_s": best[True],
            "ratio": best[True] / best[False],
        })  # fmt: skip
    import bench_inference

    memory = []
    with tempfile.TemporaryDirectory() as tmp:
        for tta in (False, True):
            cfg = {"mode": "segment", "size": args.memory_size, "tta": tta, "workdir": tmp}
            res = bench_inference.run_child(cfg)
            memory.append({k: res.get(k) for k in ("tta", "seconds", "peak_rss_gb", "error")})
    out = RESULTS / "bench_tta.json"
    write_json(out, {
        "size": args.size, "threads": args.threads, "repeat": args.repeat,
        "memory_size": args.memory_size,
        "machine": platform.platform(), "cpus": os.cpu_count(), "rows": rows, "memory": memory,
    })  # fmt: skip
    print(f"segment() on a {args.size} x {args.size} px scene, {args.threads} torch threads")
    print(format_table(rows))
    print(f"segment().to_zarr() of a lazy {args.memory_size} px scene, peak RSS of the process")
    print(format_table(memory))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
