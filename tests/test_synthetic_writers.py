"""Real-format writers of the synthetic world, checked against the real files' schemas.

The SAFE is read back with rasterio and ElementTree and calibrated here with plain numpy;
its XML element paths are compared with the real product's annotation in
``shared/data/real``; the HDF-EOS5 file is read with h5py and reprojected with odc-geo
(GDAL); the STAC catalog is read and validated (core schemas, offline) with pystac.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from xseaice.synthetic import (
    SceneParams,
    make_scene,
    write_ai4arctic,
    write_amsr2_he5,
    write_cog,
    write_safe,
    write_stac,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
REAL_SAFE = REAL / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15"


def lin(db: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 10.0)


@pytest.fixture(scope="module", params=["ascending", "descending"])
def scene(request: pytest.FixtureRequest) -> object:
    inc = (19.0, 47.0) if request.param == "ascending" else (45.0, 21.0)
    return make_scene(4, shape=(300, 280), params=SceneParams(incidence_range=inc))


@pytest.fixture(scope="module")
def safe(scene: object, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_safe(scene, tmp_path_factory.mktemp("safe"))  # type: ignore[arg-type]


def _paths(root: ET.Element) -> set[str]:
    """All element paths (tag/tag/...) of an XML tree."""
    out: set[str] = set()

    def walk(e: ET.Element, prefix: str) -> None:
        p = f"{prefix}/{e.tag}" if prefix else e.tag
        out.add(p)
        for c in e:
            walk(c, p)

    walk(root, "")
    return out


def _floats(e: ET.Element, path: str) -> np.ndarray:
    node = e.find(path)
    assert node is not None and node.text is not None, path
    return np.array(node.text.split(), dtype=float)


# ---------------------------------------------------------------------------------------
# SAFE
# ---------------------------------------------------------------------------------------


def test_safe_layout_and_names(safe: Path) -> None:
    assert re.fullmatch(
        r"S1A_EW_GRDM_1SDH_\d{8}T\d{6}_\d{8}T\d{6}_\d{6}_[0-9A-F]{6}_[0-9A-F]{4}\.SAFE", safe.name
    )
    stem = r"s1a-ew-grd-(hh|hv)-\d{8}t\d{6}-\d{8}t\d{6}-\d{6}-[0-9a-f]{6}-00[12]"
    files = sorted(p.relative_to(safe).as_posix() for p in safe.rglob("*") if p.is_file())
    pats = [
        rf"annotation/calibration/calibration-{stem}\.xml",
        rf"annotation/calibration/noise-{stem}\.xml",
        rf"annotation/{stem}\.xml",
        r"manifest\.safe",
        rf"measurement/{stem}\.tiff",
    ]
    for pat in pats:
        assert sum(bool(re.fullmatch(pat, f)) for f in files) == (
            1 if pat.startswith("manifest") else 2
        ), pat
    assert len(files) == 9
    # the manifest lists every other file with its size and MD5, like real products
    root = ET.parse(safe / "manifest.safe").getroot()
    locs = {fl.get("href"): bs for bs in root.iter("byteStream") for fl in bs.iter("fileLocation")}
    assert {h.lstrip("./") for h in locs} == set(files) - {"manifest.safe"}
    for href, bs in locs.items():
        data = (safe / href).read_bytes()
        assert int(bs.get("size", -1)) == len(data)
        cs = bs.find("checksum")
        assert cs is not None and cs.text == hashlib.md5(data).hexdigest()
    real_tags = {e.tag for e in ET.parse(REAL_SAFE / "manifest.safe").getroot().iter()}
    mine = {e.tag for e in root.iter()}
    assert mine - real_tags <= {"{http://www.opengis.net/gml}coordinates"} | real_tags


def test_safe_measurement_is_gcp_geolocated(safe: Path, scene: object) -> None:
    import rasterio
    from pyproj import Transformer

    tif = next((safe / "measurement").glob("*-hh-*.tiff"))
    with rasterio.open(tif) as r:
        assert r.dtypes == ("uint16",)
        assert r.transform.is_identity  # no geotransform
        gcps, crs = r.gcps
        dn = r.read(1)
        assert r.block_shapes[0] == (256, 256)
    assert crs.to_epsg() == 4326
    assert len(gcps) == 10 * 21
    sc = scene
    radar = sc.radar  # type: ignore[attr-defined]
    np.testing.assert_array_equal(dn, radar.dn["hh"])
    # every GCP is the exact lon/lat of its pixel in the scene grid (GDAL raster space)
    h, w = dn.shape
    tr = sc.geobox.transform  # type: ignore[attr-defined]
    to_ll = Transformer.from_crs(3413, 4326, always_xy=True)
    for g in gcps[::7]:
        line, pix = g.row - 0.5, g.col - 0.5
        row = h - 1 - line if radar.flip_lines else line
        col = w - 1 - pix if radar.flip_pixels else pix
        lon, lat = to_ll.transform(tr.c + (col + 0.5) * tr.a, tr.f + (row + 0.5) * tr.e)
        assert abs(g.x - lon) < 1e-9 and abs(g.y - lat) < 1e-9
    # radar geometry: incidence increases with the pixel index
    ann = ET.parse(next((safe / "annotation").glob("*-hh-*.xml"))).getroot()
    pts = ann.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    inc = {int(p.findtext("pixel") or 0): float(p.findtext("incidenceAngle") or 0) for p in pts}
    vals = [inc[k] for k in sorted(inc)]
    assert vals == sorted(vals)
    passing = ann.findtext("generalAnnotation/productInformation/pass")
    assert passing == ("Descending" if radar.flip_pixels else "Ascending")


@pytest.mark.parametrize("kind", ["product", "calibration", "noise"])
def test_safe_xml_elements_match_the_real_annotation(safe: Path, kind: str) -> None:
    real = {
        "product": REAL_SAFE / "annotation" / "ew-hh.xml",
        "calibration": REAL_SAFE / "annotation" / "calibration" / "calibration-ew-hh.xml",
        "noise": REAL_SAFE / "annotation" / "calibration" / "noise-ew-hh.xml",
    }[kind]
    folder = safe / "annotation" / ("" if kind == "product" else "calibration")
    pattern = {"product": "s1a-*-hh-*.xml", "calibration": "calibration-*-hh-*.xml",
               "noise": "noise-*-hh-*.xml"}[kind]  # fmt: skip
    mine = _paths(ET.parse(next(folder.glob(pattern))).getroot())
    ref = _paths(ET.parse(real).getroot())
    assert mine <= ref, sorted(mine - ref)
    if kind != "product":
        assert mine == ref
    else:
        for must in (
            "product/geolocationGrid/geolocationGridPointList/geolocationGridPoint/elevationAngle",
            "product/imageAnnotation/imageInformation/numberOfSamples",
            "product/swathMerging/swathMergeList/swathMerge/swathBoundsList/swathBounds/lastRangeSample",
        ):
            assert must in mine


def _lut(root: ET.Element, name: str, width: int, height: int) -> np.ndarray:
    """A calibration LUT on every pixel: linear in pixel per vector, linear between lines."""
    vecs = root.findall("calibrationVectorList/calibrationVector")
    lines = np.array([int(v.findtext("line") or 0) for v in vecs])
    rows = np.stack(
        [np.interp(np.arange(width), _floats(v, "pixel"), _floats(v, name)) for v in vecs]
    )
    out = np.empty((height, width))
    for j in range(width):
        out[:, j] = np.interp(np.arange(height), lines, rows[:, j])
    return out


def _noise(root: ET.Element, width: int, height: int) -> np.ndarray:
    vecs = root.findall("noiseRangeVectorList/noiseRangeVector")
    lines = np.array([int(v.findtext("line") or 0) for v in vecs])
    rows = np.stack(
        [
            np.interp(np.arange(width), _floats(v, "pixel"), _floats(v, "noiseRangeLut"))
            for v in vecs
        ]
    )
    rng = np.empty((height, width))
    for j in range(width):
        rng[:, j] = np.interp(np.arange(height), lines, rows[:, j])
    az = np.ones((height, width))
    for b in root.findall("noiseAzimuthVectorList/noiseAzimuthVector"):
        l0, l1 = int(b.findtext("firstAzimuthLine") or 0), int(b.findtext("lastAzimuthLine") or 0)
        s0, s1 = int(b.findtext("firstRangeSample") or 0), int(b.findtext("lastRangeSample") or 0)
        vals = np.interp(np.arange(l0, l1 + 1), _floats(b, "line"), _floats(b, "noiseAzimuthLut"))
        az[l0 : l1 + 1, s0 : s1 + 1] = vals[:, None]
    return rng * az


@pytest.mark.parametrize("pol", ["hh", "hv"])
def test_safe_dn_invert_to_the_scene_sigma0(safe: Path, scene: object, pol: str) -> None:
    import rasterio

    tif = next((safe / "measurement").glob(f"*-{pol}-*.tiff"))
    stem = tif.stem
    with rasterio.open(tif) as r:
        dn = r.read(1).astype(np.float64)
    h, w = dn.shape
    cal = ET.parse(safe / "annotation" / "calibration" / f"calibration-{stem}.xml").getroot()
    noi = ET.parse(safe / "annotation" / "calibration" / f"noise-{stem}.xml").getroot()
    a = _lut(cal, "sigmaNought", w, h)
    eta = _noise(noi, w, h)
    sigma = (dn**2 - eta) / a**2  # radar geometry
    radar = scene.radar  # type: ignore[attr-defined]
    sigma = radar.to_scene(sigma)
    ref = lin(scene.dataset[pol].values[0])  # type: ignore[attr-defined]
    above = ref > 1.0001e-4  # not floored at -40 dB
    assert above.mean() > 0.3
    np.testing.assert_allclose(sigma[above], ref[above], rtol=2e-4)
    assert (sigma[~above] <= 1.0001e-4).all()
    # betaNought / sigmaNought = sqrt(sin(incidence)) as in real EW products
    v = cal.find("calibrationVectorList/calibrationVector")
    assert v is not None
    pix = _floats(v, "pixel").astype(int)
    inc = np.degrees(np.arcsin((_floats(v, "betaNought") / _floats(v, "sigmaNought")) ** 2))
    cols = w - 1 - pix if radar.flip_pixels else pix
    want = scene.dataset.incidence_angle.values[0, 0, cols]  # type: ignore[attr-defined]
    np.testing.assert_allclose(inc, want, atol=1e-4)
    # the xseaice reader (an independent implementation of the same annotation) agrees
    from xseaice.io import sentinel1
    from xseaice.io.sentinel1_sampling import calibrate

    got = calibrate(
        dn.astype(np.uint16),
        sentinel1.read_calibration(safe / "annotation" / "calibration" / f"calibration-{stem}.xml"),
        sentinel1.read_noise(safe / "annotation" / "calibration" / f"noise-{stem}.xml"),
        rows=np.arange(h)[:, None],
        cols=np.arange(w)[None, :],
    )
    np.testing.assert_allclose(radar.to_scene(got)[above], ref[above], rtol=2e-4)


# ---------------------------------------------------------------------------------------
# AMSR-2 HDF-EOS5
# ---------------------------------------------------------------------------------------


def test_amsr2_he5_layout_and_values(tmp_path: Path) -> None:
    import h5py
    import odc.geo.xr  # noqa: F401
    import xarray as xr
    from affine import Affine
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    sc = make_scene(5, shape=(384, 384))
    path = write_amsr2_he5(sc, tmp_path)
    assert path.name == "AMSR_U2_L3_SeaIce12km_B04_20230104.he5"
    with h5py.File(path, "r") as f:
        meta = f["HDFEOS INFORMATION/StructMetadata.0"][()].decode()
        fields = f["HDFEOS/GRIDS/NpPolarGrid12km/Data Fields"]
        names = set(fields)
        raw = {
            n: fields[n][()]
            for n in ("SI_12km_NH_18H_DAY", "SI_12km_NH_36V_DAY", "SI_12km_NH_36V_ASC")
        }
        fill = fields["SI_12km_NH_18H_DAY"].attrs["_FillValue"]
        assert "SpPolarGrid12km" not in f["HDFEOS/GRIDS"]
    want = {f"SI_12km_NH_{f_}{p}_{t}" for f_ in ("18", "23", "36", "89") for p in "HV"
            for t in ("DAY", "ASC", "DSC")}  # fmt: skip
    assert names == want
    assert 'GridName="NpPolarGrid12km"' in meta and "XDim=608" in meta and "YDim=896" in meta
    assert "UpperLeftPointMtrs=(-3850000.000000,5850000.000000)" in meta
    assert "LowerRightMtrs=(3750000.000000,-5350000.000000)" in meta
    assert "Projection=HE5_GCTP_PS" in meta
    d18 = raw["SI_12km_NH_18H_DAY"]
    assert d18.shape == (896, 608) and d18.dtype == np.int32 and fill == 0
    valid = d18 != 0
    assert 4 <= valid.sum() < 200  # only cells near the scene carry values
    tb = d18[valid] * 0.1
    assert 100.0 < tb.min() and tb.max() < 280.0
    np.testing.assert_array_equal(raw["SI_12km_NH_36V_DAY"], raw["SI_12km_NH_36V_ASC"])
    # the file's grid, reprojected bilinearly onto the scene by GDAL, gives the scene's TBs
    gbox = GeoBox((896, 608), Affine(12500.0, 0, -3850000.0, 0, -12500.0, 5850000.0), "EPSG:3411")
    for var, name in (("tb18h", "SI_12km_NH_18H_DAY"), ("tb36v", "SI_12km_NH_36V_DAY")):
        a = raw[name].astype("float32") * np.float32(0.1)
        a[raw[name] == 0] = np.nan
        da = xr.DataArray(a, dims=("y", "x"), coords=xr_coords(gbox, crs_coord_name="spatial_ref"))
        out = da.odc.reproject(sc.geobox, resampling="bilinear").values
        ref = sc.dataset[var].values[0]
        assert np.isfinite(out).all()
        assert np.abs(out - ref).max() < 0.1, np.abs(out - ref).max()


def test_amsr2_he5_two_hemispheres(tmp_path: Path) -> None:
    import h5py

    north = make_scene(1, shape=(64, 64))
    south = make_scene(2, shape=(64, 64), crs="EPSG:3031", center=(170.0, -75.0))
    path = write_amsr2_he5([north, south], tmp_path / "both.he5")
    with h5py.File(path, "r") as f:
        assert set(f["HDFEOS/GRIDS"]) == {"NpPolarGrid12km", "SpPolarGrid12km"}
        s = f["HDFEOS/GRIDS/SpPolarGrid12km/Data Fields/SI_12km_SH_18V_DAY"][()]
        assert s.shape == (664, 632) and (s != 0).any()


# ---------------------------------------------------------------------------------------
# COG, STAC, AI4Arctic
# ---------------------------------------------------------------------------------------


def test_write_cog(tmp_path: Path) -> None:
    import rasterio

    sc = make_scene(3, shape=(512, 512))
    path = write_cog(sc.dataset.hh, tmp_path / "hh.tif")
    with rasterio.open(path) as r:
        assert r.block_shapes[0] == (256, 256)
        assert r.overviews(1)  # overviews present
        assert r.compression is not None and r.compression.name.lower() == "deflate"
        assert r.crs.to_epsg() == 3413
        assert tuple(r.transform)[:6] == tuple(sc.geobox.transform)[:6]
        np.testing.assert_array_equal(r.read(1), sc.dataset.hh.values[0])
    path = write_cog(sc.dataset[["tb18h", "tb36v"]], tmp_path / "tb.tif")
    with rasterio.open(path) as r:
        assert r.descriptions == ("tb18h", "tb36v")


def test_write_stac(tmp_path: Path) -> None:
    import pystac

    scenes = [
        make_scene(1, shape=(128, 128), time="2023-01-04T07:10:00"),
        make_scene(2, shape=(128, 128), time="2023-01-05T07:02:00"),
    ]
    cat_path = write_stac(scenes, tmp_path / "local")
    cat = pystac.Catalog.from_file(str(cat_path))
    assert {c.id for c in cat.get_children()} == {"sentinel-1-grd", "amsr2-l3"}
    s1 = list(cat.get_child("sentinel-1-grd").get_items())  # type: ignore[union-attr]
    amsr = list(cat.get_child("amsr2-l3").get_items())  # type: ignore[union-attr]
    assert len(s1) == 2 and len(amsr) == 2
    real = json.loads((REAL / "S1A_EW_GRDM_1SDH_20221130T014342_stac_item.json").read_text())
    for it in s1:
        # the properties and assets of Planetary Computer's items, as written on disk
        # (pystac migrates proj:epsg to proj:code when it reads them)
        raw = json.loads(Path(it.get_self_href() or "").read_text())
        assert set(real["properties"]) <= set(raw["properties"])
        assert set(real["assets"]) - {"thumbnail"} <= set(raw["assets"])
        assert raw["stac_extensions"] == real["stac_extensions"]
        assert raw["properties"]["proj:epsg"] == 4326
        assert (
            it.assets["hh"].media_type == "image/tiff; application=geotiff; profile=cloud-optimized"
        )
        assert it.assets["hh"].roles == ["data"]
        assert it.properties["sar:polarizations"] == ["HH", "HV"]
        for asset in it.assets.values():
            assert not asset.href.startswith("/")  # relative
            assert Path(asset.get_absolute_href() or "").is_file()
        # core-schema validation offline (extension schemas would need the network)
        d = it.to_dict()
        d["stac_extensions"] = []
        pystac.Item.from_dict(d).validate()
    for it in amsr:
        assert it.assets["data"].media_type == "application/x-hdf5"
        assert Path(it.assets["data"].get_absolute_href() or "").is_file()
    for col in cat.get_children():
        d = col.to_dict()
        d["stac_extensions"] = []
        pystac.Collection.from_dict(d).validate()
    # absolute URLs for a loopback server
    base = "http://127.0.0.1:8765/world"
    cat2 = pystac.Catalog.from_file(str(write_stac(scenes[:1], tmp_path / "http", href_base=base)))
    it = next(iter(cat2.get_items(recursive=True)))
    assert all(a.href.startswith(base + "/") for a in it.assets.values())


def test_write_ai4arctic(tmp_path: Path) -> None:
    import xarray as xr

    from xseaice.io.icechart import read_icechart

    sc = make_scene(9, shape=(256, 192), params=SceneParams(chart_cell_km=4.0))
    path = write_ai4arctic(sc, tmp_path / "scene.nc")
    ds = xr.open_dataset(path, mask_and_scale=False)
    try:
        assert ds["nersc_sar_primary"].dims == ("sar_lines", "sar_samples")
        assert ds["nersc_sar_primary"].shape == (128, 96)
        assert ds["btemp_18_7h"].dims == ("2km_grid_lines", "2km_grid_samples")
        for v in ("nersc_sar_secondary", "sar_incidenceangle", "distance_map", "btemp_36_5v"):
            assert v in ds
        # 80 m SAR = mean linear power of 2 x 2 blocks
        hh = lin(sc.dataset.hh.values[0])
        blk = hh.reshape(128, 2, 96, 2).mean(axis=(1, 3))
        np.testing.assert_allclose(ds["nersc_sar_primary"].values, 10 * np.log10(blk), atol=1e-4)
        for task in ("SIC", "SOD", "FLOE"):
            assert ds[task].dtype == np.uint8 and ds[task].attrs["_FillValue"] == 255
        codes = [str(c) for c in ds["polygon_codes"].values]
        assert codes[0] == "id;CT;CA;SA;FA;CB;SB;FB;CC;SC;FC"
        chart = read_icechart(codes)
        poly = ds["polygon_icechart"].values.astype(int)
        sic = ds["SIC"].values
        for pid, row in chart.iterrows():
            m = poly == pid
            if m.any():
                # SIC class = the chart CT in tenths = the truth concentration in tenths
                truth = sc.chart.loc[sc.chart.ID_NEW == pid, "true_concentration"].iloc[0]
                assert set(np.unique(sic[m])) == {int(np.floor(truth * 10 + 0.5))}
                assert int(row["sic_class"]) == int(np.floor(truth * 10 + 0.5))
    finally:
        ds.close()
