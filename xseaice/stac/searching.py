"""Search STAC catalogs for Sentinel-1 GRD and AMSR-2 L3 items.

[`search`][xseaice.stac.searching.search] asks one catalog (or one per sensor) for the Sentinel-1
scenes of a place and time in one acquisition mode and polarisation set, and for the AMSR-2 daily
files of the same days.  STAC APIs are queried with pystac-client; the ``query`` or ``filter``
extension narrows the mode on the server when the API declares it in ``conformsTo``, and
every filter is checked again on the client (some servers ignore what they do not
support).  Static catalogs have no search endpoint: their items are walked and filtered
in process.

The result, [`SearchResult`][xseaice.stac.searching.SearchResult], holds plain `pystac.Item` lists
and prints as a table; [`xseaice.load`][xseaice.stac.loading.load] turns it into a co-registered
dataset.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from xseaice.exceptions import (
    CatalogError,
    EmptySearchError,
    InvalidArgumentError,
    MissingSensorWarning,
)
from xseaice.io.http import DEFAULT_TIMEOUT, current_deadline, deadline
from xseaice.io.urls import redact_text, redact_url
from xseaice.stac.catalogs import SENSORS, Catalog, get_catalog, read_static
from xseaice.stac.items import (
    MODES,
    POLARIZATIONS,
    BBox,
    in_space,
    in_time,
    iso,
    item_mode,
    item_orbit,
    item_polarizations,
    item_time,
    norm_list,
    parse_bbox,
    parse_datetime,
    sensor_of,
    whole_days,
)

__all__ = ["SearchResult", "search"]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """Items found by [`search`][xseaice.stac.searching.search], grouped per sensor.

    Attributes
    ----------
    sentinel1 : list of pystac.Item
        Sentinel-1 GRD items, sorted by time.
    amsr2 : list of pystac.Item
        AMSR-2 L3 items of the same days, sorted by time.
    bbox : tuple or None
        The searched ``(west, south, east, north)``.
    datetime : (datetime, datetime)
        The searched interval (UTC, inclusive; None = open).
    mode : str
        Sentinel-1 acquisition mode.
    polarizations : tuple of str
        Polarisations every Sentinel-1 item carries.
    catalogs : dict
        Sensor -> the `Catalog` it was found in (used by
        [`xseaice.load`][xseaice.stac.loading.load] to sign asset URLs when they are read).
    signed : bool
        True when the items' asset hrefs are already signed (``search(..., sign=True)``);
        [`xseaice.load`][xseaice.stac.loading.load] then reads them as they are.
    """

    sentinel1: list[Any] = field(default_factory=list)
    amsr2: list[Any] = field(default_factory=list)
    bbox: BBox | None = None
    datetime: tuple[_dt.datetime | None, _dt.datetime | None] = (None, None)
    mode: str = "EW"
    polarizations: tuple[str, ...] = ("HH", "HV")
    catalogs: dict[str, Catalog] = field(default_factory=dict)
    signed: bool = False

    def __len__(self) -> int:
        return len(self.sentinel1) + len(self.amsr2)

    def __iter__(self) -> Iterator[Any]:
        yield from self.sentinel1
        yield from self.amsr2

    @property
    def items(self) -> list[Any]:
        """All items, Sentinel-1 first."""
        return list(self)

    @property
    def dates(self) -> list[_dt.date]:
        """The distinct UTC days of the Sentinel-1 items."""
        return sorted({item_time(i).date() for i in self.sentinel1})

    def catalog_for(self, sensor: str) -> Catalog | None:
        """The catalog a sensor's items came from (None if unknown)."""
        return self.catalogs.get(sensor)

    def rows(self) -> list[dict[str, str]]:
        """One dict per item: sensor, id, time, mode, polarizations, orbit."""
        rows = []
        for sensor, items in (("sentinel-1", self.sentinel1), ("amsr2", self.amsr2)):
            for it in items:
                rows.append(
                    {
                        "sensor": sensor,
                        "id": it.id,
                        "time": item_time(it).strftime("%Y-%m-%d %H:%M:%S"),
                        "mode": item_mode(it) or "-",
                        "polarizations": "+".join(item_polarizations(it)) or "-",
                        "orbit": item_orbit(it) if sensor == "sentinel-1" else "-",
                    }
                )
        return rows

    def _header(self) -> str:
        names = sorted({c.name for c in self.catalogs.values()})
        where = ", ".join(redact_url(n) for n in names) or "?"
        return (
            f"SearchResult: {len(self.sentinel1)} Sentinel-1 {self.mode} "
            f"{'+'.join(self.polarizations)} item(s), {len(self.amsr2)} AMSR-2 item(s) "
            f"from {where}"
        )

    def __repr__(self) -> str:
        cols = ("sensor", "id", "time", "mode", "polarizations", "orbit")
        rows = self.rows()
        widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in cols}
        lines = [self._header()]
        if rows:
            lines.append("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
            lines.append("  ".join("-" * widths[c] for c in cols))
            lines.extend("  ".join(r[c].ljust(widths[c]) for c in cols).rstrip() for r in rows)
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        cols = ("sensor", "id", "time", "mode", "polarizations", "orbit")
        head = "".join(f"<th>{c}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in cols) + "</tr>"
            for r in self.rows()
        )
        return (
            f"<div><p>{html.escape(self._header())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


# ---------------------------------------------------------------------------------------
# searching
# ---------------------------------------------------------------------------------------


@dataclass
class _Query:
    boxes: list[BBox]
    start: _dt.datetime | None
    end: _dt.datetime | None
    mode: str | None = None
    polarizations: tuple[str, ...] = ()
    ids: frozenset[str] = frozenset()


def _matches(item: Any, sensor: str, q: _Query, catalog: Catalog) -> bool:
    if sensor_of(item, catalog) != sensor:
        return False
    if q.ids and item.id not in q.ids:
        return False
    if not in_time(item, q.start, q.end) or not in_space(item, q.boxes):
        return False
    if sensor == "sentinel-1":
        if q.mode and item_mode(item) != q.mode:
            return False
        if not set(q.polarizations) <= set(item_polarizations(item)):
            return False
    return True


def _static_items(catalog: Catalog) -> list[Any]:
    import pystac

    try:
        root = read_static(catalog.url, timeout=catalog.timeout)
        if isinstance(root, pystac.Item):
            return [root]
        if not isinstance(root, pystac.Catalog):
            raise CatalogError(f"{redact_url(catalog.url)} is not a STAC catalog or collection.")
        items = list(root.get_items(recursive=True))  # children are read here
    except CatalogError:
        raise
    except Exception as exc:
        limit = current_deadline()
        if limit is not None and limit.remaining() <= 0:  # pystac rewords the cause
            raise CatalogError(limit.message(f"reading {redact_url(catalog.url)}")) from None
        raise CatalogError(
            f"could not read the static catalog {redact_url(catalog.url)} "
            f"({type(exc).__name__}: {redact_text(str(exc))}); expected a STAC catalog.json "
            "or collection.json."
        ) from None
    for it in items:
        it.make_asset_hrefs_absolute()
    return items


def _api_collections(catalog: Catalog, sensor: str) -> tuple[str, ...]:
    wanted = catalog.collections_for(sensor)
    if not wanted:
        return ()
    from xseaice.stac.catalogs import CATALOGS

    if CATALOGS.get(catalog.name) is catalog:
        return wanted  # registered: trust the collection ids
    try:
        available = {c.id for c in catalog.client().get_collections()}
    except CatalogError:
        raise
    except Exception:  # an API without /collections: try the ids as they are
        logger.debug("could not list collections of %s", catalog.safe_url)
        return wanted
    return tuple(c for c in wanted if c in available)


def _api_items(
    catalog: Catalog, sensor: str, q: _Query, max_items: int, *, server_filters: bool = True
) -> list[Any]:
    collections = _api_collections(catalog, sensor)
    if not collections:
        return []
    client = catalog.client()
    conf = catalog.conformance()
    if "item-search" not in conf:
        raise CatalogError(
            f"the STAC API {catalog.safe_url} does not conform to item-search; expected a "
            "STAC API with /search (or pass a static catalog path)."
        )
    kwargs: dict[str, Any] = {
        "collections": list(collections),
        "limit": min(max(max_items, 10), 250),
    }
    if q.start is not None or q.end is not None:  # APIs refuse "../.."
        kwargs["datetime"] = f"{iso(q.start)}/{iso(q.end)}"
    if q.ids:
        kwargs["ids"] = sorted(q.ids)
    if len(q.boxes) == 1:
        kwargs["bbox"] = list(q.boxes[0])
    else:
        kwargs["intersects"] = {
            "type": "MultiPolygon",
            "coordinates": [[[[w, s], [e, s], [e, n], [w, n], [w, s]]] for (w, s, e, n) in q.boxes],
        }
    filtered_on_server = False
    if server_filters and sensor == "sentinel-1" and q.mode:
        if "query" in conf:
            kwargs["query"] = {"sar:instrument_mode": {"eq": q.mode}}
            filtered_on_server = True
        elif "filter" in conf:
            kwargs["filter"] = {"op": "=", "args": [{"property": "sar:instrument_mode"}, q.mode]}
            kwargs["filter_lang"] = "cql2-json"
            filtered_on_server = True
    logger.info(
        "searching %s %s (server-side mode filter: %s)",
        catalog.safe_url,
        list(collections),
        filtered_on_server,
    )
    # the client re-checks everything; scan a bounded number of items
    scan_limit = max_items if filtered_on_server else max(20 * max_items, 500)
    out: list[Any] = []
    try:
        search = client.search(max_items=scan_limit, **kwargs)
        for item in search.items():
            if _matches(item, sensor, q, catalog):
                out.append(item)
                if len(out) >= max_items:
                    break
    except CatalogError:
        raise
    except Exception as exc:
        limit = current_deadline()
        if limit is not None and limit.remaining() <= 0:
            why = limit.message(f"searching {catalog.safe_url} did not finish")
            raise CatalogError(why) from None
        raise CatalogError(
            f"searching {catalog.safe_url} failed ({type(exc).__name__}: "
            f"{_brief(exc)}; timeout {catalog.timeout:g} s); check the catalog, or retry later."
        ) from None
    return out


def _brief(exc: BaseException) -> str:
    return redact_text(" ".join(str(exc).split()))[:200]


def _find(catalog: Catalog, sensor: str, q: _Query, max_items: int) -> list[Any]:
    if catalog.kind == "static":
        found = [it for it in _static_items(catalog) if _matches(it, sensor, q, catalog)]
        return sorted(found, key=lambda i: (item_time(i), i.id))[:max_items]
    found = _api_items(catalog, sensor, q, max_items)
    return sorted(found, key=lambda i: (item_time(i), i.id))


def _explain_empty(catalog: Catalog, q: _Query, mode: str, polarizations: tuple[str, ...]) -> str:
    """Why nothing matched: look at the items of that place and time without mode/pols."""
    loose = _Query(q.boxes, q.start, q.end, mode=None, polarizations=())
    try:
        if catalog.kind == "static":
            near = [
                it for it in _static_items(catalog) if _matches(it, "sentinel-1", loose, catalog)
            ]
        else:
            near = _api_items(catalog, "sentinel-1", loose, 50, server_filters=False)
    except Exception:  # diagnostics only
        return ""
    if not near:
        return ""
    modes = sorted({item_mode(i) or "?" for i in near})
    in_mode = [i for i in near if item_mode(i) == mode]
    if not in_mode:
        return (
            f" {len(near)} Sentinel-1 item(s) cover this place and time, but in mode(s) "
            f"{modes}, not {mode!r}: pass mode={modes[0]!r}."
        )
    have = sorted({"+".join(item_polarizations(i)) or "?" for i in in_mode})
    lacking = "+".join(
        p for p in polarizations if all(p not in item_polarizations(i) for i in in_mode)
    )
    return (
        f" {len(in_mode)} {mode} item(s) cover this place and time, but with polarizations "
        f"{have} (missing {lacking}): "
        f"pass polarizations={tuple(have[0].split('+'))!r}."
    )


def search(
    bbox: Any,
    datetime: Any,
    *,
    catalog: str | os.PathLike[str] | Catalog | Mapping[str, Any] = "planetary-computer",
    mode: str = "EW",
    polarizations: Sequence[str] | str = ("HH", "HV"),
    sensors: Sequence[str] | str = ("sentinel-1", "amsr2"),
    max_items: int = 100,
    collections: Mapping[str, Sequence[str]] | None = None,
    timeout: float | None = None,
    ids: Sequence[str] | str | None = None,
    sign: bool = False,
) -> SearchResult:
    """Search a STAC catalog for Sentinel-1 GRD scenes and the AMSR-2 files of their days.

    Parameters
    ----------
    bbox : (west, south, east, north)
        Degrees (EPSG:4326).  ``west > east`` crosses the antimeridian; boxes may reach a
        pole.
    datetime : str, datetime or (start, end)
        ``"2023-01-04"`` (the whole UTC day), ``"2023-01-01/2023-01-07"``, an instant,
        or a pair (see `parse_datetime`).  AMSR-2 daily files
        are searched over the whole UTC days of this interval.
    catalog : str, os.PathLike, Catalog or mapping
        A registered name (``"planetary-computer"``, ``"earth-search"``, ``"cmr"``,
        ``"embedded"``), a STAC API URL, a static catalog path, or a mapping
        ``{"sentinel-1": ..., "amsr2": ...}`` with one catalog per sensor.  A catalog
        without AMSR-2 (Planetary Computer, Earth Search) searches it in ``"cmr"``.
    mode : {"EW", "IW", "SM", "WV"}
        Sentinel-1 acquisition mode; sea-ice work uses EW (extra wide swath).
    polarizations : sequence of str
        Polarisations every Sentinel-1 item must carry.
    sensors : sequence of {"sentinel-1", "amsr2"}
        What to search.
    max_items : int
        Most items returned per sensor.
    collections : mapping, optional
        Sensor -> collection ids, overriding the catalog's (e.g. a private STAC API whose
        GRD collection is named differently).
    timeout : float, optional
        Seconds allowed for the whole search (every catalog request, retries included;
        each connection and wait for bytes gets at most the time left); default the
        catalog's (`xseaice.io.http.DEFAULT_TIMEOUT`).  A catalog that does not answer
        in time raises [`CatalogError`][xseaice.exceptions.CatalogError] naming its host
        and the timeout.
    ids : sequence of str, optional
        Sentinel-1 item ids to find.  With ids, ``bbox`` and ``datetime`` may be None
        (anywhere, any time); AMSR-2 is then searched over the found items' footprints
        and days.
    sign : bool
        Return items whose asset hrefs are signed with their catalog's signing function
        (Planetary Computer's ``sign_inplace`` convention), so that ``result.items`` feed
        odc-stac or stackstac directly.  Signatures expire (about an hour on the Planetary
        Computer): search again for fresh ones.  Hrefs of catalogs that need no signing
        are returned as they are.  Default: unsigned hrefs, signed when
        [`xseaice.load`][xseaice.stac.loading.load] reads them.

    Returns
    -------
    SearchResult
        ``.sentinel1`` and ``.amsr2`` lists of `pystac.Item`, printable as a table.

    Raises
    ------
    EmptySearchError
        If no Sentinel-1 item matches (or no AMSR-2 item, when only AMSR-2 is searched);
        the message says what was searched and, when items exist in another mode or
        polarisation set, which option to change.
    InvalidArgumentError
        If ``bbox``, ``datetime``, ``mode``, ``polarizations`` or ``sensors`` is invalid.
    CatalogError
        If the catalog is unknown or cannot be reached.

    Examples
    --------
    >>> result = xseaice.search((-20, 78, 0, 81), "2023-01-04")  # doctest: +SKIP
    >>> result  # doctest: +SKIP
    SearchResult: 2 Sentinel-1 EW HH+HV item(s), 1 AMSR-2 item(s) from ...
    """
    wanted = _parse_ids(ids)
    boxes = parse_bbox(bbox) if bbox is not None or not wanted else [_WORLD]
    start, end = parse_datetime(datetime) if datetime is not None or not wanted else (None, None)
    mode_u = norm_list(mode, "mode", MODES)
    if len(mode_u) != 1:
        raise InvalidArgumentError(f"mode={mode!r}; expected one of {MODES}.")
    pols = norm_list(polarizations, "polarizations", POLARIZATIONS)
    sensor_list = (sensors,) if isinstance(sensors, str) else tuple(sensors)
    for s in sensor_list:
        if s not in SENSORS:
            raise InvalidArgumentError(f"sensors has {s!r}; expected values among {SENSORS}.")
    if not sensor_list:
        raise InvalidArgumentError(f"sensors is empty; expected values among {SENSORS}.")
    if not isinstance(max_items, int) or max_items < 1:
        raise InvalidArgumentError(f"max_items={max_items!r}; expected a positive integer.")

    per_sensor = _catalogs_per_sensor(catalog, sensor_list, collections)
    if timeout is not None:
        if not isinstance(timeout, (int, float)) or not timeout > 0:
            raise InvalidArgumentError(
                f"timeout={timeout!r}; expected a positive number of seconds, e.g. 60."
            )
        per_sensor = {
            s: (None if c is None else replace(c, timeout=float(timeout)))
            for s, c in per_sensor.items()
        }
    seconds = max((c.timeout for c in per_sensor.values() if c), default=DEFAULT_TIMEOUT)
    with deadline(seconds):  # the whole search, every catalog request
        q = _Query(boxes, start, end, mode=mode_u[0], polarizations=pols, ids=wanted)
        return _search(per_sensor, sensor_list, bbox, sign, wanted, max_items, q)


def _search(
    per_sensor: Mapping[str, Catalog | None], sensor_list: tuple[str, ...], bbox: Any,
    sign: bool, wanted: frozenset[str], max_items: int, q: _Query,
) -> SearchResult:  # fmt: skip
    start, end, pols = q.start, q.end, q.polarizations
    result = SearchResult(
        bbox=None if bbox is None else tuple(float(v) for v in bbox),  # type: ignore[arg-type]
        datetime=(start, end),
        mode=q.mode or "",
        polarizations=pols,
    )
    for sensor in sorted(sensor_list, key=lambda s: s != "sentinel-1"):  # S1 first
        cat = per_sensor[sensor]
        if cat is None:
            continue
        result.catalogs[sensor] = cat
        if sensor == "sentinel-1":
            result.sentinel1 = _find(cat, sensor, q, max_items)
        else:
            aq = _amsr2_query(q, result.sentinel1 if wanted else [])
            try:
                result.amsr2 = _find(cat, sensor, aq, max_items)
            except CatalogError as exc:
                if "sentinel-1" not in sensor_list:
                    raise
                warnings.warn(
                    f"AMSR-2 search in {cat.name!r} failed ({exc}); continuing with "
                    "Sentinel-1 only.",
                    MissingSensorWarning,
                    stacklevel=3,
                )
    _check_not_empty(result, sensor_list, per_sensor, q)
    if sign:
        result.sentinel1 = _signed(result.sentinel1, result.catalogs.get("sentinel-1"))
        result.amsr2 = _signed(result.amsr2, result.catalogs.get("amsr2"))
        result.signed = True
    logger.info(
        "found %d Sentinel-1 and %d AMSR-2 item(s)", len(result.sentinel1), len(result.amsr2)
    )
    return result


_WORLD: BBox = (-180.0, -90.0, 180.0, 90.0)


def _signed(items: list[Any], catalog: Catalog | None) -> list[Any]:
    """Copies of ``items`` whose asset hrefs are signed by ``catalog`` (``sign_inplace``)."""
    if catalog is None or catalog.sign is None:
        return items
    out = []
    for it in items:
        copy = it.clone()
        for asset in copy.assets.values():
            asset.href = catalog.sign_href(asset.href)
        out.append(copy)
    return out


def _parse_ids(ids: Sequence[str] | str | None) -> frozenset[str]:
    if ids is None:
        return frozenset()
    values = (ids,) if isinstance(ids, str) else tuple(ids)
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise InvalidArgumentError(
            f"ids={ids!r}; expected one or more non-empty item id strings, e.g. "
            "['S1A_EW_GRDM_1SDH_20230104T...']."
        )
    return frozenset(v.strip() for v in values)


def _amsr2_query(q: _Query, s1_items: Sequence[Any]) -> _Query:
    """AMSR-2 days and boxes: the query's, or (searching by ids) the found items'."""
    if not s1_items:
        return _Query(q.boxes, *whole_days(q.start, q.end))
    times = [item_time(it) for it in s1_items]
    boxes = [tuple(float(v) for v in it.bbox[:4]) for it in s1_items if it.bbox]
    return _Query(boxes or q.boxes, *whole_days(min(times), max(times)))  # type: ignore[arg-type]


def _catalogs_per_sensor(
    catalog: Any, sensors: Sequence[str], collections: Mapping[str, Sequence[str]] | None
) -> dict[str, Catalog | None]:
    if isinstance(catalog, Mapping):
        unknown = set(catalog) - set(SENSORS)
        if unknown:
            raise InvalidArgumentError(
                f"catalog mapping has key(s) {sorted(unknown)}; expected sensors {SENSORS}."
            )
        chosen = {s: (get_catalog(catalog[s]) if s in catalog else None) for s in sensors}
        missing = [s for s in sensors if chosen[s] is None]
        if missing:
            raise InvalidArgumentError(
                f"catalog mapping lacks {missing}; give a catalog for every searched sensor "
                "or leave that sensor out of sensors=."
            )
    else:
        base = get_catalog(catalog)
        chosen = {}
        for s in sensors:
            if base.collections_for(s) or (collections and s in collections):
                chosen[s] = base
            elif s in base.fallback:
                chosen[s] = get_catalog(base.fallback[s])
                logger.info("%s has no %s collection; searching %s", base.name, s, chosen[s])
            elif base.kind == "static":
                chosen[s] = base
            else:
                chosen[s] = None
    if collections:
        for sensor, ids in collections.items():
            if sensor not in SENSORS:
                raise InvalidArgumentError(
                    f"collections has sensor {sensor!r}; expected one of {SENSORS}."
                )
            cat = chosen.get(sensor)
            if cat is not None:
                new = dict(cat.collections)
                new[sensor] = (ids,) if isinstance(ids, str) else tuple(ids)
                chosen[sensor] = replace(cat, collections=new)
    return chosen


def _check_not_empty(
    result: SearchResult,
    sensors: Sequence[str],
    per_sensor: Mapping[str, Catalog | None],
    q: _Query,
) -> None:
    start, end = q.start, q.end
    when = f"{iso(start)[:19]}/{iso(end)[:19]}"
    where = f"bbox={result.bbox}"
    if "sentinel-1" in sensors and not result.sentinel1:
        cat = per_sensor["sentinel-1"]
        name = cat.name if cat else "?"
        if cat is None:
            raise EmptySearchError(
                "the catalog has no Sentinel-1 collection; pass catalog='planetary-computer' "
                "or a catalog that holds sentinel-1-grd."
            )
        if q.ids:
            raise EmptySearchError(
                f"none of the Sentinel-1 {result.mode} item ids {sorted(q.ids)} is in catalog "
                f"{redact_url(name)!r} for {where}, datetime={when}; check the ids (and mode) "
                "with `xseaice search`."
            )
        why = _explain_empty(cat, q, result.mode, result.polarizations)
        raise EmptySearchError(
            f"no Sentinel-1 {result.mode} {'+'.join(result.polarizations)} item in catalog "
            f"{redact_url(name)!r} for {where}, datetime={when}.{why or ''} "
            + (
                ""
                if why
                else "Widen datetime (EW revisits a polar site every 1-3 days), check that "
                "bbox is (west, south, east, north) in degrees, or try another catalog."
            )
        )
    if list(sensors) == ["amsr2"] and not result.amsr2:
        cat = per_sensor["amsr2"]
        raise EmptySearchError(
            f"no AMSR-2 item in catalog {redact_url(cat.name) if cat else '?'!r} for {where}, "
            f"datetime={when}; widen datetime or use catalog='cmr' (NASA CMR-STAC, AU_SI12)."
        )


def _flatten(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for it in items:
        if isinstance(it, SearchResult):
            out.extend(it)
        elif isinstance(it, (list, tuple)):
            out.extend(_flatten(it))
        else:
            out.append(it)
    return out
