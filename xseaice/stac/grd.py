"""The calibrated Sentinel-1 GRD reader: GCP geocoding and calibration per dask chunk.

GRD measurements are in radar geometry, located only by ground control points (the
``proj:transform`` of Planetary Computer items is made up from the bounding box and must
not be used).  For every output chunk, inside a dask task:

1. the radar line/pixel of the chunk's cell centres are computed with the GDAL
   thin-plate-spline GCP transformer on the annotation's geolocation grid
   ([`xseaice.io.sentinel1_sampling.radar_coordinates`][]) on a coarse lattice (every
   16 cells) and interpolated linearly in between (the mapping is smooth at that scale);
2. the digital numbers of the radar window covering the chunk are read with rasterio
   (HTTP range reads through GDAL ``/vsicurl/`` for URLs; signed just before reading;
   retried unless the server says the file is gone, [`xseaice.stac.measurement`][]);
3. they are calibrated and denoised in radar geometry (``sigma0 = (DN**2 - eta) / A**2``
   with the ``sigmaNought`` LUT and the range x azimuth noise at their own lines and
   pixels), averaged over a ``k x k`` box of radar pixels when the cells are ``k`` times
   the native pixel spacing (multilook, [`multilook_factor`][xseaice.stac.grd.multilook_factor]),
   then resampled (bilinear in linear power, no-data aware, or nearest) to the chunk's cells and
   converted to dB with `xseaice.variables.sigma0_to_db`;
4. the incidence angle is interpolated from the geolocation grid at the same positions.

Every task's reads (an item's annotation, a chunk's windows) share one deadline of
``timeout`` seconds ([`xseaice.io.http.deadline`][]).  Each chunk task also counts, among
the cells inside the items' footprints (shrunk by 3 km), how many got a valid value;
below ``nodata_check`` it raises [`MostlyNodataError`][xseaice.exceptions.MostlyNodataError]
naming the items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xseaice.exceptions import AssetReadError, CalibrationError, LoadError, MostlyNodataError
from xseaice.io.http import DEFAULT_TIMEOUT, deadline, read_bytes
from xseaice.io.urls import redact_url
from xseaice.stac.grid import ChunkLayout, nan_chunk, project
from xseaice.stac.items import asset_error, asset_href, item_footprint
from xseaice.stac.measurement import read_window as _read_window
from xseaice.variables import SIGMA0_FLOOR_DB, sigma0_to_db

__all__ = [
    "S1Options",
    "S1Spec",
    "multilook_enl",
    "multilook_factor",
    "pol_attrs",
    "read_s1_meta",
    "s1_spec",
    "s1_stack",
]

logger = logging.getLogger(__name__)

#: Spacing (cells) of the lattice on which radar coordinates are computed exactly.
COORD_STEP = 16
#: A footprint is shrunk by this many cells, and at least
#: [`FOOTPRINT_MARGIN_M`][xseaice.stac.grd.FOOTPRINT_MARGIN_M] metres, before the no-data check
#: (corner polygon vs. swath edge; GRD no-data borders).
FOOTPRINT_MARGIN_CELLS = 3
FOOTPRINT_MARGIN_M = 3000.0
#: Fewest footprint cells in a chunk for the no-data check to judge it.
MIN_CHECK_CELLS = 1024
#: Above this fraction of an item's pixels in a chunk with thermal noise >= signal (sigma0
#: floored at SIGMA0_FLOOR_DB), the noise annotation is taken as broken.  Speckle keeps
#: about half of the pixels of a pure-noise (calm water HV) area above the floor.
NOISE_FLOORED_MAX = 0.95


@dataclass(frozen=True)
class S1Options:
    """How the Sentinel-1 chunks are computed (see
    [`xseaice.stac.load`][xseaice.stac.loading.load])."""

    resampling: str = "bilinear"
    denoise: bool = True
    nodata_check: float | None = 0.5
    retries: int = 3
    timeout: float = DEFAULT_TIMEOUT
    looks: int = 1  # side of the multilook box (radar pixels), see multilook_factor


def multilook_factor(items: Sequence[Any], cell_size: float) -> int:
    """Side ``k`` of the ``k x k`` radar-pixel box averaged (in linear power) per cell.

    ``round(cell_size / pixel spacing)`` with the items' ``sar:pixel_spacing_range``
    (40 m for EW GRDM when absent); 1 (no multilook) at or below the native spacing.
    """
    spacing = max(
        float(getattr(it, "properties", {}).get("sar:pixel_spacing_range") or 40.0) for it in items
    )
    return max(1, round(cell_size / spacing))


def multilook_enl(items: Sequence[Any], looks: int) -> float | None:
    """The equivalent number of looks after a ``looks x looks`` box: the items' smallest
    ``sar:looks_equivalent_number`` times ``looks**2`` (independent speckle assumed);
    ``None`` when no item declares its ENL."""
    enls = [
        float(v)
        for it in items
        if (v := getattr(it, "properties", {}).get("sar:looks_equivalent_number")) is not None
    ]
    return min(enls) * looks**2 if enls else None


def _box_mean(img: np.ndarray, k: int) -> np.ndarray:
    """No-data aware ``k x k`` box mean (linear power); NaN where under half is valid."""
    from scipy.ndimage import uniform_filter

    ok = np.isfinite(img)
    total = uniform_filter(np.where(ok, img, 0.0).astype("float64"), k, mode="constant")
    frac = uniform_filter(ok.astype("float64"), k, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (total / frac).astype("float32")
    out[frac < 0.5] = np.nan
    return out


@dataclass(frozen=True)
class S1Spec:
    """What a task needs to read one Sentinel-1 item."""

    item_id: str
    measurement: Mapping[str, str]  # pol -> href
    calibration: Mapping[str, str]  # pol -> href
    noise: Mapping[str, str]  # pol -> href
    product: str  # product annotation href
    product_key: str
    sign: Callable[[str], str] | None = None
    retries: int = 3
    timeout: float = DEFAULT_TIMEOUT

    def read(self, href: str) -> bytes:
        """The bytes of an annotation asset (signed, retried, within the timeout)."""
        return read_bytes(self.signed(href), retries=self.retries, timeout=self.timeout)

    def signed(self, href: str) -> str:
        """``href`` signed just before a read (local paths as they are)."""
        return self.sign(href) if self.sign is not None and "://" in href[:16] else href


@dataclass
class _S1Meta:
    cal: dict[str, Any]
    noise: dict[str, Any]
    geo: Any


def read_s1_meta(spec: S1Spec, pols: tuple[str, ...]) -> _S1Meta:
    """Calibration and noise of each polarisation, and the geolocation grid, of an item,
    all read within ``spec.timeout`` seconds (one [`deadline`][xseaice.io.http.deadline])."""
    with deadline(spec.timeout):
        return _read_s1_meta(spec, pols)


def _read_s1_meta(spec: S1Spec, pols: tuple[str, ...]) -> _S1Meta:
    from xseaice.io import sentinel1

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
                store[pol] = reader(spec.read(href))
            except AssetReadError as exc:
                raise asset_error(spec.item_id, key, href, str(exc)) from None
            except CalibrationError as exc:
                raise CalibrationError(f"asset {key!r} of item {spec.item_id!r}: {exc}") from None
    try:
        geo = sentinel1.read_geolocation(spec.read(spec.product))
    except AssetReadError as exc:
        raise asset_error(spec.item_id, spec.product_key, spec.product, str(exc)) from None
    except CalibrationError as exc:
        raise CalibrationError(
            f"asset {spec.product_key!r} of item {spec.item_id!r}: {exc}"
        ) from None
    return _S1Meta(cal=cal, noise=noise, geo=geo)


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
    [`COORD_STEP`][xseaice.stac.grd.COORD_STEP] cells, linear in between: all three are smooth at
    that scale.
    """
    from xseaice.io.sentinel1_sampling import incidence_angle_at, radar_coordinates

    h, w = gbox.shape
    aff = gbox.affine
    iy, ix = _lattice(h, COORD_STEP), _lattice(w, COORD_STEP)
    xs = aff.c + aff.a * (ix + 0.5)
    ys = aff.f + aff.e * (iy + 0.5)
    xx, yy = np.meshgrid(xs, ys)
    rows, cols = radar_coordinates(geo, xx, yy, crs=gbox.crs.to_wkt())
    inc = incidence_angle_at(geo, rows, cols)
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
    specs: Sequence[S1Spec],
    footprints: Sequence[Any],
    gbox: Any,
    pols: tuple[str, ...],
    options: S1Options,
) -> np.ndarray:
    """(1, len(pols) + 1, h, w) float32: sigma0 (dB) per polarisation, then incidence angle;
    every read of the chunk within ``options.timeout`` seconds (one deadline)."""
    with deadline(options.timeout):
        return _s1_chunk_reads(metas, specs, footprints, gbox, pols, options)


