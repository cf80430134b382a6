"""Which task serves each PAI (endpoint, action, model_name); anything else is "model not found".

Only analyses that really exist are listed: an action whose analysis is not built yet answers 404 model not found
rather than a made-up result.
"""

from __future__ import annotations

ACTIONS: dict[tuple[str, str, str], str] = {
    ("images", "ImageQA", ""): "image_quality",
    ("images", "MultiLabelImageV2", ""): "image_tags",
    ("images", "FaceAttrImage", ""): "face_attributes",
    ("images", "FaceAttrImage", "fairface"): "face_age",
    ("images", "MultiLabelImageV2", "tagger"): "anime_tags",
    ("images", "MultiLabelImageV2", "body_reshaping"): "body_reshape",
    ("images", "MultiLabelImageV2", "watermark_remover"): "watermark_remove",
    ("videos", "VideoQA", ""): "video_quality",
    ("batch_videos", "VideoQA", ""): "video_quality",
    ("videos", "ClassifyLabelVideo", ""): "video_classify",
    ("batch_videos", "ClassifyLabelVideo", ""): "video_classify",
    ("videos", "MultiModalClassify", "multi_modal_tag"): "multimodal",
}


def task_for(endpoint: str, action: str, model_name: str) -> str | None:
    return ACTIONS.get((endpoint, action, model_name or ""))
