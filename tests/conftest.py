"""Shared fixtures: real servers on loopback.

* :func:`file_server` - a threaded HTTP file server with ``Range`` support (what GDAL's
  ``/vsicurl/`` and odc-stac read COGs through), logging every request;
* :func:`flaky_server` - the same server with faults switched on per path (404, 5xx,
  dropped connections for the first ``n`` requests);
* :func:`pgstac_db` - a fresh PostgreSQL cluster (``initdb`` in a temporary directory,
  as the ``postgres`` OS user when running as root) with PostGIS and pgstac migrated;
* :func:`stac_api` / :func:`stac_api_basic` - stac-fastapi-pgstac under uvicorn on free
  loopback ports, loaded with the synthetic world's collections and items; the ``basic``
  server has neither the ``query`` nor the ``filter`` extension, like many real APIs.

Everything is session scoped (the database and the API start once, in about 10 s) and torn
down at the end.  A missing PostgreSQL or PostGIS fails loudly with the install command.
"""

from __future__ import annotations

import contextlib
import glob
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"

# ---------------------------------------------------------------------------------------
# HTTP file server with Range requests and fault injection
# ---------------------------------------------------------------------------------------


@dataclass
class Fault:
    """A fault served for a path: an HTTP ``status`` or a dropped connection (``drop``),
    for the first ``times`` requests (``None`` = always)."""

    status: int | None = None
    drop: bool = False
    times: int | None = None
    served: int = 0


