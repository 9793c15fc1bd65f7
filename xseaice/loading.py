"""Lazy, co-registered loading of Sentinel-1 GRD and AMSR-2 onto one GeoBox.

:func:`load` turns search results (or pystac items) into the scene dataset of
:mod:`xseaice.variables`: ``hh``, ``hv`` (calibrated, thermal-noise-removed sigma0 in dB),
``incidence_angle`` and the AMSR-2 brightness temperatures ``tb18h`` ... ``tb36v`` on one
polar stereographic grid, dims ``(time, y, x)``.

How Sentinel-1 is put on the map
--------------------------------
GRD measurements are in radar geometry, located only by ground control points (the
``proj:transform`` of Planetary Computer items is made up from the bounding box and must
not be used).  For every output chunk, inside a dask task:

1. the radar line/pixel of the chunk's cell centres are computed with the GDAL
   thin-plate-spline GCP transformer on the annotation's geolocation grid
   (:func:`xseaice.sentinel1.radar_coordinates`) on a coarse lattice (every 16 cells)
   and interpolated linearly in between (the mapping is smooth at that scale);
2. the digital numbers of the radar window covering the chunk are read with rasterio
   (HTTP range reads through GDAL ``/vsicurl/`` for URLs; signed just before reading);
3. they are calibrated and denoised in radar geometry (``sigma0 = (DN**2 - eta) / A**2``
   with the ``sigmaNought`` LUT and the range x azimuth noise at their own lines and
   pixels), then resampled (bilinear in linear power, no-data aware, or nearest) to the
   chunk's cells and converted to dB with :func:`xseaice.variables.sigma0_to_db`;
4. the incidence angle is interpolated from the geolocation grid at the same positions.

Scenes of one day (or one pass, ``groupby="pass"``) are mosaicked, first valid pixel in
time order; days are stacked on ``time``.  Building the dataset reads nothing: the
annotation XML files are read by tasks too (once per item), so the first byte is
requested when something is computed.

AMSR-2
------
For every time step the AMSR-2 file of the same UTC day (nearest in time) is read once
with :func:`xseaice.amsr2.read_amsr2` and reprojected bilinearly onto each chunk
(:func:`xseaice.amsr2.reproject_to`).  Without any AMSR-2 item the dataset holds the
Sentinel-1 variables only and a :class:`~xseaice.exceptions.MissingSensorWarning` is
issued; time steps without an AMSR-2 file of their day get NaN, with the same warning.
Chunks that no Sentinel-1 footprint touches are NaN for AMSR-2 too (nothing to fuse it
with), so a rotated swath's empty corners cost nothing.

No-data check (at compute time)
-------------------------------
A load that silently returns nothing is the classic failure of GCP-geolocated data (a
degenerate GCP layout maps every cell outside the image).  Each chunk task counts, among
the cells inside the items' footprints (the STAC geometry shrunk by 3 km, past the no-data
borders of GRD products), how many got a valid value; below ``nodata_check`` (default 0.5)
it raises :class:`~xseaice.exceptions.MostlyNodataError` naming the items.  The check runs where
the pixels are computed, so it costs nothing extra and never reads data eagerly; pass
``nodata_check=None`` to switch it off.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import logging
import math
import re
import time as _time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from xseaice.catalogs import install_log_redaction, redact_text, redact_url
from xseaice.exceptions import (
    AssetReadError,
    CalibrationError,
    CRSError,
    EmptySearchError,
    InvalidArgumentError,
    LoadError,
    MissingSensorWarning,
    MostlyNodataError,
)
from xseaice.searching import SearchResult, parse_bbox, search, sensor_of
from xseaice.variables import AMSR2_VARIABLES, ATTRS, sigma0_to_db

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["default_crs", "load", "make_geobox", "open_scene"]

logger = logging.getLogger(__name__)

#: Spacing (cells) of the lattice on which radar coordinates are computed exactly.
COORD_STEP = 16
#: Default chunk edge (cells); a multiple of 256 so model tiles align with chunks.
DEFAULT_CHUNK = 1024
#: A footprint is shrunk by this many cells, and at least :data:`FOOTPRINT_MARGIN_M`
#: metres, before the no-data check (corner polygon vs. swath edge; GRD no-data borders).
FOOTPRINT_MARGIN_CELLS = 3
FOOTPRINT_MARGIN_M = 3000.0
#: Fewest footprint cells in a chunk for the no-data check to judge it.
MIN_CHECK_CELLS = 1024

_RETRY_DELAY = 0.5

# ---------------------------------------------------------------------------------------
# item description (picklable; travels into the tasks)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _S1Spec:
    """What a task needs to read one Sentinel-1 item."""

    item_id: str
    measurement: Mapping[str, str]  # pol -> href
    calibration: Mapping[str, str]  # pol -> href
    noise: Mapping[str, str]  # pol -> href
    product: str  # product annotation href
    product_key: str
    sign: Callable[[str], str] | None = None
    retries: int = 3

    def signed(self, href: str) -> str:
        return self.sign(href) if self.sign is not None and "://" in href[:16] else href


@dataclass
class _S1Meta:
    cal: dict[str, Any]
    noise: dict[str, Any]
    geo: Any


@dataclass(frozen=True)
class _AmsrSpec:
    item_id: str
    href: str
    key: str
    sign: Callable[[str], str] | None = None
    pass_: str = "DAY"


@dataclass
class _Inputs:
    s1: list[Any] = field(default_factory=list)
    amsr2: list[Any] = field(default_factory=list)
    sign: dict[str, Callable[[str], str] | None] = field(default_factory=dict)
    bbox: Any = None
    polarizations: tuple[str, ...] | None = None


# ---------------------------------------------------------------------------------------
# reading, with retries and asset names in errors
# ---------------------------------------------------------------------------------------


def _reason(message: str) -> str:
    """The cause inside a reader's message ("could not read URL (HTTP 404) after ...")."""
    m = re.search(r"\(([^()]*)\) after (\d+) attempt", message)
    return f"{m.group(1)} after {m.group(2)} attempt(s)" if m else message


