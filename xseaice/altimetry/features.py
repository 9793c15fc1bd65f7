"""SAR evidence for densification: smoothed backscatter, texture, lead map, footprint means.

Features are plain ``(ny, nx)`` arrays.  The regression basis is *linear in the
elevation* (cluster indicators of the ice and standardized features, all zero on
water), so the mean of the basis over an altimeter footprint is the regressor of the
footprint mean of the elevation: a model fitted on 1.6 km CryoSat-2 footprints predicts
at the 40 m pixel without a change-of-support bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from xseaice.exceptions import MissingVariablesError

__all__ = ["Basis", "footprint_means", "make_basis", "sar_features"]

_LEVEL_SCALE = 10.0


def _plane(ds: xr.Dataset, name: str) -> np.ndarray:
    da = ds[name]
    if "time" in da.dims:
        da = da.isel(time=0)
    a = np.asarray(da.transpose("y", "x").values, dtype=np.float64)
    if np.isnan(a).any():
        a = np.where(np.isnan(a), np.nanmean(a), a)
    return a


def _local_mean(a: np.ndarray, size: int) -> np.ndarray:
    return ndimage.uniform_filter(a, size=size, mode="reflect")


def sar_features(
    scene_ds: xr.Dataset, ice: np.ndarray | None, pixel_size: float
) -> dict[str, np.ndarray]:
    """Per-pixel SAR evidence.

    Parameters
    ----------
    scene_ds : xarray.Dataset
        With ``hh`` and ``hv`` in dB (``incidence_angle`` is used when present).
    ice : numpy.ndarray or None
        Boolean ice map (True ice); gives the distance to the nearest lead.
    pixel_size : float
        Pixel size (m).

    Returns
    -------
    dict of str to numpy.ndarray
        ``hh``, ``hv`` (5 px boxcar, dB), ``hh_1km``, ``hv_1km`` (about 1 km boxcar),
        ``texture`` (local standard deviation of HH over 9 px), ``incidence`` (if
        present) and, when ``ice`` is given, ``lead_distance`` (log of 1 + distance to
        water in pixels) and ``hh_floe``/``hv_floe`` (mean over each floe: the connected
        ice between leads, where speckle averages out).

    Raises
    ------
    MissingVariablesError
        If ``hh`` or ``hv`` is missing.
    """
    if missing := [v for v in ("hh", "hv") if v not in scene_ds]:
        raise MissingVariablesError(
            f"scene_ds lacks {missing}; densify needs Sentinel-1 'hh' and 'hv' in dB "
            "(xseaice.open_scene or make_scene provide them)"
        )
    hh, hv = _plane(scene_ds, "hh"), _plane(scene_ds, "hv")
    km = max(round(1000.0 / pixel_size) | 1, 3)
    mean9 = _local_mean(hh, 9)
    out = {
        "hh": _local_mean(hh, 5),
        "hv": _local_mean(hv, 5),
        "hh_1km": _local_mean(hh, km),
        "hv_1km": _local_mean(hv, km),
        "texture": np.sqrt(np.maximum(_local_mean(hh * hh, 9) - mean9 * mean9, 0.0)),
    }
    if "incidence_angle" in scene_ds:
        out["incidence"] = _plane(scene_ds, "incidence_angle")
    if ice is not None and (~ice).any():
        out["lead_distance"] = np.log1p(ndimage.distance_transform_edt(ice))
        labels, n = ndimage.label(ice)
        index = np.arange(n + 1)
        for name, a in (("hh_floe", hh), ("hv_floe", hv)):
            means = np.asarray(ndimage.mean(a, labels, index))
            out[name] = np.where(labels > 0, means[labels], 0.0)
    return out


@dataclass
class Basis:
    """Regression basis on the scene grid: ``maps`` is ``(k, ny, nx)``, zero off ``support``."""

    maps: np.ndarray
    names: list[str]
    support: np.ndarray


def make_basis(
    features: dict[str, np.ndarray],
    support: np.ndarray,
    *,
    n_clusters: int = 8,
    seed: int = 0,
    constant_everywhere: bool = False,
) -> Basis:
    """Cluster indicators + standardized features, restricted to ``support`` (the ice).

    Parameters
    ----------
    features : dict of str to numpy.ndarray
        From [`sar_features`][xseaice.altimetry.features.sar_features].
    support : numpy.ndarray
        Boolean mask where the basis is non-zero (ice pixels; all True without a lead map).
    n_clusters : int
        Number of k-means classes of the SAR features (ice-type like classes).
    seed : int
        Seed of the k-means initialisation.
    constant_everywhere : bool
        Add a constant map on every pixel (for a surface height with a sea-level offset).
    """
    from sklearn.cluster import MiniBatchKMeans

    names = list(features)
    stack = np.stack([features[n] for n in names])
    sel = stack[:, support]
    mu, sd = sel.mean(axis=1), sel.std(axis=1) + 1e-9
    z = (stack - mu[:, None, None]) / sd[:, None, None]
    clus = [n for n in names if n in ("hh", "hv", "hh_1km", "hv_1km", "texture")]
    zc = np.stack([z[names.index(n)][support] for n in clus], axis=1)
    rng = np.random.default_rng(seed)
    take = rng.choice(zc.shape[0], size=min(zc.shape[0], 20000), replace=False)
    km = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, n_init=3).fit(zc[take])
    label = np.full(support.shape, -1, dtype=np.int64)
    label[support] = km.predict(zc)
    # the level on the support, scaled up so that the ridge penalty barely touches it: an
    # unsampled class falls back to the scene's mean level, not to zero
    maps = [support * _LEVEL_SCALE]
    maps += [(label == k).astype(np.float64) for k in range(n_clusters)]
    maps += [np.where(support, z[i], 0.0) for i in range(len(names))]
    out_names = ["level"] + [f"class_{k}" for k in range(n_clusters)] + names
    if constant_everywhere:
        maps.append(np.ones(support.shape))
        out_names.append("constant")
    return Basis(np.stack(maps).astype(np.float32), out_names, support)


def footprint_means(
    basis: Basis, pts: pd.DataFrame, pixel_size: float, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Basis averaged over each point's footprint (over support pixels only).

    Points with ``footprint_across_m``/``footprint_along_m`` columns average an oriented
    rectangle (heading from consecutive points of the same ``track``/``source``); others
    take their pixel.  Returns ``(design (n, k), support fraction (n,))``.
    """
    rows, cols = pts["row"].to_numpy(), pts["col"].to_numpy()
    design = basis.maps[:, rows, cols].T.astype(np.float64)
    frac = basis.support[rows, cols].astype(np.float64)
    if "footprint_across_m" not in pts or not (pts["footprint_across_m"] > pixel_size).any():
        return design, frac
    heading = _headings(pts)
    half = int(np.ceil(pts["footprint_across_m"].max() / 2 / pixel_size)) + 1
    dy, dx = np.mgrid[-half : half + 1, -half : half + 1] * pixel_size
    dy = dy * np.sign(y[1] - y[0])
    sup = basis.support
    for i in np.flatnonzero(pts["footprint_across_m"].to_numpy() > pixel_size):
        ux, uy = np.cos(heading[i]), np.sin(heading[i])
        along = dx * ux + dy * uy
        across = -dx * uy + dy * ux
        inside = (np.abs(along) <= pts["footprint_along_m"].iat[i] / 2) & (
            np.abs(across) <= pts["footprint_across_m"].iat[i] / 2
        )
        rr = rows[i] + np.arange(-half, half + 1)[:, None] + 0 * dx.astype(int)
        cc = cols[i] + np.arange(-half, half + 1)[None, :] + 0 * dx.astype(int)
        ok = inside & (rr >= 0) & (rr < sup.shape[0]) & (cc >= 0) & (cc < sup.shape[1])
        r, c = rr[ok], cc[ok]
        s = sup[r, c]
        frac[i] = s.mean() if s.size else 0.0
        if s.any():
            design[i] = basis.maps[:, r[s], c[s]].mean(axis=1)
    return design, frac


def _headings(pts: pd.DataFrame) -> np.ndarray:
    """Along-track direction (rad, scene CRS) of each point from its track neighbours."""
    key = "track" if "track" in pts else ("source" if "source" in pts else None)
    out = np.zeros(len(pts))
    groups = pts.groupby(key, sort=False).indices if key else {0: np.arange(len(pts))}
    for idx in groups.values():
        order = idx[np.argsort(pts["time"].to_numpy()[idx], kind="stable")]
        if order.size < 2:
            continue
        gx = np.gradient(pts["x"].to_numpy()[order])
        gy = np.gradient(pts["y"].to_numpy()[order])
        out[order] = np.arctan2(gy, gx)
    return out
