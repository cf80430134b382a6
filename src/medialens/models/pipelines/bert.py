"""A BERT encoder's hidden states (ONNX), with BERT's own tokenizer (basic + WordPiece over ``vocab.txt``).

Tokenizing as BERT does: text cleaned, lower-cased (the Chinese BERT vocabularies are uncased), every CJK
character its own word, punctuation split off, then WordPiece (greedy longest match, ``##`` continuations,
``[UNK]`` for a word it cannot cover). A pair becomes ``[CLS] a [SEP] b [SEP]`` with token types 0 / 1, cut to the
length asked for (longest sequence first). The output is ``last_hidden_state`` [L, hidden] of the real tokens.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.runtime import onnx_session

MAX_WORD_CHARS = 100


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


class WordPiece:
    def __init__(self, vocab: Sequence[str], *, lower: bool = True) -> None:
        self.vocab = {tok: i for i, tok in enumerate(vocab)}
        self.lower = lower
        self.unk, self.cls, self.sep = (self.vocab[t] for t in ("[UNK]", "[CLS]", "[SEP]"))

    @classmethod
    def from_file(cls, path: Path) -> WordPiece:
        return cls([line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()])

    def words(self, text: str) -> list[str]:
        out, word = [], []
        if self.lower:
            text = unicodedata.normalize("NFD", text.lower())
            text = "".join(c for c in text if unicodedata.category(c) != "Mn")  # strip accents
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n\r"):
                continue
            if ch.isspace():
                if word:
                    out.append("".join(word))
                    word = []
            elif _is_cjk(cp) or _is_punct(ch):
                if word:
                    out.append("".join(word))
                    word = []
                out.append(ch)
            else:
                word.append(ch)
        if word:
            out.append("".join(word))
        return out

    def pieces(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return [self.unk]
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        return [i for w in self.words(text) for i in self.pieces(w)]

    def pair(self, first: str, second: str, max_len: int) -> tuple[list[int], list[int]]:
        """(input ids, token types) of ``[CLS] first [SEP] (second [SEP])`` in at most ``max_len`` tokens."""
        a, b = self.encode(first), self.encode(second) if second else []
        room = max_len - (3 if b else 2)
        while len(a) + len(b) > max(room, 0):
            if len(a) >= len(b):
                a.pop()
            else:
                b.pop()
        ids = [self.cls, *a, self.sep] + ([*b, self.sep] if b else [])
        types = [0] * (len(a) + 2) + [1] * (len(b) + 1 if b else 0)
        return ids, types


@dataclass(frozen=True)
class BertInput:
    first: str
    second: str = ""
    max_len: int = 512


@dataclass(frozen=True)
class HiddenStates:
    hidden: np.ndarray  # [L, H] float32: [CLS], the tokens, [SEP](s)
    ids: list[int]


@register_pipeline
class BgeBaseZh(Pipeline[BertInput, tuple[list[int], list[int]], HiddenStates]):
    model_name = "bge-base-zh"
    onnx_file = "model.onnx"
    max_batch_size = 1  # sequences of different lengths: no padding needed one at a time

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.tokenizer = WordPiece.from_file(model_dir / "vocab.txt")
        self.session = onnx_session(model_dir / self.onnx_file, settings)
        self.input_names = {i.name for i in self.session.get_inputs()}

    def preprocess(self, item: BertInput) -> tuple[list[int], list[int]]:
        return self.tokenizer.pair(item.first, item.second, item.max_len)

    def forward(self, batch: Sequence[tuple[list[int], list[int]]]) -> list[np.ndarray]:
        out = []
        for ids, types in batch:
            feed = {
                "input_ids": np.array([ids], np.int64),
                "attention_mask": np.ones((1, len(ids)), np.int64),
                "token_type_ids": np.array([types], np.int64),
            }
            out.append(self.session.run(None, {k: v for k, v in feed.items() if k in self.input_names})[0][0])
        return out

    def postprocess(self, raw: np.ndarray, item: BertInput, pre: tuple[list[int], list[int]]) -> HiddenStates:
        return HiddenStates(hidden=np.asarray(raw, np.float32), ids=pre[0])

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
