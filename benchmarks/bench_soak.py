"""Soak: concurrent ``xseaice.search`` and small ``xseaice.load`` requests with injected faults.

Run: ``nice -n 5 python benchmarks/bench_soak.py [--requests 200] [--workers 16] [--cap 240]``.

Servers (all on 127.0.0.1): the test suite's stac-fastapi-pgstac API holding the synthetic
world and its Range-capable HTTP file server (``benchmarks/_servers.py``), plus a black-hole
socket that accepts TCP connections and never answers (a stall).  Each request is a search
(against the API) or a load of a ``--crop`` x ``--crop`` pixel window of a served scene
(``.compute()``, Sentinel-1 HH + HV), with one fault drawn at random:

* loads read through a per-request alias folder of the file server (a symlink), so that the
  server's ``fail`` switch injects faults into that request only: HTTP 500 or a dropped
  connection on the HH measurement file, once (transient: the retries should absorb it)
  or always (persistent); or the HH file is redirected to the black hole (a stall longer
  than the timeout);
* searches go to a file-server path answering 500 or dropping the connection, or to the
  black hole; fault-free ones go to the API.

Checks: every failure must be an ``XSeaIceError`` subclass whose message names the host
(127.0.0.1), and a stall's must name the timeout; a fault-free or transient request must
succeed; a successful load must equal the fault-free reference load of the same crop
(no NaN where the reference has data, same values), a successful search must return the
reference search's item ids.  The run stops by itself: no request starts after ``--cap``
seconds and every wait has a timeout.  RSS is sampled every 0.5 s.

Prints a table and writes ``benchmarks/results/bench_soak.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
BBOX = (-8.0, 79.5, -2.0, 80.5)
DAY = "2023-01-05"
FAULTS = ("none", "500-once", "drop-once", "500-always", "drop-always", "stall")
SEARCH_FAULTS = ("none", "500-always", "drop-always", "stall")


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Sampler(threading.Thread):
    """RSS of this process every ``every`` seconds until stopped."""

    def __init__(self, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self.stop = every, [], threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic() - self.t0, _rss()))
            self.stop.wait(self.every)


def black_hole() -> socket.socket:
    """A listening loopback socket that never accepts: connections stall."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    return sock


def build_world(root: Path, fs: Any) -> tuple[list[dict], list[dict], Any]:
    """The conftest world (three 256 px scenes) written under ``root/http`` for ``fs``."""
    import conftest

    from xseaice import synthetic

    scenes = [
        synthetic.make_scene(seed, shape=conftest.WORLD_SHAPE, time=when, center=centre)
        for seed, when, centre in conftest.WORLD_SCENES
    ]
    remote = synthetic.write_stac(scenes, root / "http", href_base=fs.href(root / "http"))
    cols, items = conftest._catalog_dicts(Path(remote))
    return cols, items, scenes[2]  # the 2023-01-05 scene


def crops(scene: Any, size: int, n: int) -> list[Any]:
    """``n`` crops of ``size`` px inside the scene grid (a fixed pseudo-random choice)."""
    gb = scene.geobox
    rng = np.random.default_rng(0)
    ny, nx = gb.shape
    out = []
    for _ in range(n):
        y, x = (int(rng.integers(16, d - size - 16)) for d in (ny, nx))
        out.append(gb[y : y + size, x : x + size])
    return out


def _load(items: list[Any], geobox: Any, patch: Any, timeout: float) -> np.ndarray:
    import xseaice

    ds = xseaice.load(items, geobox=geobox, chunks=64, amsr2=False, patch_url=patch,
                      timeout=timeout, retries=3)  # fmt: skip
    return np.stack([ds.hh.values, ds.hv.values])


def _search(catalog: str, timeout: float) -> list[str]:
    import xseaice

    res = xseaice.search(BBOX, DAY, catalog=catalog, sensors="sentinel-1", timeout=timeout)
    return sorted(it.id for it in res.sentinel1)


