"""The request structs of the PAI endpoints, as the Go service declares them (WIRE.md §A.5)."""

from medialens.protocols.pai.gojson import Struct

IMAGE_REQUEST = Struct(
    "ImageRequest",
    {"action": "string", "image": "string", "model_name": "string", "configure": "object"},
)

VIDEO_REQUEST = Struct(
    "VideoRequest",
    {
        "action": "string",
        "video_url": "string",
        "video_title": "string",
        "model_name": "string",
        "text": "string",
        "images": ["string"],
        "configure": "object",
    },
)

BATCH_VIDEO = Struct("BatchVideoRequestVideos", {"url": "string", "title": "string"})

BATCH_VIDEO_REQUEST = Struct(
    "BatchVideoRequest",
    {"action": "string", "videos": [BATCH_VIDEO], "model_name": "string", "configure": "object"},
)
