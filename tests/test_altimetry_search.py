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


# ---------------------------------------------------------------------------------------
# xseaice.search(..., sensors=[..., "icesat2"]): the same granule rules, with the scenes
# ---------------------------------------------------------------------------------------

PLACE_A = (-14.0, 74.0, -10.0, 76.0)  # the search cases' place A (tests/conftest.py)


def _track(lonlat: list[tuple[float, float]]) -> Any:
    return shapely.geometry.LineString(lonlat).buffer(0.01)


def _place_a_granules() -> list[dict]:
    """ATL10/ATL07 granules around place A on 2022-03-01 (S1 items A-EW-0301-1 and -2)."""
    day = pd.Timestamp("2022-03-01T00:00:00Z")
    cross = _track([(-15.0, 74.5), (-9.0, 75.5)])  # across A-EW-0301-1
    scene2 = _track([(-14.8, 72.8), (-14.2, 73.6)])  # across A-EW-0301-2, outside the box
    corner = _track([(-15.0, 75.5), (-13.0, 77.0)])  # its bbox overlaps A, the track misses
    href = "http://127.0.0.1:9/atl10.h5"
    return [
        _granule("ATL10-A-cross", "ATL10_006", cross, day + pd.Timedelta("10h"), href),
        _granule("ATL10-A-scene2", "ATL10_006", scene2, day + pd.Timedelta("9h"), href),
        _granule("ATL10-A-corner", "ATL10_006", corner, day + pd.Timedelta("11h"), href),
        _granule("ATL10-A-late", "ATL10_006", cross, day + pd.Timedelta("3D"), href),
        _granule("ATL07-A-cross", "ATL07_006", cross, day + pd.Timedelta("10h"), href),
    ]


@pytest.fixture(scope="module")
def with_place_a(granules: dict, pgstac_db: Any) -> list[dict]:
    items = _place_a_granules()
    pgstac_load(pgstac_db, [], items)  # the collections came with `granules`
    return items


@pytest.fixture(scope="module")
def static_with_granules(tmp_path_factory: pytest.TempPathFactory) -> str:
    from conftest import search_cases, write_static_catalog

    cols, items = search_cases()
    cols += [_collection("ATL10_006"), _collection("ATL07_006")]
    path = write_static_catalog(tmp_path_factory.mktemp("s1-atl10"), cols,
                                items + _place_a_granules())  # fmt: skip
    return str(path)


@pytest.fixture(params=["api", "static"])
def catalog_a(request: pytest.FixtureRequest) -> str:
    if request.param == "api":
        request.getfixturevalue("with_place_a")
        return request.getfixturevalue("stac_api")
    return request.getfixturevalue("static_with_granules")


def test_search_finds_the_granules_crossing_the_scenes(catalog_a: str) -> None:
    import xseaice

    res = xseaice.search(PLACE_A, "2022-03-01", catalog=catalog_a,
                         sensors=("sentinel-1", "icesat2"))  # fmt: skip
    assert [it.id for it in res.sentinel1] == ["A-EW-0301-1", "A-EW-0301-2"]
    # the tracks that cross a scene footprint that day, by time; not the one whose bbox
    # only overlaps, not three days later, not the other product
    assert [it.id for it in res.icesat2] == ["ATL10-A-scene2", "ATL10-A-cross"]
    assert res.amsr2 == []
    assert len(res) == 4 and [it.id for it in res][2:] == ["ATL10-A-scene2", "ATL10-A-cross"]
    table = repr(res)
    assert "2 ICESat-2 granule(s)" in table
    rows = [line.split() for line in table.splitlines() if line.startswith("icesat2")]
    assert [r[:4] for r in rows] == [
        ["icesat2", "ATL10-A-scene2", "2022-03-01", "09:00:00"],
        ["icesat2", "ATL10-A-cross", "2022-03-01", "10:00:00"],
    ]


def test_search_icesat2_alone_uses_the_box(catalog_a: str) -> None:
    import xseaice

    res = xseaice.search(PLACE_A, "2022-03-01", catalog=catalog_a, sensors="icesat2")
    assert res.sentinel1 == [] and [it.id for it in res.icesat2] == ["ATL10-A-cross"]
    wide = xseaice.search(PLACE_A, "2022-03-01/2022-03-05", catalog=catalog_a,
                          sensors=["icesat2"])  # fmt: skip
    assert [it.id for it in wide.icesat2] == ["ATL10-A-cross", "ATL10-A-late"]
    with pytest.raises(EmptySearchError, match="no ICESat-2 granule"):
        xseaice.search(PLACE_A, "2022-02-01", catalog=catalog_a, sensors="icesat2")
    # with Sentinel-1 found, no crossing track is an empty list, not an error
    res = xseaice.search(PLACE_A, "2022-03-03", catalog=catalog_a,
                         sensors=("sentinel-1", "icesat2"))  # fmt: skip
    assert [it.id for it in res.sentinel1] == ["A-EW-0303"] and res.icesat2 == []


def test_search_by_ids_takes_the_scene_days(catalog_a: str) -> None:
    import xseaice

    res = xseaice.search(None, None, catalog=catalog_a, ids=["A-EW-0301-1"],
                         sensors=("sentinel-1", "icesat2"))  # fmt: skip
    assert [it.id for it in res.icesat2] == ["ATL10-A-cross"]


def test_search_sends_no_earthdata_token_to_other_hosts(
    with_place_a: list, proxies: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xseaice

    a, url_a, b, _ = proxies
    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    a.log.clear()
    b.log.clear()
    res = xseaice.search(PLACE_A, "2022-03-01", catalog=url_a, sensors=("sentinel-1", "icesat2"))
    assert [it.id for it in res.icesat2] == ["ATL10-A-scene2", "ATL10-A-cross"]
    # a loopback catalog is not an Earthdata host: xseaice.search, which also asks it for
    # Sentinel-1, never hands it the token (search_altimetry(catalog=...) does, by choice)
    assert a.log and all(auth is None for _, _, auth in a.log)
    assert all(auth is None for _, _, auth in b.log)


def test_registered_catalogs_route_icesat2_to_cmr() -> None:
    from xseaice.stac.altimetry import ALTIMETRY_PRODUCTS
    from xseaice.stac.searching import _catalogs_per_sensor

    chosen = _catalogs_per_sensor("planetary-computer", ("sentinel-1", "icesat2"), None)
    assert chosen["sentinel-1"].name == "planetary-computer"
    assert chosen["icesat2"].name == "cmr"
    assert chosen["icesat2"].collections_for("icesat2") == ALTIMETRY_PRODUCTS["ATL10"]
    override = _catalogs_per_sensor("cmr", ("icesat2",), {"icesat2": ["ATL07_006"]})
    assert override["icesat2"].collections_for("icesat2") == ("ATL07_006",)
    with pytest.raises(InvalidArgumentError, match="expected values among"):
        import xseaice

        xseaice.search(PLACE_A, "2022-03-01", catalog="embedded", sensors="icesat3")


def test_cli_search_lists_icesat2(catalog_a: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from xseaice.cli import EXIT_OK, main

    args = ["search", "--bbox", *map(str, PLACE_A), "--datetime", "2022-03-01",
            "--catalog", catalog_a, "--sensors", "sentinel-1", "icesat2"]  # fmt: skip
    assert main([*args, "--json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert [f["id"] for f in doc["features"]] == [
        "A-EW-0301-1", "A-EW-0301-2", "ATL10-A-scene2", "ATL10-A-cross"
    ]  # fmt: skip
    assert main(args) == EXIT_OK
    assert "ATL10-A-cross" in capsys.readouterr().out
