"""VOD error answers (WIRE.md §B.4): HTTP status, ``Code`` and ``Message`` as Alibaba Cloud's RPC gateway sends
them; every core error is mapped here, once."""

from __future__ import annotations

from medialens.core import (
    AnalysisFailed,
    BadMedia,
    CoreError,
    InvalidOptions,
    MediaTooLarge,
    ModelNotFound,
    NotFound,
    TaskNotFound,
    WorkersUnavailable,
)
from medialens.core.vod import MediaNotFound, MediaNotReady, TemplateNotFound
from medialens.protocols.http import WireError


class VodError(WireError):
    """VOD: ``{RequestId, Code, Message, HostId}``."""


def missing_parameter(name: str) -> VodError:
    return VodError(
        400,
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid_parameter(name: str, problem: str) -> VodError:
    return VodError(400, f"InvalidParameter.{name}", f"The specified parameter {name} is not valid: {problem}")


def unknown_action(action: str) -> VodError:
    return VodError(
        404, "InvalidAction.NotFound", f"Specified api {action[:64]} is not found, please check your url and method."
    )


def incomplete_signature() -> VodError:
    return VodError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")


def unknown_key() -> VodError:
    return VodError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")


def signature_mismatch(string_to_sign: str) -> VodError:
    # The old SDK reads message.split(':')[1] and compares it with its own string to sign (WIRE.md B.4).
    return VodError(
        400,
        "SignatureDoesNotMatch",
        f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
    )


def expired_timestamp() -> VodError:
    return VodError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


def bad_timestamp() -> VodError:
    return VodError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")


def nonce_used() -> VodError:
    return VodError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")


def sts_not_supported() -> VodError:
    return VodError(400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is not issued by this server.")


def media_not_found() -> VodError:
    return VodError(404, "InvalidVideo.NotFound", "The video does not exist.")


def job_not_found() -> VodError:
    return VodError(404, "InvalidJobId.NotFound", "The specified job does not exist.")


def internal_error() -> VodError:
    return VodError(500, "InternalError", "The request processing has failed due to some unknown error.")


def from_core(err: CoreError) -> VodError:
    """The one place a core error becomes VOD's answer."""
    if isinstance(err, MediaNotFound):
        return media_not_found()
    if isinstance(err, MediaNotReady):
        return VodError(403, "Forbidden.IllegalStatus", err.message[:300])
    if isinstance(err, TemplateNotFound):
        return VodError(404, "InvalidTemplate.NotFound", "The specified template does not exist.")
    if isinstance(err, TaskNotFound | ModelNotFound):
        return VodError(403, "Forbidden.AIServiceNotEnabled", f"The AI service is not available: {err.message}"[:300])
    if isinstance(err, InvalidOptions):
        return invalid_parameter(err.field, err.problem)
    if isinstance(err, MediaTooLarge):
        return VodError(400, "InvalidFile.TooLarge", err.message[:300])
    if isinstance(err, BadMedia):
        return VodError(400, "InvalidFile.Unsupported", err.message[:300])
    if isinstance(err, AnalysisFailed):
        return VodError(500, "InternalError", err.message[:300])
    if isinstance(err, NotFound):
        return VodError(404, "InvalidParameter.NotFound", err.message[:300])
    if isinstance(err, WorkersUnavailable):
        return VodError(503, "ServiceUnavailable", err.message[:300])
    return VodError(400, "Forbidden.Unprocessable", err.message[:300])
