"""The one HTTP floor: GET with retries, a deadline, and credentials kept on their host.

Every remote read of xseaice goes through here:

* [`get_bytes`][xseaice.io.http.get_bytes] / [`read_bytes`][xseaice.io.http.read_bytes]: whole
  files (annotation XML, AMSR-2 files) through a shared `urllib3.PoolManager`:
  dropped connections, timeouts and HTTP 408, 425, 429 and 5xx answers are
  retried with exponential backoff (``Retry-After`` honoured), other answers fail at once;
  an ``Authorization`` header is dropped when a redirect leaves the original host
  (urllib3's ``remove_headers_on_redirect``, the rule of ``requests``);
* [`gdal_options`][xseaice.io.http.gdal_options] and [`retry_call`][xseaice.io.http.retry_call]:
  windowed GeoTIFF reads through GDAL's ``/vsicurl/``, with GDAL's own HTTP retry and
  timeout options and a re-opened (and
  re-signed) file on a dropped connection.

A ``timeout`` (seconds) bounds every connect and every wait for bytes of every attempt,
so a server that accepts a connection and never answers ends in an
[`AssetReadError`][xseaice.exceptions.AssetReadError] naming the host and the timeout.  A
[`deadline`][xseaice.io.http.deadline] block bounds a whole call (``search``, a ``load``
task, ``read_amsr2``): inside it every wait gets at most the time left, no retry starts
after it has passed, and a read that runs out of it fails naming the call's timeout.  URLs
in messages and logs are redacted ([`xseaice.io.urls.redact_url`][]).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import math
import os
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from xseaice.exceptions import AssetReadError, InvalidArgumentError
from xseaice.io.urls import install_log_redaction, redact_text, redact_url

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_STATUS",
    "Deadline",
    "HTTPStatusError",
    "current_deadline",
    "deadline",
    "gdal_options",
    "get_bytes",
    "is_url",
    "probe",
    "read_bytes",
    "retry_call",
]

logger = logging.getLogger(__name__)

#: Seconds allowed for a whole call (``search``, a ``load`` task, ``read_amsr2``) and, at
#: most, for each of its connections and waits for bytes.
DEFAULT_TIMEOUT = 60.0
#: HTTP answers worth another attempt.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

T = TypeVar("T")


class HTTPStatusError(AssetReadError):
    """An HTTP answer that is not worth retrying (e.g. 401, 403, 404)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Deadline:
    """The end (``time.monotonic()``) of a call given ``timeout`` seconds."""

    end: float
    timeout: float

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.end - time.monotonic()

    def wait(self, timeout: float) -> float:
        """How long the next network wait may take: ``min(timeout, time left)``."""
        return min(timeout, self.remaining())

    def message(self, what: str) -> str:
        """Why ``what`` stopped: the call's timeout ran out."""
        return (
            f"{what}: the call's timeout of {self.timeout:g} s ran out; pass a larger "
            "timeout= if the server is slow but alive, or retry later."
        )


_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "xseaice_deadline", default=None
)


def current_deadline() -> Deadline | None:
    """The [`Deadline`][xseaice.io.http.Deadline] of the enclosing
    [`deadline`][xseaice.io.http.deadline] block of this thread, if any."""
    return _DEADLINE.get()


@contextlib.contextmanager
def deadline(timeout: float) -> Iterator[Deadline]:
    """Bound every HTTP read of the block (in this thread) by one deadline.

    Inside the block [`get_bytes`][xseaice.io.http.get_bytes] and
    [`retry_call`][xseaice.io.http.retry_call] give each wait at most the time left, start
    no retry once it has passed and then fail naming ``timeout``.  A nested block never
    extends the deadline of the one around it.

    Parameters
    ----------
    timeout : float
        Seconds the whole block may take.

    Yields
    ------
    Deadline
    """
    _check_timeout(timeout)
    new = Deadline(time.monotonic() + float(timeout), float(timeout))
    outer = _DEADLINE.get()
    if outer is not None and outer.end <= new.end:
        new = outer
    token = _DEADLINE.set(new)
    try:
        yield new
    finally:
        _DEADLINE.reset(token)


def is_url(source: Any) -> bool:
    """Whether ``source`` is a URL (``scheme://...``) rather than a local path."""
    return isinstance(source, str) and "://" in source[:16]


@functools.lru_cache(maxsize=1)
def _pool(pid: int) -> Any:
    """One connection pool per process (``pid`` keeps forked workers apart)."""
    import urllib3

    return urllib3.PoolManager(num_pools=32, maxsize=16, headers={"User-Agent": "xseaice"})


def _check_timeout(timeout: float) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgumentError(
            f"timeout={timeout!r}; expected a positive number of seconds, e.g. 60."
        )


def _why(exc: BaseException, timeout: float) -> str:
    """Short cause of a urllib3 failure; timeouts name the timeout."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ResponseError, TimeoutError

    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
    if isinstance(reason, TimeoutError) and not isinstance(reason, NewConnectionError):
        return f"no answer within the timeout of {timeout:g} s"
    if isinstance(reason, ResponseError):  # e.g. "too many redirects"
        return redact_text(str(reason))
    return type(reason).__name__


def _retry_after(resp: Any) -> float | None:
    """Seconds of a ``Retry-After`` header (number or HTTP date), if any."""
    from urllib3.util import Retry

    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(Retry().parse_retry_after(value)), 0.0)
    except Exception:  # an unparsable header: use the backoff
        return None


def _attempt(url: str, headers: Mapping[str, str], wait: float, *, preload: bool = True) -> Any:
    """One GET (redirects followed, nothing retried); raises urllib3's HTTPError."""
    from urllib3.util import Retry, Timeout

    once = Retry(total=None, connect=0, read=0, other=0, status=0, redirect=10,
                 raise_on_status=False, raise_on_redirect=True)  # fmt: skip
    return _pool(os.getpid()).request(
        "GET", url, headers=dict(headers), retries=once,
        timeout=Timeout(connect=wait, read=wait), preload_content=preload,
    )  # fmt: skip


