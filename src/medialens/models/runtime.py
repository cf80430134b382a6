"""Runtime sessions: ONNX Runtime with configurable execution providers and thread counts, and LiteRT.

CUDA is used when onnxruntime reports it and the settings allow it; otherwise CPU. ``settings.model_threads``
is the thread count of one session; 0 leaves the choice to the runtime (ORT then uses one thread per physical
core). Other runtimes (dlib, CTranslate2) are opened by their pipelines with the thread count from the same
settings; TFLite files go through :func:`litert_interpreter`.
"""

from __future__ import annotations

import ctypes
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnxruntime as ort

from medialens.config import Settings

if TYPE_CHECKING:
    from ai_edge_litert.interpreter import Interpreter


def onnx_providers(settings: Settings) -> list[str]:
    """Requested providers that this onnxruntime build has, in order; CPU always last."""
    available = set(ort.get_available_providers())
    wanted = [p.strip() for p in settings.onnx_providers.split(",") if p.strip()]
    chosen = [p for p in wanted if p in available and p != "CPUExecutionProvider"]
    return [*chosen, "CPUExecutionProvider"]


def limit_blas_threads(settings: Settings) -> None:
    """Hold NumPy/SciPy's BLAS pool (OpenBLAS, process-wide) to ``model_threads``, as ONNX sessions are: several
    jobs or worker processes on one machine otherwise each start a thread per core and fight over them.

    Not held to one thread whatever the setting: OpenBLAS's summation order follows its thread count, and Whisper's
    NumPy front end then moves enough for a borderline Mandarin word to come out otherwise (富士康 -> 故事康 on the
    shared clip). Code whose small products must not wake the pool avoids BLAS instead (``fingerprint.whiten``)."""
    if settings.model_threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=settings.model_threads)


# glibc's mallopt parameters (malloc.h) and its ceiling for the mmap threshold on 64-bit systems.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024


def tune_allocator(settings: Settings) -> bool:
    """Let glibc keep freed memory for reuse (``settings.malloc_keep_mb`` per arena, blocks up to 32 MB from the
    arenas) instead of its adaptive thresholds, which mmap a large block or hand a heap's top back to the OS
    depending on what was freed before: the same request then page-faults thousands of times or not at all. The
    selfie mask's request (a 2.9 MB float mask, a 1.4 MB answer) took 31 ms in a server where the mask service
    ran first (2,600 page faults per call) and 17 ms with this (none). Whether the tuning was applied (not on
    other C libraries, nor with ``malloc_keep_mb=0``)."""
    keep = min(settings.malloc_keep_mb * 1024 * 1024, 2**31 - 1)  # mallopt takes a C int
    if keep <= 0 or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # Either call ends glibc's adaptive thresholds: set both, the mmap one no higher than what is kept.
    return mallopt(_M_TRIM_THRESHOLD, keep) == 1 and mallopt(_M_MMAP_THRESHOLD, min(keep, _MMAP_THRESHOLD_MAX)) == 1


def prepare_process(settings: Settings) -> None:
    """What a process that runs models sets up once, process-wide: the BLAS pool (``limit_blas_threads``) and the
    allocator (``tune_allocator``). Servers, workers and the benches that stand for them call this."""
    limit_blas_threads(settings)
    tune_allocator(settings)


def session_options(settings: Settings) -> ort.SessionOptions:
    """Options every medialens ONNX session shares; ``model_threads == 0`` leaves intra-op threads to ORT."""
    opts = ort.SessionOptions()
    if settings.model_threads > 0:
        opts.intra_op_num_threads = settings.model_threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # Idle intra-op threads sleep instead of spinning: a spinning pool burns the cores that decoding threads and
    # other requests need. ClassifyLabelVideo on a 60 s 720p clip, same run on a busy 2-core machine: 7.2 -> 5.5
    # CPU-s, 9.5 -> 5.2 s wall.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def onnx_session(path: Path, settings: Settings) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), sess_options=session_options(settings), providers=onnx_providers(settings))


def litert_interpreter(path: Path, settings: Settings) -> Interpreter:
    """A LiteRT (TFLite) interpreter with tensors allocated; ``model_threads == 0`` lets LiteRT decide."""
    from ai_edge_litert.interpreter import Interpreter

    kwargs: dict[str, Any] = {"model_path": str(path)}
    if settings.model_threads > 0:
        kwargs["num_threads"] = settings.model_threads
    interpreter = Interpreter(**kwargs)
    interpreter.allocate_tensors()
    return interpreter
