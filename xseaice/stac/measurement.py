"""Windowed reads of Sentinel-1 GRD measurement GeoTIFFs through GDAL, retried safely.

GDAL's ``/vsicurl/`` reports a dropped connection on open with the same words as a
missing file ("does not exist in the file system"), and remembers it: a later open of the
same URL fails without a request.  [`read_window`][xseaice.stac.measurement.read_window]
therefore never trusts GDAL's text for URLs: after a failed attempt it asks the server
([`xseaice.io.http.probe`][], a ``GET`` of the first byte) and gives up at once only on
HTTP 404 or 410; anything else is retried, re-signed and bypassing GDAL's cache, within
the retries and the enclosing [`deadline`][xseaice.io.http.deadline].
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from xseaice.exceptions import AssetReadError
from xseaice.io.http import current_deadline, gdal_options, is_url, probe, retry_call
from xseaice.io.urls import install_log_redaction
from xseaice.stac.items import asset_error

if TYPE_CHECKING:
    from xseaice.stac.grd import S1Spec

__all__ = ["read_window"]


def _gdal_path(href: str) -> str:
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    if href.startswith("file://"):
        return href[7:]
    return href


def read_window(spec: S1Spec, pol: str, window: tuple[int, int, int, int]) -> np.ndarray:
    """DN of ``window`` = (row0, row1, col0, col1) of a measurement.

    A failed GDAL open or read is retried (re-signed, bypassing GDAL's cache, which also
    remembers a dropped connection as "does not exist"), within the spec's retries and
    the task's deadline.  Only a file the server says is gone (a ``GET`` probe of its
    first byte answering HTTP 404 or 410) is not retried: GDAL's messages do not tell a
    missing file from a dropped connection.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    from rasterio.windows import Window

    install_log_redaction()  # GDAL messages quote URLs; also in fresh worker processes
    href = spec.measurement[pol]
    r0, r1, c0, c1 = window
    log: dict[str, Any] = {"attempts": 0, "probe": None, "retries": spec.retries}

    def attempt(k: int) -> np.ndarray:
        limit = current_deadline()
        wait = spec.timeout if limit is None else max(limit.wait(spec.timeout), 0.001)
        path = _gdal_path(spec.signed(href))
        options = gdal_options(timeout=wait, retries=0)  # retried here, within the deadline
        if k:  # do not reuse what GDAL cached from the failed attempt
            options["CPL_VSIL_CURL_NON_CACHED"] = path
        log["attempts"] += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.Env(**options), rasterio.open(path) as src:
                return np.asarray(src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0)))

    def missing(exc: BaseException) -> bool:
        if not is_url(href):
            text = str(exc)
            log["gone"] = "No such file" in text or "does not exist" in text
        elif href.startswith(("http://", "https://")):
            log["probe"] = probe(spec.signed(href), timeout=spec.timeout)
            log["gone"] = log["probe"] in (404, 410)
        return bool(log.get("gone"))

    try:
        return retry_call(
            attempt,
            retries=spec.retries,
            retry_on=(RasterioIOError, OSError),
            fatal=missing,
            what=href,
        )
    except (RasterioIOError, OSError) as exc:
        why = " ".join(str(exc).split()) or "unknown error"
        raise asset_error(spec.item_id, pol.lower(), href, _tried(why, log)) from None
    except AssetReadError as exc:  # the deadline passed before the first attempt
        raise asset_error(spec.item_id, pol.lower(), href, str(exc)) from None


def _tried(why: str, log: Mapping[str, Any]) -> str:
    """The last GDAL error, what was tried, and whether the deadline cut it short."""
    found = log["probe"]
    probe_said = (
        "" if found is None else f"; a GET of its first byte gave "
        f"{f'HTTP {found}' if isinstance(found, int) else found}"
    )  # fmt: skip
    text = f"{why} ({log['attempts']} GDAL open+read attempt(s){probe_said})"
    limit = current_deadline()
    if limit is not None and not log.get("gone") and log["attempts"] <= log["retries"]:
        text = limit.message(f"{text}; no retry fits in the time left")
    return text
