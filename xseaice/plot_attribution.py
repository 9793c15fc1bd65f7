"""What a model looks at: Grad-CAM maps per output and the weight of each input variable.

[`plot_attribution`][xseaice.plot_attribution.plot_attribution] runs
[`xseaice.inference.attribution.explain`][] once per output of a model (torch is imported
only then) and draws, in one figure: the HV backscatter the model reads, each output's
prediction, each output's Grad-CAM map over the HV image, and a bar chart of the share of
``|gradient x input|`` that falls on each input variable, per output (with the
Sentinel-1 / AMSR-2 totals in the legend).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError

__all__ = ["plot_attribution"]

logger = logging.getLogger(__name__)

_HEAD_COLOURS = ("#2171b5", "#fd8d3c", "#41ab5d", "#807dba", "#e7298a", "#737373")


def _extent(da: xr.DataArray) -> tuple[float, float, float, float] | None:
    """Image extent in km from x/y coordinates in metres (None without them)."""
    if "x" not in da.coords or "y" not in da.coords or da.sizes["x"] < 2 or da.sizes["y"] < 2:
        return None
    x = np.asarray(da["x"].values, dtype=float) / 1000.0
    y = np.asarray(da["y"].values, dtype=float) / 1000.0
    dx, dy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2
    return (x[0] - dx, x[-1] + dx, y[-1] + dy, y[0] - dy)


def _background(scene: xr.Dataset, time_index: int) -> xr.DataArray:
    """HV in dB (HH when the scene has no HV), one time step."""
    name = "hv" if "hv" in scene.data_vars else "hh" if "hh" in scene.data_vars else None
    if name is None:
        raise InvalidArgumentError(
            "plot_attribution draws the SAR backscatter under the maps: the scene needs an "
            f"'hv' or 'hh' variable (in dB); it has {list(scene.data_vars)}"
        )
    da = scene[name]
    return da.isel(time=time_index) if "time" in da.dims else da


def _show_sar(ax: Any, sar: xr.DataArray, extent: Any) -> None:
    v = np.asarray(sar.values, dtype=float)
    ok = v[np.isfinite(v)]
    lo, hi = np.percentile(ok, [1, 99]) if ok.size else (-30.0, 0.0)
    ax.imshow(v, cmap="gray", vmin=lo, vmax=hi, extent=extent, interpolation="nearest")


def _show_prediction(ax: Any, pred: xr.DataArray, extent: Any) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if "flag_meanings" not in pred.attrs:  # an ice probability
        ax.imshow(pred.values, cmap="Blues_r", vmin=0, vmax=1, extent=extent)
        ax.set_title("ice probability", fontsize=9)
        return
    names = str(pred.attrs["flag_meanings"]).split()
    v = np.asarray(pred.values, dtype=float)
    v[v >= len(names)] = np.nan
    colours = [_HEAD_COLOURS[i % len(_HEAD_COLOURS)] for i in range(len(names))]
    cmap = ListedColormap(colours)
    ax.imshow(
        v, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, extent=extent, interpolation="nearest"
    )
    present = sorted({int(c) for c in np.unique(v[np.isfinite(v)])})
    handles = [Patch(color=colours[c], label=names[c]) for c in present]
    ax.legend(handles=handles, fontsize=6, loc="lower left", framealpha=0.8)
    ax.set_title(str(pred.attrs.get("long_name", "class")).split(" (")[0], fontsize=9)


def _overlay(ax: Any, cam: np.ndarray, extent: Any) -> Any:
    """The Grad-CAM map in colour over the backscatter, opaque where it is high."""
    import matplotlib as mpl

    norm = mpl.colors.Normalize(0, 1)
    cmap = mpl.colormaps["inferno"]
    rgba = cmap(norm(np.nan_to_num(cam, nan=0.0)))
    rgba[..., 3] = 0.15 + 0.7 * np.nan_to_num(cam, nan=0.0)
    ax.imshow(rgba, extent=extent, interpolation="bilinear")
    return mpl.cm.ScalarMappable(norm=norm, cmap=cmap)


def _bars(ax: Any, tables: dict[str, Any]) -> None:
    """Grouped bars: share of |gradient x input| per variable, one bar per output."""
    names = list(next(iter(tables.values())).index)
    n = len(tables)
    width = 0.8 / n
    pos = np.arange(len(names))
    for i, (output, df) in enumerate(tables.items()):
        by_sensor = df.groupby("sensor")["share"].sum()
        label = output + " (" + ", ".join(f"{s} {v:.0%}" for s, v in by_sensor.items()) + ")"
        ax.bar(
            pos + (i - (n - 1) / 2) * width,
            df["share"].to_numpy(),
            width,
            label=label,
            color=_HEAD_COLOURS[i % len(_HEAD_COLOURS)],
        )
    ax.set_xticks(pos)
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share of |gradient x input|")
    ax.set_title("which inputs the model leans on", fontsize=9)
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.35), frameon=False)


def plot_attribution(
    scene: xr.Dataset,
    model: Any = "default",
    *,
    outputs: Sequence[str] | None = None,
    layer: str | None = None,
    method: Literal["grad-cam", "hirescam"] = "grad-cam",
    region: Any = "valid",
    time_index: int = 0,
    device: str = "cpu",
    panel_size: float = 3.2,
) -> Any:
    """Grad-CAM maps and per-variable attribution of a model's outputs on one scene.

    The figure has two rows and ``1 + len(outputs)`` columns: the HV backscatter (dB) and
    each output's prediction above; the per-variable bar chart and each output's Grad-CAM
    map (over the HV image) below; and one colour bar for the Grad-CAM maps.

    Parameters
    ----------
    scene : xarray.Dataset
        A scene with the model's variables (as for `xseaice.inference.segment`).
    model : str, path, WeightsSpec or (nn.Module, WeightsSpec), default "default"
        The model; ``"multitask"`` explains its four heads.
    outputs : sequence of str, optional
        Outputs to explain (default all of the model's: ``ice_logit``, and ``sic``,
        ``sod``, ``floe`` for the multi-task model).  A class head is explained for each
        pixel's predicted class.
    layer : str, optional
        Grad-CAM layer (dotted module name); default the bottleneck.
    method : {"grad-cam", "hirescam"}, default "grad-cam"
        How the layer's activations are weighted (see
        [`explain`][xseaice.inference.attribution.explain]).
    region : {"valid", "predicted"} or bool array, default "valid"
        Pixels whose mean score is explained (see
        [`explain`][xseaice.inference.attribution.explain]).
    time_index : int, default 0
        Time step of a scene with a ``time`` dim.
    device : str, default "cpu"
        Where the model runs.
    panel_size : float, default 3.2
        Side of a panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (its maps are those of
        [`explain`][xseaice.inference.attribution.explain] per output).

    Raises
    ------
    InvalidArgumentError
        An unknown output or layer, or a scene without HV / HH.
    """
    import matplotlib.pyplot as plt

    from xseaice.inference.attribution import attribution_table, explain
    from xseaice.inference.segment import _resolve_model

    spec = _resolve_model(model)[0]
    names = list(spec.outputs) if outputs is None else [str(o) for o in outputs]
    bad = [o for o in names if o not in spec.outputs]
    if bad or not names:
        raise InvalidArgumentError(
            f"outputs={names!r}: unknown {bad}; model {spec.name!r} has outputs "
            f"{list(spec.outputs)}"
        )
    sar = _background(scene, time_index)
    results = {
        o: explain(
            scene,
            model,
            output=o,
            layer=layer,
            method=method,
            region=region,
            device=device,
            time_index=time_index,
        )
        for o in names
    }
    extent = _extent(sar)
    ncol = 1 + len(names)
    fig, axes = plt.subplots(
        2, ncol, figsize=(panel_size * ncol, panel_size * 2.1), squeeze=False, layout="constrained"
    )
    _show_sar(axes[0][0], sar, extent)
    axes[0][0].set_title(f"input: {sar.name} [dB]", fontsize=9)
    _bars(axes[1][0], {o: attribution_table(r) for o, r in results.items()})
    cam_image: Any = None
    for j, (o, r) in enumerate(results.items(), start=1):
        _show_prediction(axes[0][j], r["prediction"], extent)
        axes[0][j].set_title(f"{o}: {axes[0][j].get_title()}", fontsize=9)
        _show_sar(axes[1][j], sar, extent)
        cam_image = _overlay(axes[1][j], r["grad_cam"].values, extent)
        axes[1][j].set_title(
            f"{o}: {r.attrs['method']} of {r.attrs['target_class']}\nat {r.attrs['layer']}",
            fontsize=9,
        )
    for ax in [axes[0][0], *axes[0][1:], *axes[1][1:]]:
        ax.set_xlabel("x [km]" if extent else "x [px]", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.colorbar(cam_image, ax=list(axes[1][1:]), shrink=0.8, label=f"{method} (0-1)")
    fig.suptitle(f"What model {spec.name!r} looks at", fontsize=11)
    return fig
