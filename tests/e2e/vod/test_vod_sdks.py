"""Every VOD action medialens serves, through both official SDKs and both signatures, against a live server."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.vod.conftest import CLIENTS, VodCallError, VodClient, make_client
from tests.support import LiveServer

JOB_TIMEOUT_S = 120


def _settled(vod: VodClient, media_id: str) -> dict:
    """GetVideoInfo once RegisterMedia's background job has fetched and probed the file (Normal or UploadFail)."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        video = vod.call("GetVideoInfo", VideoId=media_id)["Video"]
        if video["Status"] != "Uploading":
            return video
        assert time.monotonic() < deadline, video
        time.sleep(0.1)


def _register(vod: VodClient, base: str, path: str, title: str) -> str:
    body = vod.call("RegisterMedia", RegisterMetadatas=json.dumps([{"FileURL": f"{base}/{path}", "Title": title}]))
    assert body["FailedFileURLs"] == [] and len(body["RegisteredMediaList"]) == 1
    media_id = body["RegisteredMediaList"][0]["MediaId"]
    assert _settled(vod, media_id)["Status"] == "Normal"
    return media_id


def _wait(vod: VodClient, job_ids: list[str]) -> list[dict]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        jobs = vod.call("ListAIJob", JobIds=",".join(job_ids))["AIJobList"]["AIJob"]
        if all(j["Status"] in ("success", "fail") for j in jobs):
            return jobs
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)


def test_media_library(vod: VodClient, vod_media: tuple[str, Path]) -> None:
    base, _ = vod_media
    title = f"bird {vod.kind} {uuid.uuid4().hex[:6]}"
    metas = [
        {"FileURL": f"{base}/video/asl_bird.mkv", "Title": title},
        {"FileURL": f"{base}/gen/not_a_video.mp4"},
        {"FileURL": "ftp://example.com/a.mp4"},
    ]
    body = vod.call("RegisterMedia", RegisterMetadatas=json.dumps(metas))
    # registered at once, fetched and probed by a job; a URL that cannot be fetched at all is refused here
    assert body["FailedFileURLs"] == ["ftp://example.com/a.mp4"]
    media_id, bad_id = (m["MediaId"] for m in body["RegisteredMediaList"])
    assert vod.call("GetVideoInfo", VideoId=media_id)["Video"]["Status"] in ("Uploading", "Normal")

    bad = _settled(vod, bad_id)  # probed once: a bad file ends UploadFail, with the reason, and keeps no file
    assert bad["Status"] == "UploadFail" and bad["Duration"] == 0 and bad["CoverURL"] == ""
    if vod.kind == "old":  # the raw body (the new SDK's model keeps only the fields it knows)
        assert "video" in bad["StatusMessage"].lower() or "decode" in bad["StatusMessage"].lower(), bad
    with pytest.raises(VodCallError) as err:
        vod.call("SubmitAIJob", MediaId=bad_id, Types="AIVideoTag")
    assert (err.value.code, err.value.status) == ("Forbidden.IllegalStatus", 403)
    assert vod.call("DeleteVideo", VideoIds=bad_id)["NonExistVideoIds"] == []

    video = _settled(vod, media_id)
    assert video["Status"] == "Normal"
    assert video["VideoId"] == media_id and video["Title"] == title
    assert video["Duration"] == pytest.approx(2.1, abs=0.2) and video["Size"] == 153984
    cover = httpx.get(video["CoverURL"], timeout=10)
    assert cover.status_code == 200 and cover.content[:2] == b"\xff\xd8"
    assert httpx.get(video["CoverURL"].replace("sig=", "sig=0"), timeout=10).status_code == 403

    page1 = vod.call("GetVideoList", PageNo=1, PageSize=1)
    assert page1["Total"] >= 1 and len(page1["VideoList"]["Video"]) == 1
    assert page1["VideoList"]["Video"][0]["VideoId"] == media_id  # newest first
    found = vod.call("SearchMedia", Match=f"Title = '{title}'", SearchType="video")
    assert found["Total"] == 1 and found["MediaList"][0]["MediaId"] == media_id
    assert found["MediaList"][0]["Video"]["Title"] == title

    assert vod.call("DeleteVideo", VideoIds=media_id)["NonExistVideoIds"] == []
    assert vod.call("DeleteVideo", VideoIds=media_id)["NonExistVideoIds"] == [media_id]
    with pytest.raises(VodCallError) as err:
        vod.call("GetVideoInfo", VideoId=media_id)
    assert (err.value.code, err.value.status) == ("InvalidVideo.NotFound", 404)


