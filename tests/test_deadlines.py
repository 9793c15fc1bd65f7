"""Issue 17: a dropped connection is not a missing file, and ``timeout=`` bounds a call.

A loopback file server (conftest's handler, in a thread) that resets (TCP RST) or stalls
the requests of chosen paths serves the synthetic world's files.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
from conftest import _Handler

import xseaice
from xseaice.exceptions import AssetReadError, CatalogError, InvalidArgumentError
from xseaice.io.amsr2 import read_amsr2
from xseaice.stac.loading import load

BBOX = (-6.0, 79.8, -4.0, 80.2)


class _Faulty(_Handler):
    """The conftest file handler; a request whose path matches a rule is reset or stalled.

    A rule: ``{"kind": "drop" | "reset" | "stall", "has": [substrings], "ends": [suffixes],
    "not": [substrings], "times": n or None}``; ``GET /__done__`` lists how often each
    rule was applied.
    """

    server: Any

    def _special(self) -> bool:
        srv = self.server
        path = self.path.split("?")[0]
        if path == "/__done__":
            body = json.dumps([r["done"] for r in srv.rules]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        for rule in srv.rules:
            if not _matches(rule, path):
                continue
            with srv.lock:
                if rule["times"] is not None and rule["done"] >= rule["times"]:
                    return False
                rule["done"] += 1
            self.close_connection = True
            if rule["kind"] == "drop":  # FIN without an answer ("empty reply")
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
            elif rule["kind"] == "reset":  # RST: close at once with a zero linger
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.rfile.close()  # the file objects hold the socket open
                self.wfile.close()
                self.connection.close()
            else:  # stall: accept, read the request, never answer
                time.sleep(60)
            return True
        return False

    def do_HEAD(self) -> None:
        if not self._special():
            super().do_HEAD()

    def do_GET(self) -> None:
        if not self._special():
            super().do_GET()


def _matches(rule: dict[str, Any], path: str) -> bool:
    return (
        all(h in path for h in rule.get("has", ()))
        and (not rule.get("ends") or path.endswith(tuple(rule["ends"])))
        and not any(n in path for n in rule.get("not", ()))
    )


def _serve(root: str, rules: str) -> None:
    """Entry point of the server process (its own GIL: GDAL holds the test's)."""
    handler = functools.partial(_Faulty, directory=root)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.log, srv.faults, srv.lock = [], {}, threading.Lock()  # type: ignore[attr-defined]
    srv.rules = [{**r, "done": 0} for r in json.loads(rules)]  # type: ignore[attr-defined]
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


class FaultyServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def done(self) -> list[int]:
        with urllib.request.urlopen(f"{self.url}/__done__", timeout=10) as r:
            return list(json.loads(r.read()))


@contextlib.contextmanager
def faulty_server(root: Path, *rules: dict[str, Any]) -> Iterator[FaultyServer]:
    proc = subprocess.Popen(
        [sys.executable, __file__, str(root), json.dumps([{"times": None, **r} for r in rules])],
        stdout=subprocess.PIPE, text=True, cwd=str(Path(__file__).parent),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield FaultyServer(f"http://127.0.0.1:{int(proc.stdout.readline())}")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])


def _items_on(url: str, world: Any, base: str) -> list[pystac.Item]:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.http_catalog), sensors="sentinel-1")
    it = res.sentinel1[0].clone()
    for asset in it.assets.values():
        asset.href = asset.href.replace(base, url)
    return [it]


def _measurement(pol: str, kind: str, times: int | None = None) -> dict[str, Any]:
    return {"kind": kind, "has": ["/measurement/", f"-{pol}-"], "times": times}


def _truth(world: Any) -> np.ndarray:
    return np.asarray(world.scenes[0].dataset.hh.isel(time=0).values)


# ---------------------------------------------------------------------------------------
# 1. a dropped connection when GDAL opens a COG is not a missing file
# ---------------------------------------------------------------------------------------


def test_reset_connections_of_a_cog_are_retried(
    world: Any, served_root: Path, file_server: Any
) -> None:
    with faulty_server(served_root, _measurement("hh", "reset", times=2)) as faulty:
        items = _items_on(faulty.url, world, file_server.url)
        hh = load(items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False).hh.compute()
        assert faulty.done() == [2]
    assert np.median(np.abs(hh.isel(time=0).values - _truth(world))) < 0.02


