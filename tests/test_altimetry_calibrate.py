"""Block cross-validation and split-conformal scaling of densify's uncertainty."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xseaice.altimetry.calibrate import Calibration, conformal_scale, track_blocks


def _two_passes() -> pd.DataFrame:
    s = np.arange(0.0, 20_000.0, 100.0)  # 20 km of track, a sample every 100 m
    a = pd.DataFrame({"x": s, "y": 0.0 * s, "track": 0})
    # a diagonal pass with two beams 90 m apart (same track id)
    u = s / np.sqrt(2.0)
    b = pd.DataFrame({"x": np.r_[u, u + 64.0], "y": np.r_[u, u - 64.0], "track": 1})
    return pd.concat([a, b], ignore_index=True)


def test_blocks_are_contiguous_pieces_of_track_shared_by_beams() -> None:
    pts = _two_passes()
    folds = track_blocks(pts, block_m=3000.0, n_folds=4, seed=1)
    assert folds.min() == 0 and folds.max() == 3
    a = folds[:200]
    # along the straight pass the fold changes only at 3 km (30 sample) boundaries
    changes = np.flatnonzero(np.diff(a)) + 1
    assert changes.size >= 3 and np.all(changes % 30 == 0)
    # both beams of the diagonal pass fall in the same block at the same along-track place
    b = folds[200:]
    np.testing.assert_array_equal(b[:200], b[200:])
    # a single short pass cannot be split: no calibration
    one = pts.iloc[:20]
    assert (track_blocks(one, block_m=3000.0) == -1).all()


def test_conformal_quantile_by_hand() -> None:
    z = -np.arange(1.0, 101.0)  # |z| = 1..100, signs do not matter
    # ceil(101 * 0.9) = 91st smallest
    assert conformal_scale(z, 0.9) == 91.0
    assert conformal_scale(z, 0.6827) == 69.0  # ceil(101 * 0.6827) = 69
    assert conformal_scale(z[:5], 0.99) == 5.0  # capped at the largest


def test_scale_recovers_a_misstated_sigma() -> None:
    rng = np.random.default_rng(3)
    resid = rng.normal(0.0, 0.3, 20_000)
    cal = Calibration.from_residuals(resid, np.full(resid.size, 0.1), n_folds=5)
    # the model claimed 0.1 for errors of 0.3: the scale is 3, Gaussian tails give 1.645
    assert abs(cal.scale - 3.0) < 0.08
    assert abs(cal.z90_scaled - 1.645) < 0.05
    assert abs(cal.rmse - 0.3) < 0.01
    scaled = np.abs(resid) / (0.1 * cal.scale)
    assert abs(np.mean(scaled <= 1.0) - 0.683) < 0.01
    assert abs(np.mean(scaled <= cal.z90_scaled) - 0.90) < 0.01
    assert Calibration.none().scale == 1.0