@pytest.fixture(scope="module")
def analysed(vod_server: LiveServer, access_key: tuple[str, str], vod_media: tuple[str, Path]) -> dict:
    """Tags of a signer's clip, the fingerprint of the basketball clip, then of its edited copy and an excerpt."""
    base, _ = vod_media
    vod = make_client("acs3", vod_server, access_key)
    original = _register(vod, base, "video/basketball_gym.mp4", "basketball")
    signer = _register(vod, base, "video/asl_please.mkv", "please")
    submitted = vod.call(
        "SubmitAIJob",
        MediaId=signer,
        Types="AIVideoTag",
        Config=json.dumps({"AIVideoTag": {"AnalyseTypes": "category,face,ocr,asr,keyword"}}),
        UserData=json.dumps({"Extend": {"localId": "a b*~"}}),
    )["AIJobList"]["AIJob"]
    dna = vod.call("SubmitAIJob", MediaId=original, Types="AIMediaDNA")["AIJobList"]["AIJob"]
    _wait(vod, [submitted[0]["JobId"], dna[0]["JobId"]])  # the original is in the library before the copies come
    copy = _register(vod, base, "gen/basketball_copy.mp4", "copy")
    excerpt = _register(vod, base, "gen/basketball_excerpt.mp4", "excerpt")
    more = [vod.call("SubmitAIJob", MediaId=m, Types="AIMediaDNA")["AIJobList"]["AIJob"][0] for m in (copy, excerpt)]
    jobs = _wait(vod, [submitted[0]["JobId"], dna[0]["JobId"]] + [j["JobId"] for j in more])
    return {
        "signer": signer,
        "original": original,
        "copy": copy,
        "excerpt": excerpt,
        "tag_job": submitted[0]["JobId"],
        "jobs": jobs,
    }


def test_submit_returns_jobs_per_type(vod: VodClient, vod_media: tuple[str, Path]) -> None:
    base, _ = vod_media
    media_id = _register(vod, base, "video/asl_no.mkv", f"no {vod.kind}")
    jobs = vod.call("SubmitAIJob", MediaId=media_id, Types="AIVideoTag,AIMediaDNA", UserData='{"k":"v"}')
    listed = jobs["AIJobList"]["AIJob"]
    assert [j["Type"] for j in listed] == ["AIVideoTag", "AIMediaDNA"] and {j["MediaId"] for j in listed} == {media_id}
    done = _wait(vod, [j["JobId"] for j in listed])
    assert [j["Status"] for j in done] == ["success", "success"]
    with pytest.raises(VodCallError) as err:
        vod.call("SubmitAIJob", MediaId=media_id, Types="AIVideoCensor")
    assert err.value.code == "InvalidParameter.Types" and err.value.status == 400
    with pytest.raises(VodCallError) as err:
        vod.call("SubmitAIJob", MediaId="nope", Types="AIVideoTag")
    assert err.value.code == "InvalidVideo.NotFound"


def test_ai_results(vod: VodClient, analysed: dict) -> None:
    jobs = vod.call("ListAIJob", JobIds=f"{analysed['tag_job']},missing1")
    (job,) = jobs["AIJobList"]["AIJob"]
    assert jobs["NonExistAIJobIds"]["String"] == ["missing1"]
    assert job["Status"] == "success" and job["Code"] == "0" and job["Type"] == "AIVideoTag"
    assert json.loads(job["Data"])["Category"]  # Data is a JSON string
    if vod.kind == "old":  # the raw JSON carries the job's UserData (the new SDK's model has no field for it)
        assert json.loads(job["UserData"]) == {"Extend": {"localId": "a b*~"}}

    tags = vod.call("GetAIVideoTagResult", MediaId=analysed["signer"])["VideoTagResult"]
    assert len(tags["Category"]) == 1 and tags["Category"][0]["Tag"]
    assert [p["Tag"] for p in tags["Person"]] == ["person 1"]  # one signer, clustered across the clip
    face = httpx.get(tags["Person"][0]["FaceUrl"], timeout=10)
    assert face.status_code == 200 and face.content[:2] == b"\xff\xd8"
    assert all(t.isdigit() for t in tags["Person"][0]["Times"])

    detail = vod.call("GetJobDetail", JobId=analysed["tag_job"], JobType="AI")
    assert detail["AIJobDetail"]["MediaId"] == analysed["signer"] and detail["AIJobDetail"]["Status"] == "success"
    assert json.loads(detail["AIJobDetail"]["TemplateConfig"]) == {"AnalyseTypes": "category,face,ocr,asr,keyword"}

    assert vod.call("GetMediaDNAResult", MediaId=analysed["original"])["DNAResult"]["VideoDNA"] == []
    family = {analysed["original"], analysed["copy"], analysed["excerpt"]}
    for copy in ("copy", "excerpt"):
        # the two copies ran at once: whichever finished second also lists the first (a copy of a copy)
        matches = {
            m["PrimaryKey"]: m for m in vod.call("GetMediaDNAResult", MediaId=analysed[copy])["DNAResult"]["VideoDNA"]
        }
        assert analysed["original"] in matches and set(matches) <= family
        match = matches[analysed["original"]]
        assert float(match["Similarity"]) > 0.7
        (detail,) = match["Detail"]
        assert float(detail["Input"]["Duration"]) >= 5.0
        if copy == "excerpt":  # the 6 s excerpt is the middle of the 10 s clip
            assert float(detail["Duplication"]["Start"]) == pytest.approx(2.0, abs=1.0)
            assert float(detail["Input"]["Start"]) == pytest.approx(0.0, abs=1.0)


