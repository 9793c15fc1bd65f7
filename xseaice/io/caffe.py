"""The CaFFe benchmark layout (Gourmelon et al. 2022): reader, name parser and PNG codecs.

CaFFe ("CAlving Fronts and where to Find thEm", doi:10.1594/PANGAEA.940950) ships 8-bit
PNGs in three folders, each split into ``train`` and ``test``::

    sar_images/<split>/<Glacier>_<YYYY-MM-DD>_<Sensor>_<resolution>_<...>.png
    zones/<split>/<same stem>_zones.png     0 N/A, 64 rock, 127 glacier, 254 ocean/ice melange
    fronts/<split>/<same stem>_front.png    255 on the front, 0 elsewhere

The first four fields of a stem are glacier, acquisition date, sensor (ERS, RSAT, ENVISAT,
PALSAR, TSX, TDX, S1) and pixel size in whole metres; further fields (CaFFe's quality
factor and the like) are kept as ``extra``.  Grey value 0 in a SAR image is no data.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError, XSeaIceError

__all__ = [
    "FRONT_VALUE",
    "ZONE_CLASSES",
    "ZONE_GREY",
    "CaffeDataError",
    "CaffeName",
    "decode_zones",
    "encode_zones",
    "list_caffe",
    "parse_caffe_name",
    "read_caffe",
    "read_caffe_scene",
]

logger = logging.getLogger(__name__)

#: Zone class names in class order (index = class value in xseaice).
ZONE_CLASSES: tuple[str, ...] = ("na", "rock", "glacier", "ocean")
#: PNG grey value of each zone class (CaFFe's coding).
ZONE_GREY: tuple[int, ...] = (0, 64, 127, 254)
#: PNG grey value of front pixels in CaFFe's front masks.
FRONT_VALUE = 255

_SPLITS = ("train", "val", "test")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CaffeDataError(XSeaIceError):
    """A CaFFe folder or file is missing or does not follow the benchmark's layout."""


@dataclass(frozen=True)
class CaffeName:
    """The fields of a CaFFe file stem."""

    stem: str
    glacier: str
    date: dt.date
    sensor: str
    pixel_size: float
    extra: tuple[str, ...]


def parse_caffe_name(name: str | os.PathLike[str]) -> CaffeName:
    """Parse a CaFFe file name (image, ``_zones`` or ``_front`` PNG) into its fields.

    Parameters
    ----------
    name : str or path
        A file name or path such as ``"Mapple_2011-06-02_TSX_7_2_0.png"``.

    Returns
    -------
    CaffeName
        Stem (without ``_zones`` / ``_front``), glacier, date, sensor, pixel size in metres
        and the remaining fields.

    Raises
    ------
    CaffeDataError
        If the name lacks the glacier, date, sensor and resolution fields.
    """
    stem = Path(name).name
    stem = stem[:-4] if stem.lower().endswith(".png") else stem
    for suffix in ("_zones", "_front"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    parts = stem.split("_")
    if len(parts) < 4 or not _DATE.match(parts[1]) or not parts[3].isdigit():
        raise CaffeDataError(
            f"CaFFe file name {Path(name).name!r} does not follow "
            "'<Glacier>_<YYYY-MM-DD>_<Sensor>_<resolution m>_<...>.png'; rename it or "
            "point read_caffe at the benchmark's own folders"
        )
    try:
        date = dt.date.fromisoformat(parts[1])
    except ValueError as err:
        raise CaffeDataError(f"CaFFe file name {stem!r}: invalid date {parts[1]!r}") from err
    if int(parts[3]) <= 0:
        raise CaffeDataError(f"CaFFe file name {stem!r}: resolution must be positive metres")
    return CaffeName(stem, parts[0], date, parts[2], float(parts[3]), tuple(parts[4:]))


def decode_zones(grey: np.ndarray) -> np.ndarray:
    """CaFFe zone PNG grey values (0/64/127/254) -> classes 0-3 (uint8).

    Raises
    ------
    CaffeDataError
        If other grey values occur (e.g. an anti-aliased or colour-mapped mask).
    """
    lut = np.full(256, 255, dtype=np.uint8)
    for cls, g in enumerate(ZONE_GREY):
        lut[g] = cls
    out = lut[np.asarray(grey, dtype=np.uint8)]
    if np.any(out == 255):
        bad = sorted(set(np.unique(grey).tolist()) - set(ZONE_GREY))[:5]
        raise CaffeDataError(
            f"zone mask has grey values {bad} outside CaFFe's {list(ZONE_GREY)}; expected "
            "an unmodified CaFFe zones PNG"
        )
    return out


def encode_zones(zones: np.ndarray) -> np.ndarray:
    """Zone classes 0-3 -> CaFFe grey values (uint8); the inverse of
    [`decode_zones`][xseaice.io.caffe.decode_zones]."""
    z = np.asarray(zones)
    if z.size and (z.min() < 0 or z.max() > 3):
        raise InvalidArgumentError(f"zones must hold classes 0-3; got values {np.unique(z)[:8]}")
    return np.asarray(ZONE_GREY, dtype=np.uint8)[z.astype(np.intp)]


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im)
    except OSError as err:
        raise CaffeDataError(f"cannot read PNG {path}: {err}") from err
    if arr.ndim == 3:  # some viewers re-save grey PNGs as RGB(A): take the first band
        arr = arr[..., 0]
    return arr


