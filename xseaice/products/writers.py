"""Product writers: Cloud-Optimized GeoTIFF, the per-polygon table, encodings for Zarr.

Every file is written under a temporary name next to its target and moved into place
when complete (:func:`xseaice.io.atomic.atomic_path`), so an interrupted run never leaves a
half-written product.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from xseaice.io.atomic import atomic_path

__all__ = ["without_encoding", "write_cog", "write_table"]


def write_cog(da: xr.DataArray, path: Path, *, nodata: float | int) -> None:
    """Write a 2-D georeferenced DataArray as a DEFLATE COG (256 px blocks, overviews
    averaged for floats and nearest for classes), atomically.

    Parameters
    ----------
    da : xarray.DataArray
        ``(y, x)`` with a CRS (``spatial_ref``) that rioxarray reads.
    path : pathlib.Path
        The target file.
    nodata : float or int
        The nodata value written into the file.
    """
    import rioxarray  # noqa: F401  (registers .rio)

    clean = da.copy()
    clean.encoding = {}
    clean.attrs.pop("_FillValue", None)
    with atomic_path(path) as tmp:
        out = clean.rio.write_nodata(nodata, encoded=False)
        resampling = "NEAREST" if np.issubdtype(da.dtype, np.integer) else "AVERAGE"
        out.rio.to_raster(
            tmp,
            driver="COG",
            compress="DEFLATE",
            blocksize=256,
            overview_resampling=resampling,
        )


def without_encoding(ds: xr.Dataset) -> xr.Dataset:
    """A shallow copy without the on-disk encodings inherited from the input scene (a
    Zarr v3 ``serializer``, say, cannot be written to the products' Zarr v2 store)."""
    out = ds.copy()
    for var in out.variables.values():
        var.encoding = {}
    return out


def _case_unique(table: Any) -> Any:
    """Rename columns whose names differ only in case (``CT`` and ``ct``): GeoPackage
    field names are case-insensitive.  The lower-case (decoded) one gets ``_value``."""
    seen = {str(c).lower() for c in table.columns if str(c) != str(c).lower()}
    clashes = {c: f"{c}_value" for c in table.columns if str(c) == str(c).lower() and c in seen}
    return table.rename(columns=clashes)


def write_table(table: Any, folder: Path, prefix: str) -> dict[str, Path]:
    """Write the per-polygon table as GeoPackage and GeoParquet, atomically.

    Parameters
    ----------
    table : geopandas.GeoDataFrame
        The table of :func:`xseaice.products.zonal.concentration`.
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
    for ext, frame in ((".gpkg", _case_unique(table)), (".parquet", table)):
        path = folder / f"{prefix}_concentration{ext}"
        with atomic_path(path) as tmp:
            frame.to_file(tmp) if ext == ".gpkg" else frame.to_parquet(tmp)
        files[f"table_{ext[1:]}"] = path
    return files
