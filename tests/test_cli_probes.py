"""The command line on bad inputs and corner cases: exit 1 with a message naming the culprit."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from xseaice.cli import EXIT_ERROR, EXIT_OK, main
from xseaice.stac.catalogs import embedded_sample
from xseaice.stac.searching import search


def test_search_by_ids_needs_no_bbox() -> None:
    info = embedded_sample()
    result = search(None, None, catalog="embedded", ids=[info["sentinel1_item"]])
    assert [it.id for it in result.sentinel1] == [info["sentinel1_item"]]
    # AMSR-2: over the item's own footprint and day, as a bbox + date search finds it
    by_place = search(info["bbox"], info["datetime"], catalog="embedded")
    assert result.amsr2 and [i.id for i in result.amsr2] == [i.id for i in by_place.amsr2]


def test_segment_by_item_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = embedded_sample()
    out = tmp_path / "out"
    args = ["--quiet", "segment", "--items", info["sentinel1_item"], "--catalog", "embedded"]
    code = main([*args, "--no-figure", "-o", str(out)])
    assert code == EXIT_OK, capsys.readouterr().err
    ice = xr.open_zarr(out / "xseaice_products.zarr")["ice"]
    assert min(ice.sizes["x"], ice.sizes["y"]) >= 1024  # the item's footprint at 40 m
    assert float((ice == 1).mean()) > 0.5  # the sample is 88 % ice
    # an unknown id is named in a one-line error
    code = main([*args, "--no-figure", "-o", str(tmp_path / "o2"), "--items", "NOPE_123"])
    assert code == EXIT_ERROR
    assert "NOPE_123" in capsys.readouterr().err
