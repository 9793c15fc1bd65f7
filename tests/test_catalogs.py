"""The catalog registry: names, URLs, static paths, signing hooks, redaction."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from xseaice.exceptions import CatalogError, InvalidArgumentError
from xseaice.io.urls import install_log_redaction, redact_text, redact_url
from xseaice.stac import catalogs
from xseaice.stac.catalogs import CATALOGS, Catalog, get_catalog


def test_registered_catalogs() -> None:
    pc = get_catalog("planetary-computer")
    assert pc.kind == "api" and pc.collections_for("sentinel-1") == ("sentinel-1-grd",)
    assert pc.collections_for("amsr2") == () and pc.collections_for("icesat2") == ()
    assert pc.fallback == {"amsr2": "cmr", "icesat2": "cmr"}  # both are NASA's
    assert pc.sign is not None  # signed on read, never at search time
    cmr = get_catalog("cmr")
    assert "AU_SI12_1" in cmr.collections_for("amsr2") and cmr.collections_for("sentinel-1") == ()
    assert any(c.startswith("ATL10") for c in cmr.collections_for("icesat2"))
    assert get_catalog("earth-search").url.startswith("https://earth-search")
    assert get_catalog(pc) is pc


def test_embedded_catalog_exists_and_is_static() -> None:
    emb = get_catalog("embedded")
    assert emb.kind == "static" and Path(emb.url).is_file()
    assert Path(emb.url) == catalogs.EMBEDDED_CATALOG
    total = sum(p.stat().st_size for p in Path(emb.url).parent.rglob("*") if p.is_file())
    assert total < 8e6  # shipped in the wheel


def test_embedded_sample_facts_and_chart() -> None:
    import xseaice

    meta = catalogs.embedded_sample()
    assert meta["shape"] == [1024, 1024] and meta["crs"] == "EPSG:3413"
    assert 0.0 < meta["lead_fraction"] < 0.5 < meta["ice_fraction"] < 1.0  # winter, leads
    chart = xseaice.read_icechart(meta["chart"])
    assert len(chart) >= 2 and "CT" in chart.columns
    res = xseaice.search(meta["bbox"], meta["datetime"], catalog="embedded")
    assert [i.id for i in res.sentinel1] == [meta["sentinel1_item"]] and len(res.amsr2) == 1


def test_unknown_name_suggests_the_close_one() -> None:
    with pytest.raises(CatalogError, match="Did you mean 'planetary-computer'"):
        get_catalog("planetary-computr")


def test_urls_and_paths(tmp_path: Path, cases_catalog: Path) -> None:
    api = get_catalog("https://example.org/stac/v1")
    assert api.kind == "api" and api.name == "https://example.org/stac/v1"
    static_url = get_catalog("https://example.org/data/catalog.json")
    assert static_url.kind == "static"
    by_dir = get_catalog(str(cases_catalog.parent))
    assert by_dir.kind == "static" and by_dir.url == str(cases_catalog)
    assert get_catalog(cases_catalog).url == str(cases_catalog)  # os.PathLike
    assert get_catalog(f"file://{cases_catalog}").url == str(cases_catalog)
    with pytest.raises(CatalogError, match=r"without catalog\.json"):
        get_catalog(str(tmp_path))
    with pytest.raises(CatalogError, match="does not exist"):
        get_catalog(str(tmp_path / "nope" / "catalog.json"))
    with pytest.raises(CatalogError, match="scheme 'ftp'"):
        get_catalog("ftp://example.org/stac")
    with pytest.raises(InvalidArgumentError, match="catalog of type int"):
        get_catalog(3)  # type: ignore[arg-type]


def test_register_catalog(cases_catalog: Path) -> None:
    try:
        cat = catalogs.register_catalog(
            "test-cases", str(cases_catalog), collections={"amsr2": "amsr2-l3"}
        )
        assert cat.kind == "static" and cat.collections_for("amsr2") == ("amsr2-l3",)
        assert get_catalog("test-cases") is cat
        with pytest.raises(InvalidArgumentError, match="already registered"):
            catalogs.register_catalog("test-cases", str(cases_catalog))
        with pytest.raises(InvalidArgumentError, match="sensor 'modis'"):
            catalogs.register_catalog("x", "https://a.b/stac", collections={"modis": "m"})
    finally:
        CATALOGS.pop("test-cases", None)


def test_sign_href_only_touches_urls() -> None:
    cat = Catalog(name="t", url="https://x/stac", sign=lambda h: h + "?sig=abc")
    assert cat.sign_href("https://x/a.tif") == "https://x/a.tif?sig=abc"
    assert cat.sign_href("/local/a.tif") == "/local/a.tif"
    assert Catalog(name="u", url="https://x").sign_href("https://x/a.tif") == "https://x/a.tif"
    new = catalogs.with_collections(cat, sentinel_1=["s1"])
    assert new.collections_for("sentinel-1") == ("s1",) and new.sign is cat.sign


def test_redaction() -> None:
    url = "https://user:pw@host.blob.core.windows.net:443/c/a.tif?st=1&sig=SECRET#frag"
    assert redact_url(url) == "https://host.blob.core.windows.net:443/c/a.tif?<redacted>"
    assert redact_url("/a/b.tif") == "/a/b.tif"
    text = "HTTP 403 for /vsicurl/https://h/a.tif?sig=SECRET (x)"
    assert redact_text(text) == "HTTP 403 for /vsicurl/https://h/a.tif?<redacted> (x)"


def test_log_redaction_filter(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction(["xseaice-test-http"])
    log = logging.getLogger("xseaice-test-http")
    with caplog.at_level(logging.INFO, logger="xseaice-test-http"):
        log.info("GET %s", "https://h/a.tif?sig=SECRET")
    assert "SECRET" not in caplog.text and "https://h/a.tif?<redacted>" in caplog.text


def test_conformance_of_static_is_empty(cases_catalog: Path) -> None:
    cat = get_catalog(str(cases_catalog))
    assert cat.conformance() == frozenset()
    with pytest.raises(CatalogError, match="static catalog"):
        cat.client()
