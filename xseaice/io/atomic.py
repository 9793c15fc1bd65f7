"""Atomic writes: a product is either complete at its final path or absent.

Every writer of the package (products, synthetic files, sample data) writes under a
temporary name in the target's own folder and moves the result into place only when it
is complete, so an interrupted run never leaves a half-written file or store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    Parameters
    ----------
    target : path
        Final file or folder (a Zarr store, a SAFE folder) path; its parent is created.

    Yields
    ------
    pathlib.Path
        Where to write: a path with ``target``'s name inside a hidden temporary folder of
        the same parent (same file system, so the final move is a rename).

    Notes
    -----
    On an exception the temporary data are removed and ``target`` is left untouched.  A
    folder ``target`` that already exists is replaced.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    tmp = tmp_dir / final.name
    try:
        yield tmp
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