_CONTROL = "/__control__/"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with single ``Range`` requests, a request log and fault injection."""

    server: _FileServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _control(self) -> bool:
        parts = urllib.parse.urlsplit(self.path)
        if not parts.path.startswith(_CONTROL):
            return False
        q = dict(urllib.parse.parse_qsl(parts.query))
        cmd = parts.path[len(_CONTROL) :]
        srv = self.server
        with srv.lock:
            if cmd == "log":
                body: Any = srv.log
            elif cmd == "clear":
                srv.log.clear()
                srv.faults.clear()
                body = "ok"
            elif cmd == "clear-log":
                srv.log.clear()
                body = "ok"
            elif cmd == "fail":
                srv.faults[q["path"]] = Fault(
                    status=int(q["status"]) if q.get("status") else None,
                    drop=q.get("drop") == "1",
                    times=int(q["times"]) if q.get("times") else None,
                )
                body = "ok"
            elif cmd == "faults":
                body = {k: f.served for k, f in srv.faults.items()}
            else:
                self.send_error(400)
                return True
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True

    def _fault(self) -> bool:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with self.server.lock:
            self.server.log.append([self.command, path, self.headers.get("Range")])
            fault = self.server.faults.get(path)
            if fault is None or (fault.times is not None and fault.served >= fault.times):
                return False
            fault.served += 1
        if fault.drop:
            # close without answering: the client sees a dropped connection
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        self.send_error(fault.status or 500)
        return True

    def do_HEAD(self) -> None:
        if self._control() or self._fault():
            return
        super().do_HEAD()

    def do_GET(self) -> None:
        if self._control() or self._fault():
            return
        rng = self.headers.get("Range")
        if not rng:
            super().do_GET()
            return
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        try:
            unit, spec = rng.split("=", 1)
            first, last = spec.split(",")[0].strip().split("-")
            if unit.strip() != "bytes":
                raise ValueError(unit)
            if first == "":
                start, end = max(size - int(last), 0), size - 1
            else:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
        except ValueError:
            self.send_error(400, "bad Range header")
            return
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return
        with path.open("rb") as fh:
            fh.seek(start)
            body = fh.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()


class _FileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    log: list[list[Any]]
    faults: dict[str, Fault]
    lock: threading.Lock


def _serve_forever(root: str) -> None:
    """Entry point of the server process: print the port, serve until killed."""
    handler = lambda *a, **k: _Handler(*a, directory=root, **k)  # noqa: E731
    server = _FileServer(("127.0.0.1", 0), handler)
    server.log, server.faults, server.lock = [], {}, threading.Lock()
    print(server.server_address[1], flush=True)
    server.serve_forever()


class RequestLog:
    """The server's request log: ``(method, path, range header)`` entries."""

    def __init__(self, control: Callable[..., Any]) -> None:
        self._control = control

    @property
    def entries(self) -> list[tuple[str, str, str | None]]:
        return [tuple(e) for e in self._control("log")]  # type: ignore[misc]

    def clear(self) -> None:
        self._control("clear-log")

    def paths(self, suffix: str = "") -> list[str]:
        return [p for _, p, _ in self.entries if p.endswith(suffix)]

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class FileServer:
    """A loopback file server (its own process, so that GDAL reads in the test process
    never wait on the GIL of the server) rooted at ``root``."""

    root: Path
    url: str
    process: subprocess.Popen[str]

    def _control(self, cmd: str, **params: Any) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        with urllib.request.urlopen(f"{self.url}{_CONTROL}{cmd}?{query}", timeout=10) as r:
            return json.loads(r.read())

    @property
    def log(self) -> RequestLog:
        return RequestLog(self._control)

    def href(self, path: str | Path) -> str:
        """URL of a file under ``root``."""
        rel = Path(path).resolve().relative_to(self.root.resolve())
        return f"{self.url}/{urllib.parse.quote(rel.as_posix())}"

    def _path(self, path_or_url: str | Path) -> str:
        text = str(path_or_url)
        if "://" not in text:
            text = self.href(path_or_url)
        return urllib.parse.unquote(urllib.parse.urlsplit(text).path)

    def fail(
        self, path_or_url: str | Path, *, status: int | None = None, drop: bool = False,
        times: int | None = None,
    ) -> None:  # fmt: skip
        """Serve a fault for a file (a path under root or its URL)."""
        self._control(
            "fail", path=self._path(path_or_url), status=status, drop="1" if drop else None,
            times=times,
        )  # fmt: skip

    def served(self, path_or_url: str | Path) -> int:
        """How many times the fault of a file was served."""
        return int(self._control("faults").get(self._path(path_or_url), 0))

    def clear(self) -> None:
        """Forget faults and the request log."""
        self._control("clear")


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[FileServer]:
    """Serve ``root`` on a free loopback port (a child process) for the block."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "serve", str(root)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip())
        yield FileServer(root=root, url=f"http://127.0.0.1:{port}", process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def serve_handler(handler: Any) -> Iterator[str]:
    """Serve a ``BaseHTTPRequestHandler`` class (or factory) on a free loopback port in a
    thread for the block; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def served_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory both file servers serve (synthetic scenes are written here)."""
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="session")
def file_server(served_root: Path) -> Iterator[FileServer]:
    """A loopback HTTP server with Range support over :func:`served_root`."""
    with serve_directory(served_root) as fs:
        yield fs


@pytest.fixture
def flaky_server(served_root: Path) -> Iterator[FileServer]:
    """A second server over the same files; switch faults on with ``.fail(path, ...)``."""
    with serve_directory(served_root) as fs:
        yield fs


# ---------------------------------------------------------------------------------------
# PostgreSQL + PostGIS + pgstac
# ---------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found; the STAC API tests run "
        "a real pgstac database. Install them: `apt-get install postgresql postgis`.",
        pytrace=False,
    )


def _check_postgis(bindir: Path) -> None:
    pg_config = bindir / "pg_config"
    sharedirs: list[str] = []
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        sharedirs.append(out.stdout.strip())
    version = bindir.parent.name
    sharedirs += [f"/usr/share/postgresql/{version}", "/usr/share/postgresql"]
    if not any(Path(d, "extension", "postgis.control").exists() for d in sharedirs if d):
        pytest.fail(
            f"PostGIS is not installed for PostgreSQL {version} (no postgis.control in "
            f"{sharedirs}); pgstac needs it. Install it: `apt-get install postgis` "
            "(Debian/Ubuntu: postgresql-<version>-postgis-3).",
            pytrace=False,
        )


@dataclass
class PgCluster:
    """A running throw-away PostgreSQL cluster."""

    datadir: Path
    port: int
    bindir: Path
    as_postgres: bool

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def env(self) -> dict[str, str]:
        return {
            "PGUSER": "postgres",
            "PGPASSWORD": "unused",  # trust authentication on loopback
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGDATABASE": "postgres",
        }


def _as_db_user(cmd: list[str], as_postgres: bool) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if as_postgres else cmd


@pytest.fixture(scope="session")
def pgstac_db() -> Iterator[PgCluster]:
    """A fresh PostgreSQL cluster with PostGIS and the pgstac schema (``pypgstac migrate``)."""
    bindir = _pg_bindir()
    _check_postgis(bindir)
    as_postgres = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="xseaice-pg-"))
    if as_postgres:
        shutil.chown(workdir, user="postgres")
    datadir = workdir / "data"
    run_env = {**os.environ, "LC_ALL": "C"}
    init = subprocess.run(
        _as_db_user(
            [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"],
            as_postgres,
        ),
        capture_output=True, text=True, env=run_env,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stderr[-2000:]}", pytrace=False)
    port = free_port()
    opts = (
        f"-p {port} -h 127.0.0.1 -k {workdir} -c fsync=off -c full_page_writes=off "
        "-c synchronous_commit=off"
    )
    start = subprocess.run(
        _as_db_user(
            [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(workdir / "pg.log"), "-w",
             "-t", "60", "-o", opts, "start"],
            as_postgres,
        ),
        capture_output=True, text=True, env=run_env,
    )  # fmt: skip
    cluster = PgCluster(datadir, port, bindir, as_postgres)

    def stop() -> None:
        subprocess.run(
            _as_db_user(
                [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"],
                as_postgres,
            ),
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)

    if start.returncode != 0:
        log = (workdir / "pg.log").read_text() if (workdir / "pg.log").exists() else ""
        stop()
        pytest.fail(f"pg_ctl start failed:\n{start.stderr[-1000:]}\n{log[-2000:]}", pytrace=False)
    try:
        mig = subprocess.run(
            [sys.executable, "-m", "pypgstac.pypgstac", "migrate", "--dsn", cluster.dsn],
            capture_output=True, text=True,
        )  # fmt: skip
        if mig.returncode != 0:
            pytest.fail(
                "pypgstac migrate failed (is PostGIS installed for this PostgreSQL?):\n"
                f"{mig.stderr[-2000:]}",
                pytrace=False,
            )
        yield cluster
    finally:
        stop()


def pgstac_load(cluster: PgCluster, collections: list[dict], items: list[dict]) -> None:
    """Upsert collections and items (dicts) into pgstac with ``pypgstac load``."""
    with tempfile.TemporaryDirectory() as tmp:
        for kind, objs in (("collections", collections), ("items", items)):
            if not objs:
                continue
            path = Path(tmp) / f"{kind}.ndjson"
            path.write_text("".join(json.dumps(o) + "\n" for o in objs))
            res = subprocess.run(
                [sys.executable, "-m", "pypgstac.pypgstac", "load", kind, str(path),
                 "--dsn", cluster.dsn, "--method", "upsert"],
                capture_output=True, text=True,
            )  # fmt: skip
            if res.returncode != 0:
                raise RuntimeError(f"pypgstac load {kind} failed:\n{res.stderr[-2000:]}")


@dataclass
class StacApi:
    """A running stac-fastapi-pgstac server."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _start_stac_api(
    cluster: PgCluster, workdir: Path, *, extensions: str | None = None, name: str = "api"
) -> StacApi:
    port = free_port()
    env = {**os.environ, **cluster.env()}
    if extensions is not None:
        env["ENABLED_EXTENSIONS"] = extensions
    log = workdir / f"{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "stac_fastapi.pgstac.app:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(workdir),
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"stac-fastapi-pgstac exited with {proc.returncode}:\n{log.read_text()[-3000:]}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as resp:
                if resp.status == 200:
                    return StacApi(url=url, process=proc, log=log)
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    pytest.fail(f"stac-fastapi-pgstac did not answer on {url} within 90 s", pytrace=False)


