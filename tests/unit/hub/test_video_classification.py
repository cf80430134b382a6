"""``video_classification``: hub-only (VideoMAE fine-tuned on UCF101): "not deployed" until pulled, then through
the loopback mirror with a tiny model in the export's layout (``pixel_values`` -> ``logits``, ``config.json``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper

from medialens.app import create_app
from medialens.config import Settings
from medialens.core import ModelNotFound
from medialens.models.installed import pull
from medialens.models.pipelines.videomae import FRAMES, MEAN, SIZE, STD, evenly
from medialens.models.registry import get_spec
from tests.conftest import MEDIA
from tests.support import media_server
from tests.unit.hub.conftest import init, model_bytes, serve, unpinned

LABELS = ["ApplyEyeMakeup", "Basketball", "YoYo"]


def tiny_videomae(weights: np.ndarray) -> bytes:
    """pixel_values [1,16,3,224,224] -> per-channel mean [1,3] -> MatMul ``weights`` [3, classes] -> logits."""
    nodes = [
        helper.make_node("ReduceMean", ["pixel_values", "axes"], ["m"], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["logits"]),
    ]
    inits = [init("axes", np.array([1, 3, 4], np.int64)), init("w", weights.astype(np.float32))]
    ins = [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, FRAMES, 3, SIZE, SIZE])]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, weights.shape[1]])]
    return model_bytes(nodes, ins, outs, inits)


def test_frames_are_taken_evenly_and_normalised_like_videomae(tmp_path: Path) -> None:
    assert [int(f[0, 0, 0]) for f in evenly([np.full((2, 2, 3), i, np.uint8) for i in range(7)], 4)] == [0, 2, 4, 6]
    assert len(evenly([np.zeros((2, 2, 3), np.uint8)] * 3)) == FRAMES  # fewer frames: repeated
    from medialens.models.pipelines.videomae import VideoMAEUCF101

    pipe = VideoMAEUCF101.__new__(VideoMAEUCF101)
    x = pipe.preprocess([np.full((240, 426, 3), 128, np.uint8)] * 3)
    assert x.shape == (FRAMES, 3, SIZE, SIZE)
    np.testing.assert_allclose(x[0, :, 0, 0], (128 / 255 - MEAN) / STD, atol=1e-5)
    with pytest.raises(ValueError, match="no frames"):
        evenly([])


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        Settings(data_dir=tmp_path / "data", model_dir=settings.model_dir, allow_private_urls=True), run_workers=True
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_video_classification_is_not_deployed_until_pulled_then_answers_the_models_class(
    mirror, settings: Settings, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = api.app.state.core
    with pytest.raises(ModelNotFound, match="medialens models pull videomae-base-ucf101"):
        core.deploy_service("video_classification")
    # red above the ImageNet mean speaks for Basketball, below it for ApplyEyeMakeup
    weights = np.zeros((3, len(LABELS)), np.float32)
    weights[0] = [-20.0, 20.0, 0.0]
    config = {"id2label": {str(i): n for i, n in enumerate(LABELS)}}
    files = {"model.onnx": tiny_videomae(weights), "config.json": json.dumps(config).encode()}
    serve(mirror, unpinned(get_spec("videomae-base-ucf101"), monkeypatch), files)
    pull("videomae-base-ucf101", settings=settings)
    token = core.deploy_service("video_classification").token

    def predict(body: dict) -> tuple[int, dict]:
        r = api.post("/api/predict/video_classification", json=body, headers={"Authorization": token})
        return r.status_code, r.json()

    with media_server(MEDIA / "video") as videos:
        status, answer = predict({"input": {"url": f"{videos}/basketball_gym.mp4", "play_duration": "2000000"}})
        assert status == 200 and answer["success"] is True, answer
        assert set(answer) == {"class", "success", "request_id"}
        # the tiny model's answer follows the video's mean red after VideoMAE's normalisation
        import av

        with av.open(str(MEDIA / "video" / "basketball_gym.mp4")) as c:
            frames = itertools.islice(c.decode(video=0), 60)
            red = np.mean([f.to_ndarray(format="rgb24")[:, :, 0].mean() / 255 for f in frames])
        assert answer["class"] == ("Basketball" if red > MEAN[0] else "ApplyEyeMakeup")
        status, answer = predict({"input": {"url": f"{videos}/no_such.mp4"}})
        assert status == 400 and answer["success"] is False and "download" in answer["error_msg"]
