"""Atomic writes: a product is either complete at its final path or absent.

Every writer of the package (products, synthetic files, sample data) writes under a
temporary name in the target's own folder and moves the result into place only when it
is complete, so an interrupted run never leaves a half-written file or store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xseaice.exceptions import InvalidArgumentError

__all__ = ["atomic_path", "check_output", "staged_folder"]

_OVERWRITE = "overwrite=True (xseaice segment/demo: --overwrite)"


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


@contextmanager
def staged_folder(
    target: str | os.PathLike[str],
    *,
    owned: Callable[[str], bool],
    overwrite: bool = False,
    option: str = _OVERWRITE,
) -> Iterator[Path]:
    """Yield a staging folder beside ``target``; swap it in whole on success.

    A run writes its whole product set into the staging folder.  On success the entries
    of an existing ``target`` that the run does not own (``owned(name)`` is False) are
    moved into the staging folder, then ``target`` is renamed aside, the staging folder
    renamed onto ``target`` and the old folder removed: readers see the old set or the
    new one, never a mix.  On an exception the staging folder is removed and ``target``
    is left untouched.

    Parameters
    ----------
    target : path
        Output folder; its parent is created.
    owned : callable
        ``owned(name)`` is True for the names of entries a run writes (its product set).
    overwrite : bool, default False
        Replace an existing product set (an entry of ``target`` that is ``owned``).
    option : str
        How the caller spells ``overwrite`` in error messages (``"--overwrite"``).

    Yields
    ------
    pathlib.Path
        The staging folder (hidden, same parent, so each swap is a rename).

    Raises
    ------
    InvalidArgumentError
        If ``target`` is a file, or holds a product set and ``overwrite`` is False.
    """
    final = Path(target)
    check_output(final, owned=owned, overwrite=overwrite, option=option)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    try:
        yield stage
        _swap_in(stage, final, owned)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def check_output(
    target: str | os.PathLike[str],
    *,
    owned: Callable[[str], bool],
    overwrite: bool = False,
    option: str = _OVERWRITE,
) -> None:
    """Raise when ``target`` cannot take a new product set (see
    [`staged_folder`][xseaice.io.atomic.staged_folder]).

    Raises
    ------
    InvalidArgumentError
        If ``target`` is a file, or holds a product set and ``overwrite`` is False.
    """
    final = Path(target)
    if final.exists() and not final.is_dir():
        raise InvalidArgumentError(
            f"output {str(final)!r} is a file; expected a folder (new or existing). Pass "
            "another output path."
        )
    existing = sorted(p.name for p in final.iterdir() if owned(p.name)) if final.is_dir() else []
    if existing and not overwrite:
        raise InvalidArgumentError(
            f"output {str(final)!r} already holds a product set ({', '.join(existing[:4])}"
            f"{' ...' if len(existing) > 4 else ''}); pass {option} to replace it, or "
            "choose another output folder."
        )


def _swap_in(stage: Path, final: Path, owned: Callable[[str], bool]) -> None:
    if not final.exists():
        os.replace(stage, final)
        return
    moved: list[str] = []
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
    try:
        for entry in list(final.iterdir()):  # keep what the run does not own
            if not owned(entry.name) and not (stage / entry.name).exists():
                os.replace(entry, stage / entry.name)
                moved.append(entry.name)
        os.replace(final, old)
        try:
            os.replace(stage, final)
        except BaseException:
            os.replace(old, final)
            raise
    except BaseException:
        for name in moved:  # the user's entries go back where they were
            os.replace(stage / name, final / name)
        raise
    shutil.rmtree(old, ignore_errors=True)
