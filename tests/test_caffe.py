"""Tests of the CaFFe layout: name parsing, PNG codecs, reader, writer, torch dataset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.caffe import (
    CaffeDataError,
    decode_zones,
    encode_zones,
    parse_caffe_name,
    read_caffe,
)


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)


@pytest.fixture
def handmade(tmp_path: Path) -> Path:
    """A two-image CaFFe folder written with PIL directly (not with xseaice's writer)."""
    root = tmp_path / "caffe"
    sar = np.array([[0, 10, 200], [30, 40, 50]])
    zones = np.array([[0, 64, 127], [254, 127, 254]])
    front = np.array([[0, 0, 0], [255, 0, 255]])
    for stem in ("Mapple_2011-06-02_TSX_7_2_0", "COL_2003-01-15_ERS_20_5_1"):
        _png(root / "sar_images" / "test" / f"{stem}.png", sar)
        _png(root / "zones" / "test" / f"{stem}_zones.png", zones)
        _png(root / "fronts" / "test" / f"{stem}_front.png", front)
    return root


def test_parse_names() -> None:
    n = parse_caffe_name("Mapple_2011-06-02_TSX_7_2_0_zones.png")
    assert (n.stem, n.glacier, n.sensor, n.pixel_size) == (
        "Mapple_2011-06-02_TSX_7_2_0",
        "Mapple",
        "TSX",
        7.0,
    )
    assert n.date == dt.date(2011, 6, 2) and n.extra == ("2", "0")
    assert parse_caffe_name("/x/COL_2003-01-15_ERS_20_5_front.png").extra == ("5",)
    with pytest.raises(CaffeDataError, match="does not follow"):
        parse_caffe_name("mapple-2011.png")
    with pytest.raises(CaffeDataError, match="invalid date"):
        parse_caffe_name("Mapple_2011-13-45_TSX_7.png")


def test_zone_codec_round_trip_and_rejects_foreign_values() -> None:
    classes = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    np.testing.assert_array_equal(encode_zones(classes), [[0, 64], [127, 254]])
    np.testing.assert_array_equal(decode_zones(encode_zones(classes)), classes)
    with pytest.raises(CaffeDataError, match="128"):
        decode_zones(np.array([[0, 128]]))
    with pytest.raises(InvalidArgumentError):
        encode_zones(np.array([[4]]))


def test_read_handmade_folder(handmade: Path) -> None:
    scenes = read_caffe(handmade, "test")
    assert [s.attrs["glacier"] for s in scenes] == ["COL", "Mapple"]
    col, mapple = scenes
    assert mapple.attrs["pixel_size"] == 7.0 and mapple.attrs["sensor"] == "TSX"
    assert mapple.attrs["date"] == "2011-06-02"
    np.testing.assert_array_equal(mapple["zones"].values, [[0, 1, 2], [3, 2, 3]])
    np.testing.assert_array_equal(mapple["front"].values, [[0, 0, 0], [1, 0, 1]])
    assert np.isnan(mapple["sar"].values[0, 0]) and mapple["sar"].values[0, 2] == 200
    assert float(mapple["x"][1] - mapple["x"][0]) == 7.0
    assert float(col["x"][1] - col["x"][0]) == 20.0
    assert len(read_caffe(handmade, "test", glaciers=["COL"])) == 1
    assert len(read_caffe(handmade, "test", limit=1)) == 1


def test_missing_folder_is_explained(tmp_path: Path) -> None:
    with pytest.raises(CaffeDataError, match="sar_images"):
        read_caffe(tmp_path, "test")
    with pytest.raises(InvalidArgumentError, match="split"):
        read_caffe(tmp_path, "holdout")


def test_synthetic_writer_round_trip(tmp_path: Path) -> None:
    from xseaice.synthetic.caffe import write_caffe
    from xseaice.synthetic.fjord import make_fjord

    scenes = [
        make_fjord("Hvidbrae", dt.date(2019, 3, 1), "TDX", shape=(64, 72)),
        make_fjord("Hvidbrae", dt.date(2019, 8, 1), "PALSAR", shape=(64, 72)),
    ]
    paths = write_caffe(scenes, tmp_path, split="test")
    assert paths[0].name == "Hvidbrae_2019-03-01_TDX_6_1_0.png"
    back = read_caffe(tmp_path, "test")
    for a, b in zip(scenes, back, strict=True):
        np.testing.assert_array_equal(a["zones"].values, b["zones"].values)
        np.testing.assert_array_equal(a["front"].values, b["front"].values)
        np.testing.assert_array_equal(np.isnan(a["sar"].values), np.isnan(b["sar"].values))
        ok = ~np.isnan(a["sar"].values)
        np.testing.assert_array_equal(a["sar"].values[ok], b["sar"].values[ok])
        assert b.attrs["sensor"] == a.attrs["sensor"]
        assert b.attrs["pixel_size"] == a.attrs["pixel_size"]


def test_torch_dataset_patches(handmade: Path) -> None:
    pytest.importorskip("torch")
    from xseaice.training.zones import CaffePatches

    data = CaffePatches(handmade, (100.0, 50.0), split="test", patch=4, length=5)
    x, y = data[3]
    assert tuple(x.shape) == (1, 4, 4) and tuple(y.shape) == (4, 4)
    assert set(y.unique().tolist()) <= {0, 1, 2, 3}
    # no data (grey 0 / padding) is 0 after normalising; valid pixels are (g - 100) / 50
    vals = {round(float(v), 3) for v in x.numpy().ravel()}
    assert vals <= {0.0, -1.8, 2.0, -1.4, -1.2, -1.0}
