"""The whole chain for one scene, and its products written to disk.

[`map_ice`][xseaice.workflow.map_ice] chains the plain functions lazily (segment -> Analytical Logit
Scaling -> binarize -> topology); [`write_products`][xseaice.workflow.write_products] computes them
once, in bounded memory, and writes Cloud-Optimized GeoTIFFs, a CF Zarr store, the per-polygon table
as GeoPackage and GeoParquet and a PNG figure.  Every file is written under a temporary name in the
output folder and moved into place when complete, so an interrupted run never leaves a
half-written product.  [`segment_to_files`][xseaice.workflow.segment_to_files] is the ``xseaice
segment`` command.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from xseaice.exceptions import EmptySearchError, InvalidArgumentError, LoadError
from xseaice.heap import trim_heap
from xseaice.io.atomic import atomic_path, check_output, staged_folder
from xseaice.plot_overview import overview_figure, overview_inputs
from xseaice.products.als import Preserve
from xseaice.products.writers import (
    cf_dataset,
    provenance,
    write_cog,
    write_table,
)

__all__ = [
    "PRESERVE_CHOICES",
    "Products",
    "map_ice",
    "open_local_scene",
    "products_from_logits",
    "resolve_preserve",
    "segment_to_files",
    "write_products",
]

logger = logging.getLogger(__name__)


#: ``preserve`` values of the workflow and the ``xseaice segment`` command: those of
#: [`xseaice.products.als.Preserve`][] plus these strings.
PRESERVE_CHOICES: tuple[str, ...] = ("auto", "none", "scene", "chart")


def resolve_preserve(preserve: Any, chart: Any = None) -> Preserve:
    """Turn a workflow ``preserve`` into what [`scale_logits`][xseaice.products.als.scale_logits]
    takes: the one place ``"auto"``, ``"chart"`` and ``"none"`` are resolved.

    Parameters
    ----------
    preserve : None, "auto", "none", "scene", "chart" or GeoDataFrame
        ``None`` / ``"none"``: plain ALS.  ``"scene"``: keep the model's scene ice
        fraction.  ``"chart"``: keep each polygon's concentration of ``chart``.
        ``"auto"``: ``"chart"`` when a chart is given, else ``"scene"``.  A GeoDataFrame:
        keep its polygons' concentrations.
    chart : GeoDataFrame, optional
        The ice chart of the scene.

    Returns
    -------
    None, "scene" or GeoDataFrame
        A [`Preserve`][xseaice.products.als.Preserve] value.

    Raises
    ------
    InvalidArgumentError
        An unknown value, or ``"chart"`` without a chart.
    """
    if preserve is None or not isinstance(preserve, str):
        return preserve
    if preserve not in PRESERVE_CHOICES:
        raise InvalidArgumentError(
            f"preserve must be one of {list(PRESERVE_CHOICES)}, None or a GeoDataFrame; "
            f"got {preserve!r}"
        )
    if preserve == "auto":
        preserve = "scene" if chart is None else "chart"
    if preserve == "chart" and chart is None:
        raise InvalidArgumentError(
            "preserve='chart' needs an ice chart (chart=, or --chart FILE on the command line)"
        )
    return {"none": None, "scene": "scene", "chart": chart}[preserve]


def products_from_logits(
    logits: xr.DataArray,
    *,
    preserve: Preserve = None,
    q: float = 0.98,
    threshold: float = 0.5,
    lead_max_width: float = 400.0,
    reread: bool = False,
) -> xr.Dataset:
    """Run ALS, binarize and topology lazily on ice logits.

    Parameters
    ----------
    logits : xarray.DataArray
        ``ice_logit`` from `xseaice.inference.segment`.
    preserve : None, "scene" or GeoDataFrame
        Passed to [`xseaice.products.als.scale_logits`][]
        ([`Preserve`][xseaice.products.als.Preserve]).
    q : float, default 0.98
        ALS target confidence.
    threshold : float, default 0.5
        Probability threshold of the binary map.
    lead_max_width : float, default 400
        Widest water channel (m) counted as a lead.
    reread : bool, default False
        Read the logits anew in each ALS pass instead of holding them in memory
        ([`scale_logits`][xseaice.products.als.scale_logits]); for stored logits only.

    Returns
    -------
    xarray.Dataset
        Lazy ``ice_logit``, ``ice_probability``, ``ice``, ``floe_id``, ``lead`` and the
        summaries of [`xseaice.products.topology.topology`][]; with a chart as ``preserve``
        also the ALS parameters applied to each of its polygons (``als_bias``,
        ``als_target``, ... on a ``polygon`` dim, see [`xseaice.products.als_applied`][]).
    """
    from xseaice.products.als import scale_logits
    from xseaice.products.als_applied import scale_to_chart
    from xseaice.products.topology import binarize, topology

    if preserve is None or isinstance(preserve, str):
        prob = scale_logits(logits, q=q, preserve=preserve, reread=reread)
        scaled = prob.to_dataset(name="ice_probability")
    else:  # a chart: also what was applied to each of its polygons
        scaled = scale_to_chart(logits, preserve, q=q, reread=reread)
    prob = scaled["ice_probability"]
    ice = binarize(prob, threshold=threshold)
    topo = topology(ice, lead_max_width=lead_max_width)
    parts = [logits.to_dataset(name="ice_logit"), scaled, ice.to_dataset(name="ice"), topo]
    return xr.merge(parts, compat="no_conflicts", join="exact", combine_attrs="drop_conflicts")


def map_ice(
    ds: xr.Dataset,
    *,
    model: Any = "default",
    segment_kwargs: dict[str, Any] | None = None,
    **options: Any,
) -> xr.Dataset:
    """Run segment, ALS, binarize and topology lazily on one scene.

    Parameters
    ----------
    ds : xarray.Dataset
        A scene following the Dataset contract (from [`xseaice.load`][xseaice.stac.loading.load]).
    model : str, path or WeightsSpec, default "default"
        Weights for `xseaice.inference.segment`.
    segment_kwargs : dict, optional
        Options of `xseaice.inference.segment` (``tile``, ``device``, ...).
    **options
        Options of `products_from_logits` (``preserve``,
        ``q``, ``threshold``, ``lead_max_width``).

    Returns
    -------
    xarray.Dataset
        The lazy products (see `products_from_logits`).
    """
    return products_from_logits(_logits(ds, model, segment_kwargs), **options)


def _logits(ds: xr.Dataset, model: Any, segment_kwargs: dict[str, Any] | None) -> xr.DataArray:
    from xseaice.inference import segment

    logits = segment(ds, model, **(segment_kwargs or {}))
    return logits["ice_logit"] if isinstance(logits, xr.Dataset) else logits


@dataclass
class Products:
    """Where [`write_products`][xseaice.workflow.write_products] put each product, and the scene
    summary."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"products in {self.folder}:"]
        lines += [f"  {name:<14} {path.name}" for name, path in self.files.items()]
        if self.summary:
            lines.append("scene:")
            lines += [f"  {k:<30} {_fmt(v)}" for k, v in self.summary.items()]
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _progress(enabled: bool) -> Any:
    from contextlib import nullcontext

    if not enabled:
        return nullcontext()
    from tqdm.dask import TqdmCallback

    return TqdmCallback(desc="computing", leave=False)


