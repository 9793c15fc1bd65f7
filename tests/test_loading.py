"""Lazy, co-registered loading: synthetic SAFE/HE5 -> STAC -> HTTP (real servers) -> Dataset."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest

import xseaice
from xseaice.exceptions import (
    AssetReadError,
    CRSError,
    EmptySearchError,
    InvalidArgumentError,
    LoadError,
    MissingSensorWarning,
    MostlyNodataError,
)
from xseaice.stac.grid import make_geobox
from xseaice.stac.loading import load, open_scene
from xseaice.variables import AMSR2_VARIABLES, SAR_VARIABLES

REAL_S1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
BBOX = (-6.0, 79.8, -4.0, 80.2)  # holds the world's scenes


def linear(db: np.ndarray) -> np.ndarray:
    return 10.0 ** (db / 10.0)


def shift_estimate(a: np.ndarray, b: np.ndarray, reach: int = 3) -> tuple[float, float]:
    """Sub-pixel (dy, dx) such that a[y, x] ~ b[y + dy, x + dx]: correlation peak + parabola."""
    best = np.full((2 * reach + 1, 2 * reach + 1), -np.inf)
    h, w = a.shape
    for i, dy in enumerate(range(-reach, reach + 1)):
        for j, dx in enumerate(range(-reach, reach + 1)):
            aa = a[reach : h - reach, reach : w - reach]
            bb = b[reach + dy : h - reach + dy, reach + dx : w - reach + dx]
            ok = np.isfinite(aa) & np.isfinite(bb)
            best[i, j] = np.corrcoef(aa[ok], bb[ok])[0, 1]
    i, j = np.unravel_index(np.argmax(best), best.shape)
    assert 0 < i < 2 * reach and 0 < j < 2 * reach, "correlation peak on the search edge"

    def vertex(m: float, c: float, p: float) -> float:
        return 0.5 * (m - p) / (m - 2 * c + p)

    dy = i - reach + vertex(best[i - 1, j], best[i, j], best[i + 1, j])
    dx = j - reach + vertex(best[i, j - 1], best[i, j], best[i, j + 1])
    return float(dy), float(dx)


@pytest.fixture(scope="module")
def http_result(world: Any) -> Any:
    """Search the HTTP-served static catalog for the first day (two overlapping scenes)."""
    return xseaice.search(BBOX, "2023-01-04", catalog=str(world.http_catalog))


def test_build_reads_nothing_and_matches_truth(world: Any, file_server: Any) -> None:
    scene = world.scenes[0]
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.http_catalog))
    file_server.log.clear()
    ds = load(res, geobox=scene.geobox, chunks=128)
    assert len(file_server.log) == 0  # not one byte requested while building
    assert ds.hh.chunks == ((1,), (128, 128), (128, 128))
    out = ds[list(SAR_VARIABLES)].compute()
    ranged = [p for m, p, r in file_server.log.entries if r and p.endswith(".tiff")]
    assert ranged, "measurements are read with HTTP range requests"
    for var in ("hh", "hv", "incidence_angle"):
        got = out[var].isel(time=0).values
        want = scene.dataset[var].isel(time=0).values
        assert got.dtype == np.float32 and np.isfinite(got).all()
        diff = np.abs(got - want)
        assert np.median(diff) < 0.02 and np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.999


def test_dataset_contract(http_result: Any, world: Any) -> None:
    import odc.geo.xr  # noqa: F401
    import rioxarray  # noqa: F401

    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingSensorWarning)
        ds = load(http_result)
    assert tuple(ds.data_vars) == SAR_VARIABLES + AMSR2_VARIABLES
    for name, var in ds.data_vars.items():
        assert var.dims == ("time", "y", "x") and var.dtype == np.float32
        assert var.attrs["grid_mapping"] == "spatial_ref"
        assert var.attrs["units"] == xseaice.variables.ATTRS[name]["units"]
    assert ds.odc.crs.epsg == 3413 and ds.rio.crs.to_epsg() == 3413  # default north
    assert ds.odc.geobox.resolution.x == 40 and ds.odc.geobox.resolution.y == -40
    assert bool((ds.y.diff("y") < 0).all())
    assert ds.sizes["time"] == 1 and str(ds.time.values[0])[:16] == "2023-01-04T07:10"
    ny, nx = ds.sizes["y"], ds.sizes["x"]  # default chunks: 1024, or the whole grid
    assert ds.hh.chunks[2][0] == min(1024, nx) and ds.hh.chunks[1][0] == min(1024, ny)
    assert "?" not in json.dumps(ds.attrs)  # no URL, no token
    assert ds.attrs["sentinel1_items"].split() == [i.id for i in http_result.sentinel1]


def test_default_grid_is_the_searched_bbox_cut_to_the_footprints(http_result: Any) -> None:
    from pyproj import Transformer
    from shapely import Polygon, union_all

    gb = load(http_result, amsr2=False).odc.geobox
    whole = make_geobox(BBOX)
    tr = Transformer.from_crs(4326, 3413, always_xy=True)
    feet = union_all(
        [
            Polygon(np.column_stack(tr.transform(*np.asarray(it.geometry["coordinates"][0]).T)))
            for it in http_result.sentinel1
        ]
    )
    fx0, fy0, fx1, fy1 = feet.bounds
    gx0, gy0, gx1, gy1 = gb.extent.boundingbox.bbox
    # holds the footprints plus the 3 km margin (and at most one cell more) ...
    for inner, outer in ((gx0, fx0), (gy0, fy0), (-gx1, -fx1), (-gy1, -fy1)):
        assert outer - 3000 - 40 <= inner <= outer - 3000 + 1e-6
    # ... on the pixel grid of the searched bbox, which is 3x larger
    assert (gx0 - whole.affine.c) % 40 == 0 and (gy1 - whole.affine.f) % 40 == 0
    assert whole.shape[0] * whole.shape[1] > 3 * gb.shape[0] * gb.shape[1]


def test_coregistration_other_grid_half_pixel(world: Any) -> None:
    """The synthetic pattern at known map coordinates comes out at the same place (<0.5 px).

    The output grid is the scene's grid shifted by 17.5 cells in x and -9 cells in y, so
    every output cell centre falls half-way between two truth cells in x.
    """
    from affine import Affine
    from odc.geo.geobox import GeoBox

    scene = world.scenes[0]
    g = scene.geobox
    shifted = GeoBox((200, 200), g.affine * Affine.translation(17.5, -9.0), g.crs)
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    got = linear(load(res, geobox=shifted, chunks=100, amsr2=False).hh.isel(time=0).values)
    truth = scene.dataset.hh.isel(time=0)
    lin = linear(truth.values)
    # against the truth itself: output (r, c) sits at truth (r - 9, c + 17.5)
    dy, dx = shift_estimate(got[20:180, 20:180], lin[11:171, 37:197], reach=2)
    assert abs(dy) < 0.25 and abs(dx - 0.5) < 0.25
    # against an independent warp (rasterio bilinear) of the truth onto the same grid
    ref = truth.copy(data=lin).odc.reproject(shifted, resampling="bilinear").values
    dy, dx = shift_estimate(got, ref)
    assert abs(dy) < 0.5 and abs(dx) < 0.5
    ok = np.isfinite(got) & np.isfinite(ref)
    assert np.corrcoef(got[ok], ref[ok])[0, 1] > 0.99


def test_coregistration_other_crs(world: Any) -> None:
    """Loading in EPSG:3996 puts the pattern where rasterio's warp of the truth puts it."""
    scene = world.scenes[0]
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    grid = make_geobox(items=res.sentinel1[:1], resolution=40, crs="EPSG:3996")
    got = load(res.sentinel1[:1], geobox=grid, chunks=256, amsr2=False).hh.isel(time=0).values
    truth = scene.dataset.hh.isel(time=0)
    ref = truth.copy(data=linear(truth.values)).odc.reproject(grid, resampling="bilinear").values
    ok = np.isfinite(ref) & np.isfinite(got)
    assert ok.sum() > 0.5 * scene.geobox.shape[0] * scene.geobox.shape[1]
    dy, dx = shift_estimate(linear(got), ref)
    assert abs(dy) < 0.5 and abs(dx) < 0.5


