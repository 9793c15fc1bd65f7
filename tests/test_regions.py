"""One chart-concentration lookup (``xseaice.products.regions``) for ALS and zonal
statistics, and the one ``preserve`` vocabulary of the workflow."""

from __future__ import annotations

import contextlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import shapely
import xarray as xr

from xseaice.exceptions import IceChartError, IceChartWarning, InvalidArgumentError
from xseaice.products.als import scale_logits
from xseaice.products.regions import chart_concentration
from xseaice.products.zonal import concentration
from xseaice.workflow import PRESERVE_CHOICES, resolve_preserve


def test_codes_give_the_value_and_the_interval_they_stand_for() -> None:
    # SIGRID-3: "30" is 3/10 exactly, "13" a range of 1-3 tenths, "92" 10/10
    c = chart_concentration(pd.DataFrame({"CT": ["30", "13", None, "92"]}))
    assert c.source == "CT"
    np.testing.assert_allclose(c.value, [0.3, 0.2, np.nan, 1.0])
    np.testing.assert_allclose(c.low, [0.3, 0.1, np.nan, 1.0])
    np.testing.assert_allclose(c.high, [0.3, 0.3, np.nan, 1.0])


def test_a_decoded_ct_column_wins_and_keeps_its_bounds() -> None:
    frame = pd.DataFrame(
        {"CT": ["99", "99"], "ct": [0.4, 0.75], "ct_low": [0.3, 0.7], "ct_high": [0.5, 0.8]}
    )
    c = chart_concentration(frame)
    assert c.source == "ct"
    np.testing.assert_allclose(c.value, [0.4, 0.75])
    np.testing.assert_allclose(c.low, [0.3, 0.7])
    np.testing.assert_allclose(c.high, [0.5, 0.8])
    named = chart_concentration(frame, column="ct_high")
    np.testing.assert_allclose(named.value, [0.5, 0.8])


def test_bad_charts_say_what_to_do() -> None:
    with pytest.raises(IceChartError, match="column='conc' is not a column"):
        chart_concentration(pd.DataFrame({"ct": [0.1]}), column="conc")
    with pytest.raises(IceChartError, match="neither a 'ct'"):
        chart_concentration(pd.DataFrame({"x": [1]}))
    with pytest.raises(InvalidArgumentError, match=r"outside 0-1.*Divide percentages"):
        chart_concentration(pd.DataFrame({"ct": [40.0, 0.5]}))


def _two_halves() -> tuple[xr.DataArray, gpd.GeoDataFrame]:
    """A 20 x 20 map at 1 m pixels and two polygons, left and right half, as CT codes."""
    x = np.arange(20) + 0.5
    y = np.arange(20)[::-1] + 0.5
    rng = np.random.default_rng(4)
    z = xr.DataArray(rng.normal(size=(20, 20)), dims=("y", "x"), coords={"y": y, "x": x})
    z = z.rio.write_crs("EPSG:3413")
    polys = [shapely.box(0, 0, 10, 20), shapely.box(10, 0, 20, 20)]
    chart = gpd.GeoDataFrame({"CT": ["20", "80"]}, geometry=polys, crs="EPSG:3413")
    return z, chart


def test_als_preserve_and_zonal_read_the_same_concentrations() -> None:
    z, chart = _two_halves()
    expected = chart_concentration(chart).value  # 0.2 and 0.8
    prob = scale_logits(z, preserve=chart, method="exact", tolerance=0.0)
    ice = (prob >= 0.5).astype("float32")
    # each half holds exactly round(c * 200) ice pixels
    assert int(ice.values[:, :10].sum()) == round(expected[0] * 200)
    assert int(ice.values[:, 10:].sum()) == round(expected[1] * 200)
    table = concentration(ice, chart)
    np.testing.assert_allclose(table["chart_concentration"], expected)
    np.testing.assert_allclose(table["mean"], expected, atol=1e-9)


