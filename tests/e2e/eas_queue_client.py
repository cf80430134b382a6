"""The official ``eas-prediction`` ``QueueClient`` (and ``PredictClient`` with a long timeout), run unchanged in a
spawned child process on protobuf's pure-Python implementation (see eas_client.py for why).

Each call builds its client, runs one operation and hands back plain values: frames as ``(index, data, tags,
message)``, a ``PredictException`` as ``("error", code, message)``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

TIMEOUT_MS = 60_000


def _pure_python_protobuf() -> None:
    """Before the client's first import (its generated modules need it)."""
    import os

    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"


def _client(endpoint: str, name: str, token: str, retries: int):
    _pure_python_protobuf()
    from eas_prediction import QueueClient

    client = QueueClient(endpoint, name)
    client.set_token(token)
    client.set_timeout(TIMEOUT_MS)
    client.set_retry_count(retries)
    client.init()
    return client


def _tags(tags) -> dict[str, str]:
    """The frame's tags: a map, or (the client's protobuf 3 modules on protobuf 7's pure-Python implementation do
    not see their map-entry option) a list of key/value entries; the bytes on the wire are the same."""
    if hasattr(tags, "keys"):
        return {k: tags[k] for k in tags}
    return {e.key: e.value for e in tags}


def _plain(frames) -> list[tuple[int, bytes, dict[str, str], str]]:
    return [(int(f.index), bytes(f.data), _tags(f.tags), str(f.message)) for f in frames]


def _call(endpoint: str, name: str, token: str, op: str, args: tuple, kwargs: dict, retries: int) -> Any:
    _pure_python_protobuf()
    from eas_prediction import PredictException

    client = _client(endpoint, name, token, retries)
    try:
        result = getattr(client, op)(*args, **kwargs)
    except PredictException as err:
        return ("error", int(err.code), err.message.decode() if isinstance(err.message, bytes) else str(err.message))
    if op == "get":
        return _plain(result)
    if isinstance(result, bytes):
        return result.decode()
    return result


def _watch(endpoint: str, name: str, token: str, index: int, window: int, auto_commit: bool, count: int,
           deadline_s: float) -> Any:  # fmt: skip
    """Frames until ``count`` came or ``deadline_s`` passed (read in a thread: the client's stream never ends)."""
    import threading

    client = _client(endpoint, name, token, 0)
    got: list = []
    failed: list = []
    done = threading.Event()
    watcher = client.watch(index, window, auto_commit=auto_commit)

    def read() -> None:
        try:
            for df in watcher.run():
                got.append(df)
                if len(got) >= count:
                    break
        except Exception as err:  # the refusal of the connection (websocket-client's bad status)
            failed.append(err)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(deadline_s)
    if failed:
        err = failed[0]
        return ("error", int(getattr(err, "status_code", 0) or getattr(err, "code", 0) or 0), str(err))
    if client.watch_sock is not None:
        watcher.close()
    return _plain(got[:count])


def _predict(endpoint: str, name: str, token: str, body: bytes) -> Any:
    _pure_python_protobuf()
    from eas_prediction import PredictClient, PredictException, StringRequest

    client = PredictClient(endpoint, name)
    client.set_token(token)
    client.set_timeout(TIMEOUT_MS)
    client.set_retry_count(1)  # PredictClient's count is of tries (QueueClient's of retries)
    client.init()
    try:
        return 200, client.predict(StringRequest(body)).response_data
    except PredictException as err:
        return int(err.code), err.message


def client_frames(ours_list: bytes) -> tuple[bytes, bytes, list]:
    """In the child: the client's file descriptor, its own encoding of a list, and how it reads ours."""
    _pure_python_protobuf()
    from eas_prediction.queue_types import queueservice_pb2 as pb

    theirs = pb.DataFrameListProto()
    df = theirs.index.add()
    df.index, df.data, df.message = 7, b"\x00\xffdata", "failed: x"
    entry = df.tags.add() if not hasattr(df.tags, "keys") else None
    if entry is not None:  # protobuf 7 does not see the old module's map-entry option: a list of entries
        entry.key, entry.value = "requestId", "r-1"
    else:
        df.tags["requestId"] = "r-1"
    read = pb.DataFrameListProto()
    read.ParseFromString(ours_list)
    seen = [(f.index, f.data, f.message, sorted((t.key, t.value) for t in f.tags)) for f in read.index]
    return pb.DESCRIPTOR.serialized_pb, theirs.SerializeToString(), seen


class QueueClients:
    """``call(queue, token, "put", b"...")`` etc. through the official client in a child process."""

    def __init__(self, base_url: str) -> None:
        self.endpoint = base_url.removeprefix("http://")
        self._pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))

    def call(self, name: str, token: str, op: str, *args: Any, retries: int = 0, **kwargs: Any) -> Any:
        return self._pool.submit(_call, self.endpoint, name, token, op, args, kwargs, retries).result(120)

    def watch(self, name: str, token: str, index: int = 0, window: int = 5, *, auto_commit: bool = False,
              count: int = 1, deadline_s: float = 60.0) -> Any:  # fmt: skip
        future = self._pool.submit(_watch, self.endpoint, name, token, index, window, auto_commit, count, deadline_s)
        return future.result(deadline_s + 60)

    def predict(self, name: str, token: str, body: bytes) -> tuple[int, bytes]:
        return self._pool.submit(_predict, self.endpoint, name, token, body).result(120)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
