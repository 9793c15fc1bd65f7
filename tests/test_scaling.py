"""Analytical Logit Scaling and streaming percentiles, against numpy hand computations."""

from __future__ import annotations

import warnings

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from dask.callbacks import Callback
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from scipy.special import expit

import xseaice  # noqa: F401  (registers the accessor)
from xseaice.exceptions import DegenerateSceneWarning, IceChartError, InvalidArgumentError
from xseaice.io.icechart import rasterize_chart
from xseaice.products.als import scale_logits
from xseaice.products.percentiles import nanpercentile

L98 = np.log(0.98 / 0.02)


def _als(z: np.ndarray, lower: float = 2, upper: float = 98, q: float = 0.98) -> np.ndarray:
    """The ALS formula by hand, per time step (first axis)."""
    out = np.empty(z.shape, dtype="float64")
    big_l = np.log(q / (1 - q))
    for t in range(z.shape[0]):
        lo, hi = np.nanpercentile(z[t].astype("float64"), [lower, upper])
        b, temp = (hi + lo) / 2, (hi - lo) / (2 * big_l)
        out[t] = expit((z[t] - b) / temp)
    return out


def _geobox(ny: int = 60, nx: int = 80) -> GeoBox:
    return GeoBox.from_bbox((0, 0, nx * 100, ny * 100), "EPSG:3413", resolution=100)


