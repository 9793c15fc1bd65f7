"""Item helpers shared by search and load: arguments, times, sensors, footprints, assets.

Everything here works on plain `pystac.Item` objects (or the ``bbox`` /
``datetime`` arguments of a search) and reads nothing remote.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from xseaice.exceptions import AssetReadError, CatalogError, InvalidArgumentError
from xseaice.io.urls import redact_text, redact_url
from xseaice.stac.catalogs import SENSORS, Catalog

__all__ = [
    "BBox",
    "asset_error",
    "asset_href",
    "group_items",
    "in_space",
    "in_time",
    "item_footprint",
    "item_interval",
    "item_mode",
    "item_orbit",
    "item_polarizations",
    "item_time",
    "parse_bbox",
    "parse_datetime",
    "sensor_of",
    "to_utc",
]

BBox = tuple[float, float, float, float]
UTC = _dt.UTC
MODES = ("EW", "IW", "SM", "WV")
POLARIZATIONS = ("HH", "HV", "VV", "VH")


def parse_bbox(bbox: Any) -> list[BBox]:
    """Validate a lon/lat ``bbox`` and split it at the antimeridian.

    Parameters
    ----------
    bbox : sequence of 4 floats
        ``(west, south, east, north)`` in degrees (EPSG:4326).  ``west > east`` means
        the box crosses the antimeridian (e.g. ``(170, 70, -170, 75)``); a box may reach
        a pole (``north=90``).

    Returns
    -------
    list of tuple
        One box, or two boxes (east and west of 180 degrees) for an antimeridian
        crossing.

    Raises
    ------
    InvalidArgumentError
        If the box is not 4 finite numbers, is out of the lon/lat range (e.g. projected
        metres), or is empty.
    """
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"bbox={bbox!r} is not a sequence of numbers; expected (west, south, east, "
            "north) in degrees, e.g. (-20.0, 78.0, 0.0, 81.0)."
        ) from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidArgumentError(
            f"bbox={bbox!r} must hold 4 finite numbers (west, south, east, north) in "
            "degrees, e.g. (-20.0, 78.0, 0.0, 81.0)."
        )
    west, south, east, north = values
    if any(abs(v) > 360 for v in values):
        raise InvalidArgumentError(
            f"bbox={bbox!r} looks like projected coordinates; search takes longitude/"
            "latitude degrees (EPSG:4326). Convert the box first, or pass a projected "
            "box to load(bbox=..., crs=...) after searching with a lon/lat box."
        )
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidArgumentError(
            f"bbox={bbox!r}: longitudes must lie in [-180, 180]; write a box crossing the "
            "antimeridian as west > east, e.g. (170, 70, -170, 75)."
        )
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidArgumentError(
            f"bbox={bbox!r}: latitudes must lie in [-90, 90]; the order is (west, south, "
            "east, north) (longitude first)."
        )
    if south >= north:
        raise InvalidArgumentError(
            f"bbox={bbox!r} has south={south} >= north={north}; expected (west, south, "
            "east, north) with south < north."
        )
    if west == east:
        raise InvalidArgumentError(
            f"bbox={bbox!r} has zero width (west == east); widen it, or use "
            "(-180, south, 180, north) for a full circle around a pole."
        )
    if west > east:
        return [(west, south, 180.0, north), (-180.0, south, east, north)]
    return [(west, south, east, north)]


_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def to_utc(value: Any) -> _dt.datetime:
    """A timezone-aware UTC datetime from a datetime, date, Timestamp or datetime64."""
    if isinstance(value, _dt.datetime):
        dt = value
    elif isinstance(value, _dt.date):
        dt = _dt.datetime(value.year, value.month, value.day)
    elif hasattr(value, "to_pydatetime"):  # pandas Timestamp
        dt = value.to_pydatetime()
    elif type(value).__name__ == "datetime64":
        import numpy as np

        dt = _dt.datetime.fromisoformat(str(np.datetime_as_string(value, unit="us")))
    else:
        raise TypeError(type(value).__name__)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _parse_one(text: str, *, end: bool) -> _dt.datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    m = _PARTIAL.match(text)
    if m:
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if month is None:
            lo = _dt.datetime(year, 1, 1, tzinfo=UTC)
            hi = _dt.datetime(year + 1, 1, 1, tzinfo=UTC)
        elif day is None:
            lo = _dt.datetime(year, int(month), 1, tzinfo=UTC)
            hi = (lo + _dt.timedelta(days=32)).replace(day=1)
        else:
            lo = _dt.datetime(year, int(month), int(day), tzinfo=UTC)
            hi = lo + _dt.timedelta(days=1)
        return hi - _dt.timedelta(microseconds=1) if end else lo
    dt = _dt.datetime.fromisoformat(text.replace("z", "Z"))
    return to_utc(dt)


def parse_datetime(value: Any) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """Parse ``datetime=`` into an inclusive UTC interval.

    Parameters
    ----------
    value : str, datetime, date, numpy.datetime64, pandas.Timestamp or 2-sequence
        ``"2023-01-04"`` (the whole UTC day), ``"2023-01"`` (the month), ``"2023"``,
        ``"2023-01-04T10:00:00Z"`` (an instant), ``"2023-01-01/2023-01-07"`` (a range,
        ``..`` for an open end), a datetime (naive = UTC) or ``(start, end)``.

    Returns
    -------
    (datetime or None, datetime or None)
        Start and end (inclusive), timezone-aware UTC; None for an open end.

    Raises
    ------
    InvalidArgumentError
        If the value cannot be parsed or the start is after the end.
    """
    try:
        if isinstance(value, str):
            if "/" in value:
                a, b = value.split("/", 1)
                start, end = _parse_one(a, end=False), _parse_one(b, end=True)
            else:
                start, end = _parse_one(value, end=False), _parse_one(value, end=True)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            start = None if value[0] is None else _parse_single(value[0], end=False)
            end = None if value[1] is None else _parse_single(value[1], end=True)
        else:
            start = end = _parse_single(value, end=False)
            if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
                end = _parse_single(value, end=True)
    except (ValueError, TypeError):
        raise InvalidArgumentError(
            f"datetime={value!r} is not understood; expected e.g. '2023-01-04', "
            "'2023-01-01/2023-01-07', '2023-01-04T10:00:00Z' or a datetime."
        ) from None
    if start is not None and end is not None and start > end:
        raise InvalidArgumentError(
            f"datetime={value!r} starts after it ends; expected 'start/end' with start <= end."
        )
    return start, end


def _parse_single(value: Any, *, end: bool) -> _dt.datetime | None:
    if isinstance(value, str):
        return _parse_one(value, end=end)
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        lo = to_utc(value)
        return lo + _dt.timedelta(days=1, microseconds=-1) if end else lo
    return to_utc(value)


def iso(dt: _dt.datetime | None) -> str:
    """RFC 3339 text of ``dt`` (``..`` for an open end), as STAC APIs expect."""
    return ".." if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def whole_days(
    start: _dt.datetime | None, end: _dt.datetime | None
) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """``start``/``end`` widened to whole UTC days."""
    if start is not None:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if end is not None:
        end = end.replace(hour=0, minute=0, second=0, microsecond=0) + _dt.timedelta(
            days=1, microseconds=-1
        )
    return start, end


def norm_list(value: Any, name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """Upper-cased values of option ``name``, each checked against ``allowed``."""
    items = (value,) if isinstance(value, str) else tuple(value)
    out = []
    for v in items:
        if not isinstance(v, str) or v.upper() not in allowed:
            raise InvalidArgumentError(f"{name} has {v!r}; expected values among {allowed}.")
        out.append(v.upper())
    if not out:
        raise InvalidArgumentError(f"{name} is empty; expected values among {allowed}.")
    return tuple(out)


def sensor_of(item: Any, catalog: Catalog | None = None) -> str | None:
    """Which sensor an item belongs to: ``"sentinel-1"``, ``"amsr2"``, ``"icesat2"`` or None.

    Parameters
    ----------
    item : pystac.Item
    catalog : Catalog, optional
        Its collection ids are checked first.

    Returns
    -------
    str or None
    """
    coll = (item.collection_id or "").lower()
    if catalog is not None:
        for sensor in SENSORS:
            if coll and coll in (c.lower() for c in catalog.collections_for(sensor)):
                return sensor
    props = item.properties
    platform = str(props.get("platform", "")).lower()
    constellation = str(props.get("constellation", "")).lower()
    instruments = " ".join(str(i).lower() for i in props.get("instruments", []) or [])
    if "sentinel-1" in coll or constellation == "sentinel-1" or platform.startswith("sentinel-1"):
        return "sentinel-1"
    if "amsr" in coll or coll.startswith("au_si") or "amsr" in instruments or "gcom-w" in platform:
        return "amsr2"
    if coll.startswith(("atl10", "atl07")) or "icesat-2" in platform or "atlas" in instruments:
        return "icesat2"
    if "sar:instrument_mode" in props:
        return "sentinel-1"
    return None


def item_interval(item: Any) -> tuple[_dt.datetime, _dt.datetime]:
    """The (start, end) UTC interval an item covers (``datetime`` or start/end_datetime)."""
    props = item.properties
    dt = item.datetime
    start = props.get("start_datetime")
    end = props.get("end_datetime")
    lo = to_utc(_dt.datetime.fromisoformat(start)) if start else None
    hi = to_utc(_dt.datetime.fromisoformat(end)) if end else None
    if dt is not None:
        dt = to_utc(dt)
    lo = lo or dt
    hi = hi or dt
    if lo is None or hi is None:
        raise CatalogError(f"item {item.id!r} has neither datetime nor start/end_datetime.")
    return lo, hi


def item_time(item: Any) -> _dt.datetime:
    """The item's time: its ``datetime``, else the middle of its interval (UTC)."""
    if item.datetime is not None:
        return to_utc(item.datetime)
    lo, hi = item_interval(item)
    return lo + (hi - lo) / 2


