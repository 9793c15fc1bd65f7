"""Loading Sentinel-1 GRD: graph construction and throughput, xseaice vs rioxarray / stackstac.

Run: ``python benchmarks/bench_load.py [--size 2048] [--chunks 128 256 512 1024 2048]``.

1. **Graph construction** for a full EW scene: the real Planetary Computer GRD item of
   ``shared/data/real`` (footprint about 410 x 400 km) loaded with :func:`xseaice.load`
   onto its default EPSG:3413 grid at 40 m (about 13 000 x 13 000 cells); for each chunk
   size, the time to build the lazy dataset (median of 5, imports excluded) and its task
   count.  Building reads nothing, so the item's files need not exist.
2. **Throughput** on the same files (a synthetic ``size`` x ``size`` EW scene written as a
   GRD SAFE by :mod:`xseaice.synthetic`, local GeoTIFFs), onto the scene's own grid:

   - ``xseaice.load``: GCP (TPS) geocoding, calibration, thermal-noise removal, dB, HH +
     HV + incidence angle;
   - ``rioxarray + GDAL warp (GCP)``: ``open_rasterio`` + ``rio.reproject`` with the
     TIFF's GCPs (GDAL's default GCP polynomial), HH + HV digital numbers only (no
     calibration, no noise removal);
   - ``stackstac``: ``stackstac.stack`` of HH + HV digital numbers from the item's
     ``proj:*`` metadata (made up for GCP-only GRD); stackstac 0.5 cannot open a raster
     without a CRS, so this row reports the failure instead of a time.

   Each row gives the wall time of ``.compute()`` (threads scheduler, median of 3),
   output cells per second (per polarisation), and the correlation of the HH result with
   the synthetic truth (dB vs 10 log10 DN^2): near 1 only when the pixels are where they
   belong.

3. **GCP GRD over HTTP, xseaice vs odc-stac** on the same files: a synthetic
   ``http-size`` x ``http-size`` EW scene served by the repository's loopback HTTP server
   (``tests/conftest.py serve``, Range requests), HH + HV onto the scene's grid with the
   same chunks (threads scheduler, median of ``repeat``):

   - ``xseaice.load``: GCP (TPS) geocoding, calibration, thermal-noise removal, dB;
   - ``odc.stac.load``: odc-stac's own GCP support (``odc.geo`` ``GCPGeoBox`` from the
     TIFF's GCPs, GDAL warp), digital numbers only.

   Errors against the synthetic truth: the correlation of HH with the truth (dB vs
   10 log10 DN^2), the geolocation shift (dy, dx, output pixels) of HH against the truth
   (sub-pixel correlation peak), and for xseaice the sigma0 error (median |dB error|); DN
   carry no sigma0, so odc-stac's row has none.

Prints three tables and writes ``benchmarks/results/bench_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from xseaice.io.atomic import atomic_path

HERE = Path(__file__).resolve().parent
REAL = HERE.parent.parent / "shared" / "data" / "real"
REAL_ITEM = REAL / "S1A_EW_GRDM_1SDH_20221130T014342_stac_item.json"


def _median_time(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def graph_rows(chunks: list[int]) -> list[dict[str, Any]]:
    import pystac

    from xseaice.stac.loading import load

    item = pystac.Item.from_dict(json.loads(REAL_ITEM.read_text()))
    load([item], chunks=2048, amsr2=False)  # warm-up: imports, pyproj/GDAL init
    rows = []
    for c in chunks:
        seconds, ds = _median_time(lambda c=c: load([item], chunks=c, amsr2=False), 5)
        nchunks = len(ds.hh.chunks[1]) * len(ds.hh.chunks[2])
        rows.append(
            {
                "chunk": c,
                "shape": list(ds.hh.shape[1:]),
                "chunks": nchunks,
                "tasks": len(ds.__dask_graph__()),
                "tasks_per_chunk": len(ds.__dask_graph__()) / nchunks,
                "build_seconds": seconds,
            }
        )
    return rows


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 100:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _dn_db(dn: np.ndarray) -> np.ndarray:
    d = dn.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, 10 * np.log10(d**2), np.nan)


def throughput_rows(size: int, chunk: int, repeat: int) -> tuple[list[dict[str, Any]], dict]:
    import dask
    import pystac
    import rioxarray
    from rasterio.enums import Resampling

    from xseaice import synthetic
    from xseaice.stac.loading import load

    scene = synthetic.make_scene(7, shape=(size, size), time="2023-01-04T07:10:00")
    truth = scene.dataset.hh.isel(time=0).values
    gbox = scene.geobox
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cat = pystac.read_file(str(synthetic.write_stac(scene, Path(tmp))))
        item = next(i for i in cat.get_items(recursive=True) if i.collection_id == "sentinel-1-grd")
        item.make_asset_hrefs_absolute()
        cells = size * size

        def run_xseaice() -> np.ndarray:
            ds = load([item], geobox=gbox, chunks=chunk, amsr2=False)
            with dask.config.set(scheduler="threads"):
                out = ds[["hh", "hv", "incidence_angle"]].compute()
            return out.hh.isel(time=0).values

        def run_rioxarray() -> np.ndarray:
            out = []
            for pol in ("hh", "hv"):
                da = rioxarray.open_rasterio(item.assets[pol].href, chunks={"x": chunk, "y": chunk})
                warped = da.rio.reproject(
                    gbox.crs.to_wkt(),
                    shape=gbox.shape.yx,
                    transform=gbox.affine,
                    gcps=da.rio.get_gcps(),
                    resampling=Resampling.bilinear,
                    nodata=0,
                )
                out.append(warped.isel(band=0).values)
            return out[0]

        def run_stackstac() -> np.ndarray:
            import stackstac

            x0, y0, x1, y1 = gbox.extent.boundingbox.bbox
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = stackstac.stack(
                    [item], assets=["hh", "hv"], epsg=3413, resolution=float(gbox.resolution.x),
                    bounds=(x0, y0, x1, y1), chunksize=chunk, dtype="float64",
                    fill_value=np.nan, resampling=Resampling.bilinear,
                )  # fmt: skip
                with dask.config.set(scheduler="threads"):
                    out = arr.compute()
            return out.isel(time=0, band=0).values

        for name, fn, kind in (
            ("xseaice.load (calibrated, denoised, GCP TPS)", run_xseaice, "db"),
            ("rioxarray + GDAL warp (GCP polynomial, DN)", run_rioxarray, "dn"),
            ("stackstac (item proj:transform, DN)", run_stackstac, "dn"),
        ):
            try:
                fn()  # warm-up: GDAL caches, imports
            except Exception as exc:  # a method that cannot read GCP-only GRD at all
                rows.append(
                    {"method": name, "seconds": None, "mcells_per_s_per_pol": None,
                     "hh_corr_with_truth": None, "error": f"{type(exc).__name__}: {exc}"}
                )  # fmt: skip
                continue
            seconds, hh = _median_time(fn, repeat)
            hh = np.asarray(hh, dtype="float64")
            if hh.shape != truth.shape:
                corr = float("nan")
            else:
                corr = _corr(hh if kind == "db" else _dn_db(hh), truth)
            rows.append(
                {
                    "method": name,
                    "seconds": seconds,
                    "mcells_per_s_per_pol": cells * 2 / seconds / 1e6,
                    "hh_corr_with_truth": corr,
                    "output_shape": list(hh.shape),
                }
            )
    return rows, {"size": size, "chunk": chunk}


def _shift(a: np.ndarray, b: np.ndarray, reach: int = 3) -> tuple[float, float]:
    """Sub-pixel (dy, dx) with a[y, x] ~ b[y + dy, x + dx]: correlation peak + parabola."""
    h, w = a.shape
    best = np.full((2 * reach + 1, 2 * reach + 1), -np.inf)
    aa = a[reach : h - reach, reach : w - reach]
    for i, dy in enumerate(range(-reach, reach + 1)):
        for j, dx in enumerate(range(-reach, reach + 1)):
            bb = b[reach + dy : h - reach + dy, reach + dx : w - reach + dx]
            ok = np.isfinite(aa) & np.isfinite(bb)
            best[i, j] = np.corrcoef(aa[ok], bb[ok])[0, 1]
    i, j = (int(v) for v in np.unravel_index(np.argmax(best), best.shape))
    if not (0 < i < 2 * reach and 0 < j < 2 * reach):
        return float("nan"), float("nan")

    def vertex(m: float, c: float, p: float) -> float:
        return 0.5 * (m - p) / (m - 2 * c + p)

    dy = i - reach + vertex(best[i - 1, j], best[i, j], best[i + 1, j])
    dx = j - reach + vertex(best[i, j - 1], best[i, j], best[i, j + 1])
    return float(dy), float(dx)


def _serve(root: Path) -> tuple[Any, str]:
    """The repository's loopback file server (Range requests) over ``root``."""
    import subprocess
    import sys

    conftest = HERE.parent / "tests" / "conftest.py"
    proc = subprocess.Popen(
        [sys.executable, str(conftest), "serve", str(root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, f"http://127.0.0.1:{int(proc.stdout.readline().strip())}"


def odc_gcp_load(items: list[Any], *, geobox: Any, chunk: int) -> Any:
    """odc-stac's own GCP load of the GRD ``hh`` and ``hv`` assets (DN, lazy).

    ``odc.stac.load`` geolocates a GCP-only TIFF through ``odc.geo``'s ``GCPGeoBox`` and
    GDAL's warp (bilinear), onto ``geobox`` in ``chunk`` x ``chunk`` blocks; float32, 0 is
    nodata.  Shared with ``bench_scene.py --ratios``.
    """
    import odc.stac

    odc.stac.configure_rio(cloud_defaults=True)
    return odc.stac.load(
        items, bands=["hh", "hv"], geobox=geobox, chunks={"x": chunk, "y": chunk},
        resampling="bilinear", dtype="float32", nodata=0,
    )  # fmt: skip


def gcp_http_rows(size: int, chunk: int, repeat: int) -> tuple[list[dict[str, Any]], dict]:
    """xseaice's GCP GRD path against odc-stac's GCP support, same files over HTTP."""
    import dask
    import pystac

    from xseaice import synthetic
    from xseaice.stac.loading import load

    scene = synthetic.make_scene(7, shape=(size, size), time="2023-01-04T07:10:00")
    truth = scene.dataset.hh.isel(time=0).values
    gbox = scene.geobox
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _serve(Path(tmp))
        try:
            cat = pystac.read_file(
                str(synthetic.write_stac(scene, Path(tmp) / "http", href_base=f"{url}/http"))
            )
            item = next(
                i for i in cat.get_items(recursive=True) if i.collection_id == "sentinel-1-grd"
            )

            def run_xseaice() -> np.ndarray:
                ds = load([item], geobox=gbox, chunks=chunk, amsr2=False)
                with dask.config.set(scheduler="threads"):
                    return ds[["hh", "hv"]].compute().hh.isel(time=0).values

            def run_odc() -> np.ndarray:
                ds = odc_gcp_load([item], geobox=gbox, chunk=chunk)
                with dask.config.set(scheduler="threads"):
                    return ds.compute().hh.isel(time=0).values

            for name, fn, kind in (
                ("xseaice.load (GCP TPS, calibrated, dB)", run_xseaice, "db"),
                ("odc.stac.load (GCPGeoBox + GDAL warp, DN)", run_odc, "dn"),
            ):
                fn()  # warm-up: imports, GDAL caches
                seconds, hh = _median_time(fn, repeat)
                hh = np.asarray(hh, dtype="float64")
                db = hh if kind == "db" else _dn_db(np.where(hh > 0, hh, np.nan))
                dy, dx = _shift(db, truth)
                err = np.abs(db - truth) if kind == "db" else None
                rows.append(
                    {
                        "method": name,
                        "seconds": seconds,
                        "mcells_per_s_per_pol": size * size * 2 / seconds / 1e6,
                        "hh_corr_with_truth": _corr(db, truth),
                        "shift_px": [dy, dx],
                        "sigma0_median_abs_err_db": (
                            None if err is None else float(np.nanmedian(err))
                        ),
                        "valid_fraction": float(np.isfinite(db).mean()),
                    }
                )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return rows, {"size": size, "chunk": chunk, "transport": "loopback HTTP (Range)"}


def _print_gcp_http(rows: list[dict[str, Any]], setup: dict) -> None:
    print(
        f"\nGCP GRD over HTTP, synthetic {setup['size']}x{setup['size']} EW scene, "
        f"chunk {setup['chunk']}, HH + HV"
    )
    print(
        f"{'method':<44} {'seconds':>8} {'Mcell/s/pol':>12} {'corr':>6} {'shift dy,dx px':>15} "
        f"{'sigma0 |err| dB':>15}"
    )
    for r in rows:
        err = r["sigma0_median_abs_err_db"]
        shift = f"{r['shift_px'][0]:+.2f},{r['shift_px'][1]:+.2f}"
        print(
            f"{r['method']:<44} {r['seconds']:>8.2f} {r['mcells_per_s_per_pol']:>12.2f} "
            f"{r['hh_corr_with_truth']:>6.3f} {shift:>15} "
            f"{'n/a (DN)' if err is None else f'{err:.3f}':>15}"
        )
    if len(rows) == 2:
        print(f"time ratio xseaice / odc-stac: {rows[0]['seconds'] / rows[1]['seconds']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--chunk", type=int, default=1024, help="chunk for the throughput runs")
    parser.add_argument("--chunks", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--http-size", type=int, default=1024, help="scene of section 3")
    parser.add_argument(
        "--only-gcp-http",
        action="store_true",
        help="run section 3 only (writes bench_load_gcp_http.json)",
    )
    args = parser.parse_args(argv)
    if args.only_gcp_http:
        gcp_rows, gcp_setup = gcp_http_rows(args.http_size, args.chunk, args.repeat)
        _print_gcp_http(gcp_rows, gcp_setup)
        _write(
            "bench_load_gcp_http.json",
            {"benchmark": "load-gcp-http", "gcp_http": {**gcp_setup, "rows": gcp_rows}},
        )
        return 0

    graph = graph_rows(args.chunks)
    print("Graph construction, full EW scene (real PC item footprint), 40 m, EPSG:3413")
    print(
        f"{'chunk':>6} {'grid':>13} {'chunks':>7} {'tasks':>7} {'tasks/chunk':>11} {'build s':>8}"
    )
    for r in graph:
        grid = f"{r['shape'][0]}x{r['shape'][1]}"
        print(
            f"{r['chunk']:>6} {grid:>13} {r['chunks']:>7} {r['tasks']:>7} "
            f"{r['tasks_per_chunk']:>11.2f} {r['build_seconds']:>8.3f}"
        )
    rows, setup = throughput_rows(args.size, args.chunk, args.repeat)
    print(
        f"\nThroughput, synthetic {args.size}x{args.size} EW scene, local GeoTIFFs, "
        f"chunk {args.chunk}"
    )
    print(f"{'method':<48} {'seconds':>8} {'Mcell/s/pol':>12} {'corr(hh, truth)':>16}")
    for r in rows:
        if r["seconds"] is None:
            print(f"{r['method']:<48} fails: {r['error'][:70]}")
            continue
        print(
            f"{r['method']:<48} {r['seconds']:>8.2f} {r['mcells_per_s_per_pol']:>12.2f} "
            f"{r['hh_corr_with_truth']:>16.3f}"
        )
    gcp_rows, gcp_setup = gcp_http_rows(args.http_size, args.chunk, args.repeat)
    _print_gcp_http(gcp_rows, gcp_setup)
    result = {
        "benchmark": "load",
        "graph": graph,
        "throughput": {**setup, "rows": rows},
        "gcp_http": {**gcp_setup, "rows": gcp_rows},
    }
    _write("bench_load.json", result)
    return 0


def _write(name: str, result: dict[str, Any]) -> None:
    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count()}
    out = HERE / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    raise SystemExit(main())