def close(a: np.ndarray, b: np.ndarray, db: float = 0.2, share: float = 0.998) -> bool:
    """Nearly all values within ``db`` (a few noise-floor pixels differ by DN rounding)."""
    return bool(np.isfinite(a).all() and np.mean(np.abs(a - b) < db) > share)


def _on(da: Any, scene: Any) -> np.ndarray:
    """``da`` (y, x) at the cells of ``scene``'s grid (same lattice)."""
    return da.sel(x=scene.dataset.x, y=scene.dataset.y, method="nearest", tolerance=1.0).values


def test_mosaic_first_valid_and_time_stack(world: Any) -> None:
    s1, s3, s2 = world.scenes
    union = make_geobox(BBOX, resolution=40)
    res = xseaice.search(BBOX, "2023-01-04/2023-01-05", catalog=str(world.catalog))
    assert len(res.sentinel1) == 3
    ds = load(res, geobox=union, chunks=256, amsr2=False)
    assert ds.sizes["time"] == 2
    assert [str(t)[:16] for t in ds.time.values] == ["2023-01-04T07:10", "2023-01-05T07:02"]
    hh = ds.hh.compute()
    day1, day2 = hh.isel(time=0), hh.isel(time=1)
    truth = {id(s): s.dataset.hh.isel(time=0).values for s in world.scenes}
    # first valid wins where both scenes of day 1 overlap: the 07:10 scene everywhere on it
    assert close(_on(day1, s1), truth[id(s1)])
    assert close(_on(day2, s2), truth[id(s2)])
    # the part of the 07:11 scene outside the 07:10 one comes from the 07:11 scene
    x1, y1 = s1.dataset.x.values, s1.dataset.y.values
    xx, yy = np.meshgrid(s3.dataset.x.values, s3.dataset.y.values)
    outside = (xx > x1.max() + 1) | (xx < x1.min() - 1) | (yy > y1.max() + 1) | (yy < y1.min() - 1)
    assert outside.sum() > 1000 and (~outside).sum() > 1000
    assert close(_on(day1, s3)[outside], truth[id(s3)][outside])
    # and day 2 has no data where its only scene is absent
    assert np.isnan(_on(day2, s3)[outside]).mean() > 0.99


