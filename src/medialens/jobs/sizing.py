"""How many threads each job of a worker may use: the machine's cores shared among the worker's job threads.

ONNX Runtime, NumPy's BLAS and FFmpeg each default to a thread per core. A worker running N jobs at once would
start N of each and make them fight over the cores; giving each job cores ÷ N threads keeps every core busy
without oversubscription. Settings given explicitly (MEDIALENS_MODEL_THREADS, MEDIALENS_DECODE_THREADS) win.
"""

from __future__ import annotations

import os

from medialens.config import Settings


def available_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_job(job_threads: int, cores: int | None = None) -> int:
    return max(1, (cores or available_cores()) // max(1, job_threads))


def shared_core_settings(settings: Settings, job_threads: int, cores: int | None = None) -> dict[str, str]:
    """The MEDIALENS_* variables to set so that each job gets its share; only for settings left at 0 (auto)."""
    share = str(threads_per_job(job_threads, cores))
    out = {}
    if settings.model_threads == 0:
        out["MEDIALENS_MODEL_THREADS"] = share
    if settings.decode_threads == 0:
        out["MEDIALENS_DECODE_THREADS"] = share
    return out