def _stop(api: StacApi) -> None:
    api.process.terminate()
    try:
        api.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        api.process.kill()
        api.process.wait()


# ---------------------------------------------------------------------------------------
# the synthetic world: scenes written in real formats, served over HTTP, in pgstac
# ---------------------------------------------------------------------------------------


@dataclass
class World:
    """Synthetic scenes written as SAFE / HE5 / static STAC under the served root."""

    scenes: list[Any]
    root: Path
    catalog: Path  # local static catalog (relative hrefs)
    http_catalog: Path  # static catalog whose asset hrefs point at the file server
    collections: list[dict]
    items: list[dict]


WORLD_SHAPE = (256, 256)
#: (seed, acquisition time, centre) of the world's scenes: two overlapping scenes of one
#: pass on 2023-01-04 (the second shifted east by ~6 km) and one scene the next day.
WORLD_SCENES = (
    (1, "2023-01-04T07:10:00", (-5.0, 80.0)),
    (3, "2023-01-04T07:11:00", (-4.7, 80.0)),
    (2, "2023-01-05T07:02:00", (-5.0, 80.0)),
)


@pytest.fixture(scope="session")
def world(served_root: Path, file_server: FileServer) -> World:
    """Three small synthetic EW scenes plus AMSR-2, written as files and static STAC."""
    from xseaice import synthetic

    scenes = [
        synthetic.make_scene(seed, shape=WORLD_SHAPE, time=when, center=center)
        for seed, when, center in WORLD_SCENES
    ]
    root = served_root / "world"
    root.mkdir(exist_ok=True)
    local = synthetic.write_stac(scenes, root / "local")
    remote = synthetic.write_stac(scenes, root / "http", href_base=file_server.href(root / "http"))
    collections, items = _catalog_dicts(Path(remote))
    return World(
        scenes=scenes,
        root=root,
        catalog=Path(local),
        http_catalog=Path(remote),
        collections=collections,
        items=items,
    )


