"""The overview figure of a mapped scene, drawn from coarse arrays computed in one pass.

[`overview_figure`][xseaice.plot_overview.overview_figure] shows the inputs (HH, HV,
36.5 GHz H), the model's logits, the ALS probability, ice / water / leads, the histograms of
the probabilities before and after ALS and, with a chart, the concentration per polygon.
Every panel needs the scene only at the figure's resolution (at most about 1500 pixels per
side), so nothing is held at full size: the maps are block means (or strided samples of the
flag layers) and the histograms are counted chunk by chunk (``dask.array.histogram``), all
in a single ``dask.compute``.

The inputs are the expensive part when the scene is lazy (every Sentinel-1 chunk read and
calibrated again).  [`overview_inputs`][xseaice.plot_overview.overview_inputs] gives the
coarse input panels as a lazy Dataset, so that a caller who computes the scene anyway can
compute them in the same pass: [`xseaice.workflow.write_products`][] computes them together
with the model's logits and hands the small in-memory result to ``overview_figure``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["INPUT_PANELS", "figure_factor", "overview_figure", "overview_inputs"]

logger = logging.getLogger(__name__)

INPUT_PANELS: tuple[str, ...] = ("hh", "hv", "tb36h")
"""The input variables shown in the top row of the figure, in order (those present)."""

#: Histogram bins of the probability panel (equal bins over 0-1).
_BINS = 50

#: The most pixels per side of a map panel.
_MAX_SIDE = 1500


def figure_factor(sizes: Any) -> int:
    """The block size that reduces a map to at most about 1500 pixels per side.

    Parameters
    ----------
    sizes : mapping
        The ``y`` and ``x`` sizes of the map (``da.sizes`` or ``ds.sizes``).

    Returns
    -------
    int
        1 for maps up to 1500 pixels per side, else ``ceil(max(ny, nx) / 1500)``.
    """
    return max(1, int(np.ceil(max(sizes["y"], sizes["x"]) / _MAX_SIDE)))


def overview_inputs(scene: xr.Dataset, *, time_index: int = 0) -> xr.Dataset:
    """The input panels of the overview figure, lazy, at the figure's resolution.

    Parameters
    ----------
    scene : xarray.Dataset
        A scene following the Dataset contract; the variables of
        [`INPUT_PANELS`][xseaice.plot_overview.INPUT_PANELS] that it has are used.
    time_index : int, default 0
        Time step when the scene has a ``time`` dimension.

    Returns
    -------
    xarray.Dataset
        Block means of ``hh``, ``hv`` and ``tb36h`` over blocks of
        [`figure_factor`][xseaice.plot_overview.figure_factor] pixels (the blocks
        [`xseaice.plotting.plot`][] averages), with their attributes, the scene's
        attributes and its time coordinate.  Lazy when the scene is: compute it in the same
        ``dask.compute`` as the products so that the scene is read once.

    Raises
    ------
    InvalidArgumentError
        ``time_index`` is out of range, or a variable has dimensions other than
        ``(time, y, x)``.
    """
    from xseaice.plotting import _reduce, _squeeze_time

    names = [v for v in INPUT_PANELS if v in scene.data_vars]
    out = xr.Dataset(attrs=dict(scene.attrs))
    for name in names:
        da = _squeeze_time(scene[name], time_index)
        out[name] = _reduce(da, figure_factor(da.sizes), classes=False)
    return out


def _panels(products: xr.Dataset, factor: int) -> dict[str, Any]:
    """The lazy arrays of the product panels: coarse maps, strided flags, two histograms."""
    from xseaice.plotting import _reduce

    logits = products["ice_logit"]
    probs = products["ice_probability"]
    ok = np.isfinite(probs) & np.isfinite(logits)
    sigmoid = 1 / (1 + xr.ufuncs.exp(-logits))
    before = sigmoid.where(ok, -1.0)  # -1: outside the histogram's range
    after = probs.where(ok, -1.0)
    stride = {"y": slice(None, None, factor), "x": slice(None, None, factor)}
    panels: dict[str, Any] = {
        "ice_logit": _reduce(logits, factor, classes=False),
        "ice_probability": _reduce(probs, factor, classes=False),
        "ice": products["ice"].isel(stride),
        "lead": products["lead"].isel(stride),
        "hist_before": _histogram(before),
        "hist_after": _histogram(after),
    }
    if "ice_fraction" in products:
        panels["ice_fraction"] = products["ice_fraction"]
    return panels


def _histogram(da: xr.DataArray) -> Any:
    """Lazy counts in ``_BINS`` equal bins over 0-1, chunk by chunk.  The edges are in the
    data's dtype, as ``np.histogram(bins=50, range=(0, 1))`` (``ax.hist``) makes them, so a
    float32 value on an edge falls into the same bin."""
    import dask.array

    data = dask.array.asarray(da.data)
    edges = np.linspace(0.0, 1.0, _BINS + 1, dtype=np.result_type(data.dtype, np.float32))
    return dask.array.histogram(data, bins=edges)[0]


def overview_figure(
    products: xr.Dataset,
    *,
    scene: xr.Dataset | None = None,
    table: Any = None,
    time_index: int = 0,
) -> Any:
    """One figure of a mapped scene: inputs, logits, ALS probability, ice and leads.

    The data of all panels are computed in one ``dask.compute`` at the figure's
    resolution; no array is held at full size.

    Parameters
    ----------
    products : xarray.Dataset
        Products of [`xseaice.workflow.map_ice`][] (one time step, or ``time_index``
        is used): ``ice_logit``, ``ice_probability``, ``ice``, ``lead``.
    scene : xarray.Dataset, optional
        The input scene, for the HH, HV and 36.5 GHz H panels: the scene itself, or its
        coarse panels from [`overview_inputs`][xseaice.plot_overview.overview_inputs]
        (computed already, so that a lazy scene is not read again).
    table : GeoDataFrame, optional
        Concentration per chart polygon ([`xseaice.products.zonal.concentration`][] with a chart
        concentration), shown against the chart.
    time_index : int, default 0
        Time step when the inputs have a ``time`` dimension.

    Returns
    -------
    matplotlib.figure.Figure
        A 2 x 4 panel figure.
    """
    import dask
    import matplotlib.pyplot as plt

    from xseaice.plotting import plot

    if "time" in products.dims:
        products = products.isel(time=time_index)
    factor = figure_factor(products.sizes)
    inputs = overview_inputs(scene, time_index=time_index) if scene is not None else None
    inputs, panels = dask.compute(inputs, _panels(products, factor))
    fig, axes = plt.subplots(2, 4, figsize=(19, 9.2))
    names = [] if inputs is None else list(inputs.data_vars)
    for ax, name in zip(axes[0], names, strict=False):
        plot(inputs[name], ax=ax, coarsen=1)
    for ax in axes[0][len(names) : 3]:
        ax.set_visible(False)
    plot(panels["ice_logit"], ax=axes[0][3], coarsen=1, title="model logit (under-confident)")
    plot(panels["ice_probability"], ax=axes[1][0], coarsen=1, title="ALS ice probability")
    _plot_ice_with_leads(axes[1][1], panels)
    _plot_histograms(axes[1][2], panels["hist_before"], panels["hist_after"])
    if table is not None and "chart_concentration" in table:
        _plot_chart_agreement(axes[1][3], table)
    else:
        axes[1][3].set_visible(False)
    _annotate_maps(fig, [*axes[0], axes[1][0], axes[1][1]], products, inputs, table)
    return fig


def _plot_histograms(ax: Any, before: np.ndarray, after: np.ndarray) -> None:
    """The counts of the probabilities before / after ALS as the bars ``ax.hist`` draws."""
    edges = np.linspace(0.0, 1.0, _BINS + 1)
    for counts, label, colour in (
        (before, "sigmoid(logit)", "#fdae6b"),
        (after, "after ALS", "#2171b5"),
    ):
        ax.hist(edges[:-1], bins=edges, weights=counts, alpha=0.6, label=label, color=colour)
    ax.set_yscale("log")
    ax.set_xlabel("ice probability")
    ax.set_ylabel("pixels")
    ax.set_title("probabilities before / after ALS", fontsize=10)
    ax.legend(fontsize=8)


def _plot_ice_with_leads(ax: Any, panels: dict[str, Any]) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    ice, lead = panels["ice"].values, panels["lead"].values
    x = panels["ice"]["x"].values / 1000.0
    y = panels["ice"]["y"].values / 1000.0
    codes = np.where(ice == 1, 1, 0)
    codes = np.where(lead == 1, 2, codes)
    codes = np.where(ice == 255, 3, codes)
    cmap = ListedColormap(["#08306b", "#f7fbff", "#e31a1c", "#bdbdbd"])
    ax.imshow(
        codes,
        extent=(x[0], x[-1], y[-1], y[0]),
        cmap=cmap,
        vmin=-0.5,
        vmax=3.5,
        interpolation="nearest",
    )
    ax.legend(
        handles=[
            Patch(facecolor=c, edgecolor="k", label=label)
            for c, label in zip(
                ["#08306b", "#f7fbff", "#e31a1c"], ["water", "ice", "lead"], strict=True
            )
        ],
        loc="lower right",
        fontsize=8,
        framealpha=0.9,
    )
    frac = panels["ice_fraction"].values if "ice_fraction" in panels else np.nan
    ax.set_title(f"ice / water / leads (ice {float(frac):.0%})", fontsize=10)
    ax.set_xlabel("x [km]")
    ax.set_ylabel("y [km]")


def _plot_chart_agreement(ax: Any, table: Any) -> None:
    chart = np.asarray(table["chart_concentration"], dtype=float)
    mapped = np.asarray(table["mean"], dtype=float)
    ok = np.isfinite(chart) & np.isfinite(mapped)
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="1:1")
    ax.scatter(
        chart[ok], mapped[ok], s=30, c="#2171b5", edgecolor="k", lw=0.5, label="chart polygons"
    )
    mae = float(np.mean(np.abs(mapped[ok] - chart[ok]))) if ok.any() else np.nan
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("chart concentration (CT)")
    ax.set_ylabel("mapped ice fraction")
    ax.set_title(f"concentration per polygon (MAE {mae:.3f})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_aspect("equal")


def _annotate_maps(fig: Any, maps: list[Any], products: xr.Dataset, scene: Any, table: Any) -> None:
    """Date, scene id and CRS above; lat/lon lines on the maps; chart polygons on ice/leads."""
    from xseaice.plot_annotations import chart_outlines, figure_title, latlon_lines

    for ax in maps:
        if ax.get_visible():
            latlon_lines(ax, products)
    chart_outlines(maps[-1], table, products)
    fig.suptitle(figure_title(products, scene), fontsize=13)
    fig.tight_layout()
