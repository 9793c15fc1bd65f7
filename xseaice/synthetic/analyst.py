"""Ice charts as analysts draw them, from a scene's exact chart.

The exact chart ([`xseaice.synthetic.chart.make_chart`][], ``SyntheticScene.chart``) has
the truth's concentration rounded to tenths in every polygon.  Real charts differ:

* **CT errors**: off by one tenth in about 45 % of the polygons and by two in about 10 %
  (analysts' spread, e.g. Cheng et al. 2020; Karvonen et al. 2015);
* **range codes**: mixed polygons coded as intervals (``13``, ``46``, ``91``: 9-10);
* **drift**: the chart is drawn from imagery hours apart, so the whole chart is shifted by
  0-3 km against the image;
* **generalised boundaries**: edges smoothed at about 400 m (a majority filter), then
  simplified;
* **blank partial concentrations** (``CA``, ``CB``, ``CC`` = ``-9``) in some polygons;
* **partial coverage**: a strip along one side of the scene without any polygon.

Land polygons (``POLY_TYPE = 'L'``) come from a coastline, so they neither drift nor are
generalised nor uncovered; sea that drifted land would have covered takes the nearest sea
polygon.

The function works on the raster of polygon ids (exact, fast) and polygonises the result.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

    from xseaice.synthetic.scene import SyntheticScene

__all__ = ["analyst_chart", "ct_tenths"]

_PARTIAL = ("CA", "CB", "CC")


def ct_tenths(code: str) -> int:
    """Tenths (0-10) of a single-value SIGRID-3 CT code (``'00'``, ``'01'``, ``'10'``..``'92'``)."""
    if code in ("00", "01", "02"):
        return 0
    if code == "92":
        return 10
    return int(code) // 10


def _code(tenths: int) -> str:
    return "00" if tenths <= 0 else ("92" if tenths >= 10 else f"{tenths * 10:02d}")


def _range_code(rng: np.random.Generator, tenths: int) -> str:
    low = max(1, tenths - int(rng.integers(0, 2)))
    high = low + 2
    return f"{low}1" if high >= 10 else f"{low}{high}"


def _shift(ids: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(ids)
    ny, nx = ids.shape
    ys, yd = (slice(0, ny - dy), slice(dy, ny)) if dy >= 0 else (slice(-dy, ny), slice(0, ny + dy))
    xs, xd = (slice(0, nx - dx), slice(dx, nx)) if dx >= 0 else (slice(-dx, nx), slice(0, nx + dx))
    out[yd, xd] = ids[ys, xs]
    return out


def _generalise(ids: np.ndarray, radius_px: float) -> np.ndarray:
    """Majority filter (box of side ``2 r + 1``) of a label raster."""
    size = 2 * round(radius_px) + 1
    if size <= 1:
        return ids
    labs = np.unique(ids)
    best = np.full(ids.shape, -1.0, dtype=np.float32)
    out = ids.copy()
    for lab in labs:
        f = ndimage.uniform_filter((ids == lab).astype(np.float32), size, mode="nearest")
        win = f > best
        out[win], best[win] = lab, f[win]
    return out


def _fixed_coast(exact: np.ndarray, moved: np.ndarray, land_ids: list[int]) -> np.ndarray:
    """Land polygons come from a coastline, not from the imagery: they do not drift.  Sea
    where drifted land was takes the nearest sea polygon."""
    land = np.isin(exact, land_ids)
    stray = np.isin(moved, land_ids) & ~land
    out = moved.copy()
    if stray.any():
        donor = (out > 0) & ~np.isin(out, land_ids)
        if donor.any():
            _, (iy, ix) = ndimage.distance_transform_edt(~donor, return_indices=True)
            out[stray] = out[iy[stray], ix[stray]]
        else:
            out[stray] = 0
    out[land] = exact[land]
    return out


def _attributes(
    rng: np.random.Generator,
    row: dict[str, Any],
    rates: tuple[float, float],
    p_range: float,
    p_blank: float,
) -> dict[str, Any]:
    rec = dict(row)
    if str(rec.get("POLY_TYPE", "I")) == "L":
        return {**rec, "ct_error_tenths": 0}
    exact = ct_tenths(str(rec["CT"]))
    u = rng.random()
    err = 2 if u < rates[1] else (1 if u < rates[0] + rates[1] else 0)
    sign = 1 if rng.random() < 0.5 else -1
    new = exact + sign * err
    if not 0 <= new <= 10:
        new = exact - sign * err
    rec["CT"] = _code(new)
    rec["POLY_TYPE"] = "W" if new == 0 else "I"
    mixed = 0 < float(rec.get("true_concentration", 0.5)) < 1.0
    if mixed and 1 <= new <= 9 and rng.random() < p_range:
        rec["CT"] = _range_code(rng, new)
    if (err and any(str(rec.get(f, "-9")) != "-9" for f in _PARTIAL)) or rng.random() < p_blank:
        # partial concentrations no longer add up (or were not drawn): leave them blank
        for f in _PARTIAL:
            rec[f] = "-9"
    rec["ct_exact_tenths"] = exact
    rec["ct_error_tenths"] = new - exact
    return rec


def analyst_chart(
    scene: SyntheticScene,
    rng: np.random.Generator | int,
    *,
    ct_error_rates: tuple[float, float] = (0.45, 0.10),
    drift_km: tuple[float, float] = (0.0, 3.0),
    generalise_m: float = 400.0,
    range_code_rate: float = 0.3,
    blank_partial_rate: float = 0.3,
    uncovered: tuple[float, float] = (0.05, 0.2),
) -> gpd.GeoDataFrame:
    """An analyst-like SIGRID-3 chart of a synthetic scene (the exact one stays in ``scene.chart``).

    Parameters
    ----------
    scene : SyntheticScene
        The scene (its exact chart, polygon-id raster and grid).
    rng : numpy.random.Generator or int
        Source of randomness, or a seed.
    ct_error_rates : (float, float)
        Shares of ice/water polygons whose CT is off by one and by two tenths (sign random,
        kept within 0-10).
    drift_km : (float, float)
        Range of the drift between chart and image (uniform, random direction).
    generalise_m : float
        Radius (m) of the majority filter that generalises boundaries (0 = none).
    range_code_rate : float
        Share of mixed polygons (0 < truth < 1) coded as an interval (``13``, ``46``, ``91``).
    blank_partial_rate : float
        Share of polygons whose partial concentrations are blank (``-9``); always blank
        when CT was changed.
    uncovered : (float, float)
        Range of the width (share of the scene) of the strip along a random side that no
        polygon covers; ``(0, 0)`` = full coverage.

    Returns
    -------
    geopandas.GeoDataFrame
        The exact chart's columns (``CT`` changed; ``true_concentration`` kept, of the
        exact polygon) plus ``ct_exact_tenths`` and ``ct_error_tenths``; ``attrs``:
        ``drift_m`` (dx east, dy north, metres), ``uncovered_side``,
        ``uncovered_fraction``.

    Raises
    ------
    InvalidArgumentError
        For rates outside [0, 1] or negative distances.
    """
    import geopandas as gpd
    import rasterio.features
    from shapely.geometry import shape as shp

    r1, r2 = (float(v) for v in ct_error_rates)
    if not (0 <= r1 and 0 <= r2 and r1 + r2 <= 1):
        raise InvalidArgumentError(
            f"ct_error_rates must be two shares summing to <= 1; got {ct_error_rates!r}"
        )
    for name, v in (
        ("range_code_rate", range_code_rate),
        ("blank_partial_rate", blank_partial_rate),
    ):
        if not 0 <= v <= 1:
            raise InvalidArgumentError(f"{name} must be within [0, 1]; got {v!r}")
    if min(drift_km) < 0 or generalise_m < 0 or not 0 <= min(uncovered) <= max(uncovered) < 1:
        raise InvalidArgumentError(
            "drift_km must be (min, max) >= 0 km, generalise_m >= 0 and uncovered a (min, max) "
            f"share in [0, 1); got {drift_km!r}, {generalise_m!r}, {uncovered!r}"
        )
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    gbox = scene.geobox
    ps = float(abs(gbox.resolution.x))
    ids = np.asarray(scene.chart_ids, dtype=np.int32)
    dist = float(rng.uniform(*drift_km)) * 1000.0
    ang = float(rng.uniform(0.0, 2.0 * np.pi))
    dx_px, dy_px = round(dist * math.cos(ang) / ps), round(dist * math.sin(ang) / ps)
    # +dy_px moves the chart south (rows grow southwards)
    moved = _generalise(_shift(ids, dy_px, dx_px), generalise_m / ps)
    side = int(rng.integers(0, 4))
    frac = float(rng.uniform(*uncovered))
    ny, nx = moved.shape
    w = round(frac * (ny if side in (0, 2) else nx))
    if w > 0:
        sl = {0: np.s_[:w, :], 1: np.s_[:, nx - w :], 2: np.s_[ny - w :, :], 3: np.s_[:, :w]}[side]
        moved[sl] = 0
    rows = {int(r["ID_NEW"]): r for r in scene.chart.drop(columns="geometry").to_dict("records")}
    land_ids = [k for k, r in rows.items() if str(r.get("POLY_TYPE")) == "L"]
    if land_ids:
        moved = _fixed_coast(ids, moved, land_ids)
    geoms: dict[int, list[Any]] = {}
    for geom, val in rasterio.features.shapes(
        moved, mask=moved > 0, transform=gbox.transform, connectivity=4
    ):
        geoms.setdefault(int(val), []).append(shp(geom))
    from shapely.ops import unary_union

    pids = sorted(geoms)
    # simplify the polygons together, as one coverage: shared edges stay shared (a
    # per-polygon simplify makes neighbours overlap, which no chart does)
    shapes = shapely.coverage_simplify([unary_union(geoms[pid]) for pid in pids], ps)
    recs = []
    for pid, geom in zip(pids, shapes, strict=True):
        rec = _attributes(rng, rows[pid], (r1, r2), range_code_rate, blank_partial_rate)
        rec["geometry"] = geom
        recs.append(rec)
    out = gpd.GeoDataFrame(recs, geometry="geometry", crs=scene.chart.crs)
    out.attrs = {
        "drift_m": (dx_px * ps, -dy_px * ps),
        "uncovered_side": ("north", "east", "south", "west")[side],
        "uncovered_fraction": w / (ny if side in (0, 2) else nx),
    }
    return out
