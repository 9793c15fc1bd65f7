"""Calving fronts from zone maps, the way the CaFFe benchmark extracts them.

The front is the set of ocean pixels with a glacier pixel among their 4 neighbours:
boundaries of the ocean with rock or with no-data areas are not fronts.  Before that the
zone map is cleaned as in the benchmark's post-processing (holes inside the ocean are filled
with ocean; only the largest connected ocean body stays ocean), and afterwards front
fragments not longer than ``min_length`` (750 m in CaFFe) are dropped.  The front is
returned as a raster and as LineStrings (the longest path through each fragment) in the
scene's CRS.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import xarray as xr
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["CalvingFront", "calving_front", "front_pixels", "postprocess_zones", "zone_classes"]

logger = logging.getLogger(__name__)

NA, ROCK, GLACIER, OCEAN = 0, 1, 2, 3
_EIGHT = np.ones((3, 3), dtype=bool)


class CalvingFront(NamedTuple):
    """Result of [`calving_front`][xseaice.glaciers.fronts.calving_front]: vector lines and the
    front raster."""

    lines: gpd.GeoDataFrame
    raster: xr.DataArray


def _largest(labels: np.ndarray, n: int) -> int:
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    return int(sizes.argmax())


def postprocess_zones(zones: np.ndarray) -> np.ndarray:
    """CaFFe's zone clean-up: fill holes in the ocean, keep only the largest ocean body.

    Every connected non-ocean region (8-connectivity) except the largest becomes ocean;
    then every ocean region except the largest becomes glacier.

    Parameters
    ----------
    zones : numpy.ndarray
        2-D zone classes (0 NA, 1 rock, 2 glacier, 3 ocean).

    Returns
    -------
    numpy.ndarray
        The cleaned zones (a new uint8 array).
    """
    out = np.array(zones, dtype=np.uint8, copy=True)
    labels, n = ndimage.label(out != OCEAN, structure=_EIGHT)
    if n > 1:
        keep = _largest(labels, n)
        out[(labels > 0) & (labels != keep)] = OCEAN
    labels, n = ndimage.label(out == OCEAN, structure=_EIGHT)
    if n > 1:
        keep = _largest(labels, n)
        out[(labels > 0) & (labels != keep)] = GLACIER
    return out


def front_pixels(zones: np.ndarray, *, min_pixels: float = 0.0) -> np.ndarray:
    """Front raster of a zone map: ocean pixels 4-adjacent to glacier, short pieces dropped.

    Parameters
    ----------
    zones : numpy.ndarray
        2-D zone classes.
    min_pixels : float, default 0
        Fragments (8-connected) with at most this many pixels are removed (the benchmark
        uses 750 m divided by the pixel size).

    Returns
    -------
    numpy.ndarray
        uint8 0/1 front mask.
    """
    z = np.asarray(zones)
    glacier = np.pad(z == GLACIER, 1)
    touch = glacier[:-2, 1:-1] | glacier[2:, 1:-1] | glacier[1:-1, :-2] | glacier[1:-1, 2:]
    front = (z == OCEAN) & touch
    if min_pixels > 0 and front.any():
        labels, n = ndimage.label(front, structure=_EIGHT)
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        small = sizes <= min_pixels
        small[0] = False
        front[small[labels]] = False
    return front.astype(np.uint8)


def zone_classes(zones_or_probs: xr.DataArray) -> xr.DataArray:
    """Zone classes (uint8 y, x) from a class map, or argmax over a class dimension.

    A DataArray with a dimension named ``class`` or ending in ``_class`` (the
    ``zones_logit`` of [`xseaice.glaciers.segment.segment_zones`][]) is reduced by
    argmax; NaN pixels (no data) become class 0.  A 2-D integer map passes through.
    """
    if not isinstance(zones_or_probs, xr.DataArray):
        raise InvalidArgumentError(
            f"zones_or_probs must be an xarray.DataArray; got {type(zones_or_probs).__name__}"
        )
    da = zones_or_probs
    cdims = [d for d in da.dims if str(d) == "class" or str(d).endswith("_class")]
    if cdims:
        if da.sizes[cdims[0]] != 4:
            raise InvalidArgumentError(
                f"class dimension {cdims[0]!r} has {da.sizes[cdims[0]]} entries; expected 4 "
                "(na, rock, glacier, ocean)"
            )
        vals = np.asarray(da.transpose(cdims[0], "y", "x").values, dtype=np.float32)
        valid = np.isfinite(vals).all(axis=0)
        cls = np.where(valid, np.nan_to_num(vals, nan=-np.inf).argmax(axis=0), NA)
        return xr.DataArray(cls.astype(np.uint8), dims=("y", "x"), coords=_yx_coords(da))
    if set(da.dims) != {"y", "x"}:
        raise InvalidArgumentError(
            f"zones_or_probs has dims {da.dims}; expected ('y', 'x') zone classes or a class "
            "dimension ('<name>_class', 'y', 'x') of probabilities or logits"
        )
    vals = np.asarray(da.transpose("y", "x").values)
    if np.issubdtype(vals.dtype, np.floating):
        vals = np.where(np.isfinite(vals), vals, NA)
    vals = np.where((vals >= 0) & (vals <= 3), vals, NA).astype(np.uint8)  # 255 fill -> NA
    return xr.DataArray(vals, dims=("y", "x"), coords=_yx_coords(da))


def _yx_coords(da: xr.DataArray) -> dict[str, Any]:
    return {str(k): c for k, c in da.coords.items() if set(c.dims) <= {"y", "x"}}


def _pixel_size(da: xr.DataArray, pixel_size: float | None) -> float:
    if pixel_size is not None:
        px = float(pixel_size)
    elif "pixel_size" in da.attrs:
        px = float(da.attrs["pixel_size"])
    elif "x" in da.coords and da.sizes.get("x", 0) > 1:
        px = abs(float(da["x"].values[1] - da["x"].values[0]))
    else:
        raise InvalidArgumentError(
            "pixel_size is needed to turn min_length into pixels: pass pixel_size= (metres), "
            "or give the array x coordinates or a 'pixel_size' attribute"
        )
    if not np.isfinite(px) or px <= 0:
        raise InvalidArgumentError(f"pixel_size must be positive metres; got {px}")
    return px


def _longest_path(pixels: np.ndarray) -> list[tuple[int, int]]:
    """Longest geodesic (8-connected BFS) path through one fragment's pixels."""
    members = {(int(r), int(c)) for r, c in pixels}

    def bfs(start: tuple[int, int]) -> tuple[tuple[int, int], dict[Any, Any]]:
        parent: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
        queue, last = deque([start]), start
        while queue:
            last = queue.popleft()
            r, c = last
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    nb = (r + dr, c + dc)
                    if nb in members and nb not in parent:
                        parent[nb] = last
                        queue.append(nb)
        return last, parent

    a, _ = bfs(min(members))
    b, parent = bfs(a)
    path: list[tuple[int, int]] = []
    node: tuple[int, int] | None = b
    while node is not None:
        path.append(node)
        node = parent[node]
    return path


