"""SAR-guided densification vs interpolation baselines on held-out synthetic scenes.

Run: ``python benchmarks/bench_densify.py [--seeds 2000:2006] [--size 512] [--tracks 1 3]
[--missions icesat2 cryosat2] [--timing-size 1024]``.

For each held-out seed (the design was chosen on seeds 1000-1005, the calibration and
the boosting on seeds 100-103, the footprint basis on seeds 100-105, never on these), a winter scene
(:func:`xseaice.synthetic.make_scene`), its elevation truth
(:func:`~xseaice.synthetic.elevation.make_elevation`) and ``n`` passes of a mission
(:func:`~xseaice.synthetic.tracks.simulate_tracks`; ICESat-2 maps the total freeboard,
CryoSat-2 the ice (radar) freeboard).  Each method maps the freeboard on the 40 m grid and
is scored against the dense truth (RMSE over all pixels; leads count, they are part of
the map):

- ``densify``: :func:`xseaice.altimetry.densify` (regression kriging) with the truth floe /
  lead map as its ``ice`` input (an oracle segmentation);
- ``densify (no lead map)``: the same without ``ice`` (with ``--no-lead-map``);
- baselines (:mod:`xseaice.altimetry.baselines`) on the ice points: nearest track, inverse
  distance, ordinary kriging, each also with the same lead map applied (0 on water).

Two reductions per configuration (mean RMSE over seeds): ``cut classical`` against the
best *classical* baseline (nearest track, inverse distance, ordinary kriging on the ice
points, no SAR: the baselines the issue names), and ``cut all`` against the best of all
six (the ``+ lead map`` ones use our SAR lead map and are stronger).

Coverage: fraction of ice pixels whose truth lies in ``mean +- z * uncertainty`` for the
68.3 % (z = 1) and 90 % (z = the map's ``z90`` attribute, from densify's block
cross-validation; ``coverage90_gauss`` uses the Gaussian z = 1.645) intervals.
A last run times densify on a ``timing-size`` scene (wall time, peak Python
allocations with ``tracemalloc``).

``--prior 10:58`` trains a :class:`~xseaice.altimetry.prior.DensifyPrior` per mission on six
passes over each of those training seeds (cached in ``--workdir``), gives every scene
(training and scored) its own elevation physics (``ElevationParams.varied(seed)``) and
adds ``prior alone`` and ``densify + prior`` to each case; it writes
``bench_densify_prior.json`` instead.

``--multipass N --skip-table`` compares, on N held-out seeds, one SAR look with one
ICESat-2 pass, one look with three passes, and two looks (a zero-drift relook with new
speckle and wind) with three passes (:func:`xseaice.altimetry.multipass.densify_passes`,
maps averaged or evidence averaged);
it writes ``bench_densify_multipass.json``.

Prints a table and writes ``benchmarks/results/bench_densify.json``.

``--full 2048 4096 8192 10000`` measures the cost of a full-size call instead: a scene and
its elevation made at ``--tile`` px (default 2048) are tiled to each size
(`benchmarks/_fullsize.py`), the scene (``hh``, ``hv``, ``incidence_angle``, the truth
``ice`` as the lead map) is written to zarr and opened with dask chunks, three ICESat-2
passes are drawn on the tiled elevation, and ``densify(ds, points, ice=ds.ice)`` is
timed (wall, CPU of the process tree) with the peak resident memory of the process tree
sampled by psutil.  densify computes eagerly (the regression needs the whole scene's
features), so the peak is what a full scene costs.  Writes
``benchmarks/results/bench_densify_full.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _elevation_params(seed: int, varied: bool) -> Any:
    from xseaice.synthetic.elevation import ElevationParams

    return ElevationParams.varied(seed) if varied else ElevationParams()


def train_prior(mission: str, seeds: range, size: int, workdir: Path) -> Any:
    """A densify prior learned from 6 passes over each training scene (cached)."""
    from xseaice.altimetry.prior import DensifyPrior
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    path = workdir / f"prior_{mission}_{seeds.start}_{seeds.stop}_{size}.safetensors"
    if path.exists():
        return DensifyPrior.load(path)
    scenes, points = [], []
    for seed in seeds:
        sc = make_scene(seed, shape=(size, size))
        elev = make_elevation(sc, params=_elevation_params(seed, True))
        ds = sc.dataset.assign(ice=sc.truth["ice"])
        scenes.append(ds)
        points.append(simulate_tracks(ds, elev, mission=mission, n_tracks=6, seed=seed + 1))
    t0 = time.perf_counter()
    model = DensifyPrior.fit(scenes, points, "freeboard")
    print(f"  prior {mission}: {model.n_points} points, {time.perf_counter() - t0:.0f} s")
    workdir.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


def one_case(
    seed: int,
    size: int,
    mission: str,
    n_tracks: int,
    *,
    with_plain: bool = False,
    varied: bool = False,
    prior: Any = None,
) -> dict[str, Any]:
    from xseaice.altimetry import densify
    from xseaice.altimetry.baselines import BASELINES
    from xseaice.altimetry.colocate import colocate
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(seed, shape=(size, size))
    elev = make_elevation(sc, params=_elevation_params(seed, varied))
    ds = sc.dataset
    truth = (elev["freeboard"] if mission == "icesat2" else elev["ice_freeboard"]).values
    ice = sc.truth["ice"].values == 1
    pts = simulate_tracks(ds, elev, mission=mission, n_tracks=n_tracks, seed=seed + 7919)

    def rmse(a: np.ndarray) -> float:
        return float(np.sqrt(np.mean((a - truth) ** 2)))

    out: dict[str, Any] = {"seed": seed, "mission": mission, "tracks": n_tracks}
    t0 = time.perf_counter()
    fb = densify(ds, pts, "freeboard", ice=sc.truth["ice"])
    out["densify_s"] = time.perf_counter() - t0
    out["densify"] = rmse(fb.values)
    err = np.abs(fb.values - truth)[ice]
    unc = fb["uncertainty"].values[ice]
    out["coverage68"] = float(np.mean(err <= unc))
    out["coverage90"] = float(np.mean(err <= fb.attrs["z90"] * unc))
    out["coverage90_gauss"] = float(np.mean(err <= 1.645 * unc))
    out["calibration_scale"] = fb.attrs["calibration_scale"]
    out["z90"] = fb.attrs["z90"]
    if with_plain:
        out["densify (no lead map)"] = rmse(densify(ds, pts, "freeboard").values)
    if prior is not None:
        first = prior.predict(ds, sc.truth["ice"])
        out["prior alone"] = rmse(first.values)
        fp = densify(ds, pts, "freeboard", ice=sc.truth["ice"], prior=first)
        out["densify + prior"] = rmse(fp.values)
        err = np.abs(fp.values - truth)[ice]
        unc = fp["uncertainty"].values[ice]
        out["coverage68 + prior"] = float(np.mean(err <= unc))
        out["coverage90 + prior"] = float(np.mean(err <= fp.attrs["z90"] * unc))
    c = colocate(ds, pts)
    c = c[c["surface"].astype(str) == "floe"]
    out["n_points"] = len(c)
    for name, fn in BASELINES.items():
        m = fn(c, "freeboard", ds["x"].values, ds["y"].values)
        out[name] = rmse(m)
        out[name + " + lead map"] = rmse(np.where(ice, m, 0.0))
    return out


def timing(size: int) -> dict[str, Any]:
    from xseaice.altimetry import densify
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(4242, shape=(size, size))
    elev = make_elevation(sc)
    pts = simulate_tracks(sc.dataset, elev, mission="icesat2", n_tracks=3, seed=1)
    tracemalloc.start()
    t0 = time.perf_counter()
    densify(sc.dataset, pts, "freeboard", ice=sc.truth["ice"])
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"size": size, "points": len(pts), "wall_s": wall, "peak_mib": peak / 2**20}


def full_size(
    sizes: list[int], tile: int, workdir: Path, name: str = "bench_densify_full.json"
) -> list[dict[str, Any]]:
    """Time and memory of one densify call per size, on a tiled scene read from zarr."""
    import os
    import shutil

    from _fullsize import Measure, open_lazy, tile_dataset

    from xseaice.altimetry import densify
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(4242, shape=(tile, tile))
    scene0 = sc.dataset[["hh", "hv", "incidence_angle"]].assign(ice=sc.truth["ice"])
    elev0 = make_elevation(sc)[["freeboard", "sea_surface"]].assign(ice=sc.truth["ice"])
    tile_pts = simulate_tracks(sc.dataset, elev0, mission="icesat2", n_tracks=3, seed=1)
    del sc
    rows: list[dict[str, Any]] = []
    for size in sizes:
        path = workdir / f"scene_{size}.zarr"
        ds = open_lazy(tile_dataset(scene0, size), path)
        pts = _diagonal_tracks(tile_pts, tile, size, scene0)
        with Measure() as m:
            fb = densify(ds, pts, "freeboard", ice=ds["ice"])
        rows.append(
            {
                "size": size,
                "tile": tile,
                "points": len(pts),
                "points_used": int(fb.attrs["n_points"]),
                **m.row(),
                "us_per_pixel": 1e6 * m.wall_s / size**2,
                "load_average_after": os.getloadavg(),
            }
        )
        del fb, ds
        r = rows[-1]
        print(
            f"{size:6d} px  {r['points']:6d} points  wall {r['wall_s']:7.1f} s  "
            f"cpu {r['cpu_s']:7.1f} s  peak RSS {r['peak_rss_mib']:7.0f} MiB "
            f"(start {r['start_rss_mib']:.0f})",
            flush=True,
        )
        out = {"benchmark": "bench_densify --full", "machine": platform.platform(),
               "cpus": os.cpu_count(), "xseaice": str(Path(densify.__code__.co_filename)),
               "rows": rows}  # fmt: skip
        tmp = HERE / "results" / (name + ".tmp")
        tmp.write_text(json.dumps(out, indent=2))
        tmp.replace(HERE / "results" / name)
        shutil.rmtree(path)
    return rows


def _diagonal_tracks(pts: Any, tile: int, size: int, scene0: Any) -> Any:
    """The tile's passes repeated in the tiles along the diagonal of the tiled scene.

    Drawn directly on a large scene, the simulated passes (a fixed number of segments)
    cover a shrinking share of it; repeated along the diagonal, the point count grows with
    the scene's side, as a real pass's does, and the values stay those of the tiled truth.
    """
    import geopandas as gpd
    import pandas as pd

    dx = float(scene0.x[1] - scene0.x[0]) * tile
    dy = float(scene0.y[1] - scene0.y[0]) * tile
    copies = []
    for k in range(-(-size // tile)):
        c = pd.DataFrame(pts.drop(columns="geometry"))
        c["x"] += k * dx
        c["y"] += k * dy
        c["track"] = c["track"] + 100 * k
        copies.append(c)
    df = pd.concat(copies, ignore_index=True)
    col = (df["x"] - float(scene0.x[0])) / (dx / tile)
    row = (df["y"] - float(scene0.y[0])) / (dy / tile)
    df = df[(col < size - 0.5) & (row < size - 0.5)].reset_index(drop=True)
    xy = gpd.points_from_xy(df["x"], df["y"])  # x/y are in the scene CRS, geometry lon/lat
    return gpd.GeoDataFrame(df, geometry=xy, crs=scene0.odc.crs).to_crs("EPSG:4326")


def multipass_case(seed: int, size: int) -> dict[str, Any]:
    """One look + one pass vs one look + three passes vs two looks + three passes."""
    from xseaice.altimetry import densify
    from xseaice.altimetry.multipass import densify_passes
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.relook import relook
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(seed, shape=(size, size))
    elev = make_elevation(sc)
    later = relook(sc, seed=seed, hours=12.0)
    pts = simulate_tracks(sc.dataset, elev, mission="icesat2", n_tracks=3, seed=seed + 31)
    truth = elev["freeboard"].values
    ice = sc.truth["ice"]

    def rmse(a: Any) -> float:
        return float(np.sqrt(np.mean((a.values - truth) ** 2)))

    return {
        "seed": seed,
        "single_pass": rmse(densify(sc.dataset, pts[pts["track"] == 0], ice=ice)),
        "one_look_three_passes": rmse(densify(sc.dataset, pts, ice=ice)),
        "two_looks_three_passes (maps)": rmse(
            densify_passes([sc.dataset, later], pts, ice=[ice, ice], combine="maps")
        ),
        "two_looks_three_passes (evidence)": rmse(
            densify_passes([sc.dataset, later], pts, ice=[ice, ice])
        ),
    }


#: the classical interpolators (no SAR), as the issue names them
CLASSICAL = ["nearest_track", "inverse_distance", "ordinary_kriging"]
BASE = [
    *CLASSICAL,
    "nearest_track + lead map",
    "inverse_distance + lead map",
    "ordinary_kriging + lead map",
]


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    keys = sorted({(r["mission"], r["tracks"]) for r in rows})
    for mission, n in keys:
        sel = [r for r in rows if r["mission"] == mission and r["tracks"] == n]
        mean = {k: float(np.mean([r[k] for r in sel])) for k in ["densify", *BASE]}
        best = min(BASE, key=lambda k: mean[k])
        best_classical = min(CLASSICAL, key=lambda k: mean[k])
        table.append(
            {
                "mission": mission,
                "tracks": n,
                "seeds": len(sel),
                "densify_rmse": mean["densify"],
                "densify_no_lead_map_rmse": float(
                    np.mean([r.get("densify (no lead map)", np.nan) for r in sel])
                ),
                "best_baseline": best,
                "best_baseline_rmse": mean[best],
                "reduction_pct": 100.0 * (1.0 - mean["densify"] / mean[best]),
                "best_classical_baseline": best_classical,
                "best_classical_rmse": mean[best_classical],
                "reduction_classical_pct": 100.0 * (1.0 - mean["densify"] / mean[best_classical]),
                "seeds_won": int(sum(r["densify"] < min(r[k] for k in BASE) for r in sel)),
                "coverage68_pct": 100.0 * float(np.mean([r["coverage68"] for r in sel])),
                "coverage90_pct": 100.0 * float(np.mean([r["coverage90"] for r in sel])),
                "coverage90_gauss_pct": 100.0
                * float(np.mean([r["coverage90_gauss"] for r in sel])),
                "z90": float(np.mean([r["z90"] for r in sel])),
                "densify_s": float(np.mean([r["densify_s"] for r in sel])),
            }
        )
        if all("densify + prior" in r for r in sel):
            dp = float(np.mean([r["densify + prior"] for r in sel]))
            table[-1].update(
                densify_prior_rmse=dp,
                prior_alone_rmse=float(np.mean([r["prior alone"] for r in sel])),
                reduction_prior_classical_pct=100.0 * (1.0 - dp / mean[best_classical]),
                reduction_prior_pct=100.0 * (1.0 - dp / mean[best]),
                coverage68_prior_pct=100.0 * float(np.mean([r["coverage68 + prior"] for r in sel])),
                coverage90_prior_pct=100.0 * float(np.mean([r["coverage90 + prior"] for r in sel])),
            )
    return table


def print_table(table: list[dict[str, Any]]) -> None:
    """The summary: densify, the best classical baseline, the best of all six, both cuts."""
    print(
        f"{'mission':9} {'tracks':>6} {'densify':>8} {'best classical':>17} {'rmse':>6} "
        f"{'cut classical':>13} {'best of all six':>28} {'rmse':>6} {'cut all':>7} "
        f"{'won':>5} {'cov68':>6} {'cov90':>6}"
    )
    for t in table:
        print(
            f"{t['mission']:9} {t['tracks']:>6} {t['densify_rmse']:8.3f} "
            f"{t['best_classical_baseline']:>17} {t['best_classical_rmse']:6.3f} "
            f"{t['reduction_classical_pct']:12.1f}% {t['best_baseline']:>28} "
            f"{t['best_baseline_rmse']:6.3f} {t['reduction_pct']:6.1f}% "
            f"{t['seeds_won']:>2}/{t['seeds']:<2} "
            f"{t['coverage68_pct']:5.1f}% {t['coverage90_pct']:5.1f}%"
        )
    if any("densify_prior_rmse" in t for t in table):
        print(
            f"{'mission':9} {'tracks':>6} {'prior':>7} {'+prior':>7} {'cut classical':>13} "
            f"{'cut all':>7} {'cov68':>6} {'cov90':>6}"
        )
        for t in (t for t in table if "densify_prior_rmse" in t):
            print(
                f"{t['mission']:9} {t['tracks']:>6} {t['prior_alone_rmse']:7.3f} "
                f"{t['densify_prior_rmse']:7.3f} {t['reduction_prior_classical_pct']:12.1f}% "
                f"{t['reduction_prior_pct']:6.1f}% {t['coverage68_prior_pct']:5.1f}% "
                f"{t['coverage90_prior_pct']:5.1f}%"
            )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="2000:2006")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--tracks", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--missions", nargs="+", default=["icesat2", "cryosat2"])
    ap.add_argument("--timing-size", type=int, default=1024)
    ap.add_argument("--no-lead-map", action="store_true", help="also densify without ice")
    ap.add_argument(
        "--prior",
        default=None,
        help="train a densify prior on these seeds (e.g. 10:58) and add densify + prior; "
        "every scene then draws its own elevation physics (ElevationParams.varied)",
    )
    ap.add_argument("--multipass", type=int, default=0, help="multi-pass runs on N seeds")
    ap.add_argument("--skip-table", action="store_true", help="only the multi-pass runs")
    ap.add_argument("--full", type=int, nargs="+", help="full-size mode: these sizes (px)")
    ap.add_argument("--tile", type=int, default=2048, help="full-size mode: tile size (px)")
    ap.add_argument("--workdir", default="/tmp/xseaice_bench_densify", help="zarr scratch")
    ap.add_argument("--out", default="bench_densify_full.json", help="full-size: results/ name")
    args = ap.parse_args(argv)
    if args.full:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
        return {"full": full_size(args.full, args.tile, work, args.out)}
    a, b = (int(v) for v in args.seeds.split(":"))
    warnings.filterwarnings("ignore", module="sklearn")
    rows: list[dict[str, Any]] = []
    partial = HERE / "results" / "bench_densify.partial.json"  # progress of a long run
    varied = args.prior is not None
    for mission in [] if args.skip_table else args.missions:
        prior = None
        if varied:
            p0, p1 = (int(v) for v in args.prior.split(":"))
            if range(p0, p1).start < b and a < range(p0, p1).stop:
                raise SystemExit(f"--prior seeds {args.prior} overlap --seeds {args.seeds}")
            prior = train_prior(mission, range(p0, p1), args.size, Path(args.workdir))
        for n in args.tracks:
            for seed in range(a, b):
                rows.append(
                    one_case(
                        seed,
                        args.size,
                        mission,
                        n,
                        with_plain=args.no_lead_map,
                        varied=varied,
                        prior=prior,
                    )
                )
                partial.write_text(json.dumps(rows, indent=1))
                r = rows[-1]
                print(f"  {mission} {n} seed {seed}: {r['densify']:.3f}", flush=True)
    partial.unlink(missing_ok=True)
    table = summarise(rows)
    print_table(table)
    multi = [multipass_case(s, args.size) for s in range(a, a + args.multipass)]
    if multi:
        print("multi-pass (ICESat-2, mean RMSE over seeds, m):")
        for k in [k for k in multi[0] if k != "seed"]:
            print(f"  {k:36} {np.mean([m[k] for m in multi]):.4f}")
    tim = timing(args.timing_size) if args.timing_size else None
    if tim:
        print(
            f"timing: {tim['size']}x{tim['size']} px, {tim['points']} points: "
            f"{tim['wall_s']:.1f} s, peak {tim['peak_mib']:.0f} MiB"
        )
    result = {
        "args": vars(args),
        "machine": platform.platform(),
        "table": table,
        "rows": rows,
        "timing": tim,
        "multipass": multi,
    }
    name = "bench_densify_multipass.json" if args.skip_table else "bench_densify.json"
    if varied and not args.skip_table:
        name = "bench_densify_prior.json"
    out = HERE / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
