"""Sentinel-1 annotation evaluated at pixel indices: calibration, noise, geometry.

The annotation read by [`xseaice.io.sentinel1`][] gives LUTs, noise vectors and the
geolocation grid on sparse lines and pixels.  The evaluators here interpolate them at
arbitrary (fractional) pixel index arrays ``rows`` and ``cols`` that broadcast together,
so one call serves a window in radar geometry (``rows`` of shape ``(H, 1)``, ``cols`` of
shape ``(1, W)``) or the radar coordinates of every pixel of a map grid (see
[`radar_coordinates`][xseaice.io.sentinel1_sampling.radar_coordinates]).  Broadcast inputs are
interpolated on their unique rows and columns (a 1024 x 1024 window costs a few tens of
milliseconds); full index arrays (warped grids, all values distinct) point by point in O(N) memory.

[`calibrate`][xseaice.io.sentinel1_sampling.calibrate] gives the noise-removed backscatter
``sigma0 = (DN**2 - eta) / A**2`` (ESA-EOPG-CSCOP-TN-0002, MPC-0392).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xseaice.exceptions import CalibrationError, InvalidArgumentError
from xseaice.io.sentinel1 import Calibration, GeolocationGrid, LutName, Noise

__all__ = [
    "calibrate",
    "gcps",
    "incidence_angle_at",
    "lut_at",
    "noise_at",
    "radar_coordinates",
    "sigma0_lut_at",
]


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inv = np.unique(values, return_inverse=True)
    return uniq, inv.reshape(values.shape)


def _as_index(rows: Any, cols: Any) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rows, dtype="float64")
    c = np.asarray(cols, dtype="float64")
    try:
        np.broadcast_shapes(r.shape, c.shape)
    except ValueError:
        raise InvalidArgumentError(
            f"rows of shape {r.shape} and cols of shape {c.shape} do not broadcast; pass "
            "arrays of one shape, or (H, 1) rows with (1, W) cols."
        ) from None
    return r, c


def _interp_vectors(
    vec_lines: np.ndarray,
    vec_pixels: Sequence[np.ndarray],
    vec_values: Sequence[np.ndarray],
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    zero_is_missing: bool = False,
) -> np.ndarray:
    """Interpolate vectors given on lines: along pixels per line, then linearly in line.

    Outside the first/last line or pixel the nearest value is held (no extrapolation).
    With ``zero_is_missing``, a zero on one of the two bracketing lines (IPF writes 0 in
    range-noise vectors where a sub-swath has no data yet) takes the other line's value.
    """
    shape = np.broadcast_shapes(rows.shape, cols.shape)
    n = vec_lines.size
    if n == 1:
        v = np.interp(cols, vec_pixels[0], vec_values[0])
        return np.broadcast_to(v, shape).copy()
    size = int(np.prod(shape))
    if rows.size < size or cols.size < size:
        t0, t1, w = _bracket_separable(vec_lines, vec_pixels, vec_values, rows, cols)
    else:
        t0, t1, w = _bracket_pointwise(vec_lines, vec_pixels, vec_values, rows, cols)
    if zero_is_missing:
        t0, t1 = np.where(t0 == 0, t1, t0), np.where(t1 == 0, t0, t1)
    # (1 - w) t0 + w t1, in place: t0 and t1 are fresh full-size arrays
    t0 *= 1.0 - w
    t1 *= w
    t0 += t1
    return t0


def _line_bracket(vec_lines: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ``k`` of the vector at or before each row and the weight of vector ``k+1``."""
    n = vec_lines.size
    k = np.clip(np.searchsorted(vec_lines, r, side="right") - 1, 0, n - 2)
    w = np.clip((r - vec_lines[k]) / (vec_lines[k + 1] - vec_lines[k]), 0.0, 1.0)
    return k, w


