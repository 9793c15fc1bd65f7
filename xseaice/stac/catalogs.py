"""The catalog registry: where Sentinel-1, AMSR-2 and ICESat-2 items are searched.

A catalog is one of

* a registered name ([`CATALOGS`][xseaice.stac.catalogs.CATALOGS]): ``"planetary-computer"`` (the
  default online catalog; asset URLs are signed with ``planetary_computer`` when they are read),
  ``"earth-search"`` (Element 84, Sentinel-1 GRD on requester-pays S3), ``"cmr"`` (NASA
  CMR-STAC at NSIDC: AMSR-E/AMSR2 unified L3 ``AU_SI12``/``AU_SI25`` and ICESat-2
  ``ATL10``; downloads need an Earthdata login, see [`xseaice.io.amsr2`][]) and
  ``"embedded"`` (the sample scene shipped in ``xseaice/data/sample/``, works offline);
* the URL of any STAC API (``https://.../stac/v1``);
* a static catalog: a local ``catalog.json``/``collection.json`` path, a directory that
  holds one, or an ``http(s)://`` URL ending in ``.json``.

[`get_catalog`][xseaice.stac.catalogs.get_catalog] turns any of them into a
`Catalog`.  Static catalogs have no search endpoint:
[`xseaice.stac.searching`][] walks their items and filters them in process. A STAC API is asked what
it conforms to ([`Catalog.conformance`][xseaice.stac.catalogs.Catalog.conformance]) and the filters
it does not support are applied on the client.

Signed URLs never appear in messages, logs, attributes or reprs:
[`redact_url`][xseaice.io.urls.redact_url] strips query strings (where SAS tokens and pre-signed S3
signatures live).
"""

from __future__ import annotations

import functools
import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from xseaice.exceptions import CatalogError, InvalidArgumentError
from xseaice.io.http import DEFAULT_TIMEOUT, RETRY_STATUS, current_deadline, get_bytes
from xseaice.io.urls import install_log_redaction, redact_text, redact_url

__all__ = [
    "ALTIMETRY_PRODUCTS",
    "CATALOGS",
    "EMBEDDED_CATALOG",
    "SENSORS",
    "Catalog",
    "embedded_sample",
    "get_catalog",
    "register_catalog",
]

logger = logging.getLogger(__name__)

#: Sensors that can be searched, and how their items are recognised.
SENSORS: tuple[str, ...] = ("sentinel-1", "amsr2", "icesat2")

#: ICESat-2 product -> collection ids tried (CMR-STAC names collections
#: ``<short name>_<version>``; older deployments ``<short name>.v<version>``).
ALTIMETRY_PRODUCTS: dict[str, tuple[str, ...]] = {
    "ATL10": ("ATL10_006", "ATL10.v006"),
    "ATL07": ("ATL07_006", "ATL07.v006"),
}

#: Path of the embedded sample catalog (built by ``scripts/make_sample_scene.py``).
EMBEDDED_CATALOG: Path = Path(__file__).parents[1] / "data" / "sample" / "catalog.json"

#: Collection ids that hold each sensor's items, tried in order on any catalog.
DEFAULT_COLLECTIONS: dict[str, tuple[str, ...]] = {
    "sentinel-1": ("sentinel-1-grd",),
    "amsr2": ("amsr2-l3", "AU_SI12_1", "AU_SI12.v1", "AU_SI25_1", "AU_SI25.v1"),
    "icesat2": ALTIMETRY_PRODUCTS["ATL10"],
}


def _sign_planetary_computer(href: str) -> str:
    try:
        import planetary_computer
    except ImportError:  # pragma: no cover - a dependency
        raise CatalogError(
            "catalog='planetary-computer' signs asset URLs with the planetary-computer "
            "package; install it with `pip install planetary-computer`."
        ) from None
    return str(planetary_computer.sign(href))


