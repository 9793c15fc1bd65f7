"""Scores against the synthetic PIXEL TRUTH and the classical baselines of
``bench_heldout.py`` (helpers kept out of the package: evaluation only).

Nothing here is scored against a chart: a map forced to a chart has zero error against
that chart by construction (DESIGN.md, "Evaluating honestly").

* ``accuracy``: pixel accuracy over valid sea pixels (land left out);
* ``accuracy_interior`` / ``interior_share``: the same over the *interior* pixels only,
  those whose 3 x 3 truth neighbourhood is one class (at least one pixel from any ice /
  water boundary), and their share of the sea pixels. With a ~90 m impulse response at
  40 m spacing, the pixels beside a boundary are mixtures; this separates the error the
  resolution forces from the error inside resolved ice and water. A diagnostic beside
  ``accuracy``, never instead of it;
* ``lead_iou_pack``: IoU of narrow water (the truth's ``lead`` definition: water removed
  by an opening with a disc of radius 5.5 px) inside consolidated pack only, i.e. where
  the truth ice fraction within ~2 km is >= 0.9;
* ``conc_mae`` / ``conc_max``: |map ice fraction - truth ice fraction| per polygon of the
  exact chart (sea pixels);
* ``fsd_log_err``: mean |log10| ratio of the floe size distributions (number per km2 per
  km of diameter, 2 bins per octave from 80 m) of the map and of the truth, floes = 4-connected
  ice components not touching the scene edge.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

#: Edges (m) of the floe-diameter bins: 2 per octave from 80 m to ~20 km.
FSD_EDGES_M = 80.0 * 2.0 ** (np.arange(17) / 2.0)
#: Side (m) of the neighbourhood that decides "consolidated pack".
PACK_WINDOW_M = 2000.0
PACK_MIN_ICE = 0.9


def write_json(path: Path, data: Any) -> None:
    """Atomic JSON write (temporary file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, default=_plain)
    os.replace(tmp, path)


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def boxcar_db(x_db: np.ndarray, size: int = 5) -> np.ndarray:
    """``size x size`` boxcar mean in linear power, back to dB (NaN kept)."""
    lin = np.where(np.isfinite(x_db), 10.0 ** (x_db / 10.0), 0.0)
    w = np.isfinite(x_db).astype(np.float64)
    m = ndimage.uniform_filter(lin, size, mode="nearest")
    n = ndimage.uniform_filter(w, size, mode="nearest")
    out = 10.0 * np.log10(np.maximum(m / np.maximum(n, 1e-12), 1e-4))
    return np.where(np.isfinite(x_db), out, np.nan).astype(np.float32)


