"""The ALS parameters applied to each chart polygon (``preserve=chart``) are recoverable:
from the Dataset of ``scale_to_chart`` and from the written GeoPackage / GeoParquet."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from scipy.special import expit

from xseaice.exceptions import InvalidArgumentError
from xseaice.products.als_applied import ALS_COLUMNS, als_columns, scale_to_chart
from xseaice.products.topology import binarize
from xseaice.products.writers import write_table
from xseaice.products.zonal import concentration

NY, NX, PIX = 60, 80, 100.0  # 100 m pixels: centres at 50 + 100 k, polygon edges at 100 k


def _logits(seed: int = 0) -> xr.DataArray:
    """Weak, noisy logits with more ice to the east; a no-data corner."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:NY, 0:NX]
    truth = (np.sin(xx / 5.0) * np.cos(yy / 7.0) > -0.2).astype(float)
    data = 0.4 * (2 * truth - 1) + 0.3 * (xx / NX - 0.5) + 0.2 * rng.normal(size=(NY, NX))
    data[:4, :6] = np.nan
    gbox = GeoBox.from_bbox((0, 0, NX * PIX, NY * PIX), "EPSG:3413", resolution=PIX)
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    coords["time"] = np.array(["2023-01-04"], dtype="datetime64[ns]")
    return xr.DataArray(
        data[None].astype("float32"), dims=("time", "y", "x"), coords=coords, name="ice_logit"
    )


def _inside(geom: shapely.Geometry, z: xr.DataArray) -> np.ndarray:
    """Pixels whose centres the polygon holds (shapely, independent of the rasterizer)."""
    xx, yy = np.meshgrid(z["x"].values, z["y"].values)
    return shapely.contains_xy(geom, xx, yy)


def _chart(z: xr.DataArray) -> gpd.GeoDataFrame:
    """Five rows: one holding the model's own fraction, one far above it, one far below,
    one without a concentration, one off the map."""
    boxes = [shapely.box(x, 0, x + 2000, NY * PIX) for x in (0, 2000, 4000, 6000)]
    own = z.values[0][_inside(boxes[0], z) & np.isfinite(z.values[0])] >= 0
    f = float(own.mean())
    low = [f - 0.05, 0.9, 0.0, np.nan, 0.5]
    high = [f + 0.05, 1.0, 0.0, np.nan, 0.5]
    return gpd.GeoDataFrame(
        {
            "ct": [0.5 * (a + b) for a, b in zip(low, high, strict=True)],
            "ct_low": low,
            "ct_high": high,
        },
        geometry=[*boxes, shapely.box(20000, 20000, 21000, 21000)],
        crs="EPSG:3413",
    )


def _check_against_raster(
    rows: dict[str, np.ndarray], geoms: list[shapely.Geometry], z: np.ndarray, p: np.ndarray,
    applied: np.ndarray, grid: xr.DataArray,
) -> list[str]:  # fmt: skip
    """Every polygon's parameters against the pixels: the bias raster, the probability
    recomputed as sigmoid((z - b) / T), and its ice fraction against the target."""
    statuses = []
    for k, geom in enumerate(geoms):
        sel = _inside(geom, grid) & np.isfinite(z)
        b, temp, target = rows["als_bias"][k], rows["als_temperature"][k], rows["als_target"][k]
        status = str(rows["als_status"][k])
        statuses.append(status)
        if not sel.any():
            assert status == "no_pixels" and np.isnan(target)
            continue
        np.testing.assert_array_equal(applied[sel], np.float32(b))
        np.testing.assert_allclose(p[sel], expit((z[sel] - b) / temp), atol=2e-6)
        n, ice = int(sel.sum()), int(np.count_nonzero(p[sel] >= 0.5))
        if status in ("raised", "lowered"):
            bound = rows["als_low"][k] if status == "raised" else rows["als_high"][k]
            assert target == bound and ice == np.floor(target * n + 0.5)
        elif status == "kept":
            assert ice / n == pytest.approx(target, abs=1e-12)
            assert rows["als_low"][k] <= target <= rows["als_high"][k]
        else:
            assert status == "no_concentration" and np.isnan(target)
    return statuses


@pytest.mark.parametrize("lazy", [False, True], ids=["numpy", "dask"])
def test_parameters_per_polygon_are_what_was_applied(lazy: bool) -> None:
    z = _logits()
    chart = _chart(z)
    out = scale_to_chart(z.chunk({"y": 32, "x": 32}) if lazy else z, chart, method="exact")
    assert out["als_bias"].dims == ("polygon", "time") and out.sizes["polygon"] == len(chart)
    out = out.compute().isel(time=0)
    prob = out["ice_probability"]
    rows = {name: out[name].values for name in ALS_COLUMNS}
    rows["als_status"] = np.array(out["als_status"].attrs["flag_meanings"].split())[
        out["als_status"].values
    ]
    statuses = _check_against_raster(
        rows, list(chart.geometry), z.values[0], prob.values, prob["applied_bias"].values, z
    )
    assert statuses == ["kept", "raised", "lowered", "no_concentration", "no_pixels"]
    scene_bias = float(prob["bias"])
    assert rows["als_bias"][0] == rows["als_bias"][3] == rows["als_bias"][4] == scene_bias
    assert rows["als_bias"][1] < scene_bias < rows["als_bias"][2]
    np.testing.assert_allclose(rows["als_temperature"], float(prob["temperature"]))
    # the interval: the chart's range widened by the default tolerance, clipped to 0-1
    np.testing.assert_allclose(rows["als_low"][:3], [chart.ct_low[0] - 0.1, 0.8, 0.0])
    np.testing.assert_allclose(rows["als_high"][:3], [chart.ct_high[0] + 0.1, 1.0, 0.1])


def test_written_tables_carry_the_parameters(tmp_path: Path) -> None:
    z = _logits(seed=3)
    chart = _chart(z)
    out = scale_to_chart(z, chart, method="exact", tolerance=0.05)
    ice = binarize(out["ice_probability"])
    table = als_columns(concentration(ice.where(ice != 255), chart), out)
    files = write_table(table, tmp_path, "t")
    prob = out["ice_probability"].isel(time=0)
    for frame in (gpd.read_file(files["table_gpkg"]), gpd.read_parquet(files["table_parquet"])):
        assert set(ALS_COLUMNS) <= set(frame.columns)
        rows = {name: frame[name].to_numpy() for name in ALS_COLUMNS}
        statuses = _check_against_raster(
            rows,
            list(frame.to_crs(chart.crs).geometry),
            z.values[0],
            prob.values,
            prob["applied_bias"].values,
            z,
        )
        assert statuses[1:] == ["raised", "lowered", "no_concentration", "no_pixels"]
        # the chart's tenths widened by the tolerance (0.05)
        np.testing.assert_allclose(rows["als_low"][1:3], [0.85, 0.0])


def test_mismatched_tables_and_options_are_refused() -> None:
    z = _logits()
    chart = _chart(z)
    out = scale_to_chart(z, chart)
    with pytest.raises(InvalidArgumentError, match="5 polygons but the table has 4 rows"):
        als_columns(chart.iloc[:4], out)
    with pytest.raises(InvalidArgumentError, match="lack"):
        als_columns(chart, out.drop_vars("als_target"))
    with pytest.raises(InvalidArgumentError, match="preserve"):
        scale_to_chart(z, chart, preserve="scene")
    with pytest.raises(InvalidArgumentError, match="unexpected keyword"):
        scale_to_chart(z, chart, temperature=2.0)