def test_an_earlier_dropped_open_is_not_taken_for_a_missing_file(
    world: Any, served_root: Path, file_server: Any
) -> None:
    """GDAL remembers a dropped open as "does not exist"; that must not end a later load
    (it did: the text was taken for a 404 and not retried)."""
    geobox = world.scenes[0].geobox
    with faulty_server(served_root, _measurement("hh", "drop", times=1)) as faulty:
        items = _items_on(faulty.url, world, file_server.url)
        with pytest.raises(AssetReadError, match="'hh'"):
            load(items, geobox=geobox, chunks=256, amsr2=False, retries=0).hh.compute()
        # the server is fine again: a new load must read it, not call it missing
        hh = load(items, geobox=geobox, chunks=256, amsr2=False, retries=2).hh.compute()
    assert np.median(np.abs(hh.isel(time=0).values - _truth(world))) < 0.02


def test_a_cog_that_always_resets_gives_a_clear_error(
    world: Any, served_root: Path, file_server: Any
) -> None:
    with faulty_server(served_root, _measurement("hh", "reset")) as faulty:
        items = _items_on(faulty.url, world, file_server.url)
        ds = load(items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False, retries=2)
        with pytest.raises(AssetReadError) as err:
            ds.hh.compute()
        done = faulty.done()[0]
    msg = str(err.value)
    assert "'hh'" in msg and faulty.url.split("//")[1] in msg
    assert "3 GDAL open+read attempt(s)" in msg and "GET of its first byte gave" in msg
    assert "HTTP 404" not in msg
    assert done >= 3 + 2  # three opens, a probe after each of the first two


def test_a_404_is_still_missing_at_once(world: Any, file_server: Any) -> None:
    items = _items_on(file_server.url, world, file_server.url)
    href = items[0].assets["hh"].href
    items[0].assets["hh"].href = href.replace(".tiff", "-gone.tiff")
    start = time.monotonic()
    ds = load(items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False, retries=3)
    with pytest.raises(AssetReadError, match="HTTP 404") as err:
        ds.hh.compute()
    assert "1 GDAL open+read attempt(s)" in str(err.value)  # not retried
    assert time.monotonic() - start < 5  # no backoff: 0.5 + 1 + 2 s if it were retried


# ---------------------------------------------------------------------------------------
# 2./3. timeout= is a deadline for the whole call
# ---------------------------------------------------------------------------------------


def _ends_in_time(timeout: float, call: Callable[[], Any], error: type[Exception]) -> str:
    start = time.monotonic()
    with pytest.raises(error) as err:
        call()
    elapsed = time.monotonic() - start
    # a correctness bound on a deadline (not a speed measurement): before, each of the
    # 4 attempts x 3 GDAL tries x several requests waited the whole timeout
    assert elapsed < 4 * timeout + 4, elapsed
    return str(err.value)


@pytest.mark.parametrize("stalled", ["measurement", "everything"])
def test_a_stalled_load_ends_at_its_timeout(
    world: Any, served_root: Path, file_server: Any, stalled: str
) -> None:
    rule = _measurement("hh", "stall") if stalled == "measurement" else {"kind": "stall"}
    with faulty_server(served_root, rule) as faulty:
        items = _items_on(faulty.url, world, file_server.url)
        ds = load(
            items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False, timeout=2, retries=5
        )  # without a deadline, 6 attempts of 2 s (and backoff) per read
        msg = _ends_in_time(2, ds.hh.compute, AssetReadError)
    assert "timeout of 2 s" in msg and faulty.url.split("//")[1] in msg


def test_a_stalled_static_catalog_ends_at_the_search_timeout(world: Any, served_root: Path) -> None:
    root = Path(world.http_catalog).resolve().relative_to(served_root.resolve())
    rule = {"kind": "stall", "ends": [".json"], "not": ["catalog.json"]}
    with faulty_server(served_root, rule) as faulty:
        url = f"{faulty.url}/{root.as_posix()}?token=SECRET"

        def run() -> Any:
            return xseaice.search(BBOX, "2023-01-04", catalog=url, timeout=1.5)

        msg = _ends_in_time(1.5, run, CatalogError)
    assert "timeout of 1.5 s" in msg and "127.0.0.1" in msg and "SECRET" not in msg


