"""SAR evidence for densification: smoothed backscatter, texture, lead map, footprint means.

Features are plain ``(ny, nx)`` float32 arrays; the basis is assembled from them in blocks
of rows, so that a full EW scene (10000 x 10000 px) never holds the basis maps at once.
The regression basis is *linear in the elevation* (cluster indicators of the ice and
standardized features, all zero on water), so the mean of the basis over an altimeter
footprint is the regressor of the footprint mean of the elevation: a model fitted on
1.6 km CryoSat-2 footprints predicts at the 40 m pixel without a change-of-support bias.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from xseaice.exceptions import MissingVariablesError

__all__ = ["Basis", "footprint_means", "footprint_pixels", "make_basis", "sar_features"]

#: Scale of the level column: the evidence-tuned ridge prior barely shrinks its coefficient
#: (the mean freeboard), so a few dozen CryoSat-2 footprints do not pull the map towards 0.
#: Chosen on the validation seeds 100-105 (10 -> 100: CryoSat-2, one pass, RMSE 0.134 ->
#: 0.131 m, three 0.116 -> 0.116 m; ICESat-2 0.154 -> 0.156 m and 0.107 -> 0.107 m, within
#: the seed-to-seed spread).
LEVEL_SCALE = 100.0
#: Floes (connected ice between the leads of the map) smaller than this get no own offset
_MIN_FLOE_PX = 1000
#: Scale of the floe offset maps: their prior spread is twice a class's (validation seeds
#: 100-105, CryoSat-2 one pass: scale 0.5 / 1 / 2 / 4 -> RMSE 0.129 / 0.128 / 0.127 / 0.128 m)
_FLOE_SCALE = 2.0
#: Features the SAR classes are clustered on, per sampling: the speckle-scale evidence for
#: pixel samples, the floe means (speckle averaged out over each floe) for footprint samples
_CLUSTER_FEATURES = {
    "pixel": ("hh", "hv", "hh_1km", "hv_1km", "texture"),
    "floe": ("hh_floe", "hv_floe"),
}


def _plane(ds: xr.Dataset, name: str) -> np.ndarray:
    da = ds[name]
    if "time" in da.dims:
        da = da.isel(time=0)
    a = np.asarray(da.transpose("y", "x").values, dtype=np.float32)
    if np.isnan(a).any():
        a = np.where(np.isnan(a), np.float32(np.nanmean(a)), a)
    return a


def _local_mean(a: np.ndarray, size: int) -> np.ndarray:
    return ndimage.uniform_filter(a, size=size, mode="reflect")


def _ice_mean(a: np.ndarray, weight: np.ndarray | None, size: int) -> np.ndarray:
    """Boxcar mean of ``a`` over the ice pixels of the window (all pixels without a map).

    A normalized convolution: ``mean(a * ice) / mean(ice)``; where the window holds no
    ice (open water) the value is meaningless but finite (the basis is zero there).
    Chosen on the validation seeds 100-105: mean RMSE with one / three passes, CryoSat-2
    0.131 / 0.116 -> 0.130 / 0.114 m, ICESat-2 0.155 / 0.113 -> 0.154 / 0.107 m.
    """
    if weight is None:
        return _local_mean(a, size)
    den = _local_mean(weight, size)
    np.maximum(den, np.float32(1e-6), out=den)
    out = _local_mean(a * weight, size)
    out /= den
    return out


def sar_features(
    scene_ds: xr.Dataset, ice: np.ndarray | None, pixel_size: float
) -> dict[str, np.ndarray]:
    """Per-pixel SAR evidence (float32 maps: a full EW scene holds nine of them).

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
        ``hh``, ``hv`` (5 px boxcar, dB), ``hh_1km``, ``hv_1km`` (about 1 km boxcar;
        with ``ice``, both boxcars average the ice pixels only, so that a lead's dark or
        wind-roughened water does not leak into the floe next to it),
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
    km = max(round(1000.0 / pixel_size) | 1, 3)
    labels, n = (None, 0)
    if ice is not None:  # all ice (no lead in the scene): one floe, leads far away
        labels, n = ndimage.label(ice)
    out: dict[str, np.ndarray] = {}
    weight = ice.astype(np.float32) if ice is not None else None
    for name in ("hh", "hv"):  # one channel at a time: bounded temporaries
        a = _plane(scene_ds, name)
        out[name] = _ice_mean(a, weight, 5)
        out[f"{name}_1km"] = _ice_mean(a, weight, km)
        if name == "hh":
            mean9 = _local_mean(a, 9)
            mean9 *= mean9
            sq = _local_mean(a * a, 9)
            sq -= mean9
            del mean9
            out["texture"] = np.sqrt(np.maximum(sq, 0.0, out=sq), out=sq)
        if labels is not None:
            means = np.zeros(n + 1, dtype=np.float32)  # label 0 (water) may be empty
            means[1:] = ndimage.mean(a, labels, np.arange(1, n + 1))
            out[f"{name}_floe"] = np.where(labels > 0, means[labels], np.float32(0.0))
    order = ["hh", "hv", "hh_1km", "hv_1km", "texture"]
    if "incidence_angle" in scene_ds:
        out["incidence"] = _plane(scene_ds, "incidence_angle")
        order.append("incidence")
    if ice is not None:
        if (~ice).any():
            dist = ndimage.distance_transform_edt(ice).astype(np.float32)
        else:
            dist = np.full(ice.shape, float(max(ice.shape)), dtype=np.float32)
        out["lead_distance"] = np.log1p(dist, out=dist)
        order += ["lead_distance", "hh_floe", "hv_floe"]
    return {k: out[k] for k in order}


