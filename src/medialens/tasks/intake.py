"""Media intake steps shared by the video tasks."""

from __future__ import annotations

from pathlib import Path

from medialens.media.errors import FetchError
from medialens.media.fetch import fetch_to_file
from medialens.media.types import VideoInfo
from medialens.media.video import probe_video
from medialens.tasks.base import TaskContext


class VideoDownloadError(FetchError):
    """A video URL could not be fetched; the message is the one PAI jobs show."""


def download_video(ctx: TaskContext, url: str) -> tuple[Path, VideoInfo]:
    """Fetch the video into the job's scratch folder and probe it."""
    ctx.report("video downloading")
    try:
        path = fetch_to_file(url, ctx.workdir / "video", max_bytes=ctx.settings.video_max_bytes, settings=ctx.settings)
    except FetchError as err:
        raise VideoDownloadError(f"failed to download video, err={err}", status=err.status) from err
    return path, probe_video(path, settings=ctx.settings)
