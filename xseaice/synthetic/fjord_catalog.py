"""Dated series of synthetic fjord scenes and the train / validation / test split.

The split holds out whole glaciers, sensors and a season-year, as an honest benchmark
must: test glaciers never appear in training, two test sensors (PALSAR, TDX) are never
seen in training, and test dates come from a later year than any training date.

>>> from xseaice.synthetic.fjord_catalog import SPLITS, split_entries
>>> {e.glacier for e in split_entries("test", per_glacier=2)} & set(SPLITS["train"].glaciers)
set()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.synthetic.fjord import make_fjord

__all__ = ["SPLITS", "FjordEntry", "SplitSpec", "dated_series", "split_entries", "split_scenes"]

Split = Literal["train", "val", "test", "unlabeled"]


@dataclass(frozen=True)
class SplitSpec:
    """Which glaciers, sensors and years make up one split."""

    glaciers: tuple[str, ...]
    sensors: tuple[str, ...]
    years: tuple[int, ...]


@dataclass(frozen=True)
class FjordEntry:
    """One scene of a split: glacier, date and sensor (``make`` renders it)."""

    glacier: str
    date: dt.date
    sensor: str

    def make(self, *, shape: tuple[int, int] | None = None) -> xr.Dataset:
        """Render the scene with [`xseaice.synthetic.fjord.make_fjord`][]."""
        return make_fjord(self.glacier, self.date, self.sensor, shape=shape)


#: The splits.  ``unlabeled`` (self-supervised pretraining) shares no glacier with test.
SPLITS: dict[str, SplitSpec] = {
    "train": SplitSpec(
        ("Aurora", "Borealis", "Corrie", "Dunmore", "Eskervik", "Fimbul"),
        ("ERS", "ENVISAT", "TSX", "S1", "RSAT"),
        (2015, 2016, 2017),
    ),
    "val": SplitSpec(("Gjelde",), ("ERS", "ENVISAT", "TSX", "S1", "RSAT"), (2017,)),
    "test": SplitSpec(
        ("Hvidbrae", "Isfall", "Jokulvik"),
        ("PALSAR", "TDX", "S1", "ERS", "S1EW"),
        (2019,),
    ),
    "unlabeled": SplitSpec(
        ("Kaldbak", "Lysefjell", "Myrdal", "Nordbre", "Aurora", "Borealis"),
        ("ERS", "ENVISAT", "TSX", "S1", "RSAT", "S1EW"),
        (2014, 2015, 2016, 2017, 2018),
    ),
}


def dated_series(
    glacier: str,
    dates: Sequence[dt.date],
    sensors: Sequence[str] | str,
    *,
    shape: tuple[int, int] | None = None,
) -> list[xr.Dataset]:
    """Scenes of one glacier on each of ``dates`` (sensors cycled), in date order.

    Parameters
    ----------
    glacier : str
        Glacier name.
    dates : sequence of datetime.date
        Acquisition dates.
    sensors : str or sequence of str
        Sensor per date, cycled if shorter.
    shape : (int, int), optional
        Scene shape; default the sensor's
        (`default_shape`).

    Returns
    -------
    list of xarray.Dataset
        One [`make_fjord`][xseaice.synthetic.fjord.make_fjord] scene per date.
    """
    names = [sensors] if isinstance(sensors, str) else list(sensors)
    if not names or not dates:
        raise InvalidArgumentError("dates and sensors must be non-empty")
    ordered = sorted(dates)
    return [
        make_fjord(glacier, d, names[i % len(names)], shape=shape) for i, d in enumerate(ordered)
    ]


def split_entries(split: Split, *, per_glacier: int = 8, seed: int = 0) -> list[FjordEntry]:
    """The scenes of a split: ``per_glacier`` dates per glacier, sensors drawn from the split.

    Dates are spread over the split's years (all seasons), jittered by a seeded draw.

    Parameters
    ----------
    split : {"train", "val", "test", "unlabeled"}
        Which split (see [`SPLITS`][xseaice.synthetic.fjord_catalog.SPLITS]).
    per_glacier : int, default 8
        Scenes per glacier.
    seed : int, default 0
        Seed of the date and sensor draw.

    Returns
    -------
    list of FjordEntry
        Sorted by glacier, then date.
    """
    if split not in SPLITS:
        raise InvalidArgumentError(f"split must be one of {sorted(SPLITS)}; got {split!r}")
    if isinstance(per_glacier, bool) or not isinstance(per_glacier, int) or per_glacier < 1:
        raise InvalidArgumentError(f"per_glacier must be a positive int; got {per_glacier!r}")
    spec = SPLITS[split]
    out = []
    for gi, glacier in enumerate(spec.glaciers):
        rng = np.random.default_rng([seed, gi, len(split)])
        start = dt.date(min(spec.years), 1, 1).toordinal()
        stop = dt.date(max(spec.years), 12, 31).toordinal()
        days = np.sort(rng.integers(start, stop + 1, per_glacier))
        for k, day in enumerate(days):
            sensor = spec.sensors[(k + gi) % len(spec.sensors)]
            out.append(FjordEntry(glacier, dt.date.fromordinal(int(day)), sensor))
    return out


def split_scenes(
    split: Split, *, per_glacier: int = 8, seed: int = 0, shape: tuple[int, int] | None = None
) -> Iterator[xr.Dataset]:
    """Render the scenes of [`split_entries`][xseaice.synthetic.fjord_catalog.split_entries] one by
    one (bounded memory)."""
    for entry in split_entries(split, per_glacier=per_glacier, seed=seed):
        yield entry.make(shape=shape)
