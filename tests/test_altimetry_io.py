"""read_altimetry on the real CryoSat-2 files and on a synthetic ATL10 granule."""

from __future__ import annotations

import http.server
import threading
from functools import partial

import h5py
import netCDF4
import numpy as np
import pandas as pd
import pytest
from conftest import REAL_DATA

from xseaice.exceptions import AssetReadError, InvalidArgumentError
from xseaice.io.altimetry import read_altimetry

L2I = REAL_DATA / "CS_OFFL_SIR_SINI2__20190504T122546_20190504T122726_D001.nc"
MERGES = [REAL_DATA / "merge_4335.nc", REAL_DATA / "merge_4336.nc"]
real = pytest.mark.skipif(not REAL_DATA.exists(), reason="../shared/data/real is absent")


@real
def test_cryosat2_l2i_counts_values_and_time() -> None:
    pts = read_altimetry(L2I)
    assert pts.crs.to_epsg() == 4326
    assert set(pts["kind"]) == {"cryosat2_l2i"}
    with netCDF4.Dataset(L2I) as d:
        fb = d["freeboard_20_ku"][:]
        cls = np.asarray(d["flag_surf_type_class_20_ku"][:])
        lead_h = d["height_sea_ice_lead_20_ku"][:]
        floe_h = d["height_sea_ice_floe_20_ku"][:]
        lat = d["lat_poca_20_ku"][:]
        start = pd.Timestamp(d.sensing_start)  # UTC in the global attributes
    # surface classes: bit 256 sar_lead, 128 sar_sea_ice, 64 sar_ocean (LSB-first masks)
    assert (pts["surface"] == "lead").sum() == int(((cls & 256) > 0).sum()) == 229
    assert (pts["surface"] == "floe").sum() == int(((cls & 128) > 0).sum()) == 56
    assert (pts["surface"] == "ocean").sum() == int(((cls & 64) > 0).sum())
    # every record has a height from one retracker or the other: nothing dropped
    has_value = ~np.ma.getmaskarray(fb) | ~np.ma.getmaskarray(lead_h) | ~np.ma.getmaskarray(floe_h)
    assert len(pts) == int(has_value.sum()) == 2176
    # freeboards: exactly the non-fill values, no fill leaked as a number
    np.testing.assert_allclose(
        np.sort(pts["freeboard"].dropna()), np.sort(fb.compressed()), atol=1e-9
    )
    assert pts["freeboard"].notna().sum() == 29
    lead = pts[pts["surface"] == "lead"]
    np.testing.assert_allclose(np.sort(lead["elevation"]), np.sort(lead_h.compressed()), atol=1e-9)
    assert lead["elevation"].between(-44.0, -40.0).all()
    # 27 freeboards flagged unreliable (extrapolated sea surface), 2 reliable
    assert int(pts["freeboard_unreliable"][pts["freeboard"].notna()].sum()) == 27
    assert pts.geometry.y.min() == pytest.approx(float(lat.min()), abs=1e-6)
    # TAI -> UTC: the first record is the sensing start (37 leap seconds in 2019)
    assert abs(pts["time"].min() - start) < pd.Timedelta("1ms")
    assert pd.Timedelta("100s") < pts["time"].max() - pts["time"].min() < pd.Timedelta("101s")


@real
def test_cpom_merge_many_files_lead_floe_split() -> None:
    pts = read_altimetry([str(p) for p in MERGES])
    expect_lead = expect_floe = expect_n = 0
    times = []
    for p in MERGES:
        with netCDF4.Dataset(p) as d:
            elev = np.asarray(d["elevation"][:], dtype=np.float64)
            cls = np.asarray(d["lead_floe_class"][:])
            t = np.asarray(d["measurement_time"][:], dtype=np.float64)
        ok = np.isfinite(elev)
        expect_n += int(ok.sum())
        expect_lead += int((ok & (cls == 2)).sum())
        expect_floe += int((ok & (cls == 3)).sum())
        times += [t.min(), t.max()]
    assert len(pts) == expect_n
    assert (pts["surface"] == "lead").sum() == expect_lead
    assert (pts["surface"] == "floe").sum() == expect_floe
    assert set(pts["source"]) == {"merge_4335.nc", "merge_4336.nc"}
    assert pts["elevation"].notna().all() and pts["freeboard"].isna().all()
    assert pts.geometry.x.between(-180, 180).all() and pts.geometry.y.between(70.4, 88.0).all()
    first = pd.Timestamp(min(times), unit="s")
    assert abs(pts["time"].min() - first) < pd.Timedelta("1s")
    assert str(pts["time"].min().date()) == "2022-12-14"
    assert pts["time"].is_monotonic_increasing