def _bracket_separable(
    vec_lines: np.ndarray,
    vec_pixels: Sequence[np.ndarray],
    vec_values: Sequence[np.ndarray],
    rows: np.ndarray,
    cols: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bracketing values for broadcast inputs: work on unique rows and columns only."""
    ur, rinv = _unique_inverse(rows)
    uc, cinv = _unique_inverse(cols)
    k, w = _line_bracket(vec_lines, ur)
    needed = np.unique(np.concatenate([k, k + 1]))
    table = np.empty((needed.size, uc.size), dtype="float64")
    for j, kk in enumerate(needed):
        table[j] = np.interp(uc, vec_pixels[kk], vec_values[kk])
    p0 = np.searchsorted(needed, k)
    p1 = p0 + 1  # k + 1 is always in ``needed`` right after k
    return table[p0[rinv], cinv], table[p1[rinv], cinv], w[rinv]


def _bracket_pointwise(
    vec_lines: np.ndarray,
    vec_pixels: Sequence[np.ndarray],
    vec_values: Sequence[np.ndarray],
    rows: np.ndarray,
    cols: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bracketing values for full index arrays (e.g. warped, all distinct): O(N) memory."""
    shape = np.broadcast_shapes(rows.shape, cols.shape)
    r = np.broadcast_to(rows, shape).ravel()
    c = np.broadcast_to(cols, shape).ravel()
    k, w = _line_bracket(vec_lines, r)
    t0 = np.empty(r.size, dtype="float64")
    t1 = np.empty(r.size, dtype="float64")
    # group elements by bracketing vector: one sort, then contiguous slices
    order = np.argsort(k, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(k, minlength=vec_lines.size - 1))])
    c_sorted = c[order]
    for kk in range(vec_lines.size - 1):
        lo, hi = int(bounds[kk]), int(bounds[kk + 1])
        if hi == lo:
            continue
        idx = order[lo:hi]
        cm = c_sorted[lo:hi]
        t0[idx] = np.interp(cm, vec_pixels[kk], vec_values[kk])
        t1[idx] = np.interp(cm, vec_pixels[kk + 1], vec_values[kk + 1])
    return t0.reshape(shape), t1.reshape(shape), w.reshape(shape)


def lut_at(cal: Calibration, rows: Any, cols: Any, *, lut: LutName = "sigmaNought") -> np.ndarray:
    """Evaluate a calibration LUT at pixel indices (bilinear in line and pixel).

    Parameters
    ----------
    cal : Calibration
        From [`read_calibration`][xseaice.io.sentinel1.read_calibration].
    rows, cols : array-like
        Image line and pixel indices (may be fractional); they broadcast together.
    lut : {"sigmaNought", "betaNought", "gamma", "dn"}
        Which LUT.

    Returns
    -------
    numpy.ndarray
        float64 LUT values of the broadcast shape.
    """
    r, c = _as_index(rows, cols)
    values = cal.lut(lut)
    return _interp_vectors(cal.line, list(cal.pixel), list(values), r, c)


def sigma0_lut_at(cal: Calibration, rows: Any, cols: Any) -> np.ndarray:
    """The ``sigmaNought`` LUT (``A`` in ``sigma0 = DN**2 / A**2``) at pixel indices.

    Parameters
    ----------
    cal : Calibration
        From [`read_calibration`][xseaice.io.sentinel1.read_calibration].
    rows, cols : array-like
        Image line and pixel indices; they broadcast together.

    Returns
    -------
    numpy.ndarray
        float64 values of the broadcast shape.
    """
    return lut_at(cal, rows, cols, lut="sigmaNought")


