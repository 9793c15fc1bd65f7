"""The one HTTP floor: GET with retries, a deadline, and credentials kept on their host.

Every remote read of xseaice goes through here:

* [`get_bytes`][xseaice.io.http.get_bytes] / [`read_bytes`][xseaice.io.http.read_bytes]: whole
  files (annotation XML, AMSR-2 files) through a shared `urllib3.PoolManager` with a
  `urllib3.util.Retry`
  policy: dropped connections, timeouts and HTTP 408, 425, 429 and 5xx answers are
  retried with exponential backoff (``Retry-After`` honoured), other answers fail at once;
  an ``Authorization`` header is dropped when a redirect leaves the original host
  (urllib3's ``remove_headers_on_redirect``, the rule of ``requests``);
* [`gdal_options`][xseaice.io.http.gdal_options] and [`retry_call`][xseaice.io.http.retry_call]:
  windowed GeoTIFF reads through GDAL's ``/vsicurl/``, with GDAL's own HTTP retry and
  timeout options and a re-opened (and
  re-signed) file on a dropped connection.

A ``timeout`` (seconds) bounds every connect and every wait for bytes of every attempt,
so a server that accepts a connection and never answers ends in an
[`AssetReadError`][xseaice.exceptions.AssetReadError] naming the host and the timeout.  URLs in
messages and logs are redacted ([`xseaice.io.urls.redact_url`][]).
"""

from __future__ import annotations

import functools
import logging
import os
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from xseaice.exceptions import AssetReadError, InvalidArgumentError
from xseaice.io.urls import install_log_redaction, redact_text, redact_url

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_STATUS",
    "HTTPStatusError",
    "gdal_options",
    "get_bytes",
    "is_url",
    "read_bytes",
    "retry_call",
]

logger = logging.getLogger(__name__)

#: Seconds allowed for a connection, and for each wait for bytes, of one attempt.
DEFAULT_TIMEOUT = 60.0
#: HTTP answers worth another attempt.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

T = TypeVar("T")


