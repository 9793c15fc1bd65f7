"""Altimetry readers: CryoSat-2 L2I, CPOM along-track merges and ICESat-2 ATL10 as points.

[`read_altimetry`][xseaice.io.altimetry.read_altimetry] returns one `geopandas.GeoDataFrame` of
along-track samples whatever the format, with the same columns:

``time``
    UTC, ``datetime64[ns]``.
``geometry``
    Points in EPSG:4326 (longitude wrapped to [-180, 180)).
``freeboard``
    Sea-ice freeboard (m), NaN where the product has none (fill value, "unavailable"
    flag, or a sample that is not ice).  CryoSat-2: radar freeboard; ATL10: total
    (snow + ice) freeboard.
``elevation``
    Surface height (m) as the product gives it (CryoSat-2 L2I: above the WGS84
    ellipsoid; ATL10: above the mean sea surface; CPOM merge: the file's ``elevation``).
``surface``
    Categorical ``unknown`` / ``ocean`` / ``lead`` / ``floe``
    ([`SURFACE_CLASSES`][xseaice.io.altimetry.SURFACE_CLASSES]).
``quality_ok``
    ``False`` where a product flag marks the sample unreliable (the values are kept, the
    row flagged).
``kind``, ``source``
    The format and the file the row came from.

Format-specific extras are kept as further columns (``mss``, ``sarin_ambiguity``,
``quality_flag``, ``beam``, ``strong_beam``, ``freeboard_sigma``...).  Samples without any
valid value or location are dropped; fill values never reach the numbers.

URLs are downloaded with retries; HTTPS downloads from NASA Earthdata hosts
([`EARTHDATA_DOMAINS`][xseaice.io.urls.EARTHDATA_DOMAINS]) carry the bearer token of
``EARTHDATA_TOKEN`` (dropped on a redirect to another host).
"""

from __future__ import annotations

import glob
import io
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from xseaice.exceptions import AssetReadError, InvalidArgumentError
from xseaice.io.http import get_bytes
from xseaice.io.urls import earthdata_headers

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "ALTIMETRY_KINDS",
    "SURFACE_CLASSES",
    "AltimetryKind",
    "read_altimetry",
]

logger = logging.getLogger(__name__)

AltimetryKind = Literal["cryosat2_l2i", "cpom_merge", "atl10"]
ALTIMETRY_KINDS: tuple[str, ...] = ("cryosat2_l2i", "cpom_merge", "atl10")
"""The formats [`read_altimetry`][xseaice.io.altimetry.read_altimetry] reads (``kind=``)."""
SURFACE_CLASSES: tuple[str, ...] = ("unknown", "ocean", "lead", "floe")
"""The categories of the ``surface`` column."""
ATL10_BEAMS: tuple[str, ...] = ("gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r")

# TAI - UTC (s) from each date on (leap seconds since 2000); GPS - UTC = TAI - UTC - 19.
_LEAPS = (
    (np.datetime64("1999-01-01"), 32),
    (np.datetime64("2006-01-01"), 33),
    (np.datetime64("2009-01-01"), 34),
    (np.datetime64("2012-07-01"), 35),
    (np.datetime64("2015-07-01"), 36),
    (np.datetime64("2017-01-01"), 37),
)


def _tai_minus_utc(label: np.ndarray) -> np.ndarray:
    out = np.full(label.shape, 32, dtype=np.int64)
    for start, offset in _LEAPS:
        out[label >= start] = offset
    return out


def _to_utc(seconds: np.ndarray, epoch: str, *, scale: Literal["tai", "gps", "utc"]) -> np.ndarray:
    """Seconds of a uniform time scale since ``epoch`` (a label on that scale) -> UTC."""
    ns = np.round(np.asarray(seconds, dtype=np.float64) * 1e9).astype(np.int64)
    label = np.datetime64(epoch, "ns") + ns.astype("timedelta64[ns]")
    if scale == "utc":
        return label
    shift = _tai_minus_utc(label) - (19 if scale == "gps" else 0)
    return label - (shift * 1_000_000_000).astype("timedelta64[ns]")


class _Source:
    """An opened altimetry file: an h5py File (HDF5/netCDF-4) or a netCDF4 Dataset."""

    def __init__(self, source: str | os.PathLike[str]) -> None:
        self.name = str(source)
        self._memory: bytes | None = None
        if self.name.startswith(("http://", "https://")):
            self._memory = get_bytes(self.name, headers=earthdata_headers(self.name))
        elif not Path(self.name).is_file():
            raise AssetReadError(
                f"altimetry file {self.name!r} does not exist; pass an existing path, a URL, "
                "a glob pattern or a list of those"
            )

    def h5(self) -> Any:
        import h5py

        return h5py.File(io.BytesIO(self._memory) if self._memory else self.name, "r")

    def nc(self) -> Any:
        import netCDF4

        if self._memory is not None:
            return netCDF4.Dataset("memory", memory=self._memory)
        return netCDF4.Dataset(self.name)


