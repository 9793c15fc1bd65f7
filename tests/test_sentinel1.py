"""Tests of xseaice.io.sentinel1 against the real EW GRD annotation files."""

from __future__ import annotations

import http.server
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import serve_handler

from xseaice.exceptions import AssetReadError, CalibrationError, InvalidArgumentError
from xseaice.io.http import read_bytes
from xseaice.io.sentinel1 import read_calibration, read_geolocation, read_noise
from xseaice.io.sentinel1_sampling import (
    calibrate,
    gcps,
    incidence_angle_at,
    lut_at,
    noise_at,
    radar_coordinates,
    sigma0_lut_at,
)
from xseaice.io.urls import redact_url

REAL = Path(__file__).parents[2] / "shared" / "data" / "real"
SAFE = REAL / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15"
ANN = SAFE / "annotation"
CAL = {p: ANN / "calibration" / f"calibration-ew-{p}.xml" for p in ("hh", "hv")}
NOISE = {p: ANN / "calibration" / f"noise-ew-{p}.xml" for p in ("hh", "hv")}
PRODUCT = {p: ANN / f"ew-{p}.xml" for p in ("hh", "hv")}


def _floats(text: str | None) -> np.ndarray:
    assert text is not None
    return np.array(text.split(), dtype=float)


@pytest.fixture(scope="module")
def cal_hv():
    return read_calibration(CAL["hv"])


@pytest.fixture(scope="module")
def noise_hv():
    return read_noise(NOISE["hv"])


@pytest.fixture(scope="module")
def geo_hv():
    return read_geolocation(PRODUCT["hv"])


# ------------------------------------------------------------------ calibration


def test_calibration_counts_and_values(cal_hv) -> None:
    root = ET.parse(CAL["hv"]).getroot()
    vectors = root.findall("calibrationVectorList/calibrationVector")
    assert len(vectors) == int(root.find("calibrationVectorList").get("count")) == 67
    assert cal_hv.line.shape == (67,)
    assert cal_hv.sigma_nought.shape == cal_hv.pixel.shape == (67, 264)
    assert cal_hv.polarisation == "HV"
    assert cal_hv.absolute_calibration_constant == 1.0
    for k in (0, 33, 66):
        v = vectors[k]
        assert cal_hv.line[k] == int(v.find("line").text)
        np.testing.assert_array_equal(cal_hv.pixel[k], _floats(v.find("pixel").text))
        for tag, attr in (
            ("sigmaNought", "sigma_nought"),
            ("betaNought", "beta_nought"),
            ("gamma", "gamma"),
            ("dn", "dn"),
        ):
            np.testing.assert_array_equal(getattr(cal_hv, attr)[k], _floats(v.find(tag).text))


def test_lut_exact_at_nodes_and_bilinear_between(cal_hv) -> None:
    k, j = 10, 100
    line, pix = cal_hv.line[k], cal_hv.pixel[k, j]
    assert sigma0_lut_at(cal_hv, line, pix) == cal_hv.sigma_nought[k, j]
    assert lut_at(cal_hv, line, pix, lut="betaNought") == cal_hv.beta_nought[k, j]
    # halfway between two lines and two pixels: mean of the four corners (bilinear)
    line_mid = (cal_hv.line[k] + cal_hv.line[k + 1]) / 2
    pix_mid = (cal_hv.pixel[k, j] + cal_hv.pixel[k, j + 1]) / 2
    corners = cal_hv.sigma_nought[k : k + 2, j : j + 2]
    assert sigma0_lut_at(cal_hv, line_mid, pix_mid) == pytest.approx(corners.mean(), rel=1e-12)
    # outside the image: nearest value held
    assert sigma0_lut_at(cal_hv, -5, -5) == cal_hv.sigma_nought[0, 0]
    with pytest.raises(InvalidArgumentError, match="lut"):
        lut_at(cal_hv, 0, 0, lut="nope")  # type: ignore[arg-type]


def test_lut_broadcast_equals_meshgrid(cal_hv, noise_hv) -> None:
    rows = np.arange(3000, 3256)[:, None]
    cols = np.arange(5000, 5512, 2)[None, :]
    rr, cc = np.broadcast_arrays(rows, cols)
    np.testing.assert_array_equal(sigma0_lut_at(cal_hv, rows, cols), sigma0_lut_at(cal_hv, rr, cc))
    np.testing.assert_array_equal(noise_at(noise_hv, rows, cols), noise_at(noise_hv, rr, cc))
    with pytest.raises(InvalidArgumentError, match="broadcast"):
        sigma0_lut_at(cal_hv, np.zeros(3), np.zeros(4))


