"""The HTTP floor (xseaice.io.http): retries, deadlines, credentials kept on their host."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import serve_handler

from xseaice.exceptions import AssetReadError, InvalidArgumentError
from xseaice.io.http import HTTPStatusError, gdal_options, get_bytes, read_bytes, retry_call


class _Redirects(http.server.BaseHTTPRequestHandler):
    """``/same`` redirects on the same host, ``/cross`` to ``localhost`` (another host)."""

    seen: list[tuple[str, str | None]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        _Redirects.seen.append((self.path, self.headers.get("Authorization")))
        port = self.server.server_address[1]
        path = self.path.split("?")[0]
        target = {
            "/same": f"http://127.0.0.1:{port}/target",
            "/cross": f"http://localhost:{port}/target",
        }.get(path)
        if target is not None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/missing" or path.endswith(".json"):
            self.send_error(404)
            return
        body = b"payload"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def redirects() -> Iterator[str]:
    with serve_handler(_Redirects) as url:
        yield url


@pytest.fixture
def stalling() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            held.append(conn)  # keep it open, say nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        sock.close()


def _auth_of(path: str) -> list[str | None]:
    return [auth for p, auth in _Redirects.seen if p == path]


def test_token_dropped_when_a_redirect_leaves_the_host(redirects: str) -> None:
    _Redirects.seen.clear()
    token = {"Authorization": "Bearer SECRET"}
    assert get_bytes(f"{redirects}/cross", headers=token) == b"payload"
    assert _auth_of("/cross") == ["Bearer SECRET"]
    assert _auth_of("/target") == [None]  # localhost is another host than 127.0.0.1
    _Redirects.seen.clear()
    assert get_bytes(f"{redirects}/same", headers=token) == b"payload"
    assert _auth_of("/target") == ["Bearer SECRET"]  # same host: kept


def test_client_errors_fail_at_once(redirects: str) -> None:
    _Redirects.seen.clear()
    with pytest.raises(HTTPStatusError, match="HTTP 404") as info:
        get_bytes(f"{redirects}/missing?sig=SECRET", retries=3, backoff=0.01)
    assert info.value.status == 404 and "SECRET" not in str(info.value)
    assert _auth_of("/missing?sig=SECRET") == [None]  # one request, no retry


def test_a_stalling_server_ends_at_the_timeout(stalling: str) -> None:
    start = time.monotonic()
    with pytest.raises(AssetReadError, match=r"timeout of 0\.3 s") as info:
        read_bytes(f"{stalling}/a.xml?sig=SECRET", timeout=0.3, retries=1, backoff=0.01)
    elapsed = time.monotonic() - start
    assert "127.0.0.1" in str(info.value) and "SECRET" not in str(info.value)
    assert "after 2 attempt" in str(info.value)
    assert elapsed < 10  # two attempts of 0.3 s, not the 14 minutes of issue 17


def test_gdal_read_of_a_stalling_server_ends(stalling: str) -> None:
    import rasterio
    from rasterio.errors import RasterioIOError

    start = time.monotonic()
    with (
        pytest.raises(RasterioIOError),
        rasterio.Env(**gdal_options(timeout=1, retries=0)),
        rasterio.open(f"/vsicurl/{stalling}/m.tiff"),
    ):
        pass
    assert time.monotonic() - start < 30


def test_retry_call_retries_then_gives_up() -> None:
    calls: list[int] = []

    def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 2:
            raise ConnectionResetError("dropped")
        return "done"

    assert retry_call(flaky, retries=2, backoff=0.0) == "done" and calls == [0, 1, 2]
    calls.clear()
    with pytest.raises(ConnectionResetError):
        retry_call(flaky, retries=1, backoff=0.0)
    assert calls == [0, 1]
    calls.clear()
    with pytest.raises(ConnectionResetError):
        retry_call(flaky, retries=5, backoff=0.0, fatal=lambda exc: True)
    assert calls == [0]


@pytest.mark.parametrize("timeout", [0, -1.0, "60", float("nan")])
def test_bad_timeout(timeout: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="timeout"):
        get_bytes("http://127.0.0.1:1/x", timeout=timeout)


def test_search_of_a_stalling_catalog_ends_at_the_timeout(stalling: str) -> None:
    import xseaice
    from xseaice.exceptions import CatalogError

    start = time.monotonic()
    with pytest.raises(CatalogError, match=r"timeout (of )?0\.5 s") as info:
        xseaice.search(
            (-20, 78, 0, 81), "2023-01-04", catalog=f"{stalling}/api?token=SECRET", timeout=0.5
        )
    assert "SECRET" not in str(info.value) and "127.0.0.1" in str(info.value)
    assert time.monotonic() - start < 4 * 0.5 + 3  # the whole search, retries included


def test_static_catalog_errors_and_logs_carry_no_token(
    redirects: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    import xseaice
    from xseaice.exceptions import CatalogError

    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(CatalogError, match="404") as info,
    ):
        xseaice.search(
            (-20, 78, 0, 81), "2023-01-04", catalog=f"{redirects}/404/catalog.json?token=SECRET"
        )
    assert "/404/catalog.json" in str(info.value) and "SECRET" not in str(info.value)
    assert "SECRET" not in caplog.text


def test_a_deadline_bounds_the_whole_call_not_each_wait(stalling: str) -> None:
    from xseaice.io.http import current_deadline, deadline

    start = time.monotonic()
    with (
        deadline(1.0) as limit,
        pytest.raises(AssetReadError, match=r"the call's timeout of 1 s ran out") as info,
    ):
        # alone: 6 attempts x 5 s waits + 15.5 s of backoff
        get_bytes(f"{stalling}/a.xml?sig=SECRET", timeout=5, retries=5)
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 1 + 2  # one shortened wait, no retry after the deadline
    assert "127.0.0.1" in str(info.value) and "SECRET" not in str(info.value)
    assert limit.remaining() < 0 and current_deadline() is None  # the block has ended
    with deadline(10) as outer, deadline(60) as inner:  # a nested block never extends
        assert inner is outer


def test_probe_tells_a_missing_file_from_a_dead_server(redirects: str, stalling: str) -> None:
    from xseaice.io.http import deadline, probe

    assert probe(f"{redirects}/missing?sig=SECRET") == 404
    assert probe(f"{redirects}/file") == 200  # this server ignores Range
    assert probe(f"{stalling}/file", timeout=0.3) == "no answer within the timeout of 0.3 s"
    dead = f"http://127.0.0.1:{_closed_port()}/file"
    assert probe(dead) == "NewConnectionError"
    with deadline(0.2):
        time.sleep(0.25)
        assert "timeout of 0.2 s ran out" in str(probe(f"{redirects}/file"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_retry_call_stops_when_the_next_attempt_would_pass_the_deadline() -> None:
    from xseaice.io.http import deadline

    calls: list[int] = []

    def dropped(attempt: int) -> str:
        calls.append(attempt)
        raise ConnectionResetError("dropped")

    with deadline(0.8), pytest.raises(ConnectionResetError):
        retry_call(dropped, retries=10, backoff=0.25)  # waits 0.25 + 0.5, then 1 > left
    assert calls == [0, 1, 2]
    with deadline(0.05), pytest.raises(AssetReadError, match="no attempt left"):
        time.sleep(0.06)
        retry_call(dropped, retries=3, what="http://h/x?sig=SECRET")
    assert calls == [0, 1, 2]


def test_bad_retries() -> None:
    with pytest.raises(InvalidArgumentError, match="retries"):
        get_bytes("http://127.0.0.1:1/x", retries=-1)
