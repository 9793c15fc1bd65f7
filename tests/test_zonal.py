"""Concentration per polygon, against exactextract run directly and hand computations."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

import xseaice  # noqa: F401  (registers the accessor)
from xseaice.exceptions import CRSError, IceChartError, InvalidArgumentError
from xseaice.products.topology import binarize
from xseaice.products.zonal import concentration

RES = 100.0
CRS = "EPSG:3413"
X0, Y0 = -200_000.0, -1_000_000.0  # a corner in the Arctic polar stereographic plane


def _map(data: np.ndarray, chunks: object = None) -> xr.DataArray:
    ny, nx = data.shape[-2:]
    gbox = GeoBox.from_bbox((X0, Y0, X0 + nx * RES, Y0 + ny * RES), CRS, resolution=RES)
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    dims: tuple[str, ...] = ("y", "x")
    if data.ndim == 3:
        dims = ("time", "y", "x")
        coords["time"] = np.arange(data.shape[0])
    out = xr.DataArray(data, dims=dims, coords=coords, name="ice_probability")
    if chunks is None:
        return out
    return out.chunk(dict(zip(dims, chunks, strict=True)) if isinstance(chunks, tuple) else chunks)


def _raster(seed: int = 0, shape: tuple[int, int] = (50, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.random(shape).astype("float32")
    v[10:14, 20:40] = np.nan
    return v


def _polygons() -> gpd.GeoDataFrame:
    def p(x: float, y: float) -> tuple[float, float]:
        return X0 + x * RES, Y0 + y * RES

    geoms = [
        shapely.box(*p(1.3, 2.7), *p(30.2, 41.5)),
        shapely.Polygon([p(5.5, 3.1), p(60.2, 10.9), p(33.3, 48.8)]),
        shapely.Point(*p(45.0, 25.0)).buffer(12.3 * RES),
        shapely.box(*p(-10.0, -10.0), *p(3.5, 4.5)),  # partly outside the map
        shapely.box(*p(500.0, 500.0), *p(520.0, 520.0)),  # outside the map
    ]
    return gpd.GeoDataFrame(
        {"name": list("abcde"), "ct": [0.5, 0.3, np.nan, 0.9, 1.0]},
        geometry=geoms,
        crs=CRS,
        index=[10, 11, 12, 13, 14],
    )


def _reference(values: np.ndarray, polygons: gpd.GeoDataFrame) -> Any:
    ny, nx = values.shape
    src = NumPyRasterSource(
        values, X0, Y0, X0 + nx * RES, Y0 + ny * RES, srs_wkt=polygons.crs.to_wkt()
    )
    return exact_extract(src, polygons, ["mean", "count", "stdev", "min", "max"], output="pandas")


@pytest.mark.parametrize("chunks", [None, (13, 17), (50, 64)])
def test_matches_exactextract_on_the_whole_raster(chunks: object) -> None:
    values = _raster()
    polys = _polygons()
    out = concentration(_map(values, chunks), polys, stats=["mean", "std", "min", "max"])
    ref = _reference(values, polys)
    np.testing.assert_allclose(out["mean"], ref["mean"], rtol=1e-10)
    np.testing.assert_allclose(out["count"], ref["count"], rtol=1e-10)
    np.testing.assert_allclose(out["std"], ref["stdev"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(out["min"], ref["min"])
    np.testing.assert_allclose(out["max"], ref["max"])
    # rows, index, CRS and columns of the input are kept
    assert list(out.index) == list(polys.index) and out.crs == polys.crs
    assert out["name"].tolist() == list("abcde")
    assert out.geometry.equals(polys.geometry)


def test_half_covered_pixel_by_hand() -> None:
    values = np.array([[0.2, 0.8, 0.4], [1.0, np.nan, 0.0]], dtype="float32")
    # one whole pixel (0.2), half of its neighbour (0.8), a quarter of the one below (1.0)
    poly = shapely.Polygon(
        [
            (X0, Y0 + 2 * RES),
            (X0 + 1.5 * RES, Y0 + 2 * RES),
            (X0 + 1.5 * RES, Y0 + RES),
            (X0 + 1.0 * RES, Y0 + RES),
            (X0 + 1.0 * RES, Y0 + 0.75 * RES),
            (X0, Y0 + 0.75 * RES),
        ]
    )
    # and one over the NaN pixel only
    nan_only = shapely.box(X0 + 1.1 * RES, Y0 + 0.1 * RES, X0 + 1.9 * RES, Y0 + 0.9 * RES)
    polys = gpd.GeoDataFrame({"ct": [0.5, 0.2]}, geometry=[poly, nan_only], crs=CRS)
    out = concentration(_map(values), polys)
    weights = np.array([1.0, 0.5, 0.25])
    vals = np.array([0.2, 0.8, 1.0], dtype="float32").astype("float64")
    assert out["count"].iloc[0] == pytest.approx(1.75)
    assert out["mean"].iloc[0] == pytest.approx((weights * vals).sum() / 1.75)
    assert out["difference"].iloc[0] == pytest.approx(out["mean"].iloc[0] - 0.5)
    assert out["chart_concentration"].tolist() == [0.5, 0.2]
    assert out["count"].iloc[1] == 0.0 and np.isnan(out["mean"].iloc[1])


def test_outside_polygons_give_nan_and_zero_count() -> None:
    out = concentration(_map(_raster(), chunks=20), _polygons())
    outside = out.loc[14]
    assert outside["count"] == 0.0 and np.isnan(outside["mean"])
    assert np.isnan(outside["difference"]) and outside["chart_concentration"] == 1.0
    # a partly outside polygon only counts its pixels inside the map
    assert out.loc[13, "count"] == pytest.approx(3.5 * 4.5)


def test_polygons_in_another_crs_are_reprojected() -> None:
    values = _raster(seed=2)
    polys = _polygons()
    direct = concentration(_map(values, chunks=16), polys)
    lonlat = concentration(_map(values, chunks=16), polys.to_crs("EPSG:4326"))
    assert lonlat.crs == "EPSG:4326"
    np.testing.assert_allclose(lonlat["mean"], direct["mean"], rtol=1e-6)
    np.testing.assert_allclose(lonlat["count"], direct["count"], rtol=1e-6)


def test_binary_map_fill_value_is_no_data() -> None:
    values = _raster(seed=3)
    ice = binarize(_map(values, chunks=(16, 20)))
    out = ice.seaice.concentration(_polygons())
    binary = np.where(np.isnan(values), np.nan, (values >= 0.5).astype("float32"))
    ref = _reference(binary.astype("float32"), _polygons())
    np.testing.assert_allclose(out["mean"], ref["mean"], rtol=1e-10)
    np.testing.assert_allclose(out["count"], ref["count"], rtol=1e-10)


def test_chart_codes_and_column() -> None:
    polys = _polygons().drop(columns="ct").assign(CT=["50", "30", None, "90", "92"])
    out = concentration(_map(_raster()), polys)
    np.testing.assert_allclose(out["chart_concentration"], [0.5, 0.3, np.nan, 0.9, 1.0])
    mine = _polygons().assign(mine=[0.1, 0.2, 0.3, 0.4, 0.5])
    out = concentration(_map(_raster()), mine, column="mine")
    np.testing.assert_allclose(out["difference"], out["mean"] - mine["mine"])
    with pytest.raises(IceChartError, match="column='nope'"):
        concentration(_map(_raster()), mine, column="nope")
    bare = _polygons()[["geometry"]]
    assert "difference" not in concentration(_map(_raster()), bare).columns


def test_time_dimension() -> None:
    values = _raster()
    one = concentration(_map(values[None]), _polygons())
    np.testing.assert_allclose(one["mean"], concentration(_map(values), _polygons())["mean"])
    with pytest.raises(InvalidArgumentError, match=r"isel\(time=0\)"):
        concentration(_map(np.stack([values, values])), _polygons())


def test_errors() -> None:
    polys = _polygons()
    with pytest.raises(CRSError, match="set_crs"):
        concentration(_map(_raster()), polys.set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match="assign_crs"):
        concentration(xr.DataArray(_raster(), dims=("y", "x")), polys)
    with pytest.raises(InvalidArgumentError, match="stats"):
        concentration(_map(_raster()), polys, stats="median")


def test_single_statistics() -> None:
    values = _raster(seed=4)
    polys = _polygons()
    ref = _reference(values, polys)
    for stat, col in (("max", "max"), ("min", "min"), ("std", "stdev")):
        out = concentration(_map(values, chunks=(20, 30)), polys, stats=stat)
        assert stat in out.columns and "mean" not in out.columns
        np.testing.assert_allclose(out[stat], ref[col], rtol=1e-6, atol=1e-9)