# ------------------------------------------------------------------ noise


def test_noise_counts_and_blocks(noise_hv) -> None:
    root = ET.parse(NOISE["hv"]).getroot()
    rv = root.findall("noiseRangeVectorList/noiseRangeVector")
    av = root.findall("noiseAzimuthVectorList/noiseAzimuthVector")
    assert len(noise_hv.range_line) == len(rv) == 67
    assert len(noise_hv.azimuth) == len(av) == 17
    assert noise_hv.layout == "range+azimuth"
    assert {b.swath for b in noise_hv.azimuth} == {"EW1", "EW2", "EW3", "EW4", "EW5"}
    for k in (0, 40):
        np.testing.assert_array_equal(noise_hv.range_pixel[k], _floats(rv[k].find("pixel").text))
        np.testing.assert_array_equal(
            noise_hv.range_lut[k], _floats(rv[k].find("noiseRangeLut").text)
        )
    b, e = noise_hv.azimuth[12], av[12]
    assert (b.swath, b.first_azimuth_line, b.first_range_sample) == (
        e.find("swath").text,
        int(e.find("firstAzimuthLine").text),
        int(e.find("firstRangeSample").text),
    )
    assert (b.last_azimuth_line, b.last_range_sample) == (
        int(e.find("lastAzimuthLine").text),
        int(e.find("lastRangeSample").text),
    )
    np.testing.assert_array_equal(b.lut, _floats(e.find("noiseAzimuthLut").text))


def test_noise_at_nodes_is_range_times_azimuth(noise_hv) -> None:
    # a range-vector node inside the last EW2 block: eta = rangeLut * azimuthLut(line)
    k = 30
    line = noise_hv.range_line[k]
    block = next(b for b in noise_hv.azimuth if b.swath == "EW2" and b.first_azimuth_line > 1000)
    j = int(np.searchsorted(noise_hv.range_pixel[k], block.first_range_sample + 100))
    pix = noise_hv.range_pixel[k][j]
    assert block.first_range_sample <= pix <= block.last_range_sample
    az = np.interp(line, block.line, block.lut)
    got = noise_at(noise_hv, line, pix)
    assert got == pytest.approx(noise_hv.range_lut[k][j] * az, rel=1e-12)


def test_noise_old_ipf_layout() -> None:
    xml = b"""<?xml version="1.0"?>
<noise><noiseVectorList count="2">
 <noiseVector><line>0</line><pixel count="3">0 50 100</pixel>
   <noiseLut count="3">10 20 30</noiseLut></noiseVector>
 <noiseVector><line>100</line><pixel count="2">0 100</pixel>
   <noiseLut count="2">30 50</noiseLut></noiseVector>
</noiseVectorList></noise>"""
    noise = read_noise(xml)
    assert noise.layout == "range" and noise.azimuth == ()
    # line 50, pixel 50: (20 + 40) / 2 = 30 (interpolated along each line, then in line)
    assert noise_at(noise, 50, 50) == pytest.approx(30.0)
    assert noise_at(noise, 0, 25) == pytest.approx(15.0)


def test_noise_sanity_ew_hv(cal_hv, noise_hv) -> None:
    """EW HV: noise-equivalent sigma0 of -20 to -35 dB, a large share of sea-ice signal."""
    root = ET.parse(PRODUCT["hv"]).getroot()
    mean_dn = float(
        root.find("imageAnnotation/imageInformation/imageStatistics/outputDataMean/re").text
    )
    std_dn = float(
        root.find("imageAnnotation/imageInformation/imageStatistics/outputDataStdDev/re").text
    )
    mean_dn2 = mean_dn**2 + std_dn**2  # E[DN^2] of the HV image
    rows = np.arange(2000, 10000, 250)[:, None]
    for block in (b for b in noise_hv.azimuth if b.first_azimuth_line > 1000):
        cols = np.arange(block.first_range_sample + 20, block.last_range_sample - 20, 50)[None]
        eta = noise_at(noise_hv, rows, cols)
        nesz_db = 10 * np.log10(eta / sigma0_lut_at(cal_hv, rows, cols) ** 2)
        assert nesz_db.min() > -37 and nesz_db.max() < -18, block.swath
        # for a typical sea-ice HV sigma0 of -28 dB, noise is over 15 % of DN^2 everywhere
        dn2_ice = 10 ** (-2.8) * sigma0_lut_at(cal_hv, rows, cols) ** 2 + eta
        assert (eta / dn2_ice).min() > 0.15, block.swath
        assert (eta / dn2_ice).max() > 0.3, block.swath  # and over 30 % at swath edges
        if block.swath == "EW1":  # near range: noise alone is most of the mean DN^2
            assert np.median(eta) > 0.4 * mean_dn2
    # scalloping: the azimuth factor varies by more than 10 % inside a burst cycle
    lut = next(b for b in noise_hv.azimuth if b.swath == "EW5" and b.line.size > 500).lut
    assert lut.max() / lut.min() > 1.1


