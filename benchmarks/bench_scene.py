"""A full Sentinel-1 EW scene through the whole chain: wall time, CPU time, peak RSS, stages.

Run: ``python benchmarks/bench_scene.py [--size full|2048|0.25] [--keep] [--cores 2]
[--products DIR] [--out NAME]``;
``--ratios --size 2048`` measures only the ratios of ``load`` to a raw odc-stac DN load and
of ``segment`` to a bare forward of the prepared module (``benchmarks/scene_ratios.py``).

**The product.**  A Sentinel-1 EW GRDM 1SDH product on the *real* annotation of
``S1A_EW_GRDM_1SDH_20221130T014342_..._BB15`` (``../shared/data/real``: 10487 samples x
10708 lines, HH + HV, 483 geolocation-grid points), with its own digital numbers: a
synthetic sea-ice world (:func:`xseaice.synthetic.make_scene` at 250 m over the swath) is
sampled at every radar pixel through the annotation's geolocation grid, multiplied by
Gamma speckle (ENL 10) and put through the real ``sigmaNought`` LUT and thermal noise,
``DN = sqrt(A**2 * sigma0 * speckle + eta)``, so every DN is >= 1.  The measurements are
tiled (256), deflate-compressed GeoTIFFs with overviews and the annotation's grid as GCPs,
written by the project's own SAFE writer; the annotation XML and manifest are the real
files.  The same world gives an AU_SI12-like AMSR-2 file of the same day
(:func:`xseaice.synthetic.write_amsr2_he5`) and a SIGRID-3 ice chart.  Built once into a
cache folder (``--cache``; about 3 minutes) and reused while its marker file is there.

**The chain**, with the defaults a user gets from ``xseaice segment --bbox ... --chart``:
the files are served by a loopback HTTP server with ``Range`` support and found through a
loopback stac-fastapi-pgstac API (the servers of ``tests/conftest.py``); then, in a child
process pinned to ``--cores`` CPUs: ``xseaice.search`` (the item's bbox and day),
``xseaice.load`` (default grid; ``--size`` N or a fraction loads an N x N or a central
crop instead, for quick runs), ``xseaice.io.icechart.read_icechart`` and
``xseaice.workflow.write_products`` (segment, ALS with ``preserve`` = the chart,
binarize, topology, concentration per polygon, Zarr + COGs + GeoPackage + GeoParquet +
figure).

**Measured**: wall time and CPU time (user + system) of the child, the peak RSS of its
process tree (``/proc`` sampled every 0.2 s from the parent, in a thread), and per stage:
search, load (graph), the chart, and every dask ``compute`` inside ``write_products``
(labelled by its task prefixes) with its wall time, CPU time and peak RSS; the time
between computes is reported as such.  At the highest RSS of each compute it also records
the bytes of the results dask holds, per task prefix (what holds the memory).  Prints a
table and writes ``benchmarks/results/bench_scene_<size>.json`` (``--out NAME``:
``NAME.json``); ``--products DIR`` keeps the products there (for
``benchmarks/profile_products.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "real"
REAL_SAFE = REAL / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15"
REAL_ITEM = REAL / "S1A_EW_GRDM_1SDH_20221130T014342_stac_item.json"
DAY = "2022-11-30"
WORLD_PIXEL = 250.0
BLOCK_LINES = 512

# ---------------------------------------------------------------------------------------
# building the product
# ---------------------------------------------------------------------------------------


def _grid_xy(geo: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lines, pixels and EPSG:3413 x, y (lines x pixels) of the geolocation grid."""
    from pyproj import Transformer

    lines, pixels = np.unique(geo.line), np.unique(geo.pixel)
    shape = (lines.size, pixels.size)
    lon = np.asarray(geo.longitude).reshape(shape)
    lat = np.asarray(geo.latitude).reshape(shape)
    x, y = Transformer.from_crs(4326, 3413, always_xy=True).transform(lon, lat)
    return lines, pixels, np.asarray(x), np.asarray(y)


def _rows_interp(grid: np.ndarray, lines: np.ndarray, pixels: np.ndarray, r: np.ndarray,
                 width: int) -> np.ndarray:  # fmt: skip
    """Bilinear in (line, pixel) of a lines x pixels grid at rows ``r``, all pixels."""
    cols = np.arange(width, dtype="float64")
    along = np.stack([np.interp(cols, pixels, g) for g in grid])  # grid lines x width
    k = np.clip(np.searchsorted(lines, r, side="right") - 1, 0, lines.size - 2)
    t = ((r - lines[k]) / (lines[k + 1] - lines[k]))[:, None]
    return along[k] * (1 - t) + along[k + 1] * t