def item_mode(item: Any) -> str:
    """The SAR instrument mode (``"EW"``...) of an item, ``""`` when absent."""
    return str(item.properties.get("sar:instrument_mode", "")).upper()


def item_polarizations(item: Any) -> tuple[str, ...]:
    """The SAR polarisations of an item, upper case."""
    return tuple(str(p).upper() for p in item.properties.get("sar:polarizations", []) or [])


def item_orbit(item: Any) -> str:
    """Orbit state and relative orbit of an item, for display (``"asc 12"``)."""
    props = item.properties
    state = str(props.get("sat:orbit_state", "") or "")
    rel = props.get("sat:relative_orbit")
    parts = [state[:3] if state else "", f"{rel}" if rel is not None else ""]
    return " ".join(p for p in parts if p) or "-"


def in_time(item: Any, start: _dt.datetime | None, end: _dt.datetime | None) -> bool:
    """Whether the item's interval meets [start, end] (None: open end)."""
    lo, hi = item_interval(item)
    return (start is None or hi >= start) and (end is None or lo <= end)


def in_space(item: Any, boxes: Sequence[BBox]) -> bool:
    """Whether the item's geometry (else bbox) meets one of the lon/lat ``boxes``."""
    from shapely.geometry import box, shape

    if item.geometry is None:
        if item.bbox is None:
            return True
        geom = box(*item.bbox[:4]) if len(item.bbox) == 4 else box(*item.bbox[::2][:2])
    else:
        geom = shape(item.geometry)
    return any(geom.intersects(box(*b)) for b in boxes)


