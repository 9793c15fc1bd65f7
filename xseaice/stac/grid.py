"""The output grid: polar stereographic GeoBoxes, chunk layout.

[`make_geobox`][xseaice.stac.grid.make_geobox] turns a lon/lat bbox (or the items' footprints) into
the `odc.geo.geobox.GeoBox` every variable of a load shares;
[`resolve_geobox`][xseaice.stac.grid.resolve_geobox] checks a user's own grid;
[`ChunkLayout`][xseaice.stac.grid.ChunkLayout] cuts it into dask chunks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xseaice.exceptions import CRSError, InvalidArgumentError
from xseaice.stac.items import item_footprint, parse_bbox

__all__ = [
    "DEFAULT_CHUNK",
    "ChunkLayout",
    "check_crs",
    "crop_to_footprints",
    "default_crs",
    "make_geobox",
    "nan_chunk",
    "resolve_geobox",
]

#: Default chunk edge (cells); a multiple of 256 so model tiles align with chunks.
DEFAULT_CHUNK = 1024


def check_crs(crs: Any) -> Any:
    from odc.geo.crs import CRS

    try:
        out = CRS(crs)
    except Exception:
        raise CRSError(
            f"crs={crs!r} is not a coordinate reference system pyproj understands; "
            "expected e.g. 'EPSG:3413' (Arctic), 'EPSG:3031' (Antarctic), 'EPSG:3996', or a "
            "WKT / PROJ string. Leave crs=None to pick the polar stereographic grid."
        ) from None
    if out.geographic:
        raise CRSError(
            f"crs={crs!r} is geographic (degrees), but resolution is in metres; expected a "
            "projected CRS such as 'EPSG:3413' or 'EPSG:3031'."
        )
    return out


def default_crs(latitude: float) -> str:
    """The polar stereographic CRS for a latitude: EPSG:3413 (north) or EPSG:3031 (south).

    Parameters
    ----------
    latitude : float
        Degrees north.

    Returns
    -------
    str
    """
    return "EPSG:3413" if latitude >= 0 else "EPSG:3031"


def _lonlat_region(boxes: Sequence[tuple[float, float, float, float]]) -> Any:
    """Shapely lon/lat region of one or two (antimeridian split) boxes."""
    from shapely import box, union_all

    parts = [box(*b) for b in boxes]
    return parts[0] if len(parts) == 1 else union_all(parts)


def _geodesic_densify(geom: Any, spacing: float) -> Any:
    """``geom`` (lon/lat) with points inserted along each edge's geodesic every ``spacing``
    metres: a satellite footprint's edges follow great circles, not lines of constant
    slope in lon/lat (which bow up to 23 km off a 400 km EW swath at 80 N)."""
    import shapely
    from pyproj import Geod

    geod = Geod(ellps="WGS84")

    def ring(coords: np.ndarray) -> np.ndarray:
        out = [coords[:1]]
        for (x0, y0), (x1, y1) in itertools.pairwise(coords):
            n = int(geod.inv(x0, y0, x1, y1)[2] // spacing)
            if n > 0:
                out.append(np.asarray(geod.npts(x0, y0, x1, y1, n)).reshape(-1, 2))
            out.append(np.array([[x1, y1]]))
        return np.concatenate(out)

    parts = []
    for poly in shapely.get_parts(geom):
        holes = [ring(np.asarray(r.coords)[:, :2]) for r in poly.interiors]
        parts.append(shapely.Polygon(ring(np.asarray(poly.exterior.coords)[:, :2]), holes))
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def project(geom: Any, crs: Any, *, densify: float = 0.05, geodesic: bool = False) -> Any:
    """A lon/lat shapely geometry in ``crs``, edges densified every ``densify`` degree
    (lon/lat boxes), or along geodesics every 2 km (``geodesic``: item footprints)."""
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", crs.to_wkt(), always_xy=True)

    def fwd(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    dense = _geodesic_densify(geom, 2000.0) if geodesic else shapely.segmentize(geom, densify)
    return shapely.transform(dense, fwd)


def _projected_bounds(
    region: Any, crs: Any, *, geodesic: bool = False
) -> tuple[float, float, float, float]:
    """Bounds in ``crs`` of a lon/lat region, its boundary densified every 0.05 degree
    (along geodesics for item footprints: ``geodesic``).

    A lon/lat box reaching a pole has the pole on its (densified) boundary, and a box
    around all longitudes projects to a disc or ring, so the bounds are right for both.
    """
    x0, y0, x1, y1 = project(region, crs, geodesic=geodesic).bounds
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x1 <= x0 or y1 <= y0:
        raise CRSError(
            f"the region cannot be projected to {crs}; choose a CRS that covers it "
            "(EPSG:3413 for the Arctic, EPSG:3031 for the Antarctic)."
        )
    return x0, y0, x1, y1


def make_geobox(
    bbox: Any = None,
    *,
    items: Sequence[Any] = (),
    resolution: float = 40.0,
    crs: Any = None,
) -> Any:
    """The output grid for a lon/lat ``bbox`` (or the union of the items' footprints).

    Parameters
    ----------
    bbox : (west, south, east, north), optional
        Degrees; ``west > east`` crosses the antimeridian.  Default: the union of the
        items' footprints.
    items : sequence of pystac.Item
        Used when ``bbox`` is None.
    resolution : float
        Cell size in CRS units (metres).
    crs : optional
        Output CRS; default [`default_crs`][xseaice.stac.grid.default_crs] of the region's centre
        latitude.

    Returns
    -------
    odc.geo.geobox.GeoBox
        Square cells snapped to multiples of ``resolution``, ``y`` decreasing.

    Raises
    ------
    CRSError
        If ``crs`` is not understood or geographic, or the region spans both hemispheres
        and no ``crs`` is given.
    InvalidArgumentError
        If ``resolution`` is not a positive number, or there is neither a bbox nor items.
    """
    from odc.geo.geobox import GeoBox
    from shapely import union_all

    if not isinstance(resolution, (int, float)) or not resolution > 0:
        raise InvalidArgumentError(
            f"resolution={resolution!r}; expected a positive cell size in metres, e.g. 40."
        )
    if bbox is not None:
        region = _lonlat_region(parse_bbox(bbox))
        south, north = float(bbox[1]), float(bbox[3])
    else:
        feet = [f for f in (item_footprint(i) for i in items) if f is not None]
        if not feet:
            raise InvalidArgumentError(
                "no bbox and no item footprint to take the grid from; pass bbox=(west, "
                "south, east, north) or geobox=."
            )
        region = union_all(feet) if len(feet) > 1 else feet[0]
        _, south, _, north = region.bounds
    if crs is None:
        if south < 0 < north:
            raise CRSError(
                f"the region spans both hemispheres (latitudes {south} to {north}); "
                "no single polar grid fits. Pass crs= explicitly (e.g. 'EPSG:3413')."
            )
        crs = default_crs((south + north) / 2)
    out_crs = check_crs(crs)
    bounds = _projected_bounds(region, out_crs, geodesic=bbox is None)
    return GeoBox.from_bbox(bounds, out_crs, resolution=float(resolution))


def crop_to_footprints(geobox: Any, items: Sequence[Any], *, margin: float) -> Any:
    """The window of ``geobox`` that holds the items' footprints (geodesic edges, grown by
    ``margin`` metres) on the same pixel grid: a rotated swath fills a fraction of a
    lon/lat box.  ``geobox`` itself if an item has no footprint or the window is empty.

    Parameters
    ----------
    geobox : odc.geo.geobox.GeoBox
        The grid to cut (e.g. that of the searched bbox).
    items : sequence of pystac.Item
        The Sentinel-1 items whose footprints the window must hold.
    margin : float
        Metres added around the footprints.

    Returns
    -------
    odc.geo.geobox.GeoBox
    """
    from shapely import union_all

    feet = [item_footprint(it) for it in items]
    if not feet or any(f is None for f in feet):
        return geobox
    region = union_all([project(f, geobox.crs, geodesic=True) for f in feet])
    x0, y0, x1, y1 = region.buffer(margin).bounds
    aff, (h, w) = geobox.affine, geobox.shape
    c0, c1 = sorted(((x0 - aff.c) / aff.a, (x1 - aff.c) / aff.a))
    r0, r1 = sorted(((y0 - aff.f) / aff.e, (y1 - aff.f) / aff.e))
    c0, r0 = max(math.floor(c0), 0), max(math.floor(r0), 0)
    c1, r1 = min(math.ceil(c1), w), min(math.ceil(r1), h)
    if c1 <= c0 or r1 <= r0:
        return geobox
    return geobox[r0:r1, c0:c1]


def norm_chunks(chunks: Any, shape: tuple[int, int]) -> tuple[int, int]:
    if chunks is None:
        cy, cx = DEFAULT_CHUNK, DEFAULT_CHUNK
    elif isinstance(chunks, int):
        cy = cx = chunks
    elif isinstance(chunks, Mapping):
        cy = chunks.get("y", DEFAULT_CHUNK)
        cx = chunks.get("x", DEFAULT_CHUNK)
    elif isinstance(chunks, Sequence) and len(chunks) == 2:
        cy, cx = chunks
    else:
        raise InvalidArgumentError(
            f"chunks={chunks!r}; expected an int, (y, x) or {{'y': ..., 'x': ...}}."
        )
    for v in (cy, cx):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise InvalidArgumentError(f"chunks={chunks!r}; expected positive integers.")
    return min(int(cy), shape[0]), min(int(cx), shape[1])


def splits(n: int, c: int) -> tuple[int, ...]:
    full, rest = divmod(n, c)
    return (c,) * full + ((rest,) if rest else ())


def nan_chunk(nvar: int, shape: tuple[int, int]) -> np.ndarray:
    return np.full((1, nvar, *shape), np.nan, dtype="float32")


def resolve_geobox(
    geobox: Any, *, crs: Any, bbox: Any, items: Sequence[Any], resolution: float
) -> Any:
    """The load's grid: ``geobox`` checked (a GeoBox or ``ds.odc.geobox``), else made.

    Parameters
    ----------
    geobox : GeoBox, xarray object or None
        An explicit grid; None makes one with [`make_geobox`][xseaice.stac.grid.make_geobox] from
        ``bbox`` (or the ``items``' footprints), ``resolution`` and ``crs``.
    crs, bbox, items, resolution
        As for [`make_geobox`][xseaice.stac.grid.make_geobox].

    Returns
    -------
    odc.geo.geobox.GeoBox

    Raises
    ------
    InvalidArgumentError
        If ``geobox`` is neither a GeoBox nor an object carrying one.
    CRSError
        If the grid's CRS is missing or geographic, or ``crs`` is not understood.
    """
    from odc.geo.geobox import GeoBox

    if geobox is None:
        if crs is not None:
            check_crs(crs)
        return make_geobox(bbox, items=items, resolution=resolution, crs=crs)
    if not isinstance(geobox, GeoBox):
        gb = getattr(getattr(geobox, "odc", None), "geobox", None)
        if not isinstance(gb, GeoBox):
            raise InvalidArgumentError(
                f"geobox of type {type(geobox).__name__}; expected an odc.geo GeoBox or "
                "an xarray object with one (ds.odc.geobox)."
            )
        geobox = gb
    if geobox.crs is None or geobox.crs.geographic:
        raise CRSError("geobox must have a projected CRS (e.g. EPSG:3413).")
    return geobox


@dataclass(frozen=True)
class ChunkLayout:
    """How a GeoBox is cut into dask chunks (``y`` and ``x`` sizes and offsets)."""

    geobox: Any
    ychunks: tuple[int, ...]
    xchunks: tuple[int, ...]

    @classmethod
    def of(cls, geobox: Any, chunks: Any) -> ChunkLayout:
        """The layout of ``geobox`` for a user's ``chunks`` (see
        `norm_chunks`)."""
        cy, cx = norm_chunks(chunks, geobox.shape)
        return cls(geobox, splits(geobox.shape[0], cy), splits(geobox.shape[1], cx))

    @property
    def yoff(self) -> np.ndarray:
        """Row offset of every chunk row, and the total height last."""
        return np.concatenate([[0], np.cumsum(self.ychunks)]).astype(int)

    @property
    def xoff(self) -> np.ndarray:
        """Column offset of every chunk column, and the total width last."""
        return np.concatenate([[0], np.cumsum(self.xchunks)]).astype(int)

    def blocks(self) -> list[tuple[int, int, Any]]:
        """``(i, j, sub_geobox)`` of every chunk, row by row."""
        yoff, xoff = self.yoff, self.xoff
        return [
            (i, j, self.geobox[int(yoff[i]) : int(yoff[i + 1]), int(xoff[j]) : int(xoff[j + 1])])
            for i in range(len(self.ychunks))
            for j in range(len(self.xchunks))
        ]
