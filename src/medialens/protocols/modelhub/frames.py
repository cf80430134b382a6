"""The queue service's protobuf messages, built at import time from ``queueservice.proto`` (shipped beside this
module): the text is read into a ``FileDescriptorProto`` and protobuf's ``message_factory`` makes the classes.

The reader takes the proto3 subset that file uses (``syntax``, ``package``, ``option``, messages whose fields are
scalars, ``repeated`` messages and ``map<K, V>``) and refuses anything else, so a schema change that needs more
fails loudly at import rather than encoding something else. Byte compatibility with the official client's own
classes is checked by ``tests/unit/modelhub/test_queue_frames.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources import files

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PROTO_FILE = "queueservice.proto"
_F = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    "double": _F.TYPE_DOUBLE,
    "float": _F.TYPE_FLOAT,
    "int64": _F.TYPE_INT64,
    "uint64": _F.TYPE_UINT64,
    "int32": _F.TYPE_INT32,
    "uint32": _F.TYPE_UINT32,
    "bool": _F.TYPE_BOOL,
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
}
_TOKEN = re.compile(r"\s*(?:(//[^\n]*)|([A-Za-z_][\w.]*)|(\"[^\"]*\")|(\d+)|([{}=;<>,]))")


class ProtoSyntaxError(ValueError):
    """The .proto text uses something this reader does not take."""


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ProtoSyntaxError(f"unexpected text at {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1) is None:
            out.append(m.group(0).strip())
    return out


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks, self.i = _tokens(text), 0

    def next(self) -> str:
        if self.i >= len(self.toks):
            raise ProtoSyntaxError("unexpected end of file")
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, tok: str) -> None:
        got = self.next()
        if got != tok:
            raise ProtoSyntaxError(f"expected {tok!r}, found {got!r}")

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _field(msg: descriptor_pb2.DescriptorProto, name: str, number: int, type_: str, label: int, package: str) -> None:
    f = msg.field.add(name=name, number=number, label=label, json_name=_camel(name)[:1].lower() + _camel(name)[1:])
    if type_ in SCALARS:
        f.type = SCALARS[type_]
    else:
        f.type = _F.TYPE_MESSAGE
        f.type_name = type_ if type_.startswith(".") else f".{package}.{type_}"


def _message(r: _Reader, file: descriptor_pb2.FileDescriptorProto) -> None:
    msg = file.message_type.add(name=r.next())
    r.expect("{")
    while (tok := r.next()) != "}":
        if tok == "map":
            r.expect("<")
            key = r.next()
            r.expect(",")
            value = r.next()
            r.expect(">")
            name = r.next()
            r.expect("=")
            number = int(r.next())
            r.expect(";")
            entry = msg.nested_type.add(name=f"{_camel(name)}Entry")
            entry.options.map_entry = True
            _field(entry, "key", 1, key, _F.LABEL_OPTIONAL, file.package)
            _field(entry, "value", 2, value, _F.LABEL_OPTIONAL, file.package)
            _field(msg, name, number, f".{file.package}.{msg.name}.{entry.name}", _F.LABEL_REPEATED, file.package)
            continue
        label = _F.LABEL_OPTIONAL
        if tok == "repeated":
            label, tok = _F.LABEL_REPEATED, r.next()
        name = r.next()
        r.expect("=")
        number = int(r.next())
        r.expect(";")
        _field(msg, name, number, tok, label, file.package)


def parse_proto(text: str, name: str = PROTO_FILE) -> descriptor_pb2.FileDescriptorProto:
    """The file's descriptor, as protoc would describe it (for the subset above)."""
    file = descriptor_pb2.FileDescriptorProto(name=name)
    r = _Reader(text)
    while (tok := r.peek()) is not None:
        r.next()
        if tok == "syntax":
            r.expect("=")
            file.syntax = r.next().strip('"')
            if file.syntax != "proto3":
                raise ProtoSyntaxError("only proto3 is taken")
            r.expect(";")
        elif tok == "package":
            file.package = r.next()
            r.expect(";")
        elif tok == "option":
            key = r.next()
            r.expect("=")
            value = r.next().strip('"')
            r.expect(";")
            if key != "go_package":
                raise ProtoSyntaxError(f"option {key} is not taken")
            file.options.go_package = value
        elif tok == "message":
            _message(r, file)
        else:
            raise ProtoSyntaxError(f"{tok!r} is not taken")
    return file


def _build() -> dict[str, type]:
    text = files("medialens.protocols.modelhub").joinpath(PROTO_FILE).read_text(encoding="utf-8")
    pool = descriptor_pool.DescriptorPool()  # our own pool: never clashes with a client's classes in one process
    proto = parse_proto(text)
    pool.Add(proto)  # returns the descriptor on the C implementation only, None on the pure-Python one
    fd = pool.FindFileByName(proto.name)
    return {name: message_factory.GetMessageClass(fd.message_types_by_name[name]) for name in fd.message_types_by_name}


_CLASSES = _build()
DataFrameProto = _CLASSES["DataFrameProto"]
DataFrameListProto = _CLASSES["DataFrameListProto"]


def frame(index: int, data: bytes, tags: Mapping[str, str], message: str = "") -> bytes:
    """One serialized ``DataFrameProto`` (a websocket message of ``watch``)."""
    return DataFrameProto(index=index, tags=dict(tags), data=data, message=message).SerializeToString()


def frame_list(frames: list[tuple[int, bytes, Mapping[str, str], str]]) -> bytes:
    """A serialized ``DataFrameListProto`` (the answer of ``get``)."""
    out = DataFrameListProto()
    for index, data, tags, message in frames:
        out.index.add(index=index, tags=dict(tags), data=data, message=message)
    return out.SerializeToString()