def test_amsr2_reprojected(world: Any) -> None:
    """AMSR-2 read from the HDF-EOS5 over HTTP and put bilinearly on the S1 grid."""
    scene = world.scenes[2]  # the only scene of its day: the file holds its own cells
    res = xseaice.search(BBOX, "2023-01-05", catalog=str(world.http_catalog))
    ds = load(res, geobox=scene.geobox, chunks=128)
    assert ds.attrs["amsr2_items"] == res.amsr2[0].id
    for var in AMSR2_VARIABLES:
        got = ds[var].isel(time=0).values
        want = scene.dataset[var].isel(time=0).values
        assert np.isfinite(got).all() and 100 < got.mean() < 300, var
        assert np.abs(got - want).max() < 0.05, var  # K; the same bilinear 12.5 km cells


def test_chunks_outside_every_footprint_are_skipped(world: Any) -> None:
    """A grid 20 km wider than the scene: the chunks no footprint touches are NaN for
    every variable and read nothing; AMSR-2 is computed where Sentinel-1 is."""
    scene = world.scenes[2]  # alone on its day
    res = xseaice.search(BBOX, "2023-01-05", catalog=str(world.catalog))
    gb = scene.geobox
    wide = gb.pad(512)  # 2 chunks of 256 on each side
    ds = load(res, geobox=wide, chunks=256)
    assert ds.hh.data.numblocks == (1, 5, 5)
    corner = ds.isel(x=slice(0, 256), y=slice(0, 256)).compute()
    assert all(bool(corner[v].isnull().all()) for v in ds.data_vars)
    middle = ds.isel(x=slice(512, 768), y=slice(512, 768)).compute()  # the scene itself
    for v in ("hh", "tb18h", "tb36v"):
        assert bool(np.isfinite(middle[v]).all()), v


