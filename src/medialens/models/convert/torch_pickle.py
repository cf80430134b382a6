"""Read a ``torch.save`` state dict into NumPy arrays without importing torch.

Both on-disk formats are handled: the zip format (``<root>/data.pkl`` + ``<root>/data/<key>`` raw storages,
torch >= 1.6) and the legacy format (magic number, protocol, sys info, the pickled object, the storage keys,
then each storage as an int64 element count followed by its bytes). The unpickler is restricted: it resolves
only the handful of globals a state dict needs (tensor rebuilds, typed storages, ``OrderedDict``) and refuses
everything else, so a checkpoint cannot run code on load.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

#: torch storage class name -> NumPy dtype (bfloat16 has no NumPy dtype and is not supported).
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class CheckpointError(ValueError):
    """The file is not a state dict this reader understands (or asks for a global it refuses)."""


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return STORAGE_DTYPES[self.name]


@dataclass
class _Storage:
    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None  # flat; filled when the storage bytes are read


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def materialize(self) -> np.ndarray:
        flat = self.storage.data
        if flat is None:
            raise CheckpointError(f"storage {self.storage.key} was never read")
        if not self.size:
            return flat[self.offset : self.offset + 1].reshape(()).copy()
        needed = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True)) + 1
        if min(self.size) > 0 and needed > flat.size:
            raise CheckpointError(f"tensor view exceeds storage {self.storage.key}")
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :], shape=self.size, strides=tuple(s * item for s in self.stride), writeable=False
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(storage: Any, offset: int, size: Any, stride: Any, *_rest: Any) -> _TensorRef:
    if not isinstance(storage, _Storage):
        raise CheckpointError("tensor rebuild without a storage")
    return _TensorRef(storage, int(offset), tuple(int(n) for n in size), tuple(int(s) for s in stride))


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any) -> _TensorRef:
    """PyTorch < 0.4's rebuild (no requires_grad or hooks), as in checkpoints saved in 2017."""
    return _rebuild_tensor_v2(storage, offset, size, stride)


def _rebuild_parameter(data: Any, *_rest: Any) -> Any:
    return data


class _Unpickler(pickle.Unpickler):
    """Resolves only what a state dict needs; storages come back as placeholders filled in later."""

    def __init__(self, fh: IO[bytes], storages: dict[str, _Storage]) -> None:
        super().__init__(fh)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_tensor":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError(f"unsupported persistent id {pid!r:.80}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"unsupported storage type {storage_type!r:.80}")
        if len(pid) > 5 and pid[5] is not None:
            raise CheckpointError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(key, storage_type.dtype, numel)
        return self.storages[key]


def _materialize(obj: Any) -> Any:
    if isinstance(obj, _TensorRef):
        return obj.materialize()
    if isinstance(obj, dict):
        return {k: _materialize(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def _load_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as zf:
        pkls = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkls) != 1:
            raise CheckpointError(f"{path.name}: expected one data.pkl, found {len(pkls)}")
        root = pkls[0][: -len("data.pkl")]
        storages: dict[str, _Storage] = {}
        obj = _Unpickler(io.BytesIO(zf.read(pkls[0])), storages).load()
        for key, st in storages.items():
            raw = zf.read(f"{root}data/{key}")
            if len(raw) < st.numel * st.dtype.itemsize:
                raise CheckpointError(f"storage {key}: {len(raw)} bytes, expected {st.numel * st.dtype.itemsize}")
            st.data = np.frombuffer(raw, st.dtype, st.numel)
    return _materialize(obj)


def _load_legacy(fh: IO[bytes]) -> Any:
    safe = _Unpickler  # the header pickles hold plain ints and dicts only
    magic = safe(fh, {}).load()
    if magic != LEGACY_MAGIC:
        raise CheckpointError("not a PyTorch checkpoint (bad magic number)")
    safe(fh, {}).load()  # protocol version
    sys_info = safe(fh, {}).load()
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise CheckpointError("big-endian checkpoints are not supported")
    storages: dict[str, _Storage] = {}
    obj = _Unpickler(fh, storages).load()
    keys = safe(fh, {}).load()
    for key in keys:
        st = storages.get(str(key))
        if st is None:
            raise CheckpointError(f"storage {key} is not referenced by the pickle")
        (numel,) = struct.unpack("<q", fh.read(8))
        nbytes = numel * st.dtype.itemsize
        raw = fh.read(nbytes)
        if len(raw) != nbytes:
            raise CheckpointError(f"storage {key}: truncated")
        st.data = np.frombuffer(raw, st.dtype, numel)
    return _materialize(obj)


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A ``torch.save``-d state dict (either format) as ``{name: ndarray}``; no torch import, no code run."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        obj = _load_zip(path)
    else:
        with open(path, "rb") as fh:
            obj = _load_legacy(fh)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path.name}: not a state dict ({type(obj).__name__})")
    out = {str(k): v for k, v in obj.items() if isinstance(v, np.ndarray)}
    if not out:
        raise CheckpointError(f"{path.name}: no tensors")
    return out
