"""``video_classification``: hub-only (VideoMAE fine-tuned on UCF101): "not deployed" until pulled, then through
the loopback mirror with a narrow VideoMAE checkpoint in the hub repo's layout (``config.json`` +
``pytorch_model.bin``), converted to ONNX at pull time."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from medialens.config import Settings
from medialens.core import ModelNotFound
from medialens.models.convert import videomae
from medialens.models.installed import pull
from medialens.models.pipelines.videomae import FRAMES, MEAN, SIZE, STD, evenly
from tests.conftest import MEDIA
from tests.support import media_server
from tests.unit.hub.videomae_checkpoint import REPO, full_size, torch_zip, videomae_state

LABELS = ["ApplyEyeMakeup", "Basketball", "YoYo"]


def mean_red_videomae(weights: np.ndarray) -> tuple[dict, dict[str, np.ndarray]]:
    """A VideoMAE whose logits are ``weights`` times the sign of the clip's mean normalised red.

    Two hidden dims: the patch embedding takes the mean red of each tubelet patch (and minus it), its bias cancels
    the position table's mean; the encoder layer is the identity (zero weights around the residuals); mean pooling
    then ``fc_norm`` turn [a, -a] into [sign a, -sign a]; the classifier reads the first dim.
    """
    cfg = full_size(hidden_size=2, intermediate_size=2, num_attention_heads=1, labels=LABELS)
    sd = {k: np.zeros_like(v) for k, v in videomae_state(cfg).items()}
    t, p = cfg["tubelet_size"], cfg["patch_size"]
    proj = sd["videomae.embeddings.patch_embeddings.projection.weight"]
    proj[0, 0], proj[1, 0] = 1 / (t * p * p), -1 / (t * p * p)
    pos = videomae.sinusoid_table((FRAMES // t) * (SIZE // p) ** 2, 2)[0]
    sd["videomae.embeddings.patch_embeddings.projection.bias"] = -pos.mean(0)
    for key in sd:
        if key.endswith("layernorm_before.weight") or key.endswith("layernorm_after.weight") or key == "fc_norm.weight":
            sd[key][:] = 1.0
    sd["classifier.weight"][:, 0] = weights
    return cfg, sd


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


def test_video_classification_is_not_deployed_until_pulled_then_answers_the_models_class(
    mirror, settings: Settings, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = api.app.state.core
    with pytest.raises(ModelNotFound, match="medialens models pull videomae-base-ucf101"):
        core.deploy_service("video_classification")
    # red above the ImageNet mean speaks for Basketball, below it for ApplyEyeMakeup
    cfg, sd = mean_red_videomae(np.array([-20.0, 20.0, 0.0], np.float32))
    mirror.hf_file(REPO, "main", "pytorch_model.bin", torch_zip(sd, monkeypatch))
    mirror.hf_file(REPO, "main", "config.json", json.dumps(cfg).encode())
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
