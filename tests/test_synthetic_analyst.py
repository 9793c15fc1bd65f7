"""Analyst-like ice charts (issue 13, item 2), checked against the exact chart they come from.

CT errors are read back from the SIGRID-3 codes here (not from the helper columns), the
drift is recovered by FFT cross-correlation of polygon edges rasterised with rasterio, and
coverage by rasterising the chart.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic import SceneParams, analyst_chart, make_scene


@pytest.fixture(scope="module")
def scene() -> object:
    p = SceneParams(ice_concentration_mean=0.6, ice_concentration_kappa=2.0, chart_cell_km=2.5)
    return make_scene(21, shape=(256, 256), params=p)


def tenths(code: str) -> int:
    return {"00": 0, "01": 0, "92": 10}.get(code, int(code) // 10 if len(code) == 2 else -1)


def rasterise(chart: object, scene: object) -> np.ndarray:
    from rasterio.features import rasterize

    gbox = scene.geobox  # type: ignore[attr-defined]
    shapes = list(zip(chart.geometry, chart["ID_NEW"], strict=True))  # type: ignore[attr-defined]
    return rasterize(shapes, out_shape=gbox.shape, transform=gbox.transform, fill=0, dtype="int32")


def edges(ids: np.ndarray) -> np.ndarray:
    e = np.zeros(ids.shape)
    e[1:, :] += ids[1:, :] != ids[:-1, :]
    e[:, 1:] += ids[:, 1:] != ids[:, :-1]
    return e


def test_ct_errors_have_the_requested_rates(scene: object) -> None:
    exact = {int(r.ID_NEW): r.CT for r in scene.chart.itertuples()}  # type: ignore[attr-defined]
    errs = []
    for seed in range(30):
        ch = analyst_chart(
            scene, seed, range_code_rate=0.0, generalise_m=0.0, drift_km=(0, 0), uncovered=(0, 0)
        )
        for r in ch.itertuples():
            if r.POLY_TYPE != "L":
                errs.append(tenths(r.CT) - tenths(exact[int(r.ID_NEW)]))
    e = np.abs(np.array(errs))
    n = e.size
    assert n > 300 and e.max() <= 2
    for k, rate in ((1, 0.45), (2, 0.10)):
        sd = math.sqrt(rate * (1 - rate) / n)
        assert abs(float((e == k).mean()) - rate) < 4 * sd


def test_range_codes_cover_the_drawn_ct(scene: object) -> None:
    exact = {int(r.ID_NEW): tenths(r.CT) for r in scene.chart.itertuples()}  # type: ignore[attr-defined]
    true_c = dict(zip(scene.chart["ID_NEW"], scene.chart["true_concentration"], strict=True))  # type: ignore[attr-defined]
    n_range = 0
    for seed in range(10):
        ch = analyst_chart(scene, seed, range_code_rate=1.0)
        for r in ch.itertuples():
            a, b = int(r.CT[0]), int(r.CT[1])
            if r.CT in ("00", "01", "92", "-9") or b == 0:
                continue
            n_range += 1
            high = 10 if b == 1 else b
            assert (1 <= a < high <= 10 and high - a == 2) or (b == 1 and a >= 8)
            # the interval lies within two tenths of the exact CT, and the polygon is mixed
            assert a - 2 <= exact[int(r.ID_NEW)] <= high + 2
            assert 0.0 < true_c[int(r.ID_NEW)] < 1.0
    assert n_range > 20


def test_drift_is_recovered_by_cross_correlation(scene: object) -> None:
    ref = edges(np.asarray(scene.chart_ids))  # type: ignore[attr-defined]
    for seed, gen in ((1, 0.0), (2, 400.0), (3, 400.0)):
        ch = analyst_chart(scene, seed, drift_km=(1.0, 3.0), generalise_m=gen, uncovered=(0, 0))
        moved = edges(rasterise(ch, scene))
        corr = np.real(np.fft.ifft2(np.fft.fft2(moved) * np.conj(np.fft.fft2(ref))))
        dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
        dy = dy - corr.shape[0] if dy > corr.shape[0] // 2 else dy
        dx = dx - corr.shape[1] if dx > corr.shape[1] // 2 else dx
        ex, ey = ch.attrs["drift_m"]
        tol = 1 if gen == 0 else 3
        assert abs(dx * 40.0 - ex) <= tol * 40.0 and abs(-dy * 40.0 - ey) <= tol * 40.0
        assert 1000.0 - 60.0 <= math.hypot(ex, ey) <= 3000.0 + 60.0


def test_uncovered_strip_and_generalised_boundaries(scene: object) -> None:
    ch = analyst_chart(scene, 5, uncovered=(0.2, 0.2), drift_km=(0, 0))
    ids = rasterise(ch, scene)
    side = ch.attrs["uncovered_side"]
    strip = {"north": ids[:51], "south": ids[-51:], "west": ids[:, :51], "east": ids[:, -51:]}[side]
    assert (strip == 0).all()
    assert 0.19 <= (ids == 0).mean() <= 0.25
    exact_len = float(scene.chart.geometry.length.sum())  # type: ignore[attr-defined]
    full = analyst_chart(scene, 5, uncovered=(0, 0), drift_km=(0, 0))
    assert float(full.geometry.length.sum()) < 0.9 * exact_len
    # changed CTs cannot keep partial concentrations that add up to the old CT
    for r in full.itertuples():
        if r.ct_error_tenths != 0:
            assert r.CA == "-9" and r.CB == "-9"
    assert scene.chart["CT"].tolist() != full["CT"].tolist()  # type: ignore[attr-defined]


def test_land_polygon_is_kept_without_ct() -> None:
    sc = make_scene(22, shape=(128, 128), params=SceneParams(land_fraction=0.3))
    assert isinstance(sc.chart_ids, np.ndarray)
    ch = analyst_chart(sc, 0, drift_km=(0, 0), uncovered=(0, 0))
    land = ch[ch["POLY_TYPE"] == "L"]
    assert len(land) == 1 and land["CT"].iloc[0] == "-9"
    # the coast does not drift with the ice
    exact_land = np.isin(sc.chart_ids, sc.chart.loc[sc.chart["POLY_TYPE"] == "L", "ID_NEW"])
    for seed in (1, 2):
        drifted = analyst_chart(sc, seed, drift_km=(2.0, 3.0), uncovered=(0.2, 0.2))
        ids = rasterise(drifted, sc)
        lid = drifted.loc[drifted["POLY_TYPE"] == "L", "ID_NEW"]
        got = np.isin(ids, lid)
        assert (got & exact_land).sum() / (got | exact_land).sum() > 0.97


def test_bad_arguments_are_refused(scene: object) -> None:
    with pytest.raises(InvalidArgumentError, match="ct_error_rates"):
        analyst_chart(scene, 0, ct_error_rates=(0.8, 0.3))
    with pytest.raises(InvalidArgumentError, match="range_code_rate"):
        analyst_chart(scene, 0, range_code_rate=1.5)
    with pytest.raises(InvalidArgumentError, match="drift_km"):
        analyst_chart(scene, 0, drift_km=(-1.0, 2.0))


@pytest.mark.parametrize("size", [256, 384])
def test_analyst_polygons_form_a_coverage_without_overlaps(size: int) -> None:
    """Neighbouring polygons share their simplified edges: no two overlap (a chart whose
    polygons overlap cannot be used with ``preserve=chart``)."""
    from itertools import combinations

    for seed, season in ((500, "winter"), (501, "summer")):
        sc = make_scene(seed, shape=(size, size), season=season, randomize=True)
        chart = analyst_chart(sc, np.random.default_rng(seed + 7919))
        geoms = list(chart.geometry)
        assert all(g.is_valid for g in geoms)
        pixel_area = 40.0 * 40.0
        for a, b in combinations(geoms, 2):
            assert a.intersection(b).area < 1e-6 * pixel_area
