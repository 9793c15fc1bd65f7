"""Tests of xseaice.io.amsr2: AU_SI12-like HDF-EOS5, netCDF and GeoTIFF readers, reprojection."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from affine import Affine
from conftest import serve_handler
from odc.geo.geobox import GeoBox
from pyproj import Transformer

from xseaice.exceptions import AssetReadError, CRSError, InvalidArgumentError, LoadError
from xseaice.io.amsr2 import read_amsr2
from xseaice.io.urls import earthdata_headers
from xseaice.stac.amsr2_graph import reproject_to
from xseaice.variables import ATTRS

NORTH = ("NpPolarGrid12km", "NH", (-3850000.0, 5850000.0), 608, 896)
SOUTH = ("SpPolarGrid12km", "SH", (-3950000.0, 4350000.0), 632, 664)
PROJ_NORTH = "(6378273,-0.006694,0,0,-45000000,70000000,0,0,0,0,0,0,0)"
PROJ_SOUTH = "(6378273,-0.006694,0,0,0,-70000000,0,0,0,0,0,0,0)"
BASE = {"18H": 2000, "18V": 2200, "23H": 2250, "23V": 2350, "36H": 2100, "36V": 2300}


def raw_value(channel: str, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """The packed integer the test files hold: base + col + 2 row (0.1 K)."""
    return BASE[channel] + col + 2 * row


def write_au_si12(
    path: Path,
    grid: tuple = NORTH,
    *,
    corners: bool = True,
    proj: str | None = PROJ_NORTH,
    attrs: bool = True,
) -> Path:
    """A small-footprint but full-size AU_SI12-like HDF-EOS5 file written with h5py."""
    name, hem, ul, nx, ny = grid
    lr = (ul[0] + nx * 12500, ul[1] - ny * 12500)
    meta = (
        "GROUP=SwathStructure\nEND_GROUP=SwathStructure\nGROUP=GridStructure\n"
        f'\tGROUP=GRID_1\n\t\tGridName="{name}"\n\t\tXDim={nx}\n\t\tYDim={ny}\n'
    )
    if corners:
        meta += (
            f"\t\tUpperLeftPointMtrs=({ul[0]:.6f},{ul[1]:.6f})\n"
            f"\t\tLowerRightMtrs=({lr[0]:.6f},{lr[1]:.6f})\n"
        )
    if proj:
        meta += f"\t\tProjection=GCTP_PS\n\t\tProjParams={proj}\n\t\tSphereCode=-1\n"
    meta += "\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\n"
    meta += "GROUP=PointStructure\nEND_GROUP=PointStructure\n"
    rows, cols = np.mgrid[0:ny, 0:nx]
    with h5py.File(path, "w") as f:
        f.create_dataset("HDFEOS INFORMATION/StructMetadata.0", data=np.bytes_(meta))
        fields = f.create_group(f"HDFEOS/GRIDS/{name}/Data Fields")
        for ch in BASE:
            for pass_, extra in (("DAY", 0), ("ASC", 5), ("DSC", -5)):
                v = (raw_value(ch, rows, cols) + extra).astype("int32")
                v[0, 0] = 0  # fill
                v[10, 20] = 0
                d = fields.create_dataset(f"SI_12km_{hem}_{ch}_{pass_}", data=v)
                if attrs:
                    d.attrs["scale_factor"] = np.array([0.1])
                    d.attrs["add_offset"] = np.array([0.0])
                    d.attrs["_FillValue"] = np.array([0], dtype="int32")
                    d.attrs["units"] = np.bytes_("degree_kelvin")
    return path


@pytest.fixture(scope="module")
def he5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_au_si12(
        tmp_path_factory.mktemp("amsr2") / "AMSR_U2_L3_SeaIce12km_B04_20181008.he5"
    )


@pytest.fixture(scope="module")
def north(he5: Path) -> xr.Dataset:
    return read_amsr2(he5)


# ------------------------------------------------------------------ HDF-EOS5


def test_variables_dims_attrs(north: xr.Dataset) -> None:
    assert list(north.data_vars) == ["tb18h", "tb18v", "tb36h", "tb36v"]
    for name in north.data_vars:
        da = north[name]
        assert da.dims == ("y", "x") and da.dtype == np.float32
        for key, value in ATTRS[name].items():
            assert da.attrs[key] == value
    assert north.sizes == {"y": 896, "x": 608}
    assert north["time"].values == np.datetime64("2018-10-08")
    assert north.attrs["pass"] == "DAY" and north.attrs["format"] == "hdfeos5"


def test_nsidc_north_grid_coordinates(north: xr.Dataset) -> None:
    # cell centres: upper-left corner (-3 850 000, 5 850 000) + half a 12.5 km cell
    assert north.x.values[0] == -3843750.0 and north.y.values[0] == 5843750.0
    assert north.x.values[-1] == 3743750.0 and north.y.values[-1] == -5343750.0
    assert np.all(np.diff(north.y.values) == -12500.0)
    assert north.odc.crs.epsg == 3411
    assert north.rio.crs.to_epsg() == 3411
    # the pole (x = y = 0) is the corner shared by columns 307/308 and rows 467/468
    assert north.x.values[308] - 6250.0 == 0.0 and north.y.values[468] + 6250.0 == 0.0
    # NSIDC documents the grid's upper-left corner at 30.98 N, 168.35 E
    lon, lat = Transformer.from_crs(3411, 4326, always_xy=True).transform(-3850000.0, 5850000.0)
    assert lat == pytest.approx(30.98, abs=0.01) and lon == pytest.approx(168.35, abs=0.01)


def test_scale_and_fill(north: xr.Dataset) -> None:
    assert np.isnan(north.tb18h.values[0, 0]) and np.isnan(north.tb36v.values[10, 20])
    assert int(np.isnan(north.tb18h.values).sum()) == 2
    row, col = 100, 200
    assert north.tb18h.values[row, col] == pytest.approx(raw_value("18H", row, col) * 0.1, abs=1e-4)
    assert north.tb36v.values[row, col] == pytest.approx(raw_value("36V", row, col) * 0.1, abs=1e-4)


def test_pass_and_channels(he5: Path) -> None:
    asc = read_amsr2(he5, channels=("23V",), pass_="ASC")
    assert list(asc.data_vars) == ["tb23v"]
    assert asc.tb23v.values[5, 5] == pytest.approx((raw_value("23V", 5, 5) + 5) * 0.1, abs=1e-4)
    assert asc.tb23v.attrs["frequency_GHz"] == 23.8
    with pytest.raises(LoadError, match="89H"):
        read_amsr2(he5, channels=("89H",))
    with pytest.raises(InvalidArgumentError, match="channel"):
        read_amsr2(he5, channels=("19X",))
    with pytest.raises(InvalidArgumentError, match="pass_"):
        read_amsr2(he5, pass_="NIGHT")  # type: ignore[arg-type]


def test_south_grid(tmp_path: Path) -> None:
    ds = read_amsr2(write_au_si12(tmp_path / "s.he5", SOUTH, proj=PROJ_SOUTH))
    assert ds.sizes == {"y": 664, "x": 632}
    assert ds.odc.crs.epsg == 3412
    assert ds.x.values[0] == -3943750.0 and ds.y.values[0] == 4343750.0
    assert "time" not in ds.coords  # no date in the file name


def test_metadata_fallbacks(tmp_path: Path, north: xr.Dataset) -> None:
    # no corners and no projection in StructMetadata: the NSIDC definition is used
    bare = read_amsr2(write_au_si12(tmp_path / "bare.he5", corners=False, proj=None, attrs=False))
    assert bare.odc.geobox == north.odc.geobox
    np.testing.assert_array_equal(bare.tb18h.values, north.tb18h.values)  # default 0.1 K, fill 0
    # a non-NSIDC polar stereographic (WGS84 sphere code path) builds a proj string
    other = "(6378137,6356752.3142,0,0,-45000000,70000000,0,0,0,0,0,0,0)"
    ds = read_amsr2(write_au_si12(tmp_path / "wgs.he5", proj=other))
    assert ds.odc.crs.epsg is None
    cf = ds.odc.crs.proj.to_cf()
    assert cf["standard_parallel"] == 70 and cf["semi_major_axis"] == 6378137


def test_not_amsr2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello world")
    with pytest.raises(LoadError, match="neither"):
        read_amsr2(junk)
    with pytest.raises(AssetReadError, match="does not exist"):
        read_amsr2(tmp_path / "nope.he5")


# ------------------------------------------------------------------ netCDF and GeoTIFF


def test_netcdf_with_other_names_and_flipped_y(tmp_path: Path, north: xr.Dataset) -> None:
    renamed = north.rename(tb18h="btemp_18_7h", tb18v="TB18V", tb36h="tb_36h")
    renamed.to_netcdf(tmp_path / "a.nc")
    ds = read_amsr2(tmp_path / "a.nc")
    assert ds.odc.geobox == north.odc.geobox
    for name in north.data_vars:
        np.testing.assert_array_equal(ds[name].values, north[name].values)
    north.isel(y=slice(None, None, -1)).to_netcdf(tmp_path / "flip.nc")
    flipped = read_amsr2(tmp_path / "flip.nc")
    assert flipped.y.values[0] > flipped.y.values[-1]
    np.testing.assert_array_equal(flipped.tb36v.values, north.tb36v.values)
    no_crs = north.drop_vars("spatial_ref")
    for v in no_crs.data_vars:
        no_crs[v].attrs.pop("grid_mapping", None)
    no_crs.to_netcdf(tmp_path / "nocrs.nc")
    with pytest.raises(CRSError, match="no CRS"):
        read_amsr2(tmp_path / "nocrs.nc")


def test_geotiff_bands(tmp_path: Path, north: xr.Dataset) -> None:
    path = tmp_path / "tb.tif"
    gbox = north.odc.geobox
    order = ["tb36v", "tb18h", "tb36h", "tb18v"]
    with rasterio.open(
        path, "w", driver="GTiff", width=608, height=896, count=4, dtype="int16",
        crs="EPSG:3411", transform=gbox.affine, nodata=0,
    ) as dst:  # fmt: skip
        for i, name in enumerate(order, start=1):
            dst.write(np.nan_to_num(north[name].values * 10).round().astype("int16"), i)
            dst.set_band_description(i, name)
        dst.scales = (0.1,) * 4
    ds = read_amsr2(path)
    assert ds.odc.geobox == gbox
    for name in north.data_vars:
        np.testing.assert_allclose(ds[name].values, north[name].values, atol=1e-4)


# ------------------------------------------------------------------ URLs


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(he5: Path) -> Iterator[str]:
    handler = lambda *a, **k: _Files(*a, directory=str(he5.parent), **k)  # noqa: E731
    with serve_handler(handler) as url:
        yield url


def test_read_over_http(served: str, he5: Path, north: xr.Dataset) -> None:
    ds = read_amsr2(f"{served}/{he5.name}?token=SECRET")
    np.testing.assert_array_equal(ds.tb18h.values, north.tb18h.values)
    assert "SECRET" not in ds.attrs["source"] and ds.attrs["source"].endswith(".he5?<redacted>")
    assert ds["time"].values == np.datetime64("2018-10-08")
    with pytest.raises(AssetReadError, match="HTTP 404") as info:
        read_amsr2(f"{served}/missing.he5?sig=SECRET")
    assert "SECRET" not in str(info.value)


def test_earthdata_token_only_for_nasa_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARTHDATA_TOKEN", "tok123")
    assert earthdata_headers("https://data.nsidc.earthdata.nasa.gov/x.he5") == {
        "Authorization": "Bearer tok123"
    }
    assert earthdata_headers("https://evil.example.com/earthdata.nasa.gov/x.he5") == {}
    # AU_SI12 in NSIDC's cloud gets it too (the same rule as the altimetry reader); never
    # over clear text
    cloud = "https://data.nsidc.earthdatacloud.nasa.gov/AMSR_U2/x.he5"
    assert earthdata_headers(cloud) == {"Authorization": "Bearer tok123"}
    assert earthdata_headers(cloud.replace("https:", "http:")) == {}
    monkeypatch.delenv("EARTHDATA_TOKEN")
    assert earthdata_headers("https://data.nsidc.earthdata.nasa.gov/x.he5") == {}


# ------------------------------------------------------------------ reprojection


def _small(values: np.ndarray, res: float = 12500.0) -> xr.Dataset:
    from odc.geo.xr import wrap_xr

    gbox = GeoBox(values.shape, Affine(res, 0, 0, 0, -res, 0), "EPSG:3411")
    return xr.Dataset({"tb18h": wrap_xr(values.astype("float32"), gbox)})


def test_bilinear_hand_computed() -> None:
    values = np.array([[200.0, 210.0, 220.0], [230.0, 250.0, 240.0], [260.0, 270.0, 280.0]])
    src = _small(values)
    # one 500 m target pixel centred a quarter cell right of and half a cell below
    # the centre of source cell (0, 0), whose centre is (6250, -6250)
    cx, cy = 6250.0 + 0.25 * 12500, -6250.0 - 0.5 * 12500
    dst = GeoBox((1, 1), Affine(500.0, 0, cx - 250, 0, -500.0, cy + 250), "EPSG:3411")
    got = float(reproject_to(src, dst).tb18h.values[0, 0])
    top = 200.0 + 0.25 * (210.0 - 200.0)
    bottom = 230.0 + 0.25 * (250.0 - 230.0)
    assert got == pytest.approx(top + 0.5 * (bottom - top), abs=1e-3)  # 221.25


def test_bilinear_linear_field_across_crs(north: xr.Dataset) -> None:
    # a linear field in EPSG:3411 is reproduced by bilinear resampling onto EPSG:3413
    gx, gy = np.meshgrid(north.x.values, north.y.values)
    field = (250.0 + gx / 1e5 - gy / 2e5).astype("float32")
    src = north[["tb18h"]].copy()
    src["tb18h"] = (("y", "x"), field, north.tb18h.attrs)
    dst = GeoBox.from_bbox((-600e3, -1200e3, -400e3, -1000e3), crs="EPSG:3413", resolution=4000)
    out = reproject_to(src, dst).tb18h
    xs, ys = np.meshgrid(out.x.values, out.y.values)
    sx, sy = Transformer.from_crs(3413, 3411, always_xy=True).transform(xs, ys)
    expected = 250.0 + sx / 1e5 - sy / 2e5
    # GDAL's approximate transformer is within 1/8 source cell: 0.125 * 12.5 km * 1e-5 K/m
    np.testing.assert_allclose(out.values, expected, atol=0.02)
    assert out.dims == ("y", "x") and out.odc.geobox == dst and out.dtype == np.float32
    assert out.attrs["units"] == "K"


def test_reproject_lazy_equals_eager_and_nan(north: xr.Dataset) -> None:
    dst = GeoBox.from_bbox((-600e3, -1200e3, -400e3, -1000e3), crs="EPSG:3413", resolution=2000)
    eager = reproject_to(north, dst)
    lazy = reproject_to(north.chunk({"y": 300, "x": 300}), dst, chunks=(40, 64))
    assert lazy.tb36h.chunks == ((40, 40, 20), (64, 36))
    for name in north.data_vars:
        np.testing.assert_allclose(lazy[name].values, eager[name].values, atol=1e-4)
    assert lazy["time"].values == north["time"].values
    # a target far outside the grid is all NaN, not zeros
    far = GeoBox.from_bbox((0, 0, 1000, 1000), crs="EPSG:32633", resolution=100)
    assert bool(reproject_to(north, far).tb18h.isnull().all())
    # NaN source cells stay NaN (not averaged in as 0)
    holes = north.copy()
    holes["tb18h"] = north.tb18h.where(north.x < -500000)  # cuts the target in two
    out = reproject_to(holes, dst).tb18h
    assert 0.2 < float(np.isnan(out.values).mean()) < 0.8 and np.nanmin(out.values) > 300
    with pytest.raises(InvalidArgumentError, match="resampling"):
        reproject_to(north, dst, resampling="lanczos9")
    with pytest.raises(InvalidArgumentError, match="geobox"):
        reproject_to(north, "EPSG:3413")
