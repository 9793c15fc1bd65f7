"""Atomic training checkpoints.

A checkpoint holds the model and optimiser state, the learning-rate scheduler state, the
position in the data stream (epoch and step within it), the RNG states, the
normalisation statistics and the config hash.  It is written to a temporary file in the
same folder, flushed to disk and renamed over the previous one (``os.replace``), so a
``kill -9`` at any moment leaves either the old or the new checkpoint, never a torn file.
Reading uses ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from xseaice.exceptions import TrainingError

__all__ = ["CHECKPOINT_NAME", "load_checkpoint", "save_checkpoint"]

logger = logging.getLogger(__name__)

#: File name of the latest checkpoint inside a run's output folder.
CHECKPOINT_NAME = "checkpoint.pt"

_FORMAT = "xseaice-checkpoint/1"


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : str or path
        Target file; its folder is created.
    state : dict
        Tensors, numbers, strings, lists and dicts of them (what ``torch.load`` with
        ``weights_only=True`` can read back).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": _FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    logger.debug("checkpoint written to %s", path)
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by
    [`save_checkpoint`][xseaice.training.checkpoint.save_checkpoint].

    Parameters
    ----------
    path : str or path
        The checkpoint file.

    Returns
    -------
    dict
        The saved state.

    Raises
    ------
    TrainingError
        If the file is missing, unreadable or not an xseaice checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainingError(
            f"no checkpoint at {path}; start the run without resume=True (or --resume), or "
            "point output_dir at the folder of the interrupted run"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise TrainingError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise TrainingError(f"{path} is not an xseaice checkpoint (expected format {_FORMAT!r})")
    return state
