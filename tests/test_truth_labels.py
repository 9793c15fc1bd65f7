"""AutoICE SOD / FLOE classes of every pixel from the synthetic truth (training targets of the
multi-task heads and the reference of the evaluation's ``*_truth`` scores)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xseaice.io.autoice import autoice_classes
from xseaice.synthetic.chart import STAGE_OF_TYPE
from xseaice.training.truth_labels import floe_truth_classes, sod_truth_classes


def test_sod_of_each_truth_type_is_the_class_the_chart_gives_a_pure_polygon() -> None:
    types = np.array([[0, 1, 2], [3, 4, 9]], dtype="uint8")
    got = sod_truth_classes(types)
    # independent path: a 10/10 polygon of one stage, through the AutoICE conversion
    for t in (1, 2, 3, 4):
        _, sod, _ = autoice_classes(["92"], sa=[STAGE_OF_TYPE[t]])
        assert got[types == t].tolist() == [int(sod[0])]
    _, sod_w, _ = autoice_classes(["00"], poly_type=["W"])
    assert got[0, 0] == sod_w[0] == 0
    assert got[1, 2] == 255  # unknown type
    assert got.dtype == np.uint8


def test_floe_class_from_the_floe_diameter_by_hand() -> None:
    # 10 m pixels: floe 1 has 3 px (300 m2, d = 19.5 m: cake), floe 2 has 4 px (400 m2,
    # d = 22.6 m: small), floe 3 is new ice (undefined), one ice pixel outside every floe
    floe = np.array([[1, 1, 1, 0, 3], [2, 2, 2, 2, 0], [0, 0, 0, 0, 0]])
    kind = np.array([[3, 3, 3, 0, 1], [4, 4, 4, 4, 2], [0, 0, 0, 0, 0]])
    assert 2 * math.sqrt(300 / math.pi) < 20 < 2 * math.sqrt(400 / math.pi)
    got = floe_truth_classes(floe, kind, pixel_size=10.0)
    expected = np.array([[1, 1, 1, 0, 255], [2, 2, 2, 2, 255], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(got, expected)
    # 1 km pixels: 4 px is 4 km2, d = 2.26 km: vast (5); 3 px d = 1.95 km: big (4)
    big = floe_truth_classes(floe, kind, pixel_size=1000.0)
    assert big[0, 0] == 4 and big[1, 0] == 5


def test_synthetic_scenes_carry_the_pixel_classes() -> None:
    from xseaice.synthetic import make_scene
    from xseaice.training.synthetic_scenes import synthetic_scene

    ts = synthetic_scene(7, season="winter", shape=(96, 96), variables=["hh", "hv"])
    sc = make_scene(7, shape=(96, 96), season="winter", randomize=True)
    ice_type = sc.truth["ice_type"].values
    np.testing.assert_array_equal(ts.truth["sod"], sod_truth_classes(ice_type))
    assert set(np.unique(ts.truth["sod"])) <= {0, 1, 2, 4, 5}
    # water is water in both heads; ice never gets the water class
    water = ice_type == 0
    assert (ts.truth["floe"][water] == 0).all() and (ts.truth["sod"][water] == 0).all()
    assert not (ts.truth["floe"][~water] == 0).any()
    assert pytest.approx(float((ts.truth["sod"] == 0).mean())) == float(water.mean())
