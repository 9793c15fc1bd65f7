"""A SIGRID-3 ice chart drawn from the pixel truth.

Polygons are unions of 8 x 8 pixel blocks assigned to the nearest of a few jittered seeds
(warped by smooth noise so the edges meander), so every polygon boundary follows pixel
edges: the truth fraction inside a polygon is then exactly the mean of the pixels it
holds, and exact zonal statistics (exactextract) reproduce it.

Fields follow the Canadian Ice Service SIGRID-3 charts (e.g. ``cis_SGRDREA_20201102T``):
string codes ``CT``, ``CA``, ``SA``, ``FA``, ``CB``, ``SB``, ``FB``, ``CC``, ``SC``, ``FC``,
``CN``, ``CD``, ``CF`` (``'-9'`` = not filled) and ``POLY_TYPE`` (``'I'`` ice, ``'W'``
water), plus ``ID_NEW``, ``AREA``, ``PERIMETER`` and the float ``true_concentration``.

* ``CT``: the truth ice fraction rounded to tenths: ``'00'`` ice free (exactly no ice,
  ``POLY_TYPE='W'``), ``'01'`` open water (< 1/10 but some ice), ``'10'`` ... ``'90'``,
  ``'92'`` for 10/10.
* partial concentrations ``CA`` > ``CB`` > ``CC`` ordered by thickness (old, first-year,
  young, new), each the type's fraction in tenths by largest remainders so that they sum to
  ``CT``; a single type leaves ``CA='-9'`` (SIGRID-3: it holds all of ``CT``).
* stages ``SA``...: new ``'81'``, young ``'83'``, first-year ``'86'``, old ``'95'``.
* forms ``FA``...: the floe-size class holding most of that type's area (floe = truth
  floe label; ice cake ``'02'`` < 20 m, small ``'03'`` < 100 m, medium ``'04'`` < 500 m,
  big ``'05'`` < 2 km, vast ``'06'`` < 10 km, giant ``'07'``); new ice in leads ``'99'``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xseaice.synthetic.params import SceneParams
from xseaice.synthetic.world import Truth, smooth_field

__all__ = ["BLOCK_PX", "STAGE_OF_TYPE", "ct_code", "make_chart"]

#: Chart polygons are unions of blocks of this many pixels.
BLOCK_PX = 8
#: SIGRID-3 stage code of each truth ice type (1 new .. 4 old).
STAGE_OF_TYPE: dict[int, str] = {1: "81", 2: "83", 3: "86", 4: "95"}
_FORM_EDGES_M = (20.0, 100.0, 500.0, 2000.0, 10000.0)
_FORM_CODES = ("02", "03", "04", "05", "06", "07")
_MISSING = "-9"


def ct_code(fraction: float) -> str:
    """SIGRID-3 total-concentration code of an ice fraction (rounded to tenths).

    ``0`` -> ``'00'``, ``(0, 0.05)`` -> ``'01'``, tenths 1-9 -> ``'10'``-``'90'``,
    10 tenths -> ``'92'``.
    """
    tenths = int(np.floor(fraction * 10.0 + 0.5))
    if fraction <= 0.0:
        return "00"
    if tenths == 0:
        return "01"
    if tenths >= 10:
        return "92"
    return f"{tenths * 10:02d}"


def _largest_remainder(parts: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``parts`` summing to ``total``."""
    if total <= 0 or parts.sum() <= 0:
        return np.zeros(parts.shape, dtype=np.int64)
    x = parts / parts.sum() * total
    base = np.floor(x).astype(np.int64)
    rem = x - base
    for i in np.argsort(-rem, kind="stable")[: total - int(base.sum())]:
        base[i] += 1
    return base


def _form_code(diam_m: np.ndarray, area: np.ndarray) -> str:
    if diam_m.size == 0 or area.sum() <= 0:
        return "99"
    cls = np.searchsorted(np.asarray(_FORM_EDGES_M), diam_m, side="right")
    by = np.bincount(cls, weights=area, minlength=len(_FORM_CODES))
    return _FORM_CODES[int(np.argmax(by))]