def probe(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> int | str:
    """One ``GET`` of the first byte of ``url``: its HTTP status, or why it failed.

    Tells a missing file (404, 410) from a dropped connection or a stall when a reader
    such as GDAL reports both alike.  Not retried; the wait is bounded by ``timeout`` and
    the enclosing [`deadline`][xseaice.io.http.deadline].

    Parameters
    ----------
    url : str
        ``http(s)`` URL (signed query strings allowed).
    timeout : float
        Seconds allowed to connect and for the answer.

    Returns
    -------
    int or str
        The status code (206 or 200 when the file is there), or a short cause such as
        ``"ProtocolError"`` or ``"no answer within the timeout of 60 s"``.
    """
    from urllib3.exceptions import HTTPError

    _check_timeout(timeout)
    limit = current_deadline()
    if limit is not None and limit.remaining() <= 0:
        return f"not tried: the call's timeout of {limit.timeout:g} s ran out"
    wait = timeout if limit is None else limit.wait(timeout)
    try:
        resp = _attempt(url, {"Range": "bytes=0-0"}, wait, preload=False)
    except HTTPError as exc:
        return _why(exc, timeout if limit is None else limit.timeout)
    resp.close()  # the body is not needed (a server that ignores Range sends it all)
    return int(resp.status)


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
        Seconds before the first retry, doubled after each attempt (an answer's
        ``Retry-After`` replaces it).
    timeout : float
        Seconds allowed to connect, and for each wait for bytes, per attempt; inside a
        [`deadline`][xseaice.io.http.deadline] block at most the time left, and no attempt
        starts once it has passed.
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
        When the retries or the deadline are spent; the message names the URL without
        its query string, the cause and the timeout.
    """
    from urllib3.exceptions import HTTPError

    _check_timeout(timeout)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidArgumentError(f"retries={retries!r}; expected a non-negative integer.")
    install_log_redaction()
    safe = redact_url(url)
    limit = current_deadline()
    why, attempts, cut = "", 0, False
    for attempt in range(retries + 1):
        wait = timeout if limit is None else limit.wait(timeout)
        if wait <= 0:
            cut = True
            break
        attempts += 1
        pause = backoff * 2**attempt
        try:
            resp = _attempt(url, headers or {}, wait)
        except HTTPError as exc:
            why = _why(exc, timeout if limit is None else limit.timeout)
        else:
            if resp.status < 400:
                return bytes(resp.data)
            if resp.status not in RETRY_STATUS:
                raise HTTPStatusError(
                    f"could not read {safe} (HTTP {resp.status}) after {attempts} attempt(s); "
                    "check the URL and, for signed URLs, that the signature has not expired.",
                    status=resp.status,
                )
            why = f"HTTP {resp.status}"
            pause = _retry_after(resp) or pause
        if attempt == retries:
            break
        if limit is not None and limit.remaining() <= pause:
            cut = True
            break
        logger.info("retrying %s in %.1fs (%s)", safe, pause, why)
        time.sleep(pause)
    if limit is not None and (cut or limit.remaining() <= 0):
        tried = f"{why}, {attempts} attempt(s)" if attempts else "no attempt left"
        raise AssetReadError(limit.message(f"could not read {safe} ({tried})"))
    raise AssetReadError(
        f"could not read {safe} ({why}) after {attempts} attempt(s); "
        "check that the URL is reachable and, for signed URLs, that the signature has "
        "not expired."
    )


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
        ``GDAL_HTTP_TIMEOUT`` (each request) and ``GDAL_HTTP_CONNECTTIMEOUT`` (seconds,
        fractions kept to the millisecond).
    retries : int
        ``GDAL_HTTP_MAX_RETRY`` (HTTP 429, 5xx answers), ``GDAL_HTTP_RETRY_DELAY`` 0.2 s.

    Returns
    -------
    dict
        Options for `rasterio.Env`.
    """
    _check_timeout(timeout)
    seconds = f"{max(math.ceil(timeout * 1000) / 1000, 0.001):g}"
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
    ``fatal(exc)`` is true (e.g. HTTP 404) is not retried.  The last fault is re-raised,
    also when the enclosing [`deadline`][xseaice.io.http.deadline] would pass before the
    next attempt (check [`current_deadline`][xseaice.io.http.current_deadline] to say so).

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

    Raises
    ------
    AssetReadError
        When the enclosing deadline has passed before the first attempt.
    """
    limit = current_deadline()
    if limit is not None and limit.remaining() <= 0:
        raise AssetReadError(limit.message(f"could not read {redact_url(what)} (no attempt left)"))
    for attempt in range(retries + 1):
        try:
            return func(attempt)
        except retry_on as exc:
            delay = backoff * 2**attempt
            if attempt >= retries or fatal(exc):
                raise
            if limit is not None and limit.remaining() <= delay:
                raise
            logger.info("retrying %s in %.1fs", redact_url(what), delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
