"""The VOD actions medialens serves, by name (WIRE.md §B.5): each takes the verified call and returns the answer's
body without RequestId. Parameter checks raise VodError; the core's errors are mapped by the route."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medialens.core import BadMedia, JobState
from medialens.core.vod import AIJobView, MediaView, Vod
from medialens.protocols.vod import errors

MAX_JOB_IDS = 10
MAX_PAGE_SIZE = 100
STATUS = {
    JobState.INITIALIZING: "init",
    JobState.RUNNING: "Processing",
    JobState.COMPLETED: "success",
    JobState.FAILED: "fail",
}


@dataclass(frozen=True)
class Call:
    vod: Vod
    account: str
    params: dict[str, str]
    base_url: str

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default).strip()

    def need(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise errors.missing_parameter(name)
        return value

    def int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise errors.invalid_parameter(name, f"must be an integer from {low} to {high}")
        return int(raw)

    def json(self, name: str) -> Any:
        raw = self.get(name)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise errors.invalid_parameter(name, "must be a JSON string") from None

    def file_url(self, key: str | None) -> str:
        return f"{self.base_url}/vod/files/{key}?{self.vod.file_query(key)}" if key else ""


def _time(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else ""


def _ids(raw: str) -> list[str]:
    return [i.strip() for i in raw.split(",") if i.strip()]


# --- media library -------------------------------------------------------------------------------------------------
def _video(call: Call, m: MediaView) -> dict[str, Any]:
    return {
        "VideoId": m.media_id,
        "Title": m.title,
        "Status": m.status,
        "Duration": m.duration_s,
        "Size": m.size,
        "CoverURL": call.file_url(m.cover_key),
        "CreationTime": _time(m.created_at),
        "ModificationTime": _time(m.created_at),
        "CateId": 0,
        "Tags": "",
        "Description": "",
        "StorageLocation": "medialens",
        "RegionId": "local",
        "AppId": "app-1000000",
        "MediaSource": "general",
    } | ({"StatusMessage": m.status_message} if m.status_message else {})


def register_media(call: Call) -> dict[str, Any]:
    metas = call.json("RegisterMetadatas")
    if metas is None:
        raise errors.missing_parameter("RegisterMetadatas")
    if not isinstance(metas, list) or not 1 <= len(metas) <= 10 or not all(isinstance(m, dict) for m in metas):
        raise errors.invalid_parameter("RegisterMetadatas", "must be a JSON array of 1 to 10 objects")
    registered, failed = [], []
    for meta in metas:
        url, title = meta.get("FileURL"), meta.get("Title", "")
        if not isinstance(url, str) or not url or not isinstance(title, str):
            raise errors.invalid_parameter("RegisterMetadatas", "each object needs a FileURL string")
        try:
            media = call.vod.start_registration(call.account, url, title)
        except Exception as err:  # one bad URL does not sink the others: it is listed as failed
            if not isinstance(err, BadMedia):
                raise
            failed.append(url)
            continue
        registered.append({"FileURL": url, "MediaId": media.media_id, "NewRegister": True})
    return {"RegisteredMediaList": registered, "FailedFileURLs": failed}


def get_video_info(call: Call) -> dict[str, Any]:
    return {"Video": _video(call, call.vod.media(call.account, call.need("VideoId")))}


def get_video_list(call: Call) -> dict[str, Any]:
    page = call.int("PageNo", 1, 1, 10**6)
    size = call.int("PageSize", 20, 1, MAX_PAGE_SIZE)
    sort = call.get("SortBy", "CreationTime:Desc")
    items, total = call.vod.list_media(call.account, page=page, size=size, newest_first=not sort.endswith(":Asc"))
    return {"Total": total, "VideoList": {"Video": [_video(call, m) for m in items]}}


_TITLE_MATCH = re.compile(r"""^\s*Title\s*(?:=|in)\s*\(?\s*['"](.*?)['"]\s*\)?\s*$""", re.IGNORECASE)


def search_media(call: Call) -> dict[str, Any]:
    page = call.int("PageNo", 1, 1, 10**6)
    size = call.int("PageSize", 10, 1, MAX_PAGE_SIZE)
    search_type = call.get("SearchType", "video")
    if search_type.lower() not in ("video", ""):
        return {"Total": 0, "MediaList": [], "ScrollToken": ""}
    match, title = call.get("Match"), ""
    if match:
        found = _TITLE_MATCH.match(match)
        if found is None:
            raise errors.invalid_parameter("Match", "only Title = 'x' and Title in ('x') are supported")
        title = found.group(1)
    sort = call.get("SortBy", "CreationTime:Desc")
    items, total = call.vod.list_media(
        call.account, page=page, size=size, title=title, newest_first=not sort.endswith(":Asc")
    )
    media = [
        {"MediaId": m.media_id, "MediaType": "video", "CreationTime": _time(m.created_at), "Video": _video(call, m)}
        for m in items
    ]
    return {"Total": total, "MediaList": media, "ScrollToken": ""}


def delete_video(call: Call) -> dict[str, Any]:
    ids = _ids(call.need("VideoIds"))
    if len(ids) > 20:
        raise errors.invalid_parameter("VideoIds", "at most 20 ids")
    missing = [i for i in ids if not call.vod.delete_media(call.account, i)]
    return {"NonExistVideoIds": missing, "ForbiddenVideoIds": []}


# --- AI jobs -------------------------------------------------------------------------------------------------------
def submit_ai_job(call: Call) -> dict[str, Any]:
    media_id = call.need("MediaId")
    types = _ids(call.get("Types", "AIVideoTag"))
    unknown = [t for t in types if t not in ("AIVideoTag", "AIMediaDNA")]
    if not types or unknown:
        raise errors.invalid_parameter("Types", f"must be AIVideoTag and/or AIMediaDNA, not {','.join(unknown)[:64]}")
    config = call.json("Config") or {}
    if not isinstance(config, dict):
        raise errors.invalid_parameter("Config", "must be a JSON object")
    user_data = call.get("UserData")
    if user_data:
        call.json("UserData")  # VOD requires a JSON string
    jobs = call.vod.submit_ai_jobs(call.account, media_id, list(dict.fromkeys(types)), config, user_data)
    return {"AIJobList": {"AIJob": [{"JobId": j.ai_job_id, "MediaId": j.media_id, "Type": j.type} for j in jobs]}}


def _data(job: AIJobView) -> str:
    if job.result is None:
        return ""
    if job.type == "AIVideoTag":
        return json.dumps(_video_tags(job.result), ensure_ascii=False)
    if job.type == "AIMediaDNA":
        return json.dumps(_dna(job.result), ensure_ascii=False)
    return ""


def _code(job: AIJobView) -> str:
    return {JobState.COMPLETED: "0", JobState.FAILED: "InternalError"}.get(job.state, "")


def list_ai_job(call: Call) -> dict[str, Any]:
    ids = _ids(call.need("JobIds"))
    if len(ids) > MAX_JOB_IDS:
        raise errors.invalid_parameter("JobIds", f"at most {MAX_JOB_IDS} ids")
    found, missing = call.vod.ai_jobs(call.account, ids)
    jobs = [
        {
            "JobId": j.ai_job_id,
            "MediaId": j.media_id,
            "Type": j.type,
            "Status": STATUS.get(j.state, "init"),
            "Code": _code(j),
            "Message": j.message
            if j.state == JobState.FAILED
            else ("" if j.state != JobState.COMPLETED else "Success"),
            "Data": _data(j),
            "UserData": j.user_data,
            "CreationTime": _time(j.created_at),
            "CompleteTime": _time(j.finished_at),
        }
        for j in found
    ]
    return {"AIJobList": {"AIJob": jobs}, "NonExistAIJobIds": {"String": missing}}


def _times(seconds: list[float]) -> list[str]:
    return [str(round(s * 1000)) for s in seconds]  # milliseconds from the start, as strings


def _video_tags(result: Any) -> dict[str, Any]:
    return {
        "Category": [{"Tag": c} for c in result.categories],
        "Keyword": [{"Tag": k.tag, "Times": _times(k.times)} for k in result.keywords],
        "Location": [{"Tag": k.tag, "Times": _times(k.times)} for k in result.locations],
        "Person": [{"Tag": p.tag, "FaceUrl": p.face_url, "Times": _times(p.times)} for p in result.persons],
        "Time": [{"Tag": k.tag, "Times": _times(k.times)} for k in result.times],
    }


def get_ai_video_tag_result(call: Call) -> dict[str, Any]:
    job = call.vod.latest_result(call.account, call.need("MediaId"), "AIVideoTag")
    if job is None:
        return {"VideoTagResult": {"Category": [], "Keyword": [], "Location": [], "Person": [], "Time": []}}
    tags = _video_tags(job.result)
    for person in tags["Person"]:
        if person["FaceUrl"].startswith("vod/"):
            person["FaceUrl"] = call.file_url(person["FaceUrl"])
    return {"VideoTagResult": tags}


def _dna(result: Any) -> dict[str, Any]:
    return {
        "VideoDNA": [
            {
                "PrimaryKey": m.media_id,
                "Similarity": f"{m.similarity:.4f}",
                "Detail": [
                    {
                        "Input": {"Start": f"{s.input_start:.2f}", "Duration": f"{s.input_duration:.2f}"},
                        "Duplication": {"Start": f"{s.dup_start:.2f}", "Duration": f"{s.dup_duration:.2f}"},
                    }
                    for s in m.segments
                ],
            }
            for m in result.matches
        ]
    }


def get_media_dna_result(call: Call) -> dict[str, Any]:
    job = call.vod.latest_result(call.account, call.need("MediaId"), "AIMediaDNA")
    return {"DNAResult": _dna(job.result) if job is not None else {"VideoDNA": []}}


def submit_media_dna_delete_job(call: Call) -> dict[str, Any]:
    media_id = call.need("MediaId")
    call.vod.media(call.account, media_id)
    return {"JobId": call.vod.delete_dna(call.account, media_id)}


def get_job_detail(call: Call) -> dict[str, Any]:
    job_id = call.need("JobId")
    job_type = call.get("JobType", "AI")
    found, _ = call.vod.ai_jobs(call.account, [job_id])
    if not found or job_type not in ("AI", ""):
        raise errors.job_not_found()
    j = found[0]
    detail = {
        "JobId": j.ai_job_id,
        "JobType": j.type,
        "MediaId": j.media_id,
        "Status": STATUS.get(j.state, "init"),
        "TemplateConfig": json.dumps(j.config, ensure_ascii=False),
        "Trigger": "API",
        "UserId": int(call.account) if call.account.isascii() and call.account.isdigit() else 0,
        "CreateTime": _time(j.created_at),
        "CompleteTime": _time(j.finished_at),
    }
    return {"JobType": "AI", "AIJobDetail": detail}


ACTIONS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "RegisterMedia": register_media,
    "GetVideoInfo": get_video_info,
    "GetVideoList": get_video_list,
    "SearchMedia": search_media,
    "DeleteVideo": delete_video,
    "SubmitAIJob": submit_ai_job,
    "ListAIJob": list_ai_job,
    "GetAIVideoTagResult": get_ai_video_tag_result,
    "GetMediaDNAResult": get_media_dna_result,
    "SubmitMediaDNADeleteJob": submit_media_dna_delete_job,
    "GetJobDetail": get_job_detail,
}


