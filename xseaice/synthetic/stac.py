"""Write synthetic scenes as a static STAC catalog laid out like the public catalogs.

::

    <directory>/catalog.json
    <directory>/sentinel-1-grd/collection.json
    <directory>/sentinel-1-grd/<item id>/<item id>.json
    <directory>/sentinel-1-grd/<item id>/<product>.SAFE/...        (write_safe)
    <directory>/amsr2-l3/collection.json
    <directory>/amsr2-l3/<item id>/<item id>.json
    <directory>/amsr2-l3/<item id>/AMSR_U2_L3_SeaIce12km_B04_<day>.he5   (write_amsr2_he5)

Sentinel-1 items copy Planetary Computer's ``sentinel-1-grd`` items: ``sar:*``,
``sat:*``, ``s1:*`` and ``proj:*`` properties (``proj:epsg`` 4326 with a
``proj:transform`` made up from the bbox and ``proj:shape`` = [samples, lines], as the
real items have), the footprint as geometry, assets ``hh`` / ``hv`` (uint16 amplitude
GeoTIFFs georeferenced by GCPs only, ``image/tiff; application=geotiff;
profile=cloud-optimized``), ``schema-product-*``, ``schema-calibration-*``,
``schema-noise-*`` and ``safe-manifest``.  AMSR-2 items follow CMR-STAC ``AU_SI12``: one
item per day with a ``data`` asset (``application/x-hdf5``).  With ``href_base`` the asset
hrefs are absolute URLs (for serving the folder over HTTP); otherwise relative.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.amsr2_he5 import amsr2_file_name, write_amsr2_he5
from xseaice.synthetic.safe import _file_stem, _ids, footprint, product_name, write_safe
from xseaice.synthetic.scene import SyntheticScene

__all__ = ["AMSR2_COLLECTION", "S1_COLLECTION", "amsr2_item", "sentinel1_item", "write_stac"]

logger = logging.getLogger(__name__)

S1_COLLECTION = "sentinel-1-grd"
AMSR2_COLLECTION = "amsr2-l3"
S1_EXTENSIONS = [
    "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
]
_TIFF = "image/tiff; application=geotiff; profile=cloud-optimized"
_NSIDC_BBOX = {"north": [-180.0, 30.98, 180.0, 90.0], "south": [-180.0, -90.0, 180.0, -39.23]}


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC)


def sentinel1_item(scene: SyntheticScene, safe_dir: Path) -> Any:
    """A ``pystac.Item`` for a written SAFE, with absolute local asset hrefs."""
    import pystac

    radar = scene.radar
    assert radar is not None
    ids = _ids(scene)
    name = product_name(scene)
    fp = footprint(scene)
    lons = [p[0] for p in fp]
    lats = [p[1] for p in fp]
    bbox = [min(lons), min(lats), max(lons), max(lats)]
    h, w = radar.shape
    geom = {"type": "Polygon", "coordinates": [[list(p) for p in fp] + [list(fp[0])]]}
    start, stop = _utc(ids["start"]), _utc(ids["stop"])
    mid = start + (stop - start) / 2
    props: dict[str, Any] = {
        "sar:frequency_band": "C",
        "sar:center_frequency": 5.405,
        "sar:observation_direction": "right",
        "sar:instrument_mode": "EW",
        "sar:polarizations": ["HH", "HV"],
        "sar:product_type": "GRD",
        "sar:resolution_range": 93,
        "sar:resolution_azimuth": 87,
        "sar:pixel_spacing_range": float(abs(scene.geobox.resolution.x)),
        "sar:pixel_spacing_azimuth": float(abs(scene.geobox.resolution.x)),
        "sar:looks_range": 6,
        "sar:looks_azimuth": 2,
        "sar:looks_equivalent_number": round(float(scene.params.enl), 2),
        "sat:platform_international_designator": "2014-016A",
        "sat:orbit_state": "descending" if radar.flip_pixels else "ascending",
        "sat:absolute_orbit": int(ids["orbit"]),
        "sat:relative_orbit": int(ids["relative_orbit"]),
        "proj:epsg": 4326,
        "proj:bbox": bbox,
        # as in Planetary Computer items: [samples, lines] and a transform from the bbox
        "proj:shape": [w, h],
        "proj:transform": [
            (bbox[2] - bbox[0]) / h,
            0.0,
            bbox[0],
            0.0,
            -(bbox[3] - bbox[1]) / w,
            bbox[3],
        ],
        "proj:centroid": {
            "lat": round(float(np.mean(lats)), 5),
            "lon": round(float(np.mean(lons)), 5),
        },
        "providers": [
            {"name": "xseaice synthetic world", "roles": ["producer", "processor"]},
        ],
        "platform": "sentinel-1a",
        "constellation": "sentinel-1",
        "start_datetime": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "end_datetime": stop.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "s1:instrument_configuration_ID": "7",
        "s1:datatake_id": str(ids["datatake"]),
        "s1:product_timeliness": "Fast-24h",
        "s1:processing_level": "1",
        "s1:resolution": "medium",
        "s1:orbit_source": "RESORB",
        "s1:slice_number": "1",
        "s1:total_slices": "1",
        "s1:shape": [w, h],
        "s1:product_identifier": name,
        "s1:processing_datetime": stop.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "xseaice:seed": int(scene.seed),
    }
    item = pystac.Item(
        id=name.rsplit("_", 1)[0],
        geometry=geom,
        bbox=bbox,
        datetime=mid,
        properties=props,
        stac_extensions=list(S1_EXTENSIONS),
    )
    item.add_asset(
        "safe-manifest",
        pystac.Asset(str(safe_dir / "manifest.safe"), title="Manifest File",
                     media_type="application/xml", roles=["metadata"]),
    )  # fmt: skip
    for pol in ("hh", "hv"):
        stem = _file_stem(scene, pol)
        up = pol.upper()
        item.add_asset(
            f"schema-product-{pol}",
            pystac.Asset(str(safe_dir / "annotation" / f"{stem}.xml"),
                         title=f"{up} Product Schema", media_type="application/xml",
                         roles=["metadata"]),
        )  # fmt: skip
        item.add_asset(
            f"schema-calibration-{pol}",
            pystac.Asset(str(safe_dir / "annotation" / "calibration" / f"calibration-{stem}.xml"),
                         title=f"{up} Calibration Schema", media_type="application/xml",
                         roles=["metadata"]),
        )  # fmt: skip
        item.add_asset(
            f"schema-noise-{pol}",
            pystac.Asset(str(safe_dir / "annotation" / "calibration" / f"noise-{stem}.xml"),
                         title=f"{up} Noise Schema", media_type="application/xml",
                         roles=["metadata"]),
        )  # fmt: skip
    for pol in ("hh", "hv"):
        stem = _file_stem(scene, pol)
        up = pol.upper()
        desc = (
            "HH band: horizontal transmit and horizontal receive"
            if pol == "hh"
            else "HV band: horizontal transmit and vertical receive"
        )
        item.add_asset(
            pol,
            pystac.Asset(
                str(safe_dir / "measurement" / f"{stem}.tiff"),
                title=f"{up} Data",
                description="Actual SAR data that have been processed into an image",
                media_type=_TIFF,
                roles=["data"],
                extra_fields={"eo:bands": [{"name": up, "description": desc}]},
            ),
        )
    return item


def amsr2_item(day: np.datetime64, he5: Path, hemispheres: Sequence[str]) -> Any:
    """A CMR-STAC-like ``pystac.Item`` for one AU_SI12-like daily file."""
    import pystac

    d0 = datetime.fromisoformat(str(np.datetime_as_string(day, unit="D")))
    start = _utc(d0)
    end = start + timedelta(days=1) - timedelta(microseconds=1000)
    lo = min(_NSIDC_BBOX[h][1] for h in hemispheres)
    hi = max(_NSIDC_BBOX[h][3] for h in hemispheres)
    bbox = [-180.0, lo, 180.0, hi]
    geom = {
        "type": "Polygon",
        "coordinates": [[[-180.0, lo], [180.0, lo], [180.0, hi], [-180.0, hi], [-180.0, lo]]],
    }
    item = pystac.Item(
        id=he5.stem,
        geometry=geom,
        bbox=bbox,
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties={
            "platform": "GCOM-W1",
            "instruments": ["AMSR2"],
            "xseaice:grid": "NSIDC 12.5 km",
        },
    )
    item.add_asset(
        "data",
        pystac.Asset(str(he5), title=f"Download {he5.name}", media_type="application/x-hdf5",
                     roles=["data"]),
    )  # fmt: skip
    return item


def _collection(cid: str, items: list[Any], description: str, extensions: list[str]) -> Any:
    import pystac

    boxes = np.array([it.bbox for it in items], dtype=float)
    bbox = [
        float(boxes[:, 0].min()),
        float(boxes[:, 1].min()),
        float(boxes[:, 2].max()),
        float(boxes[:, 3].max()),
    ]
    times = []
    for it in items:
        times.append(it.datetime or pystac.utils.str_to_datetime(it.properties["start_datetime"]))
        if "end_datetime" in it.properties:
            times.append(pystac.utils.str_to_datetime(it.properties["end_datetime"]))
    col = pystac.Collection(
        id=cid,
        description=description,
        extent=pystac.Extent(
            pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[min(times), max(times)]])
        ),
        license="proprietary",
        stac_extensions=extensions,
        title=cid,
    )
    for it in items:
        col.add_item(it)
    return col


def write_stac(
    scenes: SyntheticScene | Sequence[SyntheticScene],
    directory: str | os.PathLike[str],
    *,
    href_base: str | None = None,
) -> Path:
    """Write scenes (SAFE + HDF-EOS5 files) and a static STAC catalog describing them.

    Parameters
    ----------
    scenes : SyntheticScene or sequence of SyntheticScene
        From [`make_scene`][xseaice.synthetic.scene.make_scene] (different seeds or times give
        different items).
    directory : path
        Root folder of the catalog (created if missing).
    href_base : str, optional
        URL under which ``directory`` will be served (e.g. ``http://127.0.0.1:8123``):
        asset hrefs become absolute URLs.  Default: relative hrefs.

    Returns
    -------
    pathlib.Path
        ``<directory>/catalog.json``.
    """
    import pystac

    scs = [scenes] if isinstance(scenes, SyntheticScene) else list(scenes)
    if not scs:
        raise InvalidArgumentError("scenes is empty; pass at least one SyntheticScene.")
    root = Path(directory).resolve()
    root.mkdir(parents=True, exist_ok=True)

    s1_items = []
    for sc in scs:
        item_id = product_name(sc).rsplit("_", 1)[0]
        folder = root / S1_COLLECTION / item_id
        safe = write_safe(sc, folder)
        s1_items.append(sentinel1_item(sc, safe))
    if len({it.id for it in s1_items}) != len(s1_items):
        raise InvalidArgumentError(
            "two scenes give the same Sentinel-1 item id; give them different seeds or times."
        )
    by_day: dict[str, list[SyntheticScene]] = defaultdict(list)
    for sc in scs:
        by_day[str(np.datetime_as_string(sc.time, unit="D"))].append(sc)
    amsr_items = []
    for day, group in sorted(by_day.items()):
        name = amsr2_file_name(group[0])
        folder = root / AMSR2_COLLECTION / Path(name).stem
        he5 = write_amsr2_he5(group, folder / name)
        hemis = sorted(
            {
                ("north" if g.amsr is not None and g.amsr.grid["hemisphere"] == "NH" else "south")
                for g in group
            }
        )
        amsr_items.append(amsr2_item(np.datetime64(day), he5, hemis))

    cat = pystac.Catalog(
        id="xseaice-synthetic",
        description="Synthetic Sentinel-1 EW GRD and AMSR-2 L3 scenes from xseaice.synthetic",
        title="xseaice synthetic catalog",
    )
    cat.add_child(
        _collection(
            S1_COLLECTION,
            s1_items,
            "Synthetic Sentinel-1 EW Level-1 GRD (1SDH) products laid out like Planetary "
            "Computer's sentinel-1-grd: uint16 amplitude GeoTIFFs geolocated by GCPs, with "
            "calibration and noise annotation.",
            S1_EXTENSIONS,
        )
    )
    cat.add_child(
        _collection(
            AMSR2_COLLECTION,
            amsr_items,
            "Synthetic AMSR-2 daily 12.5 km brightness temperatures laid out like NSIDC "
            "AU_SI12 (HDF-EOS5 on the NSIDC polar stereographic grids).",
            [],
        )
    )
    cat.normalize_hrefs(str(root))
    for item in cat.get_items(recursive=True):
        for asset in item.assets.values():
            rel = Path(asset.href).resolve().relative_to(root).as_posix()
            if href_base is not None:
                asset.href = href_base.rstrip("/") + "/" + rel
            else:
                item_dir = Path(item.get_self_href() or "").parent
                asset.href = os.path.relpath(root / rel, item_dir).replace(os.sep, "/")
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    logger.info(
        "wrote STAC catalog %s (%d S1, %d AMSR-2 items)", root, len(s1_items), len(amsr_items)
    )
    return root / "catalog.json"