def test_preserve_is_resolved_in_one_place() -> None:
    _, chart = _two_halves()
    assert set(PRESERVE_CHOICES) == {"auto", "none", "scene", "chart"}
    assert resolve_preserve("auto", chart) is chart
    assert resolve_preserve("auto") == "scene"
    assert resolve_preserve("chart", chart) is chart
    assert resolve_preserve("none", chart) is None
    assert resolve_preserve(None, chart) is None
    assert resolve_preserve("scene", chart) == "scene"
    assert resolve_preserve(chart) is chart
    with pytest.raises(InvalidArgumentError, match="preserve='chart' needs an ice chart"):
        resolve_preserve("chart")
    with pytest.raises(InvalidArgumentError, match="preserve must be one of"):
        resolve_preserve("regions", chart)


def _misses(z: xr.DataArray) -> dict[str, gpd.GeoDataFrame]:
    box = shapely.box(0, 0, 10, 20)
    return {
        # metres labelled as degrees: reprojected, they land far from the map
        "wrong CRS": gpd.GeoDataFrame({"CT": ["20"]}, geometry=[box], crs="EPSG:4326"),
        "points and lines": gpd.GeoDataFrame(
            {"CT": ["20", "30"]},
            geometry=[shapely.Point(5, 5), shapely.LineString([(0, 0), (20, 20)])],
            crs="EPSG:3413",
        ),
        "empty": gpd.GeoDataFrame({"CT": []}, geometry=[], crs="EPSG:3413"),
        "outside": gpd.GeoDataFrame(
            {"CT": ["20"]}, geometry=[shapely.box(500, 500, 520, 520)], crs="EPSG:3413"
        ),
    }


@pytest.mark.parametrize("case", ["wrong CRS", "points and lines", "empty", "outside"])
def test_a_chart_that_misses_the_map_is_an_error(case: str) -> None:
    z, _ = _two_halves()
    chart = _misses(z)[case]
    warns = pytest.warns(IceChartWarning, match="not polygons")
    with warns if case == "points and lines" else contextlib.nullcontext():
        with pytest.raises(IceChartError, match=r"no polygon of the chart.*overlaps the map.*CRS"):
            scale_logits(z, preserve=chart, method="exact")
    with warns if case == "points and lines" else contextlib.nullcontext():
        with pytest.raises(IceChartError, match="overlaps the map"):
            concentration((z > 0).astype("float32"), chart)


def test_a_chart_covering_little_of_the_map_warns() -> None:
    z, _ = _two_halves()
    corner = gpd.GeoDataFrame({"CT": ["50"]}, geometry=[shapely.box(0, 0, 4, 2)], crs="EPSG:3413")
    with pytest.warns(IceChartWarning, match=r"cover only 2\.0 % of the map"):
        table = concentration((z > 0).astype("float32"), corner)
    assert table["count"].iloc[0] == pytest.approx(8.0)


def test_overlapping_polygons_are_refused_for_preserve() -> None:
    z, _ = _two_halves()
    polys = [shapely.box(0, 0, 12, 20), shapely.box(8, 0, 20, 20)]  # share a 4 m strip
    chart = gpd.GeoDataFrame({"CT": ["20", "80"]}, geometry=polys, crs="EPSG:3413")
    with pytest.raises(IceChartError, match=r"chart polygons overlap \(rows \[\(0, 1\)\]"):
        scale_logits(z, preserve=chart, method="exact")
    # zonal statistics treat each polygon on its own: both counts hold the shared strip
    table = concentration((z > 0).astype("float32"), chart)
    np.testing.assert_allclose(table["count"], [240.0, 240.0])


def test_self_intersecting_polygons_are_repaired_with_a_warning() -> None:
    z, _ = _two_halves()
    bowtie = shapely.Polygon([(0, 0), (10, 20), (10, 0), (0, 20)])  # two triangles
    assert not bowtie.is_valid
    chart = gpd.GeoDataFrame({"CT": ["50"]}, geometry=[bowtie], crs="EPSG:3413")
    with pytest.warns(IceChartWarning, match="repaired with shapely.make_valid"):
        table = concentration((z > 0).astype("float32"), chart)
    # the two 10 x 10 / 2 triangles: 100 pixels of 1 m2
    assert shapely.make_valid(bowtie).area == pytest.approx(100.0)
    assert table["count"].iloc[0] == pytest.approx(100.0)
