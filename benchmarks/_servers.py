"""Loopback servers for benchmarks: the test suite's own, started outside pytest.

The HTTP file server (``Range`` support, its own process) and the stac-fastapi-pgstac API
on a throw-away PostgreSQL cluster are the ones ``tests/conftest.py`` starts for the tests;
this module imports them from there instead of copying them.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"


def _conftest() -> Any:
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import conftest

    return conftest


@contextlib.contextmanager
def file_server(root: Path) -> Iterator[Any]:
    """A loopback HTTP file server over ``root`` (``.href(path)`` gives a file's URL)."""
    with _conftest().serve_directory(root) as fs:
        yield fs


@contextlib.contextmanager
def stac_api(collections: list[dict], items: list[dict]) -> Iterator[str]:
    """URL of a stac-fastapi-pgstac server holding ``collections`` and ``items``."""
    conf = _conftest()
    fixture = conf.pgstac_db
    make_cluster = getattr(fixture, "__wrapped__", fixture)  # the fixture's own generator
    with contextlib.contextmanager(make_cluster)() as cluster:
        conf.pgstac_load(cluster, collections, items)
        with tempfile.TemporaryDirectory(prefix="xseaice-api-") as work:
            api = conf._start_stac_api(cluster, Path(work), name="bench")
            try:
                yield api.url
            finally:
                conf._stop(api)