def _logits(ntime: int = 2, ny: int = 60, nx: int = 80, seed: int = 0) -> xr.DataArray:
    """Under-confident logits: a weak signal of a blob truth plus a regional bias and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx]
    data = np.empty((ntime, ny, nx), dtype="float32")
    for t in range(ntime):
        truth = (np.sin(xx / 5.0 + t) * np.cos(yy / 7.0) > -0.2).astype(float)
        data[t] = 0.4 * (2 * truth - 1) + 0.3 * (xx / nx - 0.5) + 0.2 * rng.normal(size=(ny, nx))
    data[0, :4, :6] = np.nan
    coords = xr_coords(_geobox(ny, nx), crs_coord_name="spatial_ref")
    coords["time"] = np.array(["2023-01-04", "2023-01-05"][:ntime], dtype="datetime64[ns]")
    return xr.DataArray(data, dims=("time", "y", "x"), coords=coords, name="ice_logit")


class _Counter(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.tasks = 0

    def _pretask(self, key, dsk, state):
        self.tasks += 1


def _forbid(*args, **kwargs):
    raise AssertionError("something was computed while only building the graph")


# --- plain ALS ---------------------------------------------------------------------------


def test_als_matches_hand_computation_in_memory() -> None:
    z = _logits()
    p = scale_logits(z, bias="midpoint", method="exact")
    assert p.name == "ice_probability" and p.dtype == np.float32
    np.testing.assert_allclose(p.values, _als(z.values), atol=2e-7, equal_nan=True)
    assert np.isnan(p.values[0, :4, :6]).all() and np.isfinite(p.values[1]).all()
    for t in range(2):
        lo, hi = np.nanpercentile(z.values[t].astype("float64"), [2, 98])
        assert float(p.p_lo[t]) == pytest.approx(lo, abs=1e-6)
        assert float(p.p_hi[t]) == pytest.approx(hi, abs=1e-6)
        assert float(p.bias[t]) == pytest.approx((lo + hi) / 2, abs=1e-6)
        assert float(p.temperature[t]) == pytest.approx((hi - lo) / (2 * L98), rel=1e-5)
    assert p.percentile_error.values.tolist() == [0.0, 0.0]
    assert "spatial_ref" in p.coords and p.attrs["als_q"] == 0.98


def test_percentile_and_q_options() -> None:
    z = _logits(ntime=1)
    p = scale_logits(z, lower=10, upper=80, q=0.9, bias="midpoint", method="exact")
    np.testing.assert_allclose(p.values, _als(z.values, 10, 80, 0.9), atol=2e-7, equal_nan=True)
    lo, hi = np.nanpercentile(z.values[0].astype("float64"), [10, 80])
    # the anchors land on 1 - q and q
    assert float(expit((lo - float(p.bias[0])) / float(p.temperature[0]))) == pytest.approx(0.1)
    assert float(expit((hi - float(p.bias[0])) / float(p.temperature[0]))) == pytest.approx(0.9)


def test_two_dimensional_input_gets_scalar_coords_and_attrs() -> None:
    z = _logits(ntime=1).isel(time=0)
    p = scale_logits(z, bias="midpoint", method="exact")
    assert p.dims == ("y", "x")
    lo, hi = np.nanpercentile(z.values.astype("float64"), [2, 98])
    assert p.attrs["p_lo"] == pytest.approx(lo, abs=1e-6) and float(p.p_hi) == pytest.approx(hi)
    np.testing.assert_allclose(p.values, _als(z.values[None])[0], atol=2e-7, equal_nan=True)


@pytest.mark.parametrize("method", ["histogram", "refine", "exact"])
def test_dask_input_is_lazy_and_matches(method: str) -> None:
    z = _logits()
    lazy_in = z.chunk({"time": 1, "y": 25, "x": 30})
    counter = _Counter()
    with counter, dask.config.set(scheduler=_forbid):
        p = lazy_in.seaice.scale_logits(bias="midpoint", method=method)
        ice = p.seaice.binarize()
    assert counter.tasks == 0
    assert isinstance(p.data, da.Array) and isinstance(p.coords["bias"].data, da.Array)
    out = p.compute()
    tol = float(out.percentile_error.max()) * 2 + 1e-6  # histogram: within one bin per anchor
    np.testing.assert_allclose(out.values, _als(z.values), atol=tol * 20, equal_nan=True)
    assert (ice.compute().values == np.where(np.isnan(out.values), 255, out.values >= 0.5)).all()


# --- streaming percentiles -----------------------------------------------------------------


@pytest.mark.parametrize("bins", [2**10, 2**16, 2**20])
@pytest.mark.parametrize("dist", ["normal", "lognormal", "spiky"])
def test_histogram_percentiles_within_documented_bound(dist: str, bins: int) -> None:
    rng = np.random.default_rng(7)
    shape = (300, 270)
    x = {
        "normal": rng.normal(size=shape),
        "lognormal": rng.lognormal(sigma=2.0, size=shape),
        "spiky": np.where(rng.random(shape) < 0.6, 1.5, rng.normal(size=shape)),
    }[dist].astype("float32")
    x[rng.random(shape) < 0.05] = np.nan
    arr = da.from_array(x, chunks=(70, 64))
    qs = [0, 0.5, 2, 25, 50, 98, 99.9, 100]
    values, error = dask.compute(*nanpercentile(arr, qs, bins=bins))
    finite = np.sort(x[np.isfinite(x)].astype("float64"))
    exact = np.percentile(finite, qs)
    # the reported bound holds ...
    assert np.all(np.abs(values - exact) <= error)
    # ... and is the documented one: at most |x| * 2**(9 - log2(bins)), at most the range
    assert error <= np.abs(finite).max() * 2.0 ** (9 - np.log2(bins)) * (1 + 1e-9)
    assert error <= finite[-1] - finite[0]
    for q, v, e in zip(qs, values, exact, strict=True):
        j = int(np.floor((finite.size - 1) * q / 100))
        near = np.abs(finite[j : j + 2]).max()
        assert abs(v - e) <= near * 2.0 ** (9 - np.log2(bins)) * (1 + 1e-9)
    # rank view: between estimate and truth lie no more values than the truth's bin holds
    keys = np.ascontiguousarray(finite.astype("float32")).view("uint32")
    keys = np.where(keys >> 31, ~keys, keys | np.uint32(1 << 31)) >> np.uint32(32 - np.log2(bins))
    counts = np.bincount(keys.astype("int64"))
    for v, e in zip(values, exact, strict=True):
        between = np.count_nonzero((finite > min(v, e)) & (finite < max(v, e)))
        bin_of_truth = np.searchsorted(finite, e)
        assert between <= counts[keys[min(bin_of_truth, finite.size - 1)]]


def test_refine_equals_numpy_and_exact_on_dask() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_t(df=3, size=(257, 311))
    x[:10] = np.nan
    arr = da.from_array(x, chunks=(64, 80))
    qs = [2, 37.5, 98]
    expected = np.nanpercentile(x, qs)
    for method in ("refine", "exact"):
        values, error = dask.compute(*nanpercentile(arr, qs, method=method, bins=1024))
        np.testing.assert_allclose(values, expected, rtol=1e-13)
        assert error == 0.0
    # numpy input gives numpy output, eagerly
    values, error = nanpercentile(x, qs, method="refine")
    assert isinstance(values, np.ndarray)
    np.testing.assert_allclose(values, expected, rtol=1e-13)


def test_histogram_method_error_is_recorded_per_time_step() -> None:
    z = _logits()
    p = scale_logits(z.chunk({"y": 20, "x": 20}), bins=4096).compute()
    for t in range(2):
        zt = z.values[t][np.isfinite(z.values[t])].astype("float64")
        lo, hi = np.percentile(zt, [2, 98])
        err = float(p.percentile_error[t])
        assert 0 < err <= max(abs(lo), abs(hi)) * 2.0**-3 * 1.001
        assert abs(float(p.p_lo[t]) - lo) <= err and abs(float(p.p_hi[t]) - hi) <= err


# --- preservation ----------------------------------------------------------------------


def _ice_count(p: np.ndarray) -> int:
    return int(np.count_nonzero(p >= 0.5))


def test_preserve_scene_matches_model_mean_to_the_pixel() -> None:
    z = _logits()
    for obj in (z, z.chunk({"time": 1, "y": 17, "x": 23})):
        p = scale_logits(obj, preserve="scene").compute()
        for t in range(2):
            zt = z.values[t]
            ok = np.isfinite(zt)
            target = np.floor(expit(zt[ok].astype("float64")).mean() * ok.sum() + 0.5)
            assert _ice_count(p.values[t][ok]) == target
        assert p.attrs["als_preserve"] == "scene"


def _chart(crs: str = "EPSG:3413") -> gpd.GeoDataFrame:
    polys = [
        shapely.box(0, 3000, 4000, 6000),  # north-west: 30 x 40 px
        shapely.box(4000, 3000, 8000, 6000),  # north-east
        shapely.Polygon([(0, 0), (5000, 0), (2000, 2900)]),  # a triangle in the south
        shapely.box(6000, 500, 7500, 2000),  # a small box, no concentration
    ]
    chart = gpd.GeoDataFrame(
        {"ct": [0.3, 0.9, 0.05, np.nan], "CT": ["30", "90", "01", None]},
        geometry=polys,
        crs="EPSG:3413",
    )
    return chart.to_crs(crs)


@pytest.mark.parametrize("chunked", [False, True])
def test_preserve_regions_exact_to_the_pixel(chunked: bool) -> None:
    z = _logits()
    chart = _chart()
    obj = z.chunk({"time": 1, "y": 16, "x": 24}) if chunked else z
    p = scale_logits(obj, preserve=chart, tolerance=0.0).compute()
    plain = scale_logits(z).values
    ids = rasterize_chart(chart, z.isel(time=0)).values
    for t in range(2):
        ok = np.isfinite(z.values[t])
        for r, ct in enumerate(chart["ct"], start=1):
            sel = (ids == r) & ok
            if np.isnan(ct):  # no concentration: the scene's own ALS
                np.testing.assert_allclose(p.values[t][sel], plain[t][sel], atol=1e-6)
                continue
            assert sel.sum() > 50
            assert _ice_count(p.values[t][sel]) == np.floor(ct * sel.sum() + 0.5)
        outside = (ids == 0) & ok
        np.testing.assert_allclose(p.values[t][outside], plain[t][outside], atol=1e-6)


def test_preserve_builds_lazily() -> None:
    z = _logits().chunk({"time": 1, "y": 20, "x": 20})
    counter = _Counter()
    with counter, dask.config.set(scheduler=_forbid):
        by_chart = scale_logits(z, preserve=_chart())
        by_scene = scale_logits(z, preserve="scene", method="refine")
    assert counter.tasks == 0
    assert isinstance(by_chart.data, da.Array) and isinstance(by_scene.data, da.Array)


def test_preserve_regions_any_crs_and_ct_codes() -> None:
    z = _logits(ntime=1)
    # the codes stand for intervals: "01" (open water) is 0 to 1/10, the others are exact
    ranged = _chart().assign(ct_low=[0.3, 0.9, 0.0, np.nan], ct_high=[0.3, 0.9, 0.1, np.nan])
    by_ct = scale_logits(z, preserve=ranged).values
    codes_only = _chart("EPSG:4326").drop(columns="ct")
    by_codes = scale_logits(z, preserve=codes_only).values
    np.testing.assert_allclose(by_codes, by_ct, atol=1e-6, equal_nan=True)
    with pytest.raises(IceChartError, match="column='nope'"):
        scale_logits(z, preserve=_chart(), column="nope")
    bad = _chart().assign(ct=[30.0, 90.0, 5.0, np.nan])
    with pytest.raises(InvalidArgumentError, match="outside 0-1"):
        scale_logits(z, preserve=bad)


def test_preserve_all_water_and_all_ice_regions() -> None:
    z = _logits(ntime=1)
    chart = _chart().assign(ct=[0.0, 1.0, 0.05, np.nan])
    p = scale_logits(z.chunk({"y": 20, "x": 20}), preserve=chart, tolerance=0.0).compute()
    p = p.values[0]
    ids = rasterize_chart(chart, z.isel(time=0)).values
    ok = np.isfinite(z.values[0])
    assert _ice_count(p[(ids == 1) & ok]) == 0
    assert _ice_count(p[(ids == 2) & ok]) == np.count_nonzero((ids == 2) & ok)


# --- degenerate scenes and errors ---------------------------------------------------------


def test_constant_scene_warns_and_gives_half() -> None:
    z = xr.DataArray(np.full((1, 8, 9), 1.5, dtype="float32"), dims=("time", "y", "x"))
    z[0, 0, 0] = np.nan
    with pytest.warns(DegenerateSceneWarning, match="equal 1.5"):
        p = scale_logits(z)
    assert np.isnan(p.values[0, 0, 0]) and (p.values[0].ravel()[1:] == 0.5).all()
    assert np.isinf(float(p.temperature[0]))


def test_all_nan_scene_warns_and_gives_nan_lazily() -> None:
    values = np.full((2, 10, 10), np.nan)
    values[1] = 0.3 * np.arange(100.0).reshape(10, 10)
    z = xr.DataArray(da.from_array(values, chunks=5), dims=("time", "y", "x"))
    p = scale_logits(z)  # no warning yet: nothing computed
    with pytest.warns(DegenerateSceneWarning, match="time step 0: every logit is NaN"):
        out = p.compute()
    assert np.isnan(out.values[0]).all() and np.isfinite(out.values[1]).all()


@pytest.mark.parametrize("method", ["histogram", "refine", "exact"])
def test_equal_percentiles_warn_and_threshold(method: str) -> None:
    values = np.zeros((20, 20), dtype="float32")
    values[0, :3] = [-5.0, 4.0, 6.0]
    z = xr.DataArray(values, dims=("y", "x"))
    with pytest.warns(DegenerateSceneWarning, match="temperature is 0"):
        p = scale_logits(z, method=method)
    assert p.values[0, 0] == 0.0 and p.values[0, 1] == 1.0
    assert set(np.unique(p.values).tolist()) <= {0.0, 0.5, 1.0}
    if method != "histogram":  # exact anchors: the bias is the bulk value itself
        assert p.values[5, 5] == 0.5
    assert float(p.temperature) == 0.0


def test_no_warning_for_a_normal_scene() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateSceneWarning)
        scale_logits(_logits(ntime=1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lower": 98, "upper": 2}, "lower < upper"),
        ({"q": 0.4}, "0.5 < q < 1"),
        ({"method": "tdigest"}, "not one of"),
        ({"bins": 1}, "integer from 1024"),
        ({"preserve": "chart"}, "expected None, 'scene'"),
    ],
)
def test_bad_options_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        scale_logits(_logits(ntime=1), **kwargs)


def test_bad_dims_raise() -> None:
    z = xr.DataArray(np.zeros((2, 3, 4)), dims=("band", "y", "x"))
    with pytest.raises(InvalidArgumentError, match="isel"):
        scale_logits(z)


# --- default bias, chart tolerance, applied parameters, mask, smoothing -------------------


def test_default_keeps_the_models_threshold_and_never_lowers_confidence() -> None:
    z = _logits(ntime=1)
    p = scale_logits(z, method="exact")
    zt = z.values[0].astype("float64")
    ok = np.isfinite(zt)
    lo, hi = np.percentile(zt[ok], [2, 98])
    temp = min(1.0, (hi - lo) / (2 * L98))  # capped: never flatter than sigmoid(z)
    assert float(p.bias[0]) == 0.0 and float(p.temperature[0]) == pytest.approx(temp)
    np.testing.assert_allclose(p.values[0][ok], expit(zt[ok] / temp), atol=2e-7)
    # the binary map is the raw map (logit >= 0)
    assert ((p.values[0][ok] >= 0.5) == (zt[ok] >= 0)).all()
    assert (np.abs(p.values[0][ok] - 0.5) >= np.abs(expit(zt[ok]) - 0.5) - 1e-6).all()
    # confident logits: the cap keeps T = 1, so the output is sigmoid(z) itself
    wide = z * 20.0
    pw = scale_logits(wide, method="exact")
    assert float(pw.temperature[0]) == 1.0
    np.testing.assert_allclose(pw.values[0][ok], expit(20.0 * zt[ok]), atol=2e-7)
    assert p.attrs["als_bias"] == "model"
    with pytest.raises(InvalidArgumentError, match="bias="):
        scale_logits(z, bias="mean")  # type: ignore[arg-type]


def _two_box_chart(low: list[float], high: list[float]) -> gpd.GeoDataFrame:
    polys = [shapely.box(0, 0, 4000, 6000), shapely.box(4000, 0, 8000, 6000)]
    return gpd.GeoDataFrame(
        {
            "ct": [0.5 * (a + b) for a, b in zip(low, high, strict=True)],
            "ct_low": low,
            "ct_high": high,
        },
        geometry=polys,
        crs="EPSG:3413",
    )


def test_preserve_chart_moves_only_regions_outside_their_tolerance() -> None:
    z = _logits(ntime=1)
    ids = rasterize_chart(_two_box_chart([0.1, 0.1], [0.1, 0.1]), z.isel(time=0)).values
    ok = np.isfinite(z.values[0])
    zt = z.values[0]
    frac = [float((zt[(ids == r) & ok] >= 0).mean()) for r in (1, 2)]
    # region 1: a range code containing its own fraction -> untouched; region 2: a code far
    # above its fraction -> moved to the nearest bound (code low end minus the tolerance)
    chart = _two_box_chart([frac[0] - 0.05, 0.9], [frac[0] + 0.05, 1.0])
    p = scale_logits(z, preserve=chart, tolerance=0.1, method="exact")
    sel1, sel2 = (ids == 1) & ok, (ids == 2) & ok
    assert _ice_count(p.values[0][sel1]) == np.count_nonzero(zt[sel1] >= 0)
    assert _ice_count(p.values[0][sel2]) == np.floor(0.8 * sel2.sum() + 0.5)
    assert p.attrs["als_region_low"] == pytest.approx([frac[0] - 0.15, 0.8])
    assert p.attrs["als_region_high"] == pytest.approx([min(1.0, frac[0] + 0.15), 1.0])
    assert p.attrs["als_region_moved"] == [[False, True]]
    # the applied-bias raster holds each region's bias (the scene's, 0, outside)
    rb = p.attrs["als_region_bias"][0]
    applied = p.coords["applied_bias"].values[0]
    assert rb[0] == 0.0 and rb[1] != 0.0
    assert np.allclose(applied[ids == 1], rb[0]) and np.allclose(applied[ids == 2], rb[1])
    assert np.all(applied[ids == 0] == 0.0)
    # a fraction within tolerance of an exact code stays where the model put it
    near = _two_box_chart([frac[0] + 0.08] * 2, [frac[0] + 0.08] * 2)
    p2 = scale_logits(z, preserve=near, column="ct", tolerance=0.1, method="exact")
    assert _ice_count(p2.values[0][sel1]) == np.count_nonzero(zt[sel1] >= 0)
    with pytest.raises(InvalidArgumentError, match="tolerance"):
        scale_logits(z, preserve=near, tolerance=2.0)


def test_mask_leaves_pixels_out_of_the_percentiles() -> None:
    z = _logits(ntime=1)
    land = np.zeros(z.shape[1:], dtype=bool)
    land[:, :20] = True
    p = scale_logits(z, mask=xr.DataArray(~land, dims=("y", "x")), method="exact")
    zt = z.values[0].astype("float64")
    use = np.isfinite(zt) & ~land
    lo, hi = np.percentile(zt[use], [2, 98])
    assert float(p.p_lo[0]) == pytest.approx(lo) and float(p.p_hi[0]) == pytest.approx(hi)
    assert np.isnan(p.values[0][land]).all() and np.isfinite(p.values[0][use]).all()
    with pytest.raises(InvalidArgumentError, match="mask"):
        scale_logits(z, mask=np.ones((3, 3), dtype=bool))


def test_smoothing_is_a_gaussian_of_the_logits() -> None:
    from scipy.ndimage import gaussian_filter

    z = _logits(ntime=1).fillna(0.0)
    p = scale_logits(z.chunk({"y": 20, "x": 20}), smooth=1.5, method="exact").compute()
    zs = gaussian_filter(z.values[0].astype("float64"), 1.5, mode="nearest")
    lo, hi = np.percentile(zs, [2, 98])
    temp = min(1.0, (hi - lo) / (2 * L98))
    np.testing.assert_allclose(p.values[0], expit(zs / temp), atol=2e-5)
    with pytest.raises(InvalidArgumentError, match="smooth"):
        scale_logits(z, smooth=-1.0)


@pytest.mark.parametrize("inside", [True, False])
def test_chart_interval_decision_is_exact_to_a_pixel(inside: bool) -> None:
    # region 1 (left half, 2400 px) coded 0.5-0.6 with tolerance 0.1: accepted 0.4-0.7.
    # Its logits put exactly 960 pixels (0.4) at or above 0 -- or 959 -- among many values
    # packed into one histogram bin, so only an exact count decides.
    rng = np.random.default_rng(3)
    z = np.full((60, 80), 5.0, dtype="float32")
    n_ice = 960 if inside else 959
    left = np.concatenate(
        [rng.uniform(0.0, 1e-3, n_ice), -rng.uniform(1e-4, 1e-3, 2400 - n_ice)]
    ).astype("float32")
    z[:, :40] = rng.permutation(left).reshape(60, 40)
    z[0, 79] = -5.0
    coords = xr_coords(_geobox(60, 80), crs_coord_name="spatial_ref")
    da_z = xr.DataArray(z, dims=("y", "x"), coords=coords).chunk({"y": 30, "x": 40})
    chart = _two_box_chart([0.5, 0.9], [0.6, 1.0])
    p = scale_logits(da_z, preserve=chart, bins=1024).compute().values
    ids = rasterize_chart(chart, da_z).values
    frac = _ice_count(p[ids == 1]) / 2400
    assert frac == (0.4 if inside else np.floor(0.4 * 2400 + 0.5) / 2400)
    assert (_ice_count(p[ids == 1]) == n_ice) == inside
