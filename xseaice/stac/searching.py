"""Search STAC catalogs for Sentinel-1 GRD, AMSR-2 L3 and ICESat-2 items of a place and time.

[`search`][xseaice.stac.searching.search] asks one catalog (or one per sensor) for the Sentinel-1
scenes of a place and time in one acquisition mode and polarisation set, for the AMSR-2 daily
files of the same days, and for the ICESat-2 granules whose ground track crosses the scenes
in the time window.  How a catalog is asked is in [`xseaice.stac.finding`][] (Sentinel-1,
AMSR-2) and [`xseaice.stac.altimetry`][] (ICESat-2).

The result, [`SearchResult`][xseaice.stac.result.SearchResult], holds plain `pystac.Item` lists
and prints as a table; [`xseaice.load`][xseaice.stac.loading.load] turns it into a co-registered
dataset.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from xseaice.exceptions import (
    CatalogError,
    EmptySearchError,
    InvalidArgumentError,
    MissingSensorWarning,
)
from xseaice.io.http import DEFAULT_TIMEOUT, deadline
from xseaice.io.urls import redact_url
from xseaice.stac.catalogs import SENSORS, Catalog, get_catalog
from xseaice.stac.finding import Query, explain_empty, find
from xseaice.stac.items import (
    MODES,
    POLARIZATIONS,
    BBox,
    iso,
    item_time,
    norm_list,
    parse_bbox,
    parse_datetime,
    whole_days,
)
from xseaice.stac.result import SearchResult

__all__ = ["SearchResult", "search"]

logger = logging.getLogger(__name__)


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
    """Search STAC catalogs for Sentinel-1 GRD scenes, their days' AMSR-2 files, ICESat-2 tracks.

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
        ``{"sentinel-1": ..., "amsr2": ..., "icesat2": ...}`` with one catalog per
        sensor.  A catalog without AMSR-2 or ICESat-2 (Planetary Computer, Earth Search)
        searches them in ``"cmr"``.
    mode : {"EW", "IW", "SM", "WV"}
        Sentinel-1 acquisition mode; sea-ice work uses EW (extra wide swath).
    polarizations : sequence of str
        Polarisations every Sentinel-1 item must carry.
    sensors : sequence of {"sentinel-1", "amsr2", "icesat2"}
        What to search.  ``"icesat2"`` finds the altimeter granules (ATL10 freeboard on
        NASA CMR-STAC by default) whose ground track crosses the footprints of the
        Sentinel-1 items found (the ``bbox`` when Sentinel-1 is not searched) in
        ``datetime`` (with ``ids``: the found items' whole days).  It is checked on the
        footprint, not its bounding box, as
        [`search_altimetry`][xseaice.stac.altimetry.search_altimetry] does; the
        ``EARTHDATA_TOKEN`` goes only to an HTTPS Earthdata catalog.
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
        ``.sentinel1``, ``.amsr2`` and ``.icesat2`` lists of `pystac.Item`, printable as
        a table.

    Raises
    ------
    EmptySearchError
        If no Sentinel-1 item matches (or nothing, when Sentinel-1 is not searched);
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
        q = Query(boxes, start, end, mode=mode_u[0], polarizations=pols, ids=wanted)
        return _search(per_sensor, sensor_list, bbox, sign, wanted, max_items, q)


def _search(
    per_sensor: Mapping[str, Catalog | None], sensor_list: tuple[str, ...], bbox: Any,
    sign: bool, wanted: frozenset[str], max_items: int, q: Query,
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
            result.sentinel1 = find(cat, sensor, q, max_items)
        elif sensor == "icesat2":
            result.icesat2 = _find_icesat2(cat, q, result.sentinel1, wanted, max_items)
        else:
            aq = _amsr2_query(q, result.sentinel1 if wanted else [])
            try:
                result.amsr2 = find(cat, sensor, aq, max_items)
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
        "found %d Sentinel-1, %d AMSR-2 item(s), %d ICESat-2 granule(s)",
        len(result.sentinel1),
        len(result.amsr2),
        len(result.icesat2),
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


def _amsr2_query(q: Query, s1_items: Sequence[Any]) -> Query:
    """AMSR-2 days and boxes: the query's, or (searching by ids) the found items'."""
    if not s1_items:
        return Query(q.boxes, *whole_days(q.start, q.end))
    times = [item_time(it) for it in s1_items]
    boxes = [tuple(float(v) for v in it.bbox[:4]) for it in s1_items if it.bbox]
    return Query(boxes or q.boxes, *whole_days(min(times), max(times)))  # type: ignore[arg-type]


def _find_icesat2(
    catalog: Catalog, q: Query, s1_items: Sequence[Any], wanted: frozenset[str], max_items: int
) -> list[Any]:
    """ICESat-2 granules crossing the Sentinel-1 footprints (else the boxes) in the window."""
    import shapely.geometry
    import shapely.ops

    from xseaice.stac.altimetry import find_granules

    shapes = [shapely.geometry.shape(it.geometry) for it in s1_items if it.geometry]
    if not shapes:
        shapes = [shapely.geometry.box(*b) for b in q.boxes]
    window = (q.start, q.end)
    if wanted and s1_items:  # searched by ids: the found items' days
        times = [item_time(it) for it in s1_items]
        window = whole_days(min(times), max(times))
    area = shapely.ops.unary_union(shapes)
    try:
        return find_granules(catalog, area, window, max_items)
    except CatalogError as exc:
        if not s1_items:
            raise
        warnings.warn(
            f"ICESat-2 search in {catalog.name!r} failed ({exc}); continuing without it.",
            MissingSensorWarning,
            stacklevel=4,
        )
        return []


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
    q: Query,
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
        why = explain_empty(cat, q, result.mode, result.polarizations)
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
    if "sentinel-1" not in sensors and not len(result):
        names = sorted({redact_url(c.name) for c in per_sensor.values() if c}) or ["?"]
        what = " or ".join({"amsr2": "AMSR-2 item", "icesat2": "ICESat-2 granule"}[s]
                           for s in sensors)  # fmt: skip
        raise EmptySearchError(
            f"no {what} in catalog(s) {names} for {where}, datetime={when}; widen datetime "
            "or use catalog='cmr' (NASA CMR-STAC: AMSR-2 AU_SI12, ICESat-2 ATL10)."
        )
