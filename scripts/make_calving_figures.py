"""Figures and the retreat table of the calving-front tutorial (docs/tutorials/calving.md).

Run from the repository root (offline, ~1-3 min on 2 CPU cores)::

    python scripts/make_calving_figures.py [--model glacier-zones]

1. simulates a 2019 Sentinel-1-like series of the held-out glacier "Hvidbrae" and writes
   it as COGs with a static STAC catalog (:func:`xseaice.synthetic.fjord_stac.write_fjord_stac`);
2. searches the catalog over the glacier with :func:`xseaice.search`;
3. reads each COG, segments zones with the bundled glacier model through the tiling engine
   and extracts the calving front (CaFFe's rule);
4. measures the front position along the glacier's centre line per date, next to the same
   measure on the simulator's true zones;
5. writes ``docs/images/calving_zones.png``, ``docs/images/calving_fronts_map.png`` and
   ``benchmarks/results/calving_tutorial.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xseaice  # noqa: E402
from xseaice.glaciers import calving_front, front_positions  # noqa: E402
from xseaice.glaciers.segment import segment_zones  # noqa: E402
from xseaice.synthetic.fjord import glacier_location, make_fjord  # noqa: E402
from xseaice.synthetic.fjord_geometry import glacier_params  # noqa: E402
from xseaice.synthetic.fjord_stac import write_fjord_stac  # noqa: E402

GLACIER = "Hvidbrae"
DATES = [dt.date(2019, m, 10) for m in (1, 3, 5, 6, 7, 8, 9, 11)]
ZONE_COLOURS = ["black", "saddlebrown", "lightgrey", "royalblue"]


def flowline(name: str) -> Any:
    """The glacier's centre line in EPSG:3413 (here taken from the simulator's geometry)."""
    from shapely.geometry import LineString

    g = glacier_params(name)
    gx, gy = glacier_location(name)
    u = np.linspace(-6000.0, 6000.0, 241)
    c = g.meander_amp * np.sin(2 * math.pi * u / g.meander_len)
    ca, sa = math.cos(g.angle), math.sin(g.angle)
    return LineString(np.column_stack([gx + u * ca - c * sa, gy + u * sa + c * ca]))


def scene_from_item(item: Any) -> Any:
    """Read an item's HH COG as a glacier scene (``sar`` grey values, NaN = no data)."""
    import rioxarray

    da = rioxarray.open_rasterio(item.assets["hh"].href).squeeze("band", drop=True)
    sar = da.where(da > 0).astype("float32")
    ds = sar.to_dataset(name="sar")
    ds.attrs.update(pixel_size=abs(float(da.x[1] - da.x[0])), date=item.datetime.date().isoformat())
    return ds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="glacier-zones")
    args = p.parse_args()
    truth = {d: make_fjord(GLACIER, d, "S1") for d in DATES}
    with tempfile.TemporaryDirectory() as tmp:
        catalog = write_fjord_stac(list(truth.values()), tmp)
        bbox = json.loads(next(Path(tmp).glob("*/*/*.json")).read_text())["bbox"]
        found = xseaice.search(
            tuple(bbox),
            "2019-01-01/2019-12-31",
            catalog=str(catalog),
            mode="IW",
            polarizations=("HH",),
            sensors=("sentinel-1",),
        )
        print(f"STAC search over {GLACIER}: {len(found.sentinel1)} Sentinel-1 scenes")
        scenes = [scene_from_item(it).load() for it in found.sentinel1]
    pred, true, zones = {}, {}, {}
    for ds in scenes:
        d = dt.date.fromisoformat(ds.attrs["date"])
        z = segment_zones(ds, args.model)["zones"].compute()
        zones[d] = z
        pred[d] = calving_front(z).lines
        true[d] = calving_front(truth[d]["zones"]).lines
    line = flowline(GLACIER)
    tp, tt = front_positions(pred, line), front_positions(true, line)
    table = tp.join(tt, rsuffix="_true")
    table["error_m"] = table["position_m"] - table["position_m_true"]
    print(table.round(0).to_string())
    _figures(scenes, zones, truth, pred, line)
    out = ROOT / "benchmarks" / "results" / "calving_tutorial.json"
    rows = [{"date": str(k), **{c: float(v) for c, v in r.items()}} for k, r in table.iterrows()]
    out.write_text(json.dumps({"glacier": GLACIER, "model": args.model, "rows": rows}, indent=2))


def _figures(scenes: list[Any], zones: dict, truth: dict, pred: dict, line: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(ZONE_COLOURS)
    d0 = sorted(zones)[3]
    ds, t = next(s for s in scenes if s.attrs["date"] == d0.isoformat()), truth[d0]
    fig, axs = plt.subplots(1, 3, figsize=(13, 4.6), constrained_layout=True)
    ext = [float(ds.x.min()), float(ds.x.max()), float(ds.y.min()), float(ds.y.max())]
    axs[0].imshow(ds["sar"], cmap="gray", extent=ext)
    axs[0].set_title(f"{GLACIER} {d0} (simulated S1, 20 m)")
    axs[1].imshow(zones[d0], cmap=cmap, vmin=0, vmax=3, extent=ext, interpolation="nearest")
    axs[1].set_title("predicted zones + front")
    axs[2].imshow(t["zones"], cmap=cmap, vmin=0, vmax=3, extent=ext, interpolation="nearest")
    axs[2].set_title("true zones + front")
    for ax, lines in ((axs[1], pred[d0]), (axs[2], calving_front(t["zones"]).lines)):
        lines.plot(ax=ax, color="red", linewidth=1.5)
    for ax in axs:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.savefig(ROOT / "docs" / "images" / "calving_zones.png", dpi=80)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 6.5), constrained_layout=True)
    last = scenes[-1]
    ext = [float(last.x.min()), float(last.x.max()), float(last.y.min()), float(last.y.max())]
    ax.imshow(last["sar"], cmap="gray", extent=ext)
    colours = plt.get_cmap("viridis")(np.linspace(0, 1, len(pred)))
    for c, d in zip(colours, sorted(pred), strict=True):
        pred[d].plot(ax=ax, color=c, linewidth=1.8, label=str(d))
    ax.plot(*line.xy, "w--", linewidth=1, label="centre line")
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title(f"{GLACIER}: predicted calving fronts, 2019 (EPSG:3413 m)")
    fig.savefig(ROOT / "docs" / "images" / "calving_fronts_map.png", dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
