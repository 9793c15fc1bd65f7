"""The command line: help, exit codes, one-line errors, search and demo end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xseaice.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, build_parser, main
from xseaice.stac.catalogs import embedded_sample

COMMANDS = ("demo", "search", "segment", "train", "evaluate")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert f"usage: xseaice {command}" in text
    assert "--debug" not in text or command == ""  # global flags live on the main parser


def test_every_command_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)  # type: ignore[union-attr]
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        assert p.description, f"{name} has no description"


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
    # the summary's ice fraction is the written map's
    import xarray as xr

    ice = xr.open_zarr(out / "xseaice_products.zarr")["ice"].isel(time=0).values
    frac = float(text.split("ice_fraction")[1].split()[0])
    assert frac == pytest.approx(float((ice == 1).mean()), abs=1e-3)
