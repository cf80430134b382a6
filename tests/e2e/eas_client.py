"""The official ``eas-prediction`` client, run unchanged in a child process.

eas-prediction 0.36 ships protobuf modules generated for protobuf 3.x; they load only on protobuf's pure-Python
implementation, which must be chosen before protobuf is first imported — and this test process imports it
early (onnx). A spawned child chooses it for itself, so the client works whatever the parent loaded.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _predict(
    endpoint: str,
    service: str,
    token: str,
    body: bytes,
    plain: bool,
    tz: str | None,
    retries: int | None,
    timeout_ms: int | None = None,
) -> tuple[int, Any]:
    import os
    import time

    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
    if tz is not None:  # the client dates its requests in local time (WIRE.md §D.1)
        os.environ["TZ"] = tz
        time.tzset()
    from eas_prediction import PredictClient, PredictException, StringRequest

    if plain:
        client = PredictClient(endpoint, service, custom_url=f"http://{endpoint}/api/predict/{service}")
    else:
        client = PredictClient(endpoint, service)
    client.set_token(token)
    if retries is not None:
        client.set_retry_count(retries)
    if timeout_ms is not None:  # the client's own default is 5 s
        client.set_timeout(timeout_ms)
    client.init()
    try:
        resp = client.predict(StringRequest(body))
    except PredictException as err:
        try:
            return int(err.code), json.loads(err.message)
        except (TypeError, ValueError):
            return int(err.code), err.message
    finally:
        if tz is not None:
            os.environ.pop("TZ", None)
            time.tzset()
    return 200, json.loads(resp.response_data)


class EasClient:
    """``predict(...)`` answers (HTTP status, parsed JSON body) as the official client saw them."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.removeprefix("http://")
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def predict(
        self,
        service: str,
        token: str,
        body: dict[str, Any] | str | bytes,
        *,
        plain: bool = False,
        tz: str | None = None,
        retries: int | None = None,
        timeout_ms: int | None = None,
    ) -> tuple[int, Any]:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        raw = raw.encode() if isinstance(raw, str) else raw
        return self._pool.submit(_predict, self.endpoint, service, token, raw, plain, tz, retries, timeout_ms).result(
            300
        )

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