def test_calibrate_formula_and_nodata(cal_hv, noise_hv) -> None:
    rows = np.arange(5000, 5004)[:, None]
    cols = np.arange(8000, 8006)[None, :]
    dn = np.full((4, 6), 120, dtype="uint16")
    dn[0, 0] = 0
    out = calibrate(dn, cal_hv, noise_hv, rows=rows, cols=cols)
    a = sigma0_lut_at(cal_hv, rows, cols)
    eta = noise_at(noise_hv, rows, cols)
    expected = ((120.0**2 - eta) / a**2).astype("float32")
    assert out.dtype == np.float32
    assert np.isnan(out[0, 0])
    np.testing.assert_allclose(out[1:], expected[1:], rtol=1e-6)
    raw = calibrate(dn, cal_hv, rows=rows, cols=cols, denoise=False)
    np.testing.assert_allclose(raw[1:], (120.0**2 / a**2)[1:], rtol=1e-6)
    assert (raw[1:] > out[1:]).all()
    # noise larger than signal stays negative (floored later, in dB)
    low = calibrate(np.full((4, 6), 5, "uint16"), cal_hv, noise_hv, rows=rows, cols=cols)
    assert (low < 0).all()
    # NaN DN (warped data) is no-data too
    fl = dn.astype("float32")
    fl[1, 1] = np.nan
    assert np.isnan(calibrate(fl, cal_hv, noise_hv, rows=rows, cols=cols)[1, 1])
    with pytest.raises(CalibrationError, match="denoise=False"):
        calibrate(dn, cal_hv, rows=rows, cols=cols)
    with pytest.raises(InvalidArgumentError, match="broadcast"):
        calibrate(dn, cal_hv, noise_hv, rows=rows[:2], cols=cols)


def test_calibrate_1024_window_runs(cal_hv, noise_hv) -> None:
    rows = np.arange(4000, 5024)[:, None]
    cols = np.arange(6000, 7024)[None, :]
    dn = np.random.default_rng(0).integers(1, 400, (1024, 1024)).astype("uint16")
    out = calibrate(dn, cal_hv, noise_hv, rows=rows, cols=cols)
    assert out.shape == (1024, 1024) and np.isfinite(out).all()


# ------------------------------------------------------------------ geolocation


def test_geolocation_grid(geo_hv) -> None:
    root = ET.parse(PRODUCT["hv"]).getroot()
    pts = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    assert geo_hv.line.size == len(pts) == 483
    assert geo_hv.shape == (10708, 10487)
    reg = geo_hv.regular()
    assert reg is not None
    lines, pixels, order = reg
    assert order.shape == (23, 21)
    assert lines[-1] == 10707 and pixels[-1] == 10486
    p = pts[100]
    assert geo_hv.latitude[100] == float(p.find("latitude").text)
    assert geo_hv.incidence_angle[100] == float(p.find("incidenceAngle").text)
    # EW incidence angles span about 19-47 degrees
    inc = geo_hv.incidence_angle
    assert 18 < inc.min() < 20 and 46 < inc.max() < 48


def test_incidence_angle_interpolation(geo_hv) -> None:
    at_nodes = incidence_angle_at(geo_hv, geo_hv.line, geo_hv.pixel)
    np.testing.assert_array_equal(at_nodes, geo_hv.incidence_angle)
    rows = np.arange(0, 10708, 97)[:, None]
    cols = np.arange(0, 10487, 89)[None, :]
    inc = incidence_angle_at(geo_hv, rows, cols)
    assert inc.shape == (rows.size, cols.size)
    assert np.all(np.diff(inc, axis=1) > 0)  # increases from near to far range
    assert 18.8 < inc.min() and inc.max() < 46.5
    # the irregular-grid path (triangulation) agrees with the bilinear one at nodes
    import dataclasses

    keep = np.arange(geo_hv.line.size) != 5  # drop a point: no longer a product grid
    irregular = dataclasses.replace(
        geo_hv,
        **{
            k: getattr(geo_hv, k)[keep]
            for k in ("line", "pixel", "latitude", "longitude", "height", "incidence_angle")
        },
    )
    assert irregular.regular() is None
    got = incidence_angle_at(irregular, irregular.line, irregular.pixel)
    np.testing.assert_allclose(got, irregular.incidence_angle, atol=1e-9)


