"""Concentration per polygon: xseaice vs exactextract, rasterstats and xvec.

Run: ``python benchmarks/bench_zonal.py [--size 10000] [--polygons 1000] [--chunk 2048]``.
A ``size`` x ``size`` float32 ice-probability map at 40 m (EPSG:3413, a NaN strip as no
data) and ``polygons`` chart-like Voronoi polygons tiling it (a few reach past its edge;
each shrunk by half a pixel, since xvec's ``rasterize`` fails on a complete tiling).
Each method computes the mean per polygon; the table gives the wall time, the peak of
Python allocations during the call (``tracemalloc``: numpy buffers, not exactextract's
C++ memory) and the largest difference of the means from exactextract run directly on
the whole raster:

- ``xseaice (dask)``: :func:`xseaice.products.zonal.concentration` on the map in dask blocks;
- ``xseaice (numpy)``: the same on the in-memory map (one block);
- ``exactextract``: ``exact_extract`` on the whole array (the reference);
- ``rasterstats``: ``zonal_stats`` (pixel centres in the polygon, no partial pixels);
- ``xvec exactextract`` / ``xvec rasterize``: ``DataArray.xvec.zonal_stats`` (the latter
  only for sizes up to 4000 unless named: it groups the whole map in memory).

Prints a table and writes ``benchmarks/results/bench_zonal.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PIXEL = 40.0
CRS = "EPSG:3413"


def make_map(size: int, seed: int = 0) -> Any:
    import xarray as xr
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    rng = np.random.default_rng(seed)
    gbox = GeoBox.from_bbox((0.0, -size * PIXEL, size * PIXEL, 0.0), CRS, resolution=PIXEL)
    y = np.linspace(0, 6 * np.pi, size, dtype="float32")[:, None]
    x = np.linspace(0, 4 * np.pi, size, dtype="float32")[None, :]
    values = np.empty((size, size), dtype="float32")
    step = 1000
    for r in range(0, size, step):  # row slabs keep the temporaries small
        smooth = 0.5 + 0.3 * np.sin(y[r : r + step]) * np.cos(x)
        noise = rng.random((min(step, size - r), size), dtype="float32") - 0.5
        values[r : r + step] = np.clip(smooth + 0.4 * noise, 0.0, 1.0)
    values[:, size // 3 : size // 3 + size // 50] = np.nan
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    return xr.DataArray(values, dims=("y", "x"), coords=coords, name="ice_probability")


def make_polygons(size: int, count: int, seed: int = 1) -> Any:
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    extent = size * PIXEL
    pts = rng.uniform(-0.02 * extent, 1.02 * extent, size=(count, 2)) - [0.0, extent]
    frame = shapely.box(-0.02 * extent, -1.02 * extent, 1.02 * extent, 0.02 * extent)
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)
    # shrunk by half a pixel: xvec's "rasterize" fails when polygons cover every pixel
    geoms = [c.intersection(frame).buffer(-0.5 * PIXEL) for c in cells.geoms]
    ct = np.round(rng.uniform(0, 1, size=len(geoms)), 1)
    return gpd.GeoDataFrame({"ct": ct}, geometry=geoms, crs=CRS)


def measure(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    means = np.asarray(fn(), dtype="float64")
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return means, seconds, peak


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--polygons", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--skip", nargs="*", default=None, help="methods to leave out")
    args = parser.parse_args(argv)
    if args.skip is None:
        # xvec "rasterize" groups the whole map in memory: 675 MiB traced at 2000 x 2000,
        # so tens of GiB at 10k x 10k; left out of large runs unless asked for
        args.skip = ["xvec rasterize"] if args.size > 4000 else []

    import rioxarray  # noqa: F401  (.rio for xvec)
    import xvec  # noqa: F401  (.xvec)
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource
    from rasterstats import zonal_stats

    from xseaice.products.zonal import concentration

    amap = make_map(args.size)
    polys = make_polygons(args.size, args.polygons)
    values = amap.values
    gbox = amap.odc.geobox
    lazy = amap.chunk(args.chunk)

    def reference() -> np.ndarray:
        xmin, ymin, xmax, ymax = gbox.extent.boundingbox
        src = NumPyRasterSource(values, xmin, ymin, xmax, ymax, srs_wkt=polys.crs.to_wkt())
        return exact_extract(src, polys, ["mean"], output="pandas")["mean"].to_numpy()

    def rstats() -> np.ndarray:
        res = zonal_stats(
            list(polys.geometry), values, affine=gbox.transform, stats=["mean"], nodata=np.nan
        )
        return np.array([np.nan if r["mean"] is None else r["mean"] for r in res])

    def xvec_method(method: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            arr = amap.rio.write_crs(CRS)
            out = arr.xvec.zonal_stats(
                polys.geometry, x_coords="x", y_coords="y", stats="mean", method=method
            )
            return np.asarray(out.values, dtype="float64")

        return run

    methods: dict[str, Callable[[], np.ndarray]] = {
        "exactextract": reference,
        "xseaice (dask)": lambda: concentration(lazy, polys)["mean"].to_numpy(),
        "xseaice (numpy)": lambda: concentration(amap, polys)["mean"].to_numpy(),
        "rasterstats": rstats,
        "xvec exactextract": xvec_method("exactextract"),
        "xvec rasterize": xvec_method("rasterize"),
    }
    rows = []
    ref = None
    for name, fn in methods.items():
        if name in args.skip:
            rows.append({"method": name, "skipped": True})
            continue
        means, seconds, peak = measure(fn)
        if ref is None:
            ref = means
        both = np.isfinite(means) & np.isfinite(ref)
        rows.append(
            {
                "method": name,
                "seconds": seconds,
                "traced_peak_mib": peak,
                "max_abs_diff_vs_exactextract": float(np.abs(means[both] - ref[both]).max()),
                "nan_mismatch": int((np.isfinite(means) != np.isfinite(ref)).sum()),
            }
        )
        print(f"{name}: {seconds:.2f} s", flush=True)
    print(
        f"\nmean per polygon, {len(polys)} polygons, {args.size} x {args.size} float32 map, "
        f"dask chunks {args.chunk}"
    )
    print(f"{'method':<20} {'seconds':>8} {'traced MiB':>11} {'max |diff|':>11} {'NaN diff':>9}")
    for r in rows:
        if r.get("skipped"):
            print(f"{r['method']:<20} {'skipped':>8}")
            continue
        print(
            f"{r['method']:<20} {r['seconds']:>8.2f} {r['traced_peak_mib']:>11.0f} "
            f"{r['max_abs_diff_vs_exactextract']:>11.2e} {r['nan_mismatch']:>9d}"
        )
    result = {
        "benchmark": "zonal",
        "size": args.size,
        "polygons": len(polys),
        "chunk": args.chunk,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "rows": rows,
    }
    (HERE / "results").mkdir(exist_ok=True)
    tmp = HERE / "results" / "bench_zonal.json.tmp"
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, HERE / "results" / "bench_zonal.json")
    return result


if __name__ == "__main__":
    main()
