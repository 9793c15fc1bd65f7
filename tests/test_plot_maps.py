"""The quick start's map panels: title with date, scene id and CRS, lat/lon lines, chart
outlines with CT, and one colour bar per panel clear of its neighbours (checked on the
artists after drawing, not on pixels)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.plot_maps import map_panels
from xseaice.products.als import scale_logits
from xseaice.products.regions import chart_concentration
from xseaice.products.topology import binarize
from xseaice.synthetic import make_scene

matplotlib.use("Agg")

S1_ID = "S1A_EW_GRDM_1SDH_20230104T080000_20230104T080100_046000_058000_ABCD"


@pytest.fixture(scope="module")
def layers() -> tuple[list[xr.DataArray], object, xr.Dataset]:
    """HH, an ALS probability and its binary map of a 128 px synthetic scene."""
    scene = make_scene(3, shape=(128, 128))
    ds = scene.dataset.assign_attrs(sentinel1_items=S1_ID)
    rng = np.random.default_rng(0)
    truth = scene.truth.ice.values.astype("float32")
    z = (truth - 0.5) + rng.normal(0.0, 0.5, truth.shape).astype("float32")
    logits = xr.DataArray(z[None], dims=("time", "y", "x"), coords=ds.hh.coords, name="ice_logit")
    prob = scale_logits(logits)
    return [ds.hh, prob, binarize(prob)], scene.chart, ds


def test_panels_are_maps_with_their_own_colour_bars(
    layers: tuple[list[xr.DataArray], object, xr.Dataset],
) -> None:
    import matplotlib.pyplot as plt

    maps, chart, ds = layers
    fig = map_panels(maps, chart=chart, scene=ds)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3
    bars = [ax.images[-1].colorbar for ax in panels]
    assert all(bar is not None for bar in bars)
    bar_axes = [bar.ax for bar in bars]
    assert len({id(a) for a in bar_axes}) == 3 and not set(bar_axes) & set(panels)
    assert len(fig.axes) == 6  # three maps, three colour bars, nothing else

    boxes = {f"panel {k}": ax.get_window_extent() for k, ax in enumerate(panels)}
    boxes.update({f"bar {k}": ax.get_window_extent() for k, ax in enumerate(bar_axes)})
    for k, (panel, bar) in enumerate(zip(panels, bar_axes, strict=True)):
        own, mine = panel.get_window_extent(), bar.get_window_extent()
        assert mine.y1 <= own.y0 and own.x0 - 1 <= mine.x0 and mine.x1 <= own.x1 + 1
        for name, other in boxes.items():
            if name not in (f"panel {k}", f"bar {k}"):
                assert not mine.overlaps(other), (k, name)
        # labels and ticks included, no bar runs into its neighbour's
        for j, neighbour in enumerate(bar_axes):
            if j != k:
                assert not bar.get_tightbbox(renderer).overlaps(neighbour.get_tightbbox(renderer))

    title = fig.get_suptitle()
    assert title == f"2023-01-04T08:00 UTC | {S1_ID} | EPSG:3413"
    ct = chart_concentration(chart).value
    expected = sorted(f"CT {round(c * 10):d}/10" for c in ct)
    for ax in panels:
        texts = [t.get_text() for t in ax.texts]
        assert sum(t.endswith("°N") for t in texts) >= 1, texts  # latitude lines
        assert any(t.endswith(("°E", "°W")) for t in texts), texts  # longitude lines
        assert len(ax.collections) >= 2  # their contour sets
        assert sorted(t for t in texts if t.startswith("CT ")) == expected
        assert len(ax.lines) >= len(chart)  # one outline (or more: multipolygons) each
    # the binary map's bar names its classes; the others are labelled with the quantity
    assert [t.get_text() for t in bar_axes[2].get_xticklabels()] == ["water", "ice"]
    assert bar_axes[1].get_xlabel() == "ice probability"
    assert "dB" in bar_axes[0].get_xlabel()
    plt.close(fig)


def test_synthetic_scene_is_named_by_its_seed(
    layers: tuple[list[xr.DataArray], object, xr.Dataset],
) -> None:
    import matplotlib.pyplot as plt

    maps, _, ds = layers
    plain = ds.copy()
    plain.attrs = {k: v for k, v in ds.attrs.items() if k != "sentinel1_items"}
    fig = map_panels(maps[:1], scene=plain, titles=["HH"])
    assert "synthetic scene, seed 3" in fig.get_suptitle()
    assert fig.axes[0].get_title() == "HH"
    plt.close(fig)
    with pytest.raises(InvalidArgumentError, match="titles has 1 entries for 2 layers"):
        map_panels(maps[:2], titles=["HH"])
    with pytest.raises(InvalidArgumentError, match="non-empty"):
        map_panels([])
