"""Multi-pass combination of densified maps."""

from __future__ import annotations

import numpy as np
import pytest

from xseaice.altimetry import densify
from xseaice.altimetry.multipass import combine_maps, densify_passes
from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic import make_scene
from xseaice.synthetic.elevation import make_elevation
from xseaice.synthetic.relook import relook
from xseaice.synthetic.tracks import simulate_tracks


def test_combine_maps_inverse_variance() -> None:
    import xarray as xr

    def m(v: float, s: float) -> xr.DataArray:
        da = xr.DataArray(np.full((2, 3), v), dims=("y", "x"), coords={"y": [0, 1], "x": [0, 1, 2]})
        return da.assign_coords(uncertainty=(("y", "x"), np.full((2, 3), s)))

    out = combine_maps([m(1.0, 0.1), m(2.0, 0.2)], correlation=0.0)
    w1, w2 = 1 / 0.01, 1 / 0.04
    assert float(out[0, 0]) == pytest.approx((w1 * 1 + w2 * 2) / (w1 + w2), rel=1e-6)
    assert float(out["uncertainty"][0, 0]) == pytest.approx((w1 + w2) ** -0.5, rel=1e-5)
    full = combine_maps([m(1.0, 0.1), m(2.0, 0.1)], correlation=1.0)
    assert float(full["uncertainty"][1, 2]) == pytest.approx(0.1, rel=1e-5)  # no gain
    exact = combine_maps([m(0.0, 0.0), m(2.0, 0.2)])
    assert float(exact[0, 0]) == 0.0 and float(exact["uncertainty"][0, 0]) == 0.0
    with pytest.raises(InvalidArgumentError, match="at least one"):
        combine_maps([])
    with pytest.raises(InvalidArgumentError, match="one grid"):
        combine_maps([m(1.0, 0.1), m(1.0, 0.1).isel(x=[0, 1])])


def test_more_passes_and_looks_beat_one() -> None:
    sc = make_scene(31, shape=(144, 144))
    elev = make_elevation(sc)
    later = relook(sc, seed=3, hours=10.0)
    assert not np.allclose(later["hh"].values, sc.dataset["hh"].values)
    passes = simulate_tracks(sc.dataset, elev, mission="icesat2", n_tracks=3, seed=9, max_dt="6h")
    truth = elev["freeboard"].values
    single = densify(sc.dataset, passes[passes["track"] == 0], ice=sc.truth["ice"])
    multi = densify_passes([sc.dataset, later], passes, ice=[sc.truth["ice"]] * 2, combine="maps")
    both = densify_passes([sc.dataset, later], passes, ice=[sc.truth["ice"]] * 2)
    assert both.attrs["n_looks"] == 2
    rmse = [float(np.sqrt(np.mean((m.values - truth) ** 2))) for m in (single, multi, both)]
    assert rmse[1] < rmse[0] and rmse[2] < rmse[0]
    assert multi.attrs["n_maps"] == 2
    with pytest.raises(InvalidArgumentError, match="combine"):
        densify_passes([sc.dataset], passes, combine="best")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="same"):
        densify_passes([sc.dataset], passes, drifts=[None, None])


def test_second_pass_linked_by_drift_beats_one_pass() -> None:
    """Later ICESat-2 passes over drifted ice, moved back by the measured drift, help."""
    import geopandas as gpd
    import pandas as pd
    import xarray as xr

    from xseaice.sar.drift import drift
    from xseaice.synthetic.drift import make_drift_pair

    n = 176
    pair = make_drift_pair(5, shape=(n, n), translation=(1000.0, -600.0))
    sc, later = pair.first, pair.second
    ds, ice = sc.dataset, sc.truth["ice"]
    # the pair crops a padded make_scene; its elevation truth is cropped the same way
    reach = np.hypot(1000.0 / 40.0, 600.0 / 40.0) + (np.radians(0.5) + 0.002) * np.hypot(n, n)
    m = int(np.ceil(reach + 5.0 + 8))
    big = make_scene(5, shape=(n + 2 * m, n + 2 * m), time="2023-01-04T08:00:00")
    elev = make_elevation(big).isel(y=slice(m, m + n), x=slice(m, m + n))
    np.testing.assert_array_equal(elev["x"].values, ds["x"].values)
    np.testing.assert_array_equal(elev["y"].values, ds["y"].values)
    truth = elev["freeboard"].values
    t_a = pd.Timestamp(ds["time"].values[0])
    passes = simulate_tracks(ds, elev, mission="icesat2", n_tracks=3, seed=11)
    first = passes[passes["track"] == 0].assign(time=t_a)
    # two later passes sample the same ice at the later time, where the drift took it
    xy = passes[passes["track"] > 0].to_crs(ds.odc.crs)
    px, py = xr.DataArray(xy.geometry.x.to_numpy()), xr.DataArray(xy.geometry.y.to_numpy())
    disp = pair.displacement.sel(x=px, y=py, method="nearest")
    moved = xy.set_geometry(
        gpd.points_from_xy(px + disp["u"].values, py + disp["v"].values, crs=ds.odc.crs)
    ).to_crs(passes.crs)
    moved["time"] = pd.Timestamp(later["time"].values[0])
    both = pd.concat([first, moved], ignore_index=True)
    measured = drift(ds, later, max_displacement=2000.0).compute()

    def rmse(m: xr.DataArray) -> float:
        return float(np.sqrt(np.nanmean((m.values - truth) ** 2)))

    single = rmse(densify(ds, first, ice=ice))
    linked = rmse(densify(ds, both, ice=ice, drift=measured))
    unlinked = rmse(densify(ds, both, ice=ice))  # late passes where they were measured
    assert linked < single and linked < unlinked, (single, linked, unlinked)
