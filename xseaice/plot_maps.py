"""Maps side by side: one figure of several layers of a scene (the quick start's figure).

[`map_panels`][xseaice.plot_maps.map_panels] draws each layer with
[`xseaice.plotting.plot`][] on plain axes in projected km and makes each panel a map the
way the demo's overview is ([`xseaice.plot_annotations`][]): the date, scene id and CRS
above, latitude/longitude lines, the ice-chart polygons outlined and labelled with their
total concentration (CT), and one colour bar under each panel (constrained layout keeps
each bar clear of its neighbours).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError

__all__ = ["map_panels"]

logger = logging.getLogger(__name__)


def map_panels(
    layers: Sequence[xr.DataArray],
    *,
    chart: Any = None,
    scene: xr.Dataset | None = None,
    titles: Sequence[str] | None = None,
    time_index: int = 0,
    panel_size: float = 5.0,
) -> Any:
    """Maps of several layers of one scene in a row, each with its own colour bar.

    Parameters
    ----------
    layers : sequence of xarray.DataArray
        Maps on one grid with dims ``(y, x)`` or ``(time, y, x)`` and a CRS (a
        ``spatial_ref`` coordinate): backscatter, logits, probabilities, a binary or class
        map (``flag_values`` / ``flag_meanings``, shown with a colour bar of its classes).
    chart : geopandas.GeoDataFrame, optional
        Ice-chart polygons (any CRS), outlined on every panel and labelled ``CT <tenths>``
        (the concentration read by [`xseaice.products.regions.chart_concentration`][], or a
        ``chart_concentration`` column as in the table of
        [`xseaice.products.zonal.concentration`][]).
    scene : xarray.Dataset, optional
        The input scene; its ``sentinel1_items`` attribute names the scene in the title.
    titles : sequence of str, optional
        Panel titles; by default each layer's name and units.
    time_index : int, default 0
        Time step of layers with a ``time`` dim.
    panel_size : float, default 5.0
        Width of a panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One row of map panels (constrained layout), titled
        ``"<date> | <scene id> | <CRS>"`` ([`xseaice.plot_annotations.figure_title`][]).

    Raises
    ------
    InvalidArgumentError
        No layers, a layer that is not a DataArray, or as many titles as layers missing.

    Examples
    --------
    >>> fig = map_panels([ds.hh, prob, ice], chart=chart, scene=ds)  # doctest: +SKIP
    >>> fig.savefig("maps.png", dpi=120)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from xseaice.plot_annotations import chart_outlines, figure_title, latlon_lines
    from xseaice.plotting import plot

    layers = list(layers)
    if not layers or not all(isinstance(da, xr.DataArray) for da in layers):
        raise InvalidArgumentError(
            f"layers must be a non-empty sequence of xarray.DataArray maps; got "
            f"{[type(da).__name__ for da in layers]}"
        )
    if titles is not None and len(titles) != len(layers):
        raise InvalidArgumentError(
            f"titles has {len(titles)} entries for {len(layers)} layers; give one per layer "
            "or leave titles=None"
        )
    maps = [da.isel(time=time_index) if "time" in da.dims else da for da in layers]
    fig, axes = plt.subplots(
        1,
        len(maps),
        figsize=(panel_size * len(maps), panel_size * 1.15),
        layout="constrained",
        squeeze=False,
    )
    table = _chart_table(chart)
    for k, (ax, da) in enumerate(zip(axes[0], maps, strict=True)):
        plot(da, ax=ax, add_colorbar=False, title=None if titles is None else titles[k])
        _colorbar(fig, ax, da)
        latlon_lines(ax, da)
        chart_outlines(ax, table, da)
    fig.suptitle(figure_title(maps[0].to_dataset(name="layer"), scene), fontsize=12)
    return fig


def _chart_table(chart: Any) -> Any:
    """The chart with a ``chart_concentration`` column (0-1) for its CT labels."""
    if chart is None or "chart_concentration" in chart:
        return chart
    from xseaice.products.regions import chart_concentration

    out = chart.copy()
    out["chart_concentration"] = chart_concentration(chart).value
    return out


def _colorbar(fig: Any, ax: Any, da: xr.DataArray) -> Any:
    """A horizontal colour bar under ``ax`` for its image: classes get one tick each."""
    from xseaice.plotting import _style

    image = ax.images[-1]
    style = _style(da)
    bar = fig.colorbar(image, ax=ax, location="bottom", shrink=0.85, pad=0.02, aspect=30)
    if style.get("kind") == "classes":
        values = [int(v) for v in np.atleast_1d(da.attrs["flag_values"])]
        meanings = str(da.attrs.get("flag_meanings", "")).split()
        bar.set_ticks(values)
        if len(meanings) == len(values):
            bar.set_ticklabels([m.replace("_", " ") for m in meanings])
    bar.set_label(style["label"], fontsize=9)
    bar.ax.tick_params(labelsize=8)
    return bar
