"""Dask helpers shared by the SAR block algorithms: chunking and halos of any width."""

from __future__ import annotations

from typing import Any

import dask.array as da


def axis_chunks(n: int, size: int, minimum: int, multiple: int = 1) -> tuple[int, ...]:
    """Chunks of ``size`` (a multiple of ``multiple``) along ``n``, none below ``minimum``.

    A short last chunk is merged into the one before it, so that a halo of ``minimum``
    pixels never spans more than one neighbour.
    """
    size = max(multiple, (max(size, minimum) + multiple - 1) // multiple * multiple)
    sizes = [size] * (n // size)
    rest = n - size * len(sizes)
    if rest:
        if sizes and rest < minimum:
            sizes[-1] += rest
        else:
            sizes.append(rest)
    return tuple(sizes) or (n,)


def with_halo(arr: da.Array, depth: int, fill: Any) -> da.Array:
    """Every block of ``arr`` grown by ``depth`` pixels on the last two axes.

    Neighbouring blocks provide the halo; ``fill`` pads beyond the array's edges.  Axes
    held in one chunk shorter than ``depth`` are padded directly (dask's overlap needs
    chunks at least as wide as the halo).
    """
    nd = arr.ndim
    spatial = (nd - 2, nd - 1)
    pad = [(0, 0)] * nd
    depths: dict[int, int] = {k: 0 for k in range(nd)}
    bounds: dict[int, Any] = {k: "none" for k in range(nd)}
    for ax in spatial:
        if min(arr.chunks[ax]) < depth:
            if len(arr.chunks[ax]) > 1:
                arr = arr.rechunk({ax: arr.shape[ax]})
            pad[ax] = (depth, depth)
        else:
            depths[ax], bounds[ax] = depth, fill
    if any(p != (0, 0) for p in pad):
        arr = da.pad(arr, pad, mode="constant", constant_values=fill)
        # da.pad adds the padding as chunks of their own: one block per padded axis again
        arr = arr.rechunk({ax: arr.shape[ax] for ax in spatial if pad[ax] != (0, 0)})
    if any(depths.values()):
        arr = da.overlap.overlap(arr, depth=depths, boundary=bounds)
    return arr
