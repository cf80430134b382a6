"""Media intake steps shared by the tasks: fetch and decode images, fetch, probe and sample videos."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from medialens.blobs import open_blob_store
from medialens.config import Settings
from medialens.media.errors import DecodeError, FetchError
from medialens.media.fetch import fetch_bytes, fetch_to_file
from medialens.media.images import load_image
from medialens.media.prefetch import prefetched
from medialens.media.types import Frame, VideoInfo
from medialens.media.video import iter_frames, probe_video
from medialens.tasks.base import TaskContext, TaskInput

# Frames are analysed at this size: NIQE statistics are stable there, the classifiers work at 224-416 px, and
# it keeps video analysis well above real time.
FRAME_SIDE = 512
# Frames decoded ahead of the analysis in a background thread, so decoding overlaps inference: a classifier batch
# (16 frames, about 7 MB at 512 px) can be taken at once while the next one decodes.
FRAMES_AHEAD = 16


class VideoDownloadError(FetchError):
    """A video URL could not be fetched; the message is the one PAI jobs show."""


class ImageDownloadError(FetchError):
    """An image URL could not be fetched."""


def fetch_image(url: str, settings: Settings) -> Image.Image:
    """Download and decode one image under the configured limits."""
    try:
        data = fetch_bytes(url, max_bytes=settings.image_max_bytes, settings=settings)
    except FetchError as err:
        raise ImageDownloadError(f"failed to download image, err={err}", status=err.status) from err
    return load_image(data, settings=settings)


def input_image(given: TaskInput, settings: Settings) -> Image.Image:
    """The image a request carries: its bytes when it brought them (upload, base64), the uploaded media a job
    names, else what its URL serves."""
    if given.media:
        return load_image(_stored_media(settings, given.media), settings=settings)
    if given.data is not None:
        return load_image(given.data, settings=settings)
    if given.data_base64 is None:
        return fetch_image(given.url, settings)
    try:
        data = base64.b64decode(given.data_base64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise DecodeError("image is not valid base64") from err
    return load_image(data, settings=settings)


def staged_media_key(job_id: int) -> str:
    """Where a job's downloaded video is kept in the shared blob store while the job is unfinished."""
    return f"jobs/{job_id}/video"


def staged_media_job(key: str) -> int | None:
    """The job whose staged media ``key`` is (the inverse of ``staged_media_key``), or None for other keys."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == "jobs" and parts[1].isdigit() and parts[2] == "video":
        return int(parts[1])
    return None


def _stored_media(settings: Settings, key: str) -> bytes:
    try:
        return open_blob_store(settings).get_bytes(key)
    except FileNotFoundError as err:
        raise FetchError("uploaded media not found (deleted?)") from err


def download_video(ctx: TaskContext, url: str, *, media: str | None = None) -> tuple[Path, VideoInfo]:
    """Fetch the video into the job's scratch folder and probe it; ``media``, when given, is the blob-store key of
    an upload (``POST /v1/media``, a multipart job), copied instead of fetching ``url`` (an upload kept for this
    job only is dropped when the job is finished: ``TaskSpec.run``).

    With a shared blob store configured (``MEDIALENS_BLOB_URL``), a job's download is an idempotent step: a large
    one is kept in the store, so a retry on another worker (after the first one died) reuses it instead of fetching
    again. Small ones are not: a store round trip on every job costs more than the rare second fetch.
    """
    ctx.report("video downloading")
    dest = ctx.scratch() / "video"
    if media:
        try:
            path = open_blob_store(ctx.settings).get_file(media, dest)
        except FileNotFoundError as err:
            raise VideoDownloadError("failed to download video, err=uploaded media not found") from err
        return path, probe_video(path, settings=ctx.settings)
    staging = ctx.job_id is not None and bool(ctx.settings.blob_url)
    try:
        if staging and ctx.attempt > 1 and (path := _from_store(ctx, dest)) is not None:
            return path, probe_video(path, settings=ctx.settings)
        path = fetch_to_file(url, dest, max_bytes=ctx.settings.video_max_bytes, settings=ctx.settings)
    except FetchError as err:
        raise VideoDownloadError(f"failed to download video, err={err}", status=err.status) from err
    if staging and path.stat().st_size >= ctx.settings.stage_min_bytes:
        _to_store(ctx, path)
    return path, probe_video(path, settings=ctx.settings)


def download_media(ctx: TaskContext, given: TaskInput, what: str = "media") -> Path:
    """Any media file of a job (an upload, base64 bytes or a URL) in the job's scratch folder, unprobed: for tasks
    whose decoder (audio) does its own checks. Limited like videos (``video_max_bytes``)."""
    ctx.report(f"{what} downloading")
    dest = ctx.workdir / what
    try:
        if given.media:
            return open_blob_store(ctx.settings).get_file(given.media, dest)
        if given.data_base64 is not None:
            dest.write_bytes(base64.b64decode(given.data_base64, validate=True))
            return dest
        return fetch_to_file(given.url, dest, max_bytes=ctx.settings.video_max_bytes, settings=ctx.settings)
    except FileNotFoundError as err:
        raise FetchError(f"failed to download {what}, err=uploaded media not found") from err
    except (binascii.Error, ValueError) as err:
        raise DecodeError(f"{what} is not valid base64") from err


def _from_store(ctx: TaskContext, dest: Path) -> Path | None:
    """An earlier try's staged download, or None when that try never got to keep one."""
    key = staged_media_key(ctx.job_id)
    store = open_blob_store(ctx.settings)
    if not store.exists(key):
        return None
    ctx.staged.append(key)
    return store.get_file(key, dest)


