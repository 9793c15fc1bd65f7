"""Cost of densify with a learned prior against plain densify, side by side in one run.

Run: ``python benchmarks/bench_prior_cost.py [--sizes 1024 2048] [--prior FILE]``.

For each size, a synthetic winter scene (seed 4242) with three ICESat-2 passes is mapped
three ways, timed with ``time.perf_counter``: plain ``densify``, the prior's map
(``DensifyPrior.predict``) and ``densify(..., prior=map)``.  The prior is read from
``--prior`` (default: the ICESat-2 prior ``bench_densify.py --prior 10:58`` trained into
its workdir) or, when absent, trained on 8 small scenes first (its quality does not matter
here, only its cost).  Prints a table and writes
``benchmarks/results/densify_prior_timing.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_PRIOR = Path("/tmp/xseaice_bench_densify/prior_icesat2_10_58_512.safetensors")


def _prior(path: Path) -> Any:
    from xseaice.altimetry import DensifyPrior
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    if path.exists():
        return DensifyPrior.load(path)
    scenes, points = [], []
    for seed in range(10, 18):
        sc = make_scene(seed, shape=(256, 256))
        ds = sc.dataset.assign(ice=sc.truth["ice"])
        scenes.append(ds)
        points.append(simulate_tracks(ds, make_elevation(sc), n_tracks=2, seed=seed))
    return DensifyPrior.fit(scenes, points, "freeboard", steps=500, progress=False)


def one_size(size: int, prior: Any) -> dict[str, Any]:
    from xseaice.altimetry import densify
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(4242, shape=(size, size))
    ds, ice = sc.dataset, sc.truth["ice"]
    pts = simulate_tracks(ds, make_elevation(sc), mission="icesat2", n_tracks=3, seed=1)
    t0 = time.perf_counter()
    densify(ds, pts, "freeboard", ice=ice)
    t1 = time.perf_counter()
    first = prior.predict(ds, ice)
    t2 = time.perf_counter()
    densify(ds, pts, "freeboard", ice=ice, prior=first)
    t3 = time.perf_counter()
    return {
        "size": size,
        "points": len(pts),
        "densify_s": t1 - t0,
        "prior_predict_s": t2 - t1,
        "densify_with_prior_s": t3 - t2,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--prior", type=Path, default=DEFAULT_PRIOR)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", module="sklearn")
    prior = _prior(args.prior)
    rows = [one_size(s, prior) for s in args.sizes]
    print(f"{'size':>6} {'points':>7} {'densify':>8} {'prior map':>10} {'with prior':>11}")
    for r in rows:
        print(
            f"{r['size']:>6} {r['points']:>7} {r['densify_s']:7.1f}s "
            f"{r['prior_predict_s']:9.1f}s {r['densify_with_prior_s']:10.1f}s"
        )
    out = HERE / "results" / "densify_prior_timing.json"
    out.write_text(json.dumps({"machine": platform.platform(), "rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    main()
