"""Handing freed heap memory back to the operating system.

glibc keeps freed memory in per-thread arenas: after a stage of many medium-sized
arrays (a model's forward passes, a dask pass over a scene) each thread's arena stays at
its peak, and the next stage starts from that resident floor instead of from what is in
use.  [`trim_heap`][xseaice.heap.trim_heap] returns it (``malloc_trim``); elsewhere than
glibc it does nothing.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["trim_heap"]


@functools.lru_cache(maxsize=1)
def _libc_malloc_trim() -> Any:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def trim_heap() -> None:
    """Give the freed heap memory of every arena back to the OS (glibc ``malloc_trim``)."""
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)
