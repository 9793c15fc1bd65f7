"""Write a dated series of synthetic fjord scenes as COGs with a static STAC catalog.

Each scene becomes a Sentinel-1-like STAC item (collection ``sentinel-1-grd``,
``sar:instrument_mode`` ``IW``, polarisation ``HH``) whose ``hh`` asset is a
Cloud-Optimised GeoTIFF of the 8-bit grey values (0 = no data) in EPSG:3413, so that
[`xseaice.search`][xseaice.stac.searching.search] finds the series over the glacier exactly as it
finds real scenes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.atomic import atomic_path

__all__ = ["write_fjord_stac"]

_COLLECTION = "sentinel-1-grd"


def _write_cog(ds: xr.Dataset, path: Path) -> None:
    import rioxarray  # noqa: F401  (registers .rio)

    grey = np.clip(np.round(np.nan_to_num(ds["sar"].values, nan=0.0)), 0, 255).astype(np.uint8)
    da = xr.DataArray(grey, dims=("y", "x"), coords={"y": ds["y"], "x": ds["x"]})
    da = da.rio.write_crs("EPSG:3413").rio.write_nodata(0)
    with atomic_path(path) as tmp:
        da.rio.to_raster(tmp, driver="COG")


def _lonlat_bbox(ds: xr.Dataset) -> tuple[list[float], dict[str, object]]:
    from pyproj import Transformer
    from shapely.geometry import box, mapping

    px = float(ds.attrs["pixel_size"])
    x0, x1 = float(ds["x"].min()) - px / 2, float(ds["x"].max()) + px / 2
    y0, y1 = float(ds["y"].min()) - px / 2, float(ds["y"].max()) + px / 2
    tr = Transformer.from_crs("EPSG:3413", "EPSG:4326", always_xy=True)
    xs = np.linspace(x0, x1, 9)
    ys = np.linspace(y0, y1, 9)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = tr.transform(gx.ravel(), gy.ravel())
    bbox = [float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))]
    return bbox, mapping(box(*bbox))


def write_fjord_stac(scenes: Sequence[xr.Dataset], root: str | os.PathLike[str]) -> Path:
    """Write fjord scenes as COG assets of a static STAC catalog.

    Parameters
    ----------
    scenes : sequence of xarray.Dataset
        [`make_fjord`][xseaice.synthetic.fjord.make_fjord] scenes (``sar`` and the attributes
        ``glacier``, ``date``, ``sensor``, ``pixel_size``).
    root : str or path
        Output folder (created); the catalog is ``<root>/catalog.json``.

    Returns
    -------
    pathlib.Path
        The catalog file.
    """
    import pystac

    if not scenes:
        raise InvalidArgumentError("scenes is empty: nothing to write")
    root = Path(root)
    cat = pystac.Catalog("fjords", "Synthetic glacier fjord scenes (xseaice, simulated)")
    boxes = [_lonlat_bbox(ds)[0] for ds in scenes]
    full = [min(b[0] for b in boxes), min(b[1] for b in boxes)]
    full += [max(b[2] for b in boxes), max(b[3] for b in boxes)]
    times = [dt.datetime.fromisoformat(ds.attrs["date"]).replace(tzinfo=dt.UTC) for ds in scenes]
    extent = pystac.Extent(
        pystac.SpatialExtent([full]), pystac.TemporalExtent([[min(times), max(times)]])
    )
    coll = pystac.Collection(_COLLECTION, "Simulated Sentinel-1 IW scenes of fjords", extent)
    cat.add_child(coll)
    for ds, when in zip(scenes, times, strict=True):
        stem = f"{ds.attrs['glacier']}_{ds.attrs['date']}_{ds.attrs['sensor']}"
        bbox, geom = _lonlat_bbox(ds)
        item = pystac.Item(
            stem,
            geom,
            bbox,
            when,
            {
                "platform": "sentinel-1a",
                "constellation": "sentinel-1",
                "sar:instrument_mode": "IW",
                "sar:polarizations": ["HH"],
                "proj:epsg": 3413,
                "xseaice:glacier": ds.attrs["glacier"],
                "xseaice:pixel_size": float(ds.attrs["pixel_size"]),
            },
        )
        cog = root / "assets" / f"{stem}.tif"
        _write_cog(ds, cog)
        item.add_asset("hh", pystac.Asset(str(cog.resolve()), media_type=pystac.MediaType.COG))
        coll.add_item(item)
    cat.normalize_hrefs(str(root))
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"