@real
def test_glob_and_explicit_kind() -> None:
    a = read_altimetry(str(REAL_DATA / "merge_433*.nc"))
    b = read_altimetry(str(MERGES[0]), kind="cpom_merge")
    assert len(a) > len(b) > 7000


def test_atl10_roundtrip_synthetic(tmp_path) -> None:
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.atl10 import write_atl10
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(2, shape=(96, 96))
    elev = make_elevation(sc)
    pts = simulate_tracks(sc.dataset, elev, mission="icesat2", n_tracks=1, seed=4)
    path = write_atl10(pts, tmp_path / "ATL10-01_synthetic.h5")
    got = read_altimetry(path)
    assert set(got["kind"]) == {"atl10"}
    assert len(got) == len(pts)
    with h5py.File(path) as f:
        n_seg = sum(
            f[b]["freeboard_segment/beam_fb_height"].shape[0] for b in f if b.startswith("gt")
        )
        n_lead = sum(f[b]["leads/lead_height"].shape[0] for b in f if b.startswith("gt"))
        strong = {b for b in f if b.startswith("gt") and f[b].attrs["atlas_beam_type"] == "strong"}
    assert (got["surface"] == "floe").sum() == n_seg
    assert (got["surface"] == "lead").sum() == n_lead
    assert set(got.loc[got["strong_beam"], "beam"]) == strong
    sides = {b[-1] for b in strong}  # strong beams are all left or all right (sc_orient)
    assert len(sides) == 1 and set(got["beam"]) - strong == {
        b for b in set(got["beam"]) if b[-1] not in sides
    }
    key = ["beam", "time"]
    a = got.sort_values(key).reset_index(drop=True)
    b = pts.sort_values(key).reset_index(drop=True)
    assert (abs(a["time"] - b["time"]) < pd.Timedelta("1us")).all()
    np.testing.assert_allclose(a["freeboard"], b["freeboard"], atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(a.geometry.x, b.geometry.x, atol=1e-5)


def test_url_is_read(tmp_path) -> None:
    from xseaice.synthetic import make_scene
    from xseaice.synthetic.atl10 import write_atl10
    from xseaice.synthetic.elevation import make_elevation
    from xseaice.synthetic.tracks import simulate_tracks

    sc = make_scene(5, shape=(64, 64))
    pts = simulate_tracks(sc.dataset, make_elevation(sc), mission="icesat2", seed=1)
    write_atl10(pts, tmp_path / "g.h5")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        got = read_altimetry(f"http://127.0.0.1:{srv.server_port}/g.h5")
        assert len(got) == len(pts)
        with pytest.raises(AssetReadError, match=r"missing\.h5 \(HTTP 404\)"):
            read_altimetry(f"http://127.0.0.1:{srv.server_port}/missing.h5")
    finally:
        srv.shutdown()


def test_errors_name_the_argument(tmp_path) -> None:
    with pytest.raises(AssetReadError, match="does not exist"):
        read_altimetry(tmp_path / "nope.nc")
    with pytest.raises(AssetReadError, match="matched no file"):
        read_altimetry(str(tmp_path / "*.nc"))
    with pytest.raises(InvalidArgumentError, match="kind must be one of"):
        read_altimetry(tmp_path / "x.nc", kind="swot")  # type: ignore[arg-type]
    other = tmp_path / "other.nc"
    with netCDF4.Dataset(other, "w") as d:
        d.createDimension("n", 3)
        d.createVariable("foo", "f4", ("n",))[:] = [1, 2, 3]
    with pytest.raises(InvalidArgumentError, match="could not recognise"):
        read_altimetry(other)
    with pytest.raises(InvalidArgumentError, match="path_or_url"):
        read_altimetry([])


def test_top_level_name() -> None:
    import xseaice

    assert xseaice.read_altimetry is read_altimetry