def write_products(
    scene: xr.Dataset,
    output: str | os.PathLike[str],
    *,
    model: Any = "default",
    chart: Any = None,
    preserve: Any = None,
    figure: bool = True,
    progress: bool = True,
    prefix: str = "xseaice",
    segment_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    **options: Any,
) -> Products:
    """Map the ice of a scene and write every product to ``output``.

    The products are written into a hidden staging folder beside ``output`` and swapped
    in whole when all are written ([`xseaice.io.atomic.staged_folder`][]): a failed or
    interrupted run leaves the previous product set as it was, never a mix.

    The model runs once: its logits are written to the Zarr store first and every other
    product is derived from the stored logits, so memory stays bounded by dask chunks.

    Parameters
    ----------
    scene : xarray.Dataset
        A scene following the Dataset contract.
    output : path
        Output folder, created if needed.
    model : str, path or WeightsSpec, default "default"
        Weights for `xseaice.inference.segment`.
    chart : GeoDataFrame, optional
        Ice-chart polygons: concentration per polygon is written as GeoPackage and
        GeoParquet (with the chart's concentration and the difference; when the
        probability was scaled to this chart, also the ALS parameters applied to each
        polygon, the ``als_*`` columns of [`xseaice.products.als_applied`][]).
    preserve : None, "auto", "none", "scene", "chart" or GeoDataFrame
        ALS bias option, resolved by [`resolve_preserve`][xseaice.workflow.resolve_preserve]
        (``"chart"`` and ``"auto"`` use ``chart``).
    figure : bool, default True
        Write the PNG overview figure.
    progress : bool, default True
        Show progress bars.
    prefix : str, default "xseaice"
        File-name prefix.
    segment_kwargs : dict, optional
        Options of `xseaice.inference.segment`.
    overwrite : bool, default False
        Replace a product set (files named ``<prefix>_*``) already in ``output``; other
        files in ``output`` are kept.
    **options
        ``q``, ``threshold``, ``lead_max_width`` of
        `products_from_logits`.

    Returns
    -------
    Products
        File paths and a summary (ice fraction, lead fraction, floe count, ALS
        parameters, regional concentration error).  GeoTIFFs hold the first time step.
    """
    mode = resolve_preserve(preserve, chart)
    final = Path(output)
    with staged_folder(final, owned=_owned(prefix), overwrite=overwrite) as stage:
        result = _write_set(
            scene, stage, model, chart, mode, figure, progress, prefix, segment_kwargs, options
        )
    result.folder = final
    result.files = {k: final / p.relative_to(stage) for k, p in result.files.items()}
    return result