def _world(geo: Any, seed: int) -> Any:
    """A synthetic scene at 250 m covering the swath (its sigma0, AMSR-2 and chart)."""
    from pyproj import Transformer

    from xseaice import synthetic

    _, _, x, y = _grid_xy(geo)
    side = max(x.max() - x.min(), y.max() - y.min()) + 20e3
    n = int(np.ceil(side / WORLD_PIXEL))
    cx, cy = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
    lon, lat = Transformer.from_crs(3413, 4326, always_xy=True).transform(cx, cy)
    when = json.loads(REAL_ITEM.read_text())["properties"]["datetime"][:19]
    return synthetic.make_scene(
        seed, shape=(n, n), pixel_size=WORLD_PIXEL, center=(lon, lat), time=when
    )


def _dn(world: Any, geo: Any, cal: Any, noise: Any, pol: str, seed: int) -> np.ndarray:
    """uint16 DN of one polarisation, block by block of lines (bounded memory)."""
    from xseaice.io.sentinel1_sampling import noise_at, sigma0_lut_at

    lines, pixels, gx, gy = _grid_xy(geo)
    h, w = geo.shape
    db = world.dataset[pol].isel(time=0).values
    s0 = np.power(10.0, db / 10.0, dtype="float32")
    aff = world.geobox.affine
    rng = np.random.default_rng([seed, 1 if pol == "hh" else 2])
    out = np.empty((h, w), dtype="uint16")
    cc = np.arange(w, dtype="float64")[None, :]
    for r0 in range(0, h, BLOCK_LINES):
        r = np.arange(r0, min(r0 + BLOCK_LINES, h), dtype="float64")
        x = _rows_interp(gx, lines, pixels, r, w)
        y = _rows_interp(gy, lines, pixels, r, w)
        col = np.clip(((x - aff.c) / aff.a).astype(np.int64), 0, s0.shape[1] - 1)
        row = np.clip(((y - aff.f) / aff.e).astype(np.int64), 0, s0.shape[0] - 1)
        sigma0 = s0[row, col] * rng.gamma(10.0, 0.1, size=row.shape).astype("float32")
        a = sigma0_lut_at(cal, r[:, None], cc)
        eta = noise_at(noise, r[:, None], cc)
        dn = np.sqrt(a * a * sigma0 + np.maximum(eta, 0.0))
        out[r0 : r0 + r.size] = np.clip(np.rint(dn), 1, 65535).astype("uint16")
    return out


def _s1_item(safe: Path, measurement: dict[str, Path]) -> dict[str, Any]:
    """The real Planetary Computer item, assets pointing at the built SAFE (paths)."""
    d = json.loads(REAL_ITEM.read_text())
    d["collection"] = "sentinel-1-grd"
    d["links"] = []
    ann = safe / "annotation"
    assets: dict[str, Any] = {"safe-manifest": {**d["assets"]["safe-manifest"],
                                                "href": str(safe / "manifest.safe")}}  # fmt: skip
    for p in ("hh", "hv"):
        for key, path in (
            (f"schema-product-{p}", ann / f"ew-{p}.xml"),
            (f"schema-calibration-{p}", ann / "calibration" / f"calibration-ew-{p}.xml"),
            (f"schema-noise-{p}", ann / "calibration" / f"noise-ew-{p}.xml"),
            (p, measurement[p]),
        ):
            assets[key] = {**d["assets"][key], "href": str(path)}
    d["assets"] = assets
    return d


