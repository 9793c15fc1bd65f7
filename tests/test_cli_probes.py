"""The command line on bad inputs and corner cases: exit 1 with a message naming the culprit."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
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


# ---------------------------------------------------------------------------------------
# corrupt inputs and bad options: exit 1 (an XSeaIceError), the culprit named
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, object]:
    """One 128 px synthetic EW scene + AMSR-2 as a static STAC catalog on disk."""
    from xseaice import synthetic

    scene = synthetic.make_scene(
        1, shape=(128, 128), time="2023-01-04T07:10:00", center=(-5.0, 80.0)
    )
    root = tmp_path_factory.mktemp("tiny") / "cat"
    catalog = Path(synthetic.write_stac([scene], root))
    item = next(root.glob("sentinel-1-grd/S1*/S1*.json"))
    return catalog, item.stem, scene


def _corrupt(root: Path, pattern: str, edit: object) -> None:
    (path,) = root.glob(pattern)
    path.write_text(edit(path.read_text()))  # type: ignore[operator]


def _sub(regex: str, repl: object) -> object:
    return lambda text: re.sub(regex, repl, text)  # type: ignore[arg-type]


CAL_HH = "sentinel-1-grd/*/*.SAFE/annotation/calibration/calibration-*-hh-*.xml"
PRODUCT_HH = "sentinel-1-grd/*/*.SAFE/annotation/s1*-hh-*.xml"
CORRUPT_ITEM = {
    "non-numeric sigmaNought": (
        CAL_HH,
        _sub(r"(<sigmaNought[^>]*>)\s*[-0-9.eE+]+", r"\1abc"),
        r"'schema-calibration-hh'.*<sigmaNought> holds a non-numeric value 'abc'",
    ),
    "all-zero calibration LUT": (
        CAL_HH,
        _sub(
            r"(<sigmaNought[^>]*>)([^<]*)(</sigmaNought>)",
            lambda m: m.group(1) + " ".join("0" for _ in m.group(2).split()) + m.group(3),
        ),
        r"'schema-calibration-hh'.*sigmaNought calibration LUT holds \d+ zero",
    ),
    "identical GCPs": (
        PRODUCT_HH,
        lambda t: re.sub(
            r"<longitude>[^<]*</longitude>",
            "<longitude>-5.0</longitude>",
            re.sub(r"<latitude>[^<]*</latitude>", "<latitude>80.0</latitude>", t),
        ),
        r"'schema-product-hh'.*geolocation grid has \d+ distinct image positions and 1 "
        "distinct ground",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_ITEM))
def test_corrupt_item_is_exit_1_naming_the_asset(
    case: str,
    tiny_catalog: tuple[Path, str, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog, item_id, _ = tiny_catalog
    root = tmp_path / "cat"
    shutil.copytree(catalog.parent, root)
    pattern, edit, message = CORRUPT_ITEM[case]
    _corrupt(root, pattern, edit)
    args = ["--quiet", "segment", "--items", item_id, "--catalog", str(root / "catalog.json")]
    code = main([*args, "--no-figure", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR, err
    assert re.search(message, err), err
    assert "internal error" not in err
    assert not (tmp_path / "out").exists()


def _scene_zarr(tiny: tuple[Path, str, object], tmp_path: Path) -> Path:
    path = tmp_path / "scene.zarr"
    tiny[2].dataset.to_zarr(path)  # type: ignore[attr-defined]
    return path


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(text)
    return path


PROBES = {
    "garbage --input": (
        lambda t, tiny: ["segment", "--input", str(_garbage(t)), "-o", str(t / "o")],
        r"--input '.*garbage\.nc' cannot be opened as a netCDF file",
    ),
    "-o is a file": (
        lambda t, tiny: ["segment", "--input", str(_scene_zarr(tiny, t)), "-o", str(_file(t))],
        r"output '.*afile' is a file",
    ),
    "existing product set": (
        lambda t, tiny: ["segment", "--input", str(_scene_zarr(tiny, t)), "-o", str(_set(t))],
        r"already holds a product set \(xseaice_ice\.tif\); pass .*--overwrite",
    ),
    "chart in the wrong CRS": (
        lambda t, tiny: [
            "segment",
            "--input",
            str(_scene_zarr(tiny, t)),
            "--chart",
            str(_wrong_crs_chart(t, tiny)),
            "--no-figure",
            "-o",
            str(t / "o"),
        ],
        r"no polygon of the chart .* overlaps the map .* Check the chart's CRS",
    ),
    "lr: .nan": (
        lambda t, tiny: ["train", str(_config(t, "optim:\n  lr: .nan\n"))],
        r"optim\.lr must be a finite number; got nan",
    ),
    "threads: -2": (
        lambda t, tiny: ["train", str(_config(t, "threads: -2\n"))],
        r"threads must be a positive integer; got -2",
    ),
    "bad export.path": (
        lambda t, tiny: [
            "train",
            str(_config(t, f"export:\n  path: {_file(t)}/w.safetensors\n")),
        ],
        r"export\.path '.*afile/w\.safetensors': '.*afile' is a file",
    ),
}


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.nc"
    path.write_bytes(b"not a netCDF file\n" * 20)
    return path


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "afile"
    path.write_text("x")
    return path


def _set(tmp_path: Path) -> Path:
    out = tmp_path / "old"
    out.mkdir()
    (out / "xseaice_ice.tif").write_bytes(b"an earlier run")
    return out


def _wrong_crs_chart(tmp_path: Path, tiny: tuple[Path, str, object]) -> Path:
    chart = tiny[2].chart  # type: ignore[attr-defined]
    path = tmp_path / "chart.gpkg"
    chart[["CT", "geometry"]].set_crs("EPSG:4326", allow_override=True).to_file(path)
    return path


@pytest.mark.parametrize("case", sorted(PROBES))
def test_bad_input_is_exit_1_naming_the_culprit(
    case: str,
    tiny_catalog: tuple[Path, str, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, message = PROBES[case]
    code = main(["--quiet", *argv(tmp_path, tiny_catalog)])  # type: ignore[operator]
    err = capsys.readouterr().err
    assert code == EXIT_ERROR, err
    assert re.search(message, err), err
    assert "internal error" not in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_truncated_amsr2_file_names_the_file(
    tiny_catalog: tuple[Path, str, object], tmp_path: Path
) -> None:
    from xseaice.exceptions import LoadError
    from xseaice.io.amsr2 import read_amsr2

    (he5,) = tiny_catalog[0].parent.glob("amsr2-l3/*/*.he5")
    cut = tmp_path / he5.name
    data = he5.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError, match=rf"{cut.name}.*truncated or corrupt"):
        read_amsr2(cut)


def test_misspelled_open_scene_keyword_is_named() -> None:
    from xseaice.exceptions import InvalidArgumentError
    from xseaice.stac.loading import open_scene

    info = embedded_sample()
    with pytest.raises(InvalidArgumentError, match="'resolutoin': did you mean 'resolution'"):
        open_scene(info["bbox"], info["datetime"], catalog="embedded", resolutoin=40)


def test_missing_variables_message_names_a_real_fix() -> None:
    from xseaice.exceptions import MissingVariablesError
    from xseaice.inference import segment

    ds = xr.Dataset({"hh": (("y", "x"), np.zeros((8, 8), "float32"))})
    with pytest.raises(MissingVariablesError) as info:
        segment(ds, model="default")
    text = str(info.value)
    assert "variables=..." not in text and "amsr2=True" in text


# ---------------------------------------------------------------------------------------
# inputs the model cannot use: units and coverage
# ---------------------------------------------------------------------------------------


def test_sigma0_in_linear_units_is_refused(tiny_catalog: tuple[Path, str, object]) -> None:
    from xseaice.exceptions import ModelError
    from xseaice.inference import segment

    ds = tiny_catalog[2].dataset.copy()  # type: ignore[attr-defined]
    ds["hh"] = (10.0 ** (ds.hh / 10.0)).assign_attrs(units="1")
    with pytest.raises(ModelError, match=r"variable 'hh' has units '1'; the model expects 'dB'"):
        segment(ds, model="default")


def test_all_nan_amsr2_channel_is_refused(tiny_catalog: tuple[Path, str, object]) -> None:
    from xseaice.exceptions import ModelError
    from xseaice.inference import segment

    ds = tiny_catalog[2].dataset.copy()  # type: ignore[attr-defined]
    ds["tb18h"] = ds.tb18h * np.nan
    with pytest.raises(ModelError, match=r"'tb18h' is NaN everywhere"):
        segment(ds, model="default")


def test_scene_without_coordinates_warns_that_pixel_size_is_unchecked(
    tiny_catalog: tuple[Path, str, object],
) -> None:
    from xseaice.exceptions import XSeaIceWarning
    from xseaice.inference import segment

    ds = tiny_catalog[2].dataset  # type: ignore[attr-defined]
    bare = ds.drop_vars([c for c in ("x", "y", "spatial_ref") if c in ds.coords])
    with pytest.warns(XSeaIceWarning, match="no x/y coordinates.*40 m"):
        segment(bare.isel(y=slice(0, 64), x=slice(0, 64)), model="default")


def test_load_beside_the_item_is_an_error(tiny_catalog: tuple[Path, str, object]) -> None:
    from xseaice.exceptions import LoadError
    from xseaice.stac.loading import load

    result = search(None, None, catalog=str(tiny_catalog[0]), ids=[tiny_catalog[1]])
    _w, s, e, n = result.sentinel1[0].bbox
    beside = (e + 1.0, s, e + 2.0, n)  # a degree east of the scene
    with pytest.raises(LoadError, match="does not meet the footprint of any Sentinel-1 item"):
        load(result, bbox=beside)
