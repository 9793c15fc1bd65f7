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

The percentiles come from the streaming engine of :mod:`xseaice.products.percentiles`
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
from xseaice.products.percentiles import (
    _MAX,
    _MIN,
    _N,
    _NSTATS,
    _SUMSIG,
    DEFAULT_BINS,
    PercentileMethod,
    _bin_index,
    _bin_of_rank,
    _bits_of,
    _exact_graph,
    _hist_graph,
    _merge_extracts,
    _plan_refine,
    _Pool,
    _pool,
    _scene_percentiles,
    _slabs,
    _stats_graph,
    check_method,
    extraction_graph,
)

if TYPE_CHECKING:
    import dask.array
    import geopandas as gpd

__all__ = ["Preserve", "scale_logits"]

logger = logging.getLogger(__name__)

#: What ``preserve=`` of :func:`scale_logits` accepts: ``None`` (plain ALS), ``"scene"``
#: (keep the model's own scene ice fraction) or a GeoDataFrame of regions (a chart: keep
#: each polygon's concentration).  The workflow and the ``xseaice segment`` command add
#: ``"auto"``, ``"chart"`` and ``"none"``, resolved in one place,
#: :func:`xseaice.workflow.resolve_preserve`.
Preserve = Union[None, Literal["scene"], "gpd.GeoDataFrame"]


# columns of the per-time parameters
_P_LO, _P_HI, _BIAS, _TEMP, _ERR, _MODE, _NVALID = range(7)
_NPARAMS = 7
# modes of a time step
_MODE_OK, _MODE_STEP, _MODE_CONSTANT, _MODE_EMPTY = 0, 1, 2, 3
# the largest float32 strictly below 0.5: pixels below the bias never read as >= 0.5
_BELOW_HALF = np.nextafter(np.float32(0.5), np.float32(0.0))
# cap on (regions + 1) * region bins of one block's region histogram
_REGION_HIST_CELLS = 2**22


# ---------------------------------------------------------------------------------------
# block functions (numpy in, numpy out; run inside dask tasks)
# ---------------------------------------------------------------------------------------


def _block_region_hist(
    block: np.ndarray, rid: np.ndarray, stats: np.ndarray, *, nbins: int, nregions: int, ndim: int
) -> np.ndarray:
    st = np.asarray(stats).reshape(-1, _NSTATS)[0]
    counts = np.zeros((nregions + 1) * nbins, dtype="int64")
    for chunk, ids in _slabs(block, rid):
        ok = np.isfinite(chunk)
        key = ids[ok].astype("int64") * nbins + _bin_index(chunk[ok], st[_MIN], st[_MAX], nbins)
        counts += np.bincount(key, minlength=counts.size)
    return counts.reshape((1,) * ndim + (nregions + 1, nbins))


# ---------------------------------------------------------------------------------------
# order statistics from histograms and pools
# ---------------------------------------------------------------------------------------


def _region_ranks(n_r: int, frac: float) -> tuple[int, int, int]:
    """(m, j_lo, j_hi): ice pixels wanted and the ranks that bracket the threshold."""
    m = int(np.clip(math.floor(frac * n_r + 0.5), 0, n_r))
    return m, n_r - m - 1, n_r - m


# ---------------------------------------------------------------------------------------
# the graph's small tasks: plan the refinement pass, then solve the parameters
# ---------------------------------------------------------------------------------------


def _targets(stats_t: np.ndarray, fractions: np.ndarray | None, scene: bool) -> np.ndarray | None:
    """Wanted ice fraction per region id (index 0 = outside, NaN = not preserved)."""
    if scene:
        n = stats_t[_N]
        return np.array([np.nan, stats_t[_SUMSIG] / n if n else np.nan])
    return fractions


