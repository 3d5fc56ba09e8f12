"""Bad DingTalk callbacks get a 4xx (never 5xx) and change nothing: no reply, no audit row."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.access import AccessPolicy
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.app import Bot
from bot.web import create_app
from tests import metric_data as md
from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk, independent_sign
from tests.test_server_dingtalk import audit_count, make_settings


@pytest.fixture
async def env(aiohttp_client, sqlite_engine, tmp_path):
    async with FakeDingTalk() as fake:
        settings = make_settings(fake, tmp_path)
        md.load(sqlite_engine, md.make_rows(days=10))
        bot = Bot(settings, sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts",
                  access=AccessPolicy(settings.access, sqlite_engine))
        app = create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)})
        yield await aiohttp_client(app), fake, sqlite_engine


def _now_ms() -> int:
    return int(time.time() * 1000)


def case_wrong_signature(fake):
    headers = signed_headers(fake.app_secret)
    headers["sign"] = independent_sign("not-the-secret", headers["timestamp"])
    return headers, body(callback_payload(fake, "/满意度 本周"))


def case_stale(fake):
    return signed_headers(fake.app_secret, _now_ms() - 2 * 3_600_000), body(callback_payload(fake, "/满意度 本周"))


def case_future(fake):
    return signed_headers(fake.app_secret, _now_ms() + 2 * 3_600_000), body(callback_payload(fake, "/满意度 本周"))


def case_no_headers(fake):
    return {"Content-Type": "application/json"}, body(callback_payload(fake, "/满意度 本周"))


def case_sign_reused_with_other_timestamp(fake):
    headers = signed_headers(fake.app_secret)
    headers["timestamp"] = str(int(headers["timestamp"]) + 1)
    return headers, body(callback_payload(fake, "/满意度 本周"))


def case_malformed_json(fake):
    return signed_headers(fake.app_secret), '{"msgId": "x", "text": {"content": "/满意度'.encode()


def case_not_utf8(fake):
    return signed_headers(fake.app_secret), b'{"msgId": "\xff\xfe"}'


def case_json_array(fake):
    return signed_headers(fake.app_secret), body([callback_payload(fake, "/满意度 本周")])


def case_missing_msgid(fake):
    payload = callback_payload(fake, "/满意度 本周")
    del payload["msgId"]
    return signed_headers(fake.app_secret), body(payload)


def case_wrong_types(fake):
    payload = callback_payload(fake, "/满意度 本周")
    payload["text"] = ["not", "an", "object"]
    return signed_headers(fake.app_secret), body(payload)


def case_deep_nesting(fake):
    return signed_headers(fake.app_secret), b"[" * 30_000 + b"]" * 30_000


def case_oversized(fake):
    payload = callback_payload(fake, "/满意度 本周")
    payload["padding"] = "长" * 30_000  # 90 KB > callback_max_bytes
    return signed_headers(fake.app_secret), body(payload)


CASES = {
    "wrong-signature": (case_wrong_signature, 401),
    "stale-timestamp": (case_stale, 401),
    "future-timestamp": (case_future, 401),
    "no-signature-headers": (case_no_headers, 401),
    "signature-of-another-timestamp": (case_sign_reused_with_other_timestamp, 401),
    "malformed-json": (case_malformed_json, 400),
    "not-utf8": (case_not_utf8, 400),
    "json-array": (case_json_array, 400),
    "missing-msgId": (case_missing_msgid, 400),
    "wrong-field-types": (case_wrong_types, 400),
    "deeply-nested-json": (case_deep_nesting, 400),
    "oversized-body": (case_oversized, 413),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_bad_callbacks_are_refused_and_do_nothing(env, name):
    client, fake, engine = env
    make, expected = CASES[name]
    headers, data = make(fake)
    resp = await client.post("/dingtalk/callback", data=data, headers=headers)
    assert resp.status == expected
    assert (await resp.json())["errcode"] == expected
    await asyncio.sleep(0.1)
    assert fake.sent == [] and audit_count(engine) == 0


async def test_oversized_chunked_body_without_length_is_refused(env):
    client, fake, engine = env

    async def chunks():
        for _ in range(100):
            yield b"x" * 4096

    resp = await client.post("/dingtalk/callback", data=chunks(), headers=signed_headers(fake.app_secret))
    assert resp.status == 413
    assert fake.sent == [] and audit_count(engine) == 0


async def test_replayed_message_is_refused_and_answered_once(env):
    client, fake, engine = env
    data = body(callback_payload(fake, "/满意度 本周"))
    first = await client.post("/dingtalk/callback", data=data, headers=signed_headers(fake.app_secret))
    assert first.status == 200
    again = await client.post("/dingtalk/callback", data=data, headers=signed_headers(fake.app_secret))
    assert again.status == 409
    await fake.wait_for(lambda: len(fake.texts()) == 1)
    await asyncio.sleep(0.2)
    assert len(fake.texts()) == 1 and audit_count(engine) == 1


async def test_wrong_method_is_a_4xx(env):
    client, _fake, _engine = env
    assert (await client.get("/dingtalk/callback")).status == 405


async def test_response_never_echoes_the_secret(env):
    client, fake, _engine = env
    headers, data = case_wrong_signature(fake)
    resp = await client.post("/dingtalk/callback", data=data, headers=headers)
    text = await resp.text()
    assert fake.app_secret not in text and json.loads(text)["errmsg"] == "signature check failed"
