from __future__ import annotations

from pathlib import Path

import numpy as np

from medialens.config import Settings
from medialens.models.runtime import litert_interpreter, onnx_providers, onnx_session, session_options
from tests.unit.runtime.helpers import expected, matmul_relu_onnx, relu_tflite


def test_model_threads_zero_leaves_threads_to_ort() -> None:
    assert session_options(Settings(model_threads=0)).intra_op_num_threads == 0  # ORT's "decide yourself"
    assert session_options(Settings(model_threads=3)).intra_op_num_threads == 3


def test_providers_keep_requested_available_ones_with_cpu_last() -> None:
    assert onnx_providers(Settings(onnx_providers="NoSuchProvider")) == ["CPUExecutionProvider"]
    chosen = onnx_providers(Settings(onnx_providers="CPUExecutionProvider,CUDAExecutionProvider"))
    assert chosen[-1] == "CPUExecutionProvider" and chosen.count("CPUExecutionProvider") == 1


def test_onnx_session_runs_a_dynamic_batch(tmp_path: Path) -> None:
    session = onnx_session(matmul_relu_onnx(tmp_path / "m.onnx"), Settings(model_threads=0))
    x = np.arange(3 * 16, dtype=np.float32).reshape(3, 16) / 10 - 2
    (y,) = session.run(None, {"x": x})
    np.testing.assert_allclose(y, np.stack([expected(row) for row in x]), rtol=1e-4, atol=1e-5)


def test_litert_interpreter_runs_a_tflite_file(tmp_path: Path) -> None:
    for threads in (0, 2):
        interpreter = litert_interpreter(relu_tflite(tmp_path / "relu.tflite"), Settings(model_threads=threads))
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        interpreter.set_tensor(inp["index"], np.array([[-1, 2, -3, 4]], np.float32))
        interpreter.invoke()
        np.testing.assert_array_equal(interpreter.get_tensor(out["index"]), [[0, 2, 0, 4]])