class Soak:
    """State shared by the requests: servers, references and the fault plan."""

    def __init__(self, fs: Any, api: str, hole: str, root: Path, items: list[Any],
                 grids: list[Any], timeout: float) -> None:  # fmt: skip
        self.fs, self.api, self.hole, self.root = fs, api, hole, root
        self.items, self.grids, self.timeout = items, grids, timeout
        self.base = fs.href(root / "http")
        self.hh = items[0].assets["hh"].href
        self.ref_search = _search(api, timeout)
        self.ref_load = [_load(items, g, None, timeout) for g in grids]

    def request(self, i: int, kind: str, fault: str, crop: int) -> dict[str, Any]:
        rec: dict[str, Any] = {"i": i, "kind": kind, "fault": fault, "crop": crop}
        t = time.monotonic()
        try:
            if kind == "search":
                ok = self._search(i, fault) == self.ref_search
            else:
                got = self._load(i, fault, crop)
                ref = self.ref_load[crop]
                has = np.isfinite(ref)
                ok = bool(np.isfinite(got[has]).all() and np.allclose(got[has], ref[has]))
                rec["nan_where_reference_has_data"] = int((~np.isfinite(got[has])).sum())
            rec["outcome"] = "ok" if ok else "partial"
        except Exception as exc:  # classify every failure
            rec["error_type"] = type(exc).__name__
            rec["error"] = str(exc)[:1500]
            rec["outcome"] = self._classify(exc, fault)
            if rec["outcome"] == "unclear":
                rec["traceback"] = traceback.format_exc()[-1500:]
        rec["seconds"] = time.monotonic() - t
        return rec

    def _classify(self, exc: BaseException, fault: str) -> str:
        from xseaice.exceptions import XSeaIceError

        msg = str(exc)
        clear = isinstance(exc, XSeaIceError) and "127.0.0.1" in msg
        if fault == "stall":
            clear = clear and ("timeout" in msg.lower() or "timed out" in msg.lower())
        return "clear error" if clear else "unclear"

    def _search(self, i: int, fault: str) -> list[str]:
        if fault == "none":
            return _search(self.api, self.timeout)
        if fault == "stall":
            return _search(f"{self.hole}/api{i}", self.timeout)
        path = f"{self.fs.url}/api{i}"
        self.fs.fail(path, status=500 if fault.startswith("500") else None,
                     drop=fault.startswith("drop"))  # fmt: skip
        return _search(path, self.timeout)

    def _load(self, i: int, fault: str, crop: int) -> np.ndarray:
        alias = self.root / f"a{i}"
        alias.symlink_to(self.root / "http", target_is_directory=True)
        new = f"{self.fs.url}/a{i}"
        hh = self.hh.replace(self.base, new, 1)
        if fault == "stall":
            hh_target = f"{self.hole}/a{i}/hh.tiff"
        else:
            hh_target = hh
            if fault != "none":
                self.fs.fail(hh, status=500 if fault.startswith("500") else None,
                             drop=fault.startswith("drop"),
                             times=1 if fault.endswith("once") else None)  # fmt: skip

        def patch(href: str) -> str:
            href = href.replace(self.base, new, 1)
            return hh_target if href == hh else href

        return _load(self.items, self.grids[crop], patch, self.timeout)


