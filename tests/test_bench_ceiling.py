"""The oracle reference of ``benchmarks/bench_ceiling.py``: its local features by hand
(numpy) and its right-half scoring on a scene whose ice is plain in HV."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from bench_ceiling import PMW, SCALES, local_features, scene_scores


def _dataset(hh: np.ndarray, hv: np.ndarray) -> xr.Dataset:
    planes = {"hh": hh, "hv": hv, "incidence_angle": np.full_like(hh, 35.0)}
    planes |= {name: np.full_like(hh, 200.0) for name in PMW}
    return xr.Dataset({k: (("time", "y", "x"), v[None]) for k, v in planes.items()})


def test_local_features_average_power_and_measure_texture() -> None:
    rng = np.random.default_rng(1)
    hh = rng.uniform(-25, -10, (20, 24)).astype(np.float32)
    hv = np.full((20, 24), -30.0, dtype=np.float32)
    x = local_features(_dataset(hh, hv))
    per_band = len(SCALES) + 1
    assert x.shape == (20 * 24, 2 * per_band + len(PMW) + 1)
    np.testing.assert_allclose(x[:, 0], hh.ravel(), atol=1e-4)  # 1 px: the image itself
    # 3 px mean of power at an interior pixel, by hand
    power = 10.0 ** (hh.astype(np.float64) / 10.0)
    by_hand = 10.0 * np.log10(power[4:7, 5:8].mean())
    assert abs(x[5 * 24 + 6, 1] - by_hand) < 1e-4
    # a constant HV has no texture and its means are the constant
    np.testing.assert_allclose(x[:, per_band : 2 * per_band - 1], -30.0, atol=1e-4)
    np.testing.assert_allclose(x[:, 2 * per_band - 1], 0.0, atol=1e-6)


def test_scene_scores_fit_left_and_score_right() -> None:
    rng = np.random.default_rng(2)
    ny, nx = 40, 60
    ice = np.zeros((ny, nx), dtype=np.uint8)
    ice[:, ::3] = 1  # stripes: both halves hold ice and water
    ice[5:15, :] = 1
    hv = np.where(ice == 1, -20.0, -32.0) + rng.normal(0, 0.5, (ny, nx))
    hh = rng.uniform(-25, -15, (ny, nx))
    ds = _dataset(hh.astype(np.float32), hv.astype(np.float32))

    class _Scene:
        dataset = ds
        truth = xr.Dataset({"ice": (("y", "x"), ice), "land_mask": (("y", "x"), ice * 0)})

    class _Exact:
        valid = np.ones((ny, nx), dtype=bool)

    logit = np.where(np.arange(nx)[None, :] < nx // 2, 1.0, -1.0) * np.ones((ny, 1))
    out = scene_scores({"scene": _Scene(), "exact": _Exact()}, logit, seed=0)
    right = ice[:, nx // 2 :] == 1
    assert out["n_pixels"] == right.size
    assert out["ice_fraction"] == right.mean()
    # the "model" says water on the whole right half
    assert out["unet"] == (~right).mean()
    # HV separates ice from water: the oracle learns it from the left half
    assert out["oracle"] > 0.97
