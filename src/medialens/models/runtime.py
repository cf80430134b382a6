"""Runtime sessions: ONNX Runtime with configurable execution providers and thread counts.

CUDA is used when onnxruntime reports it and the settings allow it; otherwise CPU. Other runtimes (dlib,
CTranslate2, LiteRT) are opened by their pipelines, with the thread count from the same settings.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from medialens.config import Settings


def onnx_providers(settings: Settings) -> list[str]:
    """Requested providers that this onnxruntime build has, in order; CPU always last."""
    available = set(ort.get_available_providers())
    wanted = [p.strip() for p in settings.onnx_providers.split(",") if p.strip()]
    chosen = [p for p in wanted if p in available and p != "CPUExecutionProvider"]
    return [*chosen, "CPUExecutionProvider"]


def onnx_session(path: Path, settings: Settings) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = settings.model_threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=onnx_providers(settings))