#: Rows of the scene a basis block spans at most (about 64 MiB of float64 per block).
_BLOCK_PIXELS = 400_000


@dataclass
class Basis:
    """Regression basis on the scene grid, zero off ``support``; built block by block.

    The basis maps (the level, one indicator per SAR class, the standardized features,
    an optional constant) are never held for the whole scene: ``at`` and ``rows``
    assemble them from the float32 features, their support mean and spread, and the
    class map (-1 off the support).
    """

    features: list[np.ndarray]  # f maps (ny, nx), float32
    mu: np.ndarray
    sd: np.ndarray
    label: np.ndarray  # (ny, nx) int16, -1 off support
    feature_names: list[str]
    support: np.ndarray
    n_clusters: int
    constant_everywhere: bool = False
    floe: np.ndarray | None = None  # (ny, nx) int16 floe index, -1 off the kept floes
    n_floes: int = 0
    level_scale: float = LEVEL_SCALE

    @property
    def names(self) -> list[str]:
        """Names of the basis maps, in order."""
        out = ["level"] + [f"class_{k}" for k in range(self.n_clusters)] + self.feature_names
        out += [f"floe_{k}" for k in range(self.n_floes)]
        return out + (["constant"] if self.constant_everywhere else [])

    def raw(self, name: str) -> np.ndarray:
        """The feature map ``name`` as given (float32, not standardized)."""
        return self.features[self.feature_names.index(name)]

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the scene."""
        ny, nx = self.support.shape
        return int(ny), int(nx)

    def _assemble(
        self, feats: np.ndarray, sup: np.ndarray, lab: np.ndarray, floe: np.ndarray | None
    ) -> np.ndarray:
        z = (feats - self.mu[:, None]) / self.sd[:, None]
        parts = [sup[None, :] * self.level_scale]
        parts.append(lab[None, :] == np.arange(self.n_clusters)[:, None])
        parts.append(np.where(sup[None, :], z, 0.0))
        if floe is not None:
            parts.append((floe[None, :] == np.arange(self.n_floes)[:, None]) * _FLOE_SCALE)
        if self.constant_everywhere:
            parts.append(np.ones((1, sup.size)))
        # the maps are float32 on the grid: the values are too
        return np.concatenate(parts).astype(np.float32).astype(np.float64)

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The basis at pixels ``(rows, cols)``: ``(k, n)`` float64."""
        feats = np.stack([f[rows, cols] for f in self.features])
        floe = self.floe[rows, cols] if self.floe is not None else None
        return self._assemble(feats, self.support[rows, cols], self.label[rows, cols], floe)

    def rows(self, r0: int, r1: int) -> np.ndarray:
        """The basis of rows ``r0:r1``, flattened: ``(k, (r1 - r0) * nx)`` float64."""
        feats = np.stack([f[r0:r1].ravel() for f in self.features])
        floe = self.floe[r0:r1].ravel() if self.floe is not None else None
        return self._assemble(feats, self.support[r0:r1].ravel(), self.label[r0:r1].ravel(), floe)

    def blocks(self) -> list[tuple[int, int]]:
        """Row ranges of at most about ``_BLOCK_PIXELS`` pixels covering the scene."""
        ny, nx = self.shape
        step = max(1, _BLOCK_PIXELS // max(nx, 1))
        return [(r, min(ny, r + step)) for r in range(0, ny, step)]


def _support_sample(
    support: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of ``n`` support pixels drawn without replacement (in draw order).

    The same draw as ``rng.choice`` over the flattened support pixels, without an index
    array the size of the scene.
    """
    counts = support.sum(axis=1)
    ends = np.cumsum(counts)
    take = rng.choice(int(ends[-1]), size=min(int(ends[-1]), n), replace=False)
    rows = np.searchsorted(ends, take, side="right")
    within = take - (ends - counts)[rows]
    cols = np.empty_like(take)
    for r in np.unique(rows):
        sel = rows == r
        cols[sel] = np.flatnonzero(support[r])[within[sel]]
    return rows, cols


def make_basis(
    features: dict[str, np.ndarray],
    support: np.ndarray,
    *,
    n_clusters: int = 8,
    seed: int = 0,
    constant_everywhere: bool = False,
    cluster_on: Literal["pixel", "floe"] = "pixel",
    n_floes: int = 0,
    level_scale: float = LEVEL_SCALE,
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
    cluster_on : {"pixel", "floe"}
        Cluster the SAR classes on the pixel-scale features (smoothed HH/HV, 1 km means,
        texture) or on the floe means (``hh_floe``, ``hv_floe``: one class per floe, as a
        footprint sample resolves it); ``"floe"`` falls back to ``"pixel"`` without the
        floe features (no lead map).
    n_floes : int
        Give each of the ``n_floes`` largest floes (connected ``support`` between the
        leads, at least ``_MIN_FLOE_PX`` pixels) an offset map of its own: a floe's
        thickness departs from what its SAR classes say (a random effect the points on
        it measure).  None when ``support`` has no gaps (no lead map).
    level_scale : float
        Scale of the level map: large (the default) leaves the mean level barely shrunk
        (it is the mean elevation); 1 shrinks it like any other map (a correction to a
        prior).
    """
    from sklearn.cluster import MiniBatchKMeans

    names = list(features)
    maps = [np.asarray(features[n], dtype=np.float32) for n in names]
    mu, sd = np.empty(len(names)), np.empty(len(names))
    for i, a in enumerate(maps):
        on = a[support]
        mu[i], sd[i] = on.mean(dtype=np.float64), on.std(dtype=np.float64) + 1e-9
    on_floes = cluster_on == "floe" and all(n in names for n in _CLUSTER_FEATURES["floe"])
    wanted = _CLUSTER_FEATURES["floe" if on_floes else "pixel"]
    clus = [names.index(n) for n in names if n in wanted]

    def zc(take: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The clustered features at some pixels, standardized: ``(n, len(clus))``."""
        f = np.stack([take(maps[i]) for i in clus], axis=1)
        return (f - mu[clus]) / sd[clus]

    rng = np.random.default_rng(seed)
    rr, cc = _support_sample(support, 20000, rng)
    km = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, n_init=3)
    km.fit(zc(lambda a: a[rr, cc]))
    label = np.full(support.shape, -1, dtype=np.int16)
    basis = Basis(
        maps,
        mu,
        sd,
        label,
        names,
        support,
        n_clusters,
        constant_everywhere,
        level_scale=level_scale,
    )
    for r0, r1 in basis.blocks():
        if support[r0:r1].any():
            label[r0:r1][support[r0:r1]] = km.predict(zc(_rows_on(r0, r1, support)))
    if n_floes > 0 and not support.all():
        basis.floe, basis.n_floes = _largest_floes(support, n_floes)
    return basis


def _largest_floes(support: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Index map (int16, -1 elsewhere) of the ``n`` largest connected support regions."""
    labels, count = ndimage.label(support)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    order = np.argsort(sizes, kind="stable")[::-1][:n]
    order = order[sizes[order] >= _MIN_FLOE_PX]
    index = np.full(count + 1, -1, dtype=np.int16)
    index[order + 1] = np.arange(order.size, dtype=np.int16)
    return index[labels], int(order.size)


def _rows_on(r0: int, r1: int, support: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A picker of the support pixels of rows ``r0:r1`` of a map."""
    sup = support[r0:r1]
    return lambda a: a[r0:r1][sup]


def footprint_pixels(
    pts: pd.DataFrame, support: np.ndarray, pixel_size: float, x: np.ndarray, y: np.ndarray
) -> Iterator[tuple[int, float, np.ndarray, np.ndarray]]:
    """The support pixels of each footprint wider than a pixel.

    Yields ``(i, fraction, rows, cols)`` per such point ``i``: the support fraction of its
    oriented rectangle (``footprint_along_m`` x ``footprint_across_m``, heading from
    consecutive points of the same ``track``/``source``) and the support pixels in it.
    """
    if "footprint_across_m" not in pts:
        return
    rows, cols = pts["row"].to_numpy(), pts["col"].to_numpy()
    wide = np.flatnonzero(pts["footprint_across_m"].to_numpy() > pixel_size)
    if wide.size == 0:
        return
    heading = _headings(pts)
    half = int(np.ceil(pts["footprint_across_m"].max() / 2 / pixel_size)) + 1
    dy, dx = np.mgrid[-half : half + 1, -half : half + 1] * pixel_size
    dy = dy * np.sign(y[1] - y[0])
    offs = np.arange(-half, half + 1)
    for i in wide:
        ux, uy = np.cos(heading[i]), np.sin(heading[i])
        along = dx * ux + dy * uy
        across = -dx * uy + dy * ux
        inside = (np.abs(along) <= pts["footprint_along_m"].iat[i] / 2) & (
            np.abs(across) <= pts["footprint_across_m"].iat[i] / 2
        )
        rr = np.broadcast_to(rows[i] + offs[:, None], inside.shape)
        cc = np.broadcast_to(cols[i] + offs[None, :], inside.shape)
        ok = inside & (rr >= 0) & (rr < support.shape[0]) & (cc >= 0) & (cc < support.shape[1])
        r, c = rr[ok], cc[ok]
        s = support[r, c]
        yield int(i), float(s.mean()) if s.size else 0.0, r[s], c[s]


def footprint_means(
    basis: Basis, pts: pd.DataFrame, pixel_size: float, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Basis averaged over each point's footprint (over support pixels only).

    Points with ``footprint_across_m``/``footprint_along_m`` columns average an oriented
    rectangle ([`footprint_pixels`][xseaice.altimetry.features.footprint_pixels]); others
    take their pixel.  Returns ``(design (n, k), support fraction (n,))``.
    """
    rows, cols = pts["row"].to_numpy(), pts["col"].to_numpy()
    design = basis.at(rows, cols).T
    frac = basis.support[rows, cols].astype(np.float64)
    for i, f, r, c in footprint_pixels(pts, basis.support, pixel_size, x, y):
        frac[i] = f
        if r.size:
            design[i] = basis.at(r, c).mean(axis=1)
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
