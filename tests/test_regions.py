"""One chart-concentration lookup (``xseaice.products.regions``) for ALS and zonal
statistics, and the one ``preserve`` vocabulary of the workflow."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import shapely
import xarray as xr

from xseaice.exceptions import IceChartError, InvalidArgumentError
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