def _detect(src: _Source) -> str:
    """Guess the format from the file's content."""
    try:
        with src.h5() as f:
            keys = set(f.keys())
            if any(b in keys for b in ATL10_BEAMS) and "ancillary_data" in keys:
                return "atl10"
    except OSError:
        pass  # not HDF5: a netCDF-3 file is read by netCDF4 below
    try:
        with src.nc() as d:
            names = set(d.variables)
    except OSError as exc:
        raise AssetReadError(
            f"{src.name!r} is neither HDF5 nor netCDF ({exc}); expected a CryoSat-2 L2I netCDF, "
            "a CPOM merge netCDF or an ICESat-2 ATL10 HDF5 file"
        ) from exc
    if {"freeboard_20_ku", "lat_poca_20_ku"} <= names:
        return "cryosat2_l2i"
    if {"sat_lat", "sat_lon", "elevation", "lead_floe_class"} <= names:
        return "cpom_merge"
    shown = ", ".join(sorted(names)[:12])
    raise InvalidArgumentError(
        f"could not recognise the altimetry format of {src.name!r} (variables: {shown}...); "
        f"expected one of {ALTIMETRY_KINDS}: pass kind= explicitly if the file is one of them"
    )


def _masked(var: Any) -> np.ndarray:
    """A netCDF variable as float64 with fill / masked values as NaN."""
    var.set_auto_maskandscale(True)
    return np.ma.filled(np.ma.asarray(var[:], dtype=np.float64), np.nan)


def _flag_masks(var: Any) -> dict[str, int]:
    """``{meaning: bit}`` from a CF flag variable (``flag_masks`` or ESA's ``flag_mask``)."""
    masks = getattr(var, "flag_masks", None)
    if masks is None:
        masks = getattr(var, "flag_mask", None)
    meanings = str(getattr(var, "flag_meanings", "")).split()
    if masks is None or len(np.atleast_1d(masks)) != len(meanings):
        raise AssetReadError(
            f"flag variable {var.name!r} has no matching flag_masks/flag_meanings attributes"
        )
    return {m: int(b) for m, b in zip(meanings, np.atleast_1d(masks), strict=True)}