def _s1_chunk_reads(
    metas: Sequence[_S1Meta],
    specs: Sequence[S1Spec],
    footprints: Sequence[Any],
    gbox: Any,
    pols: tuple[str, ...],
    options: S1Options,
) -> np.ndarray:
    from xseaice.io.sentinel1_sampling import calibrate

    resampling, denoise, nodata_check = options.resampling, options.denoise, options.nodata_check
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
        pad = 1 + options.looks // 2  # the multilook box reaches this far
        r0 = max(int(np.floor(r_in.min())) - pad, 0)
        r1 = min(int(np.ceil(r_in.max())) + pad + 1, nrows)
        c0 = max(int(np.floor(c_in.min())) - pad, 0)
        c1 = min(int(np.ceil(c_in.max())) + pad + 1, ncols)
        rr = np.arange(r0, r1, dtype="float64")[:, None]
        cc = np.arange(c0, c1, dtype="float64")[None, :]
        sampler = _Sampler((r1 - r0, c1 - c0), r_in - r0, c_in - c0, resampling)
        valid = np.ones(r_in.shape, dtype=bool)
        values = []
        for pol in pols:
            dn = _read_window(spec, pol, (r0, r1, c0, c1))
            sig = calibrate(
                dn,
                meta.cal[pol],
                meta.noise[pol] if denoise else None,
                rows=rr,
                cols=cc,
                denoise=denoise,
            )
            v = sampler(_box_mean(sig, options.looks) if options.looks > 1 else sig)
            valid &= np.isfinite(v)
            values.append(v)
        if denoise:
            _check_noise(values, valid, pols, spec)
        inc = incidence[inside]
        idx = np.flatnonzero(inside.ravel())[valid]
        for k, v in enumerate(values):
            with np.errstate(divide="ignore", invalid="ignore"):
                db = np.asarray(sigma0_to_db(v[valid]), dtype="float32")
            out[k].reshape(-1)[idx] = db
        out[npol].reshape(-1)[idx] = inc[valid].astype("float32")
        filled.reshape(-1)[idx] = True
    if nodata_check is not None and footprints:
        _check_nodata(filled, footprints, specs, gbox, nodata_check)
    return out[None]