def calving_front(
    zones_or_probs: xr.DataArray,
    *,
    min_length: float = 750.0,
    pixel_size: float | None = None,
    postprocess: bool = True,
) -> CalvingFront:
    """Calving-front lines and raster from a zone map or zone probabilities.

    Parameters
    ----------
    zones_or_probs : xarray.DataArray
        Zone classes ``(y, x)`` (0 NA, 1 rock, 2 glacier, 3 ocean; 255 = no data), or
        probabilities / logits with a class dimension (``zones_class`` or ``class``).
    min_length : float, default 750.0
        Fragments with at most ``min_length / pixel_size`` pixels are dropped (CaFFe).
    pixel_size : float, optional
        Metres per pixel; default the ``pixel_size`` attribute or the x spacing.
    postprocess : bool, default True
        Apply CaFFe's zone clean-up
        (`postprocess_zones`) first.

    Returns
    -------
    CalvingFront
        ``lines``: GeoDataFrame (``n_pixels``, ``length_m``, LineString ``geometry``) in
        the scene's CRS (from ``spatial_ref``), one row per kept fragment; ``raster``:
        uint8 ``front`` (1 on front pixels) on the input grid.
    """
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    zones = zone_classes(zones_or_probs)
    px = _pixel_size(zones_or_probs, pixel_size)
    if not np.isfinite(min_length) or min_length < 0:
        raise InvalidArgumentError(f"min_length must be >= 0 metres; got {min_length}")
    z = postprocess_zones(zones.values) if postprocess else zones.values
    front = front_pixels(z, min_pixels=min_length / px)
    ny, nx = front.shape
    xs = zones["x"].values if "x" in zones.coords else (np.arange(nx) + 0.5) * px
    ys = zones["y"].values if "y" in zones.coords else -(np.arange(ny) + 0.5) * px
    labels, n = ndimage.label(front, structure=_EIGHT)
    rows = []
    for k, idx in enumerate(ndimage.find_objects(labels), start=1):
        assert idx is not None
        rr, cc = np.nonzero(labels[idx] == k)
        path = _longest_path(np.stack([rr + idx[0].start, cc + idx[1].start], axis=1))
        pts = [(float(xs[c]), float(ys[r])) for r, c in path]
        geom = LineString(pts) if len(pts) > 1 else Point(pts[0])
        rows.append({"n_pixels": int(rr.size), "length_m": float(geom.length), "geometry": geom})
    crs = _crs(zones_or_probs)
    lines = gpd.GeoDataFrame(rows, columns=["n_pixels", "length_m", "geometry"], crs=crs)
    attrs = {
        "long_name": "calving front (ocean pixels bordering glacier)",
        "flag_values": np.array([0, 1], dtype=np.uint8),
        "flag_meanings": "no_front front",
        "min_length_m": float(min_length),
        "pixel_size": px,
    }
    if crs is not None:
        attrs["grid_mapping"] = "spatial_ref"
    raster = xr.DataArray(front, dims=("y", "x"), coords=zones.coords, name="front", attrs=attrs)
    logger.debug("calving_front: %d fragments kept of %d front pixels", n, int(front.sum()))
    return CalvingFront(lines, raster)


def _crs(da: xr.DataArray) -> Any:
    ref = da.coords.get("spatial_ref")
    wkt = ref.attrs.get("crs_wkt") if ref is not None else None
    return wkt or None