def test_missing_amsr2_warns_and_keeps_s1(world: Any) -> None:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    with pytest.warns(MissingSensorWarning, match="Sentinel-1 variables only"):
        ds = load(res)
    assert tuple(ds.data_vars) == SAR_VARIABLES
    res2 = xseaice.search(BBOX, "2023-01-04/2023-01-05", catalog=str(world.catalog))
    res2.amsr2 = [a for a in res2.amsr2 if "20230105" not in a.id]
    with pytest.warns(MissingSensorWarning, match="2023-01-05"):
        ds2 = load(res2, geobox=world.scenes[0].geobox, chunks=256)
    tb = ds2.tb18h.compute()
    assert np.isfinite(tb.isel(time=0)).all() and np.isnan(tb.isel(time=1)).all()


def test_stac_api_to_load(stac_api: str, world: Any) -> None:
    res = xseaice.search(BBOX, "2023-01-05", catalog=stac_api)
    assert len(res.sentinel1) == 1 and len(res.amsr2) == 1
    scene = world.scenes[2]
    hh = load(res, geobox=scene.geobox, chunks=256, amsr2=False).hh.isel(time=0).values
    assert np.median(np.abs(hh - scene.dataset.hh.isel(time=0).values)) < 0.02


def test_open_scene_embedded_equals_search_load() -> None:
    bbox = tuple(xseaice.stac.catalogs.embedded_sample()["bbox"])
    a = open_scene(bbox, "2023-01-04", catalog="embedded", chunks=512)
    b = load(xseaice.search(bbox, "2023-01-04", catalog="embedded"), bbox=bbox, chunks=512)
    assert a.odc.geobox == b.odc.geobox and list(a.data_vars) == list(b.data_vars)
    sl = {"x": slice(990, 1054), "y": slice(990, 1054)}  # the middle of the scene
    np.testing.assert_array_equal(a.hh.isel(**sl).values, b.hh.isel(**sl).values)
    assert np.isfinite(a.hh.isel(**sl).values).mean() > 0.9


def test_graph_grows_linearly_with_chunks(http_result: Any, world: Any) -> None:
    grid = make_geobox(BBOX, resolution=40)
    counts = {}
    for c in (64, 128):
        ds = load(http_result, geobox=grid, chunks=c, amsr2=False)
        nchunks = len(ds.hh.chunks[1]) * len(ds.hh.chunks[2])
        counts[c] = (len(ds.__dask_graph__()), nchunks)
    (t64, n64), (t128, n128) = counts[64], counts[128]
    per_chunk = (t64 - t128) / (n64 - n128)
    assert 3 <= per_chunk <= 6  # one load task, three slices (+ a NaN filler)
    assert t128 - per_chunk * n128 < 10  # a handful of per-item annotation tasks


def test_distributed_local_cluster(http_result: Any, world: Any) -> None:
    from dask.distributed import Client, LocalCluster

    scene = world.scenes[0]
    ds = load(http_result, geobox=scene.geobox, chunks=128, amsr2=False)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cl,
        Client(cl),
    ):
        hh = ds.hh.isel(time=0).compute().values
    assert np.median(np.abs(hh - scene.dataset.hh.isel(time=0).values)) < 0.02


# ---------------------------------------------------------------------------------------
# bad input and faults
# ---------------------------------------------------------------------------------------


def _items_on(server_url: str, world: Any, base: str) -> list[pystac.Item]:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.http_catalog), sensors="sentinel-1")
    items = []
    for it in res.sentinel1[:1]:
        it = it.clone()
        for asset in it.assets.values():
            asset.href = asset.href.replace(base, server_url)
        items.append(it)
    return items


def _sign(href: str) -> str:
    return href + "?se=2099&sig=SECRET-TOKEN"


