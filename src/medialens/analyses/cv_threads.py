"""OpenCV without its own thread pool while a video's sampled frames are analysed.

A video analysis already runs beside its decoder (``sampled_frames`` decodes in a background thread with FFmpeg's
threads on every core), so OpenCV splitting each 512-px frame's filters over the cores as well only adds hand-offs:
NIQE's MSCN filters cost 3.7 ms of CPU a frame with OpenCV's two threads on a 2-core machine, 1.3 ms with one
(the same numbers either way; OpenCV splits by rows). OpenCV's thread count is process-wide, so a count of
analyses in progress keeps it at one while any runs and gives the old count back when the last one ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

_lock = threading.Lock()
_active = 0
_saved = 0


@contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """Run the body with OpenCV on one thread; nests and overlaps across threads, restoring the count at the end."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                cv2.setNumThreads(_saved)
