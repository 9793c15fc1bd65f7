"""search_altimetry: ATL10 granules crossing a scene, on a real pgstac STAC API (loopback).

Two recording reverse proxies stand in front of the API: the catalog is opened through
``A``, whose landing page (built from the Host header) links to ``B``; the Earthdata token
must reach ``A`` and never ``B`` (another host:port).
"""

from __future__ import annotations

import datetime as dt
import http.server
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely.affinity
import shapely.geometry
from conftest import pgstac_load, serve_handler

from xseaice.exceptions import EmptySearchError, InvalidArgumentError
from xseaice.io.altimetry import read_altimetry
from xseaice.stac.altimetry import altimetry_assets, search_altimetry

TOKEN = "s3cret-earthdata-token"


class _Proxy:
    """Forwards to ``target`` with Host ``host``; records (method, path, Authorization)."""

    def __init__(self, target: str) -> None:
        self.target, self.host, self.log = target, "", []

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                proxy.log.append((self.command, self.path, self.headers.get("Authorization")))
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                req = urllib.request.Request(proxy.target + self.path, data=body,
                                             method=self.command)  # fmt: skip
                req.add_header("Host", proxy.host)
                if self.headers.get("Content-Type"):
                    req.add_header("Content-Type", self.headers["Content-Type"])
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, ctype, data = r.status, r.headers.get("Content-Type"), r.read()
                except urllib.error.HTTPError as e:
                    status, ctype, data = e.code, e.headers.get("Content-Type"), e.read()
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

        return Handler


@pytest.fixture(scope="module")
def proxies(stac_api: str) -> Iterator[tuple[_Proxy, str, _Proxy, str]]:
    a, b = _Proxy(stac_api), _Proxy(stac_api)
    with serve_handler(a.handler()) as url_a, serve_handler(b.handler()) as url_b:
        b_host = url_b.split("://", 1)[1]
        a.host = b.host = b_host  # A's pages link to B
        yield a, url_a, b, url_b


def _collection(cid: str) -> dict:
    return {
        "type": "Collection", "stac_version": "1.0.0", "id": cid, "license": "proprietary",
        "description": f"{cid} (test)", "links": [],
        "extent": {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
                   "temporal": {"interval": [["2018-10-01T00:00:00Z", None]]}},
    }  # fmt: skip


def _granule(iid: str, coll: str, geom: Any, when: pd.Timestamp, href: str) -> dict:
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": iid, "collection": coll,
        "geometry": shapely.geometry.mapping(geom), "bbox": list(geom.bounds),
        "properties": {"datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "assets": {"data": {"href": href, "roles": ["data"],
                            "type": "application/x-hdf5"}},
        "links": [],
    }  # fmt: skip


@pytest.fixture(scope="module")
def granules(pgstac_db: Any, stac_api: str, file_server: Any, served_root: Path) -> dict:
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.atl10 import write_atl10
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(31, shape=(96, 96))
    pts = simulate_tracks(sc.dataset, make_elevation(sc), mission="icesat2", n_tracks=1, seed=2)
    folder = served_root / "atl10"
    folder.mkdir(exist_ok=True)
    path = Path(write_atl10(pts, folder / "ATL10-01_20230105_synthetic_006_01.h5"))
    t0 = pd.Timestamp(sc.dataset["time"].values.ravel()[0])
    swath = shapely.geometry.MultiPoint(
        list(zip(pts.geometry.x, pts.geometry.y, strict=True))
    ).convex_hull
    swath = swath.buffer(0.002)
    far = shapely.affinity.translate(swath, xoff=4.0)
    href = file_server.href(path)
    items = [
        _granule("ATL10-cross", "ATL10_006", swath, t0 + pd.Timedelta("2h"), href),
        _granule("ATL10-late", "ATL10_006", swath, t0 + pd.Timedelta("10D"), href),
        _granule("ATL10-far", "ATL10_006", far, t0 + pd.Timedelta("1h"), href),
        _granule("ATL07-cross", "ATL07_006", swath, t0 + pd.Timedelta("2h"), href),
    ]
    pgstac_load(pgstac_db, [_collection("ATL10_006"), _collection("ATL07_006")], items)
    return {"scene": sc.dataset, "t0": t0, "path": path, "href": href}


