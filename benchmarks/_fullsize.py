"""Shared parts of the full-size benchmarks: a process-tree memory sampler and tiled scenes.

The synthetic world takes minutes for a 4096 px scene and grows faster than the pixel
count, so a full-size input (an EW scene at 40 m is about 10000 x 10000 px) is a
synthetic tile repeated to the size wanted.  The content repeats, the cost of a call
(per pixel, per window) does not depend on it; accuracy is scored on untiled scenes.

The tiled input is written to a zarr store and opened with dask chunks, so that the
memory measured is what the call under test loads, not the input held by the script.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["Measure", "open_lazy", "tile_dataset"]


class Measure:
    """Wall time, CPU time and peak RSS of this process and its children (psutil sampler).

    Use as a context manager; after the block, ``wall_s``, ``cpu_s`` (user + system of
    the process tree), ``peak_rss_mib`` (largest sampled sum of resident set sizes),
    ``start_rss_mib`` (before the block) and ``samples`` are set.
    """

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process(os.getpid())
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peak = 0
        self.samples = 0

    def _tree(self) -> list[Any]:
        import psutil

        try:
            return [self._proc, *self._proc.children(recursive=True)]
        except psutil.Error:
            return [self._proc]

    def _rss(self) -> int:
        import psutil

        total = 0
        for p in self._tree():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _cpu(self) -> float:
        t = self._proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._rss())
            self.samples += 1

    def __enter__(self) -> Measure:
        self.start_rss_mib = self._rss() / 2**20
        self.peak = self._rss()
        self._cpu0, self._t0 = self._cpu(), time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.cpu_s = self._cpu() - self._cpu0
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.peak_rss_mib = self.peak / 2**20

    def row(self) -> dict[str, float]:
        """The measurements as a dict (for the JSON rows)."""
        return {
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "start_rss_mib": self.start_rss_mib,
            "peak_rss_mib": self.peak_rss_mib,
            "rss_samples": self.samples,
        }


def tile_dataset(ds: xr.Dataset, size: int) -> xr.Dataset:
    """``ds`` (dims ``y``, ``x`` and maybe ``time``) repeated to ``size x size`` pixels.

    The x/y coordinates continue with the tile's pixel spacing from its first pixel, so
    the result is a regular grid in the same CRS.
    """
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    reps_y, reps_x = -(-size // ny), -(-size // nx)
    x0, y0 = float(ds.x[0]), float(ds.y[0])
    dx, dy = float(ds.x[1] - ds.x[0]), float(ds.y[1] - ds.y[0])
    out = {}
    for name, da in ds.data_vars.items():
        if "y" not in da.dims or "x" not in da.dims:
            continue
        reps = [reps_y if d == "y" else reps_x if d == "x" else 1 for d in da.dims]
        arr = np.tile(np.asarray(da.values), reps)
        idx = tuple(slice(0, size) if d in ("y", "x") else slice(None) for d in da.dims)
        out[name] = (da.dims, arr[idx], da.attrs)
    coords: dict[str, Any] = {
        "y": ("y", y0 + dy * np.arange(size), ds.y.attrs),
        "x": ("x", x0 + dx * np.arange(size), ds.x.attrs),
    }
    for name in ("time", "spatial_ref"):
        if name in ds.coords:
            coords[name] = ds.coords[name]
    return xr.Dataset(out, coords=coords, attrs=ds.attrs)


def open_lazy(ds: xr.Dataset, path: Path, chunk: int = 2048) -> xr.Dataset:
    """Write ``ds`` to a zarr store at ``path`` and open it again with dask chunks."""
    import shutil

    if path.exists():
        shutil.rmtree(path)
    chunks = {d: chunk for d in ("y", "x")}
    ds.chunk(chunks).to_zarr(path, mode="w", consolidated=False)  # stored = read chunks
    return xr.open_zarr(path, chunks=chunks, consolidated=False)
