"""Streaming percentiles of dask arrays: histograms of float bit patterns, exact refinement.

Percentile methods
------------------
``"histogram"`` (default)
    One pass over the data gives the count, minimum, maximum and a histogram whose bins
    do not depend on the data: the top ``log2(bins)`` bits of each value's
    order-preserving float32 bit pattern (sign, exponent, leading mantissa bits).  Block
    histograms therefore add up exactly, so no min/max pass has to come first and no
    block is held between passes.  The rank ``j`` that numpy's linear interpolation
    needs is located in its bin and interpolated uniformly inside the bin (clipped to the
    data range).  The estimate and the true order statistic lie in the same bin, so the
    error of a percentile is at most the width of the bin(s) used -- recorded as
    ``percentile_error`` -- which with ``2**k`` bins is at most ``|x| * 2**(9 - k)``
    (``|x| * 2**-11``, 0.05 %, with the default ``2**20`` bins) and never more than the
    data range.  In rank terms the estimate is off by at most the count of that bin.
``"refine"``
    The histogram pass, then a second pass that gathers only the values inside the bins
    holding the needed ranks and selects them exactly: equal to `numpy.percentile`
    (up to the rounding of the final interpolation).
``"exact"``
    `numpy.percentile` of each time step's finite values; loads one whole time step
    into one task, so meant for in-memory arrays.

The same machinery gives exact order statistics per group (region ids): a histogram per
group over the data range, then the values of the bins holding the wanted ranks.
Analytical Logit Scaling ([`xseaice.products.als`][]) builds on it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import dask.array

__all__ = ["DEFAULT_BINS", "PercentileMethod", "check_method", "nanpercentile"]

_MIN_BITS, _MAX_BITS = 10, 24
# columns of the per-block / per-time statistics (the sum of sigmoids serves ALS)
_N, _MIN, _MAX, _SUMSIG = range(4)
_NSTATS = 4


#: Default number of histogram bins of the streaming percentile: 2**20, so each bin spans
#: at most 2**-11 of its values' magnitude.
DEFAULT_BINS: int = 2**20


PercentileMethod = Literal["histogram", "refine", "exact"]


_METHODS: tuple[str, ...] = ("histogram", "refine", "exact")


def _finite(block: np.ndarray) -> np.ndarray:
    v = np.asarray(block).ravel()
    return v[np.isfinite(v)]


#: Values handled at once inside a block, to bound the temporaries of a task (~8 MiB each).
_SLAB = 2**20


def _slabs(*arrays: np.ndarray) -> Any:
    """Yield aligned flat slices of at most ``_SLAB`` elements of same-size arrays."""
    flats = [np.asarray(a).reshape(-1) for a in arrays]
    n = flats[0].size
    for start in range(0, n, _SLAB):
        yield [f[start : start + _SLAB] for f in flats]


def _block_stats(block: np.ndarray, *, ndim: int, sigmoid: bool = True) -> np.ndarray:
    """Valid count, min, max and sum of sigmoid of one block, shaped (1, 1, ..., 4)."""
    from scipy.special import expit

    out = np.array([0.0, np.inf, -np.inf, 0.0])
    for (chunk,) in _slabs(block):
        v = chunk[np.isfinite(chunk)]
        if not v.size:
            continue
        out[_N] += v.size
        out[_MIN] = min(out[_MIN], float(v.min()))
        out[_MAX] = max(out[_MAX], float(v.max()))
        if sigmoid:
            out[_SUMSIG] += float(expit(v.astype("float64")).sum())
    return out.reshape((1,) * ndim + (_NSTATS,))


def _bin_index(v: np.ndarray, lo: float, hi: float, nbins: int) -> np.ndarray:
    """Bin of each value in ``nbins`` equal bins over ``[lo, hi]`` (hi in the last bin)."""
    if not hi > lo:
        return np.zeros(v.shape, dtype="int64")
    idx = np.floor((v.astype("float64") - lo) * (nbins / (hi - lo))).astype("int64")
    np.clip(idx, 0, nbins - 1, out=idx)
    return idx


def _sortable(v: np.ndarray) -> np.ndarray:
    """uint32 keys whose order is the order of the float32 values (finite values only)."""
    u = np.ascontiguousarray(v, dtype="float32").view("uint32")
    return np.where(u & np.uint32(0x80000000), ~u, u | np.uint32(0x80000000))


def _bit_bins(v: np.ndarray, bits: int) -> np.ndarray:
    """Bin of each value: the top ``bits`` bits of its order-preserving float32 key."""
    return (_sortable(v) >> np.uint32(32 - bits)).astype("int64")


def _unsortable(keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, dtype="uint32")
    u = np.where(keys & np.uint32(0x80000000), keys & np.uint32(0x7FFFFFFF), ~keys)
    return u.astype("uint32").view("float32").astype("float64")


def _bit_bin_edges(k: int, bits: int, lo: float, hi: float) -> tuple[float, float]:
    """Smallest and largest float32 of bin ``k``, clipped to the data range [lo, hi]."""
    shift = 32 - bits
    first, last = _unsortable(np.array([k << shift, ((k + 1) << shift) - 1], dtype="uint64"))
    first = lo if not np.isfinite(first) else max(float(first), lo)
    last = hi if not np.isfinite(last) else min(float(last), hi)
    return first, last


def _block_hist(block: np.ndarray, *, bits: int, ndim: int) -> np.ndarray:
    """Counts of one block in the 2**bits data-independent bins (so no min/max pass)."""
    counts = np.zeros(2**bits, dtype="int64")
    for (chunk,) in _slabs(block):
        v = chunk[np.isfinite(chunk)]
        counts += np.bincount(_bit_bins(v, bits), minlength=counts.size)
    # int32 halves the memory of the reduction; a block never holds 2**31 values
    return counts.astype("int32").reshape((1,) * ndim + (counts.size,))


def _block_exact(block: np.ndarray, *, pcts: tuple[float, ...]) -> np.ndarray:
    v = _finite(block)
    if not v.size:
        return np.full((1, len(pcts)), np.nan)
    return np.percentile(v, list(pcts)).astype("float64").reshape(1, len(pcts))


def _unique_pairs(
    groups: np.ndarray, values: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Collapse (group, value) pairs, summing their counts; sorted by group then value."""
    if not values.size:
        return groups[:0], values[:0], counts[:0]
    order = np.lexsort((values, groups))
    g, v, c = groups[order], values[order], counts[order]
    new = np.ones(g.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    starts = np.flatnonzero(new)
    return g[starts], v[starts], np.add.reduceat(c, starts)


def _block_extract(
    block: np.ndarray, rid: np.ndarray | None, plan: list[dict[str, Any]], t: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values of one block that fall in the planned bins, as (group, value, count).

    Group 0 gathers the bins of the scene percentiles, group ``r`` the bins of region
    ``r``; ties collapse into counts so a spike of equal values stays small.
    """
    step = plan[t]
    z = np.asarray(block)
    z = z.reshape(z.shape[1:]) if rid is None else z.reshape(np.shape(rid))
    ok = np.isfinite(z)
    v = z[ok].astype("float64")
    gs: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    if step.get("lut_global") is not None:
        sel = step["lut_global"][_bit_bins(v, step["bits"])]
        gs.append(np.zeros(int(sel.sum()), dtype="int64"))
        vs.append(v[sel])
    if step.get("lut_region") is not None and rid is not None:
        r = np.asarray(rid)[ok].astype("int64")
        key = r * step["nbins_region"] + _bin_index(v, step["lo"], step["hi"], step["nbins_region"])
        sel = step["lut_region"][key]
        gs.append(r[sel])
        vs.append(v[sel])
    if not vs:
        empty = np.zeros(0, dtype="int64")
        return empty, np.zeros(0, dtype="float64"), empty
    g, vv = np.concatenate(gs), np.concatenate(vs)
    return _unique_pairs(g, vv, np.ones(vv.size, dtype="int64"))


def _merge_extracts(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        e = np.zeros(0, dtype="int64")
        return e, np.zeros(0), e
    g = np.concatenate([p[0] for p in parts])
    v = np.concatenate([p[1] for p in parts])
    c = np.concatenate([p[2] for p in parts])
    return _unique_pairs(g, v, c)


def _interp_positions(n: int, pct: float) -> tuple[int, float]:
    """numpy's "linear" percentile: the lower rank ``j`` and the fraction towards ``j + 1``."""
    h = (n - 1) * (pct / 100.0)
    j = min(math.floor(h), n - 1)
    return j, h - j


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's interpolation between two order statistics (stable at both ends)."""
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


def _bin_of_rank(cum: np.ndarray, j: int) -> int:
    """Bin holding the ``j``-th (0-based) smallest value, from cumulative counts."""
    return int(np.searchsorted(cum, j, side="right"))


def _hist_order_stat(
    counts: np.ndarray, cum: np.ndarray, j: int, bits: int, lo: float, hi: float
) -> tuple[float, float]:
    """Estimate of the ``j``-th smallest value (uniform inside its bin) and the bin width."""
    a = _bin_of_rank(cum, j)
    before = cum[a] - counts[a]
    first, last = _bit_bin_edges(a, bits, lo, hi)
    return first + (j - before + 0.5) / counts[a] * (last - first), last - first


def _hist_percentile(
    counts: np.ndarray, cum: np.ndarray, pct: float, bits: int, lo: float, hi: float
) -> tuple[float, float]:
    """Percentile estimate and its error bound (the width of the bins used)."""
    n = int(cum[-1])
    j, f = _interp_positions(n, pct)
    a, wa = _hist_order_stat(counts, cum, j, bits, lo, hi)
    if f == 0.0 or j + 1 >= n:
        return float(a), float(wa)
    b, wb = _hist_order_stat(counts, cum, j + 1, bits, lo, hi)
    return float(_lerp(a, b, f)), float(max(wa, wb))


class _Pool:
    """Exact order statistics of one group from a histogram and the values of some bins."""

    def __init__(self, counts: np.ndarray, marked: np.ndarray, values: np.ndarray, n: np.ndarray):
        self.counts = counts
        self.cum = np.cumsum(counts)
        marked_counts = np.where(marked, counts, 0)
        self.marked_before = np.cumsum(marked_counts) - marked_counts
        self.values = values
        self.vcum = np.cumsum(n)

    def order_stat(self, j: int) -> float:
        a = _bin_of_rank(self.cum, j)
        pos = j - (self.cum[a] - self.counts[a]) + self.marked_before[a]
        return float(self.values[int(np.searchsorted(self.vcum, pos, side="right"))])


def _needed_ranks(n: int, pcts: tuple[float, ...]) -> list[int]:
    out: list[int] = []
    for p in pcts:
        j, f = _interp_positions(n, p)
        out.append(j)
        if f > 0.0 and j + 1 < n:
            out.append(j + 1)
    return out


def _pool(
    counts: np.ndarray,
    marked: np.ndarray,
    merged: tuple[np.ndarray, np.ndarray, np.ndarray],
    g: int,
) -> _Pool:
    gs, vs, cs = merged
    lo, hi = np.searchsorted(gs, g, side="left"), np.searchsorted(gs, g, side="right")
    return _Pool(counts, marked, vs[lo:hi], cs[lo:hi])


def _scene_percentiles(
    t: int,
    st: np.ndarray,
    hist: np.ndarray | None,
    exact: np.ndarray | None,
    plan: list[dict[str, Any]] | None,
    merged: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    *,
    cfg: dict[str, Any],
) -> tuple[list[float], float]:
    """The configured percentiles of time step ``t`` and the bound on their error."""
    n, lo, hi = int(st[_N]), float(st[_MIN]), float(st[_MAX])
    pcts = cfg["pcts"]
    if n == 0:
        return [np.nan] * len(pcts), np.nan
    if not hi > lo:
        return [lo] * len(pcts), 0.0
    if cfg["method"] == "exact" and exact is not None:
        return [float(v) for v in exact[t]], 0.0
    if cfg["method"] == "refine" and hist is not None and merged is not None and plan is not None:
        pool = _pool(hist[t], plan[t]["lut_global"], merged, 0)
        return [_pool_percentile(pool, n, p) for p in pcts], 0.0
    assert hist is not None
    bits = cfg["bits"]
    counts = hist[t]
    cum = np.cumsum(counts)
    if cfg.get("anchors") and len(pcts) == 2:
        # both anchors inside one bin: their spread is below the resolution, so take them
        # equal (the bin centre, within one bin width of each); the caller warns of T = 0
        ranks = _needed_ranks(n, (pcts[0],)) + _needed_ranks(n, (pcts[1],))
        a, b = _bin_of_rank(cum, min(ranks)), _bin_of_rank(cum, max(ranks))
        if a == b:
            first, last = _bit_bin_edges(a, bits, lo, hi)
            return [0.5 * (first + last)] * 2, last - first
    results = [_hist_percentile(counts, cum, p, bits, lo, hi) for p in pcts]
    return [r[0] for r in results], max(r[1] for r in results)


def _solve_percentiles(
    stats: np.ndarray,
    hist: np.ndarray | None,
    exact: np.ndarray | None,
    plan: list[dict[str, Any]] | None,
    extracts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] | None,
    *,
    cfg: dict[str, Any],
) -> np.ndarray:
    """(time, len(pcts) + 1): the percentiles then the error bound."""
    out = np.empty((stats.shape[0], len(cfg["pcts"]) + 1))
    for t in range(stats.shape[0]):
        merged = _merge_extracts(extracts[t]) if extracts is not None else None
        vals, err = _scene_percentiles(t, stats[t], hist, exact, plan, merged, cfg=cfg)
        out[t, :-1], out[t, -1] = vals, err
    return out


def _pool_percentile(pool: _Pool, n: int, pct: float) -> float:
    j, f = _interp_positions(n, pct)
    a = pool.order_stat(j)
    if f == 0.0 or j + 1 >= n:
        return a
    return _lerp(a, pool.order_stat(j + 1), f)


def _bits_of(bins: int) -> int:
    """Key bits of a histogram with at least ``bins`` bins."""
    return int(min(_MAX_BITS, max(_MIN_BITS, math.ceil(math.log2(bins)))))


def _stats_graph(z: dask.array.Array, idx: str, sigmoid: bool = True) -> dask.array.Array:
    import dask.array as da

    ndim = z.ndim
    parts = da.blockwise(
        _block_stats,
        idx + "s",
        z,
        idx,
        ndim=ndim,
        sigmoid=sigmoid,
        new_axes={"s": _NSTATS},
        adjust_chunks={c: 1 for c in idx[1:]},
        dtype="float64",
        meta=np.empty((0,) * (ndim + 1)),
    )
    axes = tuple(range(1, ndim))
    cols = [
        parts[..., _N].sum(axis=axes),
        parts[..., _MIN].min(axis=axes),
        parts[..., _MAX].max(axis=axes),
        parts[..., _SUMSIG].sum(axis=axes),
    ]
    return da.stack(cols, axis=1).rechunk((1, _NSTATS))


def _hist_graph(z: dask.array.Array, idx: str, bits: int) -> Any:
    import dask.array as da

    parts = da.blockwise(
        _block_hist,
        idx + "k",
        z,
        idx,
        bits=bits,
        ndim=z.ndim,
        new_axes={"k": 2**bits},
        adjust_chunks={c: 1 for c in idx[1:]},
        concatenate=True,
        dtype="int32",
        meta=np.empty((0,) * (z.ndim + 1), dtype="int32"),
    )
    # few block histograms per combine step: each is 2**bits counts
    return parts.sum(axis=tuple(range(1, z.ndim)), dtype="int64", split_every=4)


def _exact_graph(z: dask.array.Array, idx: str, pcts: tuple[float, ...]) -> Any:
    import dask.array as da

    whole = z.rechunk((1,) + (-1,) * (z.ndim - 1))
    return da.blockwise(
        _block_exact,
        "tp",
        whole,
        idx,
        pcts=pcts,
        new_axes={"p": len(pcts)},
        concatenate=True,
        dtype="float64",
        meta=np.empty((0, 0)),
    )


def check_method(method: str, bins: int) -> None:
    """Raise [`InvalidArgumentError`][xseaice.exceptions.InvalidArgumentError] for an unknown
    percentile ``method`` or a ``bins`` count outside ``2**10`` to ``2**24``."""
    if method not in _METHODS:
        raise InvalidArgumentError(f"method={method!r} is not one of {list(_METHODS)}.")
    if (
        not isinstance(bins, (int, np.integer))
        or isinstance(bins, bool)
        or not 2**_MIN_BITS <= bins <= 2**_MAX_BITS
    ):
        raise InvalidArgumentError(
            f"bins={bins!r}: expected an integer from {2**_MIN_BITS} to {2**_MAX_BITS} "
            f"(default {DEFAULT_BINS}, rounded up to a power of two); more bins, smaller "
            "percentile error."
        )


def _plan_refine(
    stats: np.ndarray, hist: np.ndarray, *, cfg: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per time step: the histogram bins holding the ranks the percentiles need."""
    plan: list[dict[str, Any]] = []
    for t in range(stats.shape[0]):
        st = stats[t]
        step: dict[str, Any] = {"lo": st[_MIN], "hi": st[_MAX], "bits": cfg["bits"]}
        n = int(st[_N])
        if n > 0 and st[_MAX] > st[_MIN]:
            cum = np.cumsum(hist[t])
            lut = np.zeros(hist.shape[1], dtype=bool)
            for j in _needed_ranks(n, cfg["pcts"]):
                lut[_bin_of_rank(cum, j)] = True
            step["lut_global"] = lut
        plan.append(step)
    return plan


def extraction_graph(
    z: dask.array.Array, rid: dask.array.Array | None, plan: Any
) -> list[list[Any]]:
    """Delayed [`_block_extract`][xseaice.products.percentiles._block_extract] per time step and
    block: the values of the bins ``plan`` marks (read in a second pass over ``z``)."""
    import dask

    zblocks = z.to_delayed(optimize_graph=False)
    rblocks = rid.to_delayed(optimize_graph=False) if rid is not None else None
    extracts = []
    for t in range(zblocks.shape[0]):
        per_t = []
        for pos in np.ndindex(*zblocks.shape[1:]):
            rb = rblocks[pos] if rblocks is not None else None
            per_t.append(dask.delayed(_block_extract, pure=True)(zblocks[(t, *pos)], rb, plan, t))
        extracts.append(per_t)
    return extracts


def percentiles_graph(
    z: dask.array.Array, pcts: tuple[float, ...], *, method: str, bins: int
) -> dask.array.Array:
    """Lazy ``(time, len(pcts) + 1)``: the percentiles of each time step of ``z`` (shape
    ``(time, ...)``) over its finite values, then the bound on their absolute error."""
    import dask
    import dask.array as da

    idx = "t" + "abcdefghij"[: z.ndim - 1]
    stats = _stats_graph(z, idx, sigmoid=False)
    bits = _bits_of(bins)
    cfg = {"pcts": pcts, "method": method, "bits": bits}
    hist = _hist_graph(z, idx, bits) if method != "exact" else None
    exact = _exact_graph(z, idx, pcts) if method == "exact" else None
    plan = extracts = None
    if method == "refine":
        plan = dask.delayed(_plan_refine, pure=True)(stats, hist, cfg=cfg)
        extracts = extraction_graph(z, None, plan)
    solved = dask.delayed(_solve_percentiles, pure=True)(
        stats, hist, exact, plan, extracts, cfg=cfg
    )
    ncols = len(pcts) + 1
    return da.from_delayed(solved, shape=(z.shape[0], ncols), dtype="float64").rechunk((1, ncols))


def nanpercentile(
    a: Any,
    q: Any,
    *,
    method: PercentileMethod = "histogram",
    bins: int = DEFAULT_BINS,
) -> tuple[Any, Any]:
    """Percentiles of the finite values of an array, streaming for dask arrays.

    Parameters
    ----------
    a : numpy.ndarray or dask.array.Array
        Any shape; NaN and +-inf are ignored.
    q : float or sequence of float
        Percentiles in [0, 100] (numpy's ``"linear"`` definition).
    method : {"histogram", "refine", "exact"}
        See the module documentation.  ``"histogram"`` reads the data twice, ``"refine"``
        three times, ``"exact"`` loads it whole.
    bins : int
        Histogram bins (``"histogram"`` and ``"refine"``).
    Returns
    -------
    values, error : numpy.ndarray or dask.array.Array
        The percentiles (float64, shape of ``q``) and the bound on their absolute error
        (a scalar: one bin width for ``"histogram"``, 0 otherwise).  Lazy if ``a`` is a
        dask array.  NaN if ``a`` has no finite value.

    Examples
    --------
    >>> import dask.array as da
    >>> x = da.arange(101, chunks=10).astype(float)
    >>> values, error = nanpercentile(x, [2, 98], method="refine")
    >>> values.compute().tolist(), float(error)
    ([2.0, 98.0], 0.0)
    """
    import dask.array as da

    qs = np.atleast_1d(np.asarray(q, dtype="float64"))
    if qs.ndim != 1 or np.any((qs < 0) | (qs > 100)) or not np.all(np.isfinite(qs)):
        raise InvalidArgumentError(f"q={q!r}: expected percentiles between 0 and 100.")
    check_method(method, bins)
    lazy = isinstance(a, da.Array)
    x = a if lazy else da.from_array(np.asarray(a))
    x = x.reshape(1) if x.ndim == 0 else x
    solved = percentiles_graph(x[None], tuple(float(p) for p in qs), method=method, bins=int(bins))
    values, error = solved[0, :-1].reshape(np.shape(q)), solved[0, -1]
    if not lazy:
        import dask

        with dask.config.set(scheduler="sync"):
            values, error = dask.compute(values, error)
    return values, error