# --- event notification --------------------------------------------------------------------------------------------
def set_message_callback(call: Call) -> dict[str, Any]:
    kind = call.get("CallbackType", "HTTP")
    if kind.upper() != "HTTP":
        raise errors.invalid_parameter("CallbackType", "only HTTP callbacks are supported")
    url = call.need("CallbackURL")
    auth = call.get("AuthSwitch", "off").lower()
    key = call.get("AuthKey")
    if auth == "on" and not 8 <= len(key) <= 32:
        raise errors.invalid_parameter("AuthKey", "must be 8 to 32 characters when AuthSwitch is on")
    call.vod.set_callback(call.account, url, call.get("EventTypeList", "ALL"), key if auth == "on" else "")
    return {}


def get_message_callback(call: Call) -> dict[str, Any]:
    cb = call.vod.get_callback(call.account)
    if cb is None:
        return {"MessageCallback": {}}
    return {
        "MessageCallback": {
            "CallbackType": "HTTP",
            "CallbackURL": cb["url"],
            "EventTypeList": cb["event_types"],
            "AuthSwitch": "on" if cb["auth_key"] else "off",
            "AuthKey": cb["auth_key"],
            "AppId": "app-1000000",
        }
    }


ACTIONS["SetMessageCallback"] = set_message_callback
ACTIONS["GetMessageCallback"] = get_message_callback


