"""Calibration of densify's uncertainty on held-out along-track blocks (split conformal).

Neighbouring altimeter samples are correlated (the same floe, overlapping footprints,
the paired ICESat-2 beams 90 m apart), so random held-out points would sit next to
training points and flatter the model.  The points are therefore cut into *blocks of
track*: each pass (``track``, else ``source``, else all the points) is projected on its
principal direction and cut every ``block_m`` metres; all the beams of a pass share
the blocks.  The blocks are dealt into folds; each fold is predicted by a model fitted
on the others, and the normalised residuals ``(y - mean) / sd`` of the held-out points
give the factor that makes the stated standard deviation cover at 68.3 % and 90 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Calibration", "conformal_scale", "track_blocks"]

#: two-sided standard normal quantiles of the two calibrated levels
Z68, Z90 = 1.0, 1.6448536269514722


def track_blocks(
    pts: pd.DataFrame, *, block_m: float = 3000.0, n_folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Fold number (``0 .. n_folds-1``) of each point, by blocks of ``block_m`` m of track.

    Parameters
    ----------
    pts : pandas.DataFrame
        With ``x``, ``y`` (metres, projected) and optionally ``track`` or ``source``.
    block_m : float
        Along-track length of a block.
    n_folds : int
        Number of folds; fewer when there are fewer blocks.
    seed : int
        Seed of the random dealing of blocks into folds.

    Returns
    -------
    numpy.ndarray
        ``int64`` fold per point; all ``-1`` when there are fewer than two blocks (no
        calibration possible).
    """
    key = "track" if "track" in pts else ("source" if "source" in pts else None)
    groups = pts.groupby(key, sort=True).indices if key else {0: np.arange(len(pts))}
    block = np.zeros(len(pts), dtype=np.int64)
    offset = 0
    for idx in groups.values():
        xy = np.column_stack([pts["x"].to_numpy()[idx], pts["y"].to_numpy()[idx]])
        xy = xy - xy.mean(axis=0)
        # principal direction of the pass: the along-track axis
        _, _, vt = np.linalg.svd(xy, full_matrices=False)
        along = xy @ vt[0]
        b = np.floor((along - along.min()) / block_m).astype(np.int64)
        block[idx] = offset + b
        offset += int(b.max()) + 1
    used, block = np.unique(block, return_inverse=True)
    if used.size < 2:
        return np.full(len(pts), -1, dtype=np.int64)
    k = min(n_folds, used.size)
    rng = np.random.default_rng(seed)
    fold_of_block = rng.permutation(np.arange(used.size) % k)
    return fold_of_block[block]


def conformal_scale(z: np.ndarray, level: float) -> float:
    """Split-conformal quantile of ``|z|`` at ``level`` (finite-sample corrected).

    The ``ceil((n + 1) level) / n`` empirical quantile of the absolute normalised
    residuals: with exchangeable residuals, ``|z_new| <= q`` holds with probability at
    least ``level``.
    """
    a = np.sort(np.abs(np.asarray(z, dtype=np.float64)))
    n = a.size
    rank = min(int(np.ceil((n + 1) * level)), n)
    return float(a[rank - 1])


@dataclass(frozen=True)
class Calibration:
    """Result of the block cross-validation.

    Attributes
    ----------
    scale : float
        Factor applied to the model's standard deviation (1 when not calibrated): the
        held-out 68.3 % quantile of ``|z|``, so that ``mean +- sd`` is the 68.3 % interval.
    z68, z90 : float
        Held-out ``|z|`` quantiles at 68.3 % and 90 % before scaling.
    z90_scaled : float
        Multiplier of the scaled standard deviation for the 90 % interval: ``z90 / z68``
        (1.645 for Gaussian errors, more for heavy tails; 1.645 when not calibrated).
    n_points, n_folds : int
        Held-out points used and folds.
    rmse : float
        Held-out RMSE of the point predictions (the cross-validated skill).
    """

    scale: float
    z68: float
    z90: float
    z90_scaled: float
    n_points: int
    n_folds: int
    rmse: float

    @classmethod
    def from_residuals(cls, resid: np.ndarray, sd: np.ndarray, n_folds: int) -> Calibration:
        """Scale to the 68.3 % quantile; the 90 % multiplier from the 90 % quantile."""
        z = resid / np.maximum(sd, 1e-9)
        q68 = max(conformal_scale(z, 0.6827), 1e-6)
        q90 = conformal_scale(z, 0.90)
        rmse = float(np.sqrt(np.mean(resid**2)))
        return cls(q68 / Z68, q68, q90, max(q90 / q68, 1.0), int(z.size), n_folds, rmse)

    @classmethod
    def none(cls) -> Calibration:
        """No calibration (too few blocks): scale 1, NaN diagnostics."""
        return cls(1.0, np.nan, np.nan, Z90, 0, 0, np.nan)

    def attrs(self) -> dict[str, float | int]:
        """The calibration as DataArray attributes."""
        return {
            "calibration_scale": self.scale,
            "calibration_z68": self.z68,
            "calibration_z90": self.z90,
            "z90": self.z90_scaled,
            "calibration_points": self.n_points,
            "calibration_folds": self.n_folds,
            "cv_rmse": self.rmse,
        }