def _folders(root: Path, split: str) -> tuple[Path, Path, Path]:
    if split not in _SPLITS:
        raise InvalidArgumentError(f"split must be one of {list(_SPLITS)}; got {split!r}")
    if root.is_dir() and not (root / "sar_images").is_dir() and (root / "data_raw").is_dir():
        root = root / "data_raw"  # the archive unpacks into data_raw/
    images = root / "sar_images" / split
    if not images.is_dir():
        raise CaffeDataError(
            f"{images} does not exist: root must be the CaFFe folder holding sar_images/, "
            f"zones/ and fronts/ (download doi:10.1594/PANGAEA.940950 and unpack it), with a "
            f"{split!r} split"
        )
    return images, root / "zones" / split, root / "fronts" / split


def list_caffe(root: str | os.PathLike[str], split: str = "test") -> list[CaffeName]:
    """The parsed names of a split's SAR images, sorted by glacier, date and stem."""
    images, _, _ = _folders(Path(root), split)
    names = [parse_caffe_name(p) for p in images.glob("*.png")]
    return sorted(names, key=lambda n: (n.glacier, n.date, n.stem))


def read_caffe_scene(
    root: str | os.PathLike[str], name: CaffeName | str, split: str = "test"
) -> xr.Dataset:
    """One CaFFe sample as a Dataset (see [`read_caffe`][xseaice.io.caffe.read_caffe])."""
    images, zones_dir, fronts_dir = _folders(Path(root), split)
    info = name if isinstance(name, CaffeName) else parse_caffe_name(name)
    grey = _read_png(images / f"{info.stem}.png")
    ny, nx = grey.shape
    px = info.pixel_size
    sar = np.where(grey == 0, np.nan, grey.astype(np.float32)).astype(np.float32)
    data: dict[str, tuple[tuple[str, str], np.ndarray, dict[str, object]]] = {
        "sar": (("y", "x"), sar, {"long_name": "SAR backscatter, 8-bit grey value", "units": "1"})
    }
    zpath = zones_dir / f"{info.stem}_zones.png"
    if zpath.exists():
        zones = decode_zones(_read_png(zpath))
        data["zones"] = (
            ("y", "x"),
            zones,
            {"flag_values": np.arange(4, dtype=np.uint8), "flag_meanings": " ".join(ZONE_CLASSES)},
        )
    fpath = fronts_dir / f"{info.stem}_front.png"
    if fpath.exists():
        front = (_read_png(fpath) >= 128).astype(np.uint8)
        data["front"] = (("y", "x"), front, {"long_name": "calving front pixels"})
    coords = {
        "y": ("y", -(np.arange(ny) + 0.5) * px, {"units": "m"}),
        "x": ("x", (np.arange(nx) + 0.5) * px, {"units": "m"}),
    }
    attrs = {
        "name": info.stem,
        "glacier": info.glacier,
        "date": info.date.isoformat(),
        "sensor": info.sensor,
        "pixel_size": px,
        "extra": "_".join(info.extra),
        "split": split,
        "comment": "image coordinates in metres (CaFFe PNGs carry no georeference)",
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def read_caffe(
    root: str | os.PathLike[str],
    split: str = "test",
    *,
    glaciers: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[xr.Dataset]:
    """Read a split of the CaFFe benchmark as labelled Datasets.

    Parameters
    ----------
    root : str or path
        The unpacked CaFFe folder (holding ``sar_images/``, ``zones/``, ``fronts/``; a
        parent ``data_raw/`` is found too).
    split : {"train", "val", "test"}, default "test"
        Which split.
    glaciers : sequence of str, optional
        Keep only these glaciers (e.g. ``["Mapple", "COL"]``).
    limit : int, optional
        Read at most this many samples (in sorted order).

    Returns
    -------
    list of xarray.Dataset
        One per image, sorted by glacier and date: ``sar`` (float32 grey value, NaN where
        the PNG is 0), ``zones`` (uint8 classes 0 NA, 1 rock, 2 glacier, 3 ocean) and
        ``front`` (uint8 0/1) when their masks exist; ``x`` / ``y`` image coordinates in
        metres; attributes ``name``, ``glacier``, ``date``, ``sensor``, ``pixel_size`` (m).

    Raises
    ------
    CaffeDataError
        If the folders are missing, a name does not parse, or a mask is not CaFFe-coded.
    """
    return list(iter_caffe(root, split, glaciers=glaciers, limit=limit))


def iter_caffe(
    root: str | os.PathLike[str],
    split: str = "test",
    *,
    glaciers: Sequence[str] | None = None,
    limit: int | None = None,
) -> Iterator[xr.Dataset]:
    """Like [`read_caffe`][xseaice.io.caffe.read_caffe], one Dataset at a time (bounded memory)."""
    names = list_caffe(root, split)
    if glaciers is not None:
        names = [n for n in names if n.glacier in set(glaciers)]
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidArgumentError(f"limit must be a positive int or None; got {limit!r}")
        names = names[:limit]
    if not names:
        raise CaffeDataError(f"no CaFFe images found under {root} for split {split!r}")
    for n in names:
        yield read_caffe_scene(root, n, split)
