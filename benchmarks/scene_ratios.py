"""``bench_scene.py --ratios``: xseaice against its raw references, side by side.

Two ratios of throughput (reference time / xseaice time, so 1.0 means as fast as the
reference), measured in one process on the same files and pixels, runs interleaved
(xseaice, reference, xseaice, reference, ...) after one warm-up each, best of ``repeat``:

1. ``xseaice.load`` (GCP geocoding, calibration, noise removal, dB; ``hh`` + ``hv``
   computed on the crop grid) against ``odc.stac.load`` of the same GRD measurement assets
   (digital numbers through odc-stac's GCP support; ``bench_load.odc_gcp_load``), both over
   the loopback HTTP server, same GeoBox and chunks.  Target >= 0.8.
2. ``xseaice.segment`` (the default model through the tiling engine, default tile and
   precision, computed) against a bare forward of the prepared module
   (``xseaice.inference.prepare_model``): the same normalised input pixels cut into tiles of
   the same size (no halo; edge tiles shifted inward), a plain ``torch`` forward per tile
   under the same autocast, ``torch`` using all ``cores`` threads.  The input scene is
   loaded into memory first, so neither side reads files.  Target >= 0.75.  A third,
   informational row forwards the windows the engine's blocks run (each chunk plus the
   model's receptive halo inside the scene) to tell the halo's share from the engine's.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import numpy as np

LOAD_CHUNK = 1024
#: informational row: a bare forward of the engine's windows (tiles plus halo)
WINDOWS = "bare forward, engine windows (+ halo)"


def _best(runs: dict[str, Any], repeat: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Warm up every function once, then run them interleaved; best time of each and
    what each returned in the warm-up."""
    last = {k: fn() for k, fn in runs.items()}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: min(v) for k, v in times.items()}, last


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over pixels valid in both (a check that both load the same
    pixels: xseaice's sigma0 dB against odc-stac's 10 log10 DN^2)."""
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 1 else float("nan")


def _bare_forward(
    ds: Any, spec: Any, *, tile: int, halo: int, dtype: Any, cores: int
) -> tuple[Any, Any, int]:
    """Functions running the prepared default module over ``ds`` tile by tile: the bare
    reference (tiles of ``tile``, no halo) and, to tell the halo's cost from the engine's,
    the windows the engine's blocks forward (each chunk plus ``halo`` inside the scene)."""
    import torch

    from xseaice.inference import prepare_model
    from xseaice.models.registry import load_model

    module = prepare_model(load_model(spec)[0])
    planes = []
    for v in spec.variables:
        a = ds[v].isel(time=0) if "time" in ds[v].dims else ds[v]
        mean, std = spec.normalisation[v]
        planes.append((np.asarray(a.values, dtype="float32") - mean) / std)
    xn = np.nan_to_num(np.stack(planes)[None], nan=0.0, posinf=0.0, neginf=0.0)
    x = torch.from_numpy(xn).contiguous(memory_format=torch.channels_last)
    ny, nx = xn.shape[-2:]
    ys = [(min(y, ny - tile), min(y, ny - tile) + tile) for y in range(0, ny, tile)]
    xs = [(min(c, nx - tile), min(c, nx - tile) + tile) for c in range(0, nx, tile)]
    ywin, xwin = _halo_windows(ny, tile, halo), _halo_windows(nx, tile, halo)

    def forward(rows: list[tuple[int, int]], cols: list[tuple[int, int]]) -> None:
        torch.set_num_threads(cores)
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None),
        ):
            for y0, y1 in rows:
                for x0, x1 in cols:
                    module(x[..., y0:y1, x0:x1])

    return (lambda: forward(ys, xs)), (lambda: forward(ywin, xwin)), len(ys) * len(xs)


def _halo_windows(n: int, tile: int, halo: int) -> list[tuple[int, int]]:
    """The engine's block windows along an axis: each chunk plus the halo it reads."""
    from xseaice.inference.tiling import _axis_chunks

    chunks = _axis_chunks(n, tile, halo)
    ends = np.cumsum((0, *chunks)).tolist()
    return [(max(0, a - halo), min(n, b + halo)) for a, b in itertools.pairwise(ends)]