def _window(t0: pd.Timestamp) -> tuple[dt.datetime, dt.datetime]:
    return (t0 - pd.Timedelta("1D")).to_pydatetime(), (t0 + pd.Timedelta("1D")).to_pydatetime()


def test_finds_exactly_the_granules_crossing_scene_and_window(
    granules: dict, proxies: tuple, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    a, url_a, b, _ = proxies
    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    a.log.clear()
    b.log.clear()
    with caplog.at_level(logging.DEBUG):
        found = search_altimetry(granules["scene"], _window(granules["t0"]), catalog=url_a)
    assert [it.id for it in found] == ["ATL10-cross"]
    # the catalog host got the token; the other host the landing page linked to did not
    assert a.log and all(auth == f"Bearer {TOKEN}" for _, _, auth in a.log)
    assert any("search" in p for _, p, _ in b.log)
    assert all(auth is None for _, _, auth in b.log)
    assert TOKEN not in caplog.text  # pystac-client logs request headers at DEBUG
    assert "Bearer <redacted>" in caplog.text
    # ATL07 is another product; asking for it finds its own granule only
    got = search_altimetry(
        granules["scene"], _window(granules["t0"]), catalog=url_a, product="ATL07"
    )
    assert [it.id for it in got] == ["ATL07-cross"]
    # a wider window brings the late pass in
    wide = (granules["t0"] - pd.Timedelta("1D"), granules["t0"] + pd.Timedelta("12D"))
    wide_ids = [it.id for it in search_altimetry(granules["scene"], wide, catalog=url_a)]
    assert wide_ids == ["ATL10-cross", "ATL10-late"]


def test_token_sent_to_the_catalog_itself(granules: dict, proxies: tuple) -> None:
    _, _, b, url_b = proxies
    b.log.clear()
    found = search_altimetry(granules["scene"], _window(granules["t0"]), catalog=url_b,
                             token=TOKEN)  # fmt: skip
    assert [it.id for it in found] == ["ATL10-cross"]
    assert b.log and all(auth == f"Bearer {TOKEN}" for _, _, auth in b.log)
    b.log.clear()
    search_altimetry(granules["scene"], _window(granules["t0"]), catalog=url_b, token="")
    assert b.log and all(auth is None for _, _, auth in b.log)


def test_found_asset_reads_back(granules: dict, proxies: tuple) -> None:
    _, url_a, _, _ = proxies
    found = search_altimetry(granules["scene"], _window(granules["t0"]), catalog=url_a)
    hrefs = altimetry_assets(found)
    assert hrefs == [granules["href"]]
    remote, local = read_altimetry(hrefs[0]), read_altimetry(granules["path"])
    assert len(remote) == len(local) > 0
    np.testing.assert_array_equal(remote["freeboard"].to_numpy(), local["freeboard"].to_numpy())


def test_errors(granules: dict, proxies: tuple) -> None:
    _, url_a, _, _ = proxies
    far_window = ("2001-01-01", "2001-01-02")
    with pytest.raises(EmptySearchError, match="widen the time window"):
        search_altimetry(granules["scene"], far_window, catalog=url_a)
    with pytest.raises(InvalidArgumentError, match="clear text"):
        search_altimetry((0, 70, 1, 71), "2023-01-05", catalog="http://example.invalid/stac",
                         token=TOKEN)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="product="):
        search_altimetry((0, 70, 1, 71), "2023-01-05", catalog=url_a, product="ATL99")
    with pytest.raises(InvalidArgumentError, match="south < north"):
        search_altimetry((0, 71, 1, 70), "2023-01-05", catalog=url_a)


def test_earthdata_token_only_for_nasa_https_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    from xseaice.io.urls import earthdata_headers

    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    cloud = "https://data.nsidc.earthdatacloud.nasa.gov/nsidc-cumulus-prod-protected/ATL10.h5"
    assert earthdata_headers(cloud) == auth
    assert earthdata_headers("https://n5eil01u.ecs.nsidc.org/ATLAS/ATL10.006/x.h5") == auth
    assert earthdata_headers("http://data.nsidc.earthdatacloud.nasa.gov/x.h5") == {}  # clear text
    assert earthdata_headers("https://earthdata.nasa.gov.evil.example/x.h5") == {}
    assert earthdata_headers("https://notnsidc.org/x.h5") == {}
    monkeypatch.delenv("EARTHDATA_TOKEN")
    assert earthdata_headers(cloud) == {}
