"""OpenCV held to one thread while video frames are analysed, and its thread count given back afterwards."""

from __future__ import annotations

import threading

import cv2
import pytest

from medialens.analyses.cv_threads import opencv_single_threaded


@pytest.fixture(autouse=True)
def two_threads():
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    yield
    cv2.setNumThreads(before)


def test_one_thread_inside_and_the_old_count_after() -> None:
    with opencv_single_threaded():
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == 2


def test_the_count_comes_back_when_the_body_raises() -> None:
    with pytest.raises(RuntimeError, match="broken"), opencv_single_threaded():
        raise RuntimeError("broken")
    assert cv2.getNumThreads() == 2


def test_overlapping_analyses_keep_one_thread_until_the_last_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with opencv_single_threaded():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    with opencv_single_threaded():
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == 1  # the other analysis is still running
    release.set()
    thread.join(10)
    assert cv2.getNumThreads() == 2