def ratios(s1_item: dict, amsr2_item: dict, geobox: Any, *, cores: int, repeat: int) -> dict:
    """Both ratios on ``geobox``; items are served item dicts (HTTP hrefs)."""
    import dask
    import pystac
    import torch
    from bench_load import odc_gcp_load

    import xseaice
    from xseaice.inference import default_tile
    from xseaice.models.build import receptive_halo
    from xseaice.models.registry import load_model, resolve_weights
    from xseaice.models.runtime import resolve_precision

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    dask.config.set(scheduler="threads", num_workers=cores)
    s1 = pystac.Item.from_dict(s1_item)
    amsr2 = pystac.Item.from_dict(amsr2_item)
    ny, nx = geobox.shape.yx
    cells = ny * nx

    def run_load() -> np.ndarray:
        ds = xseaice.load([s1], geobox=geobox, chunks=LOAD_CHUNK, amsr2=False)
        return np.asarray(ds[["hh", "hv"]].compute().hh.squeeze().values, dtype="float64")

    def run_odc() -> np.ndarray:
        dn = odc_gcp_load([s1], geobox=geobox, chunk=LOAD_CHUNK).compute().hh.squeeze().values
        return np.where(dn > 0, 10 * np.log10(np.asarray(dn, dtype="float64") ** 2), np.nan)

    load_t, hh = _best({"xseaice.load": run_load, "odc.stac.load": run_odc}, repeat)

    ds = xseaice.load([s1, amsr2], geobox=geobox, chunks=LOAD_CHUNK).compute()
    spec = resolve_weights("default")
    dtype = resolve_precision("auto", torch.device("cpu"))
    net = load_model(spec)[0]
    multiple, halo = int(getattr(net, "size_multiple", 1)), receptive_halo(net)
    tile = default_tile("cpu", "auto")
    tile = max(tile // multiple * multiple, -(-halo // multiple) * multiple)
    bare, windows, n_tiles = _bare_forward(ds, spec, tile=tile, halo=halo, dtype=dtype, cores=cores)

    def run_segment() -> None:
        xseaice.segment(ds).compute()

    runs = {"xseaice.segment": run_segment, "bare forward": bare, WINDOWS: windows}
    seg_t, _ = _best(runs, repeat)
    return {
        "grid": [ny, nx],
        "cores": cores,
        "repeat": repeat,
        "load": {
            "chunk": LOAD_CHUNK,
            "seconds": load_t,
            "mcells_per_s_per_pol": {k: cells / t / 1e6 for k, t in load_t.items()},
            "hh_valid_fraction": {k: float(np.isfinite(v).mean()) for k, v in hh.items()},
            "hh_corr_db_vs_dn_db": _corr(hh["xseaice.load"], hh["odc.stac.load"]),
            "ratio": load_t["odc.stac.load"] / load_t["xseaice.load"],
            "target": 0.8,
        },
        "segment": {
            "tile": tile,
            "halo": halo,
            "bare_tiles": n_tiles,
            "precision": "fp32" if dtype is None else str(dtype).removeprefix("torch."),
            "seconds": seg_t,
            "mpx_per_s": {k: cells / t / 1e6 for k, t in seg_t.items()},
            "ratio": seg_t["bare forward"] / seg_t["xseaice.segment"],
            "ratio_vs_engine_windows": seg_t[WINDOWS] / seg_t["xseaice.segment"],
            "target": 0.75,
        },
    }


def print_table(res: dict[str, Any]) -> None:
    """The two ratios as a table."""
    ny, nx = res["grid"]
    print(f"\nRatios on a {ny} x {nx} crop, {res['cores']} core(s), best of {res['repeat']}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'run':<62} {'seconds':>8} {'rate':>12}")
    seg = res["segment"]
    for part, unit, label in (
        ("load", "mcells_per_s_per_pol", f"hh + hv, chunk {res['load']['chunk']}"),
        ("segment", "mpx_per_s", f"tile {seg['tile']}, {seg['precision']}"),
    ):
        r = res[part]
        for name, t in r["seconds"].items():
            print(f"{name + ' (' + label + ')':<62} {t:8.2f} {r[unit][name]:8.2f} M/s")
        if part == "load":
            print(f"  hh valid fraction {r['hh_valid_fraction']}, correlation xseaice dB vs "
                  f"odc-stac 10 log10 DN^2: {r['hh_corr_db_vs_dn_db']:.3f}")  # fmt: skip
        ok = "meets" if r["ratio"] >= r["target"] else "MISSES"
        print(f"{'  ratio ' + part + ' (reference time / xseaice time)':<62} "
              f"{r['ratio']:8.2f}   {ok} >= {r['target']}")  # fmt: skip