def _check_noise(
    values: Sequence[np.ndarray], valid: np.ndarray, pols: tuple[str, ...], spec: S1Spec
) -> None:
    """Raise CalibrationError when the noise removal floors nearly every pixel of an item."""
    n = int(valid.sum())
    if n < MIN_CHECK_CELLS // 4:
        return
    floor = 10.0 ** (SIGMA0_FLOOR_DB / 10.0)
    for pol, v in zip(pols, values, strict=True):
        frac = float((v[valid] <= floor).mean())
        if frac > NOISE_FLOORED_MAX:
            asset = f"schema-noise-{pol.lower()}"
            raise CalibrationError(
                f"item {spec.item_id}: the thermal noise of asset {asset!r} "
                f"({redact_url(spec.noise.get(pol, '?'))}) exceeds the signal in {frac:.0%} "
                f"of {n} {pol} pixels (floored at {SIGMA0_FLOOR_DB:g} dB); expected at most "
                f"{NOISE_FLOORED_MAX:.0%}. The noise annotation is broken or scaled wrongly: "
                "check that asset, or load with denoise=False."
            )


def _check_nodata(
    filled: np.ndarray,
    footprints: Sequence[Any],
    specs: Sequence[S1Spec],
    gbox: Any,
    nodata_check: float,
) -> None:
    """Raise MostlyNodataError when too few footprint cells of a chunk got a value."""
    h, w = gbox.shape
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


