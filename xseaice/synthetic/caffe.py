"""Write synthetic fjord scenes in the CaFFe benchmark layout.

With [`write_caffe`][xseaice.synthetic.caffe.write_caffe], tests, the tutorial and ``xseaice
evaluate`` run the very code path that reads the published benchmark
([`xseaice.io.caffe.read_caffe`][]), offline.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.atomic import atomic_path
from xseaice.io.caffe import FRONT_VALUE, encode_zones

__all__ = ["caffe_stem", "write_caffe"]


def caffe_stem(ds: xr.Dataset, *, quality: int = 1, index: int = 0) -> str:
    """The CaFFe file stem of a fjord scene: ``<Glacier>_<date>_<Sensor>_<res>_<q>_<i>``."""
    try:
        glacier, date, sensor = ds.attrs["glacier"], ds.attrs["date"], ds.attrs["sensor"]
        res = round(float(ds.attrs["pixel_size"]))
    except KeyError as err:
        raise InvalidArgumentError(
            f"scene lacks the attribute {err}; expected a make_fjord() or read_caffe() scene "
            "with glacier, date, sensor and pixel_size attributes"
        ) from None
    return f"{glacier}_{date}_{sensor}_{res}_{quality}_{index}"


def _write_png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8), mode="L").save(tmp, format="PNG")


def write_caffe(
    scenes: Iterable[xr.Dataset], root: str | os.PathLike[str], *, split: str = "test"
) -> list[Path]:
    """Write scenes as CaFFe PNGs under ``root`` (``sar_images``, ``zones``, ``fronts``).

    Parameters
    ----------
    scenes : iterable of xarray.Dataset
        Scenes with ``sar`` (grey values 1-255, NaN for no data), ``zones`` (classes 0-3)
        and ``front`` (0/1), and the attributes of
        [`caffe_stem`][xseaice.synthetic.caffe.caffe_stem].
    root : str or path
        The benchmark folder (created).
    split : str, default "test"
        Split folder name.

    Returns
    -------
    list of pathlib.Path
        The SAR image paths written.
    """
    root = Path(root)
    written = []
    seen: dict[str, int] = {}
    for ds in scenes:
        missing = [v for v in ("sar", "zones", "front") if v not in ds]
        if missing:
            raise InvalidArgumentError(f"scene lacks variables {missing}; needs sar, zones, front")
        stem0 = caffe_stem(ds)
        seen[stem0] = seen.get(stem0, -1) + 1
        stem = caffe_stem(ds, index=seen[stem0])
        sar = np.nan_to_num(ds["sar"].values, nan=0.0)
        sar = np.clip(np.round(sar), 0, 255).astype(np.uint8)
        front = np.where(ds["front"].values > 0, FRONT_VALUE, 0).astype(np.uint8)
        img = root / "sar_images" / split / f"{stem}.png"
        _write_png(img, sar)
        _write_png(root / "zones" / split / f"{stem}_zones.png", encode_zones(ds["zones"].values))
        _write_png(root / "fronts" / split / f"{stem}_front.png", front)
        written.append(img)
    return written
