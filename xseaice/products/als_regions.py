"""Per-region machinery of Analytical Logit Scaling: region histograms, the wanted ice
fraction of each region (preserve), the bias that reaches it, and the raster of the
biases actually applied."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from xseaice.products.percentiles import (
    _MAX,
    _MIN,
    _N,
    _NSTATS,
    _SUMSIG,
    _bin_index,
    _Pool,
    _pool,
    _scene_percentiles,
    _slabs,
)

if TYPE_CHECKING:
    import dask.array


# columns of the per-time parameters
_P_LO, _P_HI, _BIAS, _TEMP, _ERR, _MODE, _NVALID = range(7)
_NPARAMS = 7
# modes of a time step
_MODE_OK, _MODE_STEP, _MODE_CONSTANT, _MODE_EMPTY = 0, 1, 2, 3
# the largest float32 strictly below 0.5: pixels below the bias never read as >= 0.5
_BELOW_HALF = np.nextafter(np.float32(0.5), np.float32(0.0))
# cap on (regions + 1) * region bins of the region histogram
_REGION_HIST_CELLS = 2**22
#: Sparse block region histograms summed per task of the merge tree.
_REGION_MERGE = 8
#: What ``preserve=chart`` did to each region (the ``als_status`` codes, in this order):
#: ``kept`` the scene bias (its fraction was inside the chart's interval), ``raised`` or
#: ``lowered`` its ice fraction to the interval, or left it at the scene bias because the
#: region had ``no_pixels`` (no valid pixel centre), ``no_concentration`` (the chart gives
#: none) or the scene ``no_contrast`` (every logit equal, or none valid).
STATUS_MEANINGS: tuple[str, ...] = (
    "kept",
    "raised",
    "lowered",
    "no_pixels",
    "no_concentration",
    "no_contrast",
)
_KEPT, _RAISED, _LOWERED, _NO_PIXELS, _NO_CONC, _NO_CONTRAST = range(6)


# ---------------------------------------------------------------------------------------
# block functions (numpy in, numpy out; run inside dask tasks)
# ---------------------------------------------------------------------------------------


def _block_region_hist(
    block: np.ndarray, rid: np.ndarray, stats: np.ndarray, *, nbins: int, nregions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Region histogram of one block as its non-zero cells: (flat cell index, count).

    Cell ``r * nbins + k`` counts the finite values of region ``r`` in bin ``k`` of
    ``nbins`` equal bins over the time step's [min, max].  A block touches few regions,
    so the sparse form is small where the dense one is ``(regions + 1) * nbins`` counts.
    """
    st = np.asarray(stats).reshape(-1, _NSTATS)[0]
    counts: np.ndarray | None = None
    for chunk, ids in _slabs(block, rid):
        ok = np.isfinite(chunk)
        key = ids[ok].astype("int64") * nbins + _bin_index(chunk[ok], st[_MIN], st[_MAX], nbins)
        part = np.bincount(key, minlength=(nregions + 1) * nbins)
        counts = part if counts is None else counts + part
    if counts is None:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    cells = np.flatnonzero(counts)
    return cells, counts[cells].astype("int64")


