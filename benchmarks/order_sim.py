"""What ``dask.order`` makes the full-scene logits pass hold: a list-scheduling simulation.

Run: ``python benchmarks/order_sim.py [--variant with-panels|no-panels|panel-leaves]``
after ``benchmarks/bench_scene.py --keep`` has built the product (its cache folder).

Builds, without computing anything, the graph of ``write_products``' first pass on the
full scene (``load`` with the default grid, ``segment``, the logits written block by block,
and with ``with-panels`` the figure's coarse input panels of
:func:`xseaice.plot_overview.overview_inputs` in the same pass), optimises it as
``dask.compute`` does and orders it with ``dask.order``.  Then it replays the threaded
scheduler: two workers, each taking the ready task of highest priority; a model block
costs 8 units, a Sentinel-1 chunk 3, an AMSR-2 chunk 1, anything else 0.05.  A result is
held from its task's end until its last dependent has run; sizes come from the chunk
shapes (a Sentinel-1 chunk 12.6 MB, AMSR-2 16.8 MB, one variable 4.2 MB, a stacked
7-channel model input 29.4 MB, a halo strip 2.2 MB).  Prints the most held at once and by
which task prefixes.  An estimate of the order's effect, not a measurement: the real
timings vary, and a view shares its base array's memory.

``panel-leaves``: each panel chunk is a small leaf (``map_blocks``) instead of a block
mean, to tell whether the reduction or the second consumer of the input chunks matters.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

#: MB of one result per task prefix (chunks of 1024 x 1024 float32), default 0.5.
SIZES_MB = {"s1-load": 12.6, "amsr2-load": 16.8, "stack": 4.2, "getitem": 4.2,
            "rechunk-merge": 29.4, "xseaice-halo": 2.2, "stored": 0.0}  # fmt: skip
#: Relative cost per task prefix, default 0.05.
COSTS = {"xseaice-segment": 8.0, "s1-load": 3.0, "amsr2-load": 1.0}


def graph(cache: Path, variant: str) -> dict[Any, Any]:
    """The optimised task graph of the pass (the files are served while it is built)."""
    import pystac
    from _servers import file_server
    from bench_scene import _served
    from dask._expr import FinalizeCompute
    from dask.base import collections_to_expr

    import xseaice
    from xseaice.plot_overview import overview_inputs
    from xseaice.workflow import _logits

    info = json.loads((cache / "built.json").read_text())
    with file_server(cache) as fs:
        items = [pystac.Item.from_dict(_served(info[k], fs)) for k in ("s1_item", "amsr2_item")]
        ds = xseaice.load(items)
        logits = _logits(ds, "default", None)  # what write_products segments
        tiny = (1,) * logits.ndim
        parts = [logits.data.map_blocks(lambda b: np.zeros(tiny, "f4"), chunks=tiny,
                                        name="stored")]  # fmt: skip
        if variant == "with-panels":
            panels = overview_inputs(ds)
            parts += [panels[v].data for v in panels.data_vars]
        elif variant == "panel-leaves":
            for name in ("hh", "hv", "tb36h"):
                a = ds[name].isel(time=0).data
                ones = tuple((1,) * len(c) for c in a.chunks)
                parts.append(a.map_blocks(lambda b: np.zeros((1, 1)), chunks=ones,
                                          name=f"leaf-{name}"))  # fmt: skip
        expr = FinalizeCompute(collections_to_expr(parts, True)).optimize()
        print(f"grid {dict(ds.sizes)}, {variant}")
        return dict(expr.__dask_graph__())


def simulate(dsk: dict[Any, Any], workers: int = 2) -> tuple[float, dict[str, float]]:
    """Most MB held at once and the MB per task prefix at that moment."""
    from dask.core import get_dependencies
    from dask.order import order
    from dask.utils import key_split

    prio = order(dsk)
    deps = {k: get_dependencies(dsk, k) for k in dsk}
    users: dict[Any, set[Any]] = defaultdict(set)
    for k, ds_ in deps.items():
        for d in ds_:
            users[d].add(k)
    waiting = {k: len(deps[k]) for k in dsk}
    left = {k: len(users[k]) for k in dsk}
    ready = [(prio[k], k) for k in dsk if not waiting[k]]
    heapq.heapify(ready)
    running: list[tuple[float, int, Any]] = []
    held: dict[Any, float] = {}
    now, peak, at_peak, n = 0.0, 0.0, {}, 0
    while ready or running:
        while ready and len(running) < workers:
            _, k = heapq.heappop(ready)
            n += 1
            heapq.heappush(running, (now + COSTS.get(key_split(k), 0.05), n, k))
        now, _, k = heapq.heappop(running)
        held[k] = SIZES_MB.get(key_split(k), 0.5)
        for d in deps[k]:
            left[d] -= 1
            if not left[d]:
                held.pop(d, None)
        for u in users[k]:
            waiting[u] -= 1
            if not waiting[u]:
                heapq.heappush(ready, (prio[u], u))
        total = sum(held.values())
        if total > peak:
            by: dict[str, float] = defaultdict(float)
            for kk, mb in held.items():
                by[key_split(kk)] += mb
            peak, at_peak = total, dict(sorted(by.items(), key=lambda kv: -kv[1])[:6])
    return peak, at_peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="with-panels",
                        choices=["with-panels", "no-panels", "panel-leaves"])  # fmt: skip
    parser.add_argument("--cache", type=Path, default=Path("/tmp/xseaice-bench-scene"))
    args = parser.parse_args(argv)
    dsk = graph(args.cache, args.variant)
    peak, by = simulate(dsk)
    print(f"{len(dsk)} tasks; simulated peak held {peak / 1e3:.2f} GB: "
          + ", ".join(f"{k} {v:.0f} MB" for k, v in by.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
