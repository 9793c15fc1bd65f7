"""Inference engine: throughput, precision, FLOP efficiency, memory and workers.

Run: ``python benchmarks/bench_inference.py [--scene 6144] [--sizes 1024 4096 10240]``
(``--quick`` for a small smoke run).  Everything runs in one invocation, side by side:

1. machine peak: ``torch.matmul`` GFLOP/s in float32 and bfloat16 (2048^3, all cores);
2. the model: the default U-Net preset (7 inputs, widths 16-32-64-64, untrained: speed
   does not depend on the weights), its FLOPs per pixel (``torch.utils.flop_counter``);
3. bare forward on one in-memory tile of the engine's default size (the plain module,
   and the module as the engine prepares it: batch norm folded, channels-last), against
   ``segment()`` end to end on an in-memory scene of ``--scene`` px (threaded scheduler),
   in float32 and bfloat16; achieved GFLOP/s against the matmul peak;
4. bf16 against fp32: max |probability difference| and binary agreement, with a model
   whose activations are realistic (He init, batch-norm statistics measured on data) or
   the trained ``default`` weights when they are registered;
5. peak memory against scene size: ``segment().to_zarr()`` on a lazily generated scene
   (1k^2, 4k^2, 10k^2), next to the naive whole-array forward where it fits, each in its
   own subprocess (peak RSS of the process tree, sampled every 50 ms; ``ru_maxrss`` is
   not used: Linux carries the parent's RSS over ``fork`` + ``exec``);
6. one dask worker process (2 threads) against two (1 thread each), ``to_zarr`` of a 4k^2
   scene on a ``LocalCluster``.

Prints a table and writes ``benchmarks/results/inference.json``.  The machine is shared:
the load average before and after is recorded with the results.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
VARIABLES = ("hh", "hv", "incidence_angle", "tb18h", "tb18v", "tb36h", "tb36v")
NORM = {
    "hh": (-18.0, 5.0),
    "hv": (-27.0, 4.0),
    "incidence_angle": (35.0, 8.0),
    "tb18h": (220.0, 20.0),
    "tb18v": (240.0, 15.0),
    "tb36h": (210.0, 20.0),
    "tb36v": (230.0, 15.0),
}
RES = 80.0
PRECS = ("fp32", "bf16")


# --------------------------------------------------------------------------------------
# helpers shared by the parent and the child processes
# --------------------------------------------------------------------------------------


def _block(shape: tuple[int, int], y0: int, x0: int, var_index: int) -> np.ndarray:
    """One block of a deterministic synthetic variable (smooth field + noise, NaN border)."""
    ny, nx = shape
    yy = np.arange(y0, y0 + ny, dtype=np.float32)[:, None]
    xx = np.arange(x0, x0 + nx, dtype=np.float32)[None, :]
    rng = np.random.default_rng([var_index, y0, x0])
    field = np.sin(xx / (170.0 + var_index)) * np.cos(yy / 230.0)
    field = field + rng.standard_normal((ny, nx), dtype=np.float32) * 0.7
    mean, std = NORM[VARIABLES[var_index]]
    out = (mean + std * field).astype(np.float32)
    if var_index < 3:
        out[(xx + yy // 3) < 200] = np.nan  # slanted swath border
    return out


def _lazy_block(*, var_index: int, block_info: Any = None) -> np.ndarray:
    loc = block_info[None]["array-location"]
    shape = (loc[1][1] - loc[1][0], loc[2][1] - loc[2][0])
    return _block(shape, loc[1][0], loc[2][0], var_index)[None]


def make_scene(n: int, *, lazy: bool, chunk: int = 2048) -> Any:
    """A 7-variable scene of n x n px at 80 m: lazy (dask) or in memory (numpy)."""
    import dask.array as da
    import xarray as xr

    data = {}
    for i, v in enumerate(VARIABLES):
        if lazy:
            arr = da.map_blocks(
                functools.partial(_lazy_block, var_index=i),
                chunks=((1,), *da.core.normalize_chunks(chunk, (n, n))),
                dtype=np.float32,
                meta=np.empty((0, 0, 0), np.float32),
            )
        else:
            arr = _block((n, n), 0, 0, i)[None]
        data[v] = (("time", "y", "x"), arr)
    coords = {
        "time": [np.datetime64("2023-01-04T08:00")],
        "y": 9_000_000.0 - RES * (np.arange(n) + 0.5),
        "x": 100_000.0 + RES * (np.arange(n) + 0.5),
        "spatial_ref": 0,
    }
    return xr.Dataset(data, coords=coords)


def register_model(kind: str, workdir: Path) -> tuple[Any, Any]:
    """Save a default-preset U-Net and return (module, spec).

    ``kind``: "untrained" (PyTorch default init) or "realistic" (He init, batch-norm
    statistics measured on random input, so activations keep unit scale).
    """
    import torch

    from xseaice.models import build_model, save_weights

    torch.manual_seed(0)
    model = build_model("unet", in_channels=len(VARIABLES))
    if kind == "realistic":
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
                m.reset_running_stats()
        model.train()
        with torch.no_grad():
            for _ in range(2):
                model(torch.randn(2, len(VARIABLES), 128, 128))
    model.eval()
    spec = save_weights(
        model,
        workdir / f"bench-{kind}.safetensors",
        name=f"bench-{kind}",
        variables=VARIABLES,
        normalisation=NORM,
        pixel_size=RES,
        licence="CC0-1.0",
        description=f"benchmark model ({kind})",
    )
    return model, spec


class PeakRSS:
    """Sample the RSS of this process and its children every ``interval`` seconds."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        import psutil

        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.baseline = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._total())


