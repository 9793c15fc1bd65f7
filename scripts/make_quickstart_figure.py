"""Regenerate ``docs/images/quickstart_maps.png``: the quick start's map panels of the
bundled sample scene (HH, ALS ice probability with ``preserve=chart``, the binary map).

Runs offline, the same steps as ``docs/tutorials/quickstart.md``::

    python scripts/make_quickstart_figure.py [--out docs/images]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def main() -> None:
    import xseaice
    from xseaice.plot_maps import map_panels
    from xseaice.stac.catalogs import embedded_sample

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()

    info = embedded_sample()
    result = xseaice.search(info["bbox"], info["datetime"], catalog="embedded")
    ds = xseaice.load(result, resolution=40)
    chart = xseaice.read_icechart(info["chart"])
    logits = ds.seaice.segment().persist()
    prob = logits.seaice.scale_logits(preserve=chart).persist()
    ice = prob.seaice.binarize()
    fig = map_panels([ds.hh.persist(), prob, ice], chart=chart, scene=ds)
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "quickstart_maps.png", dpi=80)
    print(args.out / "quickstart_maps.png")


if __name__ == "__main__":
    main()