def _catalog_dicts(catalog_path: Path) -> tuple[list[dict], list[dict]]:
    import pystac

    cat = pystac.read_file(str(catalog_path))
    cols = [
        c.to_dict(include_self_link=False, transform_hrefs=False) for c in cat.get_all_collections()
    ]
    items = []
    for it in cat.get_items(recursive=True):
        it.make_asset_hrefs_absolute()
        d = it.to_dict(include_self_link=False, transform_hrefs=False)
        d["links"] = []
        items.append(d)
    for c in cols:
        c["links"] = []
    return cols, items


def _collection(cid: str, description: str) -> dict:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": cid,
        "description": description,
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [["2015-01-01T00:00:00Z", None]]},
        },
        "links": [],
    }


def _item(
    iid: str,
    collection: str,
    when: str,
    lonlat: tuple[float, float, float, float],
    props: dict[str, Any],
    assets: dict[str, str],
) -> dict:
    w, s, e, n = lonlat
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": iid,
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [w, s, e, n],
        "properties": {"datetime": when, **props},
        "assets": {k: {"href": v, "roles": ["data"]} for k, v in assets.items()},
        "links": [],
    }


def search_cases() -> tuple[list[dict], list[dict]]:
    """Hand-made items with known answers for the search tests (2022, far from the world).

    Place A (east Greenland, 10-14W 74-76N): EW HH+HV on 2022-03-01 (two slices of one
    pass) and 2022-03-03, an IW VV+VH on 2022-03-01, an EW HH-only on 2022-03-05.
    Place B (Chukchi Sea, across the antimeridian, 175E-175W 70-72N): EW HH+HV on
    2022-03-02 east of 180 and one west of 180.  Place C (Ross Sea, 160-170W 75-77S): EW
    HH+HV on 2022-03-01.  AMSR-2 daily north files for 2022-03-01 ... 2022-03-03.
    """
    s1 = "sentinel-1-grd"
    base = {"constellation": "sentinel-1", "platform": "sentinel-1a", "sat:orbit_state":
            "descending", "sat:relative_orbit": 20}  # fmt: skip

    def s1item(iid, when, box, mode="EW", pols=("HH", "HV")):  # type: ignore[no-untyped-def]
        props = {**base, "sar:instrument_mode": mode, "sar:polarizations": list(pols)}
        assets = {p.lower(): f"http://127.0.0.1:9/{iid}-{p.lower()}.tiff" for p in pols}
        return _item(iid, s1, when, box, props, assets)

    a = (-14.0, 74.0, -10.0, 76.0)
    items = [
        s1item("A-EW-0301-1", "2022-03-01T08:00:00Z", a),
        s1item("A-EW-0301-2", "2022-03-01T08:01:00Z", (-15.0, 72.5, -11.0, 74.5)),
        s1item("A-IW-0301", "2022-03-01T09:00:00Z", a, mode="IW", pols=("VV", "VH")),
        s1item("A-EW-0303", "2022-03-03T08:00:00Z", a),
        s1item("A-EWHH-0305", "2022-03-05T08:00:00Z", a, pols=("HH",)),
        s1item("B-EW-east", "2022-03-02T20:00:00Z", (175.0, 70.0, 179.5, 72.0)),
        s1item("B-EW-west", "2022-03-02T20:01:00Z", (-179.5, 70.0, -175.0, 72.0)),
        s1item("C-EW-ross", "2022-03-01T12:00:00Z", (-170.0, -77.0, -160.0, -75.0)),
    ]
    for day in ("01", "02", "03"):
        items.append(
            _item(
                f"AMSR_U2_L3_SeaIce12km_B04_202203{day}",
                "amsr2-l3",
                f"2022-03-{day}T12:00:00Z",
                (-180.0, 30.0, 180.0, 90.0),
                {
                    "start_datetime": f"2022-03-{day}T00:00:00Z",
                    "end_datetime": f"2022-03-{day}T23:59:59Z",
                    "platform": "gcom-w1",
                    "instruments": ["amsr2"],
                },
                {"data": f"http://127.0.0.1:9/AMSR_U2_L3_SeaIce12km_B04_202203{day}.he5"},
            )
        )
    cols = [
        _collection(s1, "Sentinel-1 GRD (test)"),
        _collection("amsr2-l3", "AMSR-2 L3 (test)"),
    ]
    return cols, items