def _azimuth_noise(noise: Noise, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    shape = np.broadcast_shapes(r.shape, c.shape)
    out = np.ones(shape, dtype="float64")
    if not noise.azimuth:
        return out
    ur, rinv = _unique_inverse(r)
    rmin, rmax, cmin, cmax = r.min(), r.max(), c.min(), c.max()
    for b in noise.azimuth:
        lo_l, hi_l = b.first_azimuth_line, b.last_azimuth_line + 1
        lo_s, hi_s = b.first_range_sample, b.last_range_sample + 1
        if rmax < lo_l or rmin >= hi_l or cmax < lo_s or cmin >= hi_s:
            continue
        inside = (r >= lo_l) & (r < hi_l) & (c >= lo_s) & (c < hi_s)
        if b.line.size == 1:
            vals = np.full(ur.shape, b.lut[0])
        else:
            vals = np.interp(ur, b.line, b.lut)
        np.copyto(out, vals[rinv], where=inside)
    return out


def noise_at(noise: Noise, rows: Any, cols: Any) -> np.ndarray:
    """Thermal-noise power ``eta`` (DN**2 units) at pixel indices.

    Parameters
    ----------
    noise : Noise
        From [`read_noise`][xseaice.io.sentinel1.read_noise].
    rows, cols : array-like
        Image line and pixel indices (may be fractional); they broadcast together.  A
        pixel belongs to the azimuth block whose inclusive line/sample ranges contain
        ``floor`` of its indices.

    Returns
    -------
    numpy.ndarray
        float64 ``noiseRange * noiseAzimuth`` of the broadcast shape.

    Notes
    -----
    IPF writes 0 in a range vector where a sub-swath has no data on that line (the first
    lines of an EW slice); between such a vector and the next one the non-zero value is
    held instead of ramping down to 0.
    """
    r, c = _as_index(rows, cols)
    rng = _interp_vectors(
        noise.range_line, noise.range_pixel, noise.range_lut, r, c, zero_is_missing=True
    )
    return rng * _azimuth_noise(noise, r, c)


def calibrate(
    dn: Any,
    cal: Calibration,
    noise: Noise | None = None,
    *,
    rows: Any,
    cols: Any,
    denoise: bool = True,
    lut: LutName = "sigmaNought",
) -> np.ndarray:
    """Digital numbers to calibrated (and thermal-noise removed) linear backscatter.

    ``sigma0 = (DN**2 - eta) / A**2`` with ``A`` the ``lut`` (default ``sigmaNought``) and
    ``eta`` the noise power from [`noise_at`][xseaice.io.sentinel1_sampling.noise_at].

    Parameters
    ----------
    dn : array-like
        GRD amplitude digital numbers (uint16); 0 is no-data.  NaN also counts as no-data
        (DN warped to a map grid are often float with NaN outside the swath).
    cal : Calibration
        From [`read_calibration`][xseaice.io.sentinel1.read_calibration].
    noise : Noise, optional
        From [`read_noise`][xseaice.io.sentinel1.read_noise]; required when ``denoise`` is True.
    rows, cols : array-like
        Image line and pixel of every element of ``dn`` (broadcast to its shape).
    denoise : bool
        Subtract the thermal noise.  EW HV is dominated by noise without it.
    lut : {"sigmaNought", "betaNought", "gamma"}
        Which normalisation.

    Returns
    -------
    numpy.ndarray
        float32 linear backscatter; NaN where ``dn`` is 0 or NaN; may be negative where
        noise exceeds signal (floor it before converting to dB).

    Raises
    ------
    CalibrationError
        If ``denoise`` is True but no ``noise`` is given.
    """
    if denoise and noise is None:
        raise CalibrationError(
            "denoise=True needs the thermal-noise annotation; pass noise=read_noise(...) "
            "(the schema-noise-<pol> asset) or denoise=False to keep the noise."
        )
    d = np.asarray(dn)
    r, c = _as_index(rows, cols)
    try:
        shape = np.broadcast_shapes(d.shape, r.shape, c.shape)
    except ValueError:
        raise InvalidArgumentError(
            f"dn of shape {d.shape} does not broadcast with rows {r.shape} / cols {c.shape}."
        ) from None
    if shape != d.shape:
        raise InvalidArgumentError(
            f"rows/cols (shapes {r.shape}, {c.shape}) must broadcast to dn's shape {d.shape}."
        )
    # (DN^2 - eta) / A^2 in float64, in place (one full-size temporary per term)
    power = d.astype("float64")
    np.square(power, out=power)
    if denoise:
        assert noise is not None
        power -= noise_at(noise, r, c)
    a = lut_at(cal, r, c, lut=lut)
    np.square(a, out=a)
    power /= a
    out = power.astype("float32")
    invalid = (d == 0) | (~np.isfinite(d) if d.dtype.kind == "f" else False)
    out[np.broadcast_to(invalid, shape)] = np.nan
    return out


def incidence_angle_at(geo: GeolocationGrid, rows: Any, cols: Any) -> np.ndarray:
    """Incidence angle (degree) at pixel indices, interpolated from the geolocation grid.

    The IPF grid is regular in (line, pixel) (a product of unique lines and pixels): then
    the interpolation is bilinear and exact at the grid nodes; an irregular grid falls
    back to linear interpolation over a Delaunay triangulation (``scipy.interpolate``),
    with nearest values outside the convex hull.

    Parameters
    ----------
    geo : GeolocationGrid
        From [`read_geolocation`][xseaice.io.sentinel1.read_geolocation].
    rows, cols : array-like
        Image line and pixel indices; they broadcast together.

    Returns
    -------
    numpy.ndarray
        float64 incidence angles of the broadcast shape.
    """
    return _grid_at(geo, geo.incidence_angle, rows, cols)


def _grid_at(geo: GeolocationGrid, values: np.ndarray, rows: Any, cols: Any) -> np.ndarray:
    r, c = _as_index(rows, cols)
    reg = geo.regular()
    if reg is not None:
        lines, pixels, order = reg
        grid = values[order]
        return _interp_vectors(lines, [pixels] * lines.size, list(grid), r, c)
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    pts = np.column_stack([geo.line, geo.pixel])
    rb, cb = np.broadcast_arrays(r, c)
    q = np.column_stack([rb.ravel(), cb.ravel()])
    out = LinearNDInterpolator(pts, values)(q)
    bad = np.isnan(out)
    if bad.any():
        out[bad] = NearestNDInterpolator(pts, values)(q[bad])
    return np.asarray(out).reshape(rb.shape)


def gcps(geo: GeolocationGrid, *, pixel_center: bool = True) -> list[Any]:
    """Ground control points of the product for warping (EPSG:4326, x = lon, y = lat).

    Parameters
    ----------
    geo : GeolocationGrid
        From [`read_geolocation`][xseaice.io.sentinel1.read_geolocation].
    pixel_center : bool
        Annotation lines/pixels index pixel centres; rasterio/GDAL raster coordinates
        count from the corner of the first pixel, so by default 0.5 is added to both.
        Pass False to reproduce the raw annotation numbers.

    Returns
    -------
    list of rasterio.control.GroundControlPoint
        One per geolocation grid point, with ``z`` = height.
    """
    from rasterio.control import GroundControlPoint

    off = 0.5 if pixel_center else 0.0
    return [
        GroundControlPoint(
            row=float(r) + off, col=float(c) + off, x=float(lon), y=float(lat), z=float(h),
            id=str(i),
        )
        for i, (r, c, lon, lat, h) in enumerate(
            zip(geo.line, geo.pixel, geo.longitude, geo.latitude, geo.height, strict=True)
        )
    ]  # fmt: skip


def radar_coordinates(
    geo: GeolocationGrid,
    x: Any,
    y: Any,
    *,
    crs: Any = "EPSG:4326",
    tps: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Image line and pixel (fractional indices) of map coordinates.

    Uses the GDAL GCP transformer on [`gcps`][xseaice.io.sentinel1_sampling.gcps] (the same model
    GDAL uses when warping the GCP-geolocated measurement), so calibration LUTs, noise and incidence
    angle can be evaluated for every pixel of a map grid after the DN have been warped onto it.

    Parameters
    ----------
    geo : GeolocationGrid
        From [`read_geolocation`][xseaice.io.sentinel1.read_geolocation].
    x, y : array-like
        Map coordinates in ``crs`` (broadcast together).
    crs : anything pyproj understands
        CRS of ``x``/``y``.
    tps : bool
        Thin-plate-spline transformer (exact at the GCPs; default) or GDAL's polynomial
        GCP transformer.  On the real EW test scene the polynomial model misses the
        geolocation grid by up to about 50 lines / 35 pixels, so warping the DN with
        GDAL's default GCP polynomial and evaluating LUTs here with ``tps=False`` keeps
        them consistent, but both are then off the true geometry; prefer TPS for both
        (``gdalwarp -tps``, rasterio ``SRC_METHOD="GCP_TPS"``).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``rows``, ``cols`` as float64 indices where pixel ``i`` has centre ``i``, of the
        broadcast shape; outside the image they extrapolate (mask them with
        ``0 <= rows < geo.number_of_lines``).
    """
    from pyproj import Transformer
    from rasterio.transform import GCPTransformer

    xb, yb = np.broadcast_arrays(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
        xb.ravel(), yb.ravel()
    )
    with GCPTransformer(gcps(geo), tps=tps) as tr:
        rows, cols = tr.rowcol(np.asarray(lon), np.asarray(lat), op=np.positive)
    shape = xb.shape
    return (
        np.asarray(rows, dtype="float64").reshape(shape) - 0.5,
        np.asarray(cols, dtype="float64").reshape(shape) - 0.5,
    )
