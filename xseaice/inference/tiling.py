"""The one tiling engine: every model run over a scene goes through here.

A block (an in-memory array, or one dask block plus halo strips from its neighbours) is
normalised into one channels-last buffer, cut into sub-tiles of ``tile`` pixels, each
with a halo of ``halo`` pixels taken from inside the block, forwarded in batches of
equal shape (under bf16 autocast where asked, the output heads in float32) and the
tiles' cores assembled into the output.  `xseaice.inference.segment` runs it per
dask block; [`predict_array`][xseaice.inference.tiling.predict_array] runs it on a numpy array
(evaluation, training validation, any model that maps an image to per-pixel outputs).
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from xseaice.exceptions import InvalidArgumentError, MissingSensorWarning, ModelError
from xseaice.heap import trim_heap
from xseaice.inference.cache import cached_model, prepare_model
from xseaice.models import WeightsSpec
from xseaice.models.runtime import (
    Precision,
    configure_threads,
    resolve_device,
    resolve_precision,
)

__all__ = [
    "BF16_LOGIT_TOLERANCE",
    "DEFAULT_TILE",
    "default_tile",
    "normalise_array",
    "predict_array",
]

logger = logging.getLogger(__name__)


#: Default tile side (pixels, without halo) per device and precision.  On the CPU the
#: default U-Net's throughput per output pixel is flat from 768 to 2048 px tiles in bf16
#: (smaller tiles stay in cache, which pays for their larger halo share) and best from
#: 1536 px in float32; smaller tiles need less memory.  Measured in
#: ``benchmarks/bench_inference.py``; see docs/performance.md.
DEFAULT_TILE: dict[tuple[str, bool], int] = {
    ("cpu", True): 1024,  # bf16
    ("cpu", False): 1536,  # float32
    ("cuda", True): 2048,
    ("cuda", False): 2048,
}


#: Agreement of bf16 with float32 inference (output heads in float32, body in bf16): the
#: mean absolute logit difference over valid pixels is at most ``mean`` and its 99th
#: percentile at most ``p99`` (logit units).  Asserted in ``tests/test_precision.py`` on
#: the bundled ``default`` weights and an untrained U-Net, whatever the CPU; measured with
#: ``default`` on a 256^2 synthetic scene: mean 0.0035, 99th percentile 0.014.
BF16_LOGIT_TOLERANCE: dict[str, float] = {"mean": 0.05, "p99": 0.25}


def default_tile(device: Any = "auto", precision: str = "auto") -> int:
    """Default tile side in pixels (without halo) for a device and precision.

    CPU: 1024 in bf16, 1536 in float32 (same throughput as larger tiles, less memory);
    CUDA: 2048.  See [`DEFAULT_TILE`][xseaice.inference.tiling.DEFAULT_TILE].
    """
    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    return DEFAULT_TILE[(dev.type, dtype is not None)]


@dataclass(frozen=True)
class _BlockPlan:
    """Everything a task needs, small and picklable (no nn.Module)."""

    key: str
    spec: WeightsSpec | None
    means: tuple[float, ...]
    stds: tuple[float, ...]
    mask_index: tuple[int, ...]
    channels: tuple[tuple[str, int], ...]  # (output name, n channels) in model order
    select: tuple[str, ...]  # outputs to return, in order
    halo: int
    tile: int
    batch_size: int
    device: str
    precision: str
    threads: int | None
    variables: tuple[str, ...] = ()  # input names, checked for all-NaN when known


def _windows(size: int, lo: int, hi: int, tile: int, halo: int) -> list[tuple[int, int, int, int]]:
    """Sub-tiles of the core ``[lo, hi)`` of a block of ``size``: (core0, core1, win0, win1)."""
    out = []
    for c0 in range(lo, hi, tile):
        c1 = min(c0 + tile, hi)
        out.append((c0, c1, max(0, c0 - halo), min(size, c1 + halo)))
    return out


def _edges(chunk: np.ndarray, hy: int, hx: int) -> dict[str, np.ndarray]:
    """Copies of a chunk's edge strips and corners (``hy`` rows, ``hx`` columns).

    Neighbouring blocks take their halo from these small copies, so the full chunk can
    be freed as soon as its own block has run (a numpy view would pin it in memory).
    """
    c = np.asarray(chunk, dtype=np.float32)
    out: dict[str, np.ndarray] = {}
    if hy:
        out["top"] = c[..., :hy, :].copy()
        out["bottom"] = c[..., -hy:, :].copy()
    if hx:
        out["left"] = c[..., :, :hx].copy()
        out["right"] = c[..., :, -hx:].copy()
    if hy and hx:
        out["tl"] = c[..., :hy, :hx].copy()
        out["tr"] = c[..., :hy, -hx:].copy()
        out["bl"] = c[..., -hy:, :hx].copy()
        out["br"] = c[..., -hy:, -hx:].copy()
    return out


def _assemble(
    center: np.ndarray,
    neighbours: Sequence[Sequence[dict[str, np.ndarray] | None]],
    means: Sequence[float],
    stds: Sequence[float],
) -> tuple[np.ndarray, int, int, int, int]:
    """The normalised block with its halo, channels-last ``(H, W, C)``, NaN kept.

    The block's chunk and the 3 x 3 neighbourhood of edge strips are written straight
    into one buffer in the layout the model runs in (no padded intermediate copy).
    Returns the buffer and the halo widths (top, bottom, left, right).
    """
    c = np.asarray(center)[0]
    nb = neighbours
    top = nb[0][1]["bottom"].shape[-2] if nb[0][1] is not None else 0
    bottom = nb[2][1]["top"].shape[-2] if nb[2][1] is not None else 0
    left = nb[1][0]["right"].shape[-1] if nb[1][0] is not None else 0
    right = nb[1][2]["left"].shape[-1] if nb[1][2] is not None else 0
    C, H, W = c.shape
    xn = np.empty((H + top + bottom, W + left + right, C), dtype=np.float32)
    rows = ((0, top), (top, top + H), (top + H, top + H + bottom))
    cols = ((0, left), (left, left + W), (left + W, left + W + right))
    # the piece each cell of the 3 x 3 grid takes: a neighbour's strip, or the chunk
    pieces = {(0, 0): "br", (0, 1): "bottom", (0, 2): "bl", (1, 0): "right", (1, 1): "",
              (1, 2): "left", (2, 0): "tr", (2, 1): "top", (2, 2): "tl"}  # fmt: skip
    for (i, j), side in pieces.items():
        (r0, r1), (c0, c1) = rows[i], cols[j]
        if r1 == r0 or c1 == c0:
            continue
        cell = nb[i][j]
        piece = c if not side else (cell[side][0] if cell is not None else None)
        if piece is None:
            continue
        for ch, (mean, std) in enumerate(zip(means, stds, strict=True)):
            dst = xn[r0:r1, c0:c1, ch]
            np.subtract(piece[ch], np.float32(mean), out=dst, dtype=np.float32)
            dst *= np.float32(1.0 / std)
    return xn, top, bottom, left, right


def _segment_block(
    center: np.ndarray,
    neighbours: Sequence[Sequence[dict[str, np.ndarray] | None]],
    module: nn.Module | None = None,
    *,
    plan: _BlockPlan,
) -> np.ndarray:
    """Run the model on one block: its chunk plus halo strips from its neighbours."""

    xn, top, bottom, left, right = _assemble(center, neighbours, plan.means, plan.stds)
    del center, neighbours
    n_out = sum(n for name, n in plan.channels if name in plan.select)
    H, W, _ = xn.shape
    core = (slice(top, H - bottom), slice(left, W - right))
    out = np.full((1, n_out, H - top - bottom, W - left - right), np.nan, dtype=np.float32)

    # NaN survives the normalisation: the valid mask comes from the normalised block
    valid: np.ndarray = np.asarray(np.isfinite(xn[..., list(plan.mask_index)]).all(axis=-1))
    if not valid[core].any():
        return out  # all-NaN block: NaN out, no model run
    _check_filled(xn[core], valid[core], plan)
    np.nan_to_num(xn, copy=False, nan=0.0, posinf=0.0, neginf=0.0)

    configure_threads(plan.threads)
    device = resolve_device(plan.device)
    dtype = resolve_precision(plan.precision, device)
    model = cached_model(plan.key, device, spec=plan.spec, module=module)

    names = [name for name, _ in plan.channels if name in plan.select]
    res = forward_tiles(
        model,
        xn,
        valid,
        (top, bottom, left, right),
        tile=plan.tile,
        halo=plan.halo,
        batch_size=plan.batch_size,
        device=device,
        dtype=dtype,
        select=names,
        single_name=plan.channels[0][0],
    )
    del xn  # free the block's buffers before handing memory back to the OS
    start = 0
    for name in names:
        if name in res:
            out[0, start : start + len(res[name])] = res[name]
        start += dict(plan.channels)[name]
    out[0][:, ~valid[core]] = np.nan
    trim_heap()  # the forward's tensors: hand the freed heap back
    return out


def _check_filled(xn: np.ndarray, valid: np.ndarray, plan: _BlockPlan) -> None:
    """Refuse a block whose non-mask input (AMSR-2...) is NaN at every valid pixel.

    The model would read that input's training mean instead and give a map that looks
    valid.  This is the compute-time form of the check `segment` makes on in-memory
    inputs, for lazy (dask) inputs whose values are only known here.
    """
    for ch, name in enumerate(plan.variables):
        if ch in plan.mask_index:
            continue
        finite = np.isfinite(xn[..., ch][valid])
        if finite.all():
            continue
        if finite.any():
            warn_mean_filled(name, 1.0 - float(finite.mean()))
            continue
        h, w = valid.shape
        raise ModelError(
            f"variable {name!r} is NaN at every one of the {int(valid.sum())} valid pixels "
            f"of a {h}x{w} block; the model would read its training mean instead and give "
            "a map that looks valid. Load a scene where it has data (for AMSR-2: a day and "
            "place the search found AMSR-2 for; xseaice.load warns (MissingSensorWarning) "
            "about time steps without it: drop them with ds.isel(time=...)), or use a model "
            f"without {name!r} (xseaice.models.list_weights())."
        )


def warn_mean_filled(name: str, fraction: float) -> None:
    """Warn (once per variable and call site) that ``name`` is NaN at some valid pixels.

    There the model reads the variable's training mean; the map is still made, so this is
    a warning, not an error.  The message carries no numbers so that Python's default
    warning filter shows it once rather than once per block; the fraction is logged.
    """
    logger.info("variable %r is NaN at %.2f%% of a block's valid pixels", name, 100 * fraction)
    warnings.warn(
        MissingSensorWarning(
            f"variable {name!r} is NaN at some pixels where the SAR has data; there the model "
            "reads its training mean (a neutral value, not a measurement), so the map is less "
            f"reliable. Check {name!r} (e.g. ds[{name!r}].isnull().mean()) or fill it "
            "yourself (ds[...].interpolate_na) before segmenting."
        ),
        stacklevel=2,
    )


Window = tuple[int, int, int, int]


def _tile_groups(
    valid: np.ndarray, halos: tuple[int, int, int, int], tile: int, halo: int
) -> dict[tuple[int, int], list[tuple[Window, Window]]]:
    """Sub-tiles with a valid pixel, grouped by window shape (one shape per batch)."""
    top, bottom, left, right = halos
    H, W = valid.shape
    rows = _windows(H, top, H - bottom, tile, halo)
    cols = _windows(W, left, W - right, tile, halo)
    groups: dict[tuple[int, int], list[tuple[Window, Window]]] = {}
    for r in rows:
        for c in cols:
            if valid[r[0] : r[1], c[0] : c[1]].any():  # all-NaN sub-tiles stay NaN
                groups.setdefault((r[3] - r[2], c[3] - c[2]), []).append((r, c))
    return groups


def forward_tiles(
    model: nn.Module,
    xn: np.ndarray,
    valid: np.ndarray,
    halos: tuple[int, int, int, int] = (0, 0, 0, 0),
    *,
    tile: int,
    halo: int,
    batch_size: int = 1,
    device: torch.device,
    dtype: torch.dtype | None = None,
    select: Sequence[str] | None = None,
    single_name: str = "ice_logit",
) -> dict[str, np.ndarray]:
    """Forward a normalised block in sub-tiles with halo, batched, and assemble the cores.

    Parameters
    ----------
    model : torch.nn.Module
        A prepared model ([`xseaice.inference.cache.prepare_model`][]) on ``device``.
    xn : numpy.ndarray
        The normalised block, float32 channels-last ``(H, W, C)``, no NaN.
    valid : numpy.ndarray
        ``(H, W)`` bool; sub-tiles without a valid pixel are not run (they stay NaN).
    halos : tuple of int
        Rows / columns (top, bottom, left, right) of ``xn`` that are halo only: the
        output covers the core inside them.
    tile, halo : int
        Sub-tile side and the halo each sub-tile reads on every side (inside ``xn``).
    batch_size : int
        Sub-tiles per forward pass.
    device, dtype
        Where to run; ``dtype`` is the autocast dtype (None: float32).
    select : sequence of str, optional
        Outputs to keep (default all).
    single_name : str
        Name of the output of a model that returns one tensor.

    Returns
    -------
    dict
        Output name -> float32 ``(n_channels, H_core, W_core)``; NaN where no sub-tile
        ran.  Empty when no sub-tile has a valid pixel.
    """
    top, bottom, left, right = halos
    H, W, _ = xn.shape
    shape = (H - top - bottom, W - left - right)
    outs: dict[str, np.ndarray] = {}
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None),
    ):
        for items in _tile_groups(valid, halos, tile, halo).values():
            for i in range(0, len(items), batch_size):
                batch = items[i : i + batch_size]
                if len(batch) == 1:
                    r, c = batch[0]
                    arr = np.ascontiguousarray(xn[r[2] : r[3], c[2] : c[3]])[None]
                else:
                    arr = np.stack([xn[r[2] : r[3], c[2] : c[3]] for r, c in batch])
                # (B, H, W, C) memory seen as (B, C, H, W) channels-last: no copy
                inp = torch.from_numpy(arr).permute(0, 3, 1, 2).to(device)
                res = model(inp)
                if not isinstance(res, Mapping):
                    res = {single_name: res}
                for name, t in res.items():
                    if select is not None and name not in select:
                        continue
                    y = t.float().cpu().numpy()
                    o = outs.get(name)
                    if o is None:
                        o = outs[name] = np.full((y.shape[1], *shape), np.nan, np.float32)
                    for j, (r, c) in enumerate(batch):
                        o[:, r[0] - top : r[1] - top, c[0] - left : c[1] - left] = y[
                            j, :, r[0] - r[2] : r[1] - r[2], c[0] - c[2] : c[1] - c[2]
                        ]
    return outs


def _norm_table(
    normalisation: WeightsSpec | Mapping[str, Any] | Sequence[Any],
    variables: Sequence[str] | None,
    n: int,
) -> tuple[list[float], list[float], tuple[str, ...] | None]:
    """(means, stds, variable names or None) of ``n`` channels."""
    if isinstance(normalisation, WeightsSpec):
        variables = variables or normalisation.variables
        normalisation = normalisation.normalisation
    if isinstance(normalisation, Mapping):
        if variables is None:
            raise InvalidArgumentError(
                "normalisation given as a mapping needs variables= (the channel order)"
            )
        missing = [v for v in variables if v not in normalisation]
        if missing:
            raise InvalidArgumentError(
                f"normalisation lacks {missing}; it must map every variable to (mean, std)"
            )
        pairs = [normalisation[v] for v in variables]
    else:
        pairs = list(normalisation)
    if len(pairs) != n:
        raise InvalidArgumentError(
            f"the array has {n} channels but the normalisation describes {len(pairs)}; "
            "give one (mean, std) per channel, in channel order"
        )
    return (
        [float(p[0]) for p in pairs],
        [float(p[1]) for p in pairs],
        tuple(variables) if variables is not None else None,
    )


def normalise_array(
    array: np.ndarray,
    normalisation: WeightsSpec | Mapping[str, Any] | Sequence[Any],
    *,
    variables: Sequence[str] | None = None,
    mask_channels: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The model's input from a ``(C, H, W)`` array in physical units, as every run reads it.

    Parameters
    ----------
    array : numpy.ndarray
        ``(C, H, W)`` inputs in physical units, NaN for no data.
    normalisation, variables, mask_channels
        As in [`predict_array`][xseaice.inference.tiling.predict_array].

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The normalised input, float32 channels-last ``(H, W, C)`` with NaN replaced by 0,
        and the ``(H, W)`` bool mask of valid pixels (finite in every mask channel).
    """
    from xseaice.variables import SAR_VARIABLES

    x = np.asarray(array)
    if x.ndim != 3:
        raise InvalidArgumentError(f"array must be (channels, y, x); got shape {x.shape}")
    means, stds, names = _norm_table(normalisation, variables, x.shape[0])
    if mask_channels is None:
        sar = [i for i, v in enumerate(names or ()) if v in SAR_VARIABLES]
        mask_channels = sar or range(x.shape[0])
    empty = [[None] * 3 for _ in range(3)]
    xn = _assemble(x[None], empty, means, stds)[0]
    valid = np.asarray(np.isfinite(xn[..., list(mask_channels)]).all(axis=-1))
    np.nan_to_num(xn, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return xn, valid


def predict_array(
    array: np.ndarray,
    module: nn.Module,
    normalisation: WeightsSpec | Mapping[str, Any] | Sequence[Any],
    *,
    variables: Sequence[str] | None = None,
    tile: int = 512,
    halo: int | None = None,
    device: Any = "cpu",
    precision: Precision = "fp32",
    batch_size: int = 1,
    mask_channels: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Run a model over an in-memory image with the engine `xseaice.inference.segment`
    runs per dask block (same windows, halo, batching, precision and output heads).

    Parameters
    ----------
    array : numpy.ndarray
        ``(C, H, W)`` inputs in physical units, NaN for no data.
    module : torch.nn.Module
        The model (left untouched: a prepared copy runs).
    normalisation : WeightsSpec, mapping or sequence
        A spec (its ``variables`` give the channel order), ``{variable: (mean, std)}``
        with ``variables=``, or one ``(mean, std)`` per channel.
    variables : sequence of str, optional
        Channel names, in order (needed with a mapping).
    tile : int, default 512
        Sub-tile side without halo; a multiple of the model's ``size_multiple``.
    halo : int, optional
        Halo on each side of a sub-tile; default (and seam-free)
        `xseaice.models.receptive_halo` of the model.
    device : str or torch.device, default "cpu"
        As in `xseaice.inference.segment`.
    precision : {"auto", "fp32", "bf16"}, default "fp32"
        As in `xseaice.inference.segment`; bf16 agrees with float32 within
        [`BF16_LOGIT_TOLERANCE`][xseaice.inference.tiling.BF16_LOGIT_TOLERANCE].
    batch_size : int, default 1
        Sub-tiles per forward pass.
    mask_channels : sequence of int, optional
        Channels whose NaN marks a pixel invalid (default: the SAR variables when
        ``variables`` are known, else every channel).

    Returns
    -------
    dict
        Output name -> float32 ``(n_channels, H, W)``, NaN where the input is invalid.

    Raises
    ------
    InvalidArgumentError
        A wrong array shape, normalisation, tile or halo.
    """
    from xseaice.models import receptive_halo

    x = np.asarray(array)
    if x.ndim != 3:
        raise InvalidArgumentError(f"array must be (channels, y, x); got shape {x.shape}")
    multiple = int(getattr(module, "size_multiple", 1))
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1 or tile % multiple:
        raise InvalidArgumentError(
            f"tile must be a positive multiple of the model's size_multiple {multiple}; "
            f"got {tile!r}"
        )
    halo = receptive_halo(module) if halo is None else halo
    if isinstance(halo, bool) or not isinstance(halo, int) or halo < 0:
        raise InvalidArgumentError(f"halo must be a non-negative int; got {halo!r}")
    xn, valid = normalise_array(x, normalisation, variables=variables, mask_channels=mask_channels)
    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    model = prepare_model(copy.deepcopy(module).to(dev))
    outs = forward_tiles(
        model, xn, valid, tile=tile, halo=halo, batch_size=batch_size, device=dev, dtype=dtype
    )
    for o in outs.values():
        o[:, ~valid] = np.nan
    return outs


def _axis_chunks(n: int, size: int, halo: int) -> tuple[int, ...]:
    """Chunks of ``size`` along an axis of length ``n``; a last chunk shorter than the
    halo is merged into the one before (dask takes each halo from one neighbour)."""
    if n <= size:
        return (n,)
    chunks = [size] * (n // size)
    rem = n - size * len(chunks)
    if rem:
        if rem < halo:
            chunks[-1] += rem
        else:
            chunks.append(rem)
    return tuple(chunks)
