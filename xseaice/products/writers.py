"""Product writers: Cloud-Optimized GeoTIFF, the per-polygon table, encodings for Zarr.

Every file is written under a temporary name next to its target and moved into place
when complete ([`xseaice.io.atomic.atomic_path`][]), so an interrupted run never leaves a
half-written product.
"""

from __future__ import annotations

import threading
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.atomic import atomic_path

__all__ = [
    "COG_CACHE_MB",
    "FLAG_COLORMAP",
    "FLAG_NODATA",
    "STANDARD_NAMES",
    "cf_dataset",
    "is_flag_layer",
    "provenance",
    "table_schema",
    "without_encoding",
    "write_cog",
    "write_table",
]

#: GDAL block cache (MB) while a COG is written: the tiled source and the overviews are
#: streamed through it, so it bounds the writer's memory whatever the raster's size.
COG_CACHE_MB: int = 256

#: Nodata value of uint8 flag layers (CF ``_FillValue``).
FLAG_NODATA: int = 255


#: Colour table of 0/1 flag layers: 0 dark blue, 1 white, the nodata value transparent.
FLAG_COLORMAP: dict[int, tuple[int, int, int, int]] = {
    0: (8, 48, 107, 255),
    1: (255, 255, 255, 255),
    FLAG_NODATA: (0, 0, 0, 0),
}


def is_flag_layer(da: xr.DataArray) -> bool:
    """Whether ``da`` holds flags or classes (CF ``flag_values``, or an integer dtype)."""
    return "flag_values" in da.attrs or np.issubdtype(da.dtype, np.integer)


def write_cog(
    da: xr.DataArray,
    path: Path,
    *,
    nodata: float | int | None = None,
    kind: Literal["auto", "flags", "continuous"] = "auto",
    tags: dict[str, Any] | None = None,
) -> None:
    """Write a 2-D georeferenced DataArray as a DEFLATE COG (256 px blocks), atomically.

    Flag and class layers (``kind="flags"``) are written as uint8 with nodata 255, the
    colour table [`FLAG_COLORMAP`][xseaice.products.writers.FLAG_COLORMAP] and overviews resampled
    with ``NEAREST`` (so every overview pixel is one of the layer's values); continuous layers
    (probabilities, logits) as float32 with NaN nodata and averaged overviews.  The band carries a
    description (``long_name`` or the name) and the layer's attributes as tags; ``tags``
    go on the dataset.

    A dask-backed ``da`` (a variable of the products' Zarr store, say) is computed and
    written block by block, its chunks in parallel, into a tiled GeoTIFF, which GDAL's COG
    driver then copies with the overviews it builds from that file; neither step holds the
    whole array, and GDAL's block cache is limited to
    [`COG_CACHE_MB`][xseaice.products.writers.COG_CACHE_MB].

    Parameters
    ----------
    da : xarray.DataArray
        ``(y, x)`` with a CRS (``spatial_ref``) that rioxarray reads.  Flags may arrive
        decoded (float with NaN for no data): NaN and values outside 0-254 become 255.
    path : pathlib.Path
        The target file.
    nodata : float or int, optional
        The nodata value written into the file; default 255 for flags, NaN otherwise.
    kind : {"auto", "flags", "continuous"}, default "auto"
        ``"auto"``: flags when ``da`` has ``flag_values`` or an integer dtype.
    tags : dict, optional
        Dataset-level tags (provenance).
    """
    import rasterio
    import rasterio.shutil
    import rioxarray  # noqa: F401  (registers .rio)

    if kind not in ("auto", "flags", "continuous"):
        raise InvalidArgumentError(f"kind={kind!r}: expected 'auto', 'flags' or 'continuous'")
    flags = is_flag_layer(da) if kind == "auto" else kind == "flags"
    clean, fill = _cog_values(da, flags=flags, nodata=nodata)
    band_tags = {k: _tag(v) for k, v in da.attrs.items() if k not in _NOT_TAGS}
    with atomic_path(path) as tmp, rasterio.Env(GDAL_CACHEMAX=COG_CACHE_MB):
        src = tmp.with_name(f"src_{tmp.name}")
        # A dask array is written block by block (``lock``: one block at a time into the
        # file, computed in parallel), never whole; GDAL's block cache is bounded too.
        clean.rio.write_nodata(fill, encoded=False).rio.to_raster(
            src, driver="GTiff", tiled=True, compress="DEFLATE", lock=threading.Lock()
        )
        with rasterio.open(src, "r+") as dst:
            dst.set_band_description(1, str(da.attrs.get("long_name", da.name or "band")))
            dst.update_tags(1, **band_tags)
            if tags:
                dst.update_tags(**{k: _tag(v) for k, v in tags.items()})
            if flags:
                dst.write_colormap(1, FLAG_COLORMAP)
        rasterio.shutil.copy(
            src,
            tmp,
            driver="COG",
            compress="DEFLATE",
            blocksize=256,
            overview_resampling="NEAREST" if flags else "AVERAGE",
        )
        src.unlink()


