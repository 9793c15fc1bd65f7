"""URL hygiene shared by every module that reads remote files.

Signed URLs (Planetary Computer SAS tokens, S3 pre-signed URLs) carry their secret in the
query string; :func:`redact_url` is the only form of a URL that may reach a message, a log
line, an attribute or a repr.
"""

from __future__ import annotations

import urllib.parse

__all__ = ["redact_url"]


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