def s1_spec(
    item: Any,
    pols: tuple[str, ...],
    sign: Callable[[str], str] | None,
    retries: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> S1Spec:
    """What the tasks need to read ``item``; raises LoadError naming missing assets."""
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
            found = asset_href(item, *keys)
            if found is None:
                missing.append(keys[0])
            else:
                table[pol] = found[1]
    product = asset_href(item, *(f"schema-product-{p.lower()}" for p in pols))
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
    return S1Spec(
        item_id=item.id,
        measurement=meas,
        calibration=cal,
        noise=noise,
        product=product[1],
        product_key=product[0],
        sign=sign,
        retries=retries,
        timeout=timeout,
    )


def _touches(footprint: Any, cell: Any) -> bool:
    return footprint is None or bool(footprint.intersects(cell))


def pol_attrs(var: str) -> dict[str, Any]:
    """CF attributes of the sigma0 variable of a polarisation (``"hh"``...)."""
    pol = var.upper()
    return {
        "long_name": f"Sentinel-1 sigma0 {pol} (calibrated, thermal-noise removed)",
        "standard_name": "surface_backwards_scattering_coefficient_of_radar_wave",
        "units": "dB",
        "polarization": pol,
        "sensor": "Sentinel-1 C-SAR",
    }


def s1_stack(
    items: Sequence[Any],
    groups: Sequence[tuple[np.datetime64, list[Any]]],
    layout: ChunkLayout,
    pols: tuple[str, ...],
    *,
    sign: Callable[[str], str] | None,
    options: S1Options,
) -> tuple[Any, str, set[tuple[int, int, int]]]:
    """The lazy ``(time, pol + incidence, y, x)`` float32 stack of the Sentinel-1 items.

    One task per item reads its annotation; one task per (time step, chunk) reads,
    calibrates and resamples the items of that step whose footprints meet the chunk
    (chunks no item meets are NaN without any read).

    Returns
    -------
    (dask.array.Array, str, set of (int, int, int))
        The stack, the graph token (reused to name the other variables' tasks) and the
        ``(t, i, j)`` indices of the chunks that hold Sentinel-1 data.
    """
    import dask.array as da
    import shapely
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    from shapely.geometry import box as sbox

    geobox = layout.geobox
    specs = {it.id: s1_spec(it, pols, sign, options.retries, options.timeout) for it in items}
    feet_crs: dict[str, Any] = {}
    for it in items:
        f = item_footprint(it)
        feet_crs[it.id] = None if f is None else project(f, geobox.crs, geodesic=True)
        if feet_crs[it.id] is not None:
            shapely.prepare(feet_crs[it.id])
    margin = max(FOOTPRINT_MARGIN_CELLS * abs(geobox.resolution.x), FOOTPRINT_MARGIN_M)
    feet_check = {k: (None if g is None else g.buffer(-margin)) for k, g in feet_crs.items()}

    token = tokenize(list(specs.values()), geobox, layout.ychunks, layout.xchunks, pols, options)
    meta_name, name = f"s1-annotation-{token}", f"s1-load-{token}"
    dsk: dict[Any, Any] = {}
    meta_keys: dict[str, tuple[str, int]] = {}
    for k, it in enumerate(items):
        meta_keys[it.id] = (meta_name, k)
        dsk[meta_keys[it.id]] = (read_s1_meta, specs[it.id], pols)
    nvar = len(pols) + 1
    covered: set[tuple[int, int, int]] = set()
    for t, (_, members) in enumerate(groups):
        for i, j, sub in layout.blocks():
            cell = sbox(*sub.boundingbox)
            hit = [it for it in members if _touches(feet_crs[it.id], cell)]
            if not hit:
                dsk[(name, t, 0, i, j)] = (nan_chunk, nvar, sub.shape.yx)
                continue
            covered.add((t, i, j))
            dsk[(name, t, 0, i, j)] = (
                _s1_chunk,
                [meta_keys[it.id] for it in hit],
                [specs[it.id] for it in hit],
                [feet_check[it.id] for it in hit],
                sub,
                pols,
                options,
            )
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    chunks = ((1,) * len(groups), (nvar,), layout.ychunks, layout.xchunks)
    return da.Array(graph, name, chunks=chunks, dtype="float32"), token, covered
