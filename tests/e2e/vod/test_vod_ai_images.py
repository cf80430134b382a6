"""AI templates and AI images (AI-chosen covers) through every client."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.vod.conftest import VodCallError, VodClient
from tests.e2e.vod.test_vod_sdks import _register


def test_ai_templates(vod: VodClient) -> None:
    config = json.dumps({"Count": 2})
    first = vod.call("AddAITemplate", TemplateName=f"covers {vod.kind}", TemplateType="AIImage", TemplateConfig=config)
    template_id = first["TemplateId"]
    got = vod.call("GetAITemplate", TemplateId=template_id)["TemplateInfo"]
    assert got["TemplateName"] == f"covers {vod.kind}" and json.loads(got["TemplateConfig"]) == {"Count": 2}
    assert got["IsDefault"] == "NotDefault"
    vod.call("UpdateAITemplate", TemplateId=template_id, TemplateName="renamed", TemplateConfig='{"Count": 3}')
    vod.call("SetDefaultAITemplate", TemplateId=template_id)
    default = vod.call("GetDefaultAITemplate", TemplateType="AIImage")["TemplateInfo"]
    assert default["TemplateId"] == template_id and default["TemplateName"] == "renamed"
    listed = vod.call("ListAITemplate", TemplateType="AIImage")["TemplateInfoList"]
    assert template_id in [t["TemplateId"] for t in listed]
    assert vod.call("DeleteAITemplate", TemplateId=template_id)["TemplateId"] == template_id
    with pytest.raises(VodCallError) as err:
        vod.call("GetAITemplate", TemplateId=template_id)
    assert (err.value.code, err.value.status) == ("InvalidTemplate.NotFound", 404)
    with pytest.raises(VodCallError) as err:
        vod.call("AddAITemplate", TemplateName="x", TemplateType="Nope", TemplateConfig="{}")
    assert err.value.code == "InvalidParameter.TemplateType"


def test_ai_images(vod: VodClient, vod_media: tuple[str, Path]) -> None:
    media_id = _register(vod, vod_media[0], "video/basketball_gym.mp4", f"covers {vod.kind}")
    template = vod.call("AddAITemplate", TemplateName="two", TemplateType="AIImage", TemplateConfig='{"Count": 2}')
    job_id = vod.call("SubmitAIImageJob", VideoId=media_id, AITemplateId=template["TemplateId"], UserData='{"a":1}')[
        "JobId"
    ]
    deadline = time.monotonic() + 60
    while True:
        (job,) = vod.call("GetAIImageJobs", JobIds=job_id)["AIImageJobList"]
        if job["Status"] in ("success", "fail"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert job["Status"] == "success" and job["VideoId"] == media_id and json.loads(job["UserData"]) == {"a": 1}
    assert len(json.loads(job["AIImageResult"])) == 2
    infos = vod.call("ListAIImageInfo", VideoId=media_id)["AIImageInfoList"]
    assert len(infos) == 2 and all(i["JobId"] == job_id and i["Format"] == "png" for i in infos)
    scores = [float(i["Score"]) for i in infos]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 12 for s in scores)
    image = httpx.get(infos[0]["FileURL"], timeout=10)
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    vod.call("DeleteAIImageInfos", AIImageInfoIds=infos[0]["AIImageInfoId"])
    left = vod.call("ListAIImageInfo", VideoId=media_id)["AIImageInfoList"]
    assert [i["AIImageInfoId"] for i in left] == [infos[1]["AIImageInfoId"]]
    assert httpx.get(infos[0]["FileURL"], timeout=10).status_code == 403  # the file is gone


def test_dynamic_images(vod: VodClient, vod_media: tuple[str, Path]) -> None:
    media_id = _register(vod, vod_media[0], "video/basketball_gym.mp4", f"gif {vod.kind}")
    override = json.dumps({"Timeline": {"Duration": "2"}, "Fps": "5", "Width": "200"})
    job_id = vod.call("SubmitDynamicImageJob", VideoId=media_id, OverrideParams=override)["DynamicImageJob"]["JobId"]
    deadline = time.monotonic() + 60
    while True:
        images = vod.call("ListDynamicImage", VideoId=media_id)["DynamicImageList"]
        if images:
            break
        assert time.monotonic() < deadline
        time.sleep(0.3)
    (gif,) = images
    assert gif["JobId"] == job_id and gif["Format"] == "gif" and gif["Fps"] == "5" and gif["Width"] == "200"
    assert float(gif["Duration"]) == pytest.approx(2.0, abs=0.3)
    body = httpx.get(gif["FileURL"], timeout=10)
    assert body.status_code == 200 and body.content[:6] == b"GIF89a" and str(len(body.content)) == gif["FileSize"]
    vod.call("DeleteDynamicImage", VideoId=media_id, DynamicImageIds=gif["DynamicImageId"])
    assert vod.call("ListDynamicImage", VideoId=media_id)["DynamicImageList"] == []
