"""The official `twelvelabs` client (0.3.x) against a live medialens: API keys, indexes, upload by file and by URL,
wait_for_done, videos, classify with and without clips and detailed scores, pages; accuracy on prompt sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MEDIA, skip_unless_ci
from tests.e2e.twelvelabs_media import speech_video, text_card_video
from tests.support import LiveServer, ensure_models, live_server, media_server

TL_MODELS = (
    "mobilenet-v2",
    "nanodet",
    "e5-small-q4",
    "mediapipe-pose",
    "dlib-face",
    "mediapipe-hands",
    "whisper-base",
    "ppocr-v5",
)

# The classes every shared video is classified into, and each video's right answer.
CLASSES = [
    {"name": "basketball", "prompts": ["people playing basketball", "a basketball game in a gym"]},
    {"name": "makeup tutorial", "prompts": ["makeup tutorial", "a woman applying eye makeup"]},
    {"name": "hugging", "prompts": ["two people hugging", "people embracing each other"]},
    {"name": "cars", "prompts": ["cars driving through a parking lot", "cars on a road"]},
    {"name": "sign language", "prompts": ["sign language", "a person communicating with hand signs"]},
    {"name": "bottles", "prompts": ["plastic bottles on a table"]},
    {
        "name": "speech",
        "prompts": ["ask not what your country can do for you", "a speech to fellow Americans"],
        "options": ["conversation"],
    },
    {"name": "sale", "prompts": ["summer sale", "discount on shoes"], "options": ["text_in_video"]},
]
TRUTH = {
    "basketball_gym.mp4": "basketball",
    "eye_makeup.avi": "makeup tutorial",
    "two_men_hugging.mp4": "hugging",
    "intel_cars_parking_lot.mp4": "cars",
    "intel_bottles.mp4": "bottles",
    **{f"asl_{w}.mkv": "sign language" for w in ("bird", "hungry", "no", "please", "sorry", "student", "walk", "want")},
    "sale.mp4": "sale",
    "speech.mp4": "speech",
}
BY_FILE = {"basketball_gym.mp4", "eye_makeup.avi", "asl_bird.mkv", "sale.mp4"}  # the rest go by URL
OPTIONS = ["visual", "conversation", "text_in_video"]


@pytest.fixture(scope="module")
def tl_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tl-media")
    for name in TRUTH:
        if (MEDIA / "video" / name).exists():
            (root / name).symlink_to(MEDIA / "video" / name)
    text_card_video(root / "sale.mp4")
    speech_video(root / "speech.mp4")
    return root


@pytest.fixture(scope="module")
def tl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    ensure_models(*TL_MODELS)
    srv = live_server(tmp_path_factory.mktemp("tl-server"), allow_private_urls="true")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api_key(tl_server: LiveServer) -> str:
    return json.loads(tl_server.cli("apikeys", "create", "--json"))["api_key"]


@pytest.fixture(scope="module")
def client(tl_server: LiveServer, api_key: str, monkeypatch_module: pytest.MonkeyPatch):
    monkeypatch_module.setenv("TWELVELABS_BASE_URL", tl_server.base_url)
    from twelvelabs import TwelveLabs

    return TwelveLabs(api_key=api_key)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def indexed(client, tl_media: Path) -> Iterator[dict]:
    """One index with every test video, half uploaded as files, half by URL; all waited for with wait_for_done."""
    index = client.index.create(name="e2e", engines=[{"name": "marengo2.6", "options": OPTIONS}])
    assert index.video_count == 0 and index.engines[0].options == OPTIONS
    started = time.monotonic()
    with media_server(tl_media) as base:
        indexed_base = base
        tasks = {}
        for name in sorted(TRUTH):
            if name in BY_FILE:
                tasks[name] = client.task.create(index_id=index.id, file=str(tl_media / name))
            else:
                tasks[name] = client.task.create(index_id=index.id, url=f"{base}/{name}")
        seen_progress = []
        for name, task in tasks.items():
            task.wait_for_done(sleep_interval=0.2, callback=lambda t: seen_progress.append(t.process.percentage))
            assert task.status == "ready", (name, task)
        elapsed = time.monotonic() - started
        videos = {name: client.task.retrieve(t.id).video_id for name, t in tasks.items()}
        yield {
            "index": index,
            "tasks": tasks,
            "videos": videos,
            "elapsed": elapsed,
            "progress": seen_progress,
            "media_url": indexed_base,
        }


def test_api_key_is_checked(tl_server: LiveServer) -> None:
    from twelvelabs import TwelveLabs
    from twelvelabs.exceptions import AuthenticationError

    os.environ["TWELVELABS_BASE_URL"] = tl_server.base_url
    with pytest.raises(AuthenticationError) as err:
        TwelveLabs(api_key="tlk_wrong").index.list()
    assert err.value.body["code"] == "api_key_invalid"
    r = httpx.get(f"{tl_server.base_url}/v1.2/indexes")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/json")


def test_indexes_crud_paging_and_errors(client) -> None:
    from twelvelabs.exceptions import ConflictError, NotFoundError

    made = [
        client.index.create(name=f"crud-{i}", engines=[{"name": "marengo2.6", "options": ["visual"]}]) for i in range(3)
    ]
    with pytest.raises(ConflictError):
        client.index.create(name="crud-0", engines=[{"name": "marengo2.6", "options": ["visual"]}])
    page = client.index.list_pagination(page_limit=2, sort_by="created_at", sort_option="asc")
    assert page.page_info.limit_per_page == 2 and page.page_info.total_results >= 3
    names = [i.name for i in page.data] + [i.name for p in page for i in p]
    assert {"crud-0", "crud-1", "crud-2"} <= set(names)
    assert [i.name for i in client.index.list(name="crud-1")] == ["crud-1"]
    client.index.update(made[1].id, "crud-renamed")
    assert client.index.retrieve(made[1].id).name == "crud-renamed"
    for m in made:
        client.index.delete(m.id)
    with pytest.raises(NotFoundError) as err:
        client.index.retrieve(made[0].id)
    assert set(err.value.body) == {"code", "message"}


def test_upload_by_file_and_url_then_videos(client, indexed: dict) -> None:
    index, videos = indexed["index"], indexed["videos"]
    assert any(0 < p < 100 for p in indexed["progress"]), "process.percentage never moved between 0 and 100"
    status = client.task.status(index.id)
    assert status.ready == len(TRUTH) and status.failed == 0 and status.total_result == len(TRUTH)
    assert client.index.retrieve(index.id).video_count == len(TRUTH)
    assert len(client.task.list(index_id=index.id, page_limit=50)) == len(TRUTH)
    v = client.index.video.retrieve(index.id, videos["basketball_gym.mp4"])
    assert v.metadata.filename == "basketball_gym.mp4" and abs(v.metadata.duration - 10.01) < 0.1
    assert (v.metadata.width, v.metadata.height) > (0, 0) and v.metadata.fps > 0 and v.metadata.size > 0
    listed = client.index.video.list(index.id, page_limit=50)
    assert {x.id for x in listed} == set(videos.values())
    client.index.video.update(index.id, videos["sale.mp4"], metadata={"campaign": "summer"})
    assert client.index.video.retrieve(index.id, videos["sale.mp4"]).metadata.model_extra["campaign"] == "summer"
    words = " ".join(x.value for x in client.index.video.transcription(index.id, videos["speech.mp4"])).lower()
    assert "ask not what your country" in words
    text = " ".join(x.value for x in client.index.video.text_in_video(index.id, videos["sale.mp4"])).upper()
    assert "SUMMER SALE" in text
    broken = client.task.create(index_id=index.id, url=f"{indexed['media_url']}/missing.mp4")
    broken.wait_for_done(sleep_interval=0.2)
    assert broken.status == "failed" and client.task.status(index.id).failed == 1
    client.task.delete(broken.id)
    assert client.task.status(index.id).failed == 0
    thumb = client.index.video.thumbnail(index.id, videos["basketball_gym.mp4"], time=2)
    assert httpx.get(thumb).headers["content-type"] == "image/jpeg"


def _top(res) -> dict[str, str]:
    pages = [list(res.data)] + [list(p) for p in res]
    return {v.video_id: v.classes[0].name for page in pages for v in page}


def test_classify_accuracy_clips_scores_and_pages(client, indexed: dict) -> None:
    index, videos = indexed["index"], indexed["videos"]
    ids = list(videos.values())
    res = client.classify.videos(video_ids=ids, options=OPTIONS, classes=CLASSES, page_limit=5)
    assert res.page_info.limit_per_page == 5 and res.page_info.total_results == len(ids)
    assert len(res.data) == 5 and res.page_info.next_page_token
    top = _top(res)
    assert set(top) == set(ids)
    name_of = {v: n for n, v in videos.items()}
    right = [name_of[v] for v, cls in top.items() if cls == TRUTH[name_of[v]]]
    wrong = {name_of[v]: cls for v, cls in top.items() if cls != TRUTH[name_of[v]]}
    accuracy = len(right) / len(ids)
    print(f"\nclassify top-1 accuracy {accuracy:.0%} ({len(right)}/{len(ids)}); wrong: {wrong}")
    print(f"indexing: {len(ids)} videos in {indexed['elapsed']:.1f} s")
    assert accuracy >= 0.8, wrong

    bulk = client.classify.index(
        index_id=index.id, options=OPTIONS, classes=CLASSES, include_clips=True, show_detailed_score=True
    )
    for v in bulk.data:
        for c in v.classes:
            assert 0 <= c.score <= 100 and 0 <= c.duration_ratio <= 1
            assert c.detailed_scores is not None and c.detailed_scores.max_score >= c.detailed_scores.avg_score
            for clip in c.clips or []:
                assert clip.option in OPTIONS and clip.end > clip.start and clip.score >= 50
        assert abs(sum(c.detailed_scores.normalized_score for c in v.classes) - 100) < 0.01
    clips = [k for v in bulk.data for c in v.classes for k in c.clips or []]
    assert clips and httpx.get(clips[0].thumbnail_url).headers["content-type"] == "image/jpeg"

    exact = client.classify.videos(
        video_ids=[videos["speech.mp4"]],
        options=["conversation"],
        classes=[{"name": "quote", "prompts": ["ask not what your country"]}],
        conversation_option="exact_match",
        include_clips=True,
    )
    (only,) = exact.data
    assert only.classes[0].name == "quote" and only.classes[0].clips[0].option == "conversation"
    high = client.classify.videos(video_ids=ids, options=OPTIONS, classes=CLASSES, threshold={"min_video_score": 99.9})
    assert all(c.score >= 99.9 for v in high.data for c in v.classes)


CLIENT_02_SCRIPT = """
import os, sys
from twelvelabs import TwelveLabs
assert TwelveLabs.__module__.startswith("twelvelabs")
import json
key, index_id, url, classes = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
client = TwelveLabs(api_key=key)
task = client.task.create(index_id=index_id, url=url)
task.wait_for_done(sleep_interval=0.2)
assert task.status == "ready", task
video_id = client.task.retrieve(task.id).video_id
options = ["visual", "conversation", "text_in_video"]
res = client.classify.videos(video_ids=[video_id], options=options, classes=classes, include_clips=True)
assert res.data[0].video_id == video_id and res.data[0].classes[0].name == "sign language", res
bulk = client.classify.index(index_id=index_id, options=options, classes=classes, page_limit=4)
pages = [bulk.data] + [p for p in bulk]
assert sum(len(p) for p in pages) == bulk.page_info.total_results
print("ok", bulk.page_info.total_results)
"""


def test_client_0_2_import_path(tl_server: LiveServer, api_key: str, indexed: dict, tmp_path: Path) -> None:
    """twelvelabs 0.2.x (its own install, beside the 0.3.x one): upload by URL, wait, classify, pages."""
    installed = Path(sys.prefix) / "twelvelabs-0.2"  # where `make install` puts it
    target = os.environ.get("MEDIALENS_TEST_TWELVELABS_02") or str(
        installed if installed.is_dir() else tmp_path / "tl02"
    )
    if not (Path(target) / "twelvelabs").is_dir():
        got = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, "twelvelabs==0.2.10"],
            capture_output=True,
            text=True,
        )
        if got.returncode != 0:
            skip_unless_ci(f"twelvelabs 0.2.10 could not be installed: {got.stderr[-300:]}")
    env = dict(os.environ, PYTHONPATH=target, TWELVELABS_BASE_URL=tl_server.base_url)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT_02_SCRIPT,
            api_key,
            indexed["index"].id,
            f"{indexed['media_url']}/asl_want.mkv",
            json.dumps(CLASSES),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    version = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('twelvelabs'))"],
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert version.startswith("0.2."), version
