"""Map the ice of the bundled sample scene step by step and save a figure.

Run: ``python examples/map_sample_scene.py`` (offline, about a minute on 2 cores).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import xseaice
from xseaice.stac.catalogs import embedded_sample

info = embedded_sample()
result = xseaice.search(info["bbox"], info["datetime"], catalog="embedded")
ds = xseaice.load(result, resolution=40)

chart = xseaice.read_icechart(info["chart"])
# ALS with the bias solved per chart polygon: each polygon keeps its concentration
prob = ds.seaice.segment().seaice.scale_logits(preserve=chart)
ice = prob.seaice.binarize()
table = ice.seaice.concentration(chart)
print(table[["CT", "mean", "difference"]])

fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
ds.hh.seaice.plot(ax=axes[0])
prob.seaice.plot(ax=axes[1])
ice.seaice.plot(ax=axes[2])
fig.savefig("sample_scene.png", dpi=100, bbox_inches="tight")
print("wrote sample_scene.png")