def test_asset_404_names_the_asset_without_token(
    world: Any, flaky_server: Any, file_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    items = _items_on(flaky_server.url, world, file_server.url)
    flaky_server.fail(items[0].assets["hh"].href, status=404)
    ds = load(items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False, patch_url=_sign)
    with pytest.raises(AssetReadError) as err:
        ds.hh.compute()
    msg = str(err.value)
    assert "'hh'" in msg and items[0].id in msg and "404" in msg
    assert "SECRET" not in msg and "SECRET" not in caplog.text
    # a 404 is not retried
    hits = [p for p in flaky_server.log.paths(".tiff") if "-hh-" in p]
    assert len(hits) <= 3


def test_dropped_connections_are_retried(world: Any, flaky_server: Any, file_server: Any) -> None:
    items = _items_on(flaky_server.url, world, file_server.url)
    flaky_server.fail(items[0].assets["hh"].href, drop=True, times=2)
    flaky_server.fail(items[0].assets["schema-calibration-hh"].href, drop=True, times=1)
    hh = load(items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False).hh.compute()
    want = world.scenes[0].dataset.hh.isel(time=0).values
    assert np.median(np.abs(hh.isel(time=0).values - want)) < 0.02
    assert flaky_server.served(items[0].assets["hh"].href) == 2


def test_server_that_always_drops(world: Any, flaky_server: Any, file_server: Any) -> None:
    items = _items_on(flaky_server.url, world, file_server.url)
    flaky_server.fail(items[0].assets["schema-noise-hv"].href, drop=True)
    ds = load(items, geobox=world.scenes[0].geobox, chunks=256, amsr2=False, retries=1)
    with pytest.raises(AssetReadError, match="'schema-noise-hv'"):
        ds.hv.compute()


def test_mostly_nodata_detected(world: Any, tmp_path: Path) -> None:
    """A broken geolocation grid (every point 2 degrees north) leaves the footprint empty."""
    res = xseaice.search(BBOX, "2023-01-05", catalog=str(world.catalog), sensors="sentinel-1")
    item = res.sentinel1[0].clone()
    src = Path(item.assets["schema-product-hh"].get_absolute_href())
    bad = tmp_path / src.name
    text = src.read_text()
    import re

    bad.write_text(
        re.sub(r"<latitude>([-0-9.eE+]+)</latitude>",
               lambda m: f"<latitude>{float(m.group(1)) + 2.0}</latitude>", text)
    )  # fmt: skip
    item.assets["schema-product-hh"].href = str(bad)
    ds = load([item], geobox=world.scenes[2].geobox, chunks=128, amsr2=False)
    with pytest.raises(MostlyNodataError, match="footprint"):
        ds.hh.compute()
    quiet = load([item], geobox=world.scenes[2].geobox, chunks=128, amsr2=False, nodata_check=None)
    assert np.isnan(quiet.hh.values).all()


def test_missing_polarization(world: Any) -> None:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    with pytest.raises(LoadError, match=r"lacks asset\(s\) \['vv'"):
        load(res, polarizations=("HH", "VV"))
    item = res.sentinel1[0].clone()
    del item.assets["schema-noise-hv"]
    with pytest.raises(LoadError, match="schema-noise-hv"):
        load([item])


@pytest.mark.parametrize(
    ("crs", "fragment"),
    [("ESPG:3413", "not a coordinate reference system"), ("EPSG:4326", "geographic"),
     ("EPSG:99999999", "not a coordinate reference system")],
)  # fmt: skip
def test_mistyped_crs(world: Any, crs: str, fragment: str) -> None:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    with pytest.raises(CRSError, match=fragment):
        load(res, crs=crs)


def test_bad_arguments(world: Any) -> None:
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    with pytest.raises(EmptySearchError):
        load([])
    with pytest.raises(InvalidArgumentError, match="resolution"):
        load(res, resolution=-40)
    with pytest.raises(InvalidArgumentError, match="chunks"):
        load(res, chunks="big")
    with pytest.raises(InvalidArgumentError, match="groupby"):
        load(res, groupby="week")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="neither Sentinel-1 nor AMSR-2"):
        load([pystac.Item("x", None, None, res.sentinel1[0].datetime, {})])
    with pytest.raises(CRSError, match="both hemispheres"):
        make_geobox((-10.0, -5.0, 10.0, 5.0))


def test_grids_south_antimeridian_and_pole() -> None:
    south = make_geobox((-170.0, -77.0, -160.0, -75.0))
    assert south.crs.epsg == 3031
    across = make_geobox((175.0, 70.0, -175.0, 72.0))
    plain = make_geobox((-5.0, 70.0, 5.0, 72.0))
    assert across.crs.epsg == 3413
    # same size of region on both sides of the antimeridian (the earth is round)
    assert abs(across.shape[0] * across.shape[1] / (plain.shape[0] * plain.shape[1]) - 1) < 0.05
    cap = make_geobox((-180.0, 88.0, 180.0, 90.0), resolution=1000)
    # a polar cap of 2 degrees: a disc around the pole in the middle of the grid
    from pyproj import Transformer

    x88, y88 = Transformer.from_crs(4326, 3413, always_xy=True).transform(-45.0, 88.0)
    radius_km = np.hypot(x88, y88) / 1000
    assert abs(cap.shape[0] - 2 * radius_km) < 3 and abs(cap.shape[1] - 2 * radius_km) < 3
    x, y = cap.extent.centroid.coords[0]
    assert abs(x) < 1500 and abs(y) < 1500