def build(cache: Path, seed: int = 7) -> dict[str, Any]:
    """Write the product, AMSR-2 file, chart and item dicts into ``cache`` (once)."""
    marker = cache / "built.json"
    if marker.exists():
        return json.loads(marker.read_text())
    from xseaice.io import sentinel1
    from xseaice.synthetic import write_amsr2_he5
    from xseaice.synthetic.safe import _write_measurement
    from xseaice.synthetic.stac import AMSR2_COLLECTION, amsr2_item

    t0 = time.perf_counter()
    cache.mkdir(parents=True, exist_ok=True)
    ann = REAL_SAFE / "annotation"
    geo = sentinel1.read_geolocation(ann / "ew-hh.xml")
    world = _world(geo, seed)
    print(f"world {world.geobox.shape.yx} at {WORLD_PIXEL:.0f} m: "
          f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    safe = cache / f"{REAL_SAFE.name}.SAFE"
    if safe.exists():
        shutil.rmtree(safe)
    shutil.copytree(ann, safe / "annotation")
    shutil.copy(REAL_SAFE / "manifest.safe", safe / "manifest.safe")
    (safe / "measurement").mkdir()
    gcp = {"line": geo.line, "pixel": geo.pixel, "latitude": geo.latitude,
           "longitude": geo.longitude, "height": geo.height}  # fmt: skip
    measurement = {}
    for p in ("hh", "hv"):
        cal = sentinel1.read_calibration(ann / "calibration" / f"calibration-ew-{p}.xml")
        noise = sentinel1.read_noise(ann / "calibration" / f"noise-ew-{p}.xml")
        dn = _dn(world, geo, cal, noise, p, seed)
        stem = f"s1a-ew-grd-{p}-20221130t014342-20221130t014446-046117-058549"
        path = safe / "measurement" / f"{stem}-00{1 if p == 'hh' else 2}.tiff"
        _write_measurement(path, dn, gcp)
        measurement[p] = path
        print(f"{p}: DN {int(dn.min())}..{int(dn.max())}, {path.stat().st_size / 1e6:.0f} MB, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        del dn
    he5 = write_amsr2_he5(
        world, cache / "amsr2" / f"AMSR_U2_L3_SeaIce12km_B04_{DAY.replace('-', '')}.he5"
    )
    amsr = amsr2_item(np.datetime64(DAY), he5, ["north"])
    amsr.collection_id = AMSR2_COLLECTION
    chart = cache / "chart.gpkg"
    world.chart.drop(columns=["true_concentration"]).to_file(chart)
    info = {
        "s1_item": _s1_item(safe, measurement),
        "amsr2_item": amsr.to_dict(include_self_link=False, transform_hrefs=False),
        "chart": str(chart),
        "world_ice_fraction": float(world.truth["ice"].mean()) if "ice" in world.truth else None,
        "build_seconds": time.perf_counter() - t0,
    }
    marker.write_text(json.dumps(info))
    return info


# ---------------------------------------------------------------------------------------
# serving, and the chain in a child process
# ---------------------------------------------------------------------------------------


def _collections(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for cid in sorted({i["collection"] for i in items}):
        out.append(
            {"type": "Collection", "stac_version": "1.0.0", "id": cid, "description": cid,
             "license": "proprietary", "links": [],
             "extent": {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
                        "temporal": {"interval": [["2015-01-01T00:00:00Z", None]]}}}
        )  # fmt: skip
    return out


def _served(d: dict[str, Any], fs: Any) -> dict[str, Any]:
    d = json.loads(json.dumps(d))
    d["links"] = []
    for a in d["assets"].values():
        a["href"] = fs.href(a["href"])
    return d


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _run_child(config: dict[str, Any], max_rss: float) -> tuple[dict[str, Any], list]:
    """Run the chain in a child process; sample its tree's RSS every 0.2 s."""
    with tempfile.TemporaryDirectory(prefix="xseaice-scene-") as tmp:
        cfg, res = Path(tmp) / "config.json", Path(tmp) / "result.json"
        output = config.get("products") or str(Path(tmp) / "products")
        config = {**config, "output": output, "result": str(res)}
        cfg.write_text(json.dumps(config))
        proc = subprocess.Popen([sys.executable, __file__, "--chain", str(cfg)])
        samples: list[tuple[float, int]] = []
        killed = False
        while proc.poll() is None:
            rss = _tree_rss(proc.pid)
            samples.append((time.time(), rss))
            if rss > max_rss and not killed:
                print(f"RSS {rss / 1e9:.1f} GB over --max-rss-gb: stopping", flush=True)
                proc.kill()
                killed = True
            time.sleep(0.2)
        if not res.exists():
            return {"error": f"chain exited with {proc.returncode}", "killed": killed}, samples
        return json.loads(res.read_text()), samples


class _Phases:
    """A dask callback recording every compute: wall, CPU and task time per prefix."""

    def __init__(self) -> None:
        from dask.callbacks import Callback

        self.phases: list[dict[str, Any]] = []
        self.stage = ""
        self._lock = threading.Lock()
        self._starts: dict[Any, float] = {}
        outer = self

        class CB(Callback):
            def _start(self, dsk: Any) -> None:
                outer.phases.append({"stage": outer.stage, "t0": time.time(),
                                     "cpu0": time.process_time(), "tasks": {}})  # fmt: skip

            def _pretask(self, key: Any, dsk: Any, state: Any) -> None:
                with outer._lock:
                    outer._starts[key] = time.perf_counter()

            def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
                from dask.utils import key_split

                with outer._lock:
                    dt = time.perf_counter() - outer._starts.pop(key, time.perf_counter())
                    tasks = outer.phases[-1]["tasks"]
                    tasks[key_split(key)] = tasks.get(key_split(key), 0.0) + dt
                    outer._held(state)

            def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
                ph = outer.phases[-1]
                ph["t1"], ph["cpu1"] = time.time(), time.process_time()

        self.callback = CB()
        self._next_held = 0.0

    def _held(self, state: Any) -> None:
        """Every 0.5 s: the process RSS and the bytes of the results dask holds, per task
        prefix; the phase keeps the snapshot taken at its highest RSS (what held it)."""
        now = time.perf_counter()
        if now < self._next_held:
            return
        self._next_held = now + 0.5
        from dask.sizeof import sizeof
        from dask.utils import key_split

        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        ph = self.phases[-1]
        if rss <= ph.get("held_rss", 0):
            return
        held: dict[str, int] = {}
        for k, v in list(state["cache"].items()):
            held[key_split(k)] = held.get(key_split(k), 0) + int(sizeof(v))
        ph["held_rss"] = rss
        ph["held_at"] = time.time()
        ph["held"] = dict(sorted(held.items(), key=lambda kv: -kv[1])[:12])
        ph["held_total"] = sum(held.values())
        ph["running"] = len(state["running"])


def chain(config_path: str) -> None:
    """The child: search, load, chart, write_products, recording stages and phases."""
    import resource

    import dask

    config = json.loads(Path(config_path).read_text())
    cores = int(config["cores"])
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    dask.config.set(scheduler="threads", num_workers=cores)
    rec = _Phases()
    stages: list[dict[str, Any]] = []
    t_start = time.time()

    def stage(name: str, fn: Any) -> Any:
        rec.stage = name
        t0, c0 = time.time(), time.process_time()
        out = fn()
        stages.append({"stage": name, "t0": t0, "t1": time.time(), "cpu0": c0,
                       "cpu1": time.process_time()})  # fmt: skip
        return out

    error = None
    with rec.callback:
        try:
            import xseaice
            from xseaice.io.icechart import read_icechart
            from xseaice.workflow import write_products

            result = stage("search", lambda: xseaice.search(config["bbox"], DAY,
                                                            catalog=config["api"]))  # fmt: skip
            kwargs: dict[str, Any] = {}
            if config.get("geobox"):
                from odc.geo.geobox import GeoBox

                x0, y0, x1, y1 = config["geobox"]
                kwargs["geobox"] = GeoBox.from_bbox((x0, y0, x1, y1), "EPSG:3413", resolution=40)
            ds = stage("load (graph)", lambda: xseaice.load(result, **kwargs))
            chart = stage("read chart", lambda: read_icechart(config["chart"]))
            products = stage("write_products", lambda: write_products(
                ds, config["output"], chart=chart, preserve=chart, progress=False,
                overwrite=bool(config.get("overwrite"))))  # fmt: skip
            summary = {k: v for k, v in products.summary.items()}
            sizes = {k: _du(Path(p)) for k, p in products.files.items()}
        except Exception as exc:  # report what failed, with the stages that ran
            error = f"{type(exc).__name__}: {exc}"
            summary, sizes = {}, {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "grid": list(ds.sizes.values()) if error is None else None,
        "grid_shape": [int(ds.sizes["y"]), int(ds.sizes["x"])] if error is None else None,
        "wall_seconds": time.time() - t_start,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "stages": stages,
        "phases": rec.phases,
        "summary": summary,
        "file_bytes": sizes,
        "error": error,
    }
    Path(config["result"]).write_text(json.dumps(out, default=str))


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------


def _peak(samples: list, t0: float, t1: float) -> float:
    inside = [r for t, r in samples if t0 <= t <= t1]
    return max(inside) / 1e9 if inside else float("nan")


#: write_products' computes, recognised by their task prefixes (first match wins).
_KINDS = (
    ("segment", "load + segment -> Zarr (ice_logit)"),
    ("block_region_hist", "ALS + binarize + topology -> Zarr"),
    ("relabel", "ALS + binarize + topology -> Zarr"),
    ("block_zonal", "concentration per polygon"),
    ("s1-load", "figure (recomputes the scene)"),
    ("amsr2-load", "figure (recomputes the scene)"),
    ("histogram", "figure (stored products, one compute)"),
)


def _kind(tasks: dict[str, float], previous: str) -> str:
    for needle, kind in _KINDS:
        if any(needle in k for k in tasks):
            return kind
    return previous if previous.startswith("figure") else "COGs + summaries"


def table(res: dict[str, Any], samples: list) -> list[dict[str, Any]]:
    """One row per stage; write_products split by its dask computes (the time before a
    compute - graph building, GDAL, matplotlib - counts with that compute's stage)."""
    rows: list[dict[str, Any]] = []

    def add(name: str, t0: float, t1: float, c0: float, c1: float) -> None:
        if rows and rows[-1]["stage"] == name:
            r = rows[-1]
            r["wall"] += t1 - t0
            r["cpu"] += c1 - c0
            r["peak_gb"] = max(r["peak_gb"], _peak(samples, t0, t1))
            r["computes"] += 1
        else:
            rows.append({"stage": name, "wall": t1 - t0, "cpu": c1 - c0,
                         "peak_gb": _peak(samples, t0, t1), "computes": 1})  # fmt: skip

    for st in res["stages"]:
        if st["stage"] != "write_products":
            add(st["stage"], st["t0"], st["t1"], st["cpu0"], st["cpu1"])
            continue
        t, c, kind = st["t0"], st["cpu0"], "load + segment -> Zarr (ice_logit)"
        for ph in [p for p in res["phases"] if p["stage"] == "write_products" and "t1" in p]:
            kind = _kind(ph["tasks"], kind)
            add(f"  {kind}", t, ph["t1"], c, ph["cpu1"])
            t, c = ph["t1"], ph["cpu1"]
        add(f"  {kind}", t, st["t1"], c, st["cpu1"])
        add("write_products (total)", st["t0"], st["t1"], st["cpu0"], st["cpu1"])
    return rows


def _print_held(phases: list[dict[str, Any]]) -> None:
    """At each compute's highest RSS: the bytes dask held as results, by task prefix."""
    kind = "load + segment -> Zarr (ice_logit)"
    for ph in phases:
        if "t1" not in ph:
            continue
        kind = _kind(ph["tasks"], kind)
        if "held" not in ph or ph["held_rss"] < 1e9:
            continue
        top = ", ".join(f"{k} {v / 1e6:.0f}" for k, v in list(ph["held"].items())[:5])
        print(f"  at {ph['held_rss'] / 1e9:.2f} GB RSS in {kind.strip()}: dask held "
              f"{ph['held_total'] / 1e9:.2f} GB ({top} MB), {ph['running']} running")  # fmt: skip


def _crop(info: dict[str, Any], size: str) -> tuple[list[float], list[float] | None]:
    """Search bbox and (for a crop) the EPSG:3413 bounds of the central crop."""
    from pyproj import Transformer

    bbox = info["s1_item"]["bbox"]
    if size == "full":
        return bbox, None
    from xseaice.io import sentinel1

    _, _, x, y = _grid_xy(sentinel1.read_geolocation(REAL_SAFE / "annotation" / "ew-hh.xml"))
    cx, cy = round(float(x.mean()) / 40) * 40, round(float(y.mean()) / 40) * 40
    value = float(size)
    side = value * 40 if value > 1 else value * 10500 * 40
    half = round(side / 80) * 40
    box = [cx - half, cy - half, cx + half, cy + half]
    lon, lat = Transformer.from_crs(3413, 4326, always_xy=True).transform(
        [box[0], box[2], box[0], box[2]], [box[1], box[1], box[3], box[3]]
    )
    return [min(lon), min(lat), max(lon), max(lat)], box


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
    return names[0] if names else platform.processor()


def _run_ratios(args: argparse.Namespace, info: dict[str, Any], crop: list[float]) -> int:
    """``--ratios``: serve the files, measure both ratios in this process, report."""
    from _servers import file_server
    from odc.geo.geobox import GeoBox
    from scene_ratios import print_table, ratios

    geobox = GeoBox.from_bbox(tuple(crop), "EPSG:3413", resolution=40)
    try:
        with file_server(args.cache) as fs:
            res = ratios(_served(info["s1_item"], fs), _served(info["amsr2_item"], fs), geobox,
                         cores=args.cores, repeat=args.repeat)  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(args.cache, ignore_errors=True)
    print_table(res)
    out = {"benchmark": "scene-ratios", "size": args.size, "crop_epsg3413": crop, **res,
           "command": "python benchmarks/bench_scene.py " + " ".join(sys.argv[1:]),
           "machine": {"cpu": _cpu_model(), "platform": platform.platform(),
                       "cpus": os.cpu_count(), "loadavg_end": os.getloadavg()}}  # fmt: skip
    path = HERE / "results" / f"bench_scene_ratios_{args.size}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", default="full", help="'full', N (an N x N crop at 40 m) or a side fraction"
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "xseaice-bench-scene")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the built product")
    parser.add_argument("--max-rss-gb", type=float, default=14.0)
    parser.add_argument("--products", type=Path,
                        help="write the products here and keep them (default: a temporary "
                        "folder); benchmarks/profile_products.py re-runs their ALS + "
                        "topology stage from the stored logits")  # fmt: skip
    parser.add_argument("--out", help="result file name stem (default bench_scene_<size>)")
    parser.add_argument(
        "--ratios",
        action="store_true",
        help="only the two ratios (load vs odc-stac, segment vs bare forward) on a crop; "
        "writes bench_scene_ratios_<size>.json (see benchmarks/scene_ratios.py)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="--ratios: best of N runs")
    parser.add_argument("--chain", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.chain:
        chain(args.chain)
        return 0
    if args.ratios and args.size == "full":
        parser.error("--ratios needs a crop: --size N (e.g. 2048) or a side fraction")
    info = build(args.cache)
    bbox, crop = _crop(info, args.size)
    if args.ratios:
        return _run_ratios(args, info, crop)
    from _servers import file_server, stac_api

    try:
        with file_server(args.cache) as fs:
            items = [_served(info["s1_item"], fs), _served(info["amsr2_item"], fs)]
            with stac_api(_collections(items), items) as api:
                config = {"api": api, "bbox": bbox, "geobox": crop, "cores": args.cores,
                          "chart": info["chart"],
                          "products": str(args.products) if args.products else None,
                          "overwrite": True}  # fmt: skip
                res, samples = _run_child(config, args.max_rss_gb * 1e9)
    finally:
        if not args.keep:
            shutil.rmtree(args.cache, ignore_errors=True)
    rows = table(res, samples) if "stages" in res else []
    peak = max((r for _, r in samples), default=0) / 1e9
    print(f"\nFull-scene chain, size {args.size}, grid {res.get('grid_shape')}, "
          f"{args.cores} core(s), load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'stage':<44} {'computes':>8} {'wall s':>8} {'CPU s':>8} {'peak GB':>8}")
    for r in rows:
        print(f"{r['stage']:<44} {r['computes']:>8} {r['wall']:8.1f} {r['cpu']:8.1f} "
              f"{r['peak_gb']:8.2f}")  # fmt: skip
    print(f"{'total (child process)':<53} {res.get('wall_seconds', float('nan')):8.1f} "
          f"{res.get('cpu_seconds', float('nan')):8.1f} {peak:8.2f}")  # fmt: skip
    _print_held(res.get("phases") or [])
    if res.get("error"):
        print(f"ERROR: {res['error']}")
    out = {
        "benchmark": "scene",
        "size": args.size,
        "cores": args.cores,
        "search_bbox": bbox,
        "crop_epsg3413": crop,
        "build_seconds": info.get("build_seconds"),
        "peak_rss_gb": peak,
        "rows": rows,
        "result": {k: v for k, v in res.items() if k not in ("phases",)},
        "phases": res.get("phases"),
        "rss_samples": samples[:: max(1, len(samples) // 2000)],
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_end": os.getloadavg(),
        },
    }
    path = HERE / "results" / f"{args.out or f'bench_scene_{args.size}'}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")
    return 0 if not res.get("error") else 1


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
