"""A live medialens server on loopback, driven by the official clients, and a media server beside it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MEDIA
from tests.e2e.eas_client import EasClient
from tests.support import LiveServer, ensure_models, live_server, media_server
from tests.variants import blur_frame, degraded_video, image_variants, noise_frame, slideshow, stamp_watermark

# Every model the PAI analyses under test use (installed by `make test` with the offline bundle).
E2E_MODELS = (
    "niqe",
    "mobilenet-v2",
    "nanodet",
    "e5-small-q4",
    "ppocr-v5",
    "mediapipe-pose",
    "mediapipe-selfie-segmentation",
    "dlib-face",
    "age-gender",
    "mediapipe-face-landmark",
)


@pytest.fixture(scope="session")
def models() -> Path:
    return ensure_models(*E2E_MODELS)


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared media plus the degraded copies the tests make."""
    root = tmp_path_factory.mktemp("media")
    shutil.copytree(MEDIA, root / "shared")
    gen = root / "gen"
    gen.mkdir()
    for name in ("skimage_cat_chelsea.png", "face_alex_lacamoire_a.jpg", "face_kit_harington_c.jpg"):
        image_variants(MEDIA / "image" / name, gen)
    basketball = MEDIA / "video" / "basketball_gym.mp4"
    degraded_video(basketball, gen / "basketball_blur.mp4", blur_frame)
    degraded_video(basketball, gen / "basketball_noise.mp4", noise_frame)
    stamp_watermark(MEDIA / "image" / "skimage_cat_chelsea.png", gen / "cat_watermarked.png")
    slideshow(
        [MEDIA / "image" / n for n in ("skimage_cat_chelsea.png", "skimage_motorcycle.png", "skimage_coins.png")],
        gen / "slideshow.mp4",
    )
    return root


@pytest.fixture(scope="session")
def media_url(media_root: Path) -> Iterator[str]:
    with media_server(media_root) as base:
        yield base


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[LiveServer]:
    srv = live_server(tmp_path_factory.mktemp("server"), allow_private_urls="true")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def credentials(server: LiveServer) -> tuple[str, str]:
    return server.create_app("e2e")


@pytest.fixture(scope="session")
def pai(server: LiveServer, credentials: tuple[str, str]):
    from ai_service_python_sdk.client.api_client import ApiClient

    app_id, token = credentials
    return ApiClient(server.base_url, app_id, token)


@pytest.fixture(scope="module")
def eas(hub) -> Iterator[EasClient]:
    """The official ``PredictClient`` (in a child process) on the requesting module's own ``hub`` server."""
    client = EasClient(hub[0].base_url)
    yield client
    client.close()
