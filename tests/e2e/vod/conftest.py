"""A live medialens server driven by both official VOD SDKs: `alibabacloud_vod20170321` (ACS3-HMAC-SHA256 by default,
HMAC-SHA1 with ``signature_algorithm='v2'``) and `aliyun-python-sdk-vod` + `aliyun-python-sdk-core` (HMAC-SHA1)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MEDIA
from tests.support import LiveServer, ensure_models, live_server, media_server

VOD_MODELS = ("mobilenet-v2", "nanodet", "e5-small-q4", "ppocr-v5", "dlib-face", "whisper-base")
CLIENTS = ("acs3", "v2", "old")


class VodCallError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code, self.status, self.message = code, status, message


@dataclass
class VodClient:
    """One official SDK behind one call(action, **params) -> body dict; errors as VodCallError."""

    kind: str
    key_id: str
    secret: str
    endpoint: str

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None}
        return self._old(action, params) if self.kind == "old" else self._new(action, params)

    def _new(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from alibabacloud_tea_openapi import models as om
        from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
        from alibabacloud_vod20170321 import models
        from alibabacloud_vod20170321.client import Client

        config = om.Config(
            access_key_id=self.key_id, access_key_secret=self.secret, endpoint=self.endpoint, protocol="http"
        )
        if self.kind == "v2":
            config.signature_algorithm = "v2"
        client = Client(config)
        request = getattr(models, f"{action}Request")().from_map(params)
        method = getattr(client, NEW_METHODS[action])
        try:
            return method(request).body.to_map()
        except (ClientException, ServerException) as err:
            raise VodCallError(err.code, err.status_code, err.message) from err

    def _old(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from aliyunsdkcore.acs_exception.exceptions import ServerException
        from aliyunsdkcore.client import AcsClient

        module = importlib.import_module(f"aliyunsdkvod.request.v20170321.{action}Request")
        request = getattr(module, f"{action}Request")()
        request.set_endpoint(self.endpoint)
        request.set_protocol_type("http")
        for name, value in params.items():
            getattr(request, f"set_{name}")(value)
        client = AcsClient(self.key_id, self.secret, "cn-shanghai")
        try:
            return json.loads(client.do_action_with_exception(request))
        except ServerException as err:
            raise VodCallError(err.get_error_code(), err.get_http_status(), err.get_error_msg()) from err


NEW_METHODS = {
    "RegisterMedia": "register_media",
    "GetVideoInfo": "get_video_info",
    "GetVideoList": "get_video_list",
    "SearchMedia": "search_media",
    "DeleteVideo": "delete_video",
    "SubmitAIJob": "submit_aijob",
    "ListAIJob": "list_aijob",
    "GetAIVideoTagResult": "get_aivideo_tag_result",
    "GetMediaDNAResult": "get_media_dnaresult",
    "SubmitMediaDNADeleteJob": "submit_media_dnadelete_job",
    "GetJobDetail": "get_job_detail",
    "ListAIImageInfo": "list_aiimage_info",
    "GetPlayInfo": "get_play_info",
    "AddAITemplate": "add_aitemplate",
    "GetAITemplate": "get_aitemplate",
    "ListAITemplate": "list_aitemplate",
    "UpdateAITemplate": "update_aitemplate",
    "DeleteAITemplate": "delete_aitemplate",
    "SetDefaultAITemplate": "set_default_aitemplate",
    "GetDefaultAITemplate": "get_default_aitemplate",
    "SubmitAIImageJob": "submit_aiimage_job",
    "GetAIImageJobs": "get_aiimage_jobs",
    "DeleteAIImageInfos": "delete_aiimage_infos",
    "SubmitDynamicImageJob": "submit_dynamic_image_job",
    "ListDynamicImage": "list_dynamic_image",
    "DeleteDynamicImage": "delete_dynamic_image",
    "SetMessageCallback": "set_message_callback",
    "GetMessageCallback": "get_message_callback",
}


@pytest.fixture(scope="session")
def vod_media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The test media plus copies made here, over HTTP on loopback: (base URL, folder)."""
    from tests import vod_variants as vv

    root = tmp_path_factory.mktemp("vod-media")
    (root / "video").symlink_to(MEDIA / "video")
    (root / "image").symlink_to(MEDIA / "image")
    gen = root / "gen"
    gen.mkdir()
    frames, rate = vv.frames_of(MEDIA / "video" / "basketball_gym.mp4")
    vv.make_copy(frames, rate, "mirror+letterbox+fps", gen / "basketball_copy.mp4")
    vv.make_copy(frames, rate, "excerpt", gen / "basketball_excerpt.mp4")
    (gen / "not_a_video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with media_server(root) as base:
        yield base, root


@pytest.fixture(scope="session")
def vod_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    ensure_models(*VOD_MODELS)
    srv = live_server(tmp_path_factory.mktemp("vod-server"), allow_private_urls="true")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def access_key(vod_server: LiveServer) -> tuple[str, str]:
    creds = json.loads(vod_server.cli("keys", "create", "--json"))
    assert set(creds) == {"access_key_id", "access_key_secret"}
    return creds["access_key_id"], creds["access_key_secret"]


def make_client(kind: str, server: LiveServer, key: tuple[str, str]) -> VodClient:
    return VodClient(kind, key[0], key[1], f"127.0.0.1:{server.port}")


@pytest.fixture(params=CLIENTS)
def vod(request: pytest.FixtureRequest, vod_server: LiveServer, access_key: tuple[str, str]) -> VodClient:
    return make_client(request.param, vod_server, access_key)
