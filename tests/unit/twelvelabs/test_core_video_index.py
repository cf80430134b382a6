"""The core's video indexes on hand-made evidence (no models): tasks and statuses, classify pages, filters,
thresholds and order."""

from __future__ import annotations

import numpy as np
import pytest

from medialens.config import Settings
from medialens.core import ClassifyRequest, ClassSpec, Core, InvalidOptions, NotFound, VideoIndexes
from medialens.store import jobs
from medialens.store import video_index as vs
from medialens.store.db import Database
from medialens.store.tables import JobState


def _unit(*xs: float) -> list[float]:
    v = np.zeros(384)
    v[: len(xs)] = xs
    return list(v / np.linalg.norm(v))


def _evidence(x: float, duration: float = 4.0) -> dict:
    return {
        "duration": duration,
        "fps": 25.0,
        "width": 640,
        "height": 360,
        "size": 1000,
        "segments": [{"start": 0.0, "end": duration, "embedding": _unit(x, 1 - x)}],
        "transcript": [],
        "text_in_video": [],
    }


@pytest.fixture
def setup(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.migrate()
    service = VideoIndexes.of(Core(settings, db, None))
    prompts = {"ball": np.array(_unit(1, 0), np.float32), "cake": np.array(_unit(0, 1), np.float32)}
    monkeypatch.setattr(service, "_prompt_embeddings", lambda ps: {p: prompts[p] for p in ps})
    monkeypatch.setattr(service, "_clip_text", lambda ps: None)
    _key, key_row = vs.create_api_key(db)
    owner = key_row.app_id
    index_id = service.create_index(owner, "i", [{"engine_name": "m", "engine_options": ["visual"]}], None)
    videos = []
    for k, x in enumerate([1.0, 0.0, 0.8, 0.2, 0.9]):
        _b, (job_id,) = jobs.create_jobs(db, owner, [jobs.NewJob("video_index", {})])
        row = vs.IndexedVideo(
            id=vs.new_id(),
            video_id=vs.new_id(),
            index_id=index_id,
            app_id=owner,
            job_id=job_id,
            filename=f"v{k}.mp4",
            source_url="",
            title="",
            info={},
            user_metadata={"n": k},
        )
        vs.add_video(db, row)
        jobs.claim_job(db, job_id, "w", 30)
        jobs.finish_job(db, job_id, "w", state=JobState.COMPLETED, message="ok", result=_evidence(x, 4.0 + k))
        videos.append(row.video_id)
    return service, owner, index_id, videos


CLASSES = [ClassSpec("Ball", ("ball",), ("visual",)), ClassSpec("Cake", ("cake",), ("visual",))]


def test_pages_follow_tokens_both_ways(setup) -> None:
    service, owner, index_id, videos = setup
    first = service.classify(owner, ClassifyRequest(classes=CLASSES, index_id=index_id, page_limit=2))
    assert first.total_results == 5 and len(first.data) == 2 and first.prev_page_token is None
    seen = [v.video_id for v in first.data]
    page, token = first, first.next_page_token
    while token:
        page, req = service.classify_page(owner, token)
        seen += [v.video_id for v in page.data]
        token = page.next_page_token
    assert sorted(seen) == sorted(videos) and len(page.data) == 1 and req.page_limit == 2
    back, _ = service.classify_page(owner, page.prev_page_token)
    assert [v.video_id for v in back.data] == seen[2:4]
    with pytest.raises(NotFound):
        service.classify_page("someone-else", first.next_page_token)
    # best first: the bulk order is by each video's top score
    tops = [v.classes[0].score for v in first.data + back.data]
    assert tops == sorted(tops, reverse=True)


def test_video_ids_order_filter_and_thresholds(setup) -> None:
    service, owner, _index_id, videos = setup
    asked = [videos[3], videos[0], videos[1]]
    page = service.classify(owner, ClassifyRequest(classes=CLASSES, video_ids=asked))
    assert [v.video_id for v in page.data] == asked
    assert page.data[1].classes[0].name == "Ball" and page.data[2].classes[0].name == "Cake"
    assert all(abs(sum(c.normalized_score for c in v.classes) - 100) < 1e-6 for v in page.data)
    only = service.classify(owner, ClassifyRequest(classes=CLASSES, video_ids=videos, filter={"n": [0, 4]}))
    assert {v.video_id for v in only.data} == {videos[0], videos[4]}
    longer = service.classify(
        owner, ClassifyRequest(classes=CLASSES, video_ids=videos, filter={"duration": {"gte": 6}})
    )
    assert {v.video_id for v in longer.data} == set(videos[2:])
    high = service.classify(owner, ClassifyRequest(classes=CLASSES, video_ids=videos, min_video_score=90))
    assert all(c.score >= 90 for v in high.data for c in v.classes)
    assert sum(len(v.classes) for v in high.data) < 2 * len(videos)  # the weak classes are gone
    with pytest.raises(InvalidOptions):
        service.classify(owner, ClassifyRequest(classes=[], video_ids=videos))


def test_tasks_status_and_progress(setup) -> None:
    service, owner, index_id, _videos = setup
    assert service.task_counts(owner, index_id) == {
        "ready": 5,
        "validating": 0,
        "pending": 0,
        "failed": 0,
        "total_result": 5,
    }
    views = service.tasks(owner, index_id, {})
    assert {t.status for t in views} == {"ready"} and all(t.percentage == 100 for t in views)
    assert views[0].metadata["duration"] == 4.0 and views[0].metadata["width"] == 640
    assert service.index(owner, index_id).video_count == 5
    assert service.index(owner, index_id).total_duration == pytest.approx(4 + 5 + 6 + 7 + 8)
    assert [v.metadata["filename"] for v in service.videos(owner, index_id, {"filename": "v2.mp4"})] == ["v2.mp4"]


def test_video_list_filters(setup) -> None:
    service, owner, index_id, videos = setup
    assert len(service.videos(owner, index_id, {})) == 5
    assert [v.id for v in service.videos(owner, index_id, {"metadata": {"n": 3}})] == [videos[3]]
    assert [v.id for v in service.videos(owner, index_id, {"metadata": '{"n": 1}'})] == [videos[1]]
    assert len(service.videos(owner, index_id, {"duration": {"lt": "6"}})) == 2


def _put_files(service: VideoIndexes, owner: str, video_id: str) -> tuple[str, int]:
    """Thumbnails (as indexing writes them) for a video; returns its task id and job id."""
    from medialens.blobs import open_blob_store
    from medialens.core.video_index import task_prefix

    row, job = vs.get_video_row(service.db, owner, video_id)
    store = open_blob_store(service.settings)
    for k in range(2):
        store.put_bytes(f"{task_prefix(row.id)}/thumbs/{k}.jpg", b"jpeg")
    return row.id, job.id


def test_deleting_a_video_or_an_index_deletes_its_evidence_and_files(setup) -> None:
    from medialens.blobs import open_blob_store
    from medialens.core.video_index import task_prefix

    service, owner, index_id, videos = setup
    store = open_blob_store(service.settings)
    files = {v: _put_files(service, owner, v) for v in videos}
    assert service.thumbnail_at(videos[0], 1.0) == b"jpeg"

    task_id, job_id = files[videos[0]]
    service.delete_video(owner, index_id, videos[0])
    assert store.list(task_prefix(task_id)) == [] and jobs.get_job(service.db, job_id) is None
    with pytest.raises(NotFound):
        service.thumbnail_at(videos[0], 1.0)
    assert store.list(task_prefix(files[videos[1]][0]))  # the others keep theirs

    task_id, job_id = files[videos[1]]
    service.delete_task(owner, task_id)
    assert store.list(task_prefix(task_id)) == [] and jobs.get_job(service.db, job_id) is None

    service.delete_index(owner, index_id)
    for v in videos[2:]:
        task_id, job_id = files[v]
        assert store.list(task_prefix(task_id)) == [] and jobs.get_job(service.db, job_id) is None
    assert store.list("video-index") == []


def test_deleting_a_task_still_indexing_cancels_it_and_drops_what_it_writes_later(setup, tmp_path) -> None:
    """The worker of a deleted task can write no result, and the runner removes the thumbnails it wrote."""
    from medialens.blobs import open_blob_store
    from medialens.jobs import runner
    from medialens.tasks.base import TaskContext

    service, owner, index_id, _videos = setup
    _b, (job_id,) = jobs.create_jobs(service.db, owner, [jobs.NewJob("video_index", {})])
    row = vs.IndexedVideo(
        id=vs.new_id(), video_id=vs.new_id(), index_id=index_id, app_id=owner, job_id=job_id, filename="x.mp4",
        source_url="", title="", info={}, user_metadata={},
    )  # fmt: skip
    vs.add_video(service.db, row)
    store = open_blob_store(service.settings)

    def slow_task(ctx: TaskContext, _inputs: dict):
        service.delete_task(owner, row.id)  # deleted while it runs
        ctx.outputs.append(f"video-index/{row.id}/thumbs")
        store.put_bytes(f"video-index/{row.id}/thumbs/0.jpg", b"jpeg")
        return _evidence(1.0)

    class Spec:
        def run(self, ctx, inputs):
            return slow_task(ctx, inputs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "get_task", lambda _name: Spec())
        mp.setattr(runner, "stored_result", lambda r: r)
        assert runner.run_job(service.db, service.settings, job_id, "w")
    assert jobs.get_job(service.db, job_id) is None and store.list(f"video-index/{row.id}") == []


def test_classify_without_the_text_model_is_the_model_error_not_a_crash(setup, monkeypatch) -> None:
    from medialens.core import ModelNotFound
    from medialens.models.errors import ModelNotInstalledError

    service, owner, index_id, _videos = setup

    def missing(_prompts):
        raise ModelNotInstalledError("e5-small-q4", "run `medialens models pull e5-small-q4`")

    monkeypatch.setattr(service, "_prompt_embeddings", missing)
    with pytest.raises(ModelNotFound):
        service.classify(owner, ClassifyRequest(classes=CLASSES, index_id=index_id))
