"""Small real models for the runtime tests: an ONNX MatMul+Relu with a dynamic batch and a one-op TFLite file."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.runtime import onnx_session

IN_DIM, OUT_DIM = 16, 4
WEIGHTS = np.random.default_rng(0).standard_normal((IN_DIM, OUT_DIM)).astype(np.float32)
MODEL_FILE = "model.onnx"


def matmul_relu_onnx(path: Path) -> Path:
    """``relu(x @ W)`` with x of shape [N, 16] (N dynamic)."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "matmul_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", IN_DIM])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", OUT_DIM])],
        initializer=[numpy_helper.from_array(WEIGHTS, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def expected(item: Sequence[float]) -> np.ndarray:
    return np.maximum(np.asarray(item, np.float32) @ WEIGHTS, 0)


class MatMulPipeline(Pipeline[Sequence[float], np.ndarray, np.ndarray]):
    """Runs the MatMul+Relu model; records its forward batches and which threads ran each step."""

    model_name: ClassVar[str] = "test-matmul"
    max_batch_size: ClassVar[int] = 8

    def __init__(self, model_dir: Path, settings: Settings, model_file: str = MODEL_FILE) -> None:
        super().__init__(model_dir, settings)
        self.session: Any = onnx_session(model_dir / model_file, settings)
        self.batch_sizes: list[int] = []
        self.threads: dict[str, set[int]] = {"pre": set(), "forward": set(), "post": set()}
        self.fail_when: Any = None  # callable(batch) -> bool: raise in forward
        self.closed = False
        self._lock = threading.Lock()

    def preprocess(self, item: Sequence[float]) -> np.ndarray:
        self.threads["pre"].add(threading.get_ident())
        return np.asarray(item, np.float32).reshape(IN_DIM)

    def forward(self, batch: Sequence[np.ndarray]) -> Sequence[Any]:
        with self._lock:
            self.batch_sizes.append(len(batch))
            self.threads["forward"].add(threading.get_ident())
        if self.fail_when is not None and self.fail_when(batch):
            raise ValueError("forward failed on purpose")
        return list(self.session.run(None, {"x": np.stack(batch)})[0])

    def postprocess(self, raw: Any, item: Sequence[float], pre: np.ndarray) -> np.ndarray:
        self.threads["post"].add(threading.get_ident())
        return raw

    def close(self) -> None:
        self.closed = True
        self.session = None


def relu_tflite(path: Path) -> Path:
    """A TFLite flatbuffer with one RELU op on a float32 [1, 4] tensor, built with LiteRT's schema object API."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.RELU
    code.version = 1
    tensors = []
    for i, name in enumerate((b"x", b"y")):
        t = s.TensorT()
        t.shape, t.type, t.buffer, t.name = [1, 4], s.TensorType.FLOAT32, i + 1, name
        tensors.append(t)
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    graph = s.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators, graph.name = tensors, [0], [1], [op], b"main"
    model = s.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [graph]
    model.buffers = [s.BufferT() for _ in range(3)]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path