def test_gcps_and_radar_coordinates(geo_hv) -> None:
    points = gcps(geo_hv)
    assert len(points) == 483
    assert points[0].row == geo_hv.line[0] + 0.5 and points[0].x == geo_hv.longitude[0]
    assert gcps(geo_hv, pixel_center=False)[7].col == geo_hv.pixel[7]
    rows, cols = radar_coordinates(geo_hv, geo_hv.longitude, geo_hv.latitude)
    np.testing.assert_allclose(rows, geo_hv.line, atol=1e-3)
    np.testing.assert_allclose(cols, geo_hv.pixel, atol=1e-3)
    # in a projected CRS too
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 3413, always_xy=True).transform(
        geo_hv.longitude, geo_hv.latitude
    )
    r2, c2 = radar_coordinates(geo_hv, x, y, crs="EPSG:3413")
    np.testing.assert_allclose(r2, geo_hv.line, atol=1e-3)
    np.testing.assert_allclose(c2, geo_hv.pixel, atol=1e-3)


# ------------------------------------------------------------------ sources and HTTP


class _Handler(http.server.BaseHTTPRequestHandler):
    fails: dict[str, int] = {}  # noqa: RUF012

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.startswith("/flaky/"):
            left = _Handler.fails.get(path, 2)
            _Handler.fails[path] = left - 1
            if left > 0:
                self.send_response(503)
                self.end_headers()
                return
            path = path[len("/flaky") :]
        if path.startswith("/drop/"):
            self.connection.close()  # drop without an answer
            return
        target = ANN / path.lstrip("/")
        if not target.is_file():
            self.send_response(404)
            self.end_headers()
            return
        data = target.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_handler(_Handler) as url:
        yield url


def test_read_from_url_bytes_and_fileobj(server: str, cal_hv) -> None:
    url = f"{server}/calibration/calibration-ew-hv.xml?st=2024&sig=SECRET"
    from_url = read_calibration(url)
    np.testing.assert_array_equal(from_url.sigma_nought, cal_hv.sigma_nought)
    data = CAL["hv"].read_bytes()
    np.testing.assert_array_equal(read_calibration(data).line, cal_hv.line)
    with CAL["hv"].open("rb") as fh:
        assert read_calibration(fh).pixel.shape == cal_hv.pixel.shape
    assert read_noise(f"{server}/calibration/noise-ew-hv.xml").layout == "range+azimuth"
    assert read_geolocation(f"{server}/ew-hv.xml").shape == (10708, 10487)


def test_retries_then_success(server: str) -> None:
    _Handler.fails.clear()
    data = read_bytes(f"{server}/flaky/calibration/noise-ew-hh.xml", backoff=0.01)
    assert data == NOISE["hh"].read_bytes()
    assert _Handler.fails["/flaky/calibration/noise-ew-hh.xml"] == -1  # 2 failures + 1 success


def test_errors_redact_tokens(server: str) -> None:
    with pytest.raises(AssetReadError) as info:
        read_calibration(f"{server}/missing.xml?se=2030&sig=SECRET%2Ftoken")
    msg = str(info.value)
    assert "SECRET" not in msg and "sig=" not in msg
    assert "/missing.xml" in msg and "HTTP 404" in msg
    with pytest.raises(AssetReadError, match="after 3 attempt") as info:
        read_bytes(f"{server}/drop/x.xml?sig=SECRET", retries=2, backoff=0.01)
    assert "SECRET" not in str(info.value)
    assert redact_url("https://u:p@host.net:8443/a/b.xml?sv=1&sig=x#f") == (
        "https://host.net:8443/a/b.xml?<redacted>"
    )


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(AssetReadError, match="cannot read"):
        read_calibration(tmp_path / "nope.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<calibration><oops></calibration>")
    with pytest.raises(CalibrationError, match="not valid XML"):
        read_calibration(bad)
    with pytest.raises(CalibrationError, match="calibration annotation"):
        read_calibration(NOISE["hv"])
    with pytest.raises(CalibrationError, match="noise annotation"):
        read_noise(CAL["hv"])
    with pytest.raises(CalibrationError, match="product annotation"):
        read_geolocation(CAL["hv"])
    broken = (
        CAL["hv"].read_text().replace('<sigmaNought count="264">', '<sigmaNought count="265">', 1)
    )
    with pytest.raises(CalibrationError, match="count=265"):
        read_calibration(broken.encode())
