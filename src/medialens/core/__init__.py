"""The core: every protocol's one door to medialens (DESIGN.md, "Layers").

A protocol imports ``medialens.core`` (and ``medialens.config``) and its own package, nothing else: what it may
ask (``Core``), the errors it maps to its wire shape (``CoreError`` and kin), the views it formats (``JobView``,
``TaskInfo``, ``ModelInfo``) and the task contracts (options and result types) are all here.
"""

from medialens.core.errors import (
    AlreadyExists,
    AnalysisFailed,
    BadMedia,
    CoreError,
    InvalidOptions,
    MediaTooLarge,
    ModelNotFound,
    NotFound,
    TaskNotFound,
    Unprocessable,
    WorkersUnavailable,
)
from medialens.core.service import Core, JobRequest, Media
from medialens.core.services import HUB_MODELS, HubModel, ServiceError, ServiceView
from medialens.core.video_index import ClassifyRequest, ClassSpec, VideoIndexes
from medialens.core.views import STATE_NAMES, AppInfo, JobView, ModelInfo, TaskInfo
from medialens.store.tables import JobState
from medialens.tasks import options, results

__all__ = [
    "HUB_MODELS",
    "STATE_NAMES",
    "AlreadyExists",
    "AnalysisFailed",
    "AppInfo",
    "BadMedia",
    "ClassSpec",
    "ClassifyRequest",
    "Core",
    "CoreError",
    "HubModel",
    "InvalidOptions",
    "JobRequest",
    "JobState",
    "JobView",
    "Media",
    "MediaTooLarge",
    "ModelInfo",
    "ModelNotFound",
    "NotFound",
    "ServiceError",
    "ServiceView",
    "TaskInfo",
    "TaskNotFound",
    "Unprocessable",
    "VideoIndexes",
    "WorkersUnavailable",
    "options",
    "results",
]
