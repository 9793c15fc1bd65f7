"""Search STAC catalogs for altimeter granules that cross a scene: ICESat-2 ATL10 on CMR-STAC.

[`search_altimetry`][xseaice.stac.altimetry.search_altimetry] asks a STAC API (by default
NASA CMR-STAC at NSIDC, ``https://cmr.earthdata.nasa.gov/stac/NSIDC_ECS``, collection
``ATL10_006``) for the granules whose footprint crosses a scene footprint (a bbox, a
GeoJSON / shapely geometry, or a scene with a CRS) in a time window, and checks both
again on the client: a granule's footprint is a thin swath along the ground track, and
its bounding box overlaps far more scenes than the swath does.

Earthdata credentials come from the user's environment, never from arguments that could
end in a log: a bearer token in ``EARTHDATA_TOKEN`` (or ``token=``) is sent as
``Authorization: Bearer ...`` to the catalog's own host (scheme, host and port) only,
and only over HTTPS or to a loopback host; requests that leave it (links to another
server, asset downloads) carry no token.  Downloads of the found ``.h5`` assets use the
HTTP layer ([`xseaice.io.http`][]), which drops headers on a redirect to another host;
``requests`` reads ``~/.netrc`` (``machine urs.earthdata.nasa.gov``) for the Earthdata
login redirect.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from xseaice.exceptions import CatalogError, EmptySearchError, InvalidArgumentError
from xseaice.io.urls import earthdata_headers, install_log_redaction, redact_url
from xseaice.stac.catalogs import ALTIMETRY_PRODUCTS, Catalog
from xseaice.stac.items import in_time, iso, parse_datetime, sensor_of

__all__ = [
    "ALTIMETRY_PRODUCTS",
    "CMR_NSIDC",
    "altimetry_assets",
    "find_granules",
    "search_altimetry",
]

logger = logging.getLogger(__name__)

#: NASA CMR-STAC provider catalog of NSIDC (ICESat-2, AMSR).
CMR_NSIDC = "https://cmr.earthdata.nasa.gov/stac/NSIDC_ECS"

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _netloc(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _bearer_modifier(catalog_url: str, token: str) -> Callable[[Any], Any]:
    """A ``requests.Request`` modifier: the token for the catalog's host only."""
    home = _netloc(catalog_url)

    def modify(request: Any) -> Any:
        if _netloc(request.url) == home:
            request.headers["Authorization"] = f"Bearer {token}"
        else:  # a link to another server: never forward the credential
            request.headers.pop("Authorization", None)
        return request

    return modify


def _token(token: str | None, catalog_url: str) -> str | None:
    value = token if token is not None else os.environ.get("EARTHDATA_TOKEN")
    if not value:
        return None
    scheme, host, _ = _netloc(catalog_url)
    if scheme != "https" and host not in _LOOPBACK:
        raise InvalidArgumentError(
            f"an Earthdata token would travel in clear text to {redact_url(catalog_url)}; "
            "use the catalog's https:// URL, or unset EARTHDATA_TOKEN / pass token=''"
        )
    return value


def _footprint(footprint: Any) -> Any:
    """A shapely geometry in EPSG:4326 from a bbox, GeoJSON, shapely or a scene."""
    import shapely.geometry

    if hasattr(footprint, "odc") and getattr(footprint.odc, "geobox", None) is not None:
        return footprint.odc.geobox.extent.to_crs("EPSG:4326").geom
    if hasattr(footprint, "geom_type"):
        return footprint
    if isinstance(footprint, dict) and "type" in footprint:
        return shapely.geometry.shape(footprint.get("geometry", footprint))
    if isinstance(footprint, Sequence) and len(footprint) == 4:
        w, s, e, n = (float(v) for v in footprint)
        if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s < n <= 90):
            raise InvalidArgumentError(
                f"footprint bbox {tuple(footprint)!r} is not (west, south, east, north) in "
                "degrees with south < north"
            )
        return shapely.geometry.box(w, s, e, n)
    raise InvalidArgumentError(
        f"footprint of type {type(footprint).__name__} is not understood; pass a (west, "
        "south, east, north) bbox in degrees, a GeoJSON geometry, a shapely geometry or a "
        "scene with a CRS (xseaice.open_scene)"
    )


