"""Run a segmentation model over a scene, lazily, seam-free and in bounded memory.

[`segment`][xseaice.inference.segment.segment] turns a scene `xarray.Dataset` into lazy logits.  The
scene is cut into dask blocks aligned to the model's pooling grid; each block carries a halo at
least as wide as the model's receptive field
(`xseaice.models.receptive_halo`), so the tiled result equals
the whole-scene forward pass to float tolerance.  At the scene's outer edges no halo is invented:
the model sees the real edge, exactly as in a whole-scene pass.

The halo is explicit rather than ``map_overlap``: one task per input chunk copies its
edge strips (``halo`` px wide), and the block task assembles its chunk plus the eight
neighbouring strips directly into the normalised channels-last buffer the model reads
([`xseaice.inference.tiling`][], the engine
[`predict_array`][xseaice.inference.tiling.predict_array] also runs).  Because the strips are
copies, a full input chunk is freed as soon as its own block has run (numpy views of the strips
would keep every neighbour chunk alive).

Inside a task the model comes from a per-process cache (keyed by the weights' sha256 and
the device, [`xseaice.inference.cache`][]), so it is loaded once per worker process; the
graph only carries the small [`WeightsSpec`][xseaice.models.registry.WeightsSpec].  An in-memory
``(module, spec)`` pair is put into the graph once, as a single dask key that every task
depends on (about 2 MB for the default U-Net); each worker receives it once.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from xseaice.exceptions import (
    InvalidArgumentError,
    MissingVariablesError,
    ModelError,
    WeightsError,
    XSeaIceWarning,
)
from xseaice.inference.cache import module_token
from xseaice.inference.tiling import (
    _axis_chunks,
    _BlockPlan,
    _edges,
    _segment_block,
    default_tile,
)
from xseaice.models import (
    WeightsSpec,
    build_model,
    file_sha256,
    receptive_halo,
    resolve_device,
    resolve_weights,
)
from xseaice.models.runtime import Precision
from xseaice.variables import SAR_VARIABLES

__all__ = ["CLASS_FILL", "PIXEL_SIZE_TOLERANCE", "segment"]

logger = logging.getLogger(__name__)

#: Tolerated relative difference between the data's pixel size and the model's.
PIXEL_SIZE_TOLERANCE = 0.10

#: Class maps use this value where the input is not valid.
CLASS_FILL = 255


def _argmax_block(block: np.ndarray) -> np.ndarray:
    """Argmax over axis 1 of (time, class, y, x); NaN pixels get
    [`CLASS_FILL`][xseaice.inference.segment.CLASS_FILL]."""
    bad = np.isnan(block).any(axis=1)
    idx = np.nanargmax(np.where(np.isnan(block), -np.inf, block), axis=1).astype(np.uint8)
    idx[bad] = CLASS_FILL
    return idx


# --------------------------------------------------------------------------------------
# graph building
# --------------------------------------------------------------------------------------


def _resolve_model(model: Any) -> tuple[WeightsSpec, nn.Module | None, str]:
    """(spec, in-memory module or None, cache key)."""
    if isinstance(model, tuple):
        if len(model) != 2 or not isinstance(model[0], nn.Module):
            raise InvalidArgumentError(
                "model as a tuple must be (torch.nn.Module, WeightsSpec); got "
                f"({', '.join(type(m).__name__ for m in model)})"
            )
        module, spec = model
        if not isinstance(spec, WeightsSpec):
            raise InvalidArgumentError(
                f"model tuple must be (nn.Module, WeightsSpec); got a {type(spec).__name__} "
                "as the second item"
            )
        spec.validate(require_architecture=False)
        return spec, module, module_token(module)
    if isinstance(model, nn.Module):
        raise InvalidArgumentError(
            "model is a bare torch.nn.Module: pass (module, WeightsSpec) so that the input "
            "variables, normalisation and pixel size are known, or save it with "
            "xseaice.models.save_weights() and pass the path"
        )
    if not isinstance(model, str | os.PathLike | WeightsSpec):
        raise InvalidArgumentError(
            "model must be a registered name, a weights path, a WeightsSpec or a "
            f"(nn.Module, WeightsSpec) pair; got {type(model).__name__}"
        )
    spec = resolve_weights(model)
    path = spec.path
    if not path.exists():
        raise WeightsError(f"weights {spec.name!r}: file {path} does not exist")
    if file_sha256(path) != spec.sha256:
        raise WeightsError(
            f"weights {spec.name!r}: sha256 of {path} does not match the spec ({spec.sha256}); "
            "the file is corrupt or was replaced. Re-save it with save_weights()"
        )
    if not Path(spec.filename).is_absolute():
        spec = _absolute(spec)
    return spec, None, spec.sha256


def _absolute(spec: WeightsSpec) -> WeightsSpec:
    return dataclasses.replace(spec, filename=str(spec.path))


def _check_variables(ds: xr.Dataset, spec: WeightsSpec) -> list[xr.DataArray]:
    if not isinstance(ds, xr.Dataset):
        raise InvalidArgumentError(
            f"segment() expects a scene xarray.Dataset with variables {list(spec.variables)}; "
            f"got {type(ds).__name__}. For a DataArray with a band dimension use "
            "da.to_dataset(dim='band')"
        )
    names = [str(v) for v in ds.data_vars]
    missing = [v for v in spec.variables if v not in ds.data_vars]
    if missing:
        extra = [v for v in names if v not in spec.variables]
        lower = {v.lower(): v for v in names}
        renames = {lower[m.lower()]: m for m in missing if m.lower() in lower}
        amsr2 = [m for m in missing if m.startswith("tb")]
        sar = [m for m in missing if m in ("hh", "hv")]
        how = (
            " AMSR-2 brightness temperatures come with xseaice.load(result) when the search "
            "found AMSR-2 items (sensors including 'amsr2'; amsr2=True, the default)."
            if amsr2
            else ""
        ) + (
            f" xseaice.load(result, polarizations={tuple(m.upper() for m in sar)}) loads "
            "those polarisations from items that carry them."
            if sar
            else ""
        )
        fix = (
            f" Rename them: ds.rename({renames})."
            if renames
            else f"{how} Otherwise pick a model whose variables the dataset has "
            "(xseaice.models.list_weights())."
        )
        raise MissingVariablesError(
            f"model {spec.name!r} needs variables {list(spec.variables)}; the dataset lacks "
            f"{missing} (it has {names}; not used by the model: {extra}).{fix}"
        )
    arrays = []
    dims0: tuple[str, ...] | None = None
    for v in spec.variables:
        a = ds[v]
        if not np.issubdtype(a.dtype, np.floating):
            raise ModelError(
                f"variable {v!r} has dtype {a.dtype}; the model expects floating-point physical "
                "values (sigma0 in dB, angles in degrees, TB in K) with NaN for no data. Load "
                "calibrated data with xseaice.load(), or convert with ds[v].astype('float32')"
            )
        _check_units(v, a)
        eager = isinstance(a.data, np.ndarray) and a.size
        # NaN SAR marks no data (the output is NaN there); other inputs are mean-filled.
        # Lazy inputs are checked per block when computed (tiling._check_filled).
        if v not in SAR_VARIABLES and eager and np.isnan(a.data).all():
            raise ModelError(
                f"variable {v!r} is NaN everywhere; the model would read its training mean "
                "instead and give a map that looks valid. Load a scene where it has data (for "
                "AMSR-2: a day and place the search found AMSR-2 for), or use a model without "
                f"{v!r} (xseaice.models.list_weights())."
            )
        dims = tuple(str(d) for d in a.dims)
        if dims not in (("y", "x"), ("time", "y", "x")):
            if set(dims) in ({"y", "x"}, {"time", "y", "x"}):
                a = a.transpose(*(d for d in ("time", "y", "x") if d in dims))
                dims = tuple(str(d) for d in a.dims)
            else:
                raise ModelError(
                    f"variable {v!r} has dims {dims}; expected ('time', 'y', 'x') or ('y', 'x'). "
                    "Rename spatial dims to y/x (e.g. ds.rename(lat='y', lon='x'))"
                )
        if dims0 is None:
            dims0 = dims
        elif dims != dims0:
            raise ModelError(
                f"variables {list(spec.variables)} must share dims; {v!r} has {dims}, "
                f"{spec.variables[0]!r} has {dims0}. Broadcast them first (xr.broadcast)"
            )
        arrays.append(a)
    return arrays


#: Spellings accepted for each expected unit (CF / udunits variants).
_UNIT_ALIASES = {"dB": {"db", "decibel", "decibels"}, "K": {"k", "kelvin"}}
_UNIT_ALIASES["degree"] = {"degree", "degrees", "deg", "degree_north", "degrees_east"}


def _check_units(name: str, a: xr.DataArray) -> None:
    """Refuse a variable whose ``units`` attribute says it is not what the model reads."""
    from xseaice.variables import ATTRS

    want = ATTRS.get(name, {}).get("units")
    units = a.attrs.get("units")
    if want is None or units is None:
        return
    if str(units).strip().lower() in _UNIT_ALIASES.get(want, {want.lower()}):
        return
    fix = (
        f" Convert linear sigma0 to dB: ds[{name!r}] = xseaice.variables.sigma0_to_db("
        f"ds[{name!r}]).assign_attrs(units='dB')."
        if want == "dB"
        else f" Convert it to {want} and set attrs['units'] = {want!r}."
    )
    raise ModelError(f"variable {name!r} has units {units!r}; the model expects {want!r}.{fix}")


def _check_pixel_size(ds: xr.Dataset, spec: WeightsSpec) -> float | None:
    if "x" not in ds.coords or ds.sizes.get("x", 0) < 2:
        warnings.warn(
            f"the scene has no x/y coordinates, so its pixel size cannot be checked against "
            f"the {spec.pixel_size:g} m model {spec.name!r} was trained at; load scenes with "
            "xseaice.load() (or assign x/y coordinates in metres) to have it checked.",
            XSeaIceWarning,
            stacklevel=3,
        )
        return None
    ref = ds.coords.get("spatial_ref")
    wkt = str(ref.attrs.get("crs_wkt", "")) if ref is not None else ""
    if wkt.startswith(("GEOGCS", "GEOGCRS")):
        logger.warning("scene CRS is geographic; pixel size check against the model skipped")
        return None
    xs = np.asarray(ds["x"].values[:2], dtype=float)
    res = abs(float(xs[1] - xs[0]))
    if "y" in ds.coords and ds.sizes.get("y", 0) >= 2:
        ys = np.asarray(ds["y"].values[:2], dtype=float)
        res = max(res, abs(float(ys[1] - ys[0])))
    if abs(res - spec.pixel_size) > PIXEL_SIZE_TOLERANCE * spec.pixel_size:
        raise ModelError(
            f"the scene's pixel size is {res:g} m but model {spec.name!r} was trained at "
            f"{spec.pixel_size:g} m (more than {PIXEL_SIZE_TOLERANCE:.0%} apart); its receptive "
            f"field would cover the wrong ground distance. Load the scene at the model's "
            f"resolution: xseaice.load(..., resolution={spec.pixel_size:g}) (or "
            f"ds.odc.reproject(ds.odc.geobox.zoom_to(resolution={spec.pixel_size:g})))"
        )
    return res


def _probe_channels(
    model: nn.Module, n_in: int, multiple: int, single_name: str = "ice_logit"
) -> dict[str, int]:

    was_training = model.training
    model.eval()
    try:
        p = next(model.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
        side = max(multiple, 1)
        with torch.inference_mode():
            res = model(torch.zeros(1, n_in, side, side, device=device))
    except Exception as err:  # a user module failing on a probe: say so, not deep in dask
        raise ModelError(
            f"the model fails on a {n_in}-channel probe input: {err}. Check that the spec's "
            "variables match the model's input channels"
        ) from err
    finally:
        model.train(was_training)
    if not isinstance(res, Mapping):
        res = {single_name: res}  # a module returning one tensor: the spec's one output
    return {str(k): int(v.shape[1]) for k, v in res.items()}


#: (row step, column step) of the views `segment` averages with ``tta=True``.
_FLIPS: tuple[tuple[int, int], ...] = ((1, 1), (1, -1), (-1, 1), (-1, -1))


def _logit_graph(
    stacked: Any, *, plan: _BlockPlan, module: nn.Module | None, key: str, n_out: int, csize: int
) -> Any:
    """The dask array of model outputs ``(time, n_out, y, x)`` for an input stack
    ``(time, var, y, x)`` chunked on the tile grid: one task per block, fed by the halo
    strips of its eight neighbours; chunks regular on ``csize``."""
    import dask
    import dask.array as dsa
    from dask.highlevelgraph import HighLevelGraph

    nt = stacked.shape[0]
    ny, nx = stacked.shape[-2:]
    ychunks, xchunks = stacked.chunks[-2:]
    halo = plan.halo
    depth = (halo if len(ychunks) > 1 else 0, halo if len(xchunks) > 1 else 0)
    deps: list[Any] = [stacked]
    module_key = None
    if module is not None:  # one key holds the module; every task refers to it
        module_obj = dask.delayed(module, name=f"xseaice-model-{key}", pure=True)
        deps.append(module_obj)
        module_key = module_obj.key
    token = dask.base.tokenize(stacked, plan, key, module_key)
    name = f"xseaice-segment-{token}"
    ename = f"xseaice-halo-{token}"
    ny_b, nx_b = len(ychunks), len(xchunks)
    dsk: dict[Any, Any] = {}
    if depth != (0, 0):
        for t in range(nt):
            for i in range(ny_b):
                for j in range(nx_b):
                    dsk[(ename, t, i, j)] = (_edges, (stacked.name, t, 0, i, j), *depth)
    run = functools.partial(_segment_block, plan=plan)
    for t in range(nt):
        for i in range(ny_b):
            for j in range(nx_b):
                nbrs = [
                    [
                        (ename, t, i + di, j + dj)
                        if (di or dj) and 0 <= i + di < ny_b and 0 <= j + dj < nx_b
                        else None
                        for dj in (-1, 0, 1)
                    ]
                    for di in (-1, 0, 1)
                ]
                task: tuple[Any, ...] = (run, (stacked.name, t, 0, i, j), nbrs)
                if module_key is not None:
                    task = (*task, module_key)
                dsk[(name, t, 0, i, j)] = task
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=deps)
    result = dsa.Array(
        graph,
        name,
        chunks=((1,) * nt, (n_out,), ychunks, xchunks),
        dtype=np.float32,
        meta=np.empty((0, 0, 0, 0), dtype=np.float32),
    )
    # a merged last block is split again, so chunks are regular (Zarr needs that)
    regular = ((1,) * nt, (n_out,), _axis_chunks(ny, csize, 0), _axis_chunks(nx, csize, 0))
    if regular != result.chunks:
        result = result.rechunk(regular)
    return result


def segment(
    ds: xr.Dataset,
    model: Any = "default",
    *,
    tile: int | None = None,
    overlap: int | None = None,
    device: str = "auto",
    precision: Precision = "auto",
    batch_size: int | None = None,
    outputs: Sequence[str] | None = None,
    threads: int | None = None,
    tta: bool = False,
) -> xr.DataArray | xr.Dataset:
    """Segment a scene with a model, lazily, over dask blocks with a halo.

    Parameters
    ----------
    ds : xarray.Dataset
        A scene (see `xseaice.variables`): the model's variables, float, dims
        ``(time, y, x)`` or ``(y, x)``, NaN for no data.
    model : str, path, WeightsSpec or (nn.Module, WeightsSpec), default "default"
        Registered weights name
        (`xseaice.models.list_weights`), a weights file with
        its JSON sidecar, a spec, or an in-memory module with its spec.
    tile : int, optional
        Tile side in pixels without halo; a multiple of the model's ``size_multiple``
        (16 for the default U-Net).  Default
        `default_tile`: on the CPU 1024 in bf16 and 1536 in
        float32, on CUDA 2048.
    overlap : int, optional
        Halo in pixels on each side of a tile; default (and minimum for a seam-free
        result) `xseaice.models.receptive_halo` of the model.
    device : str, default "auto"
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``;
        resolved in each worker.
    precision : {"auto", "fp32", "bf16"}, default "auto"
        ``"auto"``: bfloat16 autocast on CUDA and on CPUs with AMX / AVX512-BF16, else
        float32.  In bf16 the body runs in bfloat16 and the output heads in float32, and
        the logits agree with float32 within
        [`BF16_LOGIT_TOLERANCE`][xseaice.inference.BF16_LOGIT_TOLERANCE]: mean absolute difference
        <= 0.05 and 99th percentile <= 0.25 logit units (the bundled ``default`` weights: 0.0035 and
        0.014).  Outputs are always float32.
    batch_size : int, optional
        Tiles per forward pass (default 1).  Each dask block holds up to
        ``ceil(sqrt(batch_size))**2`` tiles.
    outputs : sequence of str, optional
        Outputs to return (default all of the spec's ``outputs``).
    threads : int, optional
        Torch threads per task; default cores divided by the tasks running at once
        (``OMP_NUM_THREADS`` in dask.distributed workers).
    tta : bool, default False
        Test-time augmentation: run the model on the scene and on its three flips (left-right,
        up-down, both), flip each result back and average the logits.  Four times the cost;
        on the held-out test scenes it adds a few tenths of a point of accuracy (see the
        training docs, "Test-time augmentation").  Each view is itself seam-free.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        For a single logit output, the DataArray ``ice_logit`` (float32, dims of the
        input).  Otherwise a Dataset: ``<task>_logit`` (float32, dims ``(time,
        <task>_class, y, x)`` with the class names as coordinate) and ``<task>`` (uint8
        argmax with CF ``flag_values`` / ``flag_meanings``, 255 where the input is not
        valid) per classification output, and float32 ``(time, y, x)`` for logit or
        regression outputs.  The output is NaN where any SAR input of the model (or, for
        a model without SAR inputs, any input) is NaN.

    Raises
    ------
    MissingVariablesError
        The dataset lacks variables the model needs.
    ModelError
        Wrong dtype or dims, or a pixel size more than 10 % off the model's.
    InvalidArgumentError
        A tile or overlap that does not fit the model.
    WeightsError
        Unknown or corrupt weights.
    """
    import dask.array as dsa

    spec, module, key = _resolve_model(model)
    arrays = _check_variables(ds, spec)
    _check_pixel_size(ds, spec)
    dev_name = str(device)
    if device != "auto":
        resolve_device(device)  # fail early on a missing CUDA
    if precision not in ("auto", "fp32", "bf16"):
        raise InvalidArgumentError(f"precision must be 'auto', 'fp32' or 'bf16'; got {precision!r}")

    net = module if module is not None else build_model(spec.architecture, **spec.arch_kwargs)
    multiple = int(getattr(net, "size_multiple", 1))
    try:
        halo_needed: int | None = receptive_halo(net)
    except ModelError:
        if overlap is None:
            raise
        halo_needed = None  # a foreign module with an explicit overlap: trust the caller
    if overlap is None:
        assert halo_needed is not None
        halo = halo_needed
    else:
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
            raise InvalidArgumentError(f"overlap must be a non-negative int; got {overlap!r}")
        if overlap % multiple:
            raise InvalidArgumentError(
                f"overlap={overlap} must be a multiple of the model's size_multiple {multiple} "
                f"so that every tile shares the scene's pooling grid; use "
                f"{math.ceil(overlap / multiple) * multiple}"
            )
        halo = overlap
        if halo_needed is not None and halo < halo_needed:
            warnings.warn(
                f"overlap={overlap} is smaller than the model's receptive halo {halo_needed}: "
                "tile seams will show; use overlap=None for a seam-free result",
                XSeaIceWarning,
                stacklevel=2,
            )
    if tile is None:
        tile = default_tile(device, precision)
        tile = max(tile // multiple * multiple, math.ceil(halo / multiple) * multiple)
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
        raise InvalidArgumentError(f"tile must be a positive int (pixels); got {tile!r}")
    if tile % multiple:
        lo = max(multiple, tile // multiple * multiple)
        raise InvalidArgumentError(
            f"tile={tile} must be a multiple of the model's size_multiple {multiple} (tiles must "
            f"start on its pooling grid); use tile={lo} or {lo + multiple}"
        )
    if tile < halo:
        raise InvalidArgumentError(
            f"tile={tile} is smaller than the halo {halo} the model needs on each side; each "
            f"tile would compute mostly halo. Use tile >= {math.ceil(halo / multiple) * multiple}"
            f" (the default is {default_tile(device, precision)})"
        )
    if batch_size is None:
        batch_size = 1
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be a positive int; got {batch_size!r}")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise InvalidArgumentError(f"threads must be a positive int or None; got {threads!r}")
    if not isinstance(tta, bool):
        raise InvalidArgumentError(f"tta must be True or False; got {tta!r}")

    channels = _probe_channels(net, len(spec.variables), multiple, next(iter(spec.outputs)))
    unknown = set(spec.outputs) - set(channels)
    if unknown:
        raise ModelError(
            f"spec {spec.name!r} declares outputs {sorted(unknown)} that the model does not "
            f"produce (it returns {sorted(channels)})"
        )
    select = tuple(spec.outputs) if outputs is None else tuple(outputs)
    bad = [o for o in select if o not in spec.outputs]
    if bad or not select:
        raise InvalidArgumentError(
            f"outputs={list(select)!r}: unknown {bad}; model {spec.name!r} has outputs "
            f"{list(spec.outputs)}"
        )
    order = tuple((name, channels[name]) for name in channels if name in spec.outputs)

    # --- the input stack (time, var, y, x), chunked on the tile grid ---
    has_time = "time" in arrays[0].dims
    datas = [a.data if has_time else a.data[None] for a in arrays]
    ny, nx = datas[0].shape[-2:]
    grid = math.ceil(math.sqrt(batch_size))
    csize = tile * grid
    ychunks = _axis_chunks(ny, csize, halo)
    xchunks = _axis_chunks(nx, csize, halo)
    nt = datas[0].shape[0]
    stacked = dsa.stack(
        [dsa.asarray(d).rechunk((1, ychunks, xchunks)) for d in datas], axis=1
    ).astype(np.float32)
    stacked = stacked.rechunk((1, len(datas), ychunks, xchunks))

    sar = [i for i, v in enumerate(spec.variables) if v in SAR_VARIABLES]
    plan = _BlockPlan(
        key=key,
        spec=spec if module is None else None,
        means=tuple(float(spec.normalisation[v][0]) for v in spec.variables),
        stds=tuple(float(spec.normalisation[v][1]) for v in spec.variables),
        mask_index=tuple(sar or range(len(spec.variables))),
        channels=order,
        select=select,
        halo=halo,
        tile=tile,
        batch_size=batch_size,
        device=dev_name,
        precision=precision,
        threads=threads,
        variables=tuple(spec.variables),
    )
    n_out = sum(n for name, n in order if name in select)
    graph = functools.partial(
        _logit_graph, plan=plan, module=module, key=key, n_out=n_out, csize=csize
    )
    if not tta:
        result = graph(stacked)
    else:  # the mean over the four flips, each flipped back
        views = [
            graph(stacked[..., ::fy, ::fx].rechunk(stacked.chunks))[..., ::fy, ::fx]
            for fy, fx in _FLIPS
        ]
        result = (sum(views[1:], start=views[0]) / len(views)).astype(np.float32)
        regular = ((1,) * nt, (n_out,), _axis_chunks(ny, csize, 0), _axis_chunks(nx, csize, 0))
        result = result.rechunk(regular)

    # --- wrap as xarray ---
    spatial_dims = ("time", "y", "x") if has_time else ("y", "x")
    coords = {k: c for k, c in ds.coords.items() if set(c.dims) <= set(spatial_dims)}
    base_attrs = {
        "model": spec.name,
        "weights_sha256": spec.sha256 if module is None else key,
        "architecture": spec.architecture,
        "input_variables": " ".join(spec.variables),
        "tile": tile,
        "halo": halo,
        "precision": precision,
        "test_time_augmentation": "mean of 4 flips" if tta else "none",
    }
    if "spatial_ref" in ds.coords:
        base_attrs["grid_mapping"] = "spatial_ref"

    def _squeeze(a: Any) -> Any:
        return a if has_time else a[0]

    out_vars: dict[str, xr.DataArray] = {}
    start = 0
    for name, n in order:
        if name not in select:
            continue
        part = result[:, start : start + n]
        start += n
        classes = spec.outputs[name]
        if classes is None:
            data = _squeeze(part[:, 0] if n == 1 else part)
            dims = spatial_dims if n == 1 else (*spatial_dims[:-2], f"{name}_channel", "y", "x")
            attrs = {
                **base_attrs,
                "long_name": "sea ice logit (ice vs water)"
                if name == "ice_logit"
                else f"model output {name}",
                "units": "1",
            }
            if name == "ice_logit":
                attrs["comment"] = "sigmoid(ice_logit) is the ice probability before scaling"
            out_vars[name] = xr.DataArray(data, dims=dims, coords=coords, attrs=attrs)
            continue
        cdim = f"{name}_class"
        ldims = (*spatial_dims[:-2], cdim, "y", "x")
        out_vars[f"{name}_logit"] = xr.DataArray(
            _squeeze(part),
            dims=ldims,
            coords={**coords, cdim: np.array(classes, dtype=object)},
            attrs={**base_attrs, "long_name": f"{name.upper()} class logits", "units": "1"},
        )
        cls = part.map_blocks(
            _argmax_block, drop_axis=1, dtype=np.uint8, meta=np.empty((0, 0, 0), np.uint8)
        )
        da_cls = xr.DataArray(
            _squeeze(cls),
            dims=spatial_dims,
            coords=coords,
            attrs={
                **base_attrs,
                "long_name": f"{name.upper()} class (argmax of the logits)",
                "flag_values": np.arange(len(classes), dtype=np.uint8),
                "flag_meanings": " ".join(classes),
                "comment": f"{CLASS_FILL} = no data",
            },
        )
        da_cls.encoding["_FillValue"] = np.uint8(CLASS_FILL)
        out_vars[name] = da_cls

    if list(out_vars) == ["ice_logit"]:
        da_out = out_vars["ice_logit"]
        da_out.name = "ice_logit"
        return da_out
    dset = xr.Dataset(out_vars, attrs={k: v for k, v in base_attrs.items() if k != "grid_mapping"})
    return dset