def _merge_region_hists(parts: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """Sum sparse region histograms (flat cell index, count) into one."""
    cells = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    if not cells.size:
        return cells, counts
    unique, inverse = np.unique(cells, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts).round().astype("int64")


def _dense_region_hists(
    per_time: list[tuple[np.ndarray, np.ndarray]], *, nbins: int, nregions: int
) -> np.ndarray:
    """``(time, regions + 1, nbins)`` int64 counts from one sparse histogram per time step."""
    out = np.zeros((len(per_time), (nregions + 1) * nbins), dtype="int64")
    for t, (cells, counts) in enumerate(per_time):
        out[t, cells] = counts
    return out.reshape(len(per_time), nregions + 1, nbins)


def _region_ranks(n_r: int, frac: float) -> tuple[int, int, int]:
    """(m, j_lo, j_hi): ice pixels wanted and the ranks that bracket the threshold."""
    m = int(np.clip(math.floor(frac * n_r + 0.5), 0, n_r))
    return m, n_r - m - 1, n_r - m


def _scene_bias(
    t: int, st: np.ndarray, hist: np.ndarray | None, exact: np.ndarray | None, cfg: dict[str, Any]
) -> float:
    """The scene bias (before any region is solved): 0 for ``bias="model"``, else the
    midpoint of the anchor percentiles (from the histogram when not yet refined)."""
    if cfg["bias_mode"] == "model":
        return 0.0
    (p_lo, p_hi), _ = _scene_percentiles(t, st, hist, exact, None, None, cfg=cfg)
    return 0.5 * (p_lo + p_hi)


def _targets(stats_t: np.ndarray, bounds: np.ndarray | None, scene: bool) -> np.ndarray:
    """Fixed wanted ice fraction per region id (index 0 = outside; NaN = none fixed).

    ``preserve="scene"``: the model's mean probability.  A chart region whose interval
    ``[low, high]`` is a single value is always solved for it; a region with a wider
    interval gets NaN here and is decided in
    [`_interval_target`][xseaice.products.als_regions._interval_target].
    """
    if scene:
        n = stats_t[_N]
        m = stats_t[_SUMSIG] / n if n else np.nan
        return np.array([np.nan, m])
    assert bounds is not None
    single = np.isfinite(bounds[:, 0]) & (bounds[:, 1] - bounds[:, 0] <= 0.0)
    return np.where(single, bounds[:, 0], np.nan)


def _count_at_least(pool: _Pool, marked: np.ndarray, b: float, lo: float, hi: float) -> int:
    """Exact number of a region's values >= ``b`` (the bin holding ``b`` was gathered)."""
    n_r = int(pool.counts.sum())
    if b <= lo:
        return n_r
    if b > hi:
        return 0
    k = int(_bin_index(np.array([b]), lo, hi, pool.counts.size)[0])
    above = pool.counts[k + 1 :]
    unmarked_above = int(above[~marked[k + 1 :]].sum())
    idx = int(np.searchsorted(pool.values, b, side="left"))
    below = int(pool.vcum[idx - 1]) if idx > 0 else 0
    total = int(pool.vcum[-1]) if pool.vcum.size else 0
    return unmarked_above + total - below


def _interval_target(
    pool: _Pool, marked: np.ndarray, bounds: np.ndarray, b: float, lo: float, hi: float
) -> tuple[float, bool]:
    """(fraction, moved): the bound a region must move to, or its own fraction at ``b``
    when that is inside ``bounds`` (then ``moved`` is False)."""
    low, high = bounds
    n_r = int(pool.counts.sum())
    f = _count_at_least(pool, marked, b, lo, hi) / n_r
    if f < low:
        return float(low), True
    if f > high:
        return float(high), True
    return f, False


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


def _solve_regions(
    rhist_t: np.ndarray,
    step: dict[str, Any],
    merged: Any,
    bounds: np.ndarray | None,
    *,
    st: np.ndarray,
    bias: float,
    delta: float,
) -> np.ndarray:
    """``(3, regions + 1)``: the bias, the wanted ice fraction and the status code
    (``xseaice.products.als_regions.STATUS_MEANINGS``) of every region of
    one time step (index 0 = outside every region)."""
    nreg1, nb2 = rhist_t.shape
    fr = step["targets"]
    marked = step["lut_region"].reshape(-1, nb2)
    out = np.stack([np.full(nreg1, bias), np.full(nreg1, np.nan), np.full(nreg1, _NO_CONC)])
    for r in range(1, nreg1):
        n_r = int(rhist_t[r].sum())
        interval = bounds is not None and np.isfinite(bounds[r, 0])
        if not (np.isfinite(fr[r]) or interval):
            continue
        if n_r == 0:
            out[2, r] = _NO_PIXELS
            continue
        pool = _pool(rhist_t[r], marked[r], merged, r)
        target, moved = float(fr[r]), True
        if not np.isfinite(target):
            assert bounds is not None
            target, moved = _interval_target(
                pool, marked[r], bounds[r], step["b_scene"], float(st[_MIN]), float(st[_MAX])
            )
        b_r = _region_bias(pool, n_r, target, bias, delta) if moved else bias
        status = _KEPT if b_r == bias else (_RAISED if b_r < bias else _LOWERED)
        out[:, r] = b_r, target, status
    return out


def _no_contrast(row: np.ndarray, bias: float) -> None:
    """Region columns of a time step without contrast: the one bias, no target."""
    region = row[_NPARAMS:].reshape(3, -1) if row.size > _NPARAMS else np.empty((3, 0))
    region[0], region[1], region[2] = bias, np.nan, _NO_CONTRAST


def _region_hist_graph(
    z: dask.array.Array,
    rid: dask.array.Array,
    stats: dask.array.Array,
    nbins: int,
    nregions: int,
) -> Any:
    """Delayed ``(time, regions + 1, nbins)`` region histogram of ``z`` (time, y, x).

    Each block gives its non-zero cells; they are summed in a tree of
    [`_REGION_MERGE`][xseaice.products.als_regions._REGION_MERGE] parts per task, so no task
    holds more than a few sparse histograms and one dense one is built at the end.
    """
    import dask

    zblocks = z.to_delayed(optimize_graph=False)
    rblocks = rid.to_delayed(optimize_graph=False)
    sblocks = stats.to_delayed(optimize_graph=False)
    block = dask.delayed(_block_region_hist, pure=True)
    merge = dask.delayed(_merge_region_hists, pure=True)
    per_time = []
    for t in range(zblocks.shape[0]):
        level = [
            block(zblocks[(t, *pos)], rblocks[pos], sblocks[t, 0], nbins=nbins, nregions=nregions)
            for pos in np.ndindex(*zblocks.shape[1:])
        ]
        while len(level) > 1:
            level = [
                merge(level[k : k + _REGION_MERGE]) for k in range(0, len(level), _REGION_MERGE)
            ]
        per_time.append(level[0])
    return dask.delayed(_dense_region_hists, pure=True)(per_time, nbins=nbins, nregions=nregions)


def _region_fractions(chart: Any, column: str | None, tolerance: float = 0.0) -> np.ndarray:
    """``(N + 1, 2)`` interval ``[low, high]`` of the ice fraction per chart row, widened by
    ``tolerance`` and clipped to 0-1; row 0 ("outside every polygon") is NaN.

    The interval is the code's own range (``low`` / ``high`` of
    [`xseaice.products.regions.chart_concentration`][]: ``ct_low`` / ``ct_high`` of
    [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart], or the decoded ``CT`` range
    codes), or the single value of a named ``column``.
    """
    from xseaice.products.regions import chart_concentration

    c = chart_concentration(chart, column=column)
    low, high = c.low, c.high
    ok = np.isfinite(low) & np.isfinite(high)
    lo = np.where(ok, np.clip(np.minimum(low, high) - tolerance, 0.0, 1.0), np.nan)
    hi = np.where(ok, np.clip(np.maximum(low, high) + tolerance, 0.0, 1.0), np.nan)
    bounds = np.stack([lo, hi], axis=1)
    return np.concatenate([np.full((1, 2), np.nan), bounds])


def _bias_raster_block(params: np.ndarray, rid: np.ndarray, *, nparams: int) -> np.ndarray:
    p = np.asarray(params).reshape(-1)
    return p[nparams:][np.asarray(rid).astype("int64")][None].astype("float32")


def _bias_raster(
    params: dask.array.Array, rid: dask.array.Array, *, has_time: bool, dims: tuple[Any, ...]
) -> dict[str, Any]:
    """The ``applied_bias`` coordinate: the ALS bias used at every pixel."""
    import dask.array as da

    raster = da.blockwise(
        _bias_raster_block,
        "tyx",
        params,
        "tp",
        rid,
        "yx",
        nparams=_NPARAMS,
        concatenate=True,
        dtype="float32",
    )
    attrs = {"long_name": "ALS bias applied at the pixel (logit mapped to probability 0.5)"}
    return {"applied_bias": (dims, raster if has_time else raster[0], attrs)}


def polygon_parameters(
    params: dask.array.Array, fractions: np.ndarray, *, has_time: bool, like: Any
) -> Any:
    """What ``preserve=chart`` applied to each chart polygon, as a lazy xarray.Dataset.

    One entry per chart row (dim ``polygon``, in the chart's order; then ``time`` when the
    logits have one): ``als_bias`` (the bias ``b`` of ``sigmoid((z - b) / T)`` in the
    polygon), ``als_temperature`` (``T``, the scene's), ``als_low`` / ``als_high`` (the
    chart's interval widened by the tolerance), ``als_target`` (the ice fraction the polygon
    was scaled to: the interval's nearest bound when moved, its own fraction at the scene
    bias when kept, the value itself for a single-value interval (``tolerance=0``); NaN
    without pixels or a concentration) and ``als_status`` (codes of
    ``xseaice.products.als_regions.STATUS_MEANINGS``).  The fractions count
    the valid pixels whose centres lie in the polygon.
    """
    import dask.array as da
    import xarray as xr

    nreg1 = fractions.shape[0]
    cols = params[:, _NPARAMS:].reshape(params.shape[0], 3, nreg1)[:, :, 1:]
    ntime, npoly = params.shape[0], nreg1 - 1
    bounds = np.broadcast_to(fractions[1:].T[:, None, :], (2, ntime, npoly))
    temp = da.broadcast_to(params[:, _TEMP][:, None], (ntime, npoly))
    status_attrs = {
        "long_name": "what ALS preserve=chart did in the polygon",
        "flag_values": np.arange(len(STATUS_MEANINGS), dtype="int8"),
        "flag_meanings": " ".join(STATUS_MEANINGS),
    }
    variables = {
        "als_bias": (cols[:, 0], "ALS bias b applied in the polygon (logit mapped to 0.5)"),
        "als_temperature": (temp, "ALS temperature T applied in the polygon"),
        "als_target": (cols[:, 1], "ice fraction the polygon was scaled to"),
        "als_low": (bounds[0], "lowest ice fraction accepted (chart range - tolerance)"),
        "als_high": (bounds[1], "highest ice fraction accepted (chart range + tolerance)"),
        "als_status": (cols[:, 2].astype("int8"), status_attrs),
    }
    dims = ("polygon", "time") if has_time else ("polygon",)  # CF: other dims left of T
    out = {}
    for name, (values, attrs) in variables.items():
        attrs = attrs if isinstance(attrs, dict) else {"long_name": attrs, "units": "1"}
        out[name] = (dims, values.T if has_time else values[0], attrs)
    coords = {"time": like["time"].reset_coords(drop=True)} if has_time else {}
    return xr.Dataset(out, coords=coords)
