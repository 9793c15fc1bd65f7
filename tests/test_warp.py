"""Moving scenes and altimeter points along a drift field (:mod:`xseaice.sar.warp`)."""

from __future__ import annotations

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pyproj import Transformer
from scipy import ndimage
from shapely.geometry import Point

from xseaice.exceptions import InvalidArgumentError
from xseaice.sar.drift import drift
from xseaice.sar.warp import warp, warp_points
from xseaice.synthetic.drift import make_drift_pair
from xseaice.synthetic.scene import make_scene

T_A = "2023-01-04T08:00:00"
T_B = "2023-01-04T20:00:00"


@pytest.fixture(scope="module")
def scene():
    return make_scene(2, shape=(96, 96)).dataset


def _uniform(scene: xr.Dataset, u: float, v: float, step: int = 16) -> xr.Dataset:
    """A hand-made drift Dataset: the same displacement everywhere, 12 h apart."""
    ys = scene.y.values[step // 2 :: step]
    xs = scene.x.values[step // 2 :: step]
    shape = (ys.size, xs.size)
    return xr.Dataset(
        {"u": (("y", "x"), np.full(shape, u)), "v": (("y", "x"), np.full(shape, v))},
        coords={"y": ys, "x": xs, "spatial_ref": scene.spatial_ref},
        attrs={"time_a": T_A, "time_b": T_B},
    )


def test_warp_points_moves_by_the_time_fraction(scene):
    d = _uniform(scene, 400.0, -200.0)
    to_ll = Transformer.from_crs("EPSG:3413", "EPSG:4326", always_xy=True)
    x = float(scene.x[40])
    y = float(scene.y[50])
    lon, lat = to_ll.transform(x, y)
    far_lon, far_lat = to_ll.transform(x + 1e6, y)
    pts = gpd.GeoDataFrame(
        {
            "time": pd.to_datetime([T_A, T_B, "2023-01-04T14:00:00", T_A]),
            "freeboard": [0.1, 0.2, 0.3, 0.4],
        },
        geometry=[Point(lon, lat)] * 3 + [Point(far_lon, far_lat)],
        crs="EPSG:4326",
    )
    out = warp_points(pts, d, to_time="2023-01-04T14:00:00")
    assert out.equals(warp(pts, d, "2023-01-04T14:00:00"))
    assert out.crs == pts.crs
    assert list(out["freeboard"]) == [0.1, 0.2, 0.3, 0.4]
    back = Transformer.from_crs("EPSG:4326", "EPSG:3413", always_xy=True)
    px, py = back.transform(out.geometry.x.to_numpy(), out.geometry.y.to_numpy())
    # 6 h forward is half the 12 h drift; 6 h backward is minus half; 0 h does not move
    np.testing.assert_allclose(px[:3] - x, [200.0, -200.0, 0.0], atol=0.01)
    np.testing.assert_allclose(py[:3] - y, [-100.0, 100.0, 0.0], atol=0.01)
    np.testing.assert_allclose(out["drift_dx"][:3], [200.0, -200.0, 0.0])
    assert list(out["drift_valid"]) == [True, True, True, False]
    assert np.isnan(out["drift_dx"].iloc[3])
    assert out.geometry.iloc[3].equals_exact(pts.geometry.iloc[3], 1e-9)
    assert (out["time"] == pd.Timestamp("2023-01-04T14:00:00")).all()
    assert (out["source_time"] == pts["time"]).all()


def test_warp_points_follows_a_measured_drift():
    pair = make_drift_pair(3, shape=(192, 192), translation=(1000.0, -600.0))
    d = drift(pair.first.dataset, pair.second, max_displacement=2000.0)
    to_ll = Transformer.from_crs("EPSG:3413", "EPSG:4326", always_xy=True)
    rows, cols = np.array([70, 96, 120]), np.array([60, 96, 110])
    xs, ys = pair.first.dataset.x.values[cols], pair.first.dataset.y.values[rows]
    lon, lat = to_ll.transform(xs, ys)
    pts = gpd.GeoDataFrame(
        {"time": pd.to_datetime([T_A] * 3)}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    )
    out = warp_points(pts, d, to_time=T_B).to_crs(3413)
    true_u = pair.displacement.u.values[rows, cols]
    true_v = pair.displacement.v.values[rows, cols]
    err = np.hypot(out.geometry.x - xs - true_u, out.geometry.y - ys - true_v)
    assert np.median(err) < 40.0  # one pixel


def test_warp_scene_by_whole_pixels(scene):
    # +2 columns (x grows with columns) and +4 rows (y shrinks with rows: v = -4 px)
    d = _uniform(scene, 2 * 40.0, -4 * 40.0)
    moved = warp(scene, d, T_B)
    assert isinstance(moved.hh.data, da.Array)
    assert str(moved.time.values[0]) == "2023-01-04T20:00:00.000000000"
    a = scene.hh.values[0]
    got = moved.hh.values[0]
    np.testing.assert_allclose(got[4:, 2:], a[:-4, :-2], rtol=1e-6)
    assert np.isnan(got[:4]).all() and np.isnan(got[:, :2]).all()
    # halfway in time is halfway in space; integer variables stay integers (nearest)
    ints = scene.hh.astype("int16")
    half = warp(ints, d, "2023-01-04T14:00:00")
    assert half.dtype == np.int16
    np.testing.assert_array_equal(half.values[0][10:, 10:], ints.values[0][8:-2, 9:-1])


def test_warp_is_seamless_over_chunks(scene):
    d = _uniform(scene, 130.0, -70.0)
    whole = warp(scene.hh, d, T_B).values
    chunked = warp(scene.hh.chunk({"y": 40, "x": 40}), d, T_B)
    assert chunked.data.numblocks[-2:] != (1, 1)
    np.testing.assert_allclose(chunked.values, whole, equal_nan=True)
    # bilinear resampling of a sub-pixel shift, checked with scipy directly
    ref = ndimage.shift(scene.hh.values[0], (70 / 40, 130 / 40), order=1, cval=np.nan)
    np.testing.assert_allclose(whole[0][5:-5, 5:-5], ref[5:-5, 5:-5], rtol=1e-5)


def test_warp_bad_input(scene):
    d = _uniform(scene, 1.0, 1.0)
    with pytest.raises(InvalidArgumentError, match="one acquisition time"):
        warp(scene.isel(time=0).drop_vars("time"), d, T_B)
    with pytest.raises(InvalidArgumentError, match="time_a"):
        warp(scene, d.drop_attrs(), T_B)
    with pytest.raises(InvalidArgumentError, match="to_time"):
        warp(scene, d, "not a date")
    with pytest.raises(InvalidArgumentError, match="'time' column"):
        warp_points(gpd.GeoDataFrame(geometry=[Point(0, 80)], crs=4326), d, to_time=T_B)
