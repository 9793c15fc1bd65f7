"""Geocoded raster assets onto the scene's GeoBox, through ``odc.stac.load``.

Sentinel-1 GRD needs its own reader (GCP geolocation, calibration annotation:
[`xseaice.stac.grd`][]), but every asset with a real georeference (a COG or netCDF whose
item has ``proj:*`` fields or whose file has its own transform: a sea-ice-concentration
product, a land mask, a chart raster, a user's own collection) is what odc-stac is made
for.  [`load_geocoded`][xseaice.stac.geocoded.load_geocoded] hands such items to `odc.stac.load`
with the GeoBox and chunks of the Sentinel-1 variables, so the variables line up cell for cell and
chunk for chunk, and matches their time steps to the scene's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from xseaice.exceptions import InvalidArgumentError, LoadError
from xseaice.io.urls import redact_text
from xseaice.stac.grid import ChunkLayout

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["load_geocoded"]

logger = logging.getLogger(__name__)


def load_geocoded(
    items: Sequence[Any],
    bands: Sequence[str],
    layout: ChunkLayout,
    *,
    times: np.ndarray,
    resampling: str = "bilinear",
    patch_url: Callable[[str], str] | None = None,
) -> xr.Dataset:
    """Load ``bands`` of geocoded ``items`` lazily onto ``layout``'s GeoBox and chunks.

    Parameters
    ----------
    items : sequence of pystac.Item
        Items whose assets ``bands`` are georeferenced rasters.
    bands : sequence of str
        Asset keys (or ``raster:bands`` names) to load; they become variables.
    layout : ChunkLayout
        The GeoBox and chunking of the scene ([`xseaice.stac.grid.ChunkLayout`][]).
    times : numpy.ndarray of datetime64
        The scene's time steps; each gets the geocoded time step nearest to it (a single
        one, e.g. a static land mask, is repeated).
    resampling : str
        odc-stac resampling (``"bilinear"``, ``"nearest"``...).
    patch_url : callable, optional
        ``href -> href`` applied before reading (signing).

    Returns
    -------
    xarray.Dataset
        Lazy variables ``bands`` with dims ``(time, y, x)`` on the scene's grid.

    Raises
    ------
    InvalidArgumentError
        If ``bands`` is empty or not strings.
    LoadError
        If odc-stac cannot build the load (e.g. an unknown band).
    """
    import odc.stac

    if isinstance(bands, str) or not bands or not all(isinstance(b, str) for b in bands):
        raise InvalidArgumentError(
            f"bands={bands!r}; expected a non-empty list of asset names, e.g. ['sic']."
        )
    chunks: dict[str, int | Literal["auto"]] = {"y": layout.ychunks[0], "x": layout.xchunks[0]}
    try:
        ds = odc.stac.load(
            list(items),
            bands=list(bands),
            geobox=layout.geobox,
            chunks=chunks,
            resampling=resampling,
            patch_url=patch_url,
            groupby="time",
        )
    except (ValueError, KeyError) as exc:
        have = sorted({k for it in items for k in it.assets})
        raise LoadError(
            f"odc-stac cannot load bands {list(bands)} from items "
            f"{[it.id for it in items]} ({redact_text(str(exc))}); the items have assets "
            f"{have}."
        ) from None
    idx = _nearest(ds["time"].values, np.asarray(times, dtype="datetime64[ns]"))
    out = ds.isel(time=idx).assign_coords(time=np.asarray(times, dtype="datetime64[ns]"))
    for name in out.data_vars:
        out[name].attrs.setdefault("grid_mapping", "spatial_ref")
        out[name].attrs["source_items"] = " ".join(it.id for it in items)
    return out


def _nearest(have: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Index into ``have`` of the time nearest to each of ``want``."""
    have = np.asarray(have, dtype="datetime64[ns]").astype("int64")
    want = np.asarray(want, dtype="datetime64[ns]").astype("int64")
    return np.abs(want[:, None] - have[None, :]).argmin(axis=1)