def test_dna_delete(vod: VodClient, vod_media: tuple[str, Path]) -> None:
    base, _ = vod_media
    media_id = _register(vod, base, "video/asl_want.mkv", "want")
    assert vod.call("SubmitMediaDNADeleteJob", MediaId=media_id)["JobId"]
    with pytest.raises(VodCallError) as err:
        vod.call("SubmitMediaDNADeleteJob", MediaId="nope")
    assert err.value.code == "InvalidVideo.NotFound"


def test_deleted_dna_is_not_matched(vod_server: LiveServer, access_key, vod_media, analysed: dict) -> None:
    vod = make_client("acs3", vod_server, access_key)
    vod.call("SubmitMediaDNADeleteJob", MediaId=analysed["original"])
    vod.call("SubmitMediaDNADeleteJob", MediaId=analysed["excerpt"])
    again = vod.call("SubmitAIJob", MediaId=analysed["copy"], Types="AIMediaDNA")["AIJobList"]["AIJob"][0]
    _wait(vod, [again["JobId"]])
    assert vod.call("GetMediaDNAResult", MediaId=analysed["copy"])["DNAResult"]["VideoDNA"] == []


# --- authentication and errors ---------------------------------------------------------------------------------------
def test_wrong_secret(vod_server: LiveServer, access_key: tuple[str, str]) -> None:
    for kind in CLIENTS:
        vod = make_client(kind, vod_server, (access_key[0], access_key[1] + "x"))
        with pytest.raises(VodCallError) as err:
            vod.call("GetVideoList")
        # the old SDK recognises its own string to sign after the ':' and renames the code
        assert err.value.code == ("InvalidAccessKeySecret" if kind == "old" else "SignatureDoesNotMatch"), kind
        assert err.value.status == 400


def test_unknown_key(vod_server: LiveServer) -> None:
    for kind in CLIENTS:
        with pytest.raises(VodCallError) as err:
            make_client(kind, vod_server, ("LTAInobody", "secret")).call("GetVideoList")
        assert (err.value.code, err.value.status) == ("InvalidAccessKeyId.NotFound", 404)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch):
    """Make both SDKs sign with a given timestamp and nonce."""
    from alibabacloud_tea_openapi.utils import Utils
    from aliyunsdkcore.utils import parameter_helper

    def freeze(timestamp: str | None = None, nonce: str | None = None) -> None:
        if timestamp:
            monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: timestamp))
            monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: timestamp)
        if nonce:
            monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: nonce))
            monkeypatch.setattr(parameter_helper, "get_uuid", lambda: nonce)

    return freeze


def test_expired_and_future_timestamps(vod: VodClient, frozen_clock) -> None:
    for skew in (-16 * 60, 16 * 60):
        frozen_clock(timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + skew)))
        with pytest.raises(VodCallError) as err:
            vod.call("GetVideoList")
        assert (err.value.code, err.value.status) == ("InvalidTimeStamp.Expired", 400)
    frozen_clock(timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 10 * 60)))
    assert "Total" in vod.call("GetVideoList")  # within the 15 minutes


def test_replayed_nonce(vod: VodClient, frozen_clock) -> None:
    frozen_clock(nonce=uuid.uuid4().hex)
    vod.call("GetVideoList")
    with pytest.raises(VodCallError) as err:
        vod.call("GetVideoList")
    assert (err.value.code, err.value.status) == ("SignatureNonceUsed", 400)


def test_unknown_action_and_missing_parameter(vod: VodClient) -> None:
    with pytest.raises(VodCallError) as err:
        vod.call("GetPlayInfo", VideoId="x")
    assert (err.value.code, err.value.status) == ("InvalidAction.NotFound", 404)
    with pytest.raises(VodCallError) as err:
        vod.call("GetVideoInfo")
    assert (err.value.code, err.value.status) == ("MissingParameter", 400)
    assert "VideoId" in err.value.message


def test_unsigned_and_garbage_requests_never_500(vod_server: LiveServer) -> None:
    for params, headers in (
        ({"Action": "GetVideoList"}, {}),
        ({}, {"Authorization": "ACS3-HMAC-SHA256 garbage"}),
        ({"Signature": "x", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0"}, {}),
    ):
        r = httpx.post(vod_server.base_url + "/", params=params, headers=headers, timeout=10)
        assert r.status_code == 400 and r.json()["Code"] == "IncompleteSignature", r.text
        assert set(r.json()) >= {"RequestId", "HostId", "Code", "Message"}
