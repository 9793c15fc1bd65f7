"""The overview figure is a map: date, scene id and CRS, lat/lon lines, chart polygons with CT."""

from __future__ import annotations

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_zeros
from pyproj import Transformer
from shapely.geometry import box

from xseaice.plot_annotations import _degrees, chart_outlines, figure_title, latlon_lines
from xseaice.plot_overview import overview_figure

matplotlib.use("Agg")


@pytest.fixture
def mapped() -> tuple[xr.Dataset, gpd.GeoDataFrame]:
    """A 64 x 64 scene of 40 km pixels in EPSG:3413 with two chart polygons (CT 8 and 10)."""
    gbox = GeoBox.from_bbox((600e3, -1200e3, 3160e3, 1360e3), "EPSG:3413", resolution=40e3)
    ice = xr_zeros(gbox, dtype="uint8") + 1
    rng = np.random.default_rng(0)
    logit = ice.astype("float32") + rng.normal(0, 1, ice.shape).astype("float32")
    ds = xr.Dataset(
        {
            "ice": ice,
            "lead": ice * 0,
            "ice_logit": logit,
            "ice_probability": 1 / (1 + np.exp(-logit)),
        },
        attrs={"sentinel1_items": "S1A_EW_GRDM_1SDH_TEST_A S1A_EW_GRDM_1SDH_TEST_B"},
    ).assign_coords(time=np.datetime64("2023-01-04T07:10:03"))
    polys = gpd.GeoDataFrame(
        {"chart_concentration": [0.8, 1.0], "mean": [0.75, 0.98]},
        geometry=[box(600e3, -1200e3, 1880e3, 1360e3), box(1880e3, -1200e3, 3160e3, 1360e3)],
        crs="EPSG:3413",
    ).to_crs("EPSG:4326")
    return ds, polys


def test_title_has_date_scene_and_crs(mapped: tuple[xr.Dataset, gpd.GeoDataFrame]) -> None:
    ds, _ = mapped
    assert figure_title(ds) == "2023-01-04T07:10 UTC | S1A_EW_GRDM_1SDH_TEST_A (+1) | EPSG:3413"


def test_latlon_lines_follow_pyproj(mapped: tuple[xr.Dataset, gpd.GeoDataFrame]) -> None:
    import matplotlib.pyplot as plt

    ds, _ = mapped
    fig, ax = plt.subplots()
    assert latlon_lines(ax, ds) > 0
    to_ll = Transformer.from_crs("EPSG:3413", "EPSG:4326", always_xy=True)
    labels = [t.get_text() for t in ax.texts]
    checked = 0
    for coll in ax.collections:  # each level: its vertices lie on that latitude/longitude
        for path in coll.get_paths():
            v = path.vertices[len(path.vertices) // 2] * 1000
            lon, lat = to_ll.transform(v[0], v[1])
            checked += 1
            assert any(
                abs(lat - float(t[:-2])) < 0.05
                if t.endswith("N")
                else abs(abs(lon) - float(t[:-2])) < 0.5
                for t in labels
            ), (lon, lat, labels)
    assert checked >= 2 and any(t.endswith("N") for t in labels)
    assert (
        _degrees(-6, "E") == "6°W"
        and _degrees(354, "E") == "6°W"
        and _degrees(80.1, "N") == "80.1°N"
    )
    plt.close(fig)


def test_overview_figure_outlines_chart_with_ct(
    mapped: tuple[xr.Dataset, gpd.GeoDataFrame],
) -> None:
    import matplotlib.pyplot as plt

    ds, table = mapped
    fig = overview_figure(ds, table=table)
    assert fig._suptitle.get_text().endswith("EPSG:3413")
    ice_ax = fig.axes[5]
    assert sorted(t.get_text() for t in ice_ax.texts if t.get_text().startswith("CT")) == [
        "CT 10/10",
        "CT 8/10",
    ]
    # the outlines are the polygons in km, limits unchanged (the map's extent)
    xs = np.concatenate([ln.get_xdata() for ln in ice_ax.lines])
    assert xs.min() == pytest.approx(600, abs=1) and xs.max() == pytest.approx(3160, abs=1)
    assert ice_ax.get_xlim() == pytest.approx((600, 3160), abs=25)
    assert chart_outlines(ice_ax, None, ds) == 0
    plt.close(fig)