def plan(n: int, ncrops: int, seed: int) -> list[tuple[int, str, str, int]]:
    """Request ``i``: (i, kind, fault, crop); half of each kind fault-free."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = "search" if i % 2 else "load"
        faults = SEARCH_FAULTS if kind == "search" else FAULTS
        fault = "none" if rng.random() < 0.5 else rng.choice(faults[1:])
        out.append((i, kind, fault, rng.randrange(ncrops)))
    return out


def run(soak: Soak, jobs: list[tuple[int, str, str, int]], workers: int, cap: float) -> dict:
    start = time.monotonic()
    records: list[dict[str, Any]] = []

    def one(job: tuple[int, str, str, int]) -> dict[str, Any] | None:
        if time.monotonic() - start > cap:
            return None  # the wall-clock cap: start nothing new
        return soak.request(*job)

    pool = ThreadPoolExecutor(workers)
    futures = [pool.submit(one, j) for j in jobs]
    done, pending = wait(futures, timeout=cap + 40 * soak.timeout)
    pool.shutdown(wait=False, cancel_futures=True)
    records = [r for f in done if (r := f.result()) is not None]
    hung = len(pending)
    return {"records": records, "hung": hung, "wall": time.monotonic() - start}


def summarise(records: list[dict]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted(
        {(r["kind"], r["fault"]) for r in records}, key=lambda k: (k[0], FAULTS.index(k[1]))
    )
    for kind, fault in [*keys, ("all", "all")]:
        rs = [r for r in records if kind == "all" or (r["kind"], r["fault"]) == (kind, fault)]
        secs = np.array([r["seconds"] for r in rs])
        count = {
            o: sum(r["outcome"] == o for r in rs)
            for o in ("ok", "clear error", "unclear", "partial")
        }
        p50, p99 = (float(np.percentile(secs, p)) for p in (50, 99))
        rows.append(
            {"kind": kind, "fault": fault, "n": len(rs), **count, "p50_s": p50, "p99_s": p99}
        )
    return rows


def print_table(rows: list[dict], extra: dict) -> None:
    print(f"\n{'request':<8} {'fault':<12} {'n':>4} {'ok':>4} {'clear err':>9} {'unclear':>7} "
          f"{'partial':>7} {'p50 s':>7} {'p99 s':>7}")  # fmt: skip
    for r in rows:
        print(
            f"{r['kind']:<8} {r['fault']:<12} {r['n']:>4} {r['ok']:>4} {r['clear error']:>9} "
            f"{r['unclear']:>7} {r['partial']:>7} {r['p50_s']:7.2f} {r['p99_s']:7.2f}"
        )
    for k, v in extra.items():
        print(f"{k}: {v}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--crops", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--cap", type=float, default=240.0, help="seconds; no request starts after")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import pystac
    from _servers import _conftest, file_server, stac_api

    _conftest()  # puts tests/ on the path for `import conftest`
    hole = black_hole()
    hole_url = f"http://127.0.0.1:{hole.getsockname()[1]}"
    with tempfile.TemporaryDirectory(prefix="xseaice-soak-") as tmp, file_server(Path(tmp)) as fs:
        cols, items, scene = build_world(Path(tmp), fs)
        with stac_api(cols, items) as api:
            s1 = [
                pystac.Item.from_dict(d)
                for d in items
                if d["collection"] == "sentinel-1-grd"
                and d["properties"]["datetime"].startswith(DAY)
            ]
            soak = Soak(
                fs, api, hole_url, Path(tmp), s1, crops(scene, args.crop, args.crops), args.timeout
            )
            jobs = plan(args.requests, args.crops, args.seed)
            sampler = Sampler()
            sampler.start()
            res = run(soak, jobs, args.workers, args.cap)
            sampler.stop.set()
            sampler.join()
    hole.close()
    records, samples = res["records"], sampler.samples
    rows = summarise(records)
    rss = [r for _, r in samples]
    q = max(1, len(rss) // 4)
    extra = {
        "requests run / planned": f"{len(records)} / {len(jobs)} (hung: {res['hung']})",
        "wall s": round(res["wall"], 1),
        "success rate (fault-free + transient)": _rate(records, ("none", "500-once", "drop-once")),
        "RSS MB start / end / peak": " / ".join(
            f"{v / 1e6:.0f}" for v in (rss[0], rss[-1], max(rss))
        ),
        "RSS MB median first / last quarter": (
            f"{np.median(rss[:q]) / 1e6:.0f} / {np.median(rss[-q:]) / 1e6:.0f}"
        ),
    }
    print_table(rows, extra)
    bad = [r for r in records if r["outcome"] in ("unclear", "partial")]
    for r in bad[:10]:
        why = f"{r.get('error_type')}: {r.get('error', '')[:300]}"
        print(f"  #{r['i']} {r['kind']} {r['fault']}: {r['outcome']} {why}")
    out = {"benchmark": "soak", "args": vars(args), "rows": rows, "summary": extra,
           "records": records, "rss_samples": samples,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "loadavg_end": os.getloadavg()}}  # fmt: skip
    path = HERE / "results" / "bench_soak.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    os.replace(tmp_path, path)
    print(f"wrote {path}")
    sys.stdout.flush()
    os._exit(0 if not bad and not res["hung"] else 1)  # hung threads must not keep us alive


def _rate(records: list[dict], faults: tuple[str, ...]) -> str:
    rs = [r for r in records if r["fault"] in faults]
    ok = sum(r["outcome"] == "ok" for r in rs)
    return f"{ok}/{len(rs)} = {100 * ok / max(len(rs), 1):.1f} %"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
