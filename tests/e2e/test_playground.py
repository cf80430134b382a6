"""The web playground (/) and admin page (/admin) in headless Chromium (Debian's chromium + chromium-driver, via
Selenium) against a live server, on real test media: what is drawn is asserted (face boxes, tags, the quality
gauge, timeline lanes of clips and speech, the transcript, live job progress), and screenshots go to
tests/artifacts/ for review.

`make test` installs chromium and chromium-driver with apt-get when it runs as root. Where that is not possible
(no root, no Debian mirror) these tests skip with the reason, under CI too: CI machines promise PostgreSQL and
Redis, not a browser. Selenium is a test dependency: without it they fail under CI."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from medialens.client import Client
from medialens.config import Settings
from tests.conftest import MEDIA, REPO, skip_unless_ci
from tests.support import LiveServer, live_server, media_server

ARTIFACTS = REPO / "tests" / "artifacts"
ADMIN_TOKEN = "playground-admin-token"
TWO_FACES = MEDIA / "image" / "face_rose_leslie_kit_harington.jpg"
VIDEO = MEDIA / "video" / "eye_makeup.avi"  # 6.6 s, someone explaining eye make-up
SPEECH = MEDIA / "audio" / "jfk_ask_not.flac"


def _chrome():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        skip_unless_ci("chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip_unless_ci("selenium is not installed (pip install -e '.[test]')")
    options = Options()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1050",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    driver = _chrome()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = live_server(tmp_path_factory.mktemp("playground"), allow_private_urls="true", admin_token=ADMIN_TOKEN)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def credential(site: LiveServer) -> str:
    return ":".join(site.create_app("playground"))


def _by(css: str):
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, css)


def _wait(driver, condition, timeout: float = 90):
    """Wait for a condition; an element the page redrew meanwhile (stale) is looked up again on the next poll."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    waiting = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(condition)


def _click(driver, css: str) -> None:
    """Click what css selects now: the admin tables are redrawn whenever a list reloads, so a found row may be gone."""
    _wait(driver, lambda d: d.find_element(*_by(css)).click() or True, 10)


def _connect(driver, site: LiveServer, credential: str) -> None:
    driver.get(site.base_url + "/")
    field = driver.find_element(*_by("#credentials"))
    field.clear()
    field.send_keys(credential)
    driver.find_element(*_by("#save-credentials")).click()
    _wait(driver, lambda d: d.find_element(*_by("#auth-status")).text.startswith("connected"))


def _analyse(driver, path: Path | None = None, url: str | None = None) -> None:
    if path is not None:
        driver.find_element(*_by("#file")).send_keys(str(path))
    elif url is not None:
        field = driver.find_element(*_by("#url"))
        field.send_keys(url)
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", field)
    _wait(driver, lambda d: d.find_element(*_by("#run")).is_enabled())
    driver.find_element(*_by("#run")).click()
    _wait(driver, lambda d: d.find_element(*_by("body")).get_attribute("data-done") == "true")


def _choose(driver, *tasks: str) -> None:
    """Tick exactly ``tasks`` (in one script: the list is redrawn when the connection or the media changes)."""
    script = """
        const inputs = [...document.querySelectorAll('#tasks input')];
        if (!arguments[0].every((t) => inputs.some((i) => i.value === t && !i.disabled))) return false;
        for (const i of inputs) i.checked = arguments[0].includes(i.value);
        updateRun();
        return true;"""
    _wait(driver, lambda d: d.execute_script(script, list(tasks)), 10)


def _section_screenshot(driver, css: str, name: str) -> None:
    section = driver.find_element(*_by(css))
    driver.execute_script("arguments[0].scrollIntoView()", section)
    section.screenshot(str(ARTIFACTS / name))


def _texts(driver, css: str) -> list[str]:
    """The texts of what ``css`` selects, read again if the page redrew an element while it was being read."""
    texts: list[str] = []

    def read(d) -> bool:
        texts[:] = [e.text for e in d.find_elements(*_by(css))]
        return True

    _wait(driver, read, 10)
    return texts


def _checked(driver) -> list[str]:
    """The ticked tasks, read in one script (the list is redrawn when the connection or the media changes)."""
    return driver.execute_script("return [...document.querySelectorAll('#tasks input:checked')].map((i) => i.value)")