#: Attributes that are not written as band tags (encodings, or rasterio's own).
_NOT_TAGS = frozenset({"_FillValue", "missing_value", "grid_mapping", "nodata"})


def _tag(value: Any) -> str:
    if isinstance(value, np.ndarray | list | tuple):
        return " ".join(str(v) for v in np.asarray(value).ravel().tolist())
    return str(value)


def _cog_values(
    da: xr.DataArray, *, flags: bool, nodata: float | int | None
) -> tuple[xr.DataArray, float | int]:
    """The DataArray as stored in the COG: uint8 flags or float32, no encodings."""
    fill: float | int
    if flags:
        fill = FLAG_NODATA if nodata is None else int(nodata)
        values = da.data
        bad = ~np.isfinite(values) | (values < 0) | (values >= FLAG_NODATA)
        out = da.copy(data=np.where(bad, fill, values).astype("uint8"))
    else:
        fill = np.nan if nodata is None else float(nodata)
        out = da.astype("float32")
    out.encoding = {}
    out.attrs = {}
    return out, fill


def without_encoding(ds: xr.Dataset) -> xr.Dataset:
    """A shallow copy without the on-disk encodings inherited from the input scene (a
    Zarr v3 ``serializer``, say, cannot be written to the products' Zarr v2 store)."""
    out = ds.copy()
    for var in out.variables.values():
        var.encoding = {}
    return out


#: CF ``standard_name`` of the product variables that have one.
STANDARD_NAMES: dict[str, str] = {"ice_fraction": "sea_ice_area_fraction"}

_AXES = {
    "x": ("projection_x_coordinate", "x coordinate of projection", "m", "X"),
    "y": ("projection_y_coordinate", "y coordinate of projection", "m", "Y"),
}


def provenance(
    *, scene_attrs: dict[str, Any], logits_attrs: dict[str, Any], chart: str | None = None
) -> dict[str, str]:
    """CF global attributes and provenance of a product set.

    Parameters
    ----------
    scene_attrs : dict
        Attributes of the input scene (``sentinel1_items``, ``amsr2_items`` of
        [`xseaice.load`][xseaice.stac.loading.load], or a synthetic scene's ``source``).
    logits_attrs : dict
        Attributes of the logits (``model``, ``weights_sha256`` of
        `xseaice.inference.segment`).
    chart : str, optional
        A description of the ice chart used (file name), if any.

    Returns
    -------
    dict
        ``Conventions``, ``title``, ``history``, ``source``, ``xseaice_version``,
        ``model``, ``model_sha256``.
    """
    from datetime import datetime

    from xseaice import __version__

    parts = []
    for key, label in (("sentinel1_items", "Sentinel-1"), ("amsr2_items", "AMSR-2")):
        if scene_attrs.get(key):
            parts.append(f"{label}: {scene_attrs[key]}")
    if not parts and scene_attrs.get("source"):
        parts.append(f"scene: {scene_attrs['source']}")
    if chart:
        parts.append(f"ice chart: {chart}")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    model = str(logits_attrs.get("model", "unknown"))
    return {
        "Conventions": "CF-1.10",
        "title": "Sea ice and leads from Sentinel-1 SAR and AMSR-2 (xseaice)",
        "history": f"{now} xseaice {__version__} write_products (model {model})",
        "source": "; ".join(parts) or "unknown",
        "xseaice_version": __version__,
        "model": model,
        "model_sha256": str(logits_attrs.get("weights_sha256", "unknown")),
    }