def test_real_item_builds_lazily_and_names_missing_measurement() -> None:
    """The real Planetary Computer GRD item: annotation from the real files, no tiff here."""
    d = json.loads((REAL_S1 / "S1A_EW_GRDM_1SDH_20221130T014342_stac_item.json").read_text())
    safe = REAL_S1 / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15"
    ann = safe / "annotation"
    for pol in ("hh", "hv"):
        d["assets"][f"schema-product-{pol}"]["href"] = str(ann / f"ew-{pol}.xml")
        d["assets"][f"schema-calibration-{pol}"]["href"] = str(
            ann / "calibration" / f"calibration-ew-{pol}.xml"
        )
        d["assets"][f"schema-noise-{pol}"]["href"] = str(
            ann / "calibration" / f"noise-ew-{pol}.xml"
        )
        d["assets"][pol]["href"] = str(safe / "measurement" / f"ew-{pol}.tiff")  # absent
    item = pystac.Item.from_dict(d)
    ds = load([item], bbox=(86.0, 79.0, 88.0, 79.5), chunks=512, amsr2=False)
    assert ds.odc.crs.epsg == 3413 and ds.sizes["time"] == 1
    with pytest.raises(AssetReadError, match=r"asset 'hh' of item 'S1A_EW_GRDM_1SDH_20221130"):
        ds.hh.isel(x=slice(0, 64), y=slice(0, 64)).compute()


def _real_grd_item(measurement: Path) -> pystac.Item:
    """The real GRD item with its real annotation and ``measurement`` as both rasters."""
    d = json.loads((REAL_S1 / "S1A_EW_GRDM_1SDH_20221130T014342_stac_item.json").read_text())
    ann = REAL_S1 / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15"
    ann = ann / "annotation"
    for pol in ("hh", "hv"):
        d["assets"][f"schema-product-{pol}"]["href"] = str(ann / f"ew-{pol}.xml")
        cal = ann / "calibration"
        d["assets"][f"schema-calibration-{pol}"]["href"] = str(cal / f"calibration-ew-{pol}.xml")
        d["assets"][f"schema-noise-{pol}"]["href"] = str(cal / f"noise-ew-{pol}.xml")
        d["assets"][pol]["href"] = str(measurement)
    return pystac.Item.from_dict(d)


def _constant_measurement(folder: Path, dn: int, shape: tuple[int, int]) -> Path:
    """A full-size uint16 raster of one value: a VRT stretching a 1 x 1 GeoTIFF."""
    import rasterio

    with rasterio.open(
        folder / "one.tif",
        "w",
        driver="GTiff",
        width=1,
        height=1,
        count=1,
        dtype="uint16",
        transform=rasterio.transform.from_origin(0, 1, 1, 1),
    ) as dst:
        dst.write(np.full((1, 1), dn, dtype="uint16"), 1)
    h, w = shape
    vrt = folder / "measurement.vrt"
    vrt.write_text(
        f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><VRTRasterBand dataType="UInt16" '
        'band="1"><SimpleSource><SourceFilename relativeToVRT="1">one.tif</SourceFilename>'
        '<SourceBand>1</SourceBand><SrcRect xOff="0" yOff="0" xSize="1" ySize="1"/>'
        f'<DstRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/></SimpleSource></VRTRasterBand>'
        "</VRTDataset>"
    )
    return vrt