def _land_record(pid: int, geom: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"ID_NEW": pid, "AREA": float(geom.area), "PERIMETER": float(geom.length)}
    for f in ("CT", "CA", "SA", "FA", "CB", "SB", "FB", "CC", "SC", "FC", "CN", "CD", "CF"):
        rec[f] = _MISSING
    rec["POLY_TYPE"] = "L"
    rec["true_concentration"] = float("nan")
    rec["geometry"] = geom
    return rec


def make_chart(
    rng: np.random.Generator, truth: Truth, gbox: Any, p: SceneParams, *, crs: Any = None
) -> tuple[Any, np.ndarray]:
    """Chart polygons (GeoDataFrame in the scene CRS) and the polygon id of every pixel.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    truth : Truth
        Pixel truth.
    gbox : odc.geo.geobox.GeoBox
        The scene grid.
    p : SceneParams
        ``chart_cell_km`` and ``chart_min_polygons``.
    crs : optional
        CRS to label the GeoDataFrame with (default: the GeoBox's).

    Returns
    -------
    (geopandas.GeoDataFrame, numpy.ndarray)
        The chart and an int32 ``(ny, nx)`` raster of ``ID_NEW``.
    """
    import geopandas as gpd
    import rasterio.features
    from affine import Affine
    from shapely.geometry import shape as shp

    ny, nx = truth.ice.shape
    ps = float(abs(gbox.resolution.x))
    b = BLOCK_PX
    nby, nbx = math.ceil(ny / b), math.ceil(nx / b)
    area_km2 = ny * nx * (ps / 1000.0) ** 2
    n = max(p.chart_min_polygons, round(area_km2 / p.chart_cell_km**2))
    # jittered grid of seeds in block units
    gy = max(1, round(math.sqrt(n * nby / nbx)))
    gx = max(1, math.ceil(n / gy))
    sy = (np.repeat(np.arange(gy), gx) + rng.uniform(0.15, 0.85, gy * gx)) * nby / gy
    sx = (np.tile(np.arange(gx), gy) + rng.uniform(0.15, 0.85, gy * gx)) * nbx / gx
    keep = rng.permutation(gy * gx)[:n]
    sy, sx = sy[keep], sx[keep]
    # block centres, warped by smooth noise for meandering edges
    cell_blocks = math.sqrt(nby * nbx / n)
    wy = smooth_field(rng, (nby, nbx), 1.0, 2.0 * cell_blocks) * 0.25 * cell_blocks
    wx = smooth_field(rng, (nby, nbx), 1.0, 2.0 * cell_blocks) * 0.25 * cell_blocks
    by, bx = np.meshgrid(np.arange(nby) + 0.5, np.arange(nbx) + 0.5, indexing="ij")
    d2 = (by[..., None] + wy[..., None] - sy) ** 2 + (bx[..., None] + wx[..., None] - sx) ** 2
    blocks = (np.argmin(d2, axis=-1) + 1).astype(np.int32)
    # polygons that got no block are dropped; renumber 1..k in seed order
    used = np.unique(blocks)
    remap = np.zeros(n + 1, dtype=np.int32)
    remap[used] = np.arange(1, used.size + 1, dtype=np.int32)
    blocks = remap[blocks]
    k = int(used.size)
    land = truth.land_mask()
    land_id = 0
    if land.any():
        # blocks mostly on land form one land polygon (POLY_TYPE 'L', no CT)
        lp = np.pad(land, ((0, nby * b - ny), (0, nbx * b - nx)), mode="edge")
        on_land = lp.reshape(nby, b, nbx, b).mean(axis=(1, 3)) > 0.5
        if on_land.any():
            blocks[on_land] = k + 1
            used = np.unique(blocks)
            remap = np.zeros(k + 2, dtype=np.int32)
            remap[used] = np.arange(1, used.size + 1, dtype=np.int32)
            blocks = remap[blocks]
            land_id = int(blocks[on_land][0])
            k = int(used.size)
    ids = np.repeat(np.repeat(blocks, b, axis=0), b, axis=1)[:ny, :nx]

    # polygons: polygonise the block raster, clip to the scene
    tr = gbox.transform
    btr = Affine(tr.a * b, tr.b, tr.c, tr.d, tr.e * b, tr.f)
    geoms: dict[int, list[Any]] = {}
    for geom, val in rasterio.features.shapes(blocks, transform=btr, connectivity=4):
        geoms.setdefault(int(val), []).append(shp(geom))
    from shapely.geometry import box
    from shapely.ops import unary_union

    bounds = box(tr.c, tr.f + tr.e * ny, tr.c + tr.a * nx, tr.f)

    # per-polygon truth statistics
    flat = ids.ravel()
    sea = ~land.ravel()
    npx = np.bincount(flat, weights=sea, minlength=k + 1).astype(np.float64)
    ice_n = np.bincount(flat, weights=truth.ice.ravel(), minlength=k + 1)
    type_n = np.stack(
        [
            np.bincount(flat, weights=(truth.ice_type.ravel() == t), minlength=k + 1)
            for t in (1, 2, 3, 4)
        ],
        axis=1,
    )
    # floe diameters from floe areas (truth floe labels)
    floe = truth.floe.ravel()
    fl_area = np.bincount(floe, minlength=int(floe.max()) + 1).astype(np.float64) * ps * ps
    fl_diam = 2.0 * np.sqrt(fl_area / np.pi)

    rows: list[dict[str, Any]] = []
    for pid in range(1, k + 1):
        geom = unary_union(geoms.get(pid, [])).intersection(bounds)
        if pid == land_id:
            rows.append(_land_record(pid, geom))
            continue
        frac = float(ice_n[pid] / npx[pid]) if npx[pid] else 0.0
        ct = ct_code(frac)
        rec: dict[str, Any] = {
            "ID_NEW": pid,
            "AREA": float(geom.area),
            "PERIMETER": float(geom.length),
            "CT": ct,
        }
        for f in ("CA", "SA", "FA", "CB", "SB", "FB", "CC", "SC", "FC", "CN", "CD", "CF"):
            rec[f] = _MISSING
        tenths = 0 if ct in ("00", "01") else (10 if ct == "92" else int(ct) // 10)
        rec["POLY_TYPE"] = "W" if ct == "00" else "I"
        if tenths > 0:
            # thickest first: old, first-year, young, new
            order = [4, 3, 2, 1]
            parts = np.array([type_n[pid, t - 1] for t in order], dtype=np.float64)
            alloc = _largest_remainder(parts, tenths)
            present = [(t, a) for t, a in zip(order, alloc, strict=True) if a > 0][:3]
            sel = ids == pid
            letters = ("A", "B", "C")
            forms = []
            for j, (t, a) in enumerate(present):
                if t == 1:
                    form = "99"
                else:
                    labs = np.unique(truth.floe[sel & (truth.ice_type == t)])
                    labs = labs[labs > 0]
                    form = _form_code(fl_diam[labs], fl_area[labs])
                forms.append(form)
                rec["S" + letters[j]] = STAGE_OF_TYPE[t]
                rec["F" + letters[j]] = form
                if len(present) > 1:
                    rec["C" + letters[j]] = "92" if a >= 10 else f"{int(a) * 10:02d}"
            rec["CF"] = forms[0] + (forms[1] if len(forms) > 1 else _MISSING)
        elif ct == "01":
            dom = int(np.argmax(type_n[pid])) + 1
            rec["SA"], rec["FA"], rec["CF"] = STAGE_OF_TYPE[dom], "99", "99-9"
        rec["true_concentration"] = frac
        rec["geometry"] = geom
        rows.append(rec)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs or gbox.crs.to_wkt())
    gdf["ID_NEW"] = gdf["ID_NEW"].astype("int32")
    gdf["true_concentration"] = gdf["true_concentration"].astype("float64")
    return gdf, ids.astype(np.int32)
