"""MultiLabelImageV2 (general, tagger, body_reshaping, watermark_remover), ClassifyLabelVideo (+ batch) and
MultiModalClassify through the official ai-service-python-sdk 1.1.5, checked against tests/media truth."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.models.batch_video_request_videos import BatchVideoRequestVideos
from ai_service_python_sdk.client.rest import ApiException
from PIL import Image

from tests.conftest import MEDIA
from tests.e2e.test_pai_quality import poll_batch, poll_job


def _vec(s: str) -> np.ndarray:
    return np.array([float(x) for x in s.split(",")])


def _labels(pai, name: str, **cfg) -> dict:
    response = AiServiceImageApi(pai).multi_label_image_v2(name, "", cfg)
    assert response.code == "OK"
    return response.data


def test_multi_label_image_tags_and_embedding(pai, media_url) -> None:
    cat = _labels(pai, f"{media_url}/shared/image/skimage_cat_chelsea.png", tag_top_k=5, output_embedding=True)
    assert (cat["image_width"], cat["image_height"]) == (451, 300)
    assert len(cat["tag_result"]) == 5
    assert "cat" in [t["tag"] for t in cat["tag_result"]]
    scores = [t["score"] for t in cat["tag_result"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 and round(s, 3) == s for s in scores)
    emb = _vec(cat["embedding_result"])
    assert emb.shape == (512,)
    again = _vec(_labels(pai, f"{media_url}/gen/skimage_cat_chelsea_clean.png")["embedding_result"])
    moto = _labels(pai, f"{media_url}/shared/image/skimage_motorcycle.png", tag_top_k=10)
    assert len(moto["tag_result"]) == 10 and "motorcycle" in [t["tag"] for t in moto["tag_result"]]
    other = _vec(moto["embedding_result"])
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    assert cos(emb, again) > 0.99 > cos(emb, other)
    plain = _labels(pai, f"{media_url}/shared/image/skimage_cat_chelsea.png", output_embedding=False)
    assert "embedding_result" not in plain and len(plain["tag_result"]) == 10


@pytest.mark.parametrize("cfg", [{"tag_top_k": 11}, {"tag_top_k": 0}, {"tag_top_k": "5"}, {"output_embedding": 1}])
def test_bad_configure_is_a_parameter_error(pai, media_url, cfg) -> None:
    with pytest.raises(ApiException) as exc:
        AiServiceImageApi(pai).multi_label_image_v2(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", cfg)
    body = json.loads(exc.value.body)
    assert exc.value.status == 400 and body["code"] == "PARAMETER_ERROR" and "configure." in body["message"]


def test_tagger_without_its_hub_model_is_model_not_found(pai, media_url) -> None:
    for cfg in ({"threshold": 0.5, "tagger_type": "SmilingWolf/wd-v1-4-convnextv2-tagger-v2"}, {"tagger_type": "RAM"}):
        with pytest.raises(ApiException) as exc:
            AiServiceImageApi(pai).multi_label_image_v2(
                f"{media_url}/shared/image/skimage_cat_chelsea.png", "tagger", cfg
            )
        assert exc.value.status == 404 and json.loads(exc.value.body)["message"] == "model not found"


def _decode(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_body_reshaping_returns_an_edited_image(pai, media_url) -> None:
    url = f"{media_url}/shared/image/face_rose_leslie_a.jpg"
    original = Image.open(MEDIA / "image" / "face_rose_leslie_a.jpg")
    slim = _decode(AiServiceImageApi(pai).multi_label_image_v2(url, "body_reshaping", {"degree": 2.0}).data)
    wide = _decode(AiServiceImageApi(pai).multi_label_image_v2(url, "body_reshaping", {"degree": -1.5}).data)
    assert slim.size == wide.size == original.size
    assert np.abs(np.asarray(slim, dtype=np.int16) - np.asarray(wide, dtype=np.int16)).mean() > 0.5
    with pytest.raises(ApiException) as exc:  # nobody to reshape on the moon
        AiServiceImageApi(pai).multi_label_image_v2(f"{media_url}/shared/image/skimage_moon.png", "body_reshaping", {})
    body = json.loads(exc.value.body)
    assert exc.value.status == 422 and body["code"] == "SERVER_ERROR" and "no person" in body["message"]


def test_watermark_remover_returns_a_cleaned_image(pai, media_url) -> None:
    data = (
        AiServiceImageApi(pai)
        .multi_label_image_v2(f"{media_url}/gen/cat_watermarked.png", "watermark_remover", {})
        .data
    )
    cleaned = np.asarray(_decode(data).convert("L"), dtype=np.float32)
    assert cleaned.shape == (300, 451)
    corner = cleaned[230:300, 0:250]  # where the white text was stamped
    assert (corner > 235).mean() < 0.02  # the bright strokes are gone


def test_classify_label_video_and_batch(pai, media_url) -> None:
    cfg = {
        "output_classification": True,
        "classification_top_k": 3,
        "output_tag": True,
        "tag_top_k": 5,
        "output_embedding": True,
    }
    job_id = (
        AiServiceVideoApi(pai)
        .classify_label_video(f"{media_url}/shared/video/basketball_gym.mp4", "", "", cfg)
        .data["job_id"]
    )
    job = poll_job(pai, job_id)
    assert job["state"] == 2, job
    result = json.loads(job["Result"])
    assert result["classification_result"][0]["class"] == "Sports"
    assert len(result["classification_result"]) == 3 and len(result["tag_result"]) == 5
    assert _vec(result["embedding_result"]).shape == (64,)
    assert (result["video_width"], result["video_height"]) == (426, 240) and abs(result["duration"] - 10.01) < 0.2

    videos = [
        BatchVideoRequestVideos(f"{media_url}/shared/video/basketball_gym.mp4", "basketball game"),
        BatchVideoRequestVideos(f"{media_url}/shared/video/intel_bottles.mp4", ""),
    ]
    batch_id = (
        AiServiceVideoApi(pai)
        .batch_classify_label_video(videos, "", {"output_embedding": False, "output_tag": False})
        .data["batch_id"]
    )
    jobs = poll_batch(pai, batch_id)
    results = [json.loads(j["Result"]) for j in jobs]
    assert all(j["state"] == 2 for j in jobs)
    assert results[0]["classification_result"][0]["class"] == "Sports"
    assert all("embedding_result" not in r and "tag_result" not in r for r in results)
    assert all(len(r["classification_result"]) == 1 for r in results)


def test_multimodal_classify_images_without_video(pai, media_url) -> None:
    images = [f"{media_url}/shared/image/skimage_cat_chelsea.png"]
    job_id = (
        AiServiceVideoApi(pai)
        .multimodal_classify("", images, "my cat", "multi_modal_tag", {"tag_top_k": 3})
        .data["job_id"]
    )
    job = poll_job(pai, job_id)
    assert job["state"] == 2, job
    result = json.loads(job["Result"])
    assert result["classification_result"][0]["class"] == "Animals/Pets"
    assert len(result["tag_result"]) == 3 and _vec(result["embedding_result"]).shape == (32,)
    assert result["video_height"] == result["video_width"] == result["duration"] == ""
