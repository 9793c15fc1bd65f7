"""The command line: help, exit codes, one-line errors, search and demo end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xseaice.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, build_parser, main
from xseaice.stac.catalogs import embedded_sample

COMMANDS = (
    "demo",
    "search",
    "segment",
    "train",
    "evaluate",
    "densify",
    "drift",
    "despeckle",
    "train-prior",
)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert f"usage: xseaice {command}" in text
    assert "--debug" in text and "--quiet" in text  # global flags after the command too


def test_every_command_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)  # type: ignore[union-attr]
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        assert p.description, f"{name} has no description"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from xseaice import __version__

    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == f"xseaice {__version__}"


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segment", "--help"]) == EXIT_OK
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: planetary-computer)" in text and "(default: 40.0)" in text


def test_global_flags_after_the_command() -> None:
    parser = build_parser()
    after = parser.parse_args(["demo", "-q", "--debug"])
    before = parser.parse_args(["-q", "demo"])
    neither = parser.parse_args(["demo"])
    assert after.quiet and after.debug
    assert before.quiet and not before.debug  # the command's parser does not reset it
    assert not neither.quiet and not neither.debug


def test_search_json_is_a_stac_item_collection(capsys: pytest.CaptureFixture[str]) -> None:
    """Validated against the STAC 1.1.0 item schema that pystac ships (no network): a GeoJSON
    FeatureCollection whose features are STAC Items, as the STAC API ItemCollection."""
    import datetime as dt
    import json

    import jsonschema
    from pystac.validation.local_validator import get_local_schema_cache
    from referencing import Registry, Resource

    info = embedded_sample()
    bbox = [str(v) for v in info["bbox"]]
    args = ["search", "--bbox", *bbox, "--datetime", info["datetime"], "--catalog", "embedded"]
    assert main([*args, "--json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    item_uri = "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json"
    registry = Registry().with_resources(
        (uri, Resource.from_contents(schema)) for uri, schema in get_local_schema_cache().items()
    )
    collection_schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "minItems": 1, "items": {"$ref": item_uri}},
        },
    }
    jsonschema.Draft7Validator(collection_schema, registry=registry).validate(doc)
    ids = [f["id"] for f in doc["features"]]
    assert info["sentinel1_item"] in ids
    for feature in doc["features"]:
        props = feature["properties"]
        for key in ("datetime", "start_datetime", "end_datetime"):
            if props.get(key) is not None:
                parsed = dt.datetime.fromisoformat(props[key].replace("Z", "+00:00"))
                assert parsed.tzinfo is not None, f"{key} {props[key]!r} has no time zone"
        assert props["datetime"] or (props["start_datetime"] and props["end_datetime"])
    bad = {**doc, "features": [{**doc["features"][0], "bbox": "x"}]}
    with pytest.raises(jsonschema.ValidationError):  # the schema does check the items
        jsonschema.Draft7Validator(collection_schema, registry=registry).validate(bad)


def test_bad_bbox_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "--bbox", "1", "2", "x", "4", "--datetime", "2023-01-04"])
    assert code == EXIT_USAGE
    assert "invalid float value: 'x'" in capsys.readouterr().err


def test_search_embedded_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    info = embedded_sample()
    bbox = [str(v) for v in info["bbox"]]
    args = ["search", "--bbox", *bbox, "--datetime", info["datetime"], "--catalog", "embedded"]
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert info["sentinel1_item"] in out and "HH+HV" in out


def test_error_is_one_line_without_traceback() -> None:
    info = embedded_sample()
    bbox = [str(v) for v in info["bbox"]]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xseaice",
            "search",
            "--bbox",
            *bbox,
            "--datetime",
            "1999-01-01",
            "--catalog",
            "embedded",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_ERROR
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("xseaice search: error:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_writes_products_and_beats_chance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path / "demo"
    assert main(["--quiet", "demo", "--output", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    for name in (
        "xseaice_overview.png",
        "xseaice_ice.tif",
        "xseaice_products.zarr",
        "xseaice_concentration.gpkg",
        "xseaice_concentration.parquet",
    ):
        assert (out / name).exists(), name
    assert "pixel_accuracy_vs_truth" in text
    acc = float(text.split("pixel_accuracy_vs_truth")[1].split()[0])
    # better than calling every pixel the majority class of the bundled truth
    import rasterio

    from xseaice.stac.catalogs import embedded_sample

    with rasterio.open(embedded_sample()["truth"]) as src:
        truth = src.read(1)
    majority = float((truth[truth != 255] == 1).mean())
    assert max(majority, 1 - majority) < acc <= 1.0
    # the demo keeps each chart polygon's concentration (ALS with preserve=chart)
    mae = float(text.split("concentration_mae_vs_chart")[1].split()[0])
    assert mae <= 0.1
    # ... and its table says what was applied to each polygon, within the chart's interval
    import geopandas as gpd

    table = gpd.read_parquet(out / "xseaice_concentration.parquet")
    assert table["als_status"].isin(["kept", "raised", "lowered"]).all()
    assert (table["als_low"] <= table["als_target"]).all()
    assert (table["als_target"] <= table["als_high"]).all()
    # the summary's ice fraction is the written map's
    import xarray as xr

    ice = xr.open_zarr(out / "xseaice_products.zarr")["ice"].isel(time=0).values
    frac = float(text.split("ice_fraction")[1].split()[0])
    assert frac == pytest.approx(float((ice == 1).mean()), abs=1e-3)


def test_search_sign_json_hrefs_are_signed(
    stac_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from xseaice.stac.catalogs import CATALOGS, register_catalog

    register_catalog("cli-signing-test", stac_api, sign=lambda h: h + "?sig=TOKEN")
    args = ["search", "--bbox", "-6", "79.8", "-4", "80.2", "--datetime", "2023-01-05"]
    try:
        assert main([*args, "--catalog", "cli-signing-test", "--json", "--sign"]) == EXIT_OK
        signed = json.loads(capsys.readouterr().out)
        assert main([*args, "--catalog", "cli-signing-test", "--json"]) == EXIT_OK
        plain = json.loads(capsys.readouterr().out)
    finally:
        del CATALOGS["cli-signing-test"]
    hrefs = [a["href"] for f in signed["features"] for a in f["assets"].values()]
    assert len(hrefs) >= 3 and all(h.endswith("?sig=TOKEN") for h in hrefs)
    assert not any("TOKEN" in a["href"] for f in plain["features"] for a in f["assets"].values())
