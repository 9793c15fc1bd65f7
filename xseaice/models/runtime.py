"""Where and how a model runs: device, precision and torch threads.

Shared by inference ([`xseaice.inference`][]) and training, so both resolve ``"auto"``
the same way.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any, Literal

import torch

from xseaice.exceptions import InvalidArgumentError, ModelError, XSeaIceWarning

__all__ = [
    "Precision",
    "configure_threads",
    "cpu_supports_bf16",
    "resolve_device",
    "resolve_precision",
    "warn_if_bf16_emulated",
]

Precision = Literal["auto", "fp32", "bf16"]


def resolve_device(device: Any) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a torch device into a device.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (or None) picks CUDA when available, else the CPU.

    Returns
    -------
    torch.device
        A CPU or CUDA device.

    Raises
    ------
    InvalidArgumentError
        For a name torch does not know or a device that is neither CPU nor CUDA.
    ModelError
        If CUDA is asked for but not available.
    """
    if device == "auto" or device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InvalidArgumentError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            f"device={device!r} was requested but CUDA is not available here; use device='cpu' "
            "or 'auto'"
        )
    if dev.type not in ("cpu", "cuda"):
        raise InvalidArgumentError(f"device must be a CPU or CUDA device; got {device!r}")
    return dev


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16).

    Reads the CPU flags from ``/proc/cpuinfo`` (Linux); elsewhere returns False, so
    ``precision="auto"`` stays in float32 where bf16 would only be emulated.
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def warn_if_bf16_emulated(device: torch.device, *, stacklevel: int = 3) -> None:
    """Warn when bfloat16 is asked for on a CPU that would only emulate it.

    Without AVX512-BF16 or AMX, bf16 autocast runs in software: one 1024 px tile of the
    default U-Net took 227 s against 1.6 s in float32 on such a CPU.

    Parameters
    ----------
    device : torch.device
        The device the bf16 work will run on; only a CPU can warn.
    stacklevel : int, default 3
        Passed to [`warnings.warn`][xseaice.models.runtime.warnings.warn], so the warning points at
        the caller's code.

    Warns
    -----
    XSeaIceWarning
        ``device`` is a CPU without AVX512-BF16 or AMX.
    """
    if device.type == "cpu" and not cpu_supports_bf16():
        warnings.warn(
            "precision='bf16' on a CPU without native bfloat16 (AVX512-BF16 or AMX): bf16 is "
            "emulated in software and about 100x slower than float32; use precision='auto' "
            "or 'fp32' on this machine",
            XSeaIceWarning,
            stacklevel=stacklevel,
        )


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a precision on a device, or None for float32.

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        ``"auto"``: bfloat16 on CUDA with bf16 support (else float16) and on CPUs with
        AMX / AVX512-BF16, else float32.
    device : torch.device
        The device the model runs on.

    Returns
    -------
    torch.dtype or None
        The autocast dtype; None for float32 (no autocast).

    Raises
    ------
    InvalidArgumentError
        An unknown precision.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        warn_if_bf16_emulated(device, stacklevel=4)
        return torch.bfloat16
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if cpu_supports_bf16() else None
    raise InvalidArgumentError(f"precision must be 'auto', 'fp32' or 'bf16'; got {precision!r}")


def _concurrent_tasks() -> int:
    """Number of tasks that may run concurrently in this process (best guess)."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        pass
    if threading.current_thread() is threading.main_thread():
        return 1  # synchronous scheduler
    import dask

    n = dask.config.get("num_workers", None) or os.cpu_count() or 1
    return max(1, int(n))


_THREADS_SET = threading.local()


def configure_threads(threads: int | None) -> None:
    """Set torch's intra-op threads so that tasks x torch threads <= cores.

    Parameters
    ----------
    threads : int or None
        Threads for this task; None: ``OMP_NUM_THREADS`` in a dask.distributed worker,
        else the cores divided by the tasks that may run at once.
    """
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        in_worker = False
        try:
            from distributed import get_worker

            get_worker()
            in_worker = True
        except (ImportError, ValueError):
            pass
        if in_worker and env.isdigit() and int(env) > 0:
            threads = int(env)  # dask's nanny sets this for its worker processes
        else:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            threads = max(1, (cores or os.cpu_count() or 1) // _concurrent_tasks())
    # omp_set_num_threads acts per calling thread: keep a per-thread record
    if getattr(_THREADS_SET, "n", None) != threads:
        torch.set_num_threads(threads)
        _THREADS_SET.n = threads
