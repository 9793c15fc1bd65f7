"""The full-size benchmark helpers (``benchmarks/_fullsize.py``): tiling, lazy reopening and
the process-tree memory sampler, checked against numpy and a child process of known size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from _fullsize import Measure, open_lazy, tile_dataset


def _scene() -> xr.Dataset:
    rng = np.random.default_rng(0)
    return xr.Dataset(
        {
            "hh": (("time", "y", "x"), rng.random((1, 30, 40), dtype=np.float32)),
            "ice": (("y", "x"), rng.integers(0, 2, (30, 40)).astype(np.uint8)),
        },
        coords={
            "time": [np.datetime64("2023-01-04T08:00", "ns")],
            "y": 1000.0 - 40.0 * np.arange(30),
            "x": -500.0 + 40.0 * np.arange(40),
        },
    )


def test_tile_dataset_repeats_the_pixels_on_a_regular_grid(tmp_path: Path) -> None:
    ds = _scene()
    big = tile_dataset(ds, 100)
    assert big.hh.shape == (1, 100, 100) and big.ice.shape == (100, 100)
    expect = np.tile(ds.hh.values[0], (4, 3))[:100, :100]
    np.testing.assert_array_equal(big.hh.values[0], expect)
    np.testing.assert_array_equal(np.diff(big.x.values), 40.0)
    np.testing.assert_array_equal(np.diff(big.y.values), -40.0)
    assert float(big.x[0]) == -500.0 and float(big.y[0]) == 1000.0
    lazy = open_lazy(big, tmp_path / "s.zarr", chunk=32)
    assert lazy.hh.data.chunks[1][:3] == (32, 32, 32)  # dask-backed, 32 px blocks
    np.testing.assert_array_equal(lazy.hh.values, big.hh.values)
    assert lazy.time.values[0] == ds.time.values[0]


def test_measure_counts_a_child_process() -> None:
    # a child holds 400 MB for a second: the peak of the tree must see it, the parent not
    code = "import numpy as np, time; a = np.ones(50_000_000); a += 1; time.sleep(1.0)"
    with Measure(interval=0.02) as m:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert m.peak_rss_mib - m.start_rss_mib > 350
    assert m.samples > 10
    assert m.cpu_s > 0.1  # the child's CPU time is counted once it is waited for
    assert m.wall_s >= 1.0


def test_densify_table_reports_both_reductions() -> None:
    """bench_densify's summary: the cut against the classical baselines and against all six."""
    from bench_densify import BASE, CLASSICAL, summarise

    def row(seed: int, dens: float, ok: float, ok_lead: float) -> dict:
        r = {k: 1.0 for k in BASE}
        r.update(
            {"seed": seed, "mission": "cryosat2", "tracks": 1, "densify": dens,
             "ordinary_kriging": ok, "ordinary_kriging + lead map": ok_lead,
             "coverage68": 0.7, "coverage90": 0.9, "coverage90_gauss": 0.88, "z90": 1.7,
             "densify_s": 1.0}
        )  # fmt: skip
        return r

    (t,) = summarise([row(0, 0.10, 0.16, 0.14), row(1, 0.12, 0.18, 0.12)])
    assert set(CLASSICAL) < set(BASE) and not any("lead map" in k for k in CLASSICAL)
    assert t["best_classical_baseline"] == "ordinary_kriging"
    assert t["best_baseline"] == "ordinary_kriging + lead map"
    # by hand: densify 0.11, kriging 0.17, kriging + lead map 0.13 (means over the seeds)
    assert t["reduction_classical_pct"] == pytest.approx(100 * (1 - 0.11 / 0.17))
    assert t["reduction_pct"] == pytest.approx(100 * (1 - 0.11 / 0.13))
    assert t["seeds_won"] == 1  # seed 1 ties the lead-map kriging: not a win
