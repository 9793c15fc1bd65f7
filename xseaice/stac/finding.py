"""Find the items of one sensor in one catalog: a STAC API search or a static catalog walk.

A STAC API is asked with pystac-client; the ``query`` or ``filter`` extension narrows the
Sentinel-1 mode on the server when the API declares it in ``conformsTo``, and every
filter is checked again on the client (some servers ignore what they do not support).
Static catalogs have no search endpoint: their items are walked and filtered in process.
[`xseaice.search`][xseaice.stac.searching.search] calls [`find`][xseaice.stac.finding.find]
once per sensor.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass
from typing import Any

from xseaice.exceptions import CatalogError
from xseaice.io.http import current_deadline
from xseaice.io.urls import redact_text, redact_url
from xseaice.stac.catalogs import Catalog, read_static
from xseaice.stac.items import (
    BBox,
    in_space,
    in_time,
    iso,
    item_mode,
    item_polarizations,
    item_time,
    sensor_of,
)

__all__ = ["Query", "explain_empty", "find", "matches", "static_items"]

logger = logging.getLogger(__name__)


@dataclass
class Query:
    """What one sensor's search asks: boxes, interval, Sentinel-1 mode, polarisations, ids."""

    boxes: list[BBox]
    start: _dt.datetime | None
    end: _dt.datetime | None
    mode: str | None = None
    polarizations: tuple[str, ...] = ()
    ids: frozenset[str] = frozenset()


def matches(item: Any, sensor: str, q: Query, catalog: Catalog) -> bool:
    """Whether ``item`` is a ``sensor`` item that answers ``q`` (checked on the client)."""
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


def static_items(catalog: Catalog) -> list[Any]:
    """Every item of a static catalog, with absolute asset hrefs.

    Raises
    ------
    CatalogError
        If the catalog cannot be read or is not a STAC catalog or collection.
    """
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
    catalog: Catalog, sensor: str, q: Query, max_items: int, *, server_filters: bool = True
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
            if matches(item, sensor, q, catalog):
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


def find(catalog: Catalog, sensor: str, q: Query, max_items: int) -> list[Any]:
    """At most ``max_items`` ``sensor`` items of ``catalog`` answering ``q``, sorted by time.

    Raises
    ------
    CatalogError
        If the catalog cannot be read or searched.
    """
    if catalog.kind == "static":
        found = [it for it in static_items(catalog) if matches(it, sensor, q, catalog)]
        return sorted(found, key=lambda i: (item_time(i), i.id))[:max_items]
    found = _api_items(catalog, sensor, q, max_items)
    return sorted(found, key=lambda i: (item_time(i), i.id))


def explain_empty(catalog: Catalog, q: Query, mode: str, polarizations: tuple[str, ...]) -> str:
    """Why nothing matched: look at the items of that place and time without mode/pols."""
    loose = Query(q.boxes, q.start, q.end, mode=None, polarizations=())
    try:
        if catalog.kind == "static":
            near = [it for it in static_items(catalog) if matches(it, "sentinel-1", loose, catalog)]
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