def otsu_map(x: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Ice above Otsu's threshold of ``x[use]`` (training.evaluation.otsu_threshold)."""
    from xseaice.training.evaluation import otsu_threshold

    return (x > otsu_threshold(x[use])).astype(np.float32)


def chart_matched(x: np.ndarray, ids: np.ndarray, ct: np.ndarray, use: np.ndarray) -> np.ndarray:
    """In every chart region the brightest ``round(CT n)`` pixels of ``x`` are ice; pixels
    outside every region (or in a region without CT) fall back to Otsu."""
    out = otsu_map(x, use)
    sel = use & (ids > 0)
    for k in np.unique(ids[sel]):
        c = float(ct[k - 1])
        if not math.isfinite(c):
            continue
        m = sel & (ids == k)
        vals = x[m]
        n_ice = math.floor(c * vals.size + 0.5)
        ice = np.zeros(vals.size, np.float32)
        ice[np.argsort(-vals, kind="stable")[:n_ice]] = 1.0
        out[m] = ice
    return out


def pack_mask(truth_ice: np.ndarray, sea: np.ndarray, pixel_size: float) -> np.ndarray:
    """Consolidated pack: truth ice fraction of the sea within ~2 km >= 0.9."""
    size = max(3, round(PACK_WINDOW_M / pixel_size) | 1)
    ice = ndimage.uniform_filter((truth_ice == 1).astype(np.float64) * sea, size, mode="nearest")
    n = ndimage.uniform_filter(sea.astype(np.float64), size, mode="nearest")
    return sea & (ice >= PACK_MIN_ICE * np.maximum(n, 1e-12))


def floe_diameters(ice: np.ndarray) -> np.ndarray:
    """Equivalent diameters (px) of 4-connected ice components not touching the edge."""
    lab, n = ndimage.label(ice)
    if n == 0:
        return np.zeros(0)
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    area = np.bincount(lab.ravel(), minlength=n + 1).astype(np.float64)
    keep = np.ones(n + 1, bool)
    keep[0] = False
    keep[edge] = False
    return 2.0 * np.sqrt(area[keep] / np.pi)


def fsd(ice: np.ndarray, pixel_size: float) -> np.ndarray:
    """Number density of floes per km2 per km of diameter in the bins of :data:`FSD_EDGES_M`."""
    d_m = floe_diameters(ice) * pixel_size
    counts, _ = np.histogram(d_m, bins=FSD_EDGES_M)
    area_km2 = ice.size * (pixel_size / 1000.0) ** 2
    return counts / area_km2 / (np.diff(FSD_EDGES_M) / 1000.0)


def fsd_log_error(pred: np.ndarray, truth: np.ndarray, pixel_size: float, area_km2: float) -> float:
    """Mean |log10| ratio over bins where either has floes (half a floe added to both)."""
    eps = 0.5 / area_km2 / (np.diff(FSD_EDGES_M) / 1000.0)
    use = (pred > 0) | (truth > 0)
    if not use.any():
        return 0.0
    return float(np.mean(np.abs(np.log10((pred[use] + eps[use]) / (truth[use] + eps[use])))))


def interior_mask(truth_ice: np.ndarray) -> np.ndarray:
    """Pixels whose 3 x 3 neighbourhood in the truth is all ice or all water."""
    t = truth_ice.astype(np.uint8)
    return ndimage.minimum_filter(t, 3) == ndimage.maximum_filter(t, 3)


def truth_scores(
    binary: np.ndarray | None,
    truth: dict[str, np.ndarray],
    *,
    valid: np.ndarray,
    chart_ids: np.ndarray,
    land_ids: set[int],
    pixel_size: float,
    conc_map: np.ndarray | None = None,
) -> dict[str, Any]:
    """Scores of a binary map (float 0/1, NaN invalid) or of a concentration map.

    Parameters
    ----------
    binary : numpy.ndarray or None
        The ice map; None to score ``conc_map`` (regional error only).
    truth : dict
        ``ice``, ``lead``, ``land_mask`` arrays of the scene.
    valid : numpy.ndarray
        Valid input pixels.
    chart_ids, land_ids
        Polygon ids of the exact chart and those of land polygons.
    pixel_size : float
        Metres.
    conc_map : numpy.ndarray, optional
        A concentration map (0-1, NaN = no value) scored instead of ``binary``.
    """
    land = truth["land_mask"].astype(bool)
    t_ice = truth["ice"].astype(np.int64)
    sea = valid & ~land
    out: dict[str, Any] = {}
    values = conc_map if binary is None else binary
    has = sea & np.isfinite(values)
    if binary is not None:
        b = np.where(has, binary, 0.0) >= 0.5
        out["accuracy"] = float((b[has] == (t_ice[has] == 1)).mean())
        inner = has & interior_mask(t_ice)
        out["accuracy_interior"] = float((b[inner] == (t_ice[inner] == 1)).mean())
        out["interior_share"] = float(inner.sum() / has.sum())
        from xseaice.synthetic.world import narrow_water

        p_lead = narrow_water(np.where(land, 1, b).astype(np.uint8)) & ~land
        pack = pack_mask(t_ice, sea, pixel_size)
        t_lead = truth["lead"].astype(bool)
        inter = (p_lead & t_lead & pack).sum()
        union = ((p_lead | t_lead) & pack).sum()
        out["lead_iou_pack"] = float(inter / union) if union else float("nan")
        area_km2 = b.size * (pixel_size / 1000.0) ** 2
        f_pred = fsd(b & sea, pixel_size)
        f_true = fsd((t_ice == 1) & sea, pixel_size)
        out["fsd_log_err"] = fsd_log_error(f_pred, f_true, pixel_size, area_km2)
    errs = []
    for k in np.unique(chart_ids[sea]):
        if k == 0 or int(k) in land_ids:
            continue
        m = sea & (chart_ids == k)
        mh = m & np.isfinite(values)
        if mh.sum() < 0.5 * m.sum() or not m.any():
            continue
        errs.append(abs(float(np.mean(values[mh])) - float(np.mean(t_ice[m]))))
    out["conc_mae"] = float(np.mean(errs)) if errs else float("nan")
    out["conc_max"] = float(np.max(errs)) if errs else float("nan")
    return out
