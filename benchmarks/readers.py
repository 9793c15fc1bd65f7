"""Speed of the real-format readers: S1 annotation, LUT/noise evaluation, AMSR-2, charts.

Run: ``python benchmarks/readers.py``.  Prints a table and writes
``benchmarks/results/readers.json``.  Uses the real files in ``../shared/data/real``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "real"
SAFE = REAL / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15"


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    import geopandas as gpd
    import h5py
    from odc.geo.geobox import GeoBox

    from xseaice.io import amsr2, icechart, sentinel1, sentinel1_sampling
    from xseaice.stac import amsr2_graph

    ann = SAFE / "annotation"
    rows: list[tuple[str, float]] = []

    cal_path = ann / "calibration" / "calibration-ew-hv.xml"
    noise_path = ann / "calibration" / "noise-ew-hv.xml"
    rows.append(("parse calibration XML", best_of(lambda: sentinel1.read_calibration(cal_path))))
    rows.append(("parse noise XML", best_of(lambda: sentinel1.read_noise(noise_path))))
    rows.append(
        ("parse product annotation", best_of(lambda: sentinel1.read_geolocation(ann / "ew-hv.xml")))
    )
    cal = sentinel1.read_calibration(cal_path)
    noise = sentinel1.read_noise(noise_path)
    geo = sentinel1.read_geolocation(ann / "ew-hv.xml")

    r1 = np.arange(4000, 5024)[:, None]
    c1 = np.arange(6000, 7024)[None, :]
    rr, cc = np.broadcast_arrays(r1, c1)
    rr, cc = rr.copy(), cc.copy()
    dn = np.random.default_rng(0).integers(1, 400, (1024, 1024)).astype("uint16")
    rows.append(
        (
            "LUT+noise 1024^2 (rows (H,1), cols (1,W))",
            best_of(
                lambda: (
                    sentinel1_sampling.sigma0_lut_at(cal, r1, c1),
                    sentinel1_sampling.noise_at(noise, r1, c1),
                )
            ),
        )
    )
    rows.append(
        (
            "LUT+noise 1024^2 (full index arrays)",
            best_of(
                lambda: (
                    sentinel1_sampling.sigma0_lut_at(cal, rr, cc),
                    sentinel1_sampling.noise_at(noise, rr, cc),
                )
            ),
        )
    )
    fr, fc = rr + 0.37, cc + 0.61  # fractional radar coordinates (a warped grid)
    rows.append(
        (
            "LUT+noise 1024^2 (fractional index arrays)",
            best_of(
                lambda: (
                    sentinel1_sampling.sigma0_lut_at(cal, fr, fc),
                    sentinel1_sampling.noise_at(noise, fr, fc),
                )
            ),
        )
    )
    rng = np.random.default_rng(1)
    wr, wc = rng.uniform(0, 10707, (2048, 2048)), rng.uniform(0, 10486, (2048, 2048))
    rows.append(
        (
            "LUT+noise 2048^2 random over whole scene",
            best_of(
                lambda: (
                    sentinel1_sampling.sigma0_lut_at(cal, wr, wc),
                    sentinel1_sampling.noise_at(noise, wr, wc),
                ),
                1,
            ),
        )
    )
    rows.append(
        (
            "calibrate 1024^2 (sigma0, denoised)",
            best_of(lambda: sentinel1_sampling.calibrate(dn, cal, noise, rows=r1, cols=c1)),
        )
    )
    rows.append(
        (
            "incidence angle 1024^2",
            best_of(lambda: sentinel1_sampling.incidence_angle_at(geo, r1, c1)),
        )
    )
    xs = np.linspace(geo.longitude.min(), geo.longitude.max(), 256)
    ys = np.linspace(geo.latitude.min(), geo.latitude.max(), 256)
    gx, gy = np.meshgrid(xs, ys)
    rows.append(
        (
            "radar_coordinates 256^2 (TPS)",
            best_of(lambda: sentinel1_sampling.radar_coordinates(geo, gx, gy)),
        )
    )

    # AMSR-2: a full-size AU_SI12-like file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "AMSR_U2_L3_SeaIce12km_B04_20181008.he5"
        meta = (
            'GROUP=GridStructure\n\tGROUP=GRID_1\n\t\tGridName="NpPolarGrid12km"\n'
            "\t\tXDim=608\n\t\tYDim=896\n"
            "\t\tUpperLeftPointMtrs=(-3850000.000000,5850000.000000)\n"
            "\t\tLowerRightMtrs=(3750000.000000,-5350000.000000)\n"
            "\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\n"
        )
        with h5py.File(path, "w") as f:
            f.create_dataset("HDFEOS INFORMATION/StructMetadata.0", data=np.bytes_(meta))
            g = f.create_group("HDFEOS/GRIDS/NpPolarGrid12km/Data Fields")
            for ch in ("18H", "18V", "36H", "36V"):
                g.create_dataset(f"SI_12km_NH_{ch}_DAY", data=np.full((896, 608), 2400, "i4"))
        rows.append(("read_amsr2 AU_SI12 (4 channels)", best_of(lambda: amsr2.read_amsr2(path))))
        ds = amsr2.read_amsr2(path)
    scene = GeoBox.from_bbox((-800e3, -1400e3, -400e3, -1000e3), crs="EPSG:3413", resolution=40)
    rows.append(
        (
            "reproject_to 10k x 10k at 40 m, 1 channel",
            best_of(lambda: amsr2_graph.reproject_to(ds[["tb18h"]], scene), repeat=1),
        )
    )
    rows.append(
        (
            "reproject_to lazy graph, 4 channels",
            best_of(lambda: amsr2_graph.reproject_to(ds.chunk(), scene, chunks=(2048, 2048))),
        )
    )

    chart_path = REAL / "cis_SGRDREA_20201102T.gpkg"
    rows.append(
        ("read_icechart CIS (432 polygons)", best_of(lambda: icechart.read_icechart(chart_path)))
    )
    chart = icechart.read_icechart(chart_path)
    bounds = gpd.GeoSeries(chart.geometry, crs=chart.crs).to_crs(3413).total_bounds
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    grid = GeoBox.from_bbox(
        (cx - 200e3, cy - 200e3, cx + 200e3, cy + 200e3), "EPSG:3413", resolution=40
    )
    rows.append(
        (
            "rasterize_chart CIS onto 10k x 10k",
            best_of(lambda: icechart.rasterize_chart(chart, grid), repeat=1),
        )
    )

    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  seconds")
    for name, sec in rows:
        print(f"{name:<{width}}  {sec:8.4f}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "seconds": dict(rows),
    }
    tmp_file = out / "readers.json.tmp"
    tmp_file.write_text(json.dumps(result, indent=2))
    os.replace(tmp_file, out / "readers.json")


if __name__ == "__main__":
    main()