def _owned(prefix: str) -> Callable[[str], bool]:
    """The names of a product set's entries: ``<prefix>_*``."""
    return lambda name: name.startswith(f"{prefix}_")


def _write_set(
    scene: xr.Dataset,
    folder: Path,
    model: Any,
    chart: Any,
    mode: Any,
    figure: bool,
    progress: bool,
    prefix: str,
    segment_kwargs: dict[str, Any] | None,
    options: dict[str, Any],
) -> Products:
    """Write the product set into ``folder`` (the staging folder of a run)."""
    from xseaice.products.als_applied import als_columns
    from xseaice.products.zonal import concentration

    result = Products(folder=folder)
    logits = _logits(scene, model, segment_kwargs)

    cf = provenance(
        scene_attrs=dict(scene.attrs), logits_attrs=dict(logits.attrs), chart=_chart_name(chart)
    )
    zarr_path = folder / f"{prefix}_products.zarr"
    with atomic_path(zarr_path) as tmp, _progress(progress):
        # The figure's coarse input panels come from the same pass over the scene.
        inputs = _store_with(
            cf_dataset(logits.to_dataset(name="ice_logit"), cf),
            tmp,
            overview_inputs(scene) if figure else None,
        )
        stored = xr.open_zarr(tmp, chunks={})["ice_logit"]
        # the stored logits are read again in each ALS pass rather than held in memory
        derived = products_from_logits(stored, preserve=mode, reread=True, **options)
        cf_dataset(derived.drop_vars("ice_logit"), cf).to_zarr(
            tmp, mode="a", zarr_format=2, consolidated=True
        )
        trim_heap()
    result.files["zarr"] = zarr_path
    done = xr.open_zarr(zarr_path, chunks={})

    first = done.isel(time=0) if "time" in done.dims else done
    for name in ("ice_probability", "ice", "lead"):
        path = folder / f"{prefix}_{name}.tif"
        write_cog(first[name], path, tags=cf)
        result.files[f"cog_{name}"] = path
    trim_heap()

    table = None
    if chart is not None:
        table = concentration(first["ice"].where(first["ice"] != 255), chart)
        if mode is chart:  # the probability was scaled to this chart: how, per polygon
            table = als_columns(table, first)
        result.files.update(write_table(table, folder, prefix))

    result.summary = _summary(first, table)
    if figure:
        import matplotlib.pyplot as plt

        path = folder / f"{prefix}_overview.png"
        fig = overview_figure(first, scene=inputs, table=table)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
        plt.close(fig)
        result.files["figure"] = path
    return result