class HTTPStatusError(AssetReadError):
    """An HTTP answer that is not worth retrying (e.g. 401, 403, 404)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def is_url(source: Any) -> bool:
    """Whether ``source`` is a URL (``scheme://...``) rather than a local path."""
    return isinstance(source, str) and "://" in source[:16]


@functools.lru_cache(maxsize=1)
def _pool(pid: int) -> Any:
    """One connection pool per process (``pid`` keeps forked workers apart)."""
    import urllib3

    return urllib3.PoolManager(num_pools=32, maxsize=16, headers={"User-Agent": "xseaice"})


def _check_timeout(timeout: float) -> None:
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgumentError(
            f"timeout={timeout!r}; expected a positive number of seconds, e.g. 60."
        )


def _why(exc: BaseException, timeout: float) -> str:
    """Short cause of a urllib3 failure; timeouts name the deadline."""
    from urllib3.exceptions import MaxRetryError, ResponseError, TimeoutError

    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
    if isinstance(reason, TimeoutError):
        return f"no answer within the timeout of {timeout:g} s"
    if isinstance(reason, ResponseError):
        text = str(reason)
        code = text.rsplit(" ", 3)[-3] if "error responses" in text else ""
        return f"HTTP {code}" if code.isdigit() else redact_text(text)
    return type(reason).__name__


def get_bytes(
    url: str,
    *,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """GET the body of an ``http(s)`` URL, retrying faults.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL (signed query strings allowed).
    retries : int
        Attempts after the first one for a dropped connection, a timeout or an HTTP 408,
        425, 429 or 5xx answer.
    backoff : float
        Seconds before the first retry, doubled after each attempt.
    timeout : float
        Seconds allowed to connect, and for each wait for bytes, per attempt.
    headers : mapping, optional
        Extra request headers (e.g. ``Authorization``; dropped on a redirect to another
        host).

    Returns
    -------
    bytes

    Raises
    ------
    HTTPStatusError
        For an answer not worth retrying (its ``status`` attribute holds the code).
    AssetReadError
        When the retries are spent; the message names the URL without its query string.
    """
    from urllib3.exceptions import HTTPError
    from urllib3.util import Retry, Timeout

    _check_timeout(timeout)
    install_log_redaction()
    retry = Retry(
        total=retries,
        redirect=10,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUS,
        allowed_methods=frozenset({"GET"}),
        raise_on_status=True,
    )
    safe = redact_url(url)
    try:
        resp = _pool(os.getpid()).request(
            "GET",
            url,
            headers=dict(headers or {}),
            retries=retry,
            timeout=Timeout(connect=timeout, read=timeout),
        )
    except HTTPError as exc:
        raise AssetReadError(
            f"could not read {safe} ({_why(exc, timeout)}) after {retries + 1} attempt(s); "
            "check that the URL is reachable and, for signed URLs, that the signature has "
            "not expired."
        ) from None
    if resp.status >= 400:
        raise HTTPStatusError(
            f"could not read {safe} (HTTP {resp.status}) after 1 attempt(s); check the URL "
            "and, for signed URLs, that the signature has not expired.",
            status=resp.status,
        )
    return bytes(resp.data)


def read_bytes(
    source: str | os.PathLike[str] | bytes | Any,
    *,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Read the whole content of a path, URL, bytes or binary file object.

    Parameters
    ----------
    source : str, os.PathLike, bytes or file-like
        ``http(s)://`` URLs go through [`get_bytes`][xseaice.io.http.get_bytes]; other URL schemes (``s3://``,
        ``gs://``...) through ``fsspec`` (whose filesystems retry on their own).
    retries, backoff, timeout
        See [`get_bytes`][xseaice.io.http.get_bytes].

    Returns
    -------
    bytes

    Raises
    ------
    AssetReadError
        If the source cannot be read; URLs are named without their query string.
    InvalidArgumentError
        If ``source`` is of an unknown type.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        data = source.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    if isinstance(source, (str, os.PathLike)) and not is_url(source):
        path = Path(source)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise AssetReadError(
                f"cannot read {str(path)!r}: {exc.strerror or exc}. Expected an existing file."
            ) from None
    if not isinstance(source, str):
        raise InvalidArgumentError(
            f"source of type {type(source).__name__} is not understood; expected a path, "
            "a URL, bytes or a binary file object."
        )
    if urllib.parse.urlsplit(source).scheme.lower() in ("http", "https"):
        return get_bytes(source, retries=retries, backoff=backoff, timeout=timeout)
    import fsspec

    try:
        with fsspec.open(source, "rb") as fh:
            return bytes(fh.read())
    except (OSError, ValueError, ImportError) as exc:
        raise AssetReadError(
            f"could not read {redact_url(source)} ({type(exc).__name__}); check the URL "
            "and the credentials of its filesystem."
        ) from None


def gdal_options(*, timeout: float = DEFAULT_TIMEOUT, retries: int = 2) -> dict[str, str]:
    """GDAL configuration for ``/vsicurl/`` reads: its own HTTP retries and deadline.

    Parameters
    ----------
    timeout : float
        ``GDAL_HTTP_TIMEOUT`` and ``GDAL_HTTP_CONNECTTIMEOUT`` (seconds).
    retries : int
        ``GDAL_HTTP_MAX_RETRY`` (HTTP 429, 5xx answers), ``GDAL_HTTP_RETRY_DELAY`` 0.2 s.

    Returns
    -------
    dict
        Options for `rasterio.Env`.
    """
    _check_timeout(timeout)
    seconds = str(max(round(timeout), 1))
    return {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MAX_RETRY": str(retries),
        "GDAL_HTTP_RETRY_DELAY": "0.2",
        "GDAL_HTTP_TIMEOUT": seconds,
        "GDAL_HTTP_CONNECTTIMEOUT": seconds,
    }


def retry_call(
    func: Callable[[int], T],
    *,
    retries: int,
    backoff: float = 0.5,
    retry_on: tuple[type[BaseException], ...] = (OSError,),
    fatal: Callable[[BaseException], bool] = lambda exc: False,
    what: str = "",
) -> T:
    """Call ``func(attempt)`` until it returns, retrying ``retry_on`` faults with backoff.

    For readers that are not plain GETs (GDAL opening a remote GeoTIFF): ``func`` gets
    the attempt number so it can re-sign a URL or bypass a cache.  A fault for which
    ``fatal(exc)`` is true (e.g. HTTP 404) is not retried.  The last fault is re-raised.

    Parameters
    ----------
    func : callable
        ``attempt -> result``.
    retries : int
        Attempts after the first one.
    backoff : float
        Seconds before the first retry, doubled after each attempt.
    retry_on : tuple of exception types
    fatal : callable
        ``exception -> bool``: give up at once.
    what : str
        Named in log lines (redacted).

    Returns
    -------
    The result of ``func``.
    """
    for attempt in range(retries + 1):
        try:
            return func(attempt)
        except retry_on as exc:
            if attempt >= retries or fatal(exc):
                raise
            delay = backoff * 2**attempt
            logger.info("retrying %s in %.1fs", redact_url(what), delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
