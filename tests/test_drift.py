"""Ice drift: the synthetic second acquisition and :func:`xseaice.sar.drift.drift`."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from xseaice.exceptions import InvalidArgumentError, MissingVariablesError
from xseaice.sar.drift import drift
from xseaice.synthetic.drift import make_drift_pair

PX = 40.0


@pytest.fixture(scope="module")
def pair():
    return make_drift_pair(3, shape=(192, 192), translation=(1000.0, -600.0))


@pytest.fixture(scope="module")
def measured(pair):
    return drift(pair.first.dataset, pair.second, max_displacement=2000.0).compute()


def _errors(pair, d):
    """Vector error (pixels) against the truth and whether the true destination is in view."""
    tr = pair.displacement.sel(x=d.x, y=d.y, method="nearest")
    err = np.hypot(d.u.values - tr.u.values, d.v.values - tr.v.values) / PX
    xx, yy = np.meshgrid(d.x.values, d.y.values)
    gx, gy = xx + tr.u.values, yy + tr.v.values
    margin = 48 * PX  # half a window: the destination window must be inside the scene
    x = pair.second.x.values
    y = pair.second.y.values
    inside = (gx > x.min() + margin) & (gx < x.max() - margin)
    inside &= (gy > y.min() + margin) & (gy < y.max() - margin)
    return err, inside


def test_pair_truth_is_the_motion_of_the_ice(pair):
    a = pair.first.dataset.hh.values[0]
    b = pair.second.hh.values[0]
    d = pair.displacement
    # mean motion of unbroken pixels is the translation (rotation and shear are centred)
    whole = ~d.broken.values
    assert abs(float(d.u.values[whole].mean()) - 1000.0) < 10.0
    assert abs(float(d.v.values[whole].mean()) + 600.0) < 10.0
    # the second scene seen at p + D(p) looks like the first at p; at p it does not
    rr, cc = np.mgrid[0:192, 0:192].astype(float)
    qr, qc = rr - d.v.values / PX, cc + d.u.values / PX
    moved = ndimage.map_coordinates(b, [qr, qc], order=1)
    ok = (qr > 2) & (qr < 189) & (qc > 2) & (qc < 189)
    s_a, s_m, s_b = (ndimage.gaussian_filter(x, 2)[ok] for x in (a, moved, b))
    assert np.corrcoef(s_a, s_m)[0, 1] > 0.75
    assert np.corrcoef(s_a, s_b)[0, 1] < 0.5
    # new speckle: the second scene is not the first one resampled
    assert pair.second.time.values[0] - pair.first.dataset.time.values[0] == np.timedelta64(12, "h")
    assert pair.second_truth.ice.values.sum() > 0


def test_pair_breakup_opens_leads():
    whole = make_drift_pair(1, shape=(128, 128), breakup=0.0)
    split = make_drift_pair(1, shape=(128, 128), breakup=0.5)
    assert not whole.displacement.broken.values.any()
    assert split.displacement.broken.values.any()
    # broken floes drift apart: more water in the second scene than without breakup
    assert split.second_truth.ice.values.sum() < whole.second_truth.ice.values.sum()


def test_drift_median_error_below_half_a_pixel(pair, measured):
    err, inside = _errors(pair, measured)
    q = measured.quality.values
    assert inside.sum() > 20
    assert np.median(err[inside & (q > 0)]) < 0.5
    assert (q[inside] > 0).mean() > 0.5


def test_drift_flags_outliers_in_quality(pair):
    # replace a square of the second scene by ice that is not in the first scene
    other = make_drift_pair(11, shape=(192, 192)).second
    b = pair.second.copy(deep=True)
    for v in ("hh", "hv"):
        b[v].values[:, 40:130, 40:130] = other[v].values[:, 40:130, 40:130]
    d = drift(pair.first.dataset, b, max_displacement=2000.0).compute()
    err, inside = _errors(pair, d)
    q = d.quality.values
    wrong = inside & (err > 3.0)
    assert wrong.sum() > 0
    # the wrong vectors are flagged: low quality, far below the correct ones
    right = inside & (err < 0.5)
    assert np.median(q[wrong]) < 0.5 * np.median(q[right])


def test_drift_subpixel_translation_of_the_same_image(pair):
    a = pair.first.dataset
    shift = (2.5, -4.25)  # rows, cols: b(x) = a(x - shift)
    b = a.copy(deep=True)
    for v in ("hh", "hv"):
        b[v].values[0] = ndimage.shift(a[v].values[0], shift, order=3, mode="nearest")
    d = drift(a, b, max_displacement=400.0).compute()
    interior = d.quality.values > 0
    # rows grow southwards on this north-up grid: +2.5 rows is -100 m along y
    assert np.median(d.u.values[interior]) == pytest.approx(-4.25 * PX, abs=0.1 * PX)
    assert np.median(d.v.values[interior]) == pytest.approx(-2.5 * PX, abs=0.1 * PX)


def test_drift_grid_lazy_and_seamless(pair):
    a, b = pair.first.dataset, pair.second
    lazy = drift(a, b, max_displacement=1200.0, chunk=80)
    assert isinstance(lazy.u.data, da.Array)
    assert lazy.u.data.numblocks == (2, 2)
    # grid: centre of the first 16-pixel cell lies between pixels 7 and 8
    assert float(lazy.x[0]) == pytest.approx(float(a.x[7] + a.x[8]) / 2)
    assert float(lazy.y[0]) == pytest.approx(float(a.y[7] + a.y[8]) / 2)
    assert lazy.u.attrs["units"] == "m"
    assert lazy.attrs["dt_seconds"] == 12 * 3600
    assert "spatial_ref" in lazy.coords
    blocks = lazy.compute()
    whole = a.seaice.drift(b, max_displacement=1200.0).compute()
    assert whole.u.shape == blocks.u.shape == (12, 12)
    diff = np.hypot(blocks.u - whole.u, blocks.v - whole.v).values / PX
    good = (blocks.quality.values > 0) & (whole.quality.values > 0)
    assert good.mean() > 0.5
    assert np.median(diff[good]) < 0.05
    assert (diff[good] < 0.5).mean() > 0.9


def test_drift_halo_wider_than_the_scene(pair, measured):
    # the default 8 km search needs a halo (over 200 px) wider than this 192 px scene:
    # padded, not split into extra blocks, and the same motion found
    wide = drift(pair.first.dataset, pair.second).compute()
    assert wide.u.shape == measured.u.shape
    good = (wide.quality.values > 0) & (measured.quality.values > 0)
    assert good.mean() > 0.5
    diff = np.hypot(wide.u - measured.u, wide.v - measured.v).values[good] / PX
    assert np.median(diff) < 0.25


def test_drift_no_data_gives_no_vector(pair):
    a = pair.first.dataset.copy(deep=True)
    for v in ("hh", "hv"):
        a[v].values[:, :, :96] = np.nan  # the western half has no data
    d = drift(a, pair.second, max_displacement=2000.0).compute()
    west = d.x.values < float(a.x[96 - 48])  # windows entirely in the no-data half
    assert np.isnan(d.u.values[:, west]).all() and (d.quality.values[:, west] == 0).all()
    east = d.x.values > float(a.x[96 + 48])
    assert np.isfinite(d.u.values[:, east]).mean() > 0.9


def test_functions_survive_submodule_imports():
    import importlib

    import xseaice

    for name in ("drift", "warp", "despeckle"):
        module = importlib.import_module(f"xseaice.sar.{name}")
        assert getattr(xseaice, name) is getattr(module, name)
        assert callable(getattr(xseaice, name))


def test_drift_bad_input(pair):
    a, b = pair.first.dataset, pair.second
    with pytest.raises(InvalidArgumentError, match="method must be one of"):
        drift(a, b, method="magic")  # type: ignore[arg-type]
    with pytest.raises(MissingVariablesError, match="channels"):
        drift(a, b.drop_vars("hv"))
    with pytest.raises(InvalidArgumentError, match="same GeoBox"):
        drift(a, b.isel(x=slice(1, None)))
    with pytest.raises(InvalidArgumentError, match="one acquisition"):
        drift(xr.concat([a, a], "time"), b)
    with pytest.raises(InvalidArgumentError, match="window"):
        drift(a, b, window=7)
