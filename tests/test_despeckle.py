"""Speckle filters (:mod:`xseaice.sar.despeckle`) against numpy statistics."""

from __future__ import annotations

import sys

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.sar.despeckle import despeckle, filter_intensity

N = 160
ENL = 10.0


def _field(img: np.ndarray, db: bool) -> xr.DataArray:
    data = 10.0 * np.log10(img) if db else img
    return xr.DataArray(
        data[None].astype(np.float32),
        dims=("time", "y", "x"),
        coords={"x": np.arange(img.shape[1]) * 40.0, "y": -np.arange(img.shape[0]) * 40.0},
        attrs={"units": "dB"} if db else {"units": "1"},
    )


@pytest.fixture(scope="module")
def homogeneous() -> np.ndarray:
    """Gamma speckle of ENL 10 on a constant sigma0 of 0.05."""
    return 0.05 * np.random.default_rng(0).gamma(ENL, 1.0 / ENL, (N, N))


def _enl(x: np.ndarray) -> float:
    return float(x.mean() ** 2 / x.var())


def test_boxcar_enl_matches_the_number_of_averaged_looks(homogeneous):
    out = despeckle(_field(homogeneous, db=False), method="boxcar", size=7).values[0]
    inner = (slice(10, -10),) * 2
    # 49 independent pixels of ENL 10 average to ENL 490
    assert _enl(homogeneous[inner]) == pytest.approx(ENL, rel=0.1)
    assert _enl(out[inner]) == pytest.approx(49 * _enl(homogeneous[inner]), rel=0.2)


@pytest.mark.parametrize("method", ["boxcar", "lee", "refined_lee"])
def test_enl_gain_and_mean_preserved_in_linear_power(homogeneous, method):
    out = despeckle(_field(homogeneous, db=True), method=method, enl=ENL).values[0]
    lin = 10.0 ** (out.astype(np.float64) / 10.0)
    inner = (slice(10, -10),) * 2
    gain = _enl(lin[inner]) / _enl(homogeneous[inner])
    assert gain > 10.0
    assert lin[inner].mean() == pytest.approx(homogeneous[inner].mean(), rel=0.01)


def test_lee_keeps_leads_and_edges_that_a_boxcar_blurs():
    rng = np.random.default_rng(1)
    img = 0.05 * rng.gamma(ENL, 1.0 / ENL, (N, N))
    img[:, 100:] *= 4.0  # a floe edge (+6 dB)
    img[:, 40:42] = 0.002 * rng.gamma(ENL, 1.0 / ENL, (N, 2))  # a 2-pixel lead (-14 dB)

    def lead_contrast(x: np.ndarray) -> float:
        return 10 * np.log10(x[:, 40:42].mean() / x[:, 30:38].mean())

    def edge_step(x: np.ndarray) -> float:  # contrast across 2 px either side of the edge
        return 10 * np.log10(x[:, 100:102].mean() / x[:, 98:100].mean())

    res = {}
    for m in ("boxcar", "lee", "refined_lee"):
        res[m] = 10.0 ** (despeckle(_field(img, db=True), method=m).values[0] / 10.0)
    assert lead_contrast(img) < -12.0
    assert lead_contrast(res["boxcar"]) > -4.0
    assert lead_contrast(res["refined_lee"]) < -7.0
    assert lead_contrast(res["lee"]) < lead_contrast(res["boxcar"]) - 3.0
    assert edge_step(res["boxcar"]) < 3.5
    assert edge_step(res["refined_lee"]) > 4.5


@pytest.mark.parametrize("method", ["boxcar", "lee", "refined_lee"])
def test_chunked_equals_unchunked(homogeneous, method):
    img = homogeneous.copy()
    img[:, 70:73] *= 8.0
    img[20:25, 30:90] = np.nan
    field = _field(img, db=True)
    whole = despeckle(field, method=method)
    parts = despeckle(field.chunk({"y": 45, "x": 50}), method=method)
    assert isinstance(parts.data, da.Array)
    assert parts.data.numblocks[-2:] == (4, 4)
    np.testing.assert_allclose(parts.values, whole.values, rtol=1e-5, equal_nan=True)
    assert np.isnan(whole.values[0, 20:25, 30:90]).all()
    assert np.isfinite(whole.values[0, 30:, :]).all()


def test_filter_intensity_refined_lee_follows_the_edge_direction():
    # a diagonal edge: the refined filter averages along it, not across it
    r, c = np.mgrid[0:64, 0:64]
    img = np.where(r > c, 1.0, 0.1)
    out = filter_intensity(img, method="refined_lee", enl=ENL)
    lee = filter_intensity(img, method="lee", size=7, enl=ENL)
    near = np.abs(r - c) <= 2
    inner = near & (r > 8) & (r < 56)
    assert np.abs(out - img)[inner].max() < 1e-9
    assert np.abs(lee - img)[inner].max() > 0.05


def test_dataset_filters_the_backscatter_only():
    from xseaice.synthetic import make_scene

    ds = make_scene(0, shape=(64, 64)).dataset
    out = despeckle(ds, method="lee")
    xr.testing.assert_identical(out.compute(), ds.seaice.despeckle(method="lee").compute())
    xr.testing.assert_identical(out.hv.compute(), ds.hv.seaice.despeckle().compute())
    assert out.hh.attrs["despeckle"] == "lee (size=7, enl=10)"
    assert out.hh.attrs["units"] == "dB"
    xr.testing.assert_identical(out.tb18h, ds.tb18h)
    assert float(out.hh.std()) < float(ds.hh.std())


def test_bad_arguments(homogeneous):
    f = _field(homogeneous, db=True)
    with pytest.raises(InvalidArgumentError, match="method must be one of"):
        despeckle(f, method="median")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="odd"):
        despeckle(f, size=4)
    with pytest.raises(InvalidArgumentError, match="enl"):
        despeckle(f, enl=0)
    with pytest.raises(InvalidArgumentError, match="variables"):
        despeckle(xr.Dataset({"hh": f}), variables=("hh", "hv"))


def test_sar2sar_without_the_extra_names_it(monkeypatch, homogeneous):
    from xseaice.sar import _sar2sar

    _sar2sar.load_sar2sar.cache_clear()
    monkeypatch.setitem(sys.modules, "deepdespeckling", None)
    with pytest.raises(ImportError, match=r"xseaice\[despeckle\]"):
        despeckle(_field(homogeneous, db=True), method="sar2sar")
    _sar2sar.load_sar2sar.cache_clear()


def test_sar2sar_despeckles_homogeneous_ice(homogeneous):
    pytest.importorskip("deepdespeckling")
    img = np.tile(homogeneous, (2, 2))[:256, :256]
    out = despeckle(_field(img, db=True), method="sar2sar")
    assert isinstance(out.data, da.Array)
    lin = 10.0 ** (out.values[0].astype(np.float64) / 10.0)
    inner = (slice(16, -16),) * 2
    assert _enl(lin[inner]) / _enl(img[inner]) > 5.0
    # log-domain network: the mean is kept within 10 % (measured bias about +5 %)
    assert lin[inner].mean() == pytest.approx(img[inner].mean(), rel=0.1)
    assert out.attrs["despeckle"].startswith("sar2sar")