def _plan(
    stats: np.ndarray,
    hist: np.ndarray | None,
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
            fr = _targets(st, cfg.get("fractions"), cfg["scene"])
            lut_r = np.zeros(rhist.shape[1] * nb2, dtype=bool)
            for r in range(1, rhist.shape[1]):
                counts = rhist[t, r]
                n_r = int(counts.sum())
                if n_r == 0 or fr is None or not np.isfinite(fr[r]):
                    continue
                cum = np.cumsum(counts)
                _, j_lo, j_hi = _region_ranks(n_r, float(fr[r]))
                for j in (j_lo, j_hi):
                    if 0 <= j < n_r:
                        lut_r[r * nb2 + _bin_of_rank(cum, j)] = True
            step["lut_region"] = lut_r
            step["nbins_region"] = nb2
    return plan


def _region_bias(pool: _Pool, n_r: int, frac: float, b_scene: float, delta: float) -> float:
    """Bias that makes exactly round(frac * n_r) of the region's pixels >= it (ties aside).

    The scene's own ALS bias when it already does; otherwise the midpoint of the two order
    statistics that bracket the threshold (or one ``delta`` beyond the extreme value when
    the region is to be all water or all ice).
    """
    _, j_lo, j_hi = _region_ranks(n_r, frac)
    v_lo = pool.order_stat(j_lo) if j_lo >= 0 else -np.inf
    v_hi = pool.order_stat(j_hi) if j_hi < n_r else np.inf
    if v_lo < b_scene < v_hi:
        return b_scene
    if not np.isfinite(v_hi):
        return v_lo + delta
    if not np.isfinite(v_lo):
        return v_hi - delta
    return 0.5 * (v_lo + v_hi)


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
    nreg1 = 0 if rhist is None or cfg["scene"] else rhist.shape[1]
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
            row[_NPARAMS:] = lo
            continue
        merged = _merge_extracts(extracts[t]) if extracts is not None else None
        (p_lo, p_hi), err = _scene_percentiles(t, st, hist, exact, plan, merged, cfg=cfg)
        bias = 0.5 * (p_hi + p_lo)
        temp = (p_hi - p_lo) / (2.0 * big_l)
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
        fr = _targets(st, cfg.get("fractions"), cfg["scene"])
        nb2 = rhist.shape[2]
        marked = plan[t]["lut_region"].reshape(-1, nb2)
        biases = np.full(rhist.shape[1], bias)
        for r in range(1, rhist.shape[1]):
            n_r = int(rhist[t, r].sum())
            if n_r == 0 or fr is None or not np.isfinite(fr[r]):
                continue
            pool = _pool(rhist[t, r], marked[r], merged, r)
            biases[r] = _region_bias(pool, n_r, float(fr[r]), bias, delta)
        if cfg["scene"]:
            row[_BIAS] = biases[1]
        else:
            row[_NPARAMS:] = biases
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


def _region_hist_graph(
    z: dask.array.Array,
    rid: dask.array.Array,
    stats: dask.array.Array,
    idx: str,
    nbins: int,
    nregions: int,
) -> Any:
    import dask.array as da

    parts = da.blockwise(
        _block_region_hist,
        idx + "rk",
        z,
        idx,
        rid,
        idx[1:],
        stats,
        "ts",
        nbins=nbins,
        nregions=nregions,
        ndim=z.ndim,
        new_axes={"r": nregions + 1, "k": nbins},
        adjust_chunks={c: 1 for c in idx[1:]},
        concatenate=True,
        dtype="int64",
        meta=np.empty((0,) * (z.ndim + 2), dtype="int64"),
    )
    return parts.sum(axis=tuple(range(1, z.ndim)))


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
) -> dask.array.Array:
    """Lazy (time, params [+ region biases]) array for ``z`` of shape (time, ...).

    Statistics and the histogram come from one pass over ``z``; the region histogram
    (it needs the range) and the refinement pass read ``z`` again, so dask keeps its
    blocks in memory between the passes.
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
        rhist = _region_hist_graph(z, rid, stats, idx, nb2, nregions)
    cfg = {
        "pcts": pcts,
        "L": math.log(q / (1.0 - q)),
        "method": method,
        "bits": bits,
        "fractions": fractions,
        "scene": scene,
        "has_time": has_time,
        "anchors": True,
    }
    plan = extracts = None
    if method == "refine" or rid is not None:
        plan = dask.delayed(_plan, pure=True)(stats, hist, rhist, cfg=cfg)
        extracts = extraction_graph(z, rid, plan)
    ncols = _NPARAMS + (0 if rid is None or scene else nregions + 1)
    solved = dask.delayed(_solve, pure=True)(stats, hist, exact, rhist, plan, extracts, cfg=cfg)
    arr = da.from_delayed(solved, shape=(z.shape[0], ncols), dtype="float64")
    return arr.rechunk((1, ncols))


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def _region_fractions(chart: Any, column: str | None) -> np.ndarray:
    """Concentration (0-1) per chart row, with a NaN slot 0 for "outside every polygon"."""
    from xseaice.products.regions import chart_concentration

    return np.concatenate([[np.nan], chart_concentration(chart, column=column).value])


def _spatial_chunks_like(z: dask.array.Array) -> tuple[tuple[int, ...], ...]:
    return tuple(z.chunks[1:])


def scale_logits(
    logits: xr.DataArray,
    *,
    lower: float = 2.0,
    upper: float = 98.0,
    q: float = 0.98,
    preserve: Preserve = None,
    column: str | None = None,
    method: PercentileMethod = "histogram",
    bins: int = DEFAULT_BINS,
) -> xr.DataArray:
    """Analytical Logit Scaling: calibrated ice probability from under-confident logits.

    Per time step, over the finite logits ``z``: ``p_lo``, ``p_hi`` = the ``lower`` and
    ``upper`` percentiles, bias ``b = (p_hi + p_lo) / 2``, temperature
    ``T = (p_hi - p_lo) / (2 L)`` with ``L = ln(q / (1 - q))``; the output is
    ``sigmoid((z - b) / T)``, so ``p_lo`` maps to ``1 - q`` and ``p_hi`` to ``q``.

    Parameters
    ----------
    logits : xarray.DataArray
        Ice logits with dims ``(y, x)`` or ``(time, y, x)``, numpy- or dask-backed.  NaN
        and +-inf are no data.
    lower, upper : float
        Percentiles (0-100) that anchor the scaling.
    q : float
        Target confidence at the anchors, ``0.5 < q < 1``.
    preserve : None, "scene" or geopandas.GeoDataFrame
        ``None``: plain ALS.  ``"scene"``: the bias is solved so that the fraction of
        pixels with probability >= 0.5 equals the scene mean of ``sigmoid(z)`` (the model's
        own ice fraction).  A GeoDataFrame of polygons (e.g. an ice chart from
        :func:`xseaice.read_icechart`, any CRS): the bias is solved per polygon so that
        its fraction of pixels >= 0.5 equals its concentration (``column``); pixels
        outside every polygon (or in polygons without a concentration) keep the scene's
        ALS bias.  The number of ice pixels of a region is ``floor(c * n + 0.5)`` for
        ``n`` valid pixels, exactly, unless equal logits straddle the threshold.  The
        temperature stays the scene's.  Plain ALS puts the threshold at the middle of
        the scene's logit spread, which suits scenes with as much ice as water; for a
        weakly supervised model in compact (or open) ice prefer ``"scene"`` or a chart
        (``benchmarks/bench_weak_supervision.py`` measures all three).
    column : str, optional
        Concentration column (0-1) of a ``preserve`` GeoDataFrame, read with
        :func:`xseaice.products.regions.chart_concentration`: default ``"ct"``, or the
        SIGRID-3 ``"CT"`` codes decoded.
    method : {"histogram", "refine", "exact"}
        How the percentiles are computed (module documentation): ``"histogram"`` has an
        absolute error of at most ``(max - min) / bins``, recorded as
        ``percentile_error``; ``"refine"`` and ``"exact"`` are exact.
    bins : int
        Histogram bins of the streaming percentiles.
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
    >>> p = scale_logits(z, method="exact")
    >>> round(float(p.attrs["p_hi"]), 3), round(float(p.isel(y=0, x=98)), 2)
    (0.96, 0.98)
    """
    import dask
    import dask.array as da

    _check_options(lower, upper, q, method, bins)
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

    scene = isinstance(preserve, str) and preserve == "scene"
    rid = fractions = None
    if preserve is None:
        pass
    elif scene:
        rid = da.ones(z.shape[1:], chunks=_spatial_chunks_like(z), dtype="int32")
    elif hasattr(preserve, "geometry") and hasattr(preserve, "crs"):
        from xseaice.io.icechart import rasterize_chart
        from xseaice.products.regions import chart_on_map

        fractions = _region_fractions(preserve, column)
        like = logits.isel(time=0) if has_time else logits
        regions = chart_on_map(preserve, like, overlaps="refuse")
        ids = rasterize_chart(regions, like).data
        rid = (
            ids.rechunk(_spatial_chunks_like(z))
            if isinstance(ids, da.Array)
            else da.from_array(np.asarray(ids), chunks=_spatial_chunks_like(z))
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
    )
    idx = "tyx"
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
            "als_percentile_method": method,
            "als_preserve": "none" if preserve is None else ("scene" if scene else "regions"),
        }
    )
    if "grid_mapping" in logits.attrs:
        result.attrs["grid_mapping"] = logits.attrs["grid_mapping"]
    if lazy:
        return result
    with dask.config.set(scheduler="sync"):
        result = result.compute()
    if not has_time:
        for name in names:
            result.attrs[name] = float(result.coords[name])
    return result