def _crosses(item: Any, area: Any) -> bool:
    import shapely.geometry

    if item.geometry is None:
        return False
    return bool(shapely.geometry.shape(item.geometry).intersects(area))


def search_altimetry(
    footprint: Any,
    datetime: Any,
    *,
    product: str = "ATL10",
    catalog: str = CMR_NSIDC,
    collections: Sequence[str] | None = None,
    max_items: int = 100,
    timeout: float = 60.0,
    token: str | None = None,
) -> list[Any]:
    """Altimeter granules whose footprint crosses ``footprint`` within ``datetime``.

    Parameters
    ----------
    footprint : bbox, GeoJSON, shapely geometry or xarray.Dataset
        The scene: ``(west, south, east, north)`` in degrees, a geometry in EPSG:4326,
        or a dataset with a CRS (its grid's extent).
    datetime : str, datetime or (start, end)
        The time window (see `xseaice.stac.items.parse_datetime`), e.g. the SAR
        time +- a day: ``("2023-03-01T06:00", "2023-03-02T18:00")``.
    product : {"ATL10", "ATL07"}
        ICESat-2 product; its CMR-STAC collection ids are in `ALTIMETRY_PRODUCTS`.
    catalog : str
        STAC API root URL (default NASA CMR-STAC at NSIDC).
    collections : sequence of str, optional
        Collection ids overriding the product's (another version, another catalog).
    max_items : int
        Most granules returned.
    timeout : float
        Seconds per catalog request.
    token : str, optional
        Earthdata bearer token; default ``EARTHDATA_TOKEN`` from the environment.  Sent
        to the catalog's host only (HTTPS, or loopback for tests); ``""`` sends none.

    Returns
    -------
    list of pystac.Item
        Sorted by time; [`altimetry_assets`][xseaice.stac.altimetry.altimetry_assets]
        gives their HDF5 asset URLs for
        [`read_altimetry`][xseaice.io.altimetry.read_altimetry].

    Raises
    ------
    EmptySearchError
        If no granule crosses the footprint in the window.
    InvalidArgumentError
        For a bad footprint, product, ``max_items``, or a token over plain HTTP.
    CatalogError
        If the catalog cannot be reached or searched.

    Examples
    --------
    >>> items = search_altimetry(ds, ("2023-03-01", "2023-03-02"))  # doctest: +SKIP
    >>> pts = xseaice.read_altimetry(altimetry_assets(items))  # doctest: +SKIP
    """
    if collections is None and product not in ALTIMETRY_PRODUCTS:
        raise InvalidArgumentError(
            f"product={product!r}; expected one of {sorted(ALTIMETRY_PRODUCTS)} or pass "
            "collections=[...]"
        )
    if not isinstance(max_items, int) or max_items < 1:
        raise InvalidArgumentError(f"max_items={max_items!r}; expected a positive integer")
    area = _footprint(footprint)
    start, end = parse_datetime(datetime)
    ids = list(collections) if collections is not None else list(ALTIMETRY_PRODUCTS[product])
    client = _client(catalog, _token(token, catalog), timeout)
    out = _search(client, catalog, ids, area, (start, end), max_items)
    if not out:
        raise EmptySearchError(
            f"no {ids} granule in {redact_url(catalog)} crosses the footprint "
            f"{tuple(round(v, 3) for v in area.bounds)} in {iso(start)[:19]}/{iso(end)[:19]}; "
            "widen the time window (ICESat-2 revisits a point every 91 days, but crosses "
            "polar scenes daily)"
        )
    logger.info("found %d altimetry granule(s) in %s", len(out), redact_url(catalog))
    return out


