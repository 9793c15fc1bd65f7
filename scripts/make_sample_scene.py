"""Build the embedded sample catalog shipped in ``xseaice/data/sample/``.

A synthetic winter scene with leads (1024 x 1024 cells of 40 m north of Svalbard, seeded),
written in the real formats by :mod:`xseaice.synthetic`: a Sentinel-1 EW GRD SAFE
(uint16 GeoTIFFs geolocated by GCPs + calibration/noise/product annotation), an
AU_SI12-like AMSR-2 HDF-EOS5 file, and the scene's SIGRID-3 ice chart as a GeoPackage,
all described by a static STAC catalog with relative hrefs.  ``catalog="embedded"`` in
:func:`xseaice.search` / :func:`xseaice.open_scene` reads it, offline.

``sample.json`` beside the catalog records the bbox, date, seed and chart path
(:func:`xseaice.stac.catalogs.embedded_sample`).  The output is rebuilt in a temporary folder
next to the target and swapped in at the end.  Same seed, same content.

Usage::

    python scripts/make_sample_scene.py [--out xseaice/data/sample] [--seed 20230104]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "xseaice" / "data" / "sample"
WHEN = "2023-01-04T07:10:00"
CENTER = (-5.0, 80.0)  # lon, lat: Fram Strait / north of Svalbard


def build(out: Path, *, seed: int, size: int) -> dict:
    """Write the sample into ``out`` (replaced) and return its ``sample.json`` content."""
    import numpy as np
    import pystac

    from xseaice import synthetic

    # GeoPackage timestamps: a fixed date keeps the bytes reproducible
    os.environ.setdefault("OGR_CURRENT_DATE", "2023-01-04T00:00:00.000Z")
    scene = synthetic.make_scene(
        seed, shape=(size, size), season="winter", time=WHEN, center=CENTER
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-", dir=out.parent))
    try:
        catalog_path = synthetic.write_stac(scene, tmp)
        chart_dir = tmp / "ice-charts"
        chart_dir.mkdir()
        chart_name = f"synthetic_chart_{WHEN[:10].replace('-', '')}.gpkg"
        scene.chart.to_file(chart_dir / chart_name, driver="GPKG", layer="chart")

        truth_dir = tmp / "truth"
        truth_dir.mkdir()
        synthetic.write_cog(
            scene.truth["ice"].astype("uint8"), truth_dir / "ice_truth.tif", resampling="nearest"
        )

        cat = pystac.read_file(str(catalog_path))
        s1 = next(i for i in cat.get_items(recursive=True) if i.collection_id == "sentinel-1-grd")
        chart_item = pystac.Item(
            id=Path(chart_name).stem,
            geometry=s1.geometry,
            bbox=s1.bbox,
            datetime=s1.datetime,
            properties={"xseaice:kind": "ice-chart", "xseaice:format": "SIGRID-3"},
        )
        chart_item.add_asset(
            "data",
            pystac.Asset(
                f"../../ice-charts/{chart_name}",
                title="SIGRID-3 ice chart (synthetic)",
                media_type="application/geopackage+sqlite3",
                roles=["data"],
            ),
        )
        charts = pystac.Collection(
            id="ice-charts",
            description="Synthetic SIGRID-3 ice chart of the sample scene.",
            extent=pystac.Extent(
                pystac.SpatialExtent([s1.bbox]),
                pystac.TemporalExtent([[s1.datetime, s1.datetime]]),
            ),
            license="proprietary",
        )
        charts.add_item(chart_item)
        cat.add_child(charts)
        cat.normalize_hrefs(str(tmp))
        chart_item.assets["data"].href = os.path.relpath(
            chart_dir / chart_name, Path(chart_item.get_self_href()).parent
        )
        cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)

        meta = {
            "description": "xseaice embedded sample: synthetic Sentinel-1 EW + AMSR-2 + ice chart",
            "bbox": [round(v, 6) for v in s1.bbox],
            "datetime": WHEN[:10],
            "seed": seed,
            "shape": [size, size],
            "resolution": 40.0,
            "crs": "EPSG:3413",
            "transform": [float(v) for v in list(scene.geobox.affine)[:6]],
            "center": list(CENTER),
            "catalog": "catalog.json",
            "chart": f"ice-charts/{chart_name}",
            "truth": "truth/ice_truth.tif",
            "sentinel1_item": s1.id,
            "ice_fraction": round(float(np.mean(scene.truth.ice.values)), 4),
            "lead_fraction": round(float(np.mean(scene.truth.lead.values)), 4),
        }
        (tmp / "sample.json").write_text(json.dumps(meta, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=20230104, help="random seed")
    parser.add_argument("--size", type=int, default=1024, help="scene size (cells)")
    args = parser.parse_args(argv)
    meta = build(args.out, seed=args.seed, size=args.size)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    sys.stdout.write(
        f"wrote {args.out} ({total / 1e6:.1f} MB): bbox={meta['bbox']} "
        f"datetime={meta['datetime']}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
