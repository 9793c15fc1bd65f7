"""Interpolation baselines that ignore the SAR: nearest track point, inverse distance, kriging.

They take the co-located points ([`xseaice.altimetry.colocate.colocate`][]) and return an
``(ny, nx)`` array on the scene grid.  Ordinary kriging needs the optional ``pykrige``
package (``pip install xseaice[altimetry]``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xseaice.exceptions import InvalidArgumentError

__all__ = ["BASELINES", "inverse_distance", "nearest_track", "ordinary_kriging"]


def _grid_xy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    gx, gy = np.meshgrid(x, y)
    return np.column_stack([gx.ravel(), gy.ravel()])


def _check(pts: pd.DataFrame, value: str) -> tuple[np.ndarray, np.ndarray]:
    v = pts[value].to_numpy(dtype=np.float64)
    ok = np.isfinite(v)
    if ok.sum() < 2:
        raise InvalidArgumentError(
            f"need at least 2 points with a finite {value!r}; got {ok.sum()}"
        )
    return np.column_stack([pts["x"].to_numpy()[ok], pts["y"].to_numpy()[ok]]), v[ok]


def nearest_track(pts: pd.DataFrame, value: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Value of the nearest altimeter point at every pixel."""
    from scipy.spatial import cKDTree

    xy, v = _check(pts, value)
    _, idx = cKDTree(xy).query(_grid_xy(x, y))
    return v[idx].reshape(y.size, x.size)


def inverse_distance(
    pts: pd.DataFrame, value: str, x: np.ndarray, y: np.ndarray, *, k: int = 16, power: float = 2.0
) -> np.ndarray:
    """Inverse-distance weighting of the ``k`` nearest points (Shepard, power ``power``)."""
    from scipy.spatial import cKDTree

    xy, v = _check(pts, value)
    k = min(k, len(v))
    d, idx = cKDTree(xy).query(_grid_xy(x, y), k=k)
    d, idx = d.reshape(-1, k), idx.reshape(-1, k)
    w = 1.0 / np.maximum(d, 1e-6) ** power
    return ((w * v[idx]).sum(axis=1) / w.sum(axis=1)).reshape(y.size, x.size)


def ordinary_kriging(
    pts: pd.DataFrame,
    value: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_points: int = 600,
    seed: int = 0,
) -> np.ndarray:
    """Ordinary kriging (pykrige, exponential variogram fitted to the points).

    At most ``max_points`` points (a random subset) enter the kriging system; the grid is
    kriged at a coarse step and bilinearly upsampled.
    """
    try:
        from pykrige.ok import OrdinaryKriging
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InvalidArgumentError(
            "ordinary_kriging needs the optional 'pykrige' package: pip install pykrige "
            "(or xseaice[altimetry])"
        ) from exc
    from scipy.interpolate import RegularGridInterpolator

    xy, v = _check(pts, value)
    rng = np.random.default_rng(seed)
    if len(v) > max_points:
        take = rng.choice(len(v), size=max_points, replace=False)
        xy, v = xy[take], v[take]
    step = max(1, int(np.ceil(max(x.size, y.size) / 96)))
    xs, ys = np.append(x[::step], x[-1]), np.append(y[::step], y[-1])
    xs, ys = np.unique(xs), np.unique(ys)
    ok = OrdinaryKriging(xy[:, 0] / 1000.0, xy[:, 1] / 1000.0, v, variogram_model="exponential")
    z, _ = ok.execute("grid", xs / 1000.0, ys / 1000.0)
    f = RegularGridInterpolator((ys, xs), np.asarray(z))
    gy, gx = np.meshgrid(y, x, indexing="ij")
    return f(np.stack([gy.ravel(), gx.ravel()], axis=1)).reshape(y.size, x.size)


BASELINES = {
    "nearest_track": nearest_track,
    "inverse_distance": inverse_distance,
    "ordinary_kriging": ordinary_kriging,
}