# --- AI templates and AI images --------------------------------------------------------------------------------------
TEMPLATE_TYPES = ("AIMediaAudit", "AIImage")


def _template(t: Any) -> dict[str, Any]:
    return {
        "TemplateId": t.template_id,
        "TemplateName": t.name,
        "TemplateType": t.type,
        "TemplateConfig": t.config,
        "IsDefault": "Default" if t.is_default else "NotDefault",
        "Source": "Custom",
        "CreationTime": _time(t.created_at),
        "ModifyTime": _time(t.modified_at),
    }


def _template_config(call: Call) -> str:
    config = call.need("TemplateConfig")
    if not isinstance(call.json("TemplateConfig"), dict):
        raise errors.invalid_parameter("TemplateConfig", "must be a JSON object")
    return config


def add_ai_template(call: Call) -> dict[str, Any]:
    type_ = call.need("TemplateType")
    if type_ not in TEMPLATE_TYPES:
        raise errors.invalid_parameter("TemplateType", "must be AIMediaAudit or AIImage")
    name = call.need("TemplateName")[:128]
    return {"TemplateId": call.vod.add_template(call.account, name, type_, _template_config(call))}


def get_ai_template(call: Call) -> dict[str, Any]:
    return {"TemplateInfo": _template(call.vod.template(call.account, call.need("TemplateId")))}