def write_static_catalog(directory: Path, collections: list[dict], items: list[dict]) -> Path:
    """Write dict collections/items as a self-contained static catalog; return its path."""
    import pystac

    cat = pystac.Catalog("cases", "search test cases")
    for cd in collections:
        coll = pystac.Collection.from_dict(cd)
        coll.clear_links()
        for d in items:
            if d["collection"] == coll.id:
                item = pystac.Item.from_dict(d)
                item.clear_links()
                coll.add_item(item)
        cat.add_child(coll)
    cat.normalize_hrefs(str(directory))
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return directory / "catalog.json"


@pytest.fixture(scope="session")
def cases_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The search cases as a local static catalog."""
    cols, items = search_cases()
    return write_static_catalog(tmp_path_factory.mktemp("cases"), cols, items)


@pytest.fixture(scope="session")
def stac_api(
    pgstac_db: PgCluster, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of a stac-fastapi-pgstac server with the search cases and the world's items."""
    cols, items = search_cases()
    known = {c["id"] for c in cols}
    cols += [c for c in world.collections if c["id"] not in known]
    pgstac_load(pgstac_db, cols, items + world.items)
    api = _start_stac_api(pgstac_db, tmp_path_factory.mktemp("api"), name="full")
    try:
        yield api.url
    finally:
        _stop(api)


@pytest.fixture(scope="session")
def stac_api_basic(
    stac_api: str, pgstac_db: PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The same database behind a server without the query and filter extensions."""
    api = _start_stac_api(
        pgstac_db, tmp_path_factory.mktemp("api-basic"), extensions="sort,fields", name="basic"
    )
    try:
        yield api.url
    finally:
        _stop(api)


# ---------------------------------------------------------------------------------------
# model precision: both, forced, whatever the CPU
# ---------------------------------------------------------------------------------------


@pytest.fixture(params=["fp32", "bf16"])
def precision(request: pytest.FixtureRequest) -> str:
    """Each model-running test that takes this fixture runs in float32 and in bfloat16,
    forced, on any CPU: ``precision="auto"`` would pick only one of them (bf16 where the
    CPU has AVX512-BF16 / AMX).  Without native bf16 it is emulated, slow but correct, so
    keep these tests tiny; the emulation warning is expected there."""
    if request.param == "bf16":
        request.applymarker(pytest.mark.filterwarnings("ignore:precision='bf16' on a CPU"))
    return str(request.param)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "serve":
    _serve_forever(sys.argv[2])
