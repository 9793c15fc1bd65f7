"""The whole chain written to disk: COG, Zarr, GeoPackage/GeoParquet, PNG, atomically."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import rasterio
import xarray as xr

from xseaice.synthetic import make_scene
from xseaice.workflow import map_ice, write_products

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An untrained U-Net registered under a test name (the chain does not need skill)."""
    import torch

    from xseaice.models import build_model, save_weights
    from xseaice.variables import SCENE_VARIABLES

    torch.manual_seed(0)
    model = build_model("unet", in_channels=len(SCENE_VARIABLES), widths=(8, 16, 16, 16))
    norm = {v: (0.0, 1.0) for v in SCENE_VARIABLES}
    norm.update({"hh": (-20.0, 5.0), "hv": (-28.0, 5.0), "incidence_angle": (33.0, 8.0)})
    for tb in ("tb18h", "tb18v", "tb36h", "tb36v"):
        norm[tb] = (215.0, 25.0)
    path = tmp_path_factory.mktemp("weights") / "random.safetensors"
    save_weights(
        model,
        path,
        name="test-random",
        variables=SCENE_VARIABLES,
        normalisation=norm,
        pixel_size=40.0,
        licence="test",
    )
    return "test-random"


@pytest.fixture(scope="module")
def scene() -> object:
    return make_scene(5, shape=(384, 384))


def test_map_ice_is_lazy_and_complete(scene: object, random_model: str) -> None:
    ds = scene.dataset.chunk({"y": 128, "x": 128})  # type: ignore[attr-defined]
    products = map_ice(ds, model=random_model)
    for name in ("ice_logit", "ice_probability", "ice", "floe_id", "lead"):
        assert name in products
        assert products[name].chunks is not None, f"{name} was computed eagerly"
    ice = products["ice"].compute()
    prob = products["ice_probability"].compute()
    valid = np.isfinite(prob.values)
    np.testing.assert_array_equal(ice.values[valid], (prob.values[valid] >= 0.5).astype("uint8"))


def test_write_products_files_and_values(scene: object, random_model: str, tmp_path: Path) -> None:
    ds = scene.dataset.chunk({"y": 128, "x": 128})  # type: ignore[attr-defined]
    chart = scene.chart  # type: ignore[attr-defined]
    out = write_products(ds, tmp_path / "out", model=random_model, chart=chart, progress=False)
    files = out.files
    assert {
        "zarr",
        "cog_ice_probability",
        "cog_ice",
        "cog_lead",
        "table_gpkg",
        "table_parquet",
        "figure",
    } <= set(files)
    # nothing half-written or temporary left behind
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]

    stored = xr.open_zarr(files["zarr"])
    assert stored["ice"].attrs["flag_meanings"] == "water ice"
    with rasterio.open(files["cog_ice"]) as src:
        assert src.crs.to_epsg() == 3413
        assert src.nodata == 255
        assert src.overviews(1) == [2], "a COG has overviews"
        assert src.block_shapes[0] == (256, 256)
        np.testing.assert_array_equal(src.read(1), stored["ice"].isel(time=0).values)
        assert src.transform.a == pytest.approx(40.0)

    table = gpd.read_file(files["table_gpkg"])
    assert len(table) == len(chart)
    parquet = gpd.read_parquet(files["table_parquet"])
    # the chart's concentration and the map's mean are both carried, and differ by `difference`
    np.testing.assert_allclose(
        parquet["difference"], parquet["mean"] - parquet["chart_concentration"]
    )
    ice0 = stored["ice"].isel(time=0).values
    assert out.summary["ice_fraction"] == pytest.approx(float((ice0 == 1).mean()), abs=1e-6)
    assert files["figure"].stat().st_size > 50_000