def _settled(driver, read, expected, timeout: float = 10):
    """What ``read(driver)`` gives once it equals ``expected``, or after ``timeout`` (for the assertion to show):
    the page draws defaults and results a moment after the event the test waited for."""
    from selenium.common.exceptions import TimeoutException

    with contextlib.suppress(TimeoutException):
        _wait(driver, lambda d: read(d) == expected, timeout)
    return read(driver)


def test_image_faces_tags_and_quality(browser, site: LiveServer, credential: str) -> None:
    _connect(browser, site, credential)
    checked = _settled(browser, lambda d: set(_checked(d)), {"image_quality", "image_tags", "face_attributes"})
    assert checked == {"image_quality", "image_tags", "face_attributes"}
    _analyse(browser, TWO_FACES)
    assert not browser.find_elements(*_by(".card.failed")), _texts(browser, ".card.failed .status")
    with Client(site.base_url, credential) as client:  # as many boxes as the API finds faces (>= 100 px)
        found = client.analyze("face_attributes", TWO_FACES).faces
    faces = browser.find_elements(*_by("#overlay .box.face"))
    assert len(faces) == len(found) >= 1, _texts(browser, ".card[data-task=face_attributes]")
    photo = browser.find_element(*_by("#preview"))
    scale = photo.size["width"] / 501  # the photo's natural width: boxes are drawn to scale over it
    for box, face in zip(faces, found, strict=True):
        assert abs(box.size["width"] - (face.bbox[2] - face.bbox[0]) * scale) < 6
    assert len(browser.find_elements(*_by(".card[data-task=face_attributes] .face"))) == len(found)
    tags = browser.find_elements(*_by(".card[data-task=image_tags] .tag"))
    assert len(tags) >= 3 and all(t.find_element(*_by(".bar i")).size["width"] > 0 for t in tags[:3])
    score = float(browser.find_element(*_by(".card[data-task=image_quality] .gauge")).get_attribute("data-score"))
    assert 0 <= score <= 100
    browser.save_screenshot(str(ARTIFACTS / "playground-faces.png"))


def test_url_tags(browser, site: LiveServer, credential: str) -> None:
    with media_server(MEDIA) as files:
        _connect(browser, site, credential)
        _analyse(browser, url=f"{files}/image/skimage_cat_chelsea.png")
    names = [t.get_attribute("data-name") for t in browser.find_elements(*_by(".card[data-task=image_tags] .tag"))]
    assert "cat" in names, names
    assert browser.find_elements(*_by(".card[data-task=face_attributes] .muted"))  # "No face found"
    browser.save_screenshot(str(ARTIFACTS / "playground-url.png"))


def test_ocr_text_in_place(browser, site: LiveServer, credential: str) -> None:
    sign = MEDIA / "image" / "ocr_ko_en_road_sign.png"
    _connect(browser, site, credential)
    browser.find_element(*_by("#file")).send_keys(str(sign))
    _choose(browser, "watermark_remove")  # only watermark removal (it reads the text)
    _analyse(browser)
    with Client(site.base_url, credential) as client:
        regions = client.analyze("watermark_remove", sign).regions
    drawn = _settled(browser, lambda d: _texts(d, "#overlay .box.text .label"), [r.text or "text" for r in regions])
    assert drawn == [r.text or "text" for r in regions] and "Seoul" in drawn
    assert browser.find_element(*_by(".card[data-task=watermark_remove] img.output")).size["width"] > 50
    browser.save_screenshot(str(ARTIFACTS / "playground-ocr.png"))


