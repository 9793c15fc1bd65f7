"""Search over static catalogs and real STAC APIs (stac-fastapi-pgstac on loopback)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import xseaice
from xseaice.exceptions import CatalogError, EmptySearchError, InvalidArgumentError
from xseaice.stac.catalogs import Catalog
from xseaice.stac.items import parse_bbox, parse_datetime
from xseaice.stac.searching import SearchResult, search

A = (-14.0, 74.0, -10.0, 76.0)
AMSR = "AMSR_U2_L3_SeaIce12km_B04_202203{}"


@pytest.fixture(params=["static", "api", "api-basic"])
def catalog(request: pytest.FixtureRequest, cases_catalog: Path) -> str:
    """The same items as a static catalog, a full STAC API and one without query/filter."""
    if request.param == "static":
        return str(cases_catalog)
    if request.param == "api":
        return request.getfixturevalue("stac_api")
    return request.getfixturevalue("stac_api_basic")


def ids(items: list) -> list[str]:
    return [i.id for i in items]


def test_one_day_groups_sensors(catalog: str) -> None:
    res = search(A, "2022-03-01", catalog=catalog)
    assert ids(res.sentinel1) == ["A-EW-0301-1", "A-EW-0301-2"]
    assert ids(res.amsr2) == [AMSR.format("01")]
    assert len(res) == 3
    assert ids(list(res)) == ["A-EW-0301-1", "A-EW-0301-2", AMSR.format("01")]
    assert res.dates == [dt.date(2022, 3, 1)]


def test_range_and_amsr2_whole_days(catalog: str) -> None:
    res = search(A, "2022-03-01T07:00:00Z/2022-03-03T09:00:00Z", catalog=catalog)
    assert ids(res.sentinel1) == ["A-EW-0301-1", "A-EW-0301-2", "A-EW-0303"]
    # AMSR-2 files of every day touched by the interval, even outside its hours
    assert ids(res.amsr2) == [AMSR.format(d) for d in ("01", "02", "03")]


def test_mode_and_polarizations_filter(catalog: str) -> None:
    res = search(A, "2022-03-01", catalog=catalog, mode="IW", polarizations=("VV", "VH"))
    assert ids(res.sentinel1) == ["A-IW-0301"]
    res = search(A, "2022-03-05", catalog=catalog, polarizations="HH", sensors="sentinel-1")
    assert ids(res.sentinel1) == ["A-EWHH-0305"]
    assert res.amsr2 == []


def test_missing_polarization_says_which(catalog: str) -> None:
    with pytest.raises(EmptySearchError) as err:
        search(A, "2022-03-05", catalog=catalog)
    msg = str(err.value)
    assert "HV" in msg and "polarizations=('HH',)" in msg


def test_wrong_mode_says_which(catalog: str) -> None:
    with pytest.raises(EmptySearchError) as err:
        search(A, "2022-03-01", catalog=catalog, mode="SM")
    assert "['EW', 'IW']" in str(err.value) and "mode='EW'" in str(err.value)


def test_empty_search_gives_the_fix(catalog: str) -> None:
    with pytest.raises(EmptySearchError) as err:
        search((40.0, 60.0, 41.0, 61.0), "2022-03-01", catalog=catalog)
    assert "Widen datetime" in str(err.value)


def test_antimeridian_box(catalog: str) -> None:
    res = search((176.0, 70.0, -176.0, 72.0), "2022-03-02", catalog=catalog, sensors="sentinel-1")
    assert ids(res.sentinel1) == ["B-EW-east", "B-EW-west"]
    res = search((176.0, 70.0, 179.0, 72.0), "2022-03-02", catalog=catalog, sensors="sentinel-1")
    assert ids(res.sentinel1) == ["B-EW-east"]


def test_south_and_pole(catalog: str) -> None:
    res = search((-168.0, -76.5, -162.0, -75.5), "2022-03-01", catalog=catalog)
    assert ids(res.sentinel1) == ["C-EW-ross"]
    assert res.amsr2 == []  # the AMSR-2 test files are northern
    # a box reaching the pole around all longitudes finds the northern scenes
    res = search((-180.0, 73.0, 180.0, 90.0), "2022-03-01", catalog=catalog, sensors="sentinel-1")
    assert ids(res.sentinel1) == ["A-EW-0301-1", "A-EW-0301-2"]


def test_sensor_selection_and_mapping(catalog: str, cases_catalog: Path) -> None:
    res = search(A, "2022-03-02", catalog=catalog, sensors=("amsr2",))
    assert res.sentinel1 == [] and ids(res.amsr2) == [AMSR.format("02")]
    mixed = search(A, "2022-03-03", catalog={"sentinel-1": catalog, "amsr2": str(cases_catalog)})
    assert ids(mixed.sentinel1) == ["A-EW-0303"] and ids(mixed.amsr2) == [AMSR.format("03")]
    assert mixed.catalog_for("amsr2").kind == "static"


def test_max_items(catalog: str) -> None:
    res = search(A, "2022-03-01/2022-03-03", catalog=catalog, max_items=1)
    assert len(res.sentinel1) == 1 and len(res.amsr2) == 1


def test_repr_table_and_html(cases_catalog: Path) -> None:
    res = search(A, "2022-03-01", catalog=cases_catalog)
    text = repr(res)
    lines = text.splitlines()
    assert lines[0].startswith("SearchResult: 2 Sentinel-1 EW HH+HV item(s), 1 AMSR-2")
    assert lines[1].split() == ["sensor", "id", "time", "mode", "polarizations", "orbit"]
    row = next(line for line in lines if "A-EW-0301-1" in line).split()
    assert row == [
        "sentinel-1",
        "A-EW-0301-1",
        "2022-03-01",
        "08:00:00",
        "EW",
        "HH+HV",
        "des",
        "20",
    ]
    html = res._repr_html_()
    assert html.count("<tr>") == 4 and "A-EW-0301-2" in html


def test_query_extension_detected(stac_api: str, stac_api_basic: str) -> None:
    full = xseaice.stac.catalogs.get_catalog(stac_api)
    basic = xseaice.stac.catalogs.get_catalog(stac_api_basic)
    assert full.kind == basic.kind == "api"
    assert {"item-search", "query", "filter"} <= full.conformance()
    assert "query" not in basic.conformance() and "filter" not in basic.conformance()
    assert "item-search" in basic.conformance()


def test_no_token_in_messages_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    secret = "sig=SECRET123"
    cat = xseaice.stac.catalogs.get_catalog(f"http://127.0.0.1:1/stac/v1?{secret}")
    assert "SECRET" not in repr(cat) and "SECRET" not in cat.name
    with pytest.raises(CatalogError) as err:
        search(A, "2022-03-01", catalog=cat)
    assert "SECRET" not in str(err.value)
    res = SearchResult(catalogs={"sentinel-1": cat})
    assert "SECRET" not in repr(res) and "SECRET" not in res._repr_html_()
    assert "127.0.0.1" in caplog.text and "SECRET" not in caplog.text


@pytest.mark.parametrize(
    ("bbox", "fragment"),
    [
        ((-1e6, 1e6, 1e6, 2e6), "projected"),
        ((-20, 78, 0), "4 finite"),
        ((-20, 91, 0, 95), "latitudes"),
        ((-20, 81, 0, 78), "south"),
        ((10, 70, 10, 75), "zero width"),
        (("a", 1, 2, 3), "not a sequence of numbers"),
        ((-200, 70, 10, 75), "longitudes"),
    ],
)
def test_bad_bbox(bbox: tuple, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError, match=fragment):
        search(bbox, "2022-03-01", catalog="embedded")


def test_bad_options(cases_catalog: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="mode"):
        search(A, "2022-03-01", catalog=cases_catalog, mode="XX")
    with pytest.raises(InvalidArgumentError, match="polarizations"):
        search(A, "2022-03-01", catalog=cases_catalog, polarizations=("HX",))
    with pytest.raises(InvalidArgumentError, match="sensors"):
        search(A, "2022-03-01", catalog=cases_catalog, sensors=("modis",))
    with pytest.raises(InvalidArgumentError, match="datetime"):
        search(A, "yesterday", catalog=cases_catalog)
    with pytest.raises(InvalidArgumentError, match="starts after"):
        search(A, "2022-03-05/2022-03-01", catalog=cases_catalog)
    with pytest.raises(InvalidArgumentError, match="max_items"):
        search(A, "2022-03-01", catalog=cases_catalog, max_items=0)


def test_parse_bbox_split() -> None:
    assert parse_bbox((170, 70, -170, 75)) == [
        (170.0, 70.0, 180.0, 75.0),
        (-180.0, 70.0, -170.0, 75.0),
    ]
    assert parse_bbox([-20, 78, 0, 81]) == [(-20.0, 78.0, 0.0, 81.0)]


def test_parse_datetime_forms() -> None:
    utc = dt.UTC
    day = parse_datetime("2023-01-04")
    assert day == (
        dt.datetime(2023, 1, 4, tzinfo=utc),
        dt.datetime(2023, 1, 4, 23, 59, 59, 999999, tzinfo=utc),
    )
    assert parse_datetime("2023-02")[1] == dt.datetime(2023, 2, 28, 23, 59, 59, 999999, tzinfo=utc)
    assert parse_datetime("2023")[0] == dt.datetime(2023, 1, 1, tzinfo=utc)
    assert parse_datetime("../2023-01-04")[0] is None
    assert (
        parse_datetime("2023-01-04T10:00:00+02:00") == (dt.datetime(2023, 1, 4, 8, tzinfo=utc),) * 2
    )
    assert parse_datetime(dt.date(2023, 1, 4)) == day
    assert parse_datetime(("2023-01-04", None)) == (day[0], None)


def test_catalog_object_passes_through(cases_catalog: Path) -> None:
    cat = Catalog(name="mine", url=str(cases_catalog), kind="static")
    res = search(A, "2022-03-03", catalog=cat)
    assert ids(res.sentinel1) == ["A-EW-0303"]
    assert res.catalog_for("sentinel-1") is cat