def _asset_error(item_id: str, key: str, href: str, why: str) -> AssetReadError:
    why = _reason(why)
    return AssetReadError(
        f"could not read asset {key!r} of item {item_id!r} ({redact_url(href)}): "
        f"{redact_text(why)}. Check that the catalog's files are reachable; for signed "
        "URLs re-run so that they are signed afresh."
    )


def _read_s1_meta(spec: _S1Spec, pols: tuple[str, ...]) -> _S1Meta:
    from xseaice import sentinel1

    cal: dict[str, Any] = {}
    noise: dict[str, Any] = {}
    for pol in pols:
        p = pol.lower()
        for key, table, reader, store in (
            (f"schema-calibration-{p}", spec.calibration, sentinel1.read_calibration, cal),
            (f"schema-noise-{p}", spec.noise, sentinel1.read_noise, noise),
        ):
            href = table[pol]
            try:
                store[pol] = reader(spec.signed(href))
            except AssetReadError as exc:
                raise _asset_error(spec.item_id, key, href, str(exc)) from None
            except CalibrationError as exc:
                raise CalibrationError(f"asset {key!r} of item {spec.item_id!r}: {exc}") from None
    try:
        geo = sentinel1.read_geolocation(spec.signed(spec.product))
    except AssetReadError as exc:
        raise _asset_error(spec.item_id, spec.product_key, spec.product, str(exc)) from None
    except CalibrationError as exc:
        raise CalibrationError(
            f"asset {spec.product_key!r} of item {spec.item_id!r} is not a product "
            f"annotation with a geolocation grid: {exc}"
        ) from None
    return _S1Meta(cal=cal, noise=noise, geo=geo)


def _gdal_path(href: str) -> str:
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    if href.startswith("file://"):
        return href[7:]
    return href


def _read_window(spec: _S1Spec, pol: str, window: tuple[int, int, int, int]) -> np.ndarray:
    """DN of ``window`` = (row0, row1, col0, col1) of a measurement, retrying faults."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    from rasterio.windows import Window

    install_log_redaction()  # GDAL messages quote URLs; also in fresh worker processes
    href = spec.measurement[pol]
    r0, r1, c0, c1 = window
    last = ""
    for attempt in range(spec.retries + 1):
        path = _gdal_path(spec.signed(href))
        options: dict[str, Any] = {
            "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
            "GDAL_HTTP_MAX_RETRY": "2",
            "GDAL_HTTP_RETRY_DELAY": "0.2",
            "GDAL_HTTP_TIMEOUT": "60",
        }
        if attempt:  # do not reuse what GDAL cached from the failed attempt
            options["CPL_VSIL_CURL_NON_CACHED"] = path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.Env(**options), rasterio.open(path) as src:
                    data = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
            return np.asarray(data)
        except (RasterioIOError, OSError) as exc:
            last = " ".join(str(exc).split())
            if "404" in last or "No such file" in last or "does not exist" in last:
                break
        if attempt < spec.retries:
            delay = _RETRY_DELAY * 2**attempt
            logger.info("retrying %s in %.1fs", redact_url(href), delay)
            _time.sleep(delay)
    raise _asset_error(spec.item_id, pol.lower(), href, last or "unknown error")


def _read_amsr2(spec: _AmsrSpec) -> Any:
    from xseaice import amsr2

    try:
        return amsr2.read_amsr2(spec.sign(spec.href) if spec.sign else spec.href, pass_=spec.pass_)  # type: ignore[arg-type]
    except AssetReadError as exc:
        raise _asset_error(spec.item_id, spec.key, spec.href, str(exc)) from None


# ---------------------------------------------------------------------------------------
# per-chunk computation
# ---------------------------------------------------------------------------------------


def _interp_axis(a: np.ndarray, src: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Linear interpolation of ``a`` sampled at positions ``src`` onto 0..n-1 along axis."""
    t = np.arange(n, dtype="float64")
    if src.size == 1:
        return np.repeat(a, n, axis=axis)
    k = np.clip(np.searchsorted(src, t, side="right") - 1, 0, src.size - 2)
    w = (t - src[k]) / (src[k + 1] - src[k])
    shape = [1] * a.ndim
    shape[axis] = n
    w = w.reshape(shape)
    return np.take(a, k, axis=axis) * (1.0 - w) + np.take(a, k + 1, axis=axis) * w


def _lattice(n: int, step: int) -> np.ndarray:
    idx = np.arange(0, n, step)
    if idx[-1] != n - 1:
        idx = np.append(idx, n - 1)
    return idx