def test_default_nodata_check_accepts_a_valid_scene_at_its_swath_edge(tmp_path: Path) -> None:
    """Every DN valid: the default load must not refuse cells along the swath edge.

    The real item's footprint has 4 corners 400 km apart at 77-82 N.  Read as straight
    lines in lon/lat its south-east edge bows up to 16 km beyond the swath, so a chunk on
    that edge counted cells outside the image as missing (the 43 % refusal of a full EW
    scene); the edges are geodesics.  The expected valid cells come from the annotation's
    own geolocation grid (its outer ring of points), not from the loader's footprint.
    """
    from odc.geo.geobox import GeoBox
    from pyproj import Transformer
    from shapely import Polygon, contains_xy

    from xseaice.io import sentinel1

    geo = sentinel1.read_geolocation(
        REAL_S1
        / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15"
        / "annotation"
        / "ew-hh.xml"
    )
    item = _real_grd_item(_constant_measurement(tmp_path, 1000, geo.shape))
    # the 1024 x 1024 chunk of the reported refusal (x=1037680, y=839040), at 1 km
    box = (1_037_680, 798_080, 1_078_640, 839_040)
    gbox = GeoBox.from_bbox(box, "EPSG:3413", resolution=1000)
    ds = load([item], geobox=gbox, chunks=64, amsr2=False)  # default nodata_check=0.5
    hh = ds.hh.isel(time=0).values  # before: MostlyNodataError "only 44 % ..."

    lon = np.asarray(geo.longitude).reshape(-1, 21)  # 23 lines x 21 pixels
    lat = np.asarray(geo.latitude).reshape(-1, 21)
    ring_lon = np.concatenate([lon[0], lon[1:, -1], lon[-1, -2::-1], lon[-2:0:-1, 0]])
    ring_lat = np.concatenate([lat[0], lat[1:, -1], lat[-1, -2::-1], lat[-2:0:-1, 0]])
    x, y = Transformer.from_crs(4326, 3413, always_xy=True).transform(ring_lon, ring_lat)
    swath = Polygon(np.column_stack([x, y]))
    xx, yy = np.meshgrid(gbox.coords["x"].values, gbox.coords["y"].values)
    inside = contains_xy(swath.buffer(-1500), xx, yy)
    outside = ~contains_xy(swath.buffer(1500), xx, yy)
    assert inside.sum() > 300 and outside.sum() > 300  # the box straddles the edge
    assert np.isfinite(hh[inside]).all()  # no cell near the edge lost
    assert not np.isfinite(hh[outside]).any()  # nothing invented beyond it


def test_coarse_load_multilooks_in_linear_power(world: Any) -> None:
    """At 200 m (5 x the 40 m spacing) each cell averages 5 x 5 radar pixels in linear power:
    the speckle std of HH (dB) over homogeneous ice matches a 5 x 5 block average of the
    40 m load (point sampling would keep the 40 m std), and the ENL attribute is the items'
    ENL times 25."""
    from affine import Affine
    from odc.geo.geobox import GeoBox

    scene = world.scenes[0]
    fine_box = scene.geobox
    n = fine_box.shape[0] // 5
    coarse_box = GeoBox((n, n), fine_box.affine * Affine.scale(5), fine_box.crs)
    res = xseaice.search(BBOX, "2023-01-04", catalog=str(world.catalog), sensors="sentinel-1")
    fine = load(res, geobox=fine_box, chunks=128, amsr2=False)
    coarse = load(res, geobox=coarse_box, chunks=128, amsr2=False)
    lin = linear(fine.hh.isel(time=0).values)
    ny, nx = coarse.sizes["y"], coarse.sizes["x"]
    blocks = lin[: ny * 5, : nx * 5].reshape(ny, 5, nx, 5)
    ref_db = 10 * np.log10(blocks.mean(axis=(1, 3)))
    got_db = coarse.hh.isel(time=0).values
    # homogeneous cells: one ice type in the whole 5 x 5 block (the synthetic truth)
    itype = scene.truth["ice_type"].values[: ny * 5, : nx * 5].reshape(ny, 5, nx, 5)
    same = (itype.min(axis=(1, 3)) == itype.max(axis=(1, 3))) & np.isfinite(got_db)
    same &= np.isfinite(ref_db)
    kinds = np.unique(itype.min(axis=(1, 3))[same])
    assert same.sum() > 200
    for kind in kinds:
        sel = same & (itype.min(axis=(1, 3)) == kind)
        if sel.sum() < 50:
            continue
        assert np.std(got_db[sel]) == pytest.approx(np.std(ref_db[sel]), rel=0.2)
    fine_db = fine.hh.isel(time=0).values
    assert np.nanstd(got_db[same]) < np.nanstd(fine_db) * 0.9
    item_enl = res.sentinel1[0].properties["sar:looks_equivalent_number"]
    assert coarse.hh.attrs["equivalent_number_of_looks"] == pytest.approx(25 * item_enl)
    assert fine.hh.attrs["equivalent_number_of_looks"] == pytest.approx(item_enl)