def _to_store(ctx: TaskContext, path: Path) -> None:
    key = staged_media_key(ctx.job_id)
    open_blob_store(ctx.settings).put_file(key, path)
    ctx.staged.append(key)


def sample_rate(duration_s: float, settings: Settings, fps: float | None = None) -> float:
    """Frames per second to sample (``fps`` or the default rate), so that at most ``video_max_frames`` frames span
    the whole video."""
    fps = fps or settings.video_sample_fps
    if duration_s <= 0:
        return fps
    return min(fps, settings.video_max_frames / duration_s)


def sampled_frames(
    path: Path,
    info: VideoInfo,
    settings: Settings,
    fps: float | None = None,
    *,
    exact: bool = True,
    max_side: int = FRAME_SIDE,
    report: Callable[[str], None] | None = None,
) -> Iterator[Frame]:
    """The one sampling of a video that every output of a task shares, decoded in a background thread ahead of its
    consumer (closing the iterator early stops that thread). Frames are scaled to ``max_side`` by the decoder's
    own converter (a consumer that needs small frames asks for them here rather than resizing them again).

    ``exact=False`` lets the decoder skip deblocking (``iter_frames(skip_loop_filter=True)``): about a tenth less
    decoding for frames a little blockier than the file's. Classifiers do not notice (same top category on every
    shared video, embeddings within cosine 0.993); quality scores do (NIQE moved up to 6 points), so VideoQA keeps
    exact frames.

    With ``report`` (a job's ``ctx.report``) each frame reports "video analyzing N%" by its time in the video: the
    job's progress, and the point where a cancelled job stops (``report`` raises ``JobCancelled``)."""
    frames = iter_frames(
        path,
        sample_fps=sample_rate(info.duration_s, settings, fps),
        max_frames=settings.video_max_frames,
        max_side=max_side,
        threads=settings.decode_threads,
        skip_loop_filter=not exact,
    )
    ahead = prefetched(frames, FRAMES_AHEAD, name="video-decode")
    return ahead if report is None else _reporting(ahead, info.duration_s, report)


def _reporting(frames: Iterator[Frame], duration_s: float, report: Callable[[str], None]) -> Iterator[Frame]:
    """``frames``, reporting the share of the video reached before each; closes ``frames`` however it ends."""
    try:
        for frame in frames:
            share = frame.t / duration_s if duration_s > 0 else 0.0
            report(f"video analyzing {max(0, min(99, int(share * 100)))}%")
            yield frame
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
