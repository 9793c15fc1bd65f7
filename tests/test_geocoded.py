"""Geocoded assets (COGs with a real transform) through odc-stac, next to Sentinel-1.

A sea-ice-concentration COG on its own grid (EPSG:3413, 300 m) is served by the loopback
file server and listed in the loopback STAC API (pgstac) beside the synthetic Sentinel-1
scenes; one ``xseaice.load(..., bands=["sic"])`` call puts both on the scene's GeoBox.
The expected values come from rasterio's own reprojection of the same file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pystac_client
import pytest

import xseaice
from xseaice.exceptions import InvalidArgumentError, LoadError

BBOX = (-6.0, 79.8, -4.0, 80.2)
COLLECTION = "xseaice-test-sic-cog"


def _sic_cog(path: Path, scene_geobox: Any) -> Any:
    """A smooth concentration field with a NaN hole, written as a COG; its GeoBox."""
    import odc.geo.xr  # noqa: F401
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import wrap_xr

    from xseaice.synthetic.cog import write_cog

    bounds = scene_geobox.extent.to_crs("EPSG:3413").boundingbox.buffered(6000)
    gbox = GeoBox.from_bbox(bounds, "EPSG:3413", resolution=300)
    yy, xx = np.meshgrid(gbox.coords["y"].values, gbox.coords["x"].values, indexing="ij")
    sic = 0.5 + 0.4 * np.sin(xx / 7000.0) * np.cos(yy / 5000.0)
    cx, cy = scene_geobox.extent.to_crs("EPSG:3413").centroid.coords[0]
    sic[np.hypot(xx - cx, yy - cy) < 2000] = np.nan  # a no-data disc inside the scene
    write_cog(wrap_xr(sic.astype("float32"), gbox, nodata=np.nan).rename("sic"), path)
    return gbox


def _stac_dicts(href: str, gbox: Any, when: str) -> tuple[dict, dict]:
    from shapely.geometry import mapping

    footprint = gbox.extent.to_crs("EPSG:4326").geom
    collection = pystac.Collection(
        id=COLLECTION,
        description="synthetic sea-ice concentration COGs (geocoded, proj:*)",
        extent=pystac.Extent(
            pystac.SpatialExtent([list(footprint.bounds)]),
            pystac.TemporalExtent([[dt.datetime(2023, 1, 1, tzinfo=dt.UTC), None]]),
        ),
        license="CC0-1.0",
    ).to_dict(include_self_link=False)
    item = pystac.Item(
        id="sic-20230105",
        geometry=mapping(footprint),
        bbox=list(footprint.bounds),
        datetime=dt.datetime.fromisoformat(when),
        properties={
            "proj:code": "EPSG:3413",
            "proj:shape": list(gbox.shape.yx),
            "proj:transform": list(gbox.affine)[:6],
        },
        collection=COLLECTION,
    )
    item.add_asset(
        "sic",
        pystac.Asset(
            href,
            media_type=pystac.MediaType.COG,
            roles=["data"],
            extra_fields={"raster:bands": [{"data_type": "float32", "nodata": "nan"}]},
        ),
    )
    return collection, item.to_dict(include_self_link=False)


@pytest.fixture(scope="module")
def sic_item(
    stac_api: str, pgstac_db: Any, world: Any, file_server: Any, served_root: Path
) -> tuple[Path, pystac.Item]:
    from conftest import pgstac_load

    folder = served_root / "geocoded"
    folder.mkdir(exist_ok=True)
    path = folder / "sic-20230105.tif"
    gbox = _sic_cog(path, world.scenes[2].geobox)
    collection, item = _stac_dicts(file_server.href(path), gbox, "2023-01-05T12:00:00+00:00")
    pgstac_load(pgstac_db, [collection], [item])
    client = pystac_client.Client.open(stac_api)
    found = list(client.search(collections=[COLLECTION], bbox=BBOX).items())
    assert [it.id for it in found] == ["sic-20230105"]
    return path, found[0]


def _rasterio_reproject(path: Path, geobox: Any) -> np.ndarray:
    import rasterio
    from rasterio.warp import Resampling, reproject

    out = np.full(geobox.shape.yx, np.nan, dtype="float32")
    with rasterio.open(path) as src:
        reproject(
            rasterio.band(src, 1),
            out,
            dst_transform=geobox.affine,
            dst_crs=geobox.crs.to_wkt(),
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
    return out


def test_cog_loads_next_to_sentinel1_on_one_geobox(
    stac_api: str, world: Any, file_server: Any, sic_item: tuple[Path, pystac.Item]
) -> None:
    path, cog_item = sic_item
    file_server.log.clear()
    res = xseaice.search(BBOX, "2023-01-05", catalog=stac_api)
    scene = world.scenes[2]
    ds = xseaice.load(
        [*res.sentinel1, cog_item],
        bands=["sic"],
        geobox=scene.geobox,
        chunks=128,
        amsr2=False,
    )
    assert {"hh", "hv", "incidence_angle", "sic"} <= set(ds.data_vars)
    assert ds.sic.dims == ("time", "y", "x") and ds.sic.chunks == ds.hh.chunks
    assert ds.odc.geobox == scene.geobox
    got = ds.sic.isel(time=0).values
    want = _rasterio_reproject(path, scene.geobox)
    both = np.isfinite(got) & np.isfinite(want)
    assert 0.5 < both.mean() < 0.99  # the no-data disc is in the scene
    assert (np.isnan(got) == np.isnan(want)).mean() > 0.995
    np.testing.assert_allclose(got[both], want[both], atol=2e-3)
    assert np.ptp(got[both]) > 0.2  # a field with structure, not a constant
    assert file_server.log.paths(path.name)  # read over HTTP
    hh = ds.hh.isel(time=0).values  # Sentinel-1 still on the same grid, through its GCPs
    assert np.median(np.abs(hh - scene.dataset.hh.isel(time=0).values)) < 0.02


def test_geocoded_items_need_bands(world: Any, sic_item: tuple[Path, pystac.Item]) -> None:
    s1 = pystac.read_file(str(world.http_catalog))
    s1_items = [
        it for it in s1.get_items(recursive=True) if "sentinel-1" in (it.collection_id or "")
    ]
    with pytest.raises(InvalidArgumentError, match="bands="):
        xseaice.load([*s1_items, sic_item[1]], geobox=world.scenes[2].geobox, amsr2=False)
    with pytest.raises(InvalidArgumentError, match="no geocoded item"):
        xseaice.load(s1_items, bands=["sic"], geobox=world.scenes[2].geobox, amsr2=False)
    with pytest.raises(LoadError, match="nope"):
        xseaice.load(
            [*s1_items, sic_item[1]], bands=["nope"], geobox=world.scenes[2].geobox, amsr2=False
        )