def _freeboard_flags(var: Any, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``flag_freeboard_20_ku`` into (unavailable, unreliable) booleans.

    The Baseline-D files list the meanings of this flag in the reverse order of the bits
    (the bit named ``unavailable`` is set on samples that do carry a freeboard and vice
    versa).  The order that makes ``unavailable`` coincide with the fill values is used.
    """
    bits = _flag_masks(var)
    raw = np.ma.filled(var[:], 0).astype(np.int64)
    reverse = dict(zip(bits, reversed(list(bits.values())), strict=True))
    agree = [int(np.sum(((raw & b["unavailable"]) > 0) == missing)) for b in (bits, reverse)]
    chosen = bits if agree[0] >= agree[1] else reverse
    if chosen is reverse:
        logger.debug("%s: flag meanings listed in reverse bit order; decoded accordingly", var.name)
    return (raw & chosen["unavailable"]) > 0, (raw & chosen["unreliable"]) > 0


def _surface_l2i(var: Any) -> np.ndarray:
    """CryoSat-2 discriminated surface type -> SURFACE_CLASSES names."""
    bits = _flag_masks(var)
    raw = np.ma.filled(var[:], 0).astype(np.int64)
    out = np.full(raw.shape, "unknown", dtype=object)
    for meaning, name in (
        ("lrm_ocean", "ocean"),
        ("sar_ocean", "ocean"),
        ("sar_sea_ice", "floe"),
        ("sar_lead", "lead"),
    ):
        out[(raw & bits[meaning]) > 0] = name
    return out


def _read_cryosat2_l2i(src: _Source) -> pd.DataFrame:
    with src.nc() as d:
        lat, lon = _masked(d["lat_poca_20_ku"]), _masked(d["lon_poca_20_ku"])
        t = np.asarray(d["time_20_ku"][:], dtype=np.float64)
        fb = _masked(d["freeboard_20_ku"])
        floe_h = _masked(d["height_sea_ice_floe_20_ku"])
        lead_h = _masked(d["height_sea_ice_lead_20_ku"])
        unavailable, unreliable = _freeboard_flags(d["flag_freeboard_20_ku"], np.isnan(fb))
        surface = _surface_l2i(d["flag_surf_type_class_20_ku"])
        mss = _masked(d["mean_sea_surf_sea_ice_20_ku"])
        ambiguity = np.ma.filled(d["flag_sarin_ambiguity_warning_20_ku"][:], 0) == 1
        quality = np.ma.filled(d["flag_quality_20_ku"][:], 0).astype(np.int64)
    fb = np.where(unavailable, np.nan, fb)
    elevation = np.where(surface == "lead", lead_h, floe_h)
    return pd.DataFrame(
        {
            "time": _to_utc(t, "2000-01-01", scale="tai"),
            "lon": lon,
            "lat": lat,
            "freeboard": fb,
            "elevation": elevation,
            "surface": surface,
            "quality_ok": ~unreliable & ~ambiguity,
            "mss": mss,
            "freeboard_unreliable": unreliable,
            "sarin_ambiguity": ambiguity,
            "quality_flag": quality,
        }
    )


def _read_cpom_merge(src: _Source) -> pd.DataFrame:
    with src.nc() as d:
        lat, lon = _masked(d["sat_lat"]), _masked(d["sat_lon"])
        elevation = _masked(d["elevation"])
        cls = np.ma.filled(d["lead_floe_class"][:].astype(np.float64), np.nan)
        t = _masked(d["measurement_time"])
    codes = np.where(np.isin(cls, (0, 1, 2, 3)), cls, 0).astype(np.int64)
    return pd.DataFrame(
        {
            "time": _to_utc(t, "1970-01-01", scale="utc"),
            "lon": lon,
            "lat": lat,
            "freeboard": np.full(lat.shape, np.nan),
            "elevation": elevation,
            "surface": np.asarray(SURFACE_CLASSES, dtype=object)[codes],
            "quality_ok": np.isin(cls, (1, 2, 3)),
        }
    )


def _h5_values(ds: Any) -> np.ndarray:
    """An HDF5 dataset as float64 with its ``_FillValue`` (and > 1e30 fills) as NaN."""
    a = np.asarray(ds[()], dtype=np.float64)
    fill = ds.attrs.get("_FillValue")
    bad = ~np.isfinite(a) | (np.abs(a) > 1e30)
    if fill is not None:
        bad |= a == float(np.asarray(fill).ravel()[0])
    return np.where(bad, np.nan, a)


def _atl10_beam(f: Any, beam: str, epoch: float, strong: bool) -> list[pd.DataFrame]:
    g = f[beam]
    seg = g["freeboard_segment"] if "freeboard_segment" in g else g["freeboard_beam_segment"]
    heights = seg["heights"] if "heights" in seg else seg["height_segments"]
    base = seg["beam_freeboard"] if "beam_freeboard" in seg else seg
    stype = np.asarray(heights["height_segment_type"][()], dtype=np.int64)
    surface = np.where(stype == 1, "floe", np.where(stype >= 2, "lead", "unknown"))
    if "height_segment_ssh_flag" in heights:
        surface = np.where(np.asarray(heights["height_segment_ssh_flag"][()]) == 1, "lead", surface)
    qflag = np.asarray(base["beam_fb_quality_flag"][()], dtype=np.int64)
    frames = [
        pd.DataFrame(
            {
                "time": _to_utc(_h5_values(base["delta_time"]) + epoch, "1980-01-06", scale="gps"),
                "lon": _h5_values(base["longitude"]),
                "lat": _h5_values(base["latitude"]),
                "freeboard": _h5_values(base["beam_fb_height"]),
                "elevation": _h5_values(heights["height_segment_height"]),
                "surface": surface.astype(object),
                "quality_ok": stype != 0,
                "freeboard_sigma": _h5_values(base["beam_fb_sigma"]),
                "quality_flag": qflag,
                "beam": beam,
                "strong_beam": strong,
            }
        )
    ]
    if "leads" in g and "lead_height" in g["leads"]:
        lead = g["leads"]
        n = lead["lead_height"].shape[0]
        frames.append(
            pd.DataFrame(
                {
                    "time": _to_utc(
                        _h5_values(lead["delta_time"]) + epoch, "1980-01-06", scale="gps"
                    ),
                    "lon": _h5_values(lead["longitude"]),
                    "lat": _h5_values(lead["latitude"]),
                    "freeboard": np.full(n, np.nan),
                    "elevation": _h5_values(lead["lead_height"]),
                    "surface": np.full(n, "lead", dtype=object),
                    "quality_ok": np.ones(n, dtype=bool),
                    "freeboard_sigma": _h5_values(lead["lead_sigma"]),
                    "quality_flag": np.zeros(n, dtype=np.int64),
                    "beam": beam,
                    "strong_beam": strong,
                }
            )
        )
    return frames


def _read_atl10(src: _Source) -> pd.DataFrame:
    with src.h5() as f:
        epoch = float(np.asarray(f["ancillary_data/atlas_sdp_gps_epoch"][()]).ravel()[0])
        orient = int(np.asarray(f["orbit_info/sc_orient"][()]).ravel()[0])
        frames: list[pd.DataFrame] = []
        for beam in ATL10_BEAMS:
            if beam not in f:
                continue
            kind = f[beam].attrs.get("atlas_beam_type")
            if kind is not None:
                strong = (kind.decode() if isinstance(kind, bytes) else str(kind)) == "strong"
            else:  # sc_orient 0 backward: left beams strong; 1 forward: right beams strong
                strong = beam.endswith("l") == (orient == 0)
            frames.extend(_atl10_beam(f, beam, epoch, strong))
    if not frames:
        raise AssetReadError(
            f"ATL10 file {src.name!r} has none of the beam groups {ATL10_BEAMS}; "
            "the granule may be a subset without freeboard data"
        )
    return pd.concat(frames, ignore_index=True)


_READERS: dict[str, Callable[[_Source], pd.DataFrame]] = {
    "cryosat2_l2i": _read_cryosat2_l2i,
    "cpom_merge": _read_cpom_merge,
    "atl10": _read_atl10,
}


def _finish(df: pd.DataFrame, kind: str, name: str) -> pd.DataFrame:
    """Drop samples without location or value; wrap longitudes; label the rows."""
    located = np.isfinite(df["lat"]) & np.isfinite(df["lon"]) & df["time"].notna()
    valued = np.isfinite(df["freeboard"]) | np.isfinite(df["elevation"])
    out = df.loc[located & valued].reset_index(drop=True)
    out["lon"] = (out["lon"] + 180.0) % 360.0 - 180.0
    out["surface"] = pd.Categorical(out["surface"], categories=list(SURFACE_CLASSES))
    out["kind"] = kind
    out["source"] = Path(name).name
    logger.debug("%s: %d of %d samples kept (%s)", name, len(out), len(df), kind)
    return out


def _expand(path_or_url: Any) -> list[str]:
    if isinstance(path_or_url, str | os.PathLike):
        s = str(path_or_url)
        if not s.startswith(("http://", "https://")) and any(c in s for c in "*?["):
            found = sorted(glob.glob(s))
            if not found:
                raise AssetReadError(
                    f"glob pattern {s!r} matched no file; check the folder and the pattern"
                )
            return found
        return [s]
    if isinstance(path_or_url, Sequence) and path_or_url:
        return [f for p in path_or_url for f in _expand(p)]
    raise InvalidArgumentError(
        f"path_or_url must be a path, a URL, a glob pattern or a non-empty list of those; "
        f"got {path_or_url!r}"
    )


def read_altimetry(
    path_or_url: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    kind: AltimetryKind | None = None,
) -> gpd.GeoDataFrame:
    """Read along-track altimetry samples as points.

    Parameters
    ----------
    path_or_url : path, URL, glob pattern, or a list of those
        One or many files; many files are read one by one and concatenated (the
        ``source`` column names the file of each row).
    kind : {"cryosat2_l2i", "cpom_merge", "atl10"}, optional
        The format; detected from each file's content when omitted.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per valid sample, EPSG:4326 points, with the columns described in
        [`xseaice.io.altimetry`][] (``time``, ``freeboard``, ``elevation``, ``surface``,
        ``quality_ok``, ``kind``, ``source`` and format extras), sorted by time.

    Raises
    ------
    InvalidArgumentError
        For an unknown ``kind`` or a file whose format cannot be recognised.
    AssetReadError
        For a missing, unreadable or undownloadable file.

    Examples
    --------
    >>> pts = read_altimetry("CS_OFFL_SIR_SINI2__*_D001.nc")  # doctest: +SKIP
    >>> pts.surface.value_counts()  # doctest: +SKIP
    """
    import geopandas as gpd

    if kind is not None and kind not in _READERS:
        raise InvalidArgumentError(
            f"kind must be one of {ALTIMETRY_KINDS} or None (auto-detect); got {kind!r}"
        )
    frames = []
    for name in _expand(path_or_url):
        src = _Source(name)
        k = kind or _detect(src)
        try:
            frames.append(_finish(_READERS[k](src), k, name))
        except (KeyError, OSError) as exc:
            raise AssetReadError(
                f"{name!r} could not be read as {k!r} ({exc}); check the file, or the kind="
            ) from exc
    df = pd.concat(frames, ignore_index=True).sort_values("time", kind="stable")
    df = df.reset_index(drop=True)
    geometry = gpd.points_from_xy(df.pop("lon"), df.pop("lat"), crs="EPSG:4326")
    return gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")
