"""The core without a server: options, task lookup, error translation, job submission and job views."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

from medialens.analyses.errors import UnprocessableError
from medialens.config import Settings
from medialens.core import (
    AnalysisFailed,
    BadMedia,
    Core,
    InvalidOptions,
    JobRequest,
    JobState,
    Media,
    MediaTooLarge,
    ModelNotFound,
    TaskNotFound,
    Unprocessable,
)
from medialens.core import options as o
from medialens.core import results as r
from medialens.core.views import stored_result
from medialens.media.errors import DecodeError, FetchError, TooLargeError
from medialens.models.errors import ModelNotInstalledError
from medialens.store import apps
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.store.tables import Job
from medialens.tasks.base import TaskContext, TaskInput, TaskSpec, register
from medialens.tasks.results import TaskResult


class _Echoed(TaskResult):
    url: str
    data_len: int | None
    degree: float


_RAISE = {
    "decode": DecodeError("image could not be decoded: not an image"),
    "large": TooLargeError("image is larger than the limit of 5 bytes"),
    "fetch": FetchError("failed to download image, err=fetch resource failed\tcode = 404", status=404),
    "model": ModelNotInstalledError("mobilenet-v2", "medialens models pull mobilenet-v2"),
    "none": UnprocessableError("no face found"),
    "bug": ZeroDivisionError("division by zero"),
}


def _echo(_ctx: TaskContext, given: TaskInput, opts: o.BodyReshapeOptions) -> _Echoed:
    if given.url in _RAISE:
        raise _RAISE[given.url]
    data = given.data if given.data is not None else None  # run in this process: the bytes themselves
    if data is None and given.data_base64 is not None:
        data = base64.b64decode(given.data_base64)
    return _Echoed(url=given.url, data_len=None if data is None else len(data), degree=opts.degree)


register(TaskSpec("test_core_echo", "image", _echo, o.BodyReshapeOptions, _Echoed))


@pytest.fixture
def core(tmp_path: Path) -> Core:
    settings = Settings(data_dir=tmp_path, model_dir=tmp_path / "no-models")
    db = Database(settings.resolved_database_url)
    db.migrate()
    return Core(settings, db, executor=None)


# --- options -------------------------------------------------------------------------------------------------------
def test_options_defaults_and_none_means_default(core: Core) -> None:
    assert core.options("image_tags", None) == o.ImageTagsOptions(tag_top_k=10, output_embedding=True)
    assert core.options("image_tags", {"tag_top_k": None, "output_embedding": False}).model_dump() == {
        "tag_top_k": 10,
        "output_embedding": False,
    }
    assert core.options("video_classify", {"classification_top_k": 3.0}).classification_top_k == 3


@pytest.mark.parametrize(
    ("task", "given", "field", "problem"),
    [
        ("image_tags", {"tag_top_k": 11}, "tag_top_k", "must be an integer from 1 to 10"),
        ("image_tags", {"tag_top_k": 0}, "tag_top_k", "must be an integer from 1 to 10"),
        ("image_tags", {"tag_top_k": "5"}, "tag_top_k", "must be an integer from 1 to 10"),
        ("image_tags", {"tag_top_k": True}, "tag_top_k", "must be an integer from 1 to 10"),
        ("image_tags", {"tag_top_k": 2.5}, "tag_top_k", "must be an integer from 1 to 10"),
        ("image_tags", {"output_embedding": "yes"}, "output_embedding", "must be true or false"),
        ("image_tags", {"output_embedding": 1}, "output_embedding", "must be true or false"),
        ("body_reshape", {"degree": 11}, "degree", "must be a number from -10 to 10"),
        ("body_reshape", {"degree": math.nan}, "degree", "must be a number from -10 to 10"),
        ("anime_tags", {"tagger_type": 3}, "tagger_type", "must be a string"),
        ("anime_tags", {"threshold": 1.5}, "threshold", "must be a number from 0 to 1"),
    ],
)
def test_options_out_of_range_or_of_the_wrong_type(core: Core, task: str, given: dict, field: str, problem: str):
    with pytest.raises(InvalidOptions) as caught:
        core.options(task, given)
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_unknown_options_ignored_unless_strict(core: Core) -> None:
    assert core.options("image_quality", {"bogus": 1}) == o.TaskOptions()
    with pytest.raises(InvalidOptions, match="bogus is not an option of task image_quality"):
        core.options("image_quality", {"bogus": 1}, strict=True)


# --- tasks ---------------------------------------------------------------------------------------------------------
def test_task_lookup(core: Core) -> None:
    with pytest.raises(TaskNotFound):
        core.require("no_such_task")
    with pytest.raises(ModelNotFound, match="not installed"):  # this core's model folder is empty
        core.require("image_quality")
    assert core.require("test_core_echo").result is _Echoed
    infos = {t.name: t for t in core.tasks()}
    assert infos["video_quality"].media_kind == "video" and not infos["video_quality"].available
    assert set(infos["video_classify"].options_schema["properties"]) == set(o.ClassifyOptions.model_fields)
    assert all(not m.installed for m in core.models())


# --- running now ---------------------------------------------------------------------------------------------------
def test_run_now_passes_url_or_bytes_and_options(core: Core) -> None:
    opts = core.options("test_core_echo", {"degree": 2})
    assert core.run_now("test_core_echo", Media(url="http://x/a.png"), opts) == _Echoed(
        url="http://x/a.png", data_len=None, degree=2.0
    )
    assert core.run_now("test_core_echo", Media(data=b"\x00" * 7), opts).data_len == 7


def test_task_input_bytes_stay_in_process_until_made_portable() -> None:
    given = TaskInput(data=b"\x00\x01", more=(b"\x02",), options={"a": 1})
    assert "data" not in given.model_dump() and "more" not in given.model_dump()  # never stored as they are
    sent = given.portable()
    assert sent["data_base64"] == base64.b64encode(b"\x00\x01").decode() and sent["images"] == ["Ag=="]
    again = TaskInput.model_validate(sent)
    assert base64.b64decode(again.data_base64) == b"\x00\x01" and again.data is None


@pytest.mark.parametrize(
    ("what", "error", "message"),
    [
        ("decode", BadMedia, "image could not be decoded: not an image"),
        ("large", MediaTooLarge, "image is larger than the limit of 5 bytes"),
        ("fetch", BadMedia, "failed to download image, err=fetch resource failed\tcode = 404"),
        ("model", ModelNotFound, "mobilenet-v2"),
        ("none", Unprocessable, "no face found"),
        ("bug", AnalysisFailed, "ZeroDivisionError: division by zero"),
    ],
)
def test_run_now_translates_what_tasks_raise(core: Core, what: str, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        core.run_now("test_core_echo", Media(url=what), o.BodyReshapeOptions())
    assert message in caught.value.message
    if what == "fetch":
        assert caught.value.status == 404


# --- jobs ----------------------------------------------------------------------------------------------------------
def test_submitted_jobs_come_back_as_views(core: Core) -> None:
    app_id = apps.create_app(core.db, "t").app_id
    opts = core.options("video_classify", {"tag_top_k": 3})
    batch_id, ids = core.submit(
        app_id,
        [JobRequest("video_classify", opts, url=f"http://x/{i}.mp4", object_url="o") for i in range(2)],
        batch=True,
    )
    view = core.job(ids[0], app_id)
    assert view is not None and view.state == JobState.INITIALIZING and view.state_name == "initializing"
    assert view.result is None and view.created_at.tzinfo is not None and view.batch_id == batch_id
    stored = job_store.get_job(core.db, ids[0])
    assert stored.inputs["options"]["tag_top_k"] == 3 and stored.inputs["url"] == "http://x/0.mp4"
    assert core.job(ids[0], "another-app") is None
    assert [v.id for v in core.batch(batch_id, app_id)] == ids
    assert core.batch(batch_id + 1, app_id) is None


def test_completed_job_results_are_typed(core: Core) -> None:
    app_id = apps.create_app(core.db, "t").app_id
    _, (job_id,) = core.submit(app_id, [JobRequest("video_quality", o.TaskOptions(), url="http://x/v.mp4")])
    payload = {"score": 61.5, "fps": 30, "duration_s": 4.0, "static_similarity": 0.4, "width": 426, "height": 240}
    with core.db.session() as s:
        job = s.get(Job, job_id)
        job.state, job.result = JobState.COMPLETED, json.dumps(payload)
    view = core.job(job_id, app_id)
    assert view.result == r.VideoQuality(**payload) and view.state_name == "completed"


def test_stored_results_old_and_new_forms() -> None:
    labels = [{"name": "Sports", "score": 0.7, "zh": "体育"}]
    old = json.dumps({"classes": labels, "tags": None, "embedding": None, "width": 2, "height": 1, "duration": 3.5})
    res = stored_result("video_classify", old)
    assert isinstance(res, r.Classification) and res.duration_s == 3.5 and res.classes[0].zh == "体育"
    assert stored_result("video_classify", json.loads(old)) == res
    assert stored_result("video_quality", "") is None
    assert stored_result("video_quality", '{"not": "a result"}') is None
    assert stored_result("no_such_task", "{}") is None
