"""``xseaice densify``, ``drift``, ``despeckle`` and ``train-prior``: files in, one file out."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from xseaice.altimetry import densify
from xseaice.altimetry.prior import DensifyPrior
from xseaice.cli import EXIT_ERROR, EXIT_OK, main
from xseaice.io.altimetry import read_altimetry
from xseaice.sar.despeckle import despeckle
from xseaice.sar.drift import drift
from xseaice.synthetic import make_scene
from xseaice.synthetic.atl10 import write_atl10
from xseaice.synthetic.drift import make_drift_pair
from xseaice.synthetic.elevation import ElevationParams, make_elevation
from xseaice.synthetic.tracks import simulate_tracks


def _scene_and_granule(tmp_path: Path, seed: int, size: int = 128) -> tuple[Path, Path]:
    sc = make_scene(seed, shape=(size, size))
    ds = sc.dataset.assign(ice=sc.truth["ice"])
    elev = make_elevation(sc, params=ElevationParams.varied(seed))
    pts = simulate_tracks(ds, elev, mission="icesat2", n_tracks=2, seed=seed)
    scene, granule = tmp_path / f"scene{seed}.nc", tmp_path / f"atl10_{seed}.h5"
    ds.to_netcdf(scene)
    write_atl10(pts, granule)
    return scene, granule


def test_densify_command_writes_what_the_library_maps(tmp_path, capsys) -> None:
    scene, granule = _scene_and_granule(tmp_path, 61)
    out = tmp_path / "fb.nc"
    assert main(["-q", "densify", str(scene), str(granule), "-o", str(out)]) == EXIT_OK
    ds = xr.open_dataset(scene).load()
    expect = densify(ds, read_altimetry(granule), "freeboard")
    with xr.open_dataset(out) as got:
        np.testing.assert_allclose(got["freeboard"].values, expect.values, atol=1e-6)
        np.testing.assert_allclose(
            got["uncertainty"].values, expect["uncertainty"].values, atol=1e-6
        )
        assert got["freeboard"].attrs["units"] == "m" and got["freeboard"].attrs["prior"] == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fb.nc")]  # no leftovers
    # an existing output is kept unless --overwrite
    code = main(["-q", "densify", str(scene), str(granule), "-o", str(out)])
    assert code == EXIT_ERROR and "--overwrite" in capsys.readouterr().err
    code = main(["-q", "densify", str(scene), str(granule), "-o", str(tmp_path / "fb.tif")])
    assert code == EXIT_ERROR and re.search(r"ending in \.nc", capsys.readouterr().err)


def test_densify_command_takes_the_lead_map_from_a_geotiff(tmp_path, capsys) -> None:
    sc = make_scene(66, shape=(128, 128))
    elev = make_elevation(sc)
    pts = simulate_tracks(sc.dataset, elev, mission="icesat2", n_tracks=2, seed=66)
    scene, granule, tif = tmp_path / "s.nc", tmp_path / "p.h5", tmp_path / "xseaice_ice.tif"
    sc.dataset.to_netcdf(scene)  # no ice variable: the map comes from the GeoTIFF
    write_atl10(pts, granule)
    leads = sc.truth["ice"].astype("uint8")
    leads.rio.write_crs(sc.dataset.rio.crs).rio.to_raster(tif)
    out = tmp_path / "fb.nc"
    argv = ["-q", "densify", str(scene), str(granule), "-o", str(out), "--ice", str(tif)]
    assert main(argv) == EXIT_OK
    ds = xr.open_dataset(scene).load()
    expect = densify(ds, read_altimetry(granule), "freeboard", ice=sc.truth["ice"].values)
    with xr.open_dataset(out) as got:
        np.testing.assert_allclose(got["freeboard"].values, expect.values, atol=1e-6)
        assert np.all(got["freeboard"].values[sc.truth["ice"].values == 0] == 0)
    small = tmp_path / "small.tif"
    leads.isel(x=slice(0, 64)).rio.write_crs(sc.dataset.rio.crs).rio.to_raster(small)
    argv = ["-q", "densify", str(scene), str(granule), "-o", str(tmp_path / "f2.nc")]
    assert main([*argv, "--ice", str(small)]) == EXIT_ERROR
    assert "on the scene's grid" in capsys.readouterr().err


def test_train_prior_then_densify_with_it(tmp_path, capsys) -> None:
    pairs = [_scene_and_granule(tmp_path, s) for s in (62, 63, 64)]
    prior = tmp_path / "prior.safetensors"
    args = ["-q", "train-prior", "-o", str(prior), "--steps", "300"]
    for scene, granule in pairs:
        args += ["--pair", str(scene), str(granule)]
    assert main(args) == EXIT_OK
    digest = capsys.readouterr().out.split("sha256")[1].split()[0]
    assert len(digest) == 64 and DensifyPrior.load(prior, sha256=digest).n_points > 50
    scene, granule = _scene_and_granule(tmp_path, 65)
    out = tmp_path / "fb.nc"
    cmd = ["-q", "densify", str(scene), str(granule), "-o", str(out), "--prior", str(prior)]
    assert main([*cmd, "--prior-sha256", digest]) == EXIT_OK
    with xr.open_dataset(out) as got:
        assert got["freeboard"].attrs["prior"] == 1
    assert main([*cmd, "--prior-sha256", "0" * 64, "--overwrite"]) == EXIT_ERROR
    assert "sha256" in capsys.readouterr().err


def test_drift_and_despeckle_commands_match_the_library(tmp_path) -> None:
    pair = make_drift_pair(3, shape=(192, 192))
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    pair.first.dataset.to_netcdf(a)
    pair.second.to_netcdf(b)
    out = tmp_path / "drift.nc"
    assert main(["-q", "drift", str(a), str(b), "-o", str(out), "--step", "32"]) == EXIT_OK
    expect = drift(xr.open_dataset(a), xr.open_dataset(b), step=32).compute()
    with xr.open_dataset(out) as got:
        for name in ("u", "v", "quality"):
            np.testing.assert_allclose(got[name].values, expect[name].values, equal_nan=True)
    filtered = tmp_path / "lee.nc"
    assert main(["-q", "despeckle", str(a), "-o", str(filtered), "--size", "5"]) == EXIT_OK
    expect_hh = despeckle(xr.open_dataset(a), method="lee", size=5)["hh"].values
    with xr.open_dataset(filtered) as got:
        np.testing.assert_allclose(got["hh"].values, expect_hh, rtol=1e-6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["densify", "missing.nc", "x.h5", "-o", "o.nc"], r"scene 'missing\.nc' does not exist"),
        (["drift", "a.nc", "b.nc", "-o", "d.zarr"], r"ending in \.nc"),
        (["despeckle", "s.nc", "-o", "s.tif"], r"ending in \.nc or \.zarr"),
    ],
)
def test_tool_commands_name_the_bad_argument(tmp_path, capsys, monkeypatch, argv, message) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-q", *argv]) == EXIT_ERROR
    assert re.search(message, capsys.readouterr().err)
