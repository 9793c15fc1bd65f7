"""Write simulated ICESat-2 points in the ATL10 (sea-ice freeboard, release 006) HDF5 layout.

The layout follows the ATL10 data dictionary as read by the community tools:
``/ancillary_data/atlas_sdp_gps_epoch`` (GPS seconds of 2018-01-01), ``/orbit_info/sc_orient``
(0 backward, 1 forward), and per beam ``gt1l`` ... ``gt3r`` (attribute ``atlas_beam_type``):

* ``freeboard_segment/``: ``latitude``, ``longitude``, ``delta_time`` (GPS seconds since the
  SDP epoch), ``beam_fb_height``, ``beam_fb_sigma``, ``beam_fb_quality_flag``,
  ``height_segment_id``; ``heights/``: ``height_segment_height`` (above the mean sea
  surface), ``height_segment_type`` (0 cloud, 1 sea ice, 2-9 lead types),
  ``height_segment_ssh_flag``;
* ``leads/``: ``latitude``, ``longitude``, ``delta_time``, ``lead_height``, ``lead_sigma``.

Floats carry ``_FillValue = 3.4028235e38`` like the real product.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.atomic import atomic_path

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["write_atl10"]

ATLAS_SDP_GPS_EPOCH = 1198800018.0  # GPS seconds from 1980-01-06 to 2018-01-01T00:00:00Z
_FILL = np.float32(3.4028235e38)


def _put(group: Any, name: str, data: np.ndarray, units: str, long_name: str) -> None:
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        wide = "time" in name or "epoch" in name  # GPS seconds need float64
        arr = np.where(np.isfinite(arr), arr, _FILL).astype(np.float64 if wide else np.float32)
    ds = group.create_dataset(name, data=arr)
    ds.attrs["units"] = units
    ds.attrs["long_name"] = long_name
    if arr.dtype.kind == "f":
        ds.attrs["_FillValue"] = arr.dtype.type(_FILL)


def _delta_time(t: pd.Series) -> np.ndarray:
    # No leap second since 2017-01-01: UTC seconds since 2018-01-01 are GPS seconds since the epoch
    return (pd.to_datetime(t) - pd.Timestamp("2018-01-01")).dt.total_seconds().to_numpy()


def write_atl10(points: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> str:
    """Write ICESat-2 points (from [`simulate_tracks`][xseaice.synthetic.tracks.simulate_tracks]) as
    ATL10.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points with ``time``, ``freeboard``, ``elevation``, ``surface``, ``beam``
        (``gt1l`` ... ``gt3r``), ``strong_beam`` and ``freeboard_sigma``; ``surface == "lead"``
        rows go to the ``leads`` group, the others to ``freeboard_segment``.
    path : path
        Output ``.h5`` file (written atomically).

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    InvalidArgumentError
        If a column is missing or a beam name is not an ATL10 beam.
    """
    import h5py

    need = {"time", "freeboard", "elevation", "surface", "beam", "strong_beam", "freeboard_sigma"}
    if missing := need - set(points.columns):
        raise InvalidArgumentError(
            f"points lacks the columns {sorted(missing)}; pass the output of "
            "simulate_tracks(..., mission='icesat2')"
        )
    beams = set(points["beam"].unique())
    if bad := beams - {"gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"}:
        raise InvalidArgumentError(f"points has beams {sorted(bad)}; ATL10 beams are gt1l..gt3r")
    pts = points.to_crs("EPSG:4326")
    strong_r = bool(pts.loc[pts["beam"].str.endswith("r"), "strong_beam"].all())
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["short_name"] = "ATL10"
        f.attrs["title"] = "synthetic ICESat-2 ATL10 sea-ice freeboard (xseaice)"
        anc = f.create_group("ancillary_data")
        _put(
            anc,
            "atlas_sdp_gps_epoch",
            np.array([ATLAS_SDP_GPS_EPOCH]),
            "seconds",
            "ATLAS SDP GPS epoch",
        )
        f.create_group("orbit_info").create_dataset(
            "sc_orient", data=np.array([int(strong_r)], dtype=np.int8)
        )
        for beam, b in pts.groupby("beam", sort=True):
            g = f.create_group(str(beam))
            g.attrs["atlas_beam_type"] = "strong" if bool(b["strong_beam"].iloc[0]) else "weak"
            lead = (b["surface"] == "lead").to_numpy()
            seg, ld = b.loc[~lead], b.loc[lead]
            fs = g.create_group("freeboard_segment")
            _put(fs, "latitude", seg.geometry.y.to_numpy(), "degrees_north", "latitude")
            _put(fs, "longitude", seg.geometry.x.to_numpy(), "degrees_east", "longitude")
            _put(
                fs,
                "delta_time",
                _delta_time(seg["time"]),
                "seconds since 2018-01-01",
                "elapsed GPS seconds",
            )
            _put(fs, "beam_fb_height", seg["freeboard"].to_numpy(), "meters", "beam freeboard")
            _put(
                fs,
                "beam_fb_sigma",
                seg["freeboard_sigma"].to_numpy(),
                "meters",
                "beam freeboard uncertainty",
            )
            _put(fs, "beam_fb_quality_flag", np.zeros(len(seg), dtype=np.int8), "1", "quality flag")
            _put(
                fs,
                "height_segment_id",
                np.arange(1, len(seg) + 1, dtype=np.int32),
                "1",
                "segment id",
            )
            hs = fs.create_group("heights")
            _put(
                hs,
                "height_segment_height",
                seg["elevation"].to_numpy(),
                "meters",
                "height above MSS",
            )
            stype = np.where(seg["surface"] == "floe", 1, 0).astype(np.int8)
            _put(hs, "height_segment_type", stype, "1", "0 cloud, 1 sea ice, 2-9 leads")
            _put(
                hs,
                "height_segment_ssh_flag",
                np.zeros(len(seg), dtype=np.int8),
                "1",
                "sea surface flag",
            )
            lg = g.create_group("leads")
            _put(lg, "latitude", ld.geometry.y.to_numpy(), "degrees_north", "lead latitude")
            _put(lg, "longitude", ld.geometry.x.to_numpy(), "degrees_east", "lead longitude")
            _put(
                lg,
                "delta_time",
                _delta_time(ld["time"]),
                "seconds since 2018-01-01",
                "elapsed GPS seconds",
            )
            _put(lg, "lead_height", ld["elevation"].to_numpy(), "meters", "lead height above MSS")
            _put(
                lg,
                "lead_sigma",
                ld["freeboard_sigma"].to_numpy(),
                "meters",
                "lead height uncertainty",
            )
    return str(path)