def _chunk_radar_coords(geo: Any, gbox: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radar (row, col) and incidence angle of every cell centre of ``gbox``.

    Exact (GCP TPS transformer, geolocation-grid interpolation) on a lattice every
    :data:`COORD_STEP` cells, linear in between: all three are smooth at that scale.
    """
    from xseaice import sentinel1

    h, w = gbox.shape
    aff = gbox.affine
    iy, ix = _lattice(h, COORD_STEP), _lattice(w, COORD_STEP)
    xs = aff.c + aff.a * (ix + 0.5)
    ys = aff.f + aff.e * (iy + 0.5)
    xx, yy = np.meshgrid(xs, ys)
    rows, cols = sentinel1.radar_coordinates(geo, xx, yy, crs=gbox.crs.to_wkt())
    inc = sentinel1.incidence_angle_at(geo, rows, cols)
    fy, fx = iy.astype(float), ix.astype(float)

    def up(a: np.ndarray) -> np.ndarray:
        return _interp_axis(_interp_axis(a, fy, h, 0), fx, w, 1)

    return up(rows), up(cols), up(inc)


class _Sampler:
    """Sampling at fractional (r, c) (pixel i has centre i): indices and weights computed
    once, applied to each polarisation.  Bilinear is no-data aware: NaN neighbours are
    left out and the weights renormalised; under half the weight valid gives NaN."""

    def __init__(self, shape: tuple[int, int], r: np.ndarray, c: np.ndarray, method: str):
        h, w = shape
        self.method = method
        if method == "nearest":
            ri = np.clip(np.rint(r).astype(np.int64), 0, h - 1)
            ci = np.clip(np.rint(c).astype(np.int64), 0, w - 1)
            self.flat = [ri * w + ci]
            return
        r0 = np.clip(np.floor(r).astype(np.int64), 0, max(h - 2, 0))
        c0 = np.clip(np.floor(c).astype(np.int64), 0, max(w - 2, 0))
        r1 = np.minimum(r0 + 1, h - 1)
        c1 = np.minimum(c0 + 1, w - 1)
        fr = np.clip(r - r0, 0.0, 1.0).astype("float32")
        fc = np.clip(c - c0, 0.0, 1.0).astype("float32")
        self.flat = [r0 * w + c0, r0 * w + c1, r1 * w + c0, r1 * w + c1]
        self.weights = [(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc]

    def __call__(self, img: np.ndarray) -> np.ndarray:
        flat = np.ascontiguousarray(img, dtype="float32").reshape(-1)
        if self.method == "nearest":
            return flat[self.flat[0]]
        total = np.zeros(self.flat[0].shape, dtype="float32")
        weight = np.zeros(self.flat[0].shape, dtype="float32")
        for idx, wgt in zip(self.flat, self.weights, strict=True):
            v = flat[idx]
            ok = np.isfinite(v)
            total += np.where(ok, v * wgt, 0.0)
            weight += np.where(ok, wgt, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = total / weight
        out[weight < 0.5] = np.nan  # mostly no-data around this point
        return out


def _footprint_mask(footprints: Sequence[Any], gbox: Any) -> np.ndarray:
    from rasterio.features import geometry_mask

    geoms = [g for g in footprints if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(gbox.shape, dtype=bool)
    return geometry_mask(geoms, out_shape=gbox.shape, transform=gbox.affine, invert=True)


def _s1_chunk(
    metas: Sequence[_S1Meta],
    specs: Sequence[_S1Spec],
    footprints: Sequence[Any],
    gbox: Any,
    pols: tuple[str, ...],
    resampling: str,
    denoise: bool,
    nodata_check: float | None,
) -> np.ndarray:
    """(1, len(pols) + 1, h, w) float32: sigma0 (dB) per polarisation, then incidence angle."""
    from xseaice import sentinel1

    h, w = gbox.shape
    npol = len(pols)
    out = np.full((npol + 1, h, w), np.nan, dtype="float32")
    filled = np.zeros((h, w), dtype=bool)
    for meta, spec in zip(metas, specs, strict=True):
        rows, cols, incidence = _chunk_radar_coords(meta.geo, gbox)
        nrows, ncols = meta.geo.shape
        inside = (
            (rows >= -0.5) & (rows <= nrows - 0.5) & (cols >= -0.5) & (cols <= ncols - 0.5)
        ) & ~filled
        if not inside.any():
            continue
        r_in, c_in = rows[inside], cols[inside]
        r0 = max(int(np.floor(r_in.min())) - 1, 0)
        r1 = min(int(np.ceil(r_in.max())) + 2, nrows)
        c0 = max(int(np.floor(c_in.min())) - 1, 0)
        c1 = min(int(np.ceil(c_in.max())) + 2, ncols)
        rr = np.arange(r0, r1, dtype="float64")[:, None]
        cc = np.arange(c0, c1, dtype="float64")[None, :]
        sampler = _Sampler((r1 - r0, c1 - c0), r_in - r0, c_in - c0, resampling)
        valid = np.ones(r_in.shape, dtype=bool)
        values = []
        for pol in pols:
            dn = _read_window(spec, pol, (r0, r1, c0, c1))
            sig = sentinel1.calibrate(
                dn,
                meta.cal[pol],
                meta.noise[pol] if denoise else None,
                rows=rr,
                cols=cc,
                denoise=denoise,
            )
            v = sampler(sig)
            valid &= np.isfinite(v)
            values.append(v)
        inc = incidence[inside]
        idx = np.flatnonzero(inside.ravel())[valid]
        for k, v in enumerate(values):
            with np.errstate(divide="ignore", invalid="ignore"):
                db = np.asarray(sigma0_to_db(v[valid]), dtype="float32")
            out[k].reshape(-1)[idx] = db
        out[npol].reshape(-1)[idx] = inc[valid].astype("float32")
        filled.reshape(-1)[idx] = True
    if nodata_check is not None and footprints:
        foot = _footprint_mask(footprints, gbox)
        n_in = int(foot.sum())
        if n_in >= min(MIN_CHECK_CELLS, h * w // 4):
            frac = float(filled[foot].mean())
            if frac < nodata_check:
                ids = ", ".join(s.item_id for s in specs)
                raise MostlyNodataError(
                    f"only {frac:.0%} of the {n_in} cells inside the footprint of item(s) "
                    f"{ids} got a value in the chunk at x={gbox.affine.c:.0f}, "
                    f"y={gbox.affine.f:.0f} ({gbox.crs}); expected at least "
                    f"{nodata_check:.0%}. The GCPs/geolocation grid or the measurement may "
                    "be broken; check the item's assets, or pass nodata_check=None to "
                    "accept the gaps."
                )
    return out[None]


def _nan_chunk(nvar: int, shape: tuple[int, int]) -> np.ndarray:
    return np.full((1, nvar, *shape), np.nan, dtype="float32")


def _amsr2_chunk(ds: Any, gbox: Any) -> np.ndarray:
    from xseaice import amsr2

    out = amsr2.reproject_to(ds, gbox, resampling="bilinear")
    return np.stack([np.asarray(out[v].values, dtype="float32") for v in AMSR2_VARIABLES])[None]


# ---------------------------------------------------------------------------------------
# grid
# ---------------------------------------------------------------------------------------


def _check_crs(crs: Any) -> Any:
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


def _item_footprint(item: Any) -> Any:
    """Shapely lon/lat footprint of an item (geometry, else bbox), or None."""
    from shapely import box
    from shapely.geometry import shape

    if item.geometry is not None:
        return shape(item.geometry)
    if item.bbox is not None:
        return box(*item.bbox[:4])
    return None


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


def _project(geom: Any, crs: Any, *, densify: float = 0.05, geodesic: bool = False) -> Any:
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
    x0, y0, x1, y1 = _project(region, crs, geodesic=geodesic).bounds
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
        Output CRS; default :func:`default_crs` of the region's centre latitude.

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
        feet = [f for f in (_item_footprint(i) for i in items) if f is not None]
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
    out_crs = _check_crs(crs)
    bounds = _projected_bounds(region, out_crs, geodesic=bbox is None)
    return GeoBox.from_bbox(bounds, out_crs, resolution=float(resolution))


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------


def _collect(result_or_items: Any, patch_url: Callable[[str], str] | None) -> _Inputs:
    import pystac

    inputs = _Inputs()
    if isinstance(result_or_items, SearchResult):
        inputs.s1 = list(result_or_items.sentinel1)
        inputs.amsr2 = list(result_or_items.amsr2)
        for sensor in ("sentinel-1", "amsr2"):
            cat = result_or_items.catalog_for(sensor)
            inputs.sign[sensor] = cat.sign_href if cat is not None and cat.sign else None
        inputs.bbox = result_or_items.bbox
        inputs.polarizations = result_or_items.polarizations
    else:
        if isinstance(result_or_items, (pystac.Item, dict)):
            result_or_items = [result_or_items]
        elif isinstance(result_or_items, pystac.ItemCollection):
            result_or_items = list(result_or_items)
        if not isinstance(result_or_items, Iterable) or isinstance(result_or_items, (str, bytes)):
            raise InvalidArgumentError(
                f"result_or_items of type {type(result_or_items).__name__} is not "
                "understood; expected xseaice.search(...)'s result, a pystac Item or a "
                "list of Items."
            )
        for it in result_or_items:
            if isinstance(it, dict):
                it = pystac.Item.from_dict(it)
            if not isinstance(it, pystac.Item):
                raise InvalidArgumentError(
                    f"result_or_items holds a {type(it).__name__}; expected pystac Items."
                )
            kind = sensor_of(it)
            if kind == "sentinel-1":
                inputs.s1.append(it)
            elif kind == "amsr2":
                inputs.amsr2.append(it)
            else:
                raise InvalidArgumentError(
                    f"item {it.id!r} is neither Sentinel-1 nor AMSR-2 (collection "
                    f"{it.collection_id!r}); pass only items found by xseaice.search."
                )
    if patch_url is not None:
        inputs.sign = {"sentinel-1": patch_url, "amsr2": patch_url}
    return inputs


def _asset_href(item: Any, *keys: str) -> tuple[str, str] | None:
    for key in keys:
        asset = item.assets.get(key)
        if asset is not None:
            return key, asset.get_absolute_href() or asset.href
    return None


def _s1_spec(
    item: Any, pols: tuple[str, ...], sign: Callable[[str], str] | None, retries: int
) -> _S1Spec:
    missing: list[str] = []
    meas: dict[str, str] = {}
    cal: dict[str, str] = {}
    noise: dict[str, str] = {}
    for pol in pols:
        p = pol.lower()
        for table, keys in (
            (meas, (p, pol)),
            (cal, (f"schema-calibration-{p}",)),
            (noise, (f"schema-noise-{p}",)),
        ):
            found = _asset_href(item, *keys)
            if found is None:
                missing.append(keys[0])
            else:
                table[pol] = found[1]
    product = _asset_href(item, *(f"schema-product-{p.lower()}" for p in pols))
    if product is None:
        missing.append(f"schema-product-{pols[0].lower()}")
    if missing:
        have = sorted(item.assets)
        pol_missing = [m for m in missing if m in {p.lower() for p in pols}]
        fix = (
            f"pass polarizations=(...) with only the polarisations the item has "
            f"({'+'.join(item.properties.get('sar:polarizations', [])) or 'unknown'})"
            if pol_missing
            else "use a catalog with Sentinel-1 GRD annotation assets (e.g. Planetary "
            "Computer's sentinel-1-grd)"
        )
        raise LoadError(f"item {item.id!r} lacks asset(s) {missing} (it has {have}); {fix}.")
    assert product is not None
    return _S1Spec(
        item_id=item.id,
        measurement=meas,
        calibration=cal,
        noise=noise,
        product=product[1],
        product_key=product[0],
        sign=sign,
        retries=retries,
    )


def _amsr2_asset(item: Any) -> tuple[str, str]:
    preferred = ("data", "he5", "hdf", "h5", "nc", "netcdf", "cog", "tif", "tiff")
    for key in preferred:
        if key in item.assets:
            asset = item.assets[key]
            return key, asset.get_absolute_href() or asset.href
    for key, asset in item.assets.items():
        href = asset.get_absolute_href() or asset.href
        path = href.split("?", 1)[0].lower()
        if path.endswith((".he5", ".h5", ".hdf", ".nc", ".tif", ".tiff")) or "data" in (
            asset.roles or []
        ):
            return key, href
    raise LoadError(
        f"AMSR-2 item {item.id!r} has no data asset (HDF-EOS5, netCDF or GeoTIFF) among "
        f"{sorted(item.assets)}; expected an AU_SI12-like file."
    )


def _item_time(item: Any) -> _dt.datetime:
    from xseaice.searching import _item_time as t

    return t(item)


def _group(items: Sequence[Any], how: str) -> list[tuple[np.datetime64, list[Any]]]:
    ordered = sorted(items, key=lambda i: (_item_time(i), i.id))
    groups: list[list[Any]] = []
    for it in ordered:
        t = _item_time(it)
        if groups:
            last = _item_time(groups[-1][-1])
            same = (
                t.date() == _item_time(groups[-1][0]).date()
                if how == "day"
                else (t - last) <= _dt.timedelta(minutes=30)
            )
            if same:
                groups[-1].append(it)
                continue
        groups.append([it])
    out: list[tuple[np.datetime64, list[Any]]] = []
    for g in groups:
        t0 = _item_time(g[0]).replace(tzinfo=None)
        out.append((np.datetime64(t0, "ns"), g))
    return out


def _norm_chunks(chunks: Any, shape: tuple[int, int]) -> tuple[int, int]:
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


def _splits(n: int, c: int) -> tuple[int, ...]:
    full, rest = divmod(n, c)
    return (c,) * full + ((rest,) if rest else ())


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def load(
    result_or_items: Any,
    *,
    resolution: float = 40.0,
    crs: Any = None,
    bbox: Any = None,
    geobox: Any = None,
    chunks: Any = None,
    polarizations: Sequence[str] | None = None,
    groupby: Literal["day", "pass"] = "day",
    resampling: Literal["bilinear", "nearest"] = "bilinear",
    denoise: bool = True,
    amsr2: bool = True,
    amsr2_pass: Literal["DAY", "ASC", "DSC"] = "DAY",
    nodata_check: float | None = 0.5,
    patch_url: Callable[[str], str] | None = None,
    retries: int = 3,
) -> xr.Dataset:
    """Load Sentinel-1 and AMSR-2 items lazily onto one polar grid.

    Parameters
    ----------
    result_or_items : SearchResult, pystac.Item or sequence of pystac.Item
        What :func:`xseaice.search` returned, or items (Sentinel-1 GRD and AMSR-2 L3).
    resolution : float
        Cell size in metres (40 m = EW GRDM pixel spacing).
    crs : optional
        Output CRS (``"EPSG:3413"``, ``3031``, WKT...).  Default: EPSG:3413 north /
        EPSG:3031 south, from the region's latitude.
    bbox : (west, south, east, north), optional
        Region in degrees.  Default: the searched bbox cut to the window of the grid that
        holds the Sentinel-1 footprints, or the union of the footprints for plain items.
    geobox : odc.geo.geobox.GeoBox, optional
        An explicit output grid (overrides ``resolution``, ``crs`` and ``bbox``), e.g.
        to load another date onto the grid of an earlier dataset (``ds.odc.geobox``).
    chunks : int, (int, int) or dict, optional
        Spatial chunk size; default 1024 x 1024 (a multiple of 256, as the models' tiles).
        ``time`` is always one chunk per step.
    polarizations : sequence of str, optional
        Default: those searched (``("HH", "HV")``).  Variables are their lower-case names.
    groupby : {"day", "pass"}
        Mosaic the scenes of one UTC day, or of one orbit pass (acquisitions less than
        30 minutes apart), into one time step.
    resampling : {"bilinear", "nearest"}
        From radar geometry to the grid (bilinear in linear power, no-data aware).
    denoise : bool
        Remove thermal noise (keep True for EW HV).
    amsr2 : bool
        Load the AMSR-2 items (False: Sentinel-1 only, without a warning).
    amsr2_pass : {"DAY", "ASC", "DSC"}
        AMSR-2 daily average, ascending or descending passes.
    nodata_check : float or None
        Least fraction of valid cells inside the footprints, checked per chunk when it is
        computed (:class:`~xseaice.exceptions.MostlyNodataError`); None disables it.
    patch_url : callable, optional
        ``href -> href`` applied just before each read (e.g. signing); default: the
        signing of the catalog the items came from.
    retries : int
        Retries of a failing read before :class:`~xseaice.exceptions.AssetReadError`.

    Returns
    -------
    xarray.Dataset
        Lazy (dask) float32 variables ``hh``, ``hv``, ``incidence_angle`` and, when AMSR-2
        is available, ``tb18h``, ``tb18v``, ``tb36h``, ``tb36v``; dims ``(time, y, x)``;
        a ``spatial_ref`` coordinate (``.rio`` / ``.odc``); CF attributes from
        :data:`xseaice.variables.ATTRS`.  Building it reads nothing.

    Raises
    ------
    EmptySearchError
        If there is no Sentinel-1 item.
    LoadError
        If an item lacks the assets of a requested polarisation or its annotation.
    CRSError
        If ``crs`` is mistyped or geographic.
    InvalidArgumentError
        For other invalid options.

    Warns
    -----
    MissingSensorWarning
        If AMSR-2 is missing for all (variables dropped) or some (NaN) time steps.

    Notes
    -----
    At compute time a failing read is retried ``retries`` times, then raises
    :class:`~xseaice.exceptions.AssetReadError` naming the asset (URL without its query
    string); a chunk with mostly no data inside the footprints raises
    :class:`~xseaice.exceptions.MostlyNodataError`.

    Examples
    --------
    >>> ds = xseaice.load(xseaice.search(bbox, "2023-01-04"))  # doctest: +SKIP
    >>> ds.hh.isel(time=0).plot()  # doctest: +SKIP
    """
    import dask.array as da
    import xarray as xr
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    if groupby not in ("day", "pass"):
        raise InvalidArgumentError(f"groupby={groupby!r}; expected 'day' or 'pass'.")
    if resampling not in ("bilinear", "nearest"):
        raise InvalidArgumentError(f"resampling={resampling!r}; expected 'bilinear' or 'nearest'.")
    if nodata_check is not None and not 0 <= nodata_check <= 1:
        raise InvalidArgumentError(
            f"nodata_check={nodata_check!r}; expected a fraction in [0, 1] or None."
        )
    if not isinstance(retries, int) or retries < 0:
        raise InvalidArgumentError(f"retries={retries!r}; expected a non-negative integer.")

    inputs = _collect(result_or_items, patch_url)
    if not inputs.s1:
        raise EmptySearchError(
            "there is no Sentinel-1 item to load; search with sensors including "
            "'sentinel-1' (xseaice.search(bbox, datetime)) and check that it found scenes."
        )
    pols = tuple(p.upper() for p in (polarizations or inputs.polarizations or ("HH", "HV")))
    if isinstance(polarizations, str):
        pols = (polarizations.upper(),)
    for p in pols:
        if p not in ("HH", "HV", "VV", "VH"):
            raise InvalidArgumentError(f"polarizations has {p!r}; expected HH, HV, VV or VH.")

    # grid
    if geobox is not None:
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
    else:
        if crs is not None:
            _check_crs(crs)
        geobox = make_geobox(
            bbox if bbox is not None else inputs.bbox,
            items=inputs.s1,
            resolution=resolution,
            crs=crs,
        )
        if bbox is None and inputs.bbox is not None:
            geobox = _crop_to_footprints(geobox, inputs.s1)
    cy, cx = _norm_chunks(chunks, geobox.shape)
    ychunks, xchunks = _splits(geobox.shape[0], cy), _splits(geobox.shape[1], cx)
    yoff = np.concatenate([[0], np.cumsum(ychunks)]).astype(int)
    xoff = np.concatenate([[0], np.cumsum(xchunks)]).astype(int)

    # items
    sign_s1 = inputs.sign.get("sentinel-1")
    groups = _group(inputs.s1, groupby)
    specs = {it.id: _s1_spec(it, pols, sign_s1, retries) for it in inputs.s1}
    import shapely
    from shapely.geometry import box as sbox

    feet_crs = {}
    for it in inputs.s1:
        f = _item_footprint(it)
        feet_crs[it.id] = None if f is None else _project(f, geobox.crs, geodesic=True)
        if feet_crs[it.id] is not None:
            shapely.prepare(feet_crs[it.id])
    margin = max(FOOTPRINT_MARGIN_CELLS * abs(geobox.resolution.x), FOOTPRINT_MARGIN_M)
    feet_check = {k: (None if g is None else g.buffer(-margin)) for k, g in feet_crs.items()}

    token = tokenize(
        [s for s in specs.values()], geobox, (cy, cx), pols, groupby, resampling, denoise,
        nodata_check,
    )  # fmt: skip
    meta_name = f"s1-annotation-{token}"
    name = f"s1-load-{token}"
    dsk: dict[Any, Any] = {}
    meta_keys: dict[str, tuple[str, int]] = {}
    for k, it in enumerate(inputs.s1):
        meta_keys[it.id] = (meta_name, k)
        dsk[meta_keys[it.id]] = (_read_s1_meta, specs[it.id], pols)
    nvar = len(pols) + 1
    aff = geobox.affine
    covered: set[tuple[int, int, int]] = set()  # chunks that hold Sentinel-1 data
    for t, (_, members) in enumerate(groups):
        for i in range(len(ychunks)):
            ya, yb = aff.f + aff.e * yoff[i], aff.f + aff.e * yoff[i + 1]
            for j in range(len(xchunks)):
                xa, xb = aff.c + aff.a * xoff[j], aff.c + aff.a * xoff[j + 1]
                cell = sbox(min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))
                hit = [it for it in members if _touches(feet_crs[it.id], cell)]
                key: tuple[Any, ...] = (name, t, 0, i, j)
                if not hit:
                    dsk[key] = (_nan_chunk, nvar, (ychunks[i], xchunks[j]))
                    continue
                covered.add((t, i, j))
                sub = geobox[int(yoff[i]) : int(yoff[i + 1]), int(xoff[j]) : int(xoff[j + 1])]
                dsk[key] = (
                    _s1_chunk,
                    [meta_keys[it.id] for it in hit],
                    [specs[it.id] for it in hit],
                    [feet_check[it.id] for it in hit],
                    sub,
                    pols,
                    resampling,
                    denoise,
                    nodata_check,
                )
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    stack = da.Array(
        graph,
        name,
        chunks=((1,) * len(groups), (nvar,), ychunks, xchunks),
        dtype="float32",
    )
    coords = xr_coords(geobox, crs_coord_name="spatial_ref")
    times = np.array([t for t, _ in groups], dtype="datetime64[ns]")
    data_vars: dict[str, Any] = {}
    for k, pol in enumerate(pols):
        data_vars[pol.lower()] = stack[:, k]
    data_vars["incidence_angle"] = stack[:, len(pols)]

    # AMSR-2
    amsr_used: list[str] = []
    if amsr2:
        amsr_stack, amsr_used = _amsr2_graph(
            inputs, groups, geobox, ychunks, xchunks, yoff, xoff, amsr2_pass, token, covered
        )
        if amsr_stack is not None:
            for k, v in enumerate(AMSR2_VARIABLES):
                data_vars[v] = amsr_stack[:, k]

    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {
            v: xr.DataArray(
                arr, dims=dims, attrs={**ATTRS.get(v, _pol_attrs(v)), "grid_mapping": "spatial_ref"}
            )
            for v, arr in data_vars.items()
        },
        coords={"time": times, **coords},
    )
    ds["time"].attrs.update(
        {"standard_name": "time", "long_name": "acquisition time (first scene)"}
    )
    ds.attrs.update(
        {
            "title": "Sentinel-1 SAR and AMSR-2 scene (xseaice.load)",
            "sentinel1_items": " ".join(it.id for _, g in groups for it in g),
            "amsr2_items": " ".join(amsr_used),
            "polarizations": "+".join(pols),
            "resampling": resampling,
            "thermal_noise_removed": int(bool(denoise)),
            "crs": f"EPSG:{geobox.crs.epsg}" if geobox.crs.epsg else geobox.crs.to_wkt(),
        }
    )
    logger.info(
        "built %d time step(s) on a %dx%d grid, %d task(s)",
        len(groups), geobox.shape[0], geobox.shape[1], len(ds.__dask_graph__()),
    )  # fmt: skip
    return ds


def _crop_to_footprints(geobox: Any, items: Sequence[Any]) -> Any:
    """The window of ``geobox`` that holds the items' footprints (geodesic edges, grown by
    :data:`FOOTPRINT_MARGIN_M`): a rotated swath fills a fraction of a lon/lat box.
    ``geobox`` itself if an item has no footprint or the window would be empty."""
    from shapely import union_all

    feet = [_item_footprint(it) for it in items]
    if not feet or any(f is None for f in feet):
        return geobox
    region = union_all([_project(f, geobox.crs, geodesic=True) for f in feet])
    x0, y0, x1, y1 = region.buffer(FOOTPRINT_MARGIN_M).bounds
    aff, (h, w) = geobox.affine, geobox.shape
    c0, c1 = sorted(((x0 - aff.c) / aff.a, (x1 - aff.c) / aff.a))
    r0, r1 = sorted(((y0 - aff.f) / aff.e, (y1 - aff.f) / aff.e))
    c0, r0 = max(math.floor(c0), 0), max(math.floor(r0), 0)
    c1, r1 = min(math.ceil(c1), w), min(math.ceil(r1), h)
    if c1 <= c0 or r1 <= r0:
        return geobox
    return geobox[r0:r1, c0:c1]


def _touches(footprint: Any, cell: Any) -> bool:
    return footprint is None or bool(footprint.intersects(cell))


def _pol_attrs(var: str) -> dict[str, Any]:
    pol = var.upper()
    return {
        "long_name": f"Sentinel-1 sigma0 {pol} (calibrated, thermal-noise removed)",
        "standard_name": "surface_backwards_scattering_coefficient_of_radar_wave",
        "units": "dB",
        "polarization": pol,
        "sensor": "Sentinel-1 C-SAR",
    }


def _amsr2_graph(
    inputs: _Inputs,
    groups: Sequence[tuple[np.datetime64, list[Any]]],
    geobox: Any,
    ychunks: tuple[int, ...],
    xchunks: tuple[int, ...],
    yoff: np.ndarray,
    xoff: np.ndarray,
    pass_: str,
    token: str,
    covered: set[tuple[int, int, int]],
) -> tuple[Any, list[str]]:
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    if not inputs.amsr2:
        warnings.warn(
            "no AMSR-2 item for this place and time: the dataset holds the Sentinel-1 "
            "variables only, and models that need tb18h..tb36v will say so. AMSR-2 L3 "
            "(AU_SI12) is found with catalog='cmr' and needs an Earthdata login to read.",
            MissingSensorWarning,
            stacklevel=3,
        )
        return None, []
    sign = inputs.sign.get("amsr2")
    chosen: list[Any | None] = []
    for _t, members in groups:
        day = _item_time(members[0]).date()
        same_day = [a for a in inputs.amsr2 if _item_time(a).date() == day]
        if not same_day:
            chosen.append(None)
            continue
        t0 = _item_time(members[0])
        chosen.append(min(same_day, key=lambda a: (abs(_item_time(a) - t0), a.id)))
    if all(c is None for c in chosen):
        warnings.warn(
            "no AMSR-2 item of the same day as any Sentinel-1 scene: the dataset holds the "
            "Sentinel-1 variables only. Search AMSR-2 over the scene dates (catalog='cmr').",
            MissingSensorWarning,
            stacklevel=3,
        )
        return None, []
    missing = [str(t)[:10] for (t, _), c in zip(groups, chosen, strict=True) if c is None]
    if missing:
        warnings.warn(
            f"no AMSR-2 item for {missing}: tb18h..tb36v are NaN on those days.",
            MissingSensorWarning,
            stacklevel=3,
        )
    read_name = f"amsr2-read-{token}"
    name = f"amsr2-load-{token}"
    dsk: dict[Any, Any] = {}
    read_keys: dict[str, Any] = {}
    for k, item in enumerate(c for c in chosen if c is not None):
        if item.id in read_keys:
            continue
        key_name, href = _amsr2_asset(item)
        read_keys[item.id] = (read_name, k)
        dsk[read_keys[item.id]] = (
            _read_amsr2,
            _AmsrSpec(item.id, href, key_name, sign, pass_),
        )
    nvar = len(AMSR2_VARIABLES)
    for t, item in enumerate(chosen):
        for i in range(len(ychunks)):
            for j in range(len(xchunks)):
                sub = geobox[int(yoff[i]) : int(yoff[i + 1]), int(xoff[j]) : int(xoff[j + 1])]
                key = (name, t, 0, i, j)
                if item is None or (t, i, j) not in covered:  # nothing to fuse it with
                    dsk[key] = (_nan_chunk, nvar, sub.shape.yx)
                else:
                    dsk[key] = (_amsr2_chunk, read_keys[item.id], sub)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    arr = da.Array(
        graph, name, chunks=((1,) * len(groups), (nvar,), ychunks, xchunks), dtype="float32"
    )
    used = sorted({c.id for c in chosen if c is not None})
    return arr, used


_SEARCH_KEYS = ("catalog", "mode", "sensors", "max_items", "collections")


def open_scene(bbox: Any, datetime: Any, **kwargs: Any) -> xr.Dataset:
    """Search and load in one call: ``load(search(bbox, datetime, ...), bbox=bbox, ...)``.

    Parameters
    ----------
    bbox : (west, south, east, north)
        Degrees.
    datetime : str, datetime or (start, end)
        See :func:`xseaice.search`.
    **kwargs
        ``catalog``, ``mode``, ``polarizations``, ``sensors``, ``max_items`` and
        ``collections`` go to :func:`xseaice.search` (``polarizations`` to both); every
        other keyword goes to :func:`load`.

    Returns
    -------
    xarray.Dataset
        The lazy scene dataset.

    Examples
    --------
    >>> bbox = xseaice.catalogs.embedded_sample()["bbox"]  # doctest: +SKIP
    >>> ds = xseaice.open_scene(bbox, "2023-01-04", catalog="embedded")  # doctest: +SKIP
    """
    search_kw = {k: kwargs.pop(k) for k in _SEARCH_KEYS if k in kwargs}
    if "polarizations" in kwargs:
        search_kw["polarizations"] = kwargs["polarizations"]
    result = search(bbox, datetime, **search_kw)
    kwargs.setdefault("bbox", bbox)
    return load(result, **kwargs)