def test_video_timeline_transcript_and_live_progress(browser, site: LiveServer, credential: str) -> None:
    _connect(browser, site, credential)
    browser.find_element(*_by("#file")).send_keys(str(VIDEO))
    checked = _settled(browser, lambda d: set(_checked(d)), {"video_quality", "video_classify"})
    assert checked == {"video_quality", "video_classify"}  # transcribe is offered for the sound track, unchecked
    _choose(browser, "video_quality", "video_classify", "video_index", "transcribe", "video_highlight")
    _analyse(browser)
    assert not browser.find_elements(*_by(".card.failed")), _texts(browser, ".card.failed .status")
    events = browser.find_elements(*_by("#progress .event"))
    states = [e.get_attribute("data-state") for e in events]
    assert states.count("2") == 5 and "0" in states, states  # queued ... completed, per job, as events came
    assert any(re.search(r"\d+%", e.text) and e.get_attribute("data-state") == "1" for e in events), _texts(
        browser, "#progress .event"
    )  # progress in per cent while running, from the server-sent events
    lanes = {
        (t.get_attribute("data-task"), t.get_attribute("data-kind")) for t in browser.find_elements(*_by(".track"))
    }
    assert {
        ("video_quality", "whole"),
        ("video_classify", "whole"),
        ("video_index", "clips"),
        ("video_index", "speech"),
        ("transcribe", "speech"),
        ("video_highlight", "highlight"),
    } <= lanes, lanes
    with Client(site.base_url, credential) as client:  # as many clips drawn as the index found, at their times
        clips = next(client.jobs(task="video_index")).result.segments
        best = next(client.jobs(task="video_highlight")).result
    drawn = browser.find_elements(*_by(".track[data-task=video_index][data-kind=clips] .entry"))
    assert [(float(e.get_attribute("data-start")), float(e.get_attribute("data-end"))) for e in drawn] == [
        (c.start, c.end) for c in clips
    ]
    (window,) = browser.find_elements(*_by(".track[data-task=video_highlight][data-kind=highlight] .entry"))
    assert float(window.get_attribute("data-start")) == best.start_s  # the five best seconds, where they are
    assert float(window.get_attribute("data-end")) == best.start_s + best.duration_s
    lane = browser.find_element(*_by(".track[data-task=video_index][data-kind=clips] .lane"))
    assert abs(sum(e.size["width"] for e in drawn) - lane.size["width"]) < 4 * len(drawn)  # they span the video
    lines = _texts(browser, "#transcript ol[data-task=transcribe] li")
    assert lines and "outer corner" in " ".join(lines).lower(), lines
    assert lines[0].startswith("0:0")
    assert browser.find_element(*_by("#player")).tag_name == "video"
    # the video went up once for all jobs (POST /v1/media); no upload is left once they are done
    uploads = Path(site.env["MEDIALENS_DATA_DIR"]) / "blobs" / "store" / "media"
    _wait(browser, lambda _d: uploads.is_dir() and not [p for p in uploads.rglob("*") if p.is_file()], 10)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(ARTIFACTS / "playground-video.png"))


def test_audio_is_transcribed(browser, site: LiveServer, credential: str) -> None:
    _connect(browser, site, credential)
    browser.find_element(*_by("#file")).send_keys(str(SPEECH))
    assert _settled(browser, _checked, ["transcribe"]) == ["transcribe"]
    _analyse(browser)
    assert not browser.find_elements(*_by(".card.failed")), _texts(browser, ".card.failed .status")
    assert browser.find_element(*_by("#player")).tag_name == "audio"
    text = " ".join(_texts(browser, "#transcript li")).lower()
    assert "my fellow americans" in text and "your country" in text, text
    with Client(site.base_url, credential) as client:
        segments = next(client.jobs(task="transcribe")).result.segments
    entries = browser.find_elements(*_by(".track[data-kind=speech] .entry"))
    assert [float(e.get_attribute("data-start")) for e in entries] == [s.start for s in segments]
    browser.find_elements(*_by("#transcript li"))[-1].click()  # plays from the line's time
    _wait(browser, lambda d: d.execute_script("return document.querySelector('#player').currentTime") > 0, 10)
    browser.save_screenshot(str(ARTIFACTS / "playground-audio.png"))


def test_admin_creates_credentials_for_the_playground(browser, site: LiveServer) -> None:
    browser.get(site.base_url + "/admin")
    browser.find_element(*_by("#admin-token")).send_keys(ADMIN_TOKEN)
    browser.find_element(*_by("#save-admin")).click()
    _wait(browser, lambda d: "signed in" in d.find_element(*_by("#admin-status")).text)
    before = len(browser.find_elements(*_by("#apps tbody tr")))
    browser.find_element(*_by("#app-name")).send_keys("from-the-browser")
    browser.find_element(*_by("#create-app")).click()
    _wait(browser, lambda d: len(d.find_elements(*_by("#apps tbody tr"))) == before + 1)
    assert ":" in browser.find_element(*_by("#new-credential")).text
    browser.save_screenshot(str(ARTIFACTS / "admin.png"))
    browser.find_element(*_by("#use-credentials")).click()
    _wait(browser, lambda d: d.find_element(*_by("#auth-status")).text.startswith("connected"))