def child(cfg: dict[str, Any]) -> dict[str, Any]:
    """One memory / worker measurement, run in its own process."""
    import dask
    import torch

    from xseaice.inference import segment

    workdir = Path(cfg["workdir"])
    _, spec = register_model("untrained", workdir)
    n = int(cfg["size"])
    res: dict[str, Any] = {**cfg}
    if cfg["mode"] == "segment":
        ds = make_scene(n, lazy=True)
        out = segment(ds, spec, tta=bool(cfg.get("tta", False)))
        store = workdir / f"out-{n}-{os.getpid()}.zarr"
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            with dask.config.set(scheduler="threads"):
                out.to_dataset().to_zarr(store, consolidated=False, zarr_format=2)
            res["seconds"] = time.perf_counter() - t0
        res["tile"] = int(out.attrs["tile"])
    elif cfg["mode"] == "naive":
        model, _ = register_model("untrained", workdir)
        ds = make_scene(n, lazy=False)
        x = np.stack([(ds[v].values[0] - NORM[v][0]) / NORM[v][1] for v in VARIABLES])
        x = torch.from_numpy(np.nan_to_num(x)[None].astype(np.float32))
        del ds
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                y = model(x)["ice_logit"].float()
            res["seconds"] = time.perf_counter() - t0
        assert y.shape[-1] == n
    elif cfg["mode"] == "workers":
        from distributed import Client, LocalCluster

        ds = make_scene(n, lazy=True)
        out = segment(ds, spec)
        store = workdir / f"out-w{cfg['workers']}-{os.getpid()}.zarr"
        with (
            LocalCluster(
                n_workers=cfg["workers"],
                threads_per_worker=cfg["threads"],
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: None)  # workers started
            with PeakRSS() as rss:
                t0 = time.perf_counter()
                out.to_dataset().to_zarr(store, consolidated=False, zarr_format=2)
                res["seconds"] = time.perf_counter() - t0
    else:
        raise ValueError(cfg["mode"])
    res["peak_rss_gb"] = rss.peak / 1e9
    res["baseline_rss_gb"] = rss.baseline / 1e9
    res["mpx_per_s"] = n * n / res["seconds"] / 1e6
    return res


def run_child(cfg: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        return {**cfg, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# in-process measurements
# --------------------------------------------------------------------------------------


def best_time(fn: Any, repeat: int) -> float:
    fn()  # warm-up (oneDNN primitive creation)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def matmul_peak(n: int, dtype: Any, repeat: int) -> float:
    import torch

    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    t = best_time(lambda: torch.matmul(a, b), repeat)
    return 2 * n**3 / t / 1e9


def flops_per_pixel(model: Any, size: int = 256) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, len(VARIABLES), size, size)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x)
    return counter.get_total_flops() / (size * size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=int, default=6144, help="throughput scene side (px)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1024, 4096, 10240])
    parser.add_argument("--workers-size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--emulated-bf16",
        action="store_true",
        help="run the bf16 columns even where the CPU has no native bf16 (very slow)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    from xseaice.inference import cpu_supports_bf16

    if not (cpu_supports_bf16() or args.emulated_bf16):
        # measured on a CPU without AVX512-BF16/AMX: one 1024 px tile of the plain U-Net
        # took 227 s under bf16 autocast against 1.6 s in float32
        raise SystemExit(
            "bench_inference: this CPU has no native bfloat16 (AVX512-BF16 or AMX), so the "
            "bf16 columns would time software emulation (about 100x slower than float32); "
            "run it on a CPU with native bf16, or pass --emulated-bf16 to run anyway"
        )
    if args.quick:
        args.scene, args.sizes, args.workers_size, args.repeat = 1024, [512, 1024], 1024, 1

    import copy

    import dask
    import torch

    import xseaice
    from xseaice.inference import default_tile, prepare_model, segment
    from xseaice.inference.tiling import _axis_chunks

    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    results: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": cores,
            "bf16_native": cpu_supports_bf16(),
            "torch": torch.__version__,
            "xseaice": xseaice.__version__,
            "loadavg_start": os.getloadavg(),
        }
    }
    rows: list[tuple[str, str]] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-inference-"))

    # 1. peaks
    peak32 = matmul_peak(2048, torch.float32, args.repeat)
    peak16 = matmul_peak(2048, torch.bfloat16, args.repeat)
    results["matmul_peak_gflops"] = {"fp32": peak32, "bf16": peak16}
    rows += [
        ("matmul peak fp32 (2048^3)", f"{peak32:.0f} GFLOP/s"),
        ("matmul peak bf16 (2048^3)", f"{peak16:.0f} GFLOP/s"),
    ]

    # 2. the model
    model, spec = register_model("untrained", workdir)
    fpp = flops_per_pixel(model)
    results["model"] = {
        "preset": "unet widths (16, 32, 64, 64), 7 inputs",
        "parameters": sum(p.numel() for p in model.parameters()),
        "flops_per_pixel": fpp,
        "halo": int(model.receptive_halo),
    }
    rows.append(("model FLOPs / pixel", f"{fpp / 1e3:.1f} kFLOP (halo {model.receptive_halo})"))

    prepared = prepare_model(copy.deepcopy(model))  # what segment() runs

    # 3 + 4. throughput per precision and tile size, interleaved so that load from other
    # users of the machine hits all configurations alike; best of --repeat
    scene = make_scene(args.scene, lazy=False)
    n_px = args.scene**2
    halo = int(model.receptive_halo)
    tiles = [512] if args.quick else sorted({1024, 2048, *(default_tile("cpu", p) for p in PRECS)})
    inputs = {}
    for tile in tiles:
        x = torch.randn(1, len(VARIABLES), tile, tile)
        win = torch.randn(1, len(VARIABLES), tile + 2 * halo, tile + 2 * halo)
        inputs[tile] = (
            x,
            x.contiguous(memory_format=torch.channels_last),
            win.contiguous(memory_format=torch.channels_last),
        )

    def fwd(m: Any, inp: Any, prec: str) -> None:
        bf = prec == "bf16"
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf):
            m(inp)

    def concurrent(inp: Any, p: str) -> None:
        """One single-threaded forward per core, at once (as dask runs the tiles)."""

        def work() -> None:
            torch.set_num_threads(1)
            fwd(prepared, inp, p)

        pool = [threading.Thread(target=work) for _ in range(cores)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    def single(m: Any, inp: Any, p: str) -> None:
        torch.set_num_threads(cores)
        fwd(m, inp, p)

    configs = [(p, tile) for tile in tiles for p in PRECS]
    lazies = {c: segment(scene, spec, precision=c[0], tile=c[1], device="cpu") for c in configs}
    for p, tile in configs:  # warm-up (oneDNN primitives); segment() is timed best of 2
        x, xcl, win = inputs[tile]
        single(model, x, p)
        single(prepared, xcl, p)
        concurrent(xcl, p)
        concurrent(win, p)
    times: dict[tuple[str, int, str], list[float]] = {}
    for rep in range(args.repeat):
        for p, tile in configs:
            x, xcl, win = inputs[tile]
            steps: list[tuple[str, Any]] = [
                ("plain", lambda m=model, x=x, p=p: single(m, x, p)),
                ("prepared", lambda m=prepared, x=xcl, p=p: single(m, x, p)),
                ("concurrent", lambda x=xcl, p=p: concurrent(x, p)),
                ("window", lambda x=win, p=p: concurrent(x, p)),
            ]
            if rep < max(1, args.repeat - 1):  # the long one: one repeat fewer
                steps.append(
                    ("segment", lambda c=(p, tile): lazies[c].compute(scheduler="threads"))
                )
            for what, fn in steps:
                t0 = time.perf_counter()
                fn()
                times.setdefault((p, tile, what), []).append(time.perf_counter() - t0)
    lazies.clear()
    thr: dict[str, Any] = {"scene": args.scene, "halo": halo, "runs": []}
    for p, tile in configs:
        chunks = _axis_chunks(args.scene, tile, halo)
        computed = sum(
            c + halo * (i > 0) + halo * (i < len(chunks) - 1) for i, c in enumerate(chunks)
        )
        halo_ratio = (computed / args.scene) ** 2

        def best(what: str, p: str = p, tile: int = tile) -> float:
            return min(times[p, tile, what])

        plain = tile * tile / best("plain") / 1e6
        prep1 = tile * tile / best("prepared") / 1e6
        prepc = cores * tile * tile / best("concurrent") / 1e6
        prep = max(prep1, prepc)  # the better bare configuration is the reference
        # bare forwards on full tiles-with-halo, per *computed* pixel; times the pixels the
        # scene's blocks really compute (edge blocks have no outer halo)
        window_rate = cores * (tile + 2 * halo) ** 2 / best("window")
        window = n_px / (n_px * halo_ratio / window_rate) / 1e6  # output Mpx/s predicted
        seg = n_px / best("segment") / 1e6
        peak = peak16 if p == "bf16" else peak32
        is_default = tile == default_tile("cpu", p)
        thr["runs"].append(
            {
                "precision": p,
                "tile": tile,
                "default_tile": is_default,
                "halo_compute_ratio": halo_ratio,
                "bare_plain_mpx_s": plain,
                "bare_prepared_one_tile_all_threads_mpx_s": prep1,
                "bare_prepared_one_tile_per_core_mpx_s": prepc,
                "bare_prepared_mpx_s": prep,
                "bare_prepared_same_windows_mpx_s": window,
                "segment_mpx_s": seg,
                "segment_overhead_vs_bare_tile": prep / seg - 1,
                "segment_overhead_vs_same_windows": window / seg - 1,
                "segment_gflops": seg * fpp / 1e3,
                "bare_prepared_gflops": prep * fpp / 1e3,
                "matmul_peak_gflops": peak,
                "seconds": {k[2]: v for k, v in times.items() if k[:2] == (p, tile)},
            }
        )
        tag = f"{p}, tile {tile}{' (default)' if is_default else ''}"
        rows += [
            (
                f"{tag}: bare forward, one tile",
                f"plain {plain:.2f}, prepared {prep1:.2f} ({cores} threads) / {prepc:.2f} "
                f"({cores} tiles x 1 thread) Mpx/s",
            ),
            (
                f"{tag}: segment() end to end, {args.scene}^2",
                f"{seg:.2f} Mpx/s: {100 * (prep / seg - 1):+.0f} % vs bare tile "
                f"(halo adds {100 * (halo_ratio - 1):.0f} % pixels; "
                f"{100 * (window / seg - 1):+.0f} % vs bare forwards of the same windows)",
            ),
            (
                f"{tag}: GFLOP/s segment / bare",
                f"{seg * fpp / 1e3:.0f} / {prep * fpp / 1e3:.0f} "
                f"({100 * seg * fpp / 1e3 / peak:.0f} % / {100 * prep * fpp / 1e3 / peak:.0f} % "
                f"of matmul {peak:.0f})",
            ),
        ]
    results["throughput"] = thr
    by = {(r["precision"], r["tile"]): r for r in thr["runs"]}
    big = max(tiles)
    speed_bare = by["bf16", big]["bare_prepared_mpx_s"] / by["fp32", big]["bare_prepared_mpx_s"]
    speed_seg = max(r["segment_mpx_s"] for r in thr["runs"] if r["precision"] == "bf16") / max(
        r["segment_mpx_s"] for r in thr["runs"] if r["precision"] == "fp32"
    )
    rows.append(
        (
            "bf16 / fp32 speed-up",
            f"bare tile {big}: {speed_bare:.2f}x; segment (best tile each): {speed_seg:.2f}x",
        )
    )

    # agreement: a model with realistic activations (or the trained default)
    if "default" in xseaice.models.list_weights():
        agree_model: Any = "default"
        agree_kind = "trained 'default' weights"
    else:
        _, agree_model = register_model("realistic", workdir)
        agree_kind = "He init + measured batch-norm statistics (untrained)"
    n_agree = min(args.scene, 2048)
    small = scene.isel(y=slice(0, n_agree), x=slice(0, n_agree))
    z32 = segment(small, agree_model, precision="fp32").values
    z16 = segment(small, agree_model, precision="bf16").values
    p32, p16 = 1 / (1 + np.exp(-z32)), 1 / (1 + np.exp(-z16))
    ok = np.isfinite(p32)
    diff = np.abs(p32 - p16)[ok]
    agreement = float(np.mean((p32[ok] > 0.5) == (p16[ok] > 0.5)))
    results["precision"] = {
        "speedup_bare": speed_bare,
        "speedup_segment": speed_seg,
        "agreement_model": agree_kind,
        "agreement_pixels": int(ok.sum()),
        "max_abs_prob_diff": float(diff.max()),
        "mean_abs_prob_diff": float(diff.mean()),
        "binary_agreement": agreement,
        "logit_std": float(np.nanstd(z32)),
    }
    rows.append(
        (
            f"bf16 vs fp32 ({agree_kind}, {n_agree}^2)",
            f"max |dp| {diff.max():.4f}, mean |dp| {diff.mean():.5f}, "
            f"binary agreement {100 * agreement:.3f} %",
        )
    )
    del scene

    # 5. memory against scene size (each in its own process)
    mem = []
    naive_per_px: float | None = None
    for n in args.sizes:
        r = run_child({"mode": "segment", "size": n, "workdir": str(workdir)})
        mem.append(r)
        rows.append(
            (
                f"segment().to_zarr(), {n}^2, threads",
                f"peak {r.get('peak_rss_gb', float('nan')):.2f} GB "
                f"(after imports {r.get('baseline_rss_gb', float('nan')):.2f}), "
                f"{r.get('seconds', float('nan')):.1f} s, {r.get('mpx_per_s', float('nan')):.2f} "
                f"Mpx/s" + (f" ERROR {r['error']}" if "error" in r else ""),
            )
        )
        predicted = None if naive_per_px is None else naive_per_px * n * n
        if predicted is not None and predicted > 8.0:
            mem.append({"mode": "naive", "size": n, "skipped": True, "predicted_gb": predicted})
            rows.append((f"naive whole-array forward, {n}^2", f"skipped: ~{predicted:.0f} GB"))
            continue
        r = run_child({"mode": "naive", "size": n, "workdir": str(workdir)})
        mem.append(r)
        if "peak_rss_gb" in r:
            naive_per_px = (r["peak_rss_gb"] - r["baseline_rss_gb"]) / (n * n)
        rows.append(
            (
                f"naive whole-array forward (bf16), {n}^2",
                f"peak {r.get('peak_rss_gb', float('nan')):.2f} GB, "
                f"{r.get('seconds', float('nan')):.1f} s"
                + (f" ERROR {r['error']}" if "error" in r else ""),
            )
        )
    results["memory"] = mem

    # 6. one against two worker processes
    wrk = []
    for workers, threads in ((1, 2), (2, 1)):
        r = run_child(
            {
                "mode": "workers",
                "size": args.workers_size,
                "workers": workers,
                "threads": threads,
                "workdir": str(workdir),
            }
        )
        wrk.append(r)
        rows.append(
            (
                f"LocalCluster {workers} worker(s) x {threads} thread(s), {args.workers_size}^2",
                f"{r.get('seconds', float('nan')):.1f} s, {r.get('mpx_per_s', float('nan')):.2f} "
                f"Mpx/s, peak {r.get('peak_rss_gb', float('nan')):.2f} GB (all processes)"
                + (f" ERROR {r['error']}" if "error" in r else ""),
            )
        )
    results["workers"] = wrk

    # graph size: named weights against an in-memory module
    ds = make_scene(4096, lazy=True)
    import pickle

    g_name = len(pickle.dumps(dict(segment(ds, spec).data.__dask_graph__())))
    g_mem = len(pickle.dumps(dict(segment(ds, (model, spec)).data.__dask_graph__())))
    results["graph_bytes"] = {
        "named": g_name,
        "in_memory_module": g_mem,
        "module": len(pickle.dumps(model)),
    }
    rows.append(
        (
            "graph size 4096^2 (named / in-memory module)",
            f"{g_name / 1e3:.0f} kB / {g_mem / 1e3:.0f} kB",
        )
    )

    results["machine"]["loadavg_end"] = os.getloadavg()
    width = max(len(k) for k, _ in rows)
    print(f"\ninference benchmark ({cores} cores, load {results['machine']['loadavg_start']})")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    out = HERE / "results" / "inference.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"\nwritten {out}")
    del dask


if __name__ == "__main__":
    main()
