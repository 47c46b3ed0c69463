"""The signed intake API's pure half: HMAC signatures (window, rotation) and the body's model."""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from portal.comments.intake import (
    BadSignature,
    IntakeMessage,
    new_secret,
    sign,
    verify,
    verify_any,
)
from portal.core.errors import FormError
from portal.core.schemas import parse
from portal.i18n import use_locale

SECRET = "s3cret-current"
PREVIOUS = "s3cret-previous"
NOW = 1_795_000_000  # a Unix time in 2026
BODY = json.dumps({"platform": "weibo", "external_id": "1", "text": "你好"}, ensure_ascii=False).encode()


def reason(secrets, timestamp, signature, body=BODY, now=NOW) -> str:
    with pytest.raises(BadSignature) as caught:
        verify_any(secrets, timestamp, signature, body, now)
    return caught.value.reason


# Signatures --------------------------------------------------------------------------------


def test_a_signed_request_verifies():
    signature = sign(SECRET, NOW, BODY)
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    verify(SECRET, str(NOW), signature, BODY, NOW)
    verify(SECRET, f" {NOW} ", signature.upper().replace("SHA256=", "sha256="), BODY, NOW + 0.5)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # Fixed vector, so a sender in another language can check its own implementation.
    expected = "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
    assert sign("key", 1700000000, b'{"a":1}') == expected
    assert expected == "sha256=" + hmac.new(b"key", b'1700000000.{"a":1}', "sha256").hexdigest()


def test_a_wrong_secret_is_a_mismatch():
    assert reason([SECRET], str(NOW), sign("someone-else", NOW, BODY)) == BadSignature.MISMATCH


def test_a_tampered_body_is_a_mismatch():
    signature = sign(SECRET, NOW, BODY)
    assert reason([SECRET], str(NOW), signature, body=BODY.replace(b"weibo", b"wechat")) == BadSignature.MISMATCH


def test_a_changed_timestamp_is_a_mismatch():
    assert reason([SECRET], str(NOW + 1), sign(SECRET, NOW, BODY)) == BadSignature.MISMATCH


def test_the_window_is_five_minutes_either_way():
    old, ahead = NOW - 300, NOW + 300
    verify(SECRET, str(old), sign(SECRET, old, BODY), BODY, NOW)
    verify(SECRET, str(ahead), sign(SECRET, ahead, BODY), BODY, NOW)
    stale, future = NOW - 301, NOW + 301
    assert reason([SECRET], str(stale), sign(SECRET, stale, BODY)) == BadSignature.STALE
    assert reason([SECRET], str(future), sign(SECRET, future, BODY)) == BadSignature.FUTURE


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, "sha256=00"), (str(NOW), None), ("", "sha256=00"), (str(NOW), "  "), (None, None)],
)
def test_missing_headers(timestamp, signature):
    assert reason([SECRET], timestamp, signature) == BadSignature.MISSING


@pytest.mark.parametrize("timestamp", ["abc", "1795000000.0", "-1795000000", "１７９５０００００００", "9" * 40])
def test_a_timestamp_must_be_whole_ascii_seconds(timestamp):
    assert reason([SECRET], timestamp, "sha256=00") == BadSignature.TIMESTAMP


def test_a_signature_header_that_is_not_ascii_is_a_mismatch_not_a_crash():
    assert reason([SECRET], str(NOW), "sha256=签名") == BadSignature.MISMATCH


def test_rotation_accepts_the_previous_secret_and_nothing_else():
    verify_any([SECRET, PREVIOUS], str(NOW), sign(PREVIOUS, NOW, BODY), BODY, NOW)
    verify_any([SECRET, PREVIOUS], str(NOW), sign(SECRET, NOW, BODY), BODY, NOW)
    assert reason([SECRET], str(NOW), sign(PREVIOUS, NOW, BODY)) == BadSignature.MISMATCH
    assert reason([SECRET, PREVIOUS], str(NOW), sign("retired", NOW, BODY)) == BadSignature.MISMATCH


def test_an_empty_secret_never_verifies():
    assert reason([SECRET, ""], str(NOW), sign("", NOW, BODY)) == BadSignature.MISMATCH
    assert reason([], str(NOW), sign(SECRET, NOW, BODY)) == BadSignature.MISMATCH


