"""The overview figure from coarse arrays: block means, strided flags, chunked histograms."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_zeros

from xseaice.plot_overview import figure_factor, overview_figure, overview_inputs

matplotlib.use("Agg")


def _products(shape: tuple[int, int], chunk: int) -> xr.Dataset:
    """Lazy products on a grid of 40 m pixels in EPSG:3413, NaN in a corner."""
    ny, nx = shape
    gbox = GeoBox.from_bbox((0, 0, nx * 40.0, ny * 40.0), "EPSG:3413", resolution=40)
    base = xr_zeros(gbox, dtype="float32")
    rng = np.random.default_rng(3)
    logit = rng.normal(0.5, 2.0, base.shape).astype("float32")
    logit[:10, :20] = np.nan
    prob = 1 / (1 + np.exp(-(logit - 0.3) / 0.5))
    ice = np.where(np.isnan(prob), 255, prob >= 0.5).astype("uint8")
    lead = np.zeros_like(ice)
    lead[5::40, :] = 1
    ds = xr.Dataset(
        {
            "ice_logit": base.copy(data=logit),
            "ice_probability": base.copy(data=prob.astype("float32")),
            "ice": base.copy(data=ice),
            "lead": base.copy(data=lead),
        }
    )
    return ds.chunk({"y": chunk, "x": chunk})


def test_histograms_count_every_valid_pixel_chunk_by_chunk() -> None:
    """The bars are numpy's histogram of the full arrays, drawn from dask's chunked counts."""
    import matplotlib.pyplot as plt

    ds = _products((300, 260), chunk=64)
    fig = overview_figure(ds)
    logit, prob = ds["ice_logit"].values, ds["ice_probability"].values
    ok = np.isfinite(logit) & np.isfinite(prob)
    # what ax.hist drew from the whole float32 arrays before
    before, _ = np.histogram(1 / (1 + np.exp(-logit[ok])), bins=50, range=(0, 1))
    after, _ = np.histogram(prob[ok], bins=50, range=(0, 1))
    hist_ax = fig.axes[6]
    heights = [p.get_height() for p in hist_ax.patches]
    assert len(heights) == 100
    np.testing.assert_array_equal(heights[:50], before)
    np.testing.assert_array_equal(heights[50:], after)
    assert sum(heights[50:]) == ok.sum() < ds["ice"].size
    plt.close(fig)


def test_inputs_are_block_means_at_the_figure_resolution() -> None:
    """A 1600 px wide scene is shown at half resolution: 2 x 2 block means, trimmed."""
    import matplotlib.pyplot as plt

    ds = _products((90, 1601), chunk=256)
    rng = np.random.default_rng(1)
    hh = rng.normal(-15, 3, (2, 90, 1601)).astype("float32")
    scene = xr.Dataset(
        {"hh": (("time", "y", "x"), hh, {"units": "dB"})},
        coords={"time": np.array(["2023-01-04", "2023-01-05"], "datetime64[ns]"), **ds.coords},
        attrs={"sentinel1_items": "S1A_TEST"},
    ).chunk({"y": 64, "x": 300})
    assert figure_factor(scene.sizes) == 2
    coarse = overview_inputs(scene, time_index=1)
    assert coarse["hh"].chunks is not None, "lazy until computed"
    coarse = coarse.compute()
    expected = hh[1, :90, :1600].reshape(45, 2, 800, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(coarse["hh"].values, expected, rtol=1e-6)
    assert coarse.attrs["sentinel1_items"] == "S1A_TEST"
    assert str(coarse["time"].values)[:10] == "2023-01-05"
    fig = overview_figure(ds, scene=coarse)
    assert fig.axes[0].images[0].get_array().shape == (45, 800)
    assert fig.axes[3].images[0].get_array().shape == (45, 800)  # the logits, also halved
    assert "S1A_TEST" in fig._suptitle.get_text()
    plt.close(fig)


def test_flag_panel_samples_every_factor_th_pixel() -> None:
    import matplotlib.pyplot as plt

    ds = _products((40, 3001), chunk=512)
    fig = overview_figure(ds)
    assert not fig.axes[0].get_visible()  # no scene: no input panels
    codes = fig.axes[5].images[0].get_array()
    ice = ds["ice"].values[::3, ::3]
    lead = ds["lead"].values[::3, ::3]
    expected = np.where(ice == 255, 3, np.where(lead == 1, 2, ice))
    np.testing.assert_array_equal(np.asarray(codes), expected)
    plt.close(fig)


@pytest.mark.parametrize("bad", [5, -3])
def test_time_index_out_of_range_names_the_argument(bad: int) -> None:
    from xseaice.exceptions import InvalidArgumentError

    scene = xr.Dataset({"hh": (("time", "y", "x"), np.zeros((2, 4, 4), "float32"))})
    with pytest.raises(InvalidArgumentError, match=f"time_index={bad}"):
        overview_inputs(scene, time_index=bad)
