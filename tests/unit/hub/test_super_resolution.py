"""``video_super_resolution``: the classical method's frames, and the hub tier (Real-ESRGAN x2) through the loopback
mirror with a tiny model in the hub repo's layout, run through the Model Hub endpoint on a real video."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper

from medialens.analyses import super_resolution as sr
from medialens.config import Settings
from medialens.models.installed import pull
from medialens.models.pipelines.esrgan import TILE, tiles
from medialens.models.registry import get_spec
from tests.conftest import MEDIA
from tests.support import media_server
from tests.unit.hub.conftest import init, model_bytes, serve, unpinned


def inverting_x2_graph() -> bytes:
    """[1,3,H,W] -> nearest-neighbour x2 -> 1 - x: a tiny "Real-ESRGAN" whose work shows (colours inverted)."""
    nodes = [
        helper.make_node("Resize", ["input", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Sub", ["one", "up"], ["output"]),
    ]
    inits = [init("scales", np.array([1, 1, 2, 2], np.float32)), init("one", np.array(1.0, np.float32))]
    ins = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])]
    outs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "H2", "W2"])]
    return model_bytes(nodes, ins, outs, inits)


def test_classical_frame_is_twice_the_size_and_sharper_than_plain_lanczos() -> None:
    rng = np.random.default_rng(0)
    frame = (rng.random((40, 60, 3)) * 255).astype(np.uint8)
    out = sr.classical(frame)
    assert out.shape == (80, 120, 3) and out.dtype == np.uint8
    import cv2

    plain = cv2.resize(frame, (120, 80), interpolation=cv2.INTER_LANCZOS4)
    assert np.abs(np.diff(out.astype(float), axis=1)).mean() > np.abs(np.diff(plain.astype(float), axis=1)).mean()


def test_tiles_cover_the_frame_once() -> None:
    h, w = TILE * 2 + 7, TILE + 1
    cover = np.zeros((h, w), int)
    for y0, y1, x0, x1 in tiles(h, w):
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()


def test_a_file_that_is_not_a_video_is_a_decode_error(tmp_path: Path) -> None:
    from medialens.media.errors import DecodeError

    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(DecodeError):
        sr.upscale_video(bad, tmp_path / "out.mp4", 1.0, sr.classical)


def test_real_esrgan_from_the_hub_upscales_a_video(
    mirror, settings: Settings, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(mirror, unpinned(get_spec("realesrgan-x2"), monkeypatch), {"real_esrgan_x2.onnx": inverting_x2_graph()})
    pull("realesrgan-x2", settings=settings)
    token = api.app.state.core.deploy_service("video_super_resolution").token
    with media_server(MEDIA / "video") as videos:
        body = {"input": {"url": f"{videos}/basketball_gym.mp4", "play_duration": "1000000"}}
        r = api.post("/api/predict/video_super_resolution", json=body, headers={"Authorization": token})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["success"] is True and answer["result"].startswith("Real-ESRGAN")
    parts = urlsplit(answer["oss_path"])
    clip = api.get(f"{parts.path}?{parts.query}")
    assert clip.status_code == 200
    with av.open(io.BytesIO(clip.content)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert abs(c.duration / 1e6 - 1.0) <= 0.1
    assert frames[0].shape == (480, 852, 3)  # 426 x 240 source
    with av.open(str(MEDIA / "video" / "basketball_gym.mp4")) as c:
        source = next(c.decode(video=0)).to_ndarray(format="rgb24")[:240, :426]
    small = frames[0][::2, ::2].astype(int)
    assert np.abs(small - (255 - source.astype(int))).mean() < 12  # the tiny model's inversion: the model ran


def test_a_video_too_large_to_upscale_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from medialens.media.errors import DecodeError

    monkeypatch.setattr(sr, "MAX_OUTPUT_SIDE", 800)  # basketball_gym is 426 x 240: x2 is 852 wide
    with pytest.raises(DecodeError, match="too large to up-scale: 426x240 x2 exceeds 800"):
        sr.upscale_video(MEDIA / "video" / "basketball_gym.mp4", tmp_path / "out.mp4", 1.0, sr.classical)


def test_tiled_inference_feeds_fixed_windows_and_stitches_without_seams() -> None:
    """Every window is 256 x 256 (fixed-size exports work); a nearest x2 "network" gives back the frame exactly."""
    from medialens.models.pipelines.esrgan import RealESRGANx2

    seen: set[tuple[int, ...]] = set()

    class Nearest:
        def run(self, _outputs, feeds):
            x = feeds["input"]
            seen.add(x.shape)
            return [np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)]

    pipe = RealESRGANx2.__new__(RealESRGANx2)
    pipe.session, pipe.input_name = Nearest(), "input"
    frame = (np.random.default_rng(0).random((240, 426, 3)) * 255).astype(np.uint8)
    out = pipe(frame)
    assert seen == {(1, 3, 256, 256)} and out.shape == (480, 852, 3)
    assert np.array_equal(out[::2, ::2], frame) and np.array_equal(out[1::2, 1::2], frame)
