"""Errors of a synchronous task run on a worker come back as the same kinds the API would have raised itself."""

from __future__ import annotations

import pytest

from medialens.config import Settings
from medialens.jobs.sync_calls import RemoteTaskError, decode_error, encode_error, reply_url
from medialens.media.errors import (
    PRIVATE_URL_HINT,
    BlockedURLError,
    DecodeError,
    FetchError,
    MediaError,
    TooLargeError,
    hint_of,
)
from medialens.models.errors import ModelNotInstalledError
from medialens.tasks.base import UnprocessableError
from medialens.tasks.intake import ImageDownloadError


@pytest.mark.parametrize(
    "err",
    [
        ImageDownloadError("failed to download image, err=fetch resource failed\tcode = 404", status=404),
        BlockedURLError("url resolves to a private address"),
        TooLargeError("media is larger than the limit of 10 bytes"),
        DecodeError("image could not be decoded: not an image"),
        UnprocessableError("no face found"),
    ],
)
def test_known_errors_keep_their_kind_message_and_status(err: Exception) -> None:
    back = decode_error(encode_error(err))
    assert type(back) is type(err) and str(back) == str(err)
    assert getattr(back, "status", None) == getattr(err, "status", None)


def test_a_media_error_keeps_the_hint_of_its_cause() -> None:
    """Tasks re-raise a refused private URL in their own words; the setting that allows it crosses the wire."""
    blocked = BlockedURLError("url resolves to a private address", hint=PRIVATE_URL_HINT)
    try:
        raise ImageDownloadError(f"failed to download image, err={blocked}") from blocked
    except ImageDownloadError as err:
        back = decode_error(encode_error(err))
    assert isinstance(back, ImageDownloadError) and hint_of(back) == PRIVATE_URL_HINT
    assert hint_of(decode_error(encode_error(DecodeError("not an image")))) is None


def test_model_not_installed_keeps_its_model_and_hint() -> None:
    back = decode_error(encode_error(ModelNotInstalledError("nanodet", "pull it")))
    assert isinstance(back, ModelNotInstalledError) and back.name == "nanodet" and back.hint == "pull it"


def test_an_unknown_subclass_comes_back_as_its_nearest_known_base() -> None:
    class OddFetch(FetchError):
        pass

    class OddMedia(MediaError):
        pass

    fetch = decode_error(encode_error(OddFetch("gone", status=410)))
    assert type(fetch) is FetchError and fetch.status == 410 and str(fetch) == "gone"
    assert type(decode_error(encode_error(OddMedia("odd")))) is MediaError


def test_an_unexpected_error_is_named_not_hidden() -> None:
    back = decode_error(encode_error(ZeroDivisionError("division by zero")))
    assert isinstance(back, RemoteTaskError) and str(back) == "ZeroDivisionError: division by zero"
    assert isinstance(decode_error({}), RemoteTaskError)  # a malformed answer still raises


def test_answers_travel_through_redis_only_for_a_celery_cluster_on_redis() -> None:
    assert reply_url(Settings(executor="celery", broker_url="redis://h:6379/1")) == "redis://h:6379/1"
    assert reply_url(Settings(executor="celery", broker_url="amqp://guest@h//")) is None
    assert reply_url(Settings(executor="celery", broker_url="redis://h/1", sync_on_workers=False)) is None
    assert reply_url(Settings(executor="local", broker_url="redis://h/1")) is None