def test_failed_write_leaves_no_partial_product(
    scene: object, random_model: str, tmp_path: Path
) -> None:
    from xseaice.exceptions import XSeaIceError

    bad_chart = scene.chart.drop(columns=["CT"]).iloc[:0]  # type: ignore[attr-defined]
    with pytest.raises((XSeaIceError, ValueError)):
        write_products(
            scene.dataset,
            tmp_path / "o",
            model=random_model,  # type: ignore[attr-defined]
            chart=bad_chart.set_crs(None, allow_override=True),
            progress=False,
        )
    assert [p.name for p in tmp_path.iterdir()] == []  # no output, no staging folder


def test_a_rerun_replaces_the_whole_set_or_nothing(
    scene: object, random_model: str, tmp_path: Path
) -> None:
    """A failure mid-write leaves the earlier product set whole; replacing needs overwrite."""
    from xseaice.exceptions import InvalidArgumentError, XSeaIceError

    ds, chart = scene.dataset, scene.chart  # type: ignore[attr-defined]
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # not a product: kept across runs
    first = write_products(ds, out, model=random_model, chart=chart, figure=False, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(InvalidArgumentError, match=r"already holds a product set.*--overwrite"):
        write_products(ds, out, model=random_model, figure=False, progress=False)
    # a chart in the wrong CRS fails after the Zarr store and the GeoTIFFs are written
    bad = chart.set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(XSeaIceError, match="no polygon of the chart"):
        write_products(
            ds, out, model=random_model, chart=bad, figure=False, progress=False, overwrite=True
        )
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no hidden folders
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # a successful overwrite swaps in the new set and keeps the user's file
    again = write_products(
        ds, out, model=random_model, figure=False, progress=False, overwrite=True
    )
    assert (out / "notes.txt").read_text() == "mine"
    assert "table_gpkg" in first.files and "table_gpkg" not in again.files
    assert not (out / "xseaice_concentration.gpkg").exists()  # the old set is gone whole
    assert all(p.exists() and p.parent == out for p in again.files.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(InvalidArgumentError, match="is a file"):
        write_products(ds, out / "notes.txt", model=random_model, progress=False)


def test_segment_command_preserves_the_chart_or_the_scene_mean(
    scene: object, random_model: str, tmp_path: Path, precision: str
) -> None:
    """``xseaice segment --input`` on a stored scene; ``--preserve auto`` keeps each chart
    polygon's concentration with ``--chart`` and the model's scene mean without, in float32
    and in bf16 (forced: ``auto`` picks only one of them on a given CPU)."""
    from xseaice.cli import EXIT_OK, main

    source = tmp_path / "scene.zarr"
    scene.dataset.to_zarr(source)  # type: ignore[attr-defined]
    chart_file = tmp_path / "chart.gpkg"
    scene.chart.drop(columns=["true_concentration"]).to_file(chart_file)  # type: ignore[attr-defined]
    common = ["--quiet", "segment", "--input", str(source), "--model", random_model]
    common += ["--no-figure", "--precision", precision]

    assert main([*common, "--chart", str(chart_file), "-o", str(tmp_path / "a")]) == EXIT_OK
    table = gpd.read_parquet(tmp_path / "a" / "xseaice_concentration.parquet")
    assert len(table) == len(scene.chart)  # type: ignore[attr-defined]
    assert table["chart_concentration"].notna().all()
    # the chart is evidence within a tenth (scale_logits' default tolerance): a polygon
    # outside [CT - 0.1, CT + 0.1] is moved to the nearest bound, counted on the pixels whose
    # centres it holds; the table weights boundary pixels by their exact coverage (+0.005)
    assert (table["difference"].abs() <= 0.1 + 0.005).all(), table["difference"]
    stored = xr.open_zarr(tmp_path / "a" / "xseaice_products.zarr").isel(time=0)
    _check_als_columns(table, stored)
    _check_als_columns(gpd.read_file(tmp_path / "a" / "xseaice_concentration.gpkg"), stored)

    assert main([*common, "-o", str(tmp_path / "b")]) == EXIT_OK
    stored = xr.open_zarr(tmp_path / "b" / "xseaice_products.zarr").isel(time=0)
    z = stored["ice_logit"].values
    valid = np.isfinite(z)
    mean_prob = float((1.0 / (1.0 + np.exp(-z[valid].astype("float64")))).mean())
    ice_fraction = float((stored["ice"].values[valid] == 1).mean())
    assert ice_fraction == pytest.approx(mean_prob, abs=2.0 / valid.sum())

    assert main([*common, "--preserve", "chart", "-o", str(tmp_path / "c")]) != EXIT_OK


def test_segment_command_tta_stores_the_flip_mean(
    scene: object, random_model: str, tmp_path: Path
) -> None:
    """``xseaice segment --tta`` stores the logits of ``segment(..., tta=True)``."""
    from xseaice.cli import EXIT_OK, main
    from xseaice.inference import segment

    source = tmp_path / "scene.zarr"
    scene.dataset.to_zarr(source)  # type: ignore[attr-defined]
    args = ["--quiet", "segment", "--input", str(source), "--model", random_model, "--tta"]
    out = tmp_path / "t"
    assert main([*args, "--no-figure", "--precision", "fp32", "-o", str(out)]) == EXIT_OK
    stored = xr.open_zarr(out / "xseaice_products.zarr")["ice_logit"]
    assert stored.attrs["test_time_augmentation"] == "mean of 4 flips"
    direct = segment(scene.dataset, random_model, precision="fp32", tta=True)  # type: ignore[attr-defined]
    plain = segment(scene.dataset, random_model, precision="fp32")  # type: ignore[attr-defined]
    np.testing.assert_allclose(stored.values, direct.values, atol=1e-5)
    assert np.nanmax(np.abs(stored.values - plain.values)) > 1e-3


def _check_als_columns(table: gpd.GeoDataFrame, stored: xr.Dataset) -> None:
    """Each polygon's ``als_*`` columns against the stored rasters, on the pixels whose
    centres it holds: the applied-bias raster, the probability recomputed as
    ``sigmoid((z - b) / T)`` and the ice pixels counted against ``als_target``."""
    import shapely
    from scipy.special import expit

    z = stored["ice_logit"].values.astype("float64")
    prob = stored["ice_probability"]
    p, applied = prob.values, prob["applied_bias"].values
    xx, yy = np.meshgrid(stored["x"].values, stored["y"].values)
    assert table["als_status"].isin(["kept", "raised", "lowered"]).all(), table["als_status"]
    for row in table.to_crs(stored.odc.crs.to_wkt()).itertuples():
        sel = shapely.contains_xy(row.geometry, xx, yy) & np.isfinite(z)
        b, temp = row.als_bias, row.als_temperature
        assert temp == float(prob["temperature"])
        np.testing.assert_array_equal(applied[sel], np.float32(b))
        np.testing.assert_allclose(p[sel], expit((z[sel] - b) / temp), atol=2e-6)
        n, ice = int(sel.sum()), int(np.count_nonzero(p[sel] >= 0.5))
        assert row.als_low <= row.als_target <= row.als_high
        if row.als_status == "kept":
            assert b == float(prob["bias"]) and ice / n == pytest.approx(row.als_target)
        else:  # moved onto the nearest bound, to a pixel (equal logits at b aside)
            assert row.als_target == (row.als_low if row.als_status == "raised" else row.als_high)
            wanted = np.floor(row.als_target * n + 0.5)
            assert np.count_nonzero(z[sel] > b) <= wanted <= np.count_nonzero(z[sel] >= b)


@pytest.fixture(scope="module")
def written(scene: object, random_model: str, tmp_path_factory: pytest.TempPathFactory) -> object:
    ds = scene.dataset.chunk({"y": 128, "x": 128})  # type: ignore[attr-defined]
    from xseaice.io.icechart import read_icechart

    out = tmp_path_factory.mktemp("products")
    chart_file = out.parent / "chart.gpkg"
    scene.chart.drop(columns=["true_concentration"]).to_file(chart_file)  # type: ignore[attr-defined]
    chart = read_icechart(chart_file)  # decoded: ``ct`` beside the SIGRID-3 ``CT`` code
    return write_products(ds, out, model=random_model, chart=chart, progress=False, figure=False)


@pytest.mark.parametrize("name", ["ice", "lead"])
def test_flag_cogs_are_uint8_with_colours_and_nearest_overviews(written: object, name: str) -> None:
    """A 0/1 layer stays 0/1/255 at every overview level (averaging would blend it), carries
    a colour table, a band description and its CF attributes as band tags."""
    stored = xr.open_zarr(written.files["zarr"], mask_and_scale=False)  # type: ignore[attr-defined]
    with rasterio.open(written.files[f"cog_{name}"]) as src:  # type: ignore[attr-defined]
        assert src.dtypes[0] == "uint8"
        assert src.nodata == 255
        cmap = src.colormap(1)
        assert cmap[0] != cmap[1] and cmap[255][3] == 0
        assert src.descriptions[0] == stored[name].attrs["long_name"]
        tags = src.tags(1)
        assert tags["flag_values"] == "0 1"
        assert tags["flag_meanings"] == stored[name].attrs["flag_meanings"]
        assert src.tags()["Conventions"] == "CF-1.10"
        np.testing.assert_array_equal(src.read(1), stored[name].isel(time=0).values)
        assert src.overviews(1)
        for level in range(len(src.overviews(1))):
            with rasterio.open(written.files[f"cog_{name}"], overview_level=level) as ov:  # type: ignore[attr-defined]
                assert set(np.unique(ov.read(1)).tolist()) <= {0, 1, 255}


def test_probability_cog_is_float_with_averaged_overviews(written: object) -> None:
    stored = xr.open_zarr(written.files["zarr"])  # type: ignore[attr-defined]
    prob = stored["ice_probability"].isel(time=0).values
    with rasterio.open(written.files["cog_ice_probability"]) as src:  # type: ignore[attr-defined]
        assert src.dtypes[0] == "float32"
        assert np.isnan(src.nodata)
        assert src.tags(1)["units"] == stored["ice_probability"].attrs["units"]
    with rasterio.open(written.files["cog_ice_probability"], overview_level=0) as ov:  # type: ignore[attr-defined]
        half = ov.read(1)
    # level 0 halves the grid: a 2x2 mean of the full-resolution probabilities
    blocks = prob[: half.shape[0] * 2, : half.shape[1] * 2]
    expected = np.nanmean(blocks.reshape(half.shape[0], 2, half.shape[1], 2), axis=(1, 3))
    np.testing.assert_allclose(half, expected, atol=1e-5)


def test_tables_share_one_schema(written: object) -> None:
    """GeoPackage and GeoParquet read back with the same columns; the decoded ``ct`` keeps
    its name in both and the chart's SIGRID-3 code column gets ``_code``."""
    gpkg = gpd.read_file(written.files["table_gpkg"])  # type: ignore[attr-defined]
    parquet = gpd.read_parquet(written.files["table_parquet"])  # type: ignore[attr-defined]
    assert list(gpkg.columns) == list(parquet.columns)
    assert {"ct", "CT_code", "poly_type", "mean", "chart_concentration"} <= set(parquet.columns)
    np.testing.assert_allclose(gpkg["ct"], parquet["ct"])


def test_zarr_store_is_cf(written: object) -> None:
    """cf_xarray finds the axes and standard names; provenance names the model and scene;
    ``_FillValue`` is an encoding; ``fsd_bin`` is a coordinate with bounds."""
    import cf_xarray  # noqa: F401

    from xseaice import __version__

    stored = xr.open_zarr(written.files["zarr"])  # type: ignore[attr-defined]
    assert stored.cf.axes["X"] == ["x"] and stored.cf.axes["Y"] == ["y"]
    assert stored.cf.axes["T"] == ["time"]
    assert stored.cf["sea_ice_area_fraction"].name == "ice_fraction"
    assert stored.attrs["Conventions"] == "CF-1.10"
    assert stored.attrs["xseaice_version"] == __version__
    assert stored.attrs["model"] == "test-random"
    assert len(stored.attrs["model_sha256"]) == 64
    assert "xseaice.synthetic" in stored.attrs["source"]
    assert "ice chart" in stored.attrs["source"]
    assert stored["ice"].encoding["_FillValue"] == 255
    assert "_FillValue" not in stored["ice"].attrs
    assert "fsd_bin" in stored.coords
    assert stored.cf.get_bounds("fsd_bin").shape == (stored.sizes["fsd_bin"], 2)
    raw = xr.open_zarr(written.files["zarr"], mask_and_scale=False)  # type: ignore[attr-defined]
    assert raw["ice"].dtype == np.uint8


def test_cf_compliance_checker_finds_no_error(written: object, tmp_path: Path) -> None:
    """The IOOS compliance checker's CF 1.10 suite (offline: it ships the standard-name
    table) reports no error on the products of ``preserve=chart``, written to netCDF as the
    Zarr store holds them (rebuilt from the stored logits: Zarr's JSON attributes carry no
    dtypes)."""
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    from xseaice.io.icechart import read_icechart
    from xseaice.products.writers import cf_dataset, provenance
    from xseaice.workflow import products_from_logits

    stored = xr.open_zarr(written.files["zarr"])  # type: ignore[attr-defined]
    logits = stored["ice_logit"].reset_coords(drop=True)  # without the stored ALS scalars
    chart = read_icechart(written.folder.parent / "chart.gpkg")  # type: ignore[attr-defined]
    # preserve=chart: the applied-bias raster and the per-polygon als_* variables too
    derived = products_from_logits(
        logits.assign_coords(spatial_ref=stored.spatial_ref), preserve=chart
    )
    assert {"als_bias", "als_status", "applied_bias"} <= set(derived.variables)
    attrs = {k: stored.attrs[k] for k in provenance(scene_attrs={}, logits_attrs={})}
    path = tmp_path / "products.nc"
    cf_dataset(derived, attrs).to_netcdf(path)

    CheckSuite.load_all_available_checkers()
    report = tmp_path / "report.json"
    passed, errors = ComplianceChecker.run_checker(
        str(path), ["cf:1.10"], 0, "normal", output_filename=str(report), output_format=["json"]
    )
    import json

    result = json.loads(report.read_text())["cf:1.10"]
    high = [m for group in result.get("high_priorities", []) for m in group.get("msgs", [])]
    assert not errors and not high, high
    medium = [m for g in result.get("medium_priorities", []) for m in g.get("msgs", [])]
    assert passed, medium


def test_write_products_reads_each_scene_chunk_once(
    scene: object, random_model: str, tmp_path: Path
) -> None:
    """The figure's input panels are computed in the pass that writes the logits: every
    chunk of the lazy scene is read once for the whole product set, figure included."""
    import threading

    import matplotlib.image

    ds = scene.dataset.chunk({"y": 128, "x": 128})  # type: ignore[attr-defined]
    reads: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def count(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if block_info is not None:  # not the meta call
            with lock:
                reads.append(tuple(block_info[0]["chunk-location"]))
        return block

    for name in ("hh", "hv", "tb36h"):
        ds[name] = ds[name].copy(data=ds[name].data.map_blocks(count, dtype=ds[name].dtype))
    out = write_products(ds, tmp_path / "o", model=random_model, progress=False)
    n_chunks = 3 * int(np.prod(ds["hh"].data.numblocks))
    assert len(reads) == n_chunks, f"{len(reads)} chunk reads for {n_chunks} chunks"
    assert len(set(reads)) == int(np.prod(ds["hh"].data.numblocks))
    image = matplotlib.image.imread(out.files["figure"])
    assert image.shape[0] > 500 and image.std() > 0.05  # a drawn figure, not a blank one