def _search(
    client: Any, url: str, ids: Sequence[str], area: Any, window: tuple[Any, Any], max_items: int
) -> list[Any]:
    """Granules of ``ids`` whose footprint crosses ``area`` in ``window``, sorted by time."""
    start, end = window
    kwargs: dict[str, Any] = {"collections": list(ids), "intersects": area.__geo_interface__}
    if start is not None or end is not None:
        kwargs["datetime"] = f"{iso(start)}/{iso(end)}"
    out: list[Any] = []
    try:
        for item in client.search(max_items=max(5 * max_items, 100), limit=100, **kwargs).items():
            if _crosses(item, area) and in_time(item, start, end):
                out.append(item)
                if len(out) >= max_items:
                    break
    except Exception as exc:
        raise CatalogError(
            f"searching {redact_url(url)} for {list(ids)} failed ({type(exc).__name__}); check "
            "the catalog URL and the collection ids, or retry later"
        ) from None
    return sorted(out, key=_time_key)


def _time_key(item: Any) -> str:
    props = item.properties
    return str(props.get("datetime") or props.get("start_datetime") or item.id)


def find_granules(
    catalog: Catalog, area: Any, window: tuple[Any, Any], max_items: int
) -> list[Any]:
    """ICESat-2 granules of a catalog whose footprint crosses ``area`` in ``window``.

    The part of [`xseaice.search`][xseaice.stac.searching.search] that serves
    ``sensors=[..., "icesat2"]``.  A STAC API is searched like
    [`search_altimetry`][xseaice.stac.altimetry.search_altimetry] does, with the
    catalog's ``icesat2`` collections; a static catalog's items are walked.  The
    ``EARTHDATA_TOKEN`` is sent only when the catalog is an HTTPS Earthdata host
    ([`earthdata_headers`][xseaice.io.urls.earthdata_headers]): a catalog of another
    server, where ``xseaice.search`` also looks for Sentinel-1, never receives it.

    Parameters
    ----------
    catalog : Catalog
        The catalog chosen for ``"icesat2"``.
    area : shapely geometry
        The footprint in EPSG:4326.
    window : (datetime or None, datetime or None)
        The time window (UTC; None = open).
    max_items : int
        Most granules returned.

    Returns
    -------
    list of pystac.Item
        Sorted by time; empty when none crosses.

    Raises
    ------
    CatalogError
        If the catalog cannot be reached or searched.
    """
    ids = catalog.collections_for("icesat2")
    if catalog.kind == "static":
        from xseaice.stac.finding import static_items

        found = [
            it
            for it in static_items(catalog)
            if sensor_of(it, catalog) == "icesat2"
            and (not it.collection_id or it.collection_id in ids)  # the product asked for
            and _crosses(it, area)
            and in_time(it, *window)
        ]
        return sorted(found, key=_time_key)[:max_items]
    if not ids:
        return []
    token = None if earthdata_headers(catalog.url) else ""
    client = _client(catalog.url, _token(token, catalog.url), catalog.timeout)
    found = _search(client, catalog.url, ids, area, window, max_items)
    logger.info("found %d ICESat-2 granule(s) in %s", len(found), catalog.safe_url)
    return found


def _client(url: str, token: str | None, timeout: float) -> Any:
    import pystac_client

    install_log_redaction()
    modifier = _bearer_modifier(url, token) if token else None
    try:
        return pystac_client.Client.open(url, request_modifier=modifier, timeout=timeout)
    except Exception as exc:
        raise CatalogError(
            f"could not open the STAC API at {redact_url(url)} ({type(exc).__name__}); "
            "check the URL and the network (and EARTHDATA_TOKEN if the catalog needs it)"
        ) from None


def altimetry_assets(items: Sequence[Any], *, suffix: str = ".h5") -> list[str]:
    """The data asset URL of each granule (the first asset whose href ends in ``suffix``).

    Parameters
    ----------
    items : sequence of pystac.Item
        From [`search_altimetry`][xseaice.stac.altimetry.search_altimetry].
    suffix : str
        File ending of the data asset (ATL10: ``.h5``).

    Returns
    -------
    list of str
        One URL per item, in order.

    Raises
    ------
    CatalogError
        If an item has no such asset.
    """
    out = []
    for item in items:
        hrefs = [a.href for a in item.assets.values() if a.href.split("?")[0].endswith(suffix)]
        if not hrefs:
            raise CatalogError(
                f"granule {item.id!r} has no asset ending in {suffix!r} (assets: "
                f"{sorted(item.assets)}); pass suffix= for another file type"
            )
        out.append(hrefs[0])
    return out
