"""PAI formatting of typed results and job views, and the mapping of core errors to PAI errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from medialens.core import (
    AnalysisFailed,
    BadMedia,
    CoreError,
    InvalidOptions,
    JobView,
    MediaTooLarge,
    ModelNotFound,
    TaskNotFound,
    Unprocessable,
    WorkersUnavailable,
)
from medialens.core import results as r
from medialens.protocols.pai.errors import from_core
from medialens.protocols.pai.format import embedding_string, format_result, job_view, result_string

SPORTS = r.Label(name="Sports", score=0.71234, zh="体育")


def test_image_quality_and_video_quality_use_the_seed_names() -> None:
    assert format_result(r.ImageQuality(width=451, height=300, score=66.31)) == {
        "image_height": 300,
        "image_width": 451,
        "iqa_result": 66.31,
    }
    video = r.VideoQuality(score=61.2, fps=30, duration_s=4.0, static_similarity=0.41, width=426, height=240)
    assert format_result(video) == {
        "video_score": 61.2,
        "avg_fps": 30,
        "duration": 4.0,
        "single_img": 0.41,
        "height": 240,
        "width": 426,
    }


def test_image_tags_round_scores_and_print_the_embedding_as_a_string() -> None:
    tags = r.ImageTags(width=2, height=1, method="conse", tags=[SPORTS], embedding=[0.1234567, -1.0])
    assert format_result(tags) == {
        "image_height": 1,
        "image_width": 2,
        "tag_result": [{"score": 0.712, "tag": "Sports"}],
        "embedding_result": "0.123457,-1.0",
    }
    assert "embedding_result" not in format_result(tags.model_copy(update={"embedding": None}))
    assert embedding_string([]) == ""


def test_classification_leaves_out_what_was_switched_off_and_blanks_a_missing_video() -> None:
    post = r.Classification(classes=[SPORTS], tags=None, embedding=None, method="text")
    assert format_result(post) == {
        "classification_result": [{"class": "Sports", "score": 0.712}],
        "duration": "",
        "video_height": "",
        "video_width": "",
    }
    video = r.Classification(tags=[SPORTS], width=640, height=360, duration_s=12.5)
    assert format_result(video) == {
        "tag_result": [{"score": 0.712, "tag": "Sports"}],
        "duration": 12.5,
        "video_height": 360,
        "video_width": 640,
    }


def test_face_attributes_in_the_seed_layout() -> None:
    style = r.FemaleHairStyle(
        bangs_type={"No bangs": 1.0},
        curly_hair_type={"Straight": 1.0},
        hair_type={"Other": 1.0},
        long_short_hair={"Long": 1.0},
        tied_hair=0.1,
        braided_hair=0.2,
    )
    face = r.FaceAttributes(
        index=0,
        bbox=(1, 2, 3, 4),
        face_score=0.123456,
        face_shape={"Oval face": 1.0},
        hair_color={"Black": 1.0},
        female_hair_style=style,
        male_hair_style={"Other": 1.0},
        method="m",
        cues={"length_width": 1.3},
    )
    (attr,) = format_result(r.Faces(faces=[face], method="m"))["attr"]
    assert list(attr) == ["FaceShape", "FemaleHairStyle", "HairColor", "MaleHairStyle", "bbox", "face_score", "index"]
    assert attr["FemaleHairStyle"] == {
        "BangsType": {"No bangs": 1.0},
        "FemaleCurlyHairType": {"Straight": 1.0},
        "FemaleHairType": {"Other": 1.0},
        "FemaleLongShortHair": {"Long": 1.0},
        "Tied hair": 0.1,
        "Braided hair": 0.2,
    }
    assert (attr["bbox"], attr["face_score"]) == ([1, 2, 3, 4], 0.1235)


def test_age_edits_and_tagger() -> None:
    assert format_result(r.AgeRange(age_range="20-29", age_range_prob=0.612345, age=25.0)) == {
        "age_range": "20-29",
        "age_range_prob": 0.6123,
    }
    assert format_result(r.BodyReshape(image="abc=", degree=1.0)) == "abc="
    assert format_result(r.WatermarkRemoval(image="xyz=", regions=[], method="none")) == "xyz="
    assert format_result(r.AnimeTags(caption="1girl", probs=[0.9], model="wd14")) == {
        "caption": "1girl",
        "probs": [0.9],
    }


def _view(**changes) -> JobView:
    base = dict(
        id=7,
        app_id="app",
        task="video_quality",
        state=2,
        message="success",
        created_at=datetime(2022, 10, 12, 10, 51, 30, 15000, tzinfo=UTC),
        batch_id=3,
        object_url="http://x/v.mp4",
        result=r.VideoQuality(score=1.0, fps=25, duration_s=2.0, static_similarity=0.5, width=4, height=3),
    )
    return JobView(**{**base, **changes})


def test_job_view_keys_order_time_and_compact_result() -> None:
    view = job_view(_view())
    assert list(view) == ["Result", "app_id", "create_time", "id", "message", "state"]
    assert view["create_time"] == "2022-10-12T10:51:30.015+00:00"
    assert view["Result"] == result_string(_view())
    assert json.loads(view["Result"])["avg_fps"] == 25 and " " not in view["Result"]
    in_batch = job_view(_view(), in_batch=True)
    assert list(in_batch) == ["Result", "app_id", "batch_id", "create_time", "id", "message", "object", "state"]
    assert (in_batch["batch_id"], in_batch["object"]) == (3, "http://x/v.mp4")
    pending = job_view(_view(state=1, result=None, object_url=None), in_batch=True)
    assert (pending["Result"], pending["object"]) == ("", "")


@pytest.mark.parametrize(
    ("err", "status", "code", "message"),
    [
        (TaskNotFound("x"), 404, "PARAMETER_ERROR", "model not found"),
        (ModelNotFound("model 'niqe' is not installed"), 404, "PARAMETER_ERROR", "model not found"),
        (InvalidOptions("tag_top_k", "must be an integer from 1 to 10"), 400, "PARAMETER_ERROR",
         "configure.tag_top_k must be an integer from 1 to 10"),
        (BadMedia("failed to download image, err=x", hint="MEDIALENS_ALLOW_PRIVATE_URLS"), 400, "PARAMETER_ERROR",
         "failed to download image, err=x"),
        (MediaTooLarge("image is larger than the limit"), 400, "PARAMETER_ERROR", "image is larger than the limit"),
        (Unprocessable("no face found"), 422, "SERVER_ERROR", "no face found"),
        (WorkersUnavailable("no worker answered within 1 s"), 422, "SERVER_ERROR", "no worker answered within 1 s"),
        (AnalysisFailed("ZeroDivisionError: x"), 422, "SERVER_ERROR", "model service error: ZeroDivisionError: x"),
    ],
)  # fmt: skip
def test_core_errors_in_pai_shape(err: CoreError, status: int, code: str, message: str) -> None:
    mapped = from_core(err)
    assert (mapped.status, mapped.code, mapped.message) == (status, code, message)
