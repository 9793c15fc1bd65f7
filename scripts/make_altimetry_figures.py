"""Figures of the altimetry tutorial (docs/tutorials/altimetry.md) into docs/images/.

Searches the embedded STAC catalog, loads the sample scene, maps floes and leads with the
bundled model (segment -> ALS -> binarize), simulates two ICESat-2 passes over the sample's
synthetic ice and writes them as an ATL10 granule, reads it back with
``xseaice.read_altimetry`` and densifies the freeboard (the default: boosted regression
kriging with the uncertainty calibrated on held-out blocks of track).  The sample is
synthetic, so the script also scores the map and its intervals against the truth (printed,
and shown in the error and uncertainty panels).

Run: ``python scripts/make_altimetry_figures.py [--out docs/images]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import xseaice
    from xseaice.altimetry import densify
    from xseaice.io.altimetry import read_altimetry
    from xseaice.stac.catalogs import embedded_sample
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.atl10 import write_atl10
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    info = embedded_sample()
    result = xseaice.search(info["bbox"], info["datetime"], catalog="embedded")
    ds = xseaice.load(result, resolution=40)

    # the sample is a synthetic scene: its world gives the elevation truth and the passes
    scene = make_scene(
        int(info["seed"]),
        shape=tuple(info["shape"]),
        season="winter",
        time=f"{info['datetime']}T08:00:00",
        center=tuple(info["center"]),
    )
    # the scene's own grid (the load covers the footprint's bounding box)
    ds = ds.sel(x=scene.truth.x, y=scene.truth.y, method="nearest").compute()
    chart = xseaice.read_icechart(info["chart"])
    prob = ds.seaice.segment().seaice.scale_logits(preserve=chart)
    ice = prob.seaice.binarize().compute()
    elev = make_elevation(scene)
    sim = simulate_tracks(scene.dataset, elev, mission="icesat2", n_tracks=2, seed=7, max_dt="6h")
    with tempfile.TemporaryDirectory() as tmp:
        granule = write_atl10(sim, Path(tmp) / "ATL10-01_20230104_synthetic.h5")
        points = read_altimetry(granule)
    fb = densify(ds, points, "freeboard", ice=ice, max_dt="1D")
    oracle = densify(ds, points, "freeboard", ice=scene.truth["ice"].values, max_dt="1D")
    truth = elev["freeboard"].values

    def score(m: np.ndarray) -> float:
        e = m - truth
        return float(np.sqrt(np.nanmean(e**2)))

    err = fb.values - truth
    rmse, rmse_oracle = score(fb.values), score(oracle.values)
    on_ice = scene.truth["ice"].values == 1
    abs_err = np.abs(oracle.values - truth)[on_ice]
    sd = oracle["uncertainty"].values[on_ice]
    cover68 = float(np.mean(abs_err <= sd))
    cover90 = float(np.mean(abs_err <= oracle.attrs["z90"] * sd))
    lead_agree = float(np.mean((ice.isel(time=0).values == 1) == (scene.truth["ice"].values == 1)))
    on_xy = points.to_crs(ds.odc.crs)

    args.out.mkdir(parents=True, exist_ok=True)
    ext = [float(ds.x.min()), float(ds.x.max()), float(ds.y.min()), float(ds.y.max())]
    fig, axes = plt.subplots(2, 4, figsize=(20, 10), constrained_layout=True)
    panels = [
        (ds["hh"].isel(time=0).values, "gray", "HH (dB) and the ICESat-2 beams", None),
        (
            ice.isel(time=0).values,
            "gray",
            f"floe/lead map of the chain ({lead_agree:.0%} right)",
            (0, 1),
        ),
        (fb.values, "viridis", "densified total freeboard (m)", (0, 0.8)),
        (err, "RdBu_r", f"error vs truth (m), RMSE {rmse:.3f}", (-0.4, 0.4)),
        (truth, "viridis", "true total freeboard (m)", (0, 0.8)),
        (oracle.values, "viridis", "densified with the true lead map (m)", (0, 0.8)),
        (
            oracle["uncertainty"].values,
            "magma",
            f"its calibrated 1-sigma uncertainty (m): the 68 % / 90 %\n"
            f"intervals cover {cover68:.0%} / {cover90:.0%} of the true ice freeboard",
            tuple(np.nanpercentile(sd, [1, 99])),  # the ice's range: leads (0) are black
        ),
        (oracle.values - truth, "RdBu_r", f"its error (m), RMSE {rmse_oracle:.3f}", (-0.4, 0.4)),
    ]
    for ax, (img, cmap, title, lim) in zip(axes.ravel(), panels, strict=True):
        vmin, vmax = lim if lim else np.nanpercentile(img, [2, 98])
        im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, extent=ext)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[0, 0].scatter(on_xy.geometry.x, on_xy.geometry.y, s=0.3, c="tab:orange")
    fig.savefig(args.out / "altimetry_densify.png", dpi=80)
    stats = {
        "rmse_m": rmse,
        "rmse_true_lead_map_m": rmse_oracle,
        "lead_map_agreement": lead_agree,
        "truth_std_m": float(np.std(truth)),
        "points": len(points),
        "n_used": int(fb.attrs["n_points"]),
        "coverage68_true_lead_map": cover68,
        "coverage90_true_lead_map": cover90,
        "z90": float(oracle.attrs["z90"]),
        "calibration_scale": float(oracle.attrs["calibration_scale"]),
        "regressor": str(oracle.attrs["regressor"]),
    }
    print(json.dumps(stats))
    return stats


if __name__ == "__main__":
    main()
