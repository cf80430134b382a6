"""Runtime sessions: ONNX Runtime with configurable execution providers and thread counts, and LiteRT.

CUDA is used when onnxruntime reports it and the settings allow it; otherwise CPU. ``settings.model_threads``
is the thread count of one session; 0 leaves the choice to the runtime (ORT then uses one thread per physical
core). Other runtimes (dlib, CTranslate2) are opened by their pipelines with the thread count from the same
settings; TFLite files go through :func:`litert_interpreter`.
"""

from __future__ import annotations

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
    """Hold NumPy/SciPy's BLAS pool (OpenBLAS, process-wide) to one thread, whatever ``model_threads`` says.

    The models run in ONNX Runtime and CTranslate2, each with its own pool; what NumPy multiplies here is small
    post-processing (whitening, similarities, projections), where OpenBLAS's extra threads cost more than they
    bring: they spin after every product, on the cores the models need. A video fingerprint's 16-frame batch
    (network run, R-MAC, a 16 x 1280 x 128 whitening product) took 17.7 CPU-ms a frame with OpenBLAS's default
    pool against 10.8 with one thread (the network run alone: 10.4), and a DNA job on a 15-s 720p clip 1.57
    against 1.17 CPU-s. ``settings`` is kept for callers that size other pools with it."""
    from threadpoolctl import threadpool_limits

    del settings
    threadpool_limits(limits=1, user_api="blas")


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
