"""Tests of the synthetic fjords (xseaice.synthetic.fjord*)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.fjord import default_shape, make_fjord
from xseaice.synthetic.fjord_catalog import SPLITS, dated_series, split_entries
from xseaice.synthetic.fjord_geometry import front_position, glacier_params
from xseaice.synthetic.fjord_sar import SENSORS

SHAPE = (96, 96)


def test_deterministic_and_labelled() -> None:
    a = make_fjord("Corrie", dt.date(2016, 2, 10), "S1", shape=SHAPE)
    b = make_fjord("Corrie", dt.date(2016, 2, 10), "S1", shape=SHAPE)
    np.testing.assert_array_equal(a["sar"].values, b["sar"].values)
    assert a.attrs["pixel_size"] == 20.0 and a.attrs["sensor"] == "S1"
    assert a["zones"].dtype == np.uint8 and set(np.unique(a["zones"])) <= {0, 1, 2, 3}
    # no data exactly where the zone is NA
    np.testing.assert_array_equal(np.isnan(a["sar"].values), a["zones"].values == 0)
    valid = a["sar"].values[~np.isnan(a["sar"].values)]
    assert valid.min() >= 1 and valid.max() <= 255


def test_sensor_sets_pixel_size_and_default_extent() -> None:
    for name in ("TDX", "ERS", "S1EW"):
        px = SENSORS[name].pixel_size
        ny, _ = default_shape(px)
        assert ny % 32 == 0 and 128 <= ny <= 512
        ds = make_fjord("Aurora", dt.date(2016, 6, 1), name, shape=(64, 64))
        assert float(ds["x"][1] - ds["x"][0]) == pytest.approx(px)
    assert min(s.pixel_size for s in SENSORS.values()) == 6.0
    assert max(s.pixel_size for s in SENSORS.values()) == 50.0


def test_backscatter_contrasts_follow_the_zones() -> None:
    ds = make_fjord("Dunmore", dt.date(2016, 1, 20), "ENVISAT", shape=(224, 224))
    sar, z = ds["sar"].values, ds["zones"].values
    med = {k: np.nanmedian(sar[z == k]) for k in (1, 2, 3) if (z == k).sum() > 200}
    assert med[2] > med[3] + 20  # winter glacier ice far brighter than the fjord (water)


def test_speckle_depends_on_the_number_of_looks() -> None:
    import dataclasses

    from scipy import ndimage

    from xseaice.synthetic.fjord_geometry import glacier_params
    from xseaice.synthetic.fjord_sar import render_sar

    zones = np.full((128, 128), 2, dtype=np.uint8)  # all glacier
    u, v = np.meshgrid(np.arange(128.0) * 20 - 5000, np.arange(128.0) * 20, indexing="ij")
    g = glacier_params("Aurora")

    def high_pass_std(looks: float) -> float:
        spec = dataclasses.replace(SENSORS["S1"], looks=looks)
        img = render_sar(zones, g, dt.date(2016, 2, 1), spec, u, v, np.random.default_rng(5))
        return float(np.std(img - ndimage.uniform_filter(img, 5)))

    assert high_pass_std(2.0) > 1.3 * high_pass_std(16.0)


def test_front_retreats_from_spring_to_late_summer() -> None:
    g = glacier_params("Fimbul")
    may, sep = dt.date(2016, 5, 10), dt.date(2016, 9, 20)
    seasonal = front_position(g, may) - front_position(g, sep)
    assert seasonal > 0  # more advanced in spring than after the melt season

    def front_u(date: dt.date) -> float:
        ds = make_fjord("Fimbul", date, "ERS", shape=(256, 256))
        rows, cols = np.nonzero(ds["front"].values)
        x = ds["x"].values[cols] - ds["x"].values.mean()
        y = ds["y"].values[rows] - ds["y"].values.mean()
        xc, yc = float(ds["x"].values.mean()), float(ds["y"].values.mean())
        return float(np.mean((x + xc) * np.cos(g.angle) + (y + yc) * np.sin(g.angle)))

    assert front_u(may) - front_u(sep) == pytest.approx(seasonal, abs=0.6 * seasonal + 200)


def test_splits_hold_out_glaciers_sensors_and_years() -> None:
    test, train, unl = SPLITS["test"], SPLITS["train"], SPLITS["unlabeled"]
    assert not set(test.glaciers) & set(train.glaciers)
    assert not set(test.glaciers) & set(unl.glaciers)
    assert set(test.sensors) - set(train.sensors)  # unseen sensors
    assert min(test.years) > max(train.years)
    entries = split_entries("test", per_glacier=3)
    assert len(entries) == 3 * len(test.glaciers)
    assert all(e.date.year in test.years for e in entries)


def test_dated_series_is_in_date_order() -> None:
    dates = [dt.date(2016, 9, 1), dt.date(2016, 3, 1)]
    series = dated_series("Gjelde", dates, ["S1", "ERS"], shape=(64, 64))
    assert [s.attrs["date"] for s in series] == ["2016-03-01", "2016-09-01"]
    assert [s.attrs["sensor"] for s in series] == ["S1", "ERS"]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidArgumentError, match="sensor"):
        make_fjord("Aurora", dt.date(2016, 1, 1), "LANDSAT")
    with pytest.raises(InvalidArgumentError, match="glacier name"):
        make_fjord("Bad_Name", dt.date(2016, 1, 1), "S1")
    with pytest.raises(InvalidArgumentError, match="date"):
        make_fjord("Aurora", "2016-01-01", "S1")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="split"):
        split_entries("holdout")  # type: ignore[arg-type]


def test_series_as_stac_found_by_search(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import rioxarray

    import xseaice
    from xseaice.synthetic.fjord_stac import write_fjord_stac

    dates = [dt.date(2019, 3, 5), dt.date(2019, 6, 5), dt.date(2020, 1, 5)]
    series = dated_series("Hvidbrae", dates, "S1", shape=(48, 48))
    catalog = write_fjord_stac(series, tmp_path)
    bbox = json.loads(next(tmp_path.glob("*/*/*.json")).read_text())["bbox"]
    found = xseaice.search(
        tuple(bbox),
        "2019-01-01/2019-12-31",
        catalog=str(catalog),
        mode="IW",
        polarizations=("HH",),
        sensors=("sentinel-1",),
    )
    assert [i.datetime.date() for i in found.sentinel1] == dates[:2]  # 2020 is outside
    da = rioxarray.open_rasterio(found.sentinel1[0].assets["hh"].href).squeeze()
    grey = np.nan_to_num(series[0]["sar"].values, nan=0.0)
    np.testing.assert_array_equal(da.values, grey.astype(np.uint8))
    np.testing.assert_allclose(da["x"].values, series[0]["x"].values)
    assert da.rio.crs.to_epsg() == 3413
