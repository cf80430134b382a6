"""Every task medialens can run, by name."""

from __future__ import annotations

from medialens.tasks.base import TaskSpec, register
from medialens.tasks.quality import image_quality, video_quality

TASKS = {
    spec.name: spec
    for spec in (
        register(TaskSpec("image_quality", "image", image_quality, requires=("niqe",))),
        register(TaskSpec("video_quality", "video", video_quality, requires=("niqe",))),
    )
}
