"""Read a ``.safetensors`` file into NumPy arrays without the safetensors package.

The format is an 8-byte little-endian header length, a JSON header ``{name: {dtype, shape, data_offsets}}``
(offsets relative to the end of the header; an optional ``__metadata__`` entry) and the raw little-endian
tensor bytes. Nothing in it can run code, so reading it needs no restrictions beyond bounds checks.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from medialens.models.convert.torch_pickle import CheckpointError

DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
MAX_HEADER = 100 << 20


def is_safetensors(path: Path) -> bool:
    """True when the file starts like a safetensors file (a sane header length, then a JSON object)."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= MAX_HEADER and head[8:9] == b"{"


def _array(raw: memoryview, dtype: str, shape: list[int]) -> np.ndarray:
    if dtype == "BF16":  # no NumPy bfloat16: the upper half of a float32
        bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(raw, DTYPES[dtype]).reshape(shape)  # read-only views of the file bytes


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as ``{name: ndarray}``."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise CheckpointError(f"{Path(path).name}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(MAX_HEADER, len(data) - 8):
        raise CheckpointError(f"{Path(path).name}: not a safetensors file (header length {n})")
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{Path(path).name}: bad safetensors header: {err}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{Path(path).name}: bad safetensors header")
    body = memoryview(data)[8 + n :]
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], [int(d) for d in info["shape"]], info["data_offsets"]
        except (TypeError, KeyError, ValueError) as err:
            raise CheckpointError(f"{Path(path).name}: bad entry for {name}: {err}") from None
        if not 0 <= start <= end <= len(body):
            raise CheckpointError(f"{Path(path).name}: {name} lies outside the file")
        if dtype != "BF16" and dtype not in DTYPES:
            raise CheckpointError(f"{Path(path).name}: {name}: safetensors dtype {dtype} is not supported")
        itemsize = 2 if dtype == "BF16" else DTYPES[dtype].itemsize
        if end - start != itemsize * int(np.prod(shape, dtype=np.int64)):
            raise CheckpointError(f"{Path(path).name}: {name} has {end - start} bytes for shape {shape} {dtype}")
        out[name] = _array(body[start:end], dtype, shape)
    if not out:
        raise CheckpointError(f"{Path(path).name}: no tensors")
    return out