def list_ai_template(call: Call) -> dict[str, Any]:
    return {"TemplateInfoList": [_template(t) for t in call.vod.templates(call.account, call.need("TemplateType"))]}


def update_ai_template(call: Call) -> dict[str, Any]:
    template_id = call.need("TemplateId")
    values = {}
    if call.get("TemplateName"):
        values["name"] = call.get("TemplateName")[:128]
    if call.get("TemplateConfig"):
        values["config"] = _template_config(call)
    call.vod.update_template(call.account, template_id, **values)
    return {"TemplateId": template_id}


def delete_ai_template(call: Call) -> dict[str, Any]:
    template_id = call.need("TemplateId")
    call.vod.delete_template(call.account, template_id)
    return {"TemplateId": template_id}


def set_default_ai_template(call: Call) -> dict[str, Any]:
    template_id = call.need("TemplateId")
    call.vod.set_default_template(call.account, template_id)
    return {"TemplateId": template_id}


def get_default_ai_template(call: Call) -> dict[str, Any]:
    return {"TemplateInfo": _template(call.vod.default_template(call.account, call.need("TemplateType")))}


def submit_ai_image_job(call: Call) -> dict[str, Any]:
    media_id = call.need("VideoId")
    config: dict[str, Any] = {}
    template_id = call.get("AITemplateId")
    if template_id:
        found = call.vod.template(call.account, template_id)
        if found.type != "AIImage":
            raise errors.invalid_parameter("AITemplateId", "is not an AIImage template")
        config = json.loads(found.config or "{}")
    user_data = call.get("UserData")
    if user_data:
        call.json("UserData")
    count = config.get("Count", config.get("count"))
    (job,) = call.vod.submit_ai_jobs(
        call.account, media_id, ["AIImage"], {"AIImage": {"Count": count} if count is not None else {}}, user_data
    )
    return {"JobId": job.ai_job_id}


def get_ai_image_jobs(call: Call) -> dict[str, Any]:
    ids = _ids(call.need("JobIds"))
    if len(ids) > MAX_JOB_IDS:
        raise errors.invalid_parameter("JobIds", f"at most {MAX_JOB_IDS} ids")
    found, _ = call.vod.ai_jobs(call.account, ids)
    jobs = []
    for j in found:
        if j.type != "AIImage":
            continue
        result = ""
        if j.result is not None:
            result = json.dumps(
                [
                    {"Url": call.file_url(i.key), "Score": f"{i.score:.4f}", "Time": f"{i.time_s:.2f}"}
                    for i in j.result.images
                ]
            )
        jobs.append(
            {
                "JobId": j.ai_job_id,
                "VideoId": j.media_id,
                "Status": STATUS.get(j.state, "init"),
                "Code": _code(j),
                "Message": j.message if j.state == JobState.FAILED else "",
                "AIImageResult": result,
                "TemplateId": "",
                "TemplateConfig": json.dumps(j.config),
                "UserData": j.user_data,
                "CreationTime": _time(j.created_at),
            }
        )
    return {"AIImageJobList": jobs}