def test_admin_manages_every_protocols_credentials(browser, site: LiveServer) -> None:
    from medialens.core import keys as vod_keys
    from medialens.store.db import Database

    settings = Settings(data_dir=Path(site.env["MEDIALENS_DATA_DIR"]))
    db = Database(settings.resolved_database_url)
    browser.get(site.base_url + "/admin")
    field = browser.find_element(*_by("#admin-token"))
    field.clear()
    field.send_keys(ADMIN_TOKEN)
    browser.find_element(*_by("#save-admin")).click()
    _wait(browser, lambda d: "signed in" in d.find_element(*_by("#admin-status")).text)

    def secret(section: str) -> dict[str, str]:
        script = (
            "return Object.fromEntries([...document.querySelectorAll(arguments[0])]"
            ".map((v) => [v.dataset.label, v.textContent]))"
        )
        return _wait(browser, lambda d: d.execute_script(script, f"#{section} .secret .secret-value"), 10)

    def rows(table: str, attr: str) -> list[str]:  # read in one script: the table is redrawn meanwhile
        script = "return [...document.querySelectorAll(arguments[0])].map((r) => r.getAttribute(arguments[1]))"
        return browser.execute_script(script, f"#{table} tbody tr", attr)

    def confirm_delete(table: str, attr: str, value: str) -> None:
        _click(browser, f"#{table} tr[{attr}='{value}'] button.danger")
        browser.switch_to.alert.accept()
        _wait(browser, lambda _d: value not in rows(table, attr), 10)

    # VOD AccessKeys: the secret shown once is the one the server checks signatures with
    browser.find_element(*_by("#create-vod-key")).click()
    made = secret("vod-keys")
    key_id = made["AccessKeyId"]
    _wait(browser, lambda _d: key_id in rows("keys", "data-key"), 10)
    assert made["AccessKeySecret"] not in browser.find_element(*_by("#keys")).text
    assert vod_keys.key_secret(db, settings, key_id)[0] == made["AccessKeySecret"]
    _click(browser, f"#keys tr[data-key='{key_id}'] button.rotate")
    _wait(browser, lambda _d: key_id not in rows("keys", "data-key") and rows("keys", "data-key"), 10)
    rotated = secret("vod-keys")["AccessKeyId"]
    assert rotated != key_id and rows("keys", "data-key") == [rotated]
    confirm_delete("keys", "data-key", rotated)

    # video-index API keys
    browser.find_element(*_by("#create-api-key")).click()
    api_key = secret("api-keys")["x-api-key"]
    prefix = api_key[:12]
    _wait(browser, lambda _d: prefix in rows("apikeys", "data-prefix"), 10)
    assert httpx.get(f"{site.base_url}/v1.2/indexes", headers={"x-api-key": api_key}).status_code == 200
    _section_screenshot(browser, "#api-keys", "admin-keys.png")
    confirm_delete("apikeys", "data-prefix", prefix)

    # Model Hub services: deploy one, call it with its token, rotate the token
    from selenium.webdriver.support.ui import Select

    # the model list is redrawn by every services reload: choose again if it was redrawn under us
    choose = "image_classification"
    _wait(browser, lambda d: Select(d.find_element(*_by("#service-model"))).select_by_value(choose) or True, 10)
    browser.find_element(*_by("#service-name")).send_keys("playground_cls")
    browser.find_element(*_by("#deploy-service")).click()
    _wait(browser, lambda _d: "playground_cls" in rows("service-list", "data-service"), 10)
    token = secret("services")["token"]
    _section_screenshot(browser, "#services", "admin-services.png")
    _click(browser, "#service-list tr[data-service='playground_cls'] button.rotate")
    _wait(browser, lambda _d: secret("services")["token"] != token, 10)
    confirm_delete("service-list", "data-service", "playground_cls")
