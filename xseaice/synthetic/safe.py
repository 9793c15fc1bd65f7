"""Write a synthetic scene as a Sentinel-1 EW GRDM dual-pol (1SDH) ``.SAFE`` product.

Layout (names as in real products, lower case inside the SAFE)::

    S1A_EW_GRDM_1SDH_<start>_<stop>_<orbit>_<datatake>_<crc>.SAFE/
        manifest.safe
        measurement/s1a-ew-grd-{hh,hv}-<start>-<stop>-<orbit>-<datatake>-00{1,2}.tiff
        annotation/s1a-ew-grd-{hh,hv}-....xml                 product annotation
        annotation/calibration/calibration-s1a-ew-grd-....xml sigmaNought/betaNought/gamma/dn
        annotation/calibration/noise-s1a-ew-grd-....xml       noiseRange / noiseAzimuth (IPF >= 2.9)

The measurement is a uint16 amplitude GeoTIFF (tiled 256, deflate, overviews) with no
geotransform, georeferenced only by a ~10 x 21 grid of ground control points in EPSG:4326
(the geolocation grid of the annotation).  The image is in radar geometry: the scene grid
mirrored as a right-looking SAR sees it (ascending: lines reversed; descending: pixels
reversed), incidence increasing with the pixel index.

Radiometry, exactly invertible::

    DN = round(A * sqrt(P)),  P = (sigma0 + eta_true) * speckle
    sigma0 = (DN**2 - eta) / A**2,  eta = noiseRange(line, pixel) * noiseAzimuth(line)

``A`` is the ``sigmaNought`` LUT (linear in pixel between vector samples), ``eta`` the
annotated noise in DN**2.  The scene's ``hh``/``hv`` are this ``sigma0`` (in dB, floored at
-40 dB), so a reader that applies the formula to the files recovers the scene.

Annotation line/pixel indices refer to pixel centres; the GeoTIFF GCPs use GDAL's raster
space, so a grid point at (line, pixel) is the GCP (row = line + 0.5, col = pixel + 0.5).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.scene import SyntheticScene
from xseaice.synthetic.sensors import EARTH_RADIUS_M, ORBIT_HEIGHT_M, RadarProduct

__all__ = [
    "AZIMUTH_TIME_INTERVAL",
    "footprint",
    "geolocation_grid",
    "product_name",
    "write_safe",
]

logger = logging.getLogger(__name__)

#: Seconds between lines of an EW GRDM product (the real annotation's value).
AZIMUTH_TIME_INTERVAL = 6.004712143413705e-03
_C = 299792458.0
_RADAR_FREQUENCY = 5.405000454334350e09


def _t(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _ids(scene: SyntheticScene) -> dict[str, Any]:
    """Deterministic product identifiers of a scene."""
    start = datetime.fromisoformat(str(np.datetime_as_string(scene.time, unit="us")))
    h = scene.radar.shape[0] if scene.radar is not None else 0
    stop = start + timedelta(seconds=h * AZIMUTH_TIME_INTERVAL)
    orbit = 40000 + (scene.seed * 7919) % 20000
    datatake = (scene.seed * 104729 + 12345) % 0xFFFFFF
    digest = hashlib.sha1(f"{scene.seed}{_t(start)}".encode()).hexdigest()[:4].upper()
    return {
        "start": start,
        "stop": stop,
        "orbit": orbit,
        "relative_orbit": (orbit - 73) % 175 + 1,
        "datatake": datatake,
        "crc": digest,
    }


def product_name(scene: SyntheticScene) -> str:
    """The SAFE product identifier, e.g. ``S1A_EW_GRDM_1SDH_20230104T080000_..._0A1B``."""
    i = _ids(scene)
    f = "%Y%m%dT%H%M%S"
    return (
        f"S1A_EW_GRDM_1SDH_{i['start'].strftime(f)}_{i['stop'].strftime(f)}_"
        f"{i['orbit']:06d}_{i['datatake']:06X}_{i['crc']}"
    )


def _file_stem(scene: SyntheticScene, pol: str) -> str:
    i = _ids(scene)
    f = "%Y%m%dt%H%M%S"
    num = "001" if pol == "hh" else "002"
    return (
        f"s1a-ew-grd-{pol}-{i['start'].strftime(f)}-{i['stop'].strftime(f)}-"
        f"{i['orbit']:06d}-{i['datatake']:06x}-{num}"
    )


def geolocation_grid(
    scene: SyntheticScene, *, n_lines: int = 10, n_pixels: int = 21
) -> dict[str, np.ndarray]:
    """The geolocation grid of the scene's radar product (pixel-centre convention).

    Returns
    -------
    dict
        1-D arrays ``line``, ``pixel``, ``latitude``, ``longitude``, ``height``,
        ``incidence_angle``, ``elevation_angle``, ``slant_range_time`` (lines outer).
    """
    from pyproj import Transformer

    radar = _radar(scene)
    h, w = radar.shape
    lines = np.unique(np.round(np.linspace(0, h - 1, n_lines)).astype(np.int64))
    pixels = np.unique(np.round(np.linspace(0, w - 1, n_pixels)).astype(np.int64))
    ll, pp = np.meshgrid(lines, pixels, indexing="ij")
    rows = (h - 1 - ll) if radar.flip_lines else ll
    cols = (w - 1 - pp) if radar.flip_pixels else pp
    tr = scene.geobox.transform
    x = tr.c + (cols + 0.5) * tr.a
    y = tr.f + (rows + 0.5) * tr.e
    crs = scene.geobox.crs
    assert crs is not None
    lon, lat = Transformer.from_crs(crs.to_wkt(), "EPSG:4326", always_xy=True).transform(
        x.ravel(), y.ravel()
    )
    inc = radar.incidence_at_pixel(pp.ravel().astype(np.float64))
    ratio = EARTH_RADIUS_M / (EARTH_RADIUS_M + ORBIT_HEIGHT_M)
    elev = np.degrees(np.arcsin(np.sin(np.radians(inc)) * ratio))
    gam = np.radians(inc - elev)
    rs = np.sqrt(
        EARTH_RADIUS_M**2
        + (EARTH_RADIUS_M + ORBIT_HEIGHT_M) ** 2
        - 2 * EARTH_RADIUS_M * (EARTH_RADIUS_M + ORBIT_HEIGHT_M) * np.cos(gam)
    )
    return {
        "line": ll.ravel(),
        "pixel": pp.ravel(),
        "latitude": np.asarray(lat),
        "longitude": np.asarray(lon),
        "height": np.zeros(ll.size),
        "incidence_angle": inc,
        "elevation_angle": elev,
        "slant_range_time": 2.0 * rs / _C,
    }


def _radar(scene: SyntheticScene) -> RadarProduct:
    if scene.radar is None:
        raise InvalidArgumentError(
            "scene has no radar product (SyntheticScene.radar is None); create it with "
            "xseaice.synthetic.make_scene."
        )
    return scene.radar


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrib: str) -> ET.Element:
    e = ET.SubElement(parent, tag, attrib)
    if text is not None:
        e.text = str(text)
    return e


def _fmt(values: np.ndarray, kind: str = "e") -> str:
    if kind == "i":
        return " ".join(str(int(v)) for v in values)
    return " ".join(f"{float(v):.6e}" for v in values)


def _ads_header(root: ET.Element, scene: SyntheticScene, pol: str) -> None:
    i = _ids(scene)
    hdr = _sub(root, "adsHeader")
    _sub(hdr, "missionId", "S1A")
    _sub(hdr, "productType", "GRD")
    _sub(hdr, "polarisation", pol.upper())
    _sub(hdr, "mode", "EW")
    _sub(hdr, "swath", "EW")
    _sub(hdr, "startTime", _t(i["start"]))
    _sub(hdr, "stopTime", _t(i["stop"]))
    _sub(hdr, "absoluteOrbitNumber", i["orbit"])
    _sub(hdr, "missionDataTakeId", i["datatake"])
    _sub(hdr, "imageNumber", "001" if pol == "hh" else "002")


def _line_time(scene: SyntheticScene, line: float) -> str:
    return _t(_ids(scene)["start"] + timedelta(seconds=float(line) * AZIMUTH_TIME_INTERVAL))


def _write_xml(root: ET.Element, path: Path) -> None:
    ET.indent(root, space="  ")
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    path.write_bytes(data + b"\n")


def _product_xml(
    scene: SyntheticScene, pol: str, geo: dict[str, np.ndarray], stats: tuple[float, float]
) -> ET.Element:
    radar = _radar(scene)
    h, w = radar.shape
    i = _ids(scene)
    root = ET.Element("product")
    _ads_header(root, scene, pol)
    qi = _sub(root, "qualityInformation")
    _sub(qi, "productQualityIndex", "0.000000000000000e+00")
    ga = _sub(root, "generalAnnotation")
    pi = _sub(ga, "productInformation")
    _sub(pi, "pass", "Ascending" if not radar.flip_pixels else "Descending")
    _sub(pi, "timelinessCategory", "Fast-24h")
    _sub(pi, "platformHeading", f"{_heading(geo):.15e}")
    _sub(pi, "projection", "Ground Range")
    _sub(pi, "rangeSamplingRate", "2.502314816000000e+07")
    _sub(pi, "radarFrequency", f"{_RADAR_FREQUENCY:.15e}")
    _sub(pi, "azimuthSteeringRate", "2.390895448000000e+00")
    ia = _sub(root, "imageAnnotation")
    ii = _sub(ia, "imageInformation")
    _sub(ii, "productFirstLineUtcTime", _t(i["start"]))
    _sub(ii, "productLastLineUtcTime", _line_time(scene, h - 1))
    _sub(ii, "productComposition", "Slice")
    _sub(ii, "slantRangeTime", f"{float(geo['slant_range_time'].min()):.15e}")
    _sub(ii, "pixelValue", "Detected")
    _sub(ii, "outputPixels", "16 bit Unsigned Integer")
    ps = abs(scene.geobox.resolution.x)
    _sub(ii, "rangePixelSpacing", f"{ps:.6e}")
    _sub(ii, "azimuthPixelSpacing", f"{ps:.6e}")
    _sub(ii, "azimuthTimeInterval", f"{AZIMUTH_TIME_INTERVAL:.15e}")
    _sub(ii, "numberOfSamples", w)
    _sub(ii, "numberOfLines", h)
    mid = float(radar.incidence_at_pixel((w - 1) / 2.0))
    _sub(ii, "incidenceAngleMidSwath", f"{mid:.15e}")
    st = _sub(ii, "imageStatistics")
    m = _sub(st, "outputDataMean")
    _sub(m, "re", f"{stats[0]:.6e}")
    _sub(m, "im", "0.000000e+00")
    s = _sub(st, "outputDataStdDev")
    _sub(s, "re", f"{stats[1]:.6e}")
    _sub(s, "im", "0.000000e+00")
    pr = _sub(ia, "processingInformation")
    _sub(pr, "thermalNoiseCorrectionPerformed", "false")
    _sub(pr, "ellipsoidName", "WGS84")
    _sub(pr, "ellipsoidSemiMajorAxis", "6.378137000000000e+06")
    _sub(pr, "ellipsoidSemiMinorAxis", "6.356752314245000e+06")
    sm = _sub(root, "swathMerging")
    sml = _sub(sm, "swathMergeList", count=str(len(radar.swaths)))
    for name, a, b in radar.swaths:
        m_ = _sub(sml, "swathMerge")
        _sub(m_, "swath", name)
        bl = _sub(m_, "swathBoundsList", count="1")
        sb = _sub(bl, "swathBounds")
        _sub(sb, "azimuthTime", _t(i["start"]))
        _sub(sb, "firstAzimuthLine", 0)
        _sub(sb, "firstRangeSample", a)
        _sub(sb, "lastAzimuthLine", h - 1)
        _sub(sb, "lastRangeSample", b)
    gg = _sub(root, "geolocationGrid")
    gl = _sub(gg, "geolocationGridPointList", count=str(geo["line"].size))
    for k in range(geo["line"].size):
        pt = _sub(gl, "geolocationGridPoint")
        _sub(pt, "azimuthTime", _line_time(scene, geo["line"][k]))
        _sub(pt, "slantRangeTime", f"{geo['slant_range_time'][k]:.15e}")
        _sub(pt, "line", int(geo["line"][k]))
        _sub(pt, "pixel", int(geo["pixel"][k]))
        _sub(pt, "latitude", f"{geo['latitude'][k]:.15e}")
        _sub(pt, "longitude", f"{geo['longitude'][k]:.15e}")
        _sub(pt, "height", f"{geo['height'][k]:.15e}")
        _sub(pt, "incidenceAngle", f"{geo['incidence_angle'][k]:.15e}")
        _sub(pt, "elevationAngle", f"{geo['elevation_angle'][k]:.15e}")
    return root


def _heading(geo: dict[str, np.ndarray]) -> float:
    """Platform heading (deg from north): bearing from the first to the last line."""
    from pyproj import Geod

    first = geo["line"] == geo["line"].min()
    last = geo["line"] == geo["line"].max()
    lon0, lat0 = geo["longitude"][first].mean(), geo["latitude"][first].mean()
    lon1, lat1 = geo["longitude"][last].mean(), geo["latitude"][last].mean()
    az, _, _ = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    return float(az)


def _calibration_xml(scene: SyntheticScene, pol: str) -> ET.Element:
    radar = _radar(scene)
    root = ET.Element("calibration")
    _ads_header(root, scene, pol)
    ci = _sub(root, "calibrationInformation")
    _sub(ci, "absoluteCalibrationConstant", "1.000000e+00")
    lst = _sub(root, "calibrationVectorList", count=str(radar.calibration_lines.size))
    n = str(radar.calibration_pixels.size)
    for line in radar.calibration_lines:
        v = _sub(lst, "calibrationVector")
        _sub(v, "azimuthTime", _line_time(scene, line))
        _sub(v, "line", int(line))
        _sub(v, "pixel", _fmt(radar.calibration_pixels, "i"), count=n)
        _sub(v, "sigmaNought", _fmt(radar.sigma_nought), count=n)
        _sub(v, "betaNought", _fmt(radar.beta_nought), count=n)
        _sub(v, "gamma", _fmt(radar.gamma), count=n)
        _sub(v, "dn", _fmt(radar.dn_lut), count=n)
    return root


def _noise_xml(scene: SyntheticScene, pol: str) -> ET.Element:
    radar = _radar(scene)
    root = ET.Element("noise")
    _ads_header(root, scene, pol)
    lst = _sub(root, "noiseRangeVectorList", count=str(radar.noise_range_lines.size))
    n = str(radar.noise_range_pixels.size)
    for line in radar.noise_range_lines:
        v = _sub(lst, "noiseRangeVector")
        _sub(v, "azimuthTime", _line_time(scene, line))
        _sub(v, "line", int(line))
        _sub(v, "pixel", _fmt(radar.noise_range_pixels, "i"), count=n)
        _sub(v, "noiseRangeLut", _fmt(radar.noise_range_lut), count=n)
    alst = _sub(root, "noiseAzimuthVectorList", count=str(len(radar.noise_azimuth)))
    for b in radar.noise_azimuth:
        v = _sub(alst, "noiseAzimuthVector")
        _sub(v, "swath", b["swath"])
        _sub(v, "firstAzimuthLine", b["first_line"])
        _sub(v, "firstRangeSample", b["first_sample"])
        _sub(v, "lastAzimuthLine", b["last_line"])
        _sub(v, "lastRangeSample", b["last_sample"])
        _sub(v, "line", _fmt(b["line"], "i"), count=str(len(b["line"])))
        _sub(v, "noiseAzimuthLut", _fmt(b["lut"]), count=str(len(b["lut"])))
    return root


def _write_measurement(path: Path, dn: np.ndarray, geo: dict[str, np.ndarray]) -> None:
    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS
    from rasterio.enums import Resampling

    gcps = [
        GroundControlPoint(
            row=float(geo["line"][k]) + 0.5,
            col=float(geo["pixel"][k]) + 0.5,
            x=float(geo["longitude"][k]),
            y=float(geo["latitude"][k]),
            z=float(geo["height"][k]),
            id=str(k + 1),
        )
        for k in range(geo["line"].size)
    ]
    h, w = dn.shape
    tiled = h >= 256 and w >= 256
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": 1,
        "dtype": "uint16",
        "compress": "deflate",
        "gcps": gcps,
        "crs": CRS.from_epsg(4326),
    }
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dn, 1)
        factors = [f for f in (2, 4, 8, 16) if min(h, w) // f >= 64]
        if factors:
            dst.build_overviews(factors, Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_NS = {
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "gml": "http://www.opengis.net/gml",
    "xfdu": "urn:ccsds:schema:xfdu:1",
    "safe": "http://www.esa.int/safe/sentinel-1.0",
    "s1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1",
    "s1sarl1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1",
}


def _q(prefix: str, tag: str) -> str:
    return f"{{{_NS[prefix]}}}{tag}"


def _manifest(
    scene: SyntheticScene,
    files: list[tuple[str, str, str, Path]],
    safe_dir: Path,
    footprint: list[tuple[float, float]],
) -> ET.Element:
    """XFDU manifest: metadata objects and data objects (href, size, MD5) like real SAFEs."""
    for p, uri in _NS.items():
        ET.register_namespace(p, uri)
    radar = _radar(scene)
    i = _ids(scene)
    root = ET.Element(
        _q("xfdu", "XFDU"),
        {"version": "esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard/ewdp"},
    )
    ipm = ET.SubElement(root, "informationPackageMap")
    top = ET.SubElement(
        ipm,
        _q("xfdu", "contentUnit"),
        {
            "unitType": "SAFE Archive Information Package",
            "textInfo": "Sentinel-1 EW Level-1 GRD Product",
            "dmdID": "acquisitionPeriod platform generalProductInformation "
            "measurementOrbitReference measurementFrameSet",
            "pdiID": "processing",
        },
    )
    for obj_id, rep, _, _ in files:
        cu = ET.SubElement(
            top,
            _q("xfdu", "contentUnit"),
            {
                "unitType": "Measurement Data Unit"
                if rep == "s1Level1MeasurementSchema"
                else "Metadata Unit",
                "repID": rep,
            },
        )
        ET.SubElement(cu, "dataObjectPointer", {"dataObjectID": obj_id})
    ms = ET.SubElement(root, "metadataSection")

    def wrap(obj_id: str, text: str) -> ET.Element:
        mo = ET.SubElement(
            ms, "metadataObject", {"ID": obj_id, "classification": "DESCRIPTION", "category": "DMD"}
        )
        mw = ET.SubElement(
            mo, "metadataWrap", {"mimeType": "text/xml", "vocabularyName": "SAFE", "textInfo": text}
        )
        return ET.SubElement(mw, "xmlData")

    proc = ET.SubElement(
        ms,
        "metadataObject",
        {"ID": "processing", "classification": "PROVENANCE", "category": "PDI"},
    )
    pw = ET.SubElement(
        proc,
        "metadataWrap",
        {"mimeType": "text/xml", "vocabularyName": "SAFE", "textInfo": "Processing"},
    )
    pd = ET.SubElement(pw, "xmlData")
    pe = ET.SubElement(
        pd,
        _q("safe", "processing"),
        {"name": "GRD Post Processing", "start": _t(i["stop"]), "stop": _t(i["stop"])},
    )
    fac = ET.SubElement(
        pe,
        _q("safe", "facility"),
        {
            "country": "-",
            "name": "xseaice synthetic world",
            "organisation": "xseaice",
            "site": "local",
        },
    )
    ET.SubElement(fac, _q("safe", "software"), {"name": "xseaice.synthetic", "version": "1"})

    x = wrap("platform", "Platform Description")
    pl = ET.SubElement(x, _q("safe", "platform"))
    _sub(pl, _q("safe", "nssdcIdentifier"), "2014-016A")
    _sub(pl, _q("safe", "familyName"), "SENTINEL-1")
    _sub(pl, _q("safe", "number"), "A")
    ins = _sub(pl, _q("safe", "instrument"))
    _sub(ins, _q("safe", "familyName"), "Synthetic Aperture Radar", abbreviation="SAR")
    ext = _sub(ins, _q("safe", "extension"))
    im = _sub(ext, _q("s1sarl1", "instrumentMode"))
    _sub(im, _q("s1sarl1", "mode"), "EW")
    _sub(im, _q("s1sarl1", "swath"), "EW")

    x = wrap("measurementOrbitReference", "Orbit Reference")
    orb = ET.SubElement(x, _q("safe", "orbitReference"))
    _sub(orb, _q("safe", "orbitNumber"), i["orbit"], type="start")
    _sub(orb, _q("safe", "orbitNumber"), i["orbit"], type="stop")
    _sub(orb, _q("safe", "relativeOrbitNumber"), i["relative_orbit"], type="start")
    _sub(orb, _q("safe", "relativeOrbitNumber"), i["relative_orbit"], type="stop")
    _sub(orb, _q("safe", "cycleNumber"), 1 + i["orbit"] // 175)
    _sub(orb, _q("safe", "phaseIdentifier"), 1)
    oe = _sub(orb, _q("safe", "extension"))
    op = _sub(oe, _q("s1", "orbitProperties"))
    _sub(op, _q("s1", "pass"), "DESCENDING" if radar.flip_pixels else "ASCENDING")

    x = wrap("generalProductInformation", "General Product Information")
    gp = ET.SubElement(x, _q("s1sarl1", "standAloneProductInformation"))
    _sub(gp, _q("s1sarl1", "instrumentConfigurationID"), 7)
    _sub(gp, _q("s1sarl1", "missionDataTakeID"), i["datatake"])
    _sub(gp, _q("s1sarl1", "transmitterReceiverPolarisation"), "HH")
    _sub(gp, _q("s1sarl1", "transmitterReceiverPolarisation"), "HV")
    _sub(gp, _q("s1sarl1", "productClass"), "S")
    _sub(gp, _q("s1sarl1", "productClassDescription"), "SAR Standard L1 Product")
    _sub(gp, _q("s1sarl1", "productComposition"), "Slice")
    _sub(gp, _q("s1sarl1", "productType"), "GRD")
    _sub(gp, _q("s1sarl1", "productTimelinessCategory"), "Fast-24h")
    _sub(gp, _q("s1sarl1", "sliceProductFlag"), "true")
    _sub(gp, _q("s1sarl1", "sliceNumber"), 1)
    _sub(gp, _q("s1sarl1", "totalSlices"), 1)

    x = wrap("acquisitionPeriod", "Acquisition Period")
    ap = ET.SubElement(x, _q("safe", "acquisitionPeriod"))
    _sub(ap, _q("safe", "startTime"), _t(i["start"]))
    _sub(ap, _q("safe", "stopTime"), _t(i["stop"]))

    x = wrap("measurementFrameSet", "Frame Set")
    fs = ET.SubElement(x, _q("safe", "frameSet"))
    fr = _sub(fs, _q("safe", "frame"))
    fp = _sub(fr, _q("safe", "footPrint"), srsName="http://www.opengis.net/gml/srs/epsg.xml#4326")
    _sub(fp, _q("gml", "coordinates"), " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in footprint))

    ds = ET.SubElement(root, "dataObjectSection")
    for obj_id, rep, mime, path in files:
        do = ET.SubElement(ds, "dataObject", {"ID": obj_id, "repID": rep})
        bs = ET.SubElement(do, "byteStream", {"mimeType": mime, "size": str(path.stat().st_size)})
        rel = "./" + path.relative_to(safe_dir).as_posix()
        ET.SubElement(bs, "fileLocation", {"locatorType": "URL", "href": rel})
        _sub(bs, "checksum", _md5(path), checksumName="MD5")
    return root


def footprint(scene: SyntheticScene) -> list[tuple[float, float]]:
    """(lon, lat) of the four image corners in the order of real manifests.

    First line near range, first line far range, last line far range, last line near
    range (for the real descending example: first-near, ... as ``gml:coordinates``).
    """
    geo = geolocation_grid(scene, n_lines=2, n_pixels=2)
    pts = {
        (int(a), int(b)): (lo, la)
        for a, b, lo, la in zip(
            geo["line"], geo["pixel"], geo["longitude"], geo["latitude"], strict=True
        )
    }
    h, w = _radar(scene).shape
    order = [(h - 1, 0), (h - 1, w - 1), (0, w - 1), (0, 0)]
    return [(float(pts[k][0]), float(pts[k][1])) for k in order]


def write_safe(
    scene: SyntheticScene, directory: str | os.PathLike[str], *, product_id: str | None = None
) -> Path:
    """Write ``scene`` as a Sentinel-1 EW GRDM 1SDH ``.SAFE`` folder.

    Parameters
    ----------
    scene : SyntheticScene
        From [`make_scene`][xseaice.synthetic.scene.make_scene].
    directory : path
        Folder that receives ``<product_id>.SAFE`` (created if missing).
    product_id : str, optional
        SAFE product name without ``.SAFE``; default
        [`product_name`][xseaice.synthetic.safe.product_name].

    Returns
    -------
    pathlib.Path
        The ``.SAFE`` folder, written atomically (a temporary folder renamed into place;
        an existing product of the same name is replaced).

    Notes
    -----
    ``sigma0 = (DN**2 - noiseRange * noiseAzimuth) / sigmaNought**2`` recovers the scene's
    ``hh``/``hv`` (linear, before the -40 dB floor) from the files.
    """
    radar = _radar(scene)
    if not radar.dn:
        raise InvalidArgumentError("scene.radar has no DN arrays; regenerate it with make_scene.")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    name = product_id or product_name(scene)
    if not name.endswith(".SAFE"):
        name += ".SAFE"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out))
    try:
        (tmp / "measurement").mkdir()
        (tmp / "annotation" / "calibration").mkdir(parents=True)
        geo = geolocation_grid(scene)
        files: list[tuple[str, str, str, Path]] = []
        for pol in ("hh", "hv"):
            stem = _file_stem(scene, pol)
            oid = stem.replace("-", "")
            dn = radar.dn[pol]
            meas = tmp / "measurement" / f"{stem}.tiff"
            _write_measurement(meas, dn, geo)
            stats = (float(dn.mean()), float(dn.std()))
            prod = tmp / "annotation" / f"{stem}.xml"
            _write_xml(_product_xml(scene, pol, geo, stats), prod)
            cal = tmp / "annotation" / "calibration" / f"calibration-{stem}.xml"
            _write_xml(_calibration_xml(scene, pol), cal)
            noi = tmp / "annotation" / "calibration" / f"noise-{stem}.xml"
            _write_xml(_noise_xml(scene, pol), noi)
            files += [
                (f"product{oid}", "s1Level1ProductSchema", "text/xml", prod),
                (f"noise{oid}", "s1Level1NoiseSchema", "text/xml", noi),
                (f"calibration{oid}", "s1Level1CalibrationSchema", "text/xml", cal),
                (oid, "s1Level1MeasurementSchema", "application/octet-stream", meas),
            ]
        _write_xml(_manifest(scene, files, tmp, footprint(scene)), tmp / "manifest.safe")
        final = out / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("wrote %s", final)
    return final
