"""Analytical Logit Scaling (ALS) and streaming percentiles of dask arrays.

A model trained only on ice-chart regions is under-confident: its probabilities cluster
around the regional mean.  ALS rescales its logits ``z`` per scene so that the scene's
``lower`` and ``upper`` percentiles ``p_lo`` and ``p_hi`` map to probabilities ``1 - q``
and ``q``::

    L = ln(q / (1 - q))
    b = (p_hi + p_lo) / 2                  # bias
    T = (p_hi - p_lo) / (2 L)              # temperature
    p = sigmoid((z - b) / T)

Only finite logits count (NaN and +-inf are "no data" and give NaN).  Everything is lazy
for dask input: the percentiles come from dask reductions over blocks.

The percentiles come from the streaming engine of [`xseaice.products.percentiles`][]
(``method="histogram"``, ``"refine"`` or ``"exact"``; see there), which also gives the
exact order statistics per region that ``preserve=`` solves its biases from.

Memory: a statistics-only computation (``nanpercentile`` with ``"histogram"``) holds
a few blocks at a time.  Whenever a second pass reads the logits again -- the ALS output
itself, ``"refine"``, ``preserve=`` -- dask keeps every block of the logits (4 bytes per
pixel) from the first pass until the last, as it does for any array normalised by a
global statistic.  For scenes larger than memory, compute the logits once to Zarr and
scale the stored array on a cluster that can spill (``dask.distributed``).
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np
import xarray as xr

from xseaice.exceptions import DegenerateSceneWarning, InvalidArgumentError
from xseaice.products.als_inputs import _prepare
from xseaice.products.als_regions import (
    _BELOW_HALF,
    _BIAS,
    _ERR,
    _MODE,
    _MODE_CONSTANT,
    _MODE_EMPTY,
    _MODE_OK,
    _MODE_STEP,
    _NPARAMS,
    _NVALID,
    _P_HI,
    _P_LO,
    _REGION_HIST_CELLS,
    _TEMP,
    _bias_raster,
    _no_contrast,
    _region_fractions,
    _region_hist_graph,
    _region_ranks,
    _scene_bias,
    _solve_regions,
    _targets,
    polygon_parameters,
)
from xseaice.products.percentiles import (
    _MAX,
    _MIN,
    _N,
    DEFAULT_BINS,
    PercentileMethod,
    _bin_index,
    _bin_of_rank,
    _bits_of,
    _exact_graph,
    _hist_graph,
    _merge_extracts,
    _plan_refine,
    _scene_percentiles,
    _stats_graph,
    check_method,
    extraction_graph,
)

if TYPE_CHECKING:
    import dask.array
    import geopandas as gpd

__all__ = ["Preserve", "scale_logits"]

logger = logging.getLogger(__name__)

#: What ``preserve=`` of [`scale_logits`][xseaice.products.als.scale_logits] accepts: ``None``
#: (plain ALS), ``"scene"`` (keep the model's own scene ice fraction) or a GeoDataFrame of regions
#: (a chart: keep each polygon's concentration).  The workflow and the ``xseaice segment`` command
#: add ``"auto"``, ``"chart"`` and ``"none"``, resolved in one place,
#: [`xseaice.workflow.resolve_preserve`][].
Preserve = Union[None, Literal["scene"], "gpd.GeoDataFrame"]


# ---------------------------------------------------------------------------------------
# the graph's small tasks: plan the refinement pass, then solve the parameters
# ---------------------------------------------------------------------------------------


def _plan(
    stats: np.ndarray,
    hist: np.ndarray | None,
    exact: np.ndarray | None,
    rhist: np.ndarray | None,
    *,
    cfg: dict[str, Any],
) -> list[dict[str, Any]]:
    """Which bins the refinement pass must gather, per time step."""
    if cfg["method"] == "refine" and hist is not None:
        plan = _plan_refine(stats, hist, cfg=cfg)
    else:
        plan = [{"lo": st[_MIN], "hi": st[_MAX], "bits": cfg["bits"]} for st in stats]
    for t, step in enumerate(plan):
        st = stats[t]
        if int(st[_N]) == 0 or not st[_MAX] > st[_MIN]:
            continue
        if rhist is not None:
            nb2 = rhist.shape[2]
            bounds = cfg.get("fractions")
            b_scene = _scene_bias(t, st, hist, exact, cfg)
            fr = _targets(st, bounds, cfg["scene"])
            step["targets"], step["b_scene"] = fr, b_scene
            lut_r = np.zeros(rhist.shape[1] * nb2, dtype=bool)
            for r in range(1, rhist.shape[1]):
                counts = rhist[t, r]
                n_r = int(counts.sum())
                interval = bounds is not None and np.isfinite(bounds[r, 0])
                if n_r == 0 or not (np.isfinite(fr[r]) or interval):
                    continue
                cum = np.cumsum(counts)
                wanted = [fr[r]] if np.isfinite(fr[r]) else list(bounds[r])  # type: ignore[index]
                for f in wanted:
                    _, j_lo, j_hi = _region_ranks(n_r, float(f))
                    for j in (j_lo, j_hi):
                        if 0 <= j < n_r:
                            lut_r[r * nb2 + _bin_of_rank(cum, j)] = True
                if not np.isfinite(fr[r]) and st[_MIN] < b_scene <= st[_MAX]:
                    k = int(_bin_index(np.array([b_scene]), st[_MIN], st[_MAX], nb2)[0])
                    lut_r[r * nb2 + k] = True
            step["lut_region"] = lut_r
            step["nbins_region"] = nb2
    return plan


def _solve(
    stats: np.ndarray,
    hist: np.ndarray | None,
    exact: np.ndarray | None,
    rhist: np.ndarray | None,
    plan: list[dict[str, Any]] | None,
    extracts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] | None,
    *,
    cfg: dict[str, Any],
) -> np.ndarray:
    """Per time step: p_lo, p_hi, bias, temperature, error, mode, n; then region biases."""
    ntime = stats.shape[0]
    nreg1 = 0 if rhist is None or cfg["scene"] else 3 * rhist.shape[1]
    out = np.full((ntime, _NPARAMS + nreg1), np.nan)
    lower, upper = cfg["pcts"]
    big_l = cfg["L"]
    for t in range(ntime):
        st = stats[t]
        n = int(st[_N])
        row = out[t]
        row[_NVALID] = n
        label = f"time step {t}" if cfg["has_time"] else "the scene"
        if n == 0:
            warnings.warn(
                f"{label}: every logit is NaN (or infinite); the probability is NaN there. "
                "Check the input's valid area.",
                DegenerateSceneWarning,
                stacklevel=2,
            )
            row[_MODE] = _MODE_EMPTY
            _no_contrast(row, np.nan)
            continue
        lo, hi = float(st[_MIN]), float(st[_MAX])
        if not hi > lo:
            warnings.warn(
                f"{label}: all {n} valid logits equal {lo!r}; there is no contrast to scale, "
                "so the probability is 0.5 wherever the logit is valid.",
                DegenerateSceneWarning,
                stacklevel=2,
            )
            row[[_P_LO, _P_HI, _BIAS]] = lo
            row[_TEMP], row[_ERR], row[_MODE] = np.inf, 0.0, _MODE_CONSTANT
            _no_contrast(row, lo)
            continue
        merged = _merge_extracts(extracts[t]) if extracts is not None else None
        (p_lo, p_hi), err = _scene_percentiles(t, st, hist, exact, plan, merged, cfg=cfg)
        bias = 0.5 * (p_hi + p_lo) if cfg["bias_mode"] == "midpoint" else 0.0
        temp = (p_hi - p_lo) / (2.0 * big_l)
        if cfg["bias_mode"] == "model":
            # never less confident than the model's own sigmoid
            temp = min(temp, 1.0)
        mode = _MODE_OK
        if not temp > 0.0:
            warnings.warn(
                f"{label}: the {lower:g}th and {upper:g}th percentiles of the logits are equal "
                f"({p_lo!r}{', within one histogram bin' if err else ''}); the temperature "
                "is 0, so the output is a hard threshold at the bias (1 above, 0 below, 0.5 "
                "on it).  Widen lower/upper, use method='refine', or check the logits.",
                DegenerateSceneWarning,
                stacklevel=2,
            )
            temp, mode = 0.0, _MODE_STEP
        row[[_P_LO, _P_HI, _BIAS, _TEMP, _ERR, _MODE]] = p_lo, p_hi, bias, temp, err, mode
        if rhist is None:
            continue
        assert plan is not None and merged is not None
        delta = temp * big_l if temp > 0 else 1.0
        regions = _solve_regions(
            rhist[t], plan[t], merged, cfg.get("fractions"), st=st, bias=bias, delta=delta
        )
        if cfg["scene"]:
            row[_BIAS] = regions[0, 1]
        else:
            row[_NPARAMS:] = regions.ravel()
    return out


def _apply_block(
    block: np.ndarray,
    params: np.ndarray,
    rid: np.ndarray | None = None,
    *,
    nparams: int = _NPARAMS,
) -> np.ndarray:
    """sigmoid((z - b) / T) of one block, float32, NaN where z is not finite."""
    from scipy.special import expit

    p = np.asarray(params).reshape(-1)
    z = np.asarray(block, dtype="float64")
    ok = np.isfinite(z)
    mode, temp = int(p[_MODE]) if np.isfinite(p[_MODE]) else _MODE_EMPTY, p[_TEMP]
    if rid is not None and p.size > nparams:
        bias: Any = p[nparams:][np.asarray(rid).astype("int64")].reshape(z.shape)
    else:
        bias = p[_BIAS]
    if mode == _MODE_EMPTY:
        return np.full(z.shape, np.nan, dtype="float32")
    if mode == _MODE_CONSTANT:
        out = np.full(z.shape, 0.5, dtype="float32")
    elif mode == _MODE_STEP:
        out = (0.5 * (1.0 + np.sign(z - bias))).astype("float32")
    else:
        with np.errstate(invalid="ignore"):
            out = expit((z - bias) / temp).astype("float32")
        below = z < bias
        out[below] = np.minimum(out[below], _BELOW_HALF)
    out[~ok] = np.nan
    return out


# ---------------------------------------------------------------------------------------
# graph construction
# ---------------------------------------------------------------------------------------


def _check_options(lower: float, upper: float, q: float, method: str, bins: int) -> None:
    if not (0.0 <= lower < upper <= 100.0):
        raise InvalidArgumentError(
            f"lower={lower!r}, upper={upper!r}: expected percentiles with "
            "0 <= lower < upper <= 100 (the defaults are 2 and 98)."
        )
    if not (0.5 < q < 1.0):
        raise InvalidArgumentError(
            f"q={q!r}: expected a target confidence with 0.5 < q < 1 (default 0.98)."
        )
    check_method(method, bins)


def _parameters_graph(
    z: dask.array.Array,
    *,
    pcts: tuple[float, float],
    q: float,
    method: str,
    bins: int,
    rid: dask.array.Array | None,
    fractions: np.ndarray | None,
    scene: bool,
    has_time: bool,
    bias_mode: str = "midpoint",
    reread: bool = False,
) -> dask.array.Array:
    """Lazy (time, params [+ region biases]) array for ``z`` of shape (time, ...).

    Statistics and the histogram come from one pass over ``z``; the region histogram
    (it needs the range) and the refinement pass read ``z`` again: dask keeps its blocks
    in memory between the passes, or, with ``reread``, each pass reads them anew
    ([`_again`][xseaice.products.als._again]).
    """
    import dask
    import dask.array as da

    idx = "t" + "abcdefghij"[: z.ndim - 1]
    stats = _stats_graph(z, idx, sigmoid=scene)
    bits = _bits_of(bins)
    hist = _hist_graph(z, idx, bits) if method != "exact" else None
    exact = _exact_graph(z, idx, pcts) if method == "exact" else None
    rhist = None
    nregions = 0
    if rid is not None:
        nregions = 1 if scene else len(fractions) - 1  # type: ignore[arg-type]
        nb2 = int(max(256, min(2**16, _REGION_HIST_CELLS // (nregions + 1))))
        rhist = _region_hist_graph(_again(z, reread), _again(rid, reread), stats, nb2, nregions)
    cfg = {
        "pcts": pcts,
        "L": math.log(q / (1.0 - q)),
        "method": method,
        "bits": bits,
        "fractions": fractions,
        "scene": scene,
        "has_time": has_time,
        "anchors": True,
        "bias_mode": bias_mode,
    }
    plan = extracts = None
    if method == "refine" or rid is not None:
        plan = dask.delayed(_plan, pure=True)(stats, hist, exact, rhist, cfg=cfg)
        extracts = extraction_graph(_again(z, reread), _again(rid, reread), plan)
    ncols = _NPARAMS + (0 if rid is None or scene else 3 * (nregions + 1))
    solved = dask.delayed(_solve, pure=True)(stats, hist, exact, rhist, plan, extracts, cfg=cfg)
    arr = da.from_delayed(solved, shape=(z.shape[0], ncols), dtype="float64")
    return arr.rechunk((1, ncols))


def _again(a: Any, reread: bool) -> Any:
    """``a`` computed anew under new keys (``reread``), else ``a`` itself.

    A pass after a global statistic (the region histogram needs the range, the apply
    needs the parameters) would otherwise make dask hold every block of ``a`` from the
    first pass to the last: 4 bytes per pixel of logits, 2-4 of region ids.  Re-reading
    suits arrays that are cheap to compute again (stored logits, the chart raster), not
    a model's lazy output.
    """
    if not reread or a is None:
        return a
    from dask.graph_manipulation import clone

    return clone(a)


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


BiasMode = Literal["model", "midpoint"]
_BIAS_MODES: tuple[str, ...] = ("model", "midpoint")


def scale_logits(
    logits: xr.DataArray,
    *,
    lower: float = 2.0,
    upper: float = 98.0,
    q: float = 0.98,
    bias: BiasMode = "model",
    preserve: Preserve = None,
    column: str | None = None,
    tolerance: float = 0.1,
    mask: Any = None,
    smooth: float = 0.0,
    method: PercentileMethod = "histogram",
    bins: int = DEFAULT_BINS,
    reread: bool = False,
) -> xr.DataArray:
    """Analytical Logit Scaling: calibrated ice probability from under-confident logits.

    Per time step, over the finite logits ``z``: ``p_lo``, ``p_hi`` = the ``lower`` and
    ``upper`` percentiles, temperature ``T = (p_hi - p_lo) / (2 L)`` with
    ``L = ln(q / (1 - q))``, a bias ``b``; the output is ``sigmoid((z - b) / T)``.
    ``T`` changes only how confident the probabilities are; the binary map
    (probability >= 0.5, i.e. ``z >= b``) depends on ``b`` alone.

    Parameters
    ----------
    logits : xarray.DataArray
        Ice logits with dims ``(y, x)`` or ``(time, y, x)``, numpy- or dask-backed.  NaN
        and +-inf are no data.
    lower, upper : float
        Percentiles (0-100) that anchor the temperature.
    q : float
        Target confidence at the anchors, ``0.5 < q < 1``.
    bias : {"model", "midpoint"}
        ``"model"`` (default): ``b = 0``, the model's own decision threshold, so the binary
        map equals the raw map (``logit > 0``) and ALS only sharpens the probabilities;
        ``T`` is capped at 1 so the probability is never less confident than
        ``sigmoid(z)``.  ``"midpoint"``: the paper's ``b = (p_hi + p_lo) / 2``, which maps
        ``p_lo`` to ``1 - q`` and ``p_hi`` to ``q``; it puts the threshold at the middle of
        the scene's logit spread, which suits scenes with as much ice as water and moves
        the map the wrong way in compact (or open) ice.
    preserve : None, "scene" or geopandas.GeoDataFrame
        ``None``: the scene bias above.  ``"scene"``: the bias is solved so that the
        fraction of pixels with probability >= 0.5 equals the scene mean of ``sigmoid(z)``
        (the model's own ice fraction).  A GeoDataFrame of polygons (e.g. an ice chart from
        [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart], any CRS) is evidence within
        its stated tolerance: a polygon keeps the scene bias while its ice fraction lies in
        ``[low - tolerance, high + tolerance]`` (``low``/``high``: the code's range,
        ``ct_low``/``ct_high``, e.g. 0.9-1.0 for code 91), and otherwise gets the bias that
        puts its fraction on the nearest bound (``floor(f n + 0.5)`` ice pixels of ``n``,
        unless equal logits straddle the threshold).  Pixels outside every polygon (or in
        polygons without a concentration) keep the scene bias.  The temperature stays the
        scene's.  The output then carries the coordinates ``region_bias`` (per region,
        index 0 = outside), ``region_low``/``region_high`` and ``applied_bias`` (a raster
        of the bias used at each pixel).
    column : str, optional
        Concentration column (0-1) of a ``preserve`` GeoDataFrame used as an exact value
        (the interval is then ``[c - tolerance, c + tolerance]``); default: the range read
        by [`xseaice.products.regions.chart_concentration`][] (``ct_low``/``ct_high``,
        else ``"ct"``, else the SIGRID-3 ``"CT"`` codes).
    tolerance : float, default 0.1
        Widening (fraction, 0-1) of each polygon's interval for ``preserve=chart``: the
        uncertainty of an analyst's chart (about one tenth).  0 forces every polygon's
        fraction into its code's own range (exact for single-value codes).
    mask : xarray.DataArray or array-like of bool, optional
        ``(y, x)`` (or the logits' shape): pixels to use, e.g. ``~ds["land_mask"]``.
        Masked-out pixels are left out of the percentiles and the regions and are NaN in
        the output.
    smooth : float, default 0
        Gaussian sigma (pixels) applied to the finite logits before scaling (0: off).
    method : {"histogram", "refine", "exact"}
        How the percentiles are computed (module documentation): ``"histogram"`` has an
        absolute error of at most ``(max - min) / bins``, recorded as
        ``percentile_error``; ``"refine"`` and ``"exact"`` are exact.
    bins : int
        Histogram bins of the streaming percentiles.
    reread : bool, default False
        For dask input: read the logits (and the chart raster) anew in every pass instead
        of holding their blocks in memory from the first pass to the last, so memory stays
        bounded by a few blocks whatever the scene size.  Set it when the logits are cheap
        to read again (opened from a Zarr store or a file), not for a model's lazy output
        (the model would run once per pass: up to four times with ``preserve``).

    Returns
    -------
    xarray.DataArray
        float32 ``ice_probability`` with the input's dims and coordinates, lazy if the
        input is dask-backed.  Coordinates ``p_lo``, ``p_hi``, ``bias``, ``temperature``,
        ``percentile_error`` on ``time`` (scalar coordinates, plus attributes when
        in-memory, without a time dim).  ``bias`` is the scene bias actually used
        (the solved one for ``preserve="scene"``).

    Raises
    ------
    InvalidArgumentError
        For an invalid option or dims other than ``(time, y, x)`` / ``(y, x)``.
    IceChartError
        If a ``preserve`` chart lacks the concentration column.

    Warns
    -----
    DegenerateSceneWarning
        When the data are computed, for a time step that is all NaN (output NaN), constant
        (output 0.5 on valid pixels, ``temperature`` inf) or has ``p_lo == p_hi`` (output
        1 above the bias, 0 below, 0.5 on it; ``temperature`` 0).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> z = xr.DataArray(np.linspace(-1.0, 1.0, 101).reshape(1, 101), dims=("y", "x"))
    >>> p = scale_logits(z, bias="midpoint", method="exact")
    >>> round(float(p.attrs["p_hi"]), 3), round(float(p.isel(y=0, x=98)), 2)
    (0.96, 0.98)
    """
    # every parameter, by name (nothing else is bound yet)
    return _scale(**locals())[0]


def _scale(
    logits: xr.DataArray,
    *,
    lower: float,
    upper: float,
    q: float,
    bias: BiasMode,
    preserve: Preserve,
    column: str | None,
    tolerance: float,
    mask: Any,
    smooth: float,
    method: PercentileMethod,
    bins: int,
    reread: bool = False,
) -> tuple[xr.DataArray, xr.Dataset | None]:
    """[`scale_logits`][xseaice.products.als.scale_logits], and for ``preserve=chart`` the
    parameters applied per polygon
    (``polygon_parameters``)."""
    import dask
    import dask.array as da

    _check_options(lower, upper, q, method, bins)
    if bias not in _BIAS_MODES:
        raise InvalidArgumentError(f"bias={bias!r} is not one of {list(_BIAS_MODES)}.")
    if not 0.0 <= float(tolerance) <= 1.0:
        raise InvalidArgumentError(
            f"tolerance={tolerance!r}: expected a fraction from 0 to 1 (default 0.1, a tenth)."
        )
    if not isinstance(logits, xr.DataArray):
        raise InvalidArgumentError(
            f"logits is a {type(logits).__name__}; expected an xarray.DataArray of logits "
            "with dims (time, y, x) or (y, x)."
        )
    dims = tuple(logits.dims)
    if dims not in (("y", "x"), ("time", "y", "x")):
        raise InvalidArgumentError(
            f"logits has dims {dims}; expected ('time', 'y', 'x') or ('y', 'x').  Transpose "
            "or select a single class first (e.g. logits.isel(band=0))."
        )
    has_time = "time" in dims
    lazy = isinstance(logits.data, da.Array)
    data = logits.data if lazy else np.asarray(logits.data)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype("float32")
    z: Any = data if has_time else data[None]
    z = z.rechunk({0: 1}) if lazy else da.from_array(z, chunks=(1, -1, -1))
    z = _prepare(z, logits, mask, float(smooth))

    scene = isinstance(preserve, str) and preserve == "scene"
    rid = fractions = None
    if preserve is None:
        pass
    elif scene:
        rid = da.ones(z.shape[1:], chunks=z.chunks[1:], dtype="int32")
    elif hasattr(preserve, "geometry") and hasattr(preserve, "crs"):
        from xseaice.io.icechart import rasterize_chart
        from xseaice.products.regions import chart_on_map

        fractions = _region_fractions(preserve, column, float(tolerance))
        like = logits.isel(time=0) if has_time else logits
        regions = chart_on_map(preserve, like, overlaps="refuse")
        ids = rasterize_chart(regions, like).data
        rid = (
            ids.rechunk(z.chunks[1:])
            if isinstance(ids, da.Array)
            else da.from_array(np.asarray(ids), chunks=z.chunks[1:])
        )
    else:
        raise InvalidArgumentError(
            f"preserve={preserve!r}: expected None, 'scene' or a GeoDataFrame of regions with "
            "a concentration column (e.g. an ice chart from xseaice.read_icechart)."
        )

    params = _parameters_graph(
        z,
        pcts=(float(lower), float(upper)),
        q=q,
        method=method,
        bins=int(bins),
        rid=rid,
        fractions=fractions,
        scene=scene,
        has_time=has_time,
        bias_mode=bias,
        reread=reread and lazy,
    )
    idx = "tyx"
    # the apply pass comes after every statistic: its own read of the logits and regions
    z = _again(z, reread and lazy)
    rid = _again(rid, reread and lazy)
    if rid is not None and not scene:
        out = da.blockwise(
            _apply_block, idx, z, idx, params, "tp", rid, "yx", concatenate=True, dtype="float32"
        )
    else:
        out = da.blockwise(
            _apply_block, idx, z, idx, params, "tp", concatenate=True, dtype="float32"
        )
    if not has_time:
        out = out[0]

    names = {
        "p_lo": (_P_LO, "logit at the lower percentile"),
        "p_hi": (_P_HI, "logit at the upper percentile"),
        "bias": (_BIAS, "ALS bias b (logit mapped to probability 0.5)"),
        "temperature": (_TEMP, "ALS temperature T"),
        "percentile_error": (_ERR, "bound on the absolute error of p_lo and p_hi"),
    }
    coords: dict[str, Any] = {}
    for name, (col, long_name) in names.items():
        values = params[:, col] if has_time else params[0, col]
        coords[name] = (("time",) if has_time else (), values, {"long_name": long_name})
    if fractions is not None and rid is not None:
        coords.update(_bias_raster(params, rid, has_time=has_time, dims=dims))
    result = xr.DataArray(out, dims=dims, coords=logits.coords, name="ice_probability")
    result = result.assign_coords(coords)
    result.attrs.update(
        {
            "long_name": "sea ice probability (Analytical Logit Scaling)",
            "units": "1",
            "valid_min": 0.0,
            "valid_max": 1.0,
            "als_lower_percentile": float(lower),
            "als_upper_percentile": float(upper),
            "als_q": float(q),
            "als_bias": bias,
            "als_percentile_method": method,
            "als_preserve": "none" if preserve is None else ("scene" if scene else "regions"),
            "als_tolerance": float(tolerance),
            "als_smooth": float(smooth),
        }
    )
    if "grid_mapping" in logits.attrs:
        result.attrs["grid_mapping"] = logits.attrs["grid_mapping"]
    if fractions is not None:
        result.attrs["als_region_low"] = fractions[1:, 0].tolist()
        result.attrs["als_region_high"] = fractions[1:, 1].tolist()
    polygons = None
    if fractions is not None:
        polygons = polygon_parameters(params, fractions, has_time=has_time, like=result)
    if lazy:
        return result, polygons
    with dask.config.set(scheduler="sync"):
        result, polygons = dask.compute(result, polygons)
    if not has_time:
        for name in names:
            result.attrs[name] = float(result.coords[name])
    if polygons is not None:
        last = polygons.transpose(..., "polygon")  # (time, polygon) as before
        result.attrs["als_region_bias"] = last["als_bias"].values.tolist()
        status = last["als_status"].values
        result.attrs["als_region_moved"] = ((status == 1) | (status == 2)).tolist()
    return result, polygons