def test_read_amsr2_has_a_timeout(served_root: Path) -> None:
    with faulty_server(served_root, {"kind": "stall", "ends": [".he5"]}) as faulty:
        url = f"{faulty.url}/AMSR_U2_L3_SeaIce12km_B04_20230104.he5"
        msg = _ends_in_time(1, functools.partial(read_amsr2, url, timeout=1), AssetReadError)
        with pytest.raises(InvalidArgumentError, match="timeout"):
            read_amsr2(url, timeout=0)
    assert "timeout of 1 s" in msg and faulty.url.split("//")[1] in msg


def test_load_passes_its_timeout_to_amsr2(world: Any, served_root: Path, file_server: Any) -> None:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.http_catalog))
    assert res.amsr2, "the world has AMSR-2 for that day"
    rule = {"kind": "stall", "ends": [".he5", ".nc", ".tif"]}
    with faulty_server(served_root, rule) as faulty:
        amsr = [it.clone() for it in res.amsr2]
        for it in amsr:
            for asset in it.assets.values():
                asset.href = asset.href.replace(file_server.url, faulty.url)
        ds = load(
            [*res.sentinel1[:1], *amsr], geobox=world.scenes[0].geobox, chunks=256, timeout=1.5
        )
        msg = _ends_in_time(1.5, ds.tb18h.compute, AssetReadError)
    assert "timeout of 1.5 s" in msg


def test_retries_stop_when_the_deadline_would_pass(
    world: Any, flaky_server: Any, file_server: Any
) -> None:
    items = _items_on(flaky_server.url, world, file_server.url)
    flaky_server.fail(items[0].assets["hh"].href, status=503)
    ds = load(items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False, timeout=2, retries=8)
    msg = _ends_in_time(2, ds.hh.compute, AssetReadError)  # 8 retries: 0.5 + 1 + ... 64 s
    assert "HTTP 503" in msg and "no retry fits" in msg and "timeout of 2 s" in msg
    assert 2 <= flaky_server.served(items[0].assets["hh"].href) <= 8


@pytest.mark.parametrize("timeout", [0, -3, float("nan"), "60", True])
def test_bad_load_timeout_is_refused_when_building(world: Any, timeout: Any) -> None:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    with pytest.raises(InvalidArgumentError, match="timeout"):
        load(res, timeout=timeout)


class _SlowPages(http.server.BaseHTTPRequestHandler):
    """A STAC API whose search pages each take 0.6 s and never end (items elsewhere)."""

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        path = self.path.split("?")[0]
        if path in ("", "/"):
            self._json({
                "type": "Catalog", "id": "slow", "description": "slow pages",
                "stac_version": "1.0.0",
                "conformsTo": ["https://api.stacspec.org/v1.0.0/core",
                               "https://api.stacspec.org/v1.0.0/collections",
                               "https://api.stacspec.org/v1.0.0/item-search"],
                "links": [{"rel": "self", "href": base}, {"rel": "root", "href": base},
                          {"rel": "search", "href": f"{base}/search", "method": "GET"}],
            })  # fmt: skip
        elif path == "/collections":
            extent = {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                      "temporal": {"interval": [[None, None]]}}  # fmt: skip
            self._json({"links": [], "collections": [{
                "type": "Collection", "id": "sentinel-1-grd", "stac_version": "1.0.0",
                "description": "d", "license": "proprietary", "extent": extent, "links": [],
            }]})  # fmt: skip
        elif path == "/search":
            time.sleep(0.6)
            page = int(dict(urllib.parse.parse_qsl(self.path.partition("?")[2])).get("page", 0))
            item = {
                "type": "Feature", "stac_version": "1.0.0", "id": f"far-{page}",
                "geometry": {"type": "Point", "coordinates": [100.0, 0.0]},
                "bbox": [100.0, 0.0, 100.0, 0.0], "links": [], "assets": {},
                "properties": {"datetime": "2023-01-04T00:00:00Z"},
            }  # fmt: skip
            nxt = {"rel": "next", "href": f"{base}/search?page={page + 1}", "method": "GET"}
            self._json({"type": "FeatureCollection", "features": [item], "links": [nxt]})
        else:
            self._json({"code": "NotFound"}, 404)

    do_POST = do_GET


def test_a_search_that_pages_forever_ends_at_its_timeout() -> None:
    """Every page answers within the timeout; the whole search must not outlast it."""
    from conftest import serve_handler

    with serve_handler(_SlowPages) as url:

        def run() -> Any:
            return xseaice.search(BBOX, "2023-01-04", catalog=url, sensors="sentinel-1", timeout=2)

        msg = _ends_in_time(2, run, CatalogError)
    assert "timeout of 2 s" in msg and "127.0.0.1" in msg