def cf_dataset(ds: xr.Dataset, attrs: dict[str, str]) -> xr.Dataset:
    """A copy of a product Dataset ready for a CF netCDF / Zarr store.

    Global ``attrs`` (from [`provenance`][xseaice.products.writers.provenance]); ``x`` / ``y`` with
    their projection ``standard_name``, ``units: m`` and ``axis``; ``time`` with ``axis: T``;
    [`STANDARD_NAMES`][xseaice.products.writers.STANDARD_NAMES]; ``_FillValue`` moved from the
    attributes to the encoding; ``fsd_bin`` as a coordinate (the lower floe-area edge, with bounds)
    and the first dimension of the floe size distribution.
    No encodings inherited from the input are kept (see
    [`without_encoding`][xseaice.products.writers.without_encoding]).
    """
    out = without_encoding(ds)
    out.attrs = {**out.attrs, **attrs}
    for name, (std, long_name, units, axis) in _AXES.items():
        if name in out.coords:
            out[name].attrs.update(standard_name=std, long_name=long_name, units=units, axis=axis)
    if "time" in out.coords:
        out["time"].attrs.update(standard_name="time", axis="T")
    if "spatial_ref" in out.coords:
        _cf_grid_mapping(out["spatial_ref"].attrs)
    if "fsd_area_min" in out.coords and "fsd_bin" in out.dims:
        low = out["fsd_area_min"].values
        high = out["fsd_area_max"].values
        out = out.assign_coords(
            fsd_bin=(
                "fsd_bin",
                low,
                {
                    "long_name": "lower floe-area edge of the bin",
                    "units": "m2",
                    "bounds": "fsd_bin_bounds",
                },
            ),
            fsd_bin_bounds=(("fsd_bin", "nv"), np.stack([low, high], axis=1), {"units": "m2"}),
        ).drop_vars(["fsd_area_min", "fsd_area_max"])
    for var_name in [n for n in out.data_vars if "fsd_bin" in out[n].dims]:
        out[var_name] = out[var_name].transpose("fsd_bin", ...)  # CF: other dims left of T, Y, X
    for key, var in out.variables.items():
        if key in out.coords and np.issubdtype(var.dtype, np.floating):
            var.encoding["_FillValue"] = None  # CF: coordinates have no missing values
        for attr in ("valid_min", "valid_max", "valid_range", "flag_values"):
            if attr in var.attrs and var.dtype.kind in "uif":
                var.attrs[attr] = np.asarray(var.attrs[attr]).astype(var.dtype)
        if "_FillValue" in var.attrs:
            var.encoding["_FillValue"] = var.attrs.pop("_FillValue")
        if str(key) in STANDARD_NAMES:
            var.attrs["standard_name"] = STANDARD_NAMES[str(key)]
    return out


def _cf_grid_mapping(attrs: dict[str, Any]) -> None:
    """Complete a pyproj CF grid mapping: a ``long_name`` and, for polar stereographic,
    the ``latitude_of_projection_origin`` (+-90) that CF requires and pyproj leaves out."""
    attrs.setdefault("long_name", "coordinate reference system")
    if attrs.get("grid_mapping_name") == "polar_stereographic":
        parallel = float(np.ravel(attrs.get("standard_parallel", 90.0))[0])
        attrs.setdefault("latitude_of_projection_origin", 90.0 if parallel >= 0 else -90.0)


def table_schema(table: Any) -> Any:
    """The one column schema of the per-polygon tables (GeoPackage and GeoParquet).

    GeoPackage field names are case-insensitive, so columns whose names differ only in
    case (the chart's SIGRID-3 code ``CT`` and the decoded ``ct``) cannot both be kept
    as they are: the upper-case code columns get a ``_code`` suffix (``CT_code``,
    ``POLY_TYPE_code``) and the decoded lower-case ones keep their names, in both files;
    the geometry is the last column (as GeoPackage readers return it).

    The columns: the chart's own; the statistics of
    [`xseaice.products.zonal.concentration`][] (``mean``, ``count``, ``chart_concentration``,
    ``difference``, ...); and, when the probability was scaled to this chart
    (``preserve="chart"``), what Analytical Logit Scaling applied to each polygon
    ([`xseaice.products.als_applied`][]): ``als_bias`` and ``als_temperature`` (``b``
    and ``T`` of ``sigmoid((logit - b) / T)``), ``als_low`` / ``als_high`` (the ice
    fractions the chart accepts, its range widened by the tolerance), ``als_target`` (the
    ice fraction the polygon was scaled to) and ``als_status`` (``kept``, ``raised``,
    ``lowered``, ``no_pixels``, ``no_concentration``, ``no_contrast``).
    """
    lower = {str(c) for c in table.columns if str(c) == str(c).lower()}
    clashes = {
        c: f"{c}_code"
        for c in table.columns
        if str(c) != str(c).lower() and str(c).lower() in lower
    }
    out = table.rename(columns=clashes)
    geometry = out.geometry.name
    return out[[c for c in out.columns if c != geometry] + [geometry]]


def write_table(table: Any, folder: Path, prefix: str) -> dict[str, Path]:
    """Write the per-polygon table as GeoPackage and GeoParquet, atomically.

    Parameters
    ----------
    table : geopandas.GeoDataFrame
        The table of [`xseaice.products.zonal.concentration`][].
    folder : pathlib.Path
        Output folder.
    prefix : str
        File-name prefix (``<prefix>_concentration.gpkg`` / ``.parquet``).

    Returns
    -------
    dict
        ``{"table_gpkg": path, "table_parquet": path}``.
    """
    files: dict[str, Path] = {}
    frame = table_schema(table)
    for ext in (".gpkg", ".parquet"):
        path = folder / f"{prefix}_concentration{ext}"
        with atomic_path(path) as tmp:
            frame.to_file(tmp) if ext == ".gpkg" else frame.to_parquet(tmp)
        files[f"table_{ext[1:]}"] = path
    return files