def _store_with(ds: xr.Dataset, path: Path, extra: Any) -> Any:
    """Write ``ds`` as a new Zarr v2 store and compute ``extra`` in the same dask pass.

    ``to_zarr(compute=False)`` wraps its writes in a ``Delayed`` whose task keys dask
    renames, so computing it beside ``extra`` would read the shared inputs (every chunk of
    the scene) twice.  Here ``to_zarr`` writes the metadata and the in-memory coordinates,
    and the lazy variables, encoded as xarray encodes them, are stored with
    ``dask.array.store`` in one graph with ``extra``.  Returns ``extra`` computed.
    """
    import dask.array
    import zarr
    from xarray.backends.zarr import encode_zarr_variable

    ds.to_zarr(path, mode="w", zarr_format=2, consolidated=False, compute=False)
    group = zarr.open_group(path, mode="r+", zarr_format=2)
    lazy = [str(name) for name, var in ds.variables.items() if var.chunks is not None]
    sources = [encode_zarr_variable(ds.variables[name], name=name).data for name in lazy]
    targets: list[Any] = [group[name] for name in lazy]
    writes = dask.array.store(sources, targets, lock=False, compute=False)
    _, extra = dask.compute(writes, extra)
    trim_heap()  # the pass's freed blocks: the next stage starts from what is in use
    zarr.consolidate_metadata(group.store, zarr_format=2)
    return extra


def _chart_name(chart: Any) -> str | None:
    """How a chart is named in the provenance: its ``source`` attribute or its size."""
    if chart is None:
        return None
    return str(getattr(chart, "attrs", {}).get("source", f"{len(chart)} polygons"))


