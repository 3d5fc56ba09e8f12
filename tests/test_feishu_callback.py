"""``POST /feishu/callback``: challenge, token, Encrypt Key (AES + signature), events, bad input."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.adapters import feishu
from bot.adapters.feishu import BadEvent, parse_event
from bot.config import FeishuSettings

CASES = json.loads((Path(__file__).parent / "fixtures" / "feishu" / "events.json").read_text("utf-8"))["cases"]
NOW = 1_732_600_000
TOKEN, KEY = "VT-masked", "encrypt-key-for-tests"
MESSAGE = CASES[0]["payload"]


# -- an independent encryptor written from the spec (PROTOCOLS §3): sha256 key, random IV prefix
def encrypt(key: str, plain: str) -> str:
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(hashlib.sha256(key.encode()).digest()), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(data) + enc.finalize()).decode()


def signed_headers(body: bytes, *, ts: int = NOW, nonce: str = "n-123", key: str = KEY) -> dict[str, str]:
    sig = hashlib.sha256(f"{ts}{nonce}{key}".encode() + body).hexdigest()
    return {"X-Lark-Request-Timestamp": str(ts), "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": sig}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_recorded_events(case):
    if case["expected"] == "bad":
        with pytest.raises(BadEvent):
            parse_event(case["payload"])
        return
    msg = parse_event(case["payload"])
    if case["expected"] is None:
        assert msg is None
        return
    got = {k: getattr(msg, k) for k in case["expected"]}
    assert got == case["expected"]
    assert msg.reply_handle["durable"].key == f"feishu:chat:{case['expected']['chat_id']}"


class Recorder(list):
    def __call__(self, msg):
        if any(m.message_id == msg.message_id for m in self):
            return False
        self.append(msg)
        return True


@pytest.fixture
def dispatched():
    return Recorder()


async def make_client(aiohttp_client, dispatched, **kw):
    s = FeishuSettings(verification_token=SecretStr(kw.get("token", TOKEN)),
                       encrypt_key=SecretStr(kw.get("key", "")), callback_max_body_bytes=4096)
    app = web.Application()
    app.add_routes(feishu.routes(s, dispatched, clock=lambda: NOW))
    return await aiohttp_client(app)


@pytest.fixture
async def plain(aiohttp_client, dispatched):
    return await make_client(aiohttp_client, dispatched)


@pytest.fixture
async def encrypted(aiohttp_client, dispatched):
    return await make_client(aiohttp_client, dispatched, key=KEY)


async def test_challenge_plain(plain):
    resp = await plain.post(feishu.PATH, json={"challenge": "ch-123", "token": TOKEN, "type": "url_verification"})
    assert resp.status == 200 and await resp.json() == {"challenge": "ch-123"}


async def test_challenge_wrong_token(plain):
    resp = await plain.post(feishu.PATH, json={"challenge": "ch", "token": "guess", "type": "url_verification"})
    assert resp.status == 403


async def test_challenge_encrypted(encrypted):
    inner = json.dumps({"challenge": "ch-9", "token": TOKEN, "type": "url_verification"})
    resp = await encrypted.post(feishu.PATH, json={"encrypt": encrypt(KEY, inner)})
    assert resp.status == 200 and await resp.json() == {"challenge": "ch-9"}


async def test_plain_event_dispatched_once(plain, dispatched):
    for _ in range(2):  # Feishu redelivers until it sees a 200
        resp = await plain.post(feishu.PATH, json=MESSAGE)
        assert resp.status == 200
    assert [(m.chat_id, m.text) for m in dispatched] == [("oc_group1", "/满意度 本周")]


async def test_encrypted_signed_event(encrypted, dispatched):
    body = json.dumps({"encrypt": encrypt(KEY, json.dumps(MESSAGE))}).encode()
    resp = await encrypted.post(feishu.PATH, data=body, headers=signed_headers(body))
    assert resp.status == 200
    assert [m.message_id for m in dispatched] == ["om_0001"]


def _bad_signature():
    body = json.dumps({"encrypt": encrypt(KEY, json.dumps(MESSAGE))}).encode()
    return body, dict(signed_headers(body), **{"X-Lark-Signature": "0" * 64})


def _stale():
    body = json.dumps({"encrypt": encrypt(KEY, json.dumps(MESSAGE))}).encode()
    return body, signed_headers(body, ts=NOW - 3600)


def _no_headers():
    return json.dumps({"encrypt": encrypt(KEY, json.dumps(MESSAGE))}).encode(), {}


def _other_key():
    body = json.dumps({"encrypt": encrypt("another-key", json.dumps(MESSAGE))}).encode()
    return body, signed_headers(body, key="another-key")


def _garbage_cipher():
    body = json.dumps({"encrypt": base64.b64encode(os.urandom(48)).decode()}).encode()
    return body, signed_headers(body)


def _wrong_token():
    inner = dict(MESSAGE, header=dict(MESSAGE["header"], token="guess"))
    body = json.dumps({"encrypt": encrypt(KEY, json.dumps(inner))}).encode()
    return body, signed_headers(body)


def _not_json():
    return b"{not json", {}


def _nested():
    return b"[" * 2000 + b"]" * 2000, {}


def _oversized():
    return json.dumps({"encrypt": "A" * 5000}).encode(), {}


BAD = [
    (_bad_signature, 403),  # signature does not match the raw body
    (_stale, 403),  # an hour-old delivery replayed
    (_no_headers, 403),  # Encrypt Key set but no signature headers
    (_other_key, 403),  # signed and encrypted with someone else's key
    (_garbage_cipher, 400),  # correctly signed random bytes: cannot decrypt
    (_wrong_token, 403),  # decrypts, but the verification token is wrong
    (_not_json, 400),  # malformed JSON
    (_nested, 400),  # pathological nesting
    (_oversized, 413),  # above callback_max_body_bytes
]


@pytest.mark.parametrize(("make", "status"), BAD, ids=[f.__name__.strip("_") for f, _ in BAD])
async def test_bad_requests_get_4xx_and_do_nothing(encrypted, dispatched, make, status):
    body, headers = make()
    resp = await encrypted.post(feishu.PATH, data=body, headers=headers)
    assert resp.status == status
    assert list(dispatched) == []


async def test_encrypted_without_signature_headers_cannot_decrypt_garbage(encrypted, dispatched):
    body = json.dumps({"encrypt": base64.b64encode(os.urandom(48)).decode()}).encode()
    assert (await encrypted.post(feishu.PATH, data=body)).status == 400
    assert list(dispatched) == []


async def test_plain_wrong_token_is_403(plain, dispatched):
    payload = dict(MESSAGE, header=dict(MESSAGE["header"], token="guess"))
    assert (await plain.post(feishu.PATH, json=payload)).status == 403
    assert list(dispatched) == []


async def test_unconfigured_is_404(aiohttp_client, dispatched):
    client = await make_client(aiohttp_client, dispatched, token="")
    assert (await client.post(feishu.PATH, json=MESSAGE)).status == 404


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=500), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20).map(lambda v: json.dumps(v).encode())))
async def test_fuzz_never_5xx(encrypted, dispatched, body):
    resp = await encrypted.post(feishu.PATH, data=body)
    assert resp.status in (400, 403, 413)
    assert list(dispatched) == []