def list_ai_image_info(call: Call) -> dict[str, Any]:
    media_id = call.need("VideoId")
    infos = [
        {
            "AIImageInfoId": i.info_id,
            "CreationTime": _time(i.created_at),
            "FileURL": call.file_url(i.blob_key),
            "Format": i.format,
            "JobId": i.ai_job_id,
            "Score": repr(float(i.score)),
            "Version": i.info_id[:16],
            "VideoId": i.media_id,
        }
        for i in call.vod.image_infos(call.account, media_id)
    ]
    return {"AIImageInfoList": infos}


def delete_ai_image_infos(call: Call) -> dict[str, Any]:
    ids = _ids(call.need("AIImageInfoIds"))
    if len(ids) > 10:
        raise errors.invalid_parameter("AIImageInfoIds", "at most 10 ids")
    call.vod.delete_image_infos(call.account, ids)
    return {}


ACTIONS.update(
    {
        "AddAITemplate": add_ai_template,
        "GetAITemplate": get_ai_template,
        "ListAITemplate": list_ai_template,
        "UpdateAITemplate": update_ai_template,
        "DeleteAITemplate": delete_ai_template,
        "SetDefaultAITemplate": set_default_ai_template,
        "GetDefaultAITemplate": get_default_ai_template,
        "SubmitAIImageJob": submit_ai_image_job,
        "GetAIImageJobs": get_ai_image_jobs,
        "ListAIImageInfo": list_ai_image_info,
        "DeleteAIImageInfos": delete_ai_image_infos,
    }
)


# --- dynamic images (GIFs) -------------------------------------------------------------------------------------------
def submit_dynamic_image_job(call: Call) -> dict[str, Any]:
    media_id = call.need("VideoId")
    override = call.json("OverrideParams") or {}
    if not isinstance(override, dict):
        raise errors.invalid_parameter("OverrideParams", "must be a JSON object")
    given: dict[str, Any] = {}
    try:
        if "Fps" in override:
            given["Fps"] = float(override["Fps"])
        if "Width" in override:
            given["Width"] = int(override["Width"])
        timeline = override.get("Timeline") or {}
        if isinstance(timeline, dict) and "Duration" in timeline:
            given["Duration"] = float(timeline["Duration"])
    except (TypeError, ValueError):
        raise errors.invalid_parameter("OverrideParams", "Fps, Width and Timeline.Duration must be numbers") from None
    (job,) = call.vod.submit_ai_jobs(call.account, media_id, ["DynamicImage"], {"DynamicImage": given}, "")
    return {"DynamicImageJob": {"JobId": job.ai_job_id}}


def list_dynamic_image(call: Call) -> dict[str, Any]:
    images = [
        {
            "DynamicImageId": d.image_id,
            "VideoId": d.media_id,
            "JobId": d.ai_job_id,
            "FileURL": call.file_url(d.blob_key),
            "Format": "gif",
            "Fps": f"{d.fps:g}",
            "Width": str(d.width),
            "Height": str(d.height),
            "Duration": f"{d.duration_s:g}",
            "FileSize": str(d.file_size),
            "CreationTime": _time(d.created_at),
        }
        for d in call.vod.dynamic_images(call.account, call.need("VideoId"))
    ]
    return {"DynamicImageList": images}


def delete_dynamic_image(call: Call) -> dict[str, Any]:
    media_id = call.need("VideoId")
    call.vod.media(call.account, media_id)
    call.vod.delete_dynamic_images(call.account, media_id, _ids(call.get("DynamicImageIds")))
    return {}


ACTIONS.update(
    {
        "SubmitDynamicImageJob": submit_dynamic_image_job,
        "ListDynamicImage": list_dynamic_image,
        "DeleteDynamicImage": delete_dynamic_image,
    }
)