def _summary(first: xr.Dataset, table: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("ice_fraction", "lead_fraction", "floe_count"):
        if name in first:
            out[name] = float(first[name].values)
    prob = first["ice_probability"]
    for name in ("p_lo", "p_hi", "bias", "temperature"):
        if name in prob.coords:
            out[f"als_{name}"] = float(prob.coords[name].values)
    if table is not None and "difference" in table:
        diff = np.asarray(table["difference"], dtype=float)
        diff = diff[np.isfinite(diff)]
        if diff.size:
            out["polygons_compared"] = int(diff.size)
            out["concentration_mae_vs_chart"] = float(np.mean(np.abs(diff)))
    return out


def open_local_scene(source: str | Path, option: str = "--input") -> xr.Dataset:
    """Open a local scene (Zarr store or netCDF file) lazily.

    Parameters
    ----------
    source : str or pathlib.Path
        A scene written by xseaice (``ds.to_zarr`` / ``ds.to_netcdf``).
    option : str
        How the caller names this input in its errors (a CLI option or argument).

    Raises
    ------
    InvalidArgumentError
        If ``source`` does not exist.
    LoadError
        If it cannot be opened as a Zarr store or a netCDF file.
    """
    path = Path(source)
    if not path.exists():
        raise InvalidArgumentError(f"{option} {str(source)!r} does not exist")
    zarr = path.suffix == ".zarr" or path.is_dir()
    try:
        return xr.open_zarr(path) if zarr else xr.open_dataset(path, chunks={})
    except (OSError, ValueError, KeyError, TypeError) as err:
        kind = "a Zarr store" if zarr else "a netCDF file"
        raise LoadError(
            f"{option} {str(path)!r} cannot be opened as {kind} ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:200]}); expected a scene written by "
            "xseaice (ds.to_zarr / ds.to_netcdf) following the Dataset contract"
        ) from err


def segment_to_files(
    *,
    output: Path,
    source: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    datetime: str | None = None,
    items: list[str] | None = None,
    catalog: str = "planetary-computer",
    model: str = "default",
    chart: str | None = None,
    preserve: str = "auto",
    resolution: float = 40.0,
    precision: Literal["auto", "fp32", "bf16"] = "auto",
    tta: bool = False,
    figure: bool = True,
    progress: bool = True,
    overwrite: bool = False,
) -> Products:
    """Load a scene, map its ice and write the products (the ``xseaice segment`` command).

    Parameters
    ----------
    output : pathlib.Path
        Output folder.
    source : str, optional
        A local scene (Zarr store or netCDF file) following the Dataset contract.
    bbox, datetime : optional
        Place (west, south, east, north in degrees) and date to search in ``catalog``.
    items : list of str, optional
        Sentinel-1 item ids to load from ``catalog`` (with ``datetime`` to narrow).
    catalog : str
        Catalog name, STAC API URL or static catalog path.
    model : str
        Registered weights name or weights file.
    chart : str, optional
        Ice-chart file (SIGRID-3) for concentration per polygon and ``preserve="chart"``.
    preserve : {"auto", "none", "scene", "chart"}
        ALS bias option ([`resolve_preserve`][xseaice.workflow.resolve_preserve]); ``"auto"``:
        ``"chart"`` when ``chart`` is given, else ``"scene"``.  Plain ALS (``"none"``) places the
        threshold at the middle of the scene's 2-98 % logit spread, which suits scenes with as much
        ice as water; with the bundled weights it loses to the raw threshold on held-out
        scenes (see ``benchmarks/bench_weak_supervision.py``), the two ``preserve`` modes
        win.
    resolution : float
        Pixel size in metres of the loaded grid.
    precision : {"auto", "fp32", "bf16"}
        Model precision (`xseaice.inference.segment`).
    tta : bool
        Test-time augmentation: the mean of four flipped views (`xseaice.inference.segment`),
        four times the model's cost.
    figure, progress : bool
        Write the PNG figure; show progress bars.
    overwrite : bool
        Replace a product set already in ``output`` (see
        [`write_products`][xseaice.workflow.write_products]).

    Returns
    -------
    Products
        What was written.
    """
    from xseaice.io.icechart import read_icechart

    chart_gdf = read_icechart(chart) if chart else None
    resolve_preserve(preserve, chart_gdf)  # fail before loading anything
    check_output(output, owned=_owned("xseaice"), overwrite=overwrite)
    if source is not None:
        scene = open_local_scene(source)
    else:
        from xseaice.stac.loading import load
        from xseaice.stac.searching import search

        if bbox is not None and datetime is None:
            raise InvalidArgumentError("--bbox needs --datetime (a date or an interval a/b)")
        result = search(bbox, datetime, catalog=catalog, ids=items or None)
        if items:
            absent = sorted(set(items) - {item.id for item in result.sentinel1})
            if absent:
                raise EmptySearchError(
                    f"--items: {absent} not found in {catalog!r} (datetime {datetime!r}); "
                    "check the ids with `xseaice search`"
                )
        scene = load(result, resolution=resolution)
    written = write_products(
        scene,
        output,
        model=model,
        chart=chart_gdf,
        preserve=preserve,
        figure=figure,
        progress=progress,
        segment_kwargs={"precision": precision, "tta": tta},
        overwrite=overwrite,
    )
    logger.info("%s", written)
    return written
