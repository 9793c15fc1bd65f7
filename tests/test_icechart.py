"""Tests of xseaice.io.sigrid3, .autoice and .icechart: the real CIS chart, hand-decoded codes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_zeros

from xseaice.exceptions import IceChartError, InvalidArgumentError
from xseaice.io.autoice import autoice_classes
from xseaice.io.icechart import rasterize_chart, read_icechart
from xseaice.io.sigrid3 import (
    concentration_bounds,
    decode_concentration,
    decode_ct,
    decode_form,
    decode_stage,
)

REAL = Path(__file__).parents[2] / "shared" / "data" / "real"
CIS = REAL / "cis_SGRDREA_20201102T.gpkg"


@pytest.fixture(scope="module")
def cis() -> gpd.GeoDataFrame:
    return read_icechart(CIS)


# ------------------------------------------------------------------ code decoding


@pytest.mark.parametrize(
    ("code", "sigrid3", "ai4arctic"),
    [
        ("00", 0.0, 0.0),
        ("01", 0.05, 0.0),
        ("02", 0.05, 0.0),
        ("10", 0.1, 0.1),
        ("70", 0.7, 0.7),
        ("91", 0.95, 1.0),
        ("92", 1.0, 1.0),
        ("46", 0.5, 0.5),
        ("13", 0.2, 0.2),
        ("81", 0.9, 0.9),  # 8/10 to 10/10
        (92, 1.0, 1.0),  # integer codes (AI4Arctic polygon_codes)
        (1, 0.05, 0.0),  # integer 1 is "01"
        (" 50", 0.5, 0.5),
    ],
)
def test_decode_ct_table(code: object, sigrid3: float, ai4arctic: float) -> None:
    assert decode_ct(code) == pytest.approx(sigrid3)
    assert decode_ct(code, convention="ai4arctic") == pytest.approx(ai4arctic)


@pytest.mark.parametrize("code", ["-9", "99", "", None, float("nan"), -9])
def test_decode_ct_missing_is_nan(code: object) -> None:
    assert np.isnan(decode_ct(code))


@pytest.mark.parametrize("code", ["08", "65", "abc", "123"])
def test_decode_ct_invalid_raises(code: str) -> None:
    with pytest.raises(IceChartError, match="not a SIGRID-3 concentration code"):
        decode_ct(code)


def test_decode_concentration_vectorised_and_coerce() -> None:
    out = decode_concentration(np.array([["46", "91"], [None, "xx"]], dtype=object))
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out[0], [0.5, 0.95])
    assert np.isnan(out[1]).all()
    with pytest.raises(IceChartError, match="errors='coerce'"):
        decode_concentration(["46", "xx"], errors="raise")
    with pytest.raises(InvalidArgumentError, match="convention"):
        decode_concentration(["46"], convention="nic")  # type: ignore[arg-type]


def test_concentration_bounds() -> None:
    low, high = concentration_bounds(["46", "91", "30", "01", "-9"])
    np.testing.assert_allclose(low[:4], [0.4, 0.9, 0.3, 0.0])
    np.testing.assert_allclose(high[:4], [0.6, 1.0, 0.3, 0.1])
    assert np.isnan(low[4]) and np.isnan(high[4])


def test_stage_and_form_codes() -> None:
    np.testing.assert_array_equal(decode_stage(["87", "-9", 93, None, "99"]), [87, -1, 93, -1, 99])
    np.testing.assert_array_equal(decode_form(["08", 4, "-9", "22"]), [8, 4, -1, 22])
    np.testing.assert_array_equal(decode_stage(["42"]), [-1])  # not a stage: coerced
    with pytest.raises(IceChartError, match="stage"):
        decode_stage(["42"], errors="raise")


# ------------------------------------------------------------------ AutoICE classes


def test_autoice_classes_hand_checked() -> None:
    # rows: (CT, CA, SA, FA, CB, SB, FB, CC, SC, FC) -> (SIC, SOD, FLOE), decoded by hand
    rows = [
        # one ice type, CA missing: it holds all of CT; thick FYI, big floes
        (("92", "-9", "93", "05", "-9", "-9", "-9", "-9", "-9", "-9"), (10, 4, 4)),
        # young 1+6 = 7/10 >= 0.7 -> young; medium floes 6/10 >= 0.5
        (("91", "10", "85", "05", "60", "84", "04", "30", "81", "99"), (10, 2, 3)),
        # 4/8 young vs 4/8 new: no dominant stage; medium floes 4/8 = 0.5 -> 3
        (("80", "40", "84", "04", "40", "81", "99", "-9", "-9", "-9"), (8, 255, 3)),
        # fast ice form in any partial: FLOE undefined; old 6+2 = 8/10 -> old
        (("92", "60", "97", "06", "20", "96", "06", "20", "87", "08"), (10, 5, 255)),
        # tie 5 vs 5 below 0.7 -> SOD undefined; FLOE tie at 0.5 -> first (vast)
        (("91", "30", "97", "06", "20", "96", "06", "50", "87", "05"), (10, 255, 5)),
        # open water / bergy water: class 0 everywhere
        (("02", "-9", "98", "10", "-9", "-9", "-9", "-9", "-9", "-9"), (0, 0, 0)),
        # all three partials thin FYI: summed 3+3+3 = 9/9 -> thin FYI
        (("90", "30", "87", "04", "30", "88", "04", "30", "89", "04"), (9, 3, 3)),
        # range code 46 -> class 5; new ice
        (("46", "-9", "81", "02", "-9", "-9", "-9", "-9", "-9", "-9"), (5, 1, 1)),
        # unknown CT
        (("99", "-9", "81", "02", "-9", "-9", "-9", "-9", "-9", "-9"), (255, 255, 255)),
    ]
    codes = np.array([r[0] for r in rows], dtype=object)
    expected = np.array([r[1] for r in rows])
    ct, ca, sa, fa, cb, sb, fb, cc, sc, fc = codes.T
    sic, sod, floe = autoice_classes(ct, ca, cb, cc, sa, sb, sc, fa, fb, fc)
    assert sic.dtype == np.uint8
    np.testing.assert_array_equal(np.stack([sic, sod, floe], axis=1), expected)


def test_autoice_water_polygon_without_ct() -> None:
    sic, sod, floe = autoice_classes([None, None], poly_type=["W", "L"])
    np.testing.assert_array_equal(sic, [0, 255])
    np.testing.assert_array_equal(sod, [0, 255])
    np.testing.assert_array_equal(floe, [0, 255])


# ------------------------------------------------------------------ the real CIS chart


def test_cis_chart_counts(cis: gpd.GeoDataFrame) -> None:
    assert len(cis) == 432
    assert cis.crs is not None and "Lambert" in cis.crs.name
    assert cis["poly_type"].value_counts().to_dict() == {"I": 296, "L": 128, "S": 7, "W": 1}
    # input columns are kept
    for col in ("ID_NEW", "CT", "CA", "SA", "FA", "POLY_TYPE"):
        assert col in cis.columns
    ice_or_water = cis["poly_type"].isin(["I", "W"])
    assert cis.loc[ice_or_water, "ct"].notna().all()
    assert cis.loc[~ice_or_water, "ct"].isna().all()
    assert cis["ct"].between(0, 1).sum() == 297
    assert (cis["ct_low"] <= cis["ct"]).all() or cis["ct"].isna().any()
    assert set(np.unique(cis["sic_class"])) <= set(range(11)) | {255}
    assert set(np.unique(cis["sod_class"])) <= set(range(6)) | {255}
    assert set(np.unique(cis["floe_class"])) <= set(range(7)) | {255}
    assert (cis.loc[~ice_or_water, ["sic_class", "sod_class", "floe_class"]] == 255).all().all()
    # the raw CT counts from the file: 185 x 92 and 40 x 91 -> SIC class 10
    assert int((cis["sic_class"] == 10).sum()) == 185 + 40
    assert int((cis["ct"] == 1.0).sum()) == 185


def _row(cis: gpd.GeoDataFrame, id_new: int) -> pd.Series:
    rows = cis[cis["ID_NEW"] == id_new]
    assert len(rows) == 1
    return rows.iloc[0]


HAND = [
    # ID_NEW: CT CA SA FA CB SB FB CC SC FC POLY_TYPE as in the file, decoded by hand
    # 5: 80 40 84 04 40 81 99 -9 -9 -9 I
    (5, dict(ct=0.8, ca=0.4, cb=0.4, sa=84, sb=81, sc=-1, fa=4, fb=99, fc=-1),
     (8, 255, 3)),
    # 4: 02 -9 98 10 (bergy water; sigrid3 reads "02" as 0.05, CA = CT for one type)
    (4, dict(ct=0.05, ca=0.05, sa=98, fa=10, sb=-1), (0, 0, 0)),
    # 26: 00, POLY_TYPE W
    (26, dict(ct=0.0, sa=-1, fa=-1), (0, 0, 0)),
    # 143: 91 10 85 05 60 84 04 30 81 99
    (143, dict(ct=0.95, ca=0.1, cb=0.6, cc=0.3, sa=85, sb=84, sc=81, fa=5, fb=4, fc=99),
     (10, 2, 3)),
    # 244: 92 60 97 06 20 96 06 20 87 08
    (244, dict(ct=1.0, ca=0.6, cb=0.2, cc=0.2, sa=97, sb=96, sc=87, fa=6, fb=6, fc=8),
     (10, 5, 255)),
    # 29: 92 -9 84 08
    (29, dict(ct=1.0, ca=1.0, sa=84, fa=8, sb=-1), (10, 2, 255)),
    # 1: land
    (1, dict(sa=-1, fa=-1), (255, 255, 255)),
]  # fmt: skip


@pytest.mark.parametrize(("id_new", "values", "classes"), HAND)
def test_cis_rows(
    cis: gpd.GeoDataFrame, id_new: int, values: dict[str, float], classes: tuple[int, int, int]
) -> None:
    row = _row(cis, id_new)
    for key, want in values.items():
        assert row[key] == pytest.approx(want), key
    assert (row["sic_class"], row["sod_class"], row["floe_class"]) == classes
    if id_new == 1:
        assert np.isnan(row["ct"])
    if "cc" not in values and "ca" in values:
        assert np.isnan(row["cc"])


def test_cis_ai4arctic_convention() -> None:
    chart = read_icechart(CIS, convention="ai4arctic")
    assert _row(chart, 4)["ct"] == 0.0  # bergy water
    assert _row(chart, 143)["ct"] == 1.0  # 9+/10
    # classes do not depend on the convention
    sigrid = read_icechart(CIS)
    for col in ("sic_class", "sod_class", "floe_class"):
        np.testing.assert_array_equal(chart[col], sigrid[col])


def test_case_insensitive_fields_and_e_prefix() -> None:
    df = pd.DataFrame(
        {"e_ct": ["92", "30"], "Ca": ["-9", "-9"], "sa": ["93", "81"], "FA": ["05", "02"]}
    )
    out = read_icechart(df)
    np.testing.assert_allclose(out["ct"], [1.0, 0.3])
    # the lower-case "sa" code column clashes with the output "sa": kept as "SA"
    assert "SA" in out.columns and list(out["sa"]) == [93, 81]
    np.testing.assert_array_equal(out["sod_class"], [4, 1])
    np.testing.assert_array_equal(out["poly_type"], ["I", "I"])


def test_chart_without_ct_is_an_error(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"CONC": [1.0]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    path = tmp_path / "nochart.gpkg"
    gdf.to_file(path)
    with pytest.raises(IceChartError, match="no CT"):
        read_icechart(path)
    with pytest.raises(IceChartError, match="does not exist"):
        read_icechart(tmp_path / "missing.shp")


def test_geojson_and_shapefile_roundtrip(tmp_path: Path, cis: gpd.GeoDataFrame) -> None:
    raw = gpd.read_file(CIS).iloc[:40]
    for name in ("chart.geojson", "chart.shp"):
        raw.to_file(tmp_path / name)
        out = read_icechart(tmp_path / name)
        np.testing.assert_allclose(out["ct"], cis["ct"].iloc[:40])
        np.testing.assert_array_equal(out["sod_class"], cis["sod_class"].iloc[:40])


# ------------------------------------------------------------------ AI4Arctic polygon_codes

CODES = (
    "id;CT;CA;SA;FA;CB;SB;FB;CC;SC;FC;CN;CD;CF;POLY_TYPE\n"
    "3;92;-9;91; 8;-9;-9;-9;-9;-9;-9;-9;-9;-9;I\n"
    "7;91;60;95; 5;30;87; 4;-9;-9;-9;-9;-9;-9;I\n"
    "9; 1;-9;-9;-9;-9;-9;-9;-9;-9;-9;-9;-9;-9;W\n"
)


def test_polygon_codes_table() -> None:
    chart = read_icechart(CODES)
    assert list(chart.index) == [3, 7, 9]
    np.testing.assert_allclose(chart["ct"], [1.0, 0.95, 0.05])
    np.testing.assert_array_equal(chart["fa"], [8, 5, -1])
    np.testing.assert_array_equal(chart["sic_class"], [10, 10, 0])
    # 3: medium FYI, fast ice; 7: old 6/10 < 0.7 -> no SOD, big floe 6/10 >= 0.5
    np.testing.assert_array_equal(chart["sod_class"], [4, 255, 0])
    np.testing.assert_array_equal(chart["floe_class"], [255, 4, 0])
    # also as a sequence of rows (as stored in the AI4Arctic netCDF)
    rows = np.array(CODES.strip().split("\n"))
    again = read_icechart(rows)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry", errors="ignore")),
        pd.DataFrame(chart.drop(columns="geometry", errors="ignore")),
    )


def test_polygon_codes_with_raster_and_netcdf(tmp_path: Path) -> None:
    raster = np.zeros((6, 8), dtype="int32")
    raster[:, :4] = 3
    raster[:3, 4:] = 7
    raster[3:, 4:] = 9
    chart = read_icechart(CODES, polygon_icechart=raster)
    areas = chart.geometry.area.to_numpy()
    np.testing.assert_allclose(areas, [24.0, 12.0, 12.0])
    # the same from an AI4Arctic-like netCDF
    ds = xr.Dataset(
        {
            "polygon_icechart": (("sar_lines", "sar_samples"), raster),
            "polygon_codes": ("codes", np.array(CODES.strip().split("\n"))),
        }
    )
    path = tmp_path / "scene.nc"
    ds.to_netcdf(path)
    from_nc = read_icechart(path)
    np.testing.assert_allclose(from_nc.geometry.area.to_numpy(), areas)
    np.testing.assert_array_equal(from_nc["sic_class"], chart["sic_class"])


def test_polygon_codes_without_geometry_cannot_be_rasterized() -> None:
    gbox = GeoBox.from_bbox((0, 0, 1000, 1000), crs="EPSG:3413", resolution=100)
    with pytest.raises(IceChartError, match="no geometry"):
        rasterize_chart(read_icechart(CODES), gbox)


def test_polygon_codes_bad_row() -> None:
    with pytest.raises(IceChartError, match="fields"):
        read_icechart("id;CT;CA\n1;92\n")


# ------------------------------------------------------------------ rasterization


def _two_squares(crs: str = "EPSG:3413") -> gpd.GeoDataFrame:
    chart = gpd.GeoDataFrame(
        {"CT": ["92", "30"]},
        geometry=[shapely.box(0, 0, 500, 500), shapely.box(500, 500, 1000, 1000)],
        crs=crs,
        index=[42, 17],  # ids follow row position, not the index
    )
    return read_icechart(chart)


def test_rasterize_two_squares() -> None:
    gbox = GeoBox.from_bbox((0, 0, 1000, 1000), crs="EPSG:3413", resolution=100)
    ids = rasterize_chart(_two_squares(), gbox)
    assert ids.dtype == np.int32 and ids.dims == ("y", "x") and ids.shape == (10, 10)
    expected = np.zeros((10, 10), dtype="int32")
    expected[5:, :5] = 1  # y decreasing: lower-left square is the bottom rows
    expected[:5, 5:] = 2
    np.testing.assert_array_equal(ids.values, expected)
    assert ids.odc.geobox == gbox
    assert ids.rio.crs.to_epsg() == 3413

    ct = rasterize_chart(_two_squares(), gbox, column="ct")
    assert ct.dtype == np.float32
    want = np.where(expected == 1, 1.0, np.where(expected == 2, 0.3, np.nan)).astype("float32")
    np.testing.assert_array_equal(ct.values, want)


def test_rasterize_all_touched_and_errors() -> None:
    gbox = GeoBox.from_bbox((0, 0, 1000, 1000), crs="EPSG:3413", resolution=100)
    chart = read_icechart(
        gpd.GeoDataFrame({"CT": ["50"]}, geometry=[shapely.box(110, 110, 140, 140)], crs=3413)
    )
    assert int((rasterize_chart(chart, gbox) > 0).sum()) == 0  # covers no pixel centre
    assert int((rasterize_chart(chart, gbox, all_touched=True) > 0).sum()) == 1
    with pytest.raises(IceChartError, match="column"):
        rasterize_chart(chart, gbox, column="nope")
    with pytest.raises(IceChartError, match="no CRS"):
        rasterize_chart(chart.set_crs(None, allow_override=True), gbox)
    with pytest.raises(InvalidArgumentError, match="geobox"):
        rasterize_chart(chart, np.zeros((3, 3)))


def test_rasterize_lazy_like_matches_eager() -> None:
    gbox = GeoBox.from_bbox((0, 0, 1000, 1000), crs="EPSG:3413", resolution=100)
    like = xr_zeros(gbox, dtype="float32", chunks=(4, 3))
    lazy = rasterize_chart(_two_squares(), like, column="ct")
    assert lazy.chunks is not None and lazy.chunks[0] == (4, 4, 2)
    eager = rasterize_chart(_two_squares(), gbox, column="ct")
    np.testing.assert_array_equal(lazy.values, eager.values)
    ds = xr.Dataset({"hh": like})
    np.testing.assert_array_equal(rasterize_chart(_two_squares(), ds).values > 0, eager.notnull())


def test_rasterize_reprojects_chart() -> None:
    # a square whose edges lie on pixel edges of an EPSG:3413 grid, stored in EPSG:4326
    gbox = GeoBox.from_bbox((-600e3, -1200e3, -400e3, -1000e3), crs="EPSG:3413", resolution=10e3)
    square = shapely.segmentize(shapely.box(-560e3, -1150e3, -470e3, -1040e3), 1e3)
    chart = read_icechart(
        gpd.GeoDataFrame({"CT": ["70"]}, geometry=[square], crs="EPSG:3413").to_crs(4326)
    )
    assert chart.crs.to_epsg() == 4326
    ids = rasterize_chart(chart, gbox)
    x = ids.x.values[None, :]
    y = ids.y.values[:, None]
    inside = (x > -560e3) & (x < -470e3) & (y > -1150e3) & (y < -1040e3)
    assert int(inside.sum()) == 9 * 11
    np.testing.assert_array_equal(ids.values, inside.astype("int32"))


def test_rasterize_real_chart_matches_point_in_polygon(cis: gpd.GeoDataFrame) -> None:
    # a 64 x 64 grid of 8 km pixels in EPSG:3413 over the chart; compare with shapely
    bounds = cis.to_crs(3413).total_bounds
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    gbox = GeoBox.from_bbox(
        (cx - 256e3, cy - 256e3, cx + 256e3, cy + 256e3), crs="EPSG:3413", resolution=8e3
    )
    ids = rasterize_chart(cis, gbox).values
    xx, yy = np.meshgrid(gbox.coords["x"].values, gbox.coords["y"].values)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xx.ravel(), yy.ravel()), crs=3413)
    joined = gpd.sjoin(pts.to_crs(cis.crs), cis.reset_index(drop=True)[["geometry"]], how="left")
    joined = joined[~joined.index.duplicated()]
    truth = np.nan_to_num(joined["index_right"].to_numpy(dtype="float64") + 1, nan=0).astype(int)
    agree = np.mean(truth.reshape(ids.shape) == ids)
    assert (ids > 0).mean() > 0.3  # the grid really is over the chart
    assert agree > 0.98  # only boundary pixels may differ (edges curve under reprojection)