def test_one_secret_passed_as_a_string_is_refused():
    with pytest.raises(TypeError):
        verify_any(SECRET, str(NOW), sign("s", NOW, BODY), BODY, NOW)


def test_reasons_have_messages_for_the_sender():
    with use_locale("en"):
        assert "X-Portal-Signature" in BadSignature(BadSignature.MISSING).message
        assert "300 seconds" in BadSignature(BadSignature.STALE).message
        assert "clock" in BadSignature(BadSignature.FUTURE, window=60).message


def test_new_secrets_are_long_and_distinct():
    first, second = new_secret(), new_secret()
    assert first != second and len(first) >= 43


# The body ----------------------------------------------------------------------------------

AT = datetime(2026, 11, 20, 14, 5, tzinfo=timezone(timedelta(hours=8)))
CONTEXT = {"now": datetime(2026, 11, 20, 7, 0, tzinfo=UTC)}  # 15:00 in Beijing


def body(**changes):
    data = {
        "platform": "weibo",
        "external_id": " 4987654321 ",
        "author": "网友A",
        "text": "路灯坏了",
        "received_at": "2026-11-20T14:05:00+08:00",
        "link": "https://weibo.com/123/abc",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not ...}


def errors(data) -> dict[str, str]:
    with use_locale("en"), pytest.raises(FormError) as caught:
        parse(IntakeMessage, data, context=CONTEXT)
    return caught.value.errors


def test_a_valid_body():
    message = parse(IntakeMessage, body(), context=CONTEXT)
    assert message.platform == "weibo" and message.external_id == "4987654321"
    assert message.received_at == AT
    assert message.model_dump()["link"] == "https://weibo.com/123/abc"


def test_optional_fields_and_numeric_ids():
    message = parse(IntakeMessage, body(author=..., link=None, external_id=4987654321), context=CONTEXT)
    assert (message.author, message.link, message.external_id) == ("", "", "4987654321")
    assert parse(IntakeMessage, body(received_at="2026-11-20T06:05:00Z"), context=CONTEXT).received_at == AT


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"platform": "tiktok"}, "platform", "platform"),
        ({"platform": ...}, "platform", "platform"),
        ({"external_id": "  "}, "external_id", "ID"),
        ({"external_id": "x" * 129}, "external_id", "128"),
        ({"external_id": "a\nb"}, "external_id", "ID"),
        ({"author": "名" * 81}, "author", "80"),
        ({"text": ""}, "text", "5000"),
        ({"text": ...}, "text", "5000"),
        ({"text": "字" * 5001}, "text", "5000"),
        ({"received_at": "2026-11-20 14:05"}, "received_at", "UTC offset"),
        ({"received_at": "yesterday"}, "received_at", "ISO 8601"),
        ({"received_at": 1795000000}, "received_at", "ISO 8601"),
        ({"received_at": ...}, "received_at", "ISO 8601"),
        ({"received_at": "1999-12-31T23:00:00+08:00"}, "received_at", "between 2000 and 2100"),
        ({"received_at": "2026-11-20T15:06:00+08:00"}, "received_at", "future"),
        ({"link": "ftp://example.com/x"}, "link", "http"),
        ({"link": "javascript:alert(1)"}, "link", "http"),
        ({"link": "https://"}, "link", "http"),
        ({"link": "https://example.com/" + "a" * 500}, "link", "http"),
    ],
)
def test_each_field_has_its_message(changes, field, words):
    found = errors(body(**changes))
    assert set(found) == {field}
    assert words in found[field]


def test_a_clock_a_little_ahead_is_not_the_future():
    parse(IntakeMessage, body(received_at="2026-11-20T15:04:00+08:00"), context=CONTEXT)


def test_every_bad_field_is_reported_at_once():
    found = errors(body(platform="x", text="", link="ftp://x"))
    assert set(found) == {"platform", "text", "link"}


def test_unknown_fields_are_refused():
    assert set(errors(body(sender="crawler"))) == {"sender"}


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(FormError) as caught:
        parse(IntakeMessage, ["weibo"])
    assert set(caught.value.errors) == {"__all__"}