@dataclass(frozen=True)
class Catalog:
    """A STAC API or static catalog, with the collections of each sensor.

    Attributes
    ----------
    name : str
        Registered name, or the (redacted) URL / path.
    url : str
        STAC API root URL, or the static catalog's ``catalog.json`` path or URL.
    kind : {"api", "static"}
        How it is searched.
    collections : dict
        Sensor (``"sentinel-1"``, ``"amsr2"``, ``"icesat2"``) -> collection ids holding
        its items.  An
        empty tuple means the catalog has none of that sensor.
    sign : callable, optional
        ``href -> href`` applied to asset URLs just before they are read (never stored).
    fallback : dict
        Sensor -> name of the catalog searched for that sensor when this one has none
        (e.g. AMSR-2 from ``"cmr"`` when searching ``"planetary-computer"``).
    description : str
        One line shown by [`xseaice.stac.catalogs`][] listings and errors.
    timeout : float
        Seconds allowed for a whole [`xseaice.search`][xseaice.stac.searching.search] of
        the catalog (search pages, collections, static ``catalog.json`` files), and at
        most for each of its connections and waits for bytes.
    """

    name: str
    url: str
    kind: Literal["api", "static"] = "api"
    collections: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_COLLECTIONS)
    )
    sign: Callable[[str], str] | None = None
    fallback: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:
        return f"Catalog(name={self.name!r}, kind={self.kind!r}, url={redact_url(self.url)!r})"

    @property
    def safe_url(self) -> str:
        """The URL without query strings (safe to log and store)."""
        return redact_url(self.url)

    def collections_for(self, sensor: str) -> tuple[str, ...]:
        """Collection ids that hold ``sensor`` items (empty when the catalog has none)."""
        return tuple(self.collections.get(sensor, ()))

    def sign_href(self, href: str) -> str:
        """Sign an asset href for reading (identity when the catalog needs no signing)."""
        if self.sign is None or "://" not in href[:16]:
            return href
        return self.sign(href)

    # -- STAC API ---------------------------------------------------------------------

    def client(self) -> Any:
        """An open `pystac_client.Client` for a STAC API catalog.

        Raises
        ------
        CatalogError
            If the catalog is static or the API cannot be reached.
        """
        if self.kind != "api":
            raise CatalogError(f"{self.name!r} is a static catalog; it has no search endpoint.")
        return _open_client(self.url, self.timeout)

    def conformance(self) -> frozenset[str]:
        """Extensions the API supports for item search, from its ``conformsTo`` list.

        Returns
        -------
        frozenset of str
            Among ``{"item-search", "query", "filter", "sort", "fields"}``.
        """
        if self.kind != "api":
            return frozenset()
        return _conformance(self.url, self.timeout)


