"""Tests of calving-front extraction (xseaice.glaciers.fronts)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.glaciers.fronts import calving_front, front_pixels, postprocess_zones


def _zones(top: int = 1) -> np.ndarray:
    """6 x 6: rows 0-1 rock (or NA), rows 2-5 glacier (cols 0-2) | ocean (cols 3-5)."""
    z = np.full((6, 6), 3, dtype=np.uint8)
    z[:, :3] = 2
    z[:2, :] = top
    return z


def _da(z: np.ndarray, px: float = 100.0) -> xr.DataArray:
    ny, nx = z.shape
    return xr.DataArray(
        z,
        dims=("y", "x"),
        coords={"y": 1000.0 - (np.arange(ny) + 0.5) * px, "x": (np.arange(nx) + 0.5) * px},
    )


@pytest.mark.parametrize("top", [0, 1])
def test_front_is_the_glacier_ocean_boundary_only(top: int) -> None:
    front = front_pixels(_zones(top))
    expected = np.zeros((6, 6), dtype=np.uint8)
    expected[2:, 3] = 1  # ocean column beside the glacier; rock/NA-ocean edges excluded
    np.testing.assert_array_equal(front, expected)


def test_short_fragments_dropped_by_length_in_metres() -> None:
    da = _da(_zones())
    kept = calving_front(da, min_length=350.0, pixel_size=100.0)
    assert int(kept.raster.sum()) == 4
    dropped = calving_front(da, min_length=400.0, pixel_size=100.0)  # 4 px <= 400 m / 100 m
    assert int(dropped.raster.sum()) == 0
    assert len(dropped.lines) == 0


def test_line_geometry_in_scene_coordinates() -> None:
    da = _da(_zones())
    da = da.assign_coords(spatial_ref=((), 0, {"crs_wkt": "EPSG:3413"}))
    cf = calving_front(da, min_length=0.0)
    assert len(cf.lines) == 1
    line = cf.lines.geometry.iloc[0]
    xs, ys = zip(*line.coords, strict=True)
    assert set(xs) == {350.0}  # centre of column 3 at 100 m pixels
    assert sorted(ys) == [450.0, 550.0, 650.0, 750.0]
    assert cf.lines["length_m"].iloc[0] == pytest.approx(300.0)
    assert cf.lines.crs is not None and cf.lines.crs.to_epsg() == 3413


def test_postprocess_fills_ocean_holes_and_drops_lakes() -> None:
    z = np.full((9, 9), 3, dtype=np.uint8)
    z[:, :4] = 2
    z[6, 7] = 2  # a glacier-classified pixel inside the ocean (a berg): filled with ocean
    z[2, 1] = 3  # an ocean lake inside the glacier: becomes glacier
    out = postprocess_zones(z)
    assert out[6, 7] == 3 and out[2, 1] == 2
    raw = front_pixels(z)
    clean = front_pixels(out)
    assert raw[6, 6] == 1 and raw[2, 1] == 1  # spurious fronts before clean-up
    assert clean.sum() == 9 and clean[:, 4].all()


def test_probabilities_with_class_dimension_are_argmaxed() -> None:
    z = _zones()
    probs = np.stack([(z == k).astype(np.float32) for k in range(4)])
    probs[:, 0, 0] = np.nan  # no data -> NA
    da = xr.DataArray(probs, dims=("zones_class", "y", "x"), attrs={"pixel_size": 100.0})
    cf = calving_front(da, min_length=0.0)
    np.testing.assert_array_equal(cf.raster.values, front_pixels(z))
    with pytest.raises(InvalidArgumentError, match="expected 4"):
        calving_front(da.isel(zones_class=slice(0, 3)), min_length=0.0)


def test_missing_pixel_size_is_explained() -> None:
    da = xr.DataArray(_zones(), dims=("y", "x"))
    with pytest.raises(InvalidArgumentError, match="pixel_size"):
        calving_front(da)


def test_synthetic_truth_front_is_what_the_extractor_finds() -> None:
    from xseaice.synthetic.fjord import make_fjord

    ds = make_fjord("Aurora", dt.date(2016, 4, 1), "ENVISAT", shape=(128, 128))
    cf = calving_front(ds["zones"], min_length=0.0, postprocess=False)
    np.testing.assert_array_equal(cf.raster.values, ds["front"].values)
    assert ds["front"].values.sum() > 20


def test_front_positions_along_a_flowline() -> None:
    import geopandas as gpd
    from shapely.geometry import LineString

    from xseaice.glaciers.retreat import front_positions

    def front(x: float) -> gpd.GeoDataFrame:  # a vertical front at x, pixel centres 100 m apart
        geom = LineString([(x, 0.0), (x, 100.0), (x, 200.0), (x, 300.0)])
        return gpd.GeoDataFrame({"n_pixels": [4], "length_m": [300.0]}, geometry=[geom])

    flow = LineString([(0.0, 150.0), (5000.0, 150.0)])  # upstream at x = 0
    table = front_positions({"2019-05-01": front(2000.0), "2019-09-01": front(1400.0)}, flow)
    assert table["position_m"].tolist() == pytest.approx([2000.0, 1400.0])
    assert table.loc["2019-09-01", "change_m"] == pytest.approx(-600.0)  # 600 m retreat
    assert table["total_change_m"].iloc[0] == 0.0
