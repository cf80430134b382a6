"""Our queue-service messages, built from our own ``queueservice.proto`` at import, are the official client's: the
descriptors match field for field and each side parses the other's bytes (the client's generated modules run in
a spawned child, on protobuf's pure-Python implementation: see tests/e2e/eas_client.py)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from medialens.protocols.modelhub import frames
from tests.conftest import require_eas_client
from tests.e2e.eas_queue_client import client_frames


@pytest.fixture(scope="module")
def client_side():
    require_eas_client(module=False)
    ours = frames.frame_list([(7, b"\x00\xffdata", {"requestId": "r-1"}, "failed: x"), (8, b"", {}, "")])
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return ours, pool.submit(client_frames, ours).result(60)


def _normalised(fd: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    out = descriptor_pb2.FileDescriptorProto()
    out.CopyFrom(fd)
    for msg in out.message_type:
        for f in msg.field:
            f.ClearField("json_name")  # protoc 3.x did not record it
        for nested in msg.nested_type:
            for f in nested.field:
                f.ClearField("json_name")
    return out


def test_our_descriptor_is_the_clients(client_side) -> None:
    _, (serialized, _, _) = client_side
    theirs = descriptor_pb2.FileDescriptorProto.FromString(serialized)
    ours = frames.parse_proto((Path(frames.__file__).parent / frames.PROTO_FILE).read_text(encoding="utf-8"))
    assert _normalised(ours) == _normalised(theirs)


def test_bytes_go_both_ways(client_side) -> None:
    _, (_, theirs, seen) = client_side
    assert seen == [(7, b"\x00\xffdata", "failed: x", [("requestId", "r-1")]), (8, b"", "", [])]
    read = frames.DataFrameListProto.FromString(theirs)
    (df,) = read.index
    assert (df.index, df.data, df.message, dict(df.tags)) == (7, b"\x00\xffdata", "failed: x", {"requestId": "r-1"})
    assert theirs == frames.frame_list([(7, b"\x00\xffdata", {"requestId": "r-1"}, "failed: x")])


def test_the_reader_refuses_what_it_does_not_take() -> None:
    for text in (
        'syntax = "proto2";',
        'syntax = "proto3"; import "x.proto";',
        'syntax = "proto3"; option java_package = "x";',
        'syntax = "proto3"; message A { oneof x { int32 a = 1; } }',
        'syntax = "proto3"; message A { int32 a = 1 }',
        'syntax = "proto3"; message A { int32 a = 1; ',
    ):
        with pytest.raises(frames.ProtoSyntaxError):
            frames.parse_proto(text)