@functools.lru_cache(maxsize=32)
def _open_client(url: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    import pystac_client

    install_log_redaction()
    try:
        return pystac_client.Client.open(url, stac_io=_deadline_io(timeout))
    except Exception as exc:
        limit = current_deadline()
        if limit is not None and limit.remaining() <= 0:
            raise CatalogError(
                limit.message(f"could not open the STAC API at {redact_url(url)}")
            ) from None
        raise CatalogError(
            f"could not open the STAC API at {redact_url(url)} ({type(exc).__name__}: "
            f"{_short(exc)}; timeout {timeout:g} s); check the URL and the network, or pass "
            "catalog='embedded' "
            "to work offline with the bundled sample."
        ) from None


def _deadline_io(timeout: float) -> Any:
    """A `pystac_client` I/O whose requests honour the caller's deadline.

    Each request waits at most ``min(timeout, time left)`` (the ``timeout`` property is
    read per request, in the calling thread); no request, and no retry of a dropped
    connection or HTTP 429/5xx, starts once the deadline has passed.
    """
    from pystac_client.stac_api_io import StacApiIO
    from urllib3.exceptions import MaxRetryError
    from urllib3.util import Retry

    class _Retry(Retry):
        def increment(self, *args: Any, **kwargs: Any) -> Any:
            new = super().increment(*args, **kwargs)
            limit = current_deadline()
            if limit is not None and limit.remaining() <= new.get_backoff_time():
                url = kwargs.get("url") or (args[1] if len(args) > 1 else None)
                pool: Any = kwargs.get("_pool")
                raise MaxRetryError(pool, url, kwargs.get("error"))
            return new

    seconds = float(timeout)

    class _DeadlineIO(StacApiIO):
        base_timeout = seconds  # ("timeout" names the property in this class body)

        @property
        def timeout(self) -> float:
            limit = current_deadline()
            if limit is None:
                return self.base_timeout
            return max(limit.wait(self.base_timeout), 0.001)

        @timeout.setter
        def timeout(self, value: Any) -> None:
            if value is not None:
                self.base_timeout = float(value)

        def request(self, href: str, *args: Any, **kwargs: Any) -> str:
            limit = current_deadline()
            if limit is not None and limit.remaining() <= 0:
                raise CatalogError(limit.message(f"requesting {redact_url(href)}"))
            return str(super().request(href, *args, **kwargs))

    retry = _Retry(total=3, backoff_factor=0.5, status_forcelist=sorted(RETRY_STATUS),
                   allowed_methods=None, raise_on_status=False)  # fmt: skip
    return _DeadlineIO(timeout=timeout, max_retries=retry)


def read_static(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Read a static STAC file (``catalog.json``...), its HTTP requests bounded by ``timeout``.

    Parameters
    ----------
    url : str
        Path or URL of a catalog, collection or item.
    timeout : float
        Seconds per HTTP request ([`xseaice.io.http.get_bytes`][], with retries).

    Returns
    -------
    pystac.STACObject
        Children of a catalog are read the same way when walked.
    """
    import pystac
    from pystac.stac_io import DefaultStacIO

    class _StacIO(DefaultStacIO):
        def read_text_from_href(self, href: str) -> str:
            if href.startswith(("http://", "https://")):
                return get_bytes(href, timeout=timeout).decode("utf-8")
            return str(super().read_text_from_href(href))

    install_log_redaction()
    stac_io = _StacIO()
    root = pystac.read_file(url, stac_io=stac_io)
    if isinstance(root, pystac.Catalog):
        root._stac_io = stac_io  # what pystac.Catalog.from_file does; children use it
    return root


def _short(exc: BaseException, limit: int = 200) -> str:
    text = redact_text(" ".join(str(exc).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CONFORMANCE_SUFFIXES = {
    "item-search": "/item-search",
    "query": "/item-search#query",
    "filter": "/item-search#filter",
    "sort": "/item-search#sort",
    "fields": "/item-search#fields",
}


@functools.lru_cache(maxsize=32)
def _conformance(url: str, timeout: float = DEFAULT_TIMEOUT) -> frozenset[str]:
    client = _open_client(url, timeout)
    classes = [str(c) for c in (client.get_conforms_to() or [])]
    found = set()
    for key, suffix in _CONFORMANCE_SUFFIXES.items():
        if any(c.endswith(suffix) for c in classes):
            found.add(key)
    logger.debug("%s conforms to %s", redact_url(url), sorted(found))
    return frozenset(found)


#: Registered catalogs by name.
CATALOGS: dict[str, Catalog] = {
    "planetary-computer": Catalog(
        name="planetary-computer",
        url="https://planetarycomputer.microsoft.com/api/stac/v1",
        collections={"sentinel-1": ("sentinel-1-grd",), "amsr2": (), "icesat2": ()},
        sign=_sign_planetary_computer,
        fallback={"amsr2": "cmr", "icesat2": "cmr"},
        description="Microsoft Planetary Computer: Sentinel-1 GRD COGs (signed on read)",
    ),
    "earth-search": Catalog(
        name="earth-search",
        url="https://earth-search.aws.element84.com/v1",
        collections={"sentinel-1": ("sentinel-1-grd",), "amsr2": (), "icesat2": ()},
        fallback={"amsr2": "cmr", "icesat2": "cmr"},
        description="Element 84 Earth Search: Sentinel-1 GRD (requester-pays S3)",
    ),
    "cmr": Catalog(
        name="cmr",
        url="https://cmr.earthdata.nasa.gov/stac/NSIDC_ECS",
        collections={
            "sentinel-1": (),
            "amsr2": ("AU_SI12_1", "AU_SI12.v1", "AU_SI25_1", "AU_SI25.v1"),
            "icesat2": ALTIMETRY_PRODUCTS["ATL10"],
        },
        description="NASA CMR-STAC (NSIDC): AMSR-E/AMSR2 unified L3 AU_SI12, ICESat-2 ATL10 "
        "(Earthdata login)",
    ),
    "embedded": Catalog(
        name="embedded",
        url=str(EMBEDDED_CATALOG),
        kind="static",
        description="the bundled synthetic sample scene (offline)",
    ),
}


def embedded_sample() -> dict[str, Any]:
    """Facts about the embedded sample (``xseaice/data/sample/sample.json``).

    Returns
    -------
    dict
        ``bbox`` (degrees), ``datetime`` (day), ``seed``, ``shape``, ``resolution``,
        ``crs``, ``transform`` (the scene grid's affine, 6 numbers), and absolute paths
        ``catalog``, ``chart`` (the SIGRID-3 GeoPackage) and ``truth`` (the pixel truth
        of the synthetic scene: a uint8 ice / water GeoTIFF).  ``geobox`` rebuilds the
        scene grid: ``GeoBox(shape, Affine(*transform), crs)``.

    Raises
    ------
    CatalogError
        If the sample has not been built (``python scripts/make_sample_scene.py``).
    """
    import json

    meta_path = EMBEDDED_CATALOG.parent / "sample.json"
    if not meta_path.is_file():
        raise CatalogError(
            f"the embedded sample is missing ({meta_path}); run "
            "`python scripts/make_sample_scene.py` in a source checkout."
        )
    meta: dict[str, Any] = json.loads(meta_path.read_text())
    meta["catalog"] = str(EMBEDDED_CATALOG.parent / meta["catalog"])
    meta["chart"] = str(EMBEDDED_CATALOG.parent / meta["chart"])
    if meta.get("truth"):
        meta["truth"] = str(EMBEDDED_CATALOG.parent / meta["truth"])
    return meta


def register_catalog(
    name: str,
    url: str,
    *,
    kind: Literal["api", "static"] | None = None,
    collections: Mapping[str, Sequence[str]] | None = None,
    sign: Callable[[str], str] | None = None,
    fallback: Mapping[str, str] | None = None,
    description: str = "",
    overwrite: bool = False,
) -> Catalog:
    """Register a catalog under a short name usable as ``catalog=`` everywhere.

    Parameters
    ----------
    name : str
        The name.
    url : str
        STAC API root, or a static catalog path/URL.
    kind : {"api", "static"}, optional
        Guessed from ``url`` when not given (``.json`` files and directories are static).
    collections : mapping, optional
        Sensor -> collection ids; defaults to
        `DEFAULT_COLLECTIONS`.
    sign : callable, optional
        ``href -> signed href`` applied when assets are read.
    fallback : mapping, optional
        Sensor -> registered catalog to search when this one lacks the sensor.
    description : str
        Shown in listings.
    overwrite : bool
        Replace an existing registration.

    Returns
    -------
    Catalog

    Raises
    ------
    InvalidArgumentError
        If ``name`` is taken and ``overwrite`` is False, or ``collections`` names an
        unknown sensor.
    """
    if name in CATALOGS and not overwrite:
        raise InvalidArgumentError(
            f"catalog name {name!r} is already registered; pass overwrite=True to replace it."
        )
    cols = dict(DEFAULT_COLLECTIONS)
    for sensor, ids in (collections or {}).items():
        if sensor not in SENSORS:
            raise InvalidArgumentError(
                f"collections has sensor {sensor!r}; expected one of {SENSORS}."
            )
        cols[sensor] = (ids,) if isinstance(ids, str) else tuple(ids)
    cat = Catalog(
        name=name,
        url=url,
        kind=kind or _guess_kind(url),
        collections=cols,
        sign=sign,
        fallback=dict(fallback or {}),
        description=description,
    )
    CATALOGS[name] = cat
    return cat


def _guess_kind(url: str) -> Literal["api", "static"]:
    if "://" in url[:16]:
        path = urllib.parse.urlsplit(url).path
        return "static" if path.endswith(".json") else "api"
    return "static"


def _static_path(path: Path) -> Path:
    if path.is_dir():
        for name in ("catalog.json", "collection.json"):
            if (path / name).is_file():
                return path / name
        raise CatalogError(
            f"catalog={str(path)!r} is a directory without catalog.json or "
            "collection.json; expected a static STAC catalog."
        )
    if not path.is_file():
        raise CatalogError(
            f"catalog={str(path)!r} does not exist; expected a registered name "
            f"({', '.join(sorted(CATALOGS))}), a STAC API URL or a static catalog path."
        )
    return path


def get_catalog(catalog: str | os.PathLike[str] | Catalog) -> Catalog:
    """Resolve ``catalog=`` (a name, an API URL, a static catalog path or URL).

    Parameters
    ----------
    catalog : str, os.PathLike or Catalog
        See the module documentation.

    Returns
    -------
    Catalog

    Raises
    ------
    CatalogError
        If a name is unknown or a path does not exist.  The embedded sample's absence
        (a source checkout before ``scripts/make_sample_scene.py`` ran) is reported with
        that fix.
    """
    if isinstance(catalog, Catalog):
        return catalog
    if isinstance(catalog, os.PathLike):
        path = _static_path(Path(catalog))
        return Catalog(name=str(path), url=str(path), kind="static")
    if not isinstance(catalog, str):
        raise InvalidArgumentError(
            f"catalog of type {type(catalog).__name__} is not understood; expected a "
            f"registered name ({', '.join(sorted(CATALOGS))}), a STAC API URL or a path."
        )
    if catalog in CATALOGS:
        cat = CATALOGS[catalog]
        if cat.kind == "static" and "://" not in cat.url[:16] and not Path(cat.url).exists():
            fix = (
                "run `python scripts/make_sample_scene.py` in a source checkout"
                if catalog == "embedded"
                else "check the registered path"
            )
            raise CatalogError(f"catalog {catalog!r} has no file at {cat.url}; {fix}.")
        return cat
    if "://" in catalog[:16]:
        scheme = urllib.parse.urlsplit(catalog).scheme.lower()
        if scheme not in ("http", "https", "file"):
            raise CatalogError(
                f"catalog URL scheme {scheme!r} is not supported; expected http(s) for a "
                "STAC API or a static catalog."
            )
        if scheme == "file":
            path = _static_path(Path(urllib.parse.urlsplit(catalog).path))
            return Catalog(name=str(path), url=str(path), kind="static")
        return Catalog(name=redact_url(catalog), url=catalog, kind=_guess_kind(catalog))
    path = Path(catalog).expanduser()
    if path.exists() or catalog.endswith(".json") or os.sep in catalog:
        path = _static_path(path)
        return Catalog(name=str(path), url=str(path), kind="static")
    import difflib

    close = difflib.get_close_matches(catalog, list(CATALOGS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise CatalogError(
        f"catalog={catalog!r} is not a registered name, a URL or an existing path; "
        f"expected one of {sorted(CATALOGS)}, a STAC API URL or a static catalog path.{hint}"
    )


def with_collections(catalog: Catalog, **collections: Sequence[str]) -> Catalog:
    """A copy of ``catalog`` with other collection ids for some sensors.

    Parameters
    ----------
    catalog : Catalog
    **collections
        ``sentinel_1=("...",)``, ``amsr2=("...",)``, ``icesat2=("...",)``.

    Returns
    -------
    Catalog
    """
    cols = dict(catalog.collections)
    for key, ids in collections.items():
        sensor = key.replace("_", "-")
        if sensor not in SENSORS:
            raise InvalidArgumentError(f"unknown sensor {key!r}; expected one of {SENSORS}.")
        cols[sensor] = (ids,) if isinstance(ids, str) else tuple(ids)
    return replace(catalog, collections=cols)