def item_footprint(item: Any) -> Any:
    """Shapely lon/lat footprint of an item (geometry, else bbox), or None."""
    from shapely import box
    from shapely.geometry import shape

    if item.geometry is not None:
        return shape(item.geometry)
    if item.bbox is not None:
        return box(*item.bbox[:4])
    return None


def group_items(items: Sequence[Any], how: str) -> list[tuple[np.datetime64, list[Any]]]:
    """Items grouped into time steps: one UTC ``"day"``, or one ``"pass"`` (gaps < 30 min).

    Parameters
    ----------
    items : sequence of pystac.Item
    how : {"day", "pass"}

    Returns
    -------
    list of (numpy.datetime64, list of pystac.Item)
        Time of the first item (naive UTC, ns) and the members, in time order.
    """
    ordered = sorted(items, key=lambda i: (item_time(i), i.id))
    groups: list[list[Any]] = []
    for it in ordered:
        t = item_time(it)
        if groups:
            last = item_time(groups[-1][-1])
            same = (
                t.date() == item_time(groups[-1][0]).date()
                if how == "day"
                else (t - last) <= _dt.timedelta(minutes=30)
            )
            if same:
                groups[-1].append(it)
                continue
        groups.append([it])
    out: list[tuple[np.datetime64, list[Any]]] = []
    for g in groups:
        t0 = item_time(g[0]).replace(tzinfo=None)
        out.append((np.datetime64(t0, "ns"), g))
    return out


def asset_href(item: Any, *keys: str) -> tuple[str, str] | None:
    """``(key, absolute href)`` of the first of ``keys`` the item has, or None."""
    for key in keys:
        asset = item.assets.get(key)
        if asset is not None:
            return key, asset.get_absolute_href() or asset.href
    return None


def _reason(message: str) -> str:
    """The cause inside a reader's message ("could not read URL (HTTP 404) after ...")."""
    m = re.search(r"\(([^()]*)\) after (\d+) attempt", message)
    return f"{m.group(1)} after {m.group(2)} attempt(s)" if m else message


def asset_error(item_id: str, key: str, href: str, why: str) -> AssetReadError:
    """An [`AssetReadError`][xseaice.exceptions.AssetReadError] naming the item, asset and URL.

    Parameters
    ----------
    item_id, key, href : str
        The item, the asset key and its href (redacted in the message).
    why : str
        The reader's message; its cause is kept, its query strings removed.

    Returns
    -------
    AssetReadError
    """
    why = _reason(why)
    return AssetReadError(
        f"could not read asset {key!r} of item {item_id!r} ({redact_url(href)}): "
        f"{redact_text(why)}. Check that the catalog's files are reachable; for signed "
        "URLs re-run so that they are signed afresh."
    )
