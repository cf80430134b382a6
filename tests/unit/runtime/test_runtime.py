from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from medialens.config import Settings
from medialens.models import runtime
from medialens.models.runtime import litert_interpreter, onnx_providers, onnx_session, session_options, tune_allocator
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


class _Mallopt:
    """Records mallopt calls instead of changing this process's allocator; answers like glibc (1: accepted)."""

    def __init__(self, answer: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer
        self.argtypes = self.restype = None

    def __call__(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


def _fake_libc(monkeypatch: pytest.MonkeyPatch, mallopt: _Mallopt, libc: str = "glibc") -> None:
    monkeypatch.setattr(platform, "libc_ver", lambda: (libc, "2.36"))
    monkeypatch.setattr(runtime.ctypes, "CDLL", lambda _name: type("Libc", (), {"mallopt": mallopt})())


def test_tune_allocator_sets_glibcs_trim_and_mmap_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    mallopt = _Mallopt()
    _fake_libc(monkeypatch, mallopt)
    assert tune_allocator(Settings(malloc_keep_mb=64)) is True
    assert mallopt.calls == [(-1, 64 << 20), (-3, 32 << 20)]  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD (its ceiling)
    mallopt.calls.clear()
    assert tune_allocator(Settings(malloc_keep_mb=8)) is True
    assert mallopt.calls == [(-1, 8 << 20), (-3, 8 << 20)]  # never mmap below what is kept
    mallopt.calls.clear()
    assert tune_allocator(Settings(malloc_keep_mb=100_000)) is True
    assert mallopt.calls[0] == (-1, 2**31 - 1)  # mallopt takes a C int


def test_tune_allocator_leaves_the_defaults_when_off_or_not_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    mallopt = _Mallopt()
    _fake_libc(monkeypatch, mallopt)
    assert tune_allocator(Settings(malloc_keep_mb=0)) is False
    _fake_libc(monkeypatch, mallopt, libc="")  # musl, macOS: no mallopt to call
    assert tune_allocator(Settings()) is False
    assert mallopt.calls == []


def test_tune_allocator_reports_a_refused_or_missing_mallopt(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_libc(monkeypatch, _Mallopt(answer=0))  # glibc refuses a value (a 32-bit build's lower ceiling)
    assert tune_allocator(Settings()) is False

    def no_libc(_name: str) -> None:
        raise OSError("libc.so.6: cannot open shared object file")

    monkeypatch.setattr(runtime.ctypes, "CDLL", no_libc)
    assert tune_allocator(Settings()) is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_tune_allocator_is_accepted_by_this_glibc() -> None:
    assert tune_allocator(Settings()) is True