def test_thermal_noise_above_the_signal_names_the_noise_asset(
    world: Any, file_server: Any, served_root: Path
) -> None:
    """A noise LUT of 1e12 floors every pixel at -40 dB: an error, not a flat map."""
    import re

    from xseaice.exceptions import CalibrationError

    res = xseaice.search(BBOX, "2023-01-05", catalog=str(world.http_catalog), sensors="sentinel-1")
    item = res.sentinel1[0].clone()
    asset = item.assets["schema-noise-hh"]
    src = served_root / Path(asset.href.split("/world/", 1)[1]).name
    text = (world.root / "http" / asset.href.split("/world/http/", 1)[1]).read_text()

    def huge(m: re.Match[str]) -> str:
        return m.group(1) + " ".join("1e12" for _ in m.group(2).split()) + m.group(3)

    bad, n = re.subn(r"(<noiseRangeLut[^>]*>)([^<]*)(</noiseRangeLut>)", huge, text)
    assert n > 0
    src.write_text(bad)
    asset.href = file_server.href(src)
    kw = {"geobox": world.scenes[2].geobox, "chunks": 128, "amsr2": False}
    with pytest.raises(CalibrationError, match=r"'schema-noise-hh'.*exceeds the signal in 100%"):
        load([item], **kw).hh.compute()
    kept = load([item], denoise=False, **kw).hh.values  # the documented way out
    assert np.nanmin(kept) > -40.0


def test_stac_api_search_by_item_id(stac_api: str) -> None:
    """``ids=`` goes to the API's /search; AMSR-2 follows the found item's day."""
    by_place = xseaice.search(BBOX, "2023-01-05", catalog=stac_api)
    wanted = by_place.sentinel1[0].id
    res = xseaice.search(None, None, catalog=stac_api, ids=[wanted])
    assert [i.id for i in res.sentinel1] == [wanted]
    assert [i.id for i in res.amsr2] == [i.id for i in by_place.amsr2]


def test_search_sign_returns_signed_hrefs_that_load(
    stac_api: str, world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def fake_sign(href: str) -> str:
        calls.append(href)
        return href + "?se=2099&sig=SECRET-TOKEN"

    caplog.set_level("DEBUG")
    xseaice.stac.catalogs.register_catalog("signing-test", stac_api, sign=fake_sign)
    try:
        plain = xseaice.search(BBOX, "2023-01-05", catalog="signing-test")
        res = xseaice.search(BBOX, "2023-01-05", catalog="signing-test", sign=True)
    finally:
        del xseaice.stac.catalogs.CATALOGS["signing-test"]
    hrefs = [a.href for it in res.items for a in it.assets.values() if "://" in a.href]
    assert res.signed and not plain.signed and len(hrefs) >= 3 and len(calls) == len(hrefs)
    assert all(h.endswith("?se=2099&sig=SECRET-TOKEN") for h in hrefs)
    assert not any("SECRET" in a.href for it in plain.items for a in it.assets.values())
    # the signed items read as they are (not signed twice), like odc-stac would read them
    scene = world.scenes[2]
    hh = load(res, geobox=scene.geobox, chunks=256, amsr2=False).hh.isel(time=0).values
    assert len(calls) == len(hrefs)
    assert np.median(np.abs(hh - scene.dataset.hh.isel(time=0).values)) < 0.02
    # a signed href that fails is reported without its token
    broken = res.sentinel1[0].clone()
    broken.assets["hh"].href = broken.assets["hh"].href.replace(".tif", "-gone.tif")
    ds = load([broken], geobox=scene.geobox, chunks=256, amsr2=False)
    with pytest.raises(AssetReadError) as err:
        ds.hh.compute()
    assert "SECRET" not in str(err.value) and "SECRET" not in repr(res) + str(res)
    assert "SECRET" not in caplog.text
