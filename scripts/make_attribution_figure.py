"""Regenerate ``docs/images/attribution_default.png`` and ``attribution_multitask.png``:
Grad-CAM maps and per-variable attribution of the bundled models on a crop of the bundled
sample scene (``docs/tutorials/attribution.md``), and print the tables it quotes.

Runs offline::

    python scripts/make_attribution_figure.py [--out docs/images] [--size 384]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def main() -> None:
    import numpy as np

    import xseaice
    from xseaice.inference.attribution import channel_attribution, explain
    from xseaice.plotting import plot_attribution
    from xseaice.stac.catalogs import embedded_sample

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--size", type=int, default=384, help="crop side in pixels")
    parser.add_argument("--row", type=int, default=100, help="crop's first row")
    parser.add_argument("--col", type=int, default=200, help="crop's first column")
    args = parser.parse_args()

    info = embedded_sample()
    result = xseaice.search(info["bbox"], info["datetime"], catalog="embedded")
    ds = xseaice.load(result, resolution=40)
    crop = ds.isel(
        y=slice(args.row, args.row + args.size), x=slice(args.col, args.col + args.size)
    ).compute()
    args.out.mkdir(parents=True, exist_ok=True)
    # the default U-Net at its last decoder layer (its bottleneck adds little, see below);
    # the multi-task model at its default layer, the ASPP bottleneck
    for model, layer in (("default", "decoder.blocks.2.5"), ("multitask", None)):
        fig = plot_attribution(crop, model, layer=layer)
        path = args.out / f"attribution_{model}.png"
        fig.savefig(path, dpi=70)
        print(path)
        for output in ("ice_logit",) if model == "default" else ("ice_logit", "sod"):
            table = channel_attribution(crop, model, output=output)
            print(f"\n{model} {output}\n{table.round(4).to_string()}")
            print(table.groupby("sensor")["share"].sum().round(3).to_string())
    print("\ndefault ice_logit: fraction of valid pixels with a map value > 0.05")
    for layer in ("bridge", "encoder.downs.1", "decoder.blocks.2.5"):
        for method in ("grad-cam", "hirescam"):
            cam = explain(crop, "default", layer=layer, method=method)["grad_cam"].values
            print(f"{layer:20s} {method:9s} {np.nanmean(cam > 0.05):.2f}")


if __name__ == "__main__":
    main()
