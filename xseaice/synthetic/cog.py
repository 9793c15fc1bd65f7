"""Write an xarray object as a cloud-optimised GeoTIFF (tiled 256, deflate, overviews)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from xseaice.exceptions import CRSError, InvalidArgumentError
from xseaice.io.atomic import atomic_path

__all__ = ["write_cog"]

logger = logging.getLogger(__name__)


def write_cog(
    data: Any,
    path: str | os.PathLike[str],
    *,
    nodata: float | int | None = None,
    resampling: str = "average",
) -> Path:
    """Write a DataArray (or the variables of a Dataset, one band each) as a COG.

    Parameters
    ----------
    data : xarray.DataArray or xarray.Dataset
        2-D ``(y, x)`` (a leading ``time`` of size 1 is dropped) with a CRS that ``.odc``
        reads (e.g. from [`make_scene`][xseaice.synthetic.scene.make_scene]).  A Dataset becomes one
        band per variable, named by the band descriptions.
    path : path
        Output file; written to a temporary file and renamed into place.
    nodata : number, optional
        Nodata value; default NaN for float data, none for integers.
    resampling : str
        Overview resampling (GDAL name: ``average``, ``nearest``, ``mode``...).

    Returns
    -------
    pathlib.Path
        The file.
    """
    import odc.geo.xr  # noqa: F401
    import rasterio
    import xarray as xr

    if isinstance(data, xr.Dataset):
        names = [str(v) for v in data.data_vars]
        arrays = [data[v] for v in names]
    elif isinstance(data, xr.DataArray):
        names = [str(data.name or "band1")]
        arrays = [data]
    else:
        raise InvalidArgumentError(
            f"data must be an xarray DataArray or Dataset; got {type(data).__name__}"
        )
    if not arrays:
        raise InvalidArgumentError("data has no variables to write")
    arrs = []
    for a in arrays:
        if "time" in a.dims:
            if a.sizes["time"] != 1:
                raise InvalidArgumentError(
                    f"{a.name!r} has {a.sizes['time']} time steps; select one with .isel(time=i)"
                )
            a = a.isel(time=0)
        if a.ndim != 2:
            raise InvalidArgumentError(f"{a.name!r} must be 2-D (y, x); got dims {a.dims}")
        arrs.append(a)
    gbox = arrs[0].odc.geobox
    if gbox is None or gbox.crs is None:
        raise CRSError("data has no CRS; attach one (e.g. .odc.assign_crs('EPSG:3413')).")
    stack = np.stack([np.asarray(a.values) for a in arrs])
    if stack.dtype == np.float64:
        stack = stack.astype(np.float32)
    if nodata is None and stack.dtype.kind == "f":
        nodata = float("nan")
    h, w = stack.shape[1:]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": w,
        "height": h,
        "count": stack.shape[0],
        "dtype": stack.dtype.name,
        "crs": gbox.crs.to_wkt(),
        "transform": gbox.transform,
        "blocksize": 256,
        "compress": "DEFLATE",
        "overview_resampling": resampling.upper(),
        "nodata": nodata,
    }
    with atomic_path(out) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(stack)
            for i, n in enumerate(names, start=1):
                dst.set_band_description(i, n)
    logger.info("wrote %s", out)
    return out
