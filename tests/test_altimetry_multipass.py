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
