"""URL hygiene shared by every module that reads remote files.

Signed URLs (Planetary Computer SAS tokens, S3 pre-signed URLs) carry their secret in the
query string; [`redact_url`][xseaice.io.urls.redact_url] is the only form of a URL that may reach a
message, a log line, an attribute or a repr.
"""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from collections.abc import Sequence

__all__ = [
    "EARTHDATA_DOMAINS",
    "HTTP_LOGGERS",
    "earthdata_headers",
    "install_log_redaction",
    "redact_text",
    "redact_url",
]

EARTHDATA_DOMAINS = ("earthdata.nasa.gov", "earthdatacloud.nasa.gov", "nsidc.org")
"""Domains of NASA Earthdata downloads (AMSR-2 and ICESat-2 at NSIDC, on-premises or cloud)."""


def earthdata_headers(url: str) -> dict[str, str]:
    """``Authorization: Bearer`` from ``EARTHDATA_TOKEN`` for HTTPS Earthdata hosts, else ``{}``.

    The one rule of every reader that downloads from NASA: the token goes only to hosts in
    (or under) [`EARTHDATA_DOMAINS`][xseaice.io.urls.EARTHDATA_DOMAINS] over HTTPS;
    [`xseaice.io.http.get_bytes`][] drops it when a redirect leaves the host.
    """
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    token = os.environ.get("EARTHDATA_TOKEN")
    nasa = any(host == d or host.endswith("." + d) for d in EARTHDATA_DOMAINS)
    if token and nasa and parts.scheme == "https":
        return {"Authorization": f"Bearer {token}"}
    return {}


def redact_url(url: str) -> str:
    """Return ``url`` without its query string, fragment and user info.

    Parameters
    ----------
    url : str
        Any URL or local path.

    Returns
    -------
    str
        ``scheme://host[:port]/path`` followed by ``?<redacted>`` when a query was
        present; local paths are returned unchanged.
    """
    if "://" not in url[:16]:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    clean = urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    return clean + ("?<redacted>" if parts.query else "")


_QUERY = re.compile(r"\?[^\s'\"()<>]*")
_AUTH = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    """Remove query strings (``?...``) from every URL or path inside ``text``, and the
    credential of ``Bearer``/``Basic`` authorization values (HTTP libraries log headers).

    Parameters
    ----------
    text : str
        A message that may quote signed URLs (e.g. an exception from a HTTP library).

    Returns
    -------
    str
    """
    return _AUTH.sub(r"\1 <redacted>", _QUERY.sub("?<redacted>", text))


class _RedactFilter(logging.Filter):
    """Strip query strings from records of HTTP libraries (urllib3 logs request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact_text(str(record.msg))
        return True


_REDACTING: set[str] = set()


#: Third-party loggers known to log request URLs (logger filters do not inherit).
HTTP_LOGGERS: tuple[str, ...] = (
    "urllib3.connectionpool",
    "urllib3.util.retry",
    "pystac.stac_io",
    "pystac_client.stac_api_io",
    "rasterio._env",
    "rasterio._base",
    "rasterio._io",
    "rasterio.env",
    "rasterio._filepath",
)


def install_log_redaction(names: Sequence[str] = HTTP_LOGGERS) -> None:
    """Make the named third-party loggers drop query strings (signatures) from records."""
    for name in names:
        if name not in _REDACTING:
            logging.getLogger(name).addFilter(_RedactFilter())
            _REDACTING.add(name)
