"""``GET|POST /wecom/callback`` through aiohttp: wechatpy-built requests in, 200/4xx out, never 5xx."""

from __future__ import annotations

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.adapters import wecom
from bot.config import WeComSettings
from tests import wecom_client as wx
from tests.test_wecom_crypto import GET_VECTOR, POST_ENCRYPT, POST_VECTOR

SETTINGS = WeComSettings(corp_id=wx.CORP_ID, token=SecretStr(wx.TOKEN), encoding_aes_key=SecretStr(wx.AES_KEY),
                         agent_id=1000002, secret=SecretStr("app-secret"), callback_max_body_bytes=4096)


class Recorder:
    """Stands in for the dispatcher: records messages, refuses repeated ids like the real one."""

    def __init__(self):
        self.messages = []
        self._seen = set()

    def __call__(self, msg) -> bool:
        if msg.message_id in self._seen:
            return False
        self._seen.add(msg.message_id)
        self.messages.append(msg)
        return True


@pytest.fixture
def clock():
    return {"now": float(wx.NOW)}


@pytest.fixture
def dispatched():
    return Recorder()


@pytest.fixture
async def client(aiohttp_client, clock, dispatched):
    app = web.Application()
    app.add_routes(wecom.routes(SETTINGS, dispatched, clock=lambda: clock["now"]))
    return await aiohttp_client(app)


async def test_url_verification_with_wechatpy(client):
    resp = await client.get(wecom.PATH, params=wx.get_verify("8723891726391"))
    assert resp.status == 200
    assert await resp.text() == "8723891726391"  # bare plaintext: no quotes, no newline
    assert resp.content_type == "text/plain"


async def test_official_get_vector_through_the_route(client, clock):
    clock["now"] = float(GET_VECTOR["timestamp"])
    resp = await client.get(wecom.PATH, params=GET_VECTOR)  # the client percent-encodes / + =
    assert resp.status == 200 and await resp.text() == "1616140317555161061"


async def test_official_post_vector_through_the_route(client, clock, dispatched):
    clock["now"] = float(POST_VECTOR["timestamp"])
    query = {k: POST_VECTOR[k] for k in ("msg_signature", "timestamp", "nonce")}
    body = (f"<xml><ToUserName><![CDATA[{wx.CORP_ID}]]></ToUserName><Encrypt><![CDATA[{POST_ENCRYPT}]]></Encrypt>"
            "<AgentID><![CDATA[218]]></AgentID></xml>")
    resp = await client.post(wecom.PATH, params=query, data=body)
    assert resp.status == 200 and await resp.text() == ""
    assert [(m.user_id, m.text) for m in dispatched.messages] == [("mycreate", "hello")]


async def test_text_message_is_acknowledged_empty_and_dispatched(client, dispatched):
    query, body = wx.post(wx.inner_text("/满意度 本周", user="LiSi"))
    resp = await client.post(wecom.PATH, params=query, data=body.encode())
    assert resp.status == 200 and await resp.text() == ""
    [msg] = dispatched.messages
    assert (msg.platform, msg.user_id, msg.text, msg.is_private) == ("wecom", "LiSi", "/满意度 本周", True)


async def test_wecom_retries_are_acknowledged_once_handled(client, dispatched):
    # WeCom retries up to 3 times (new nonce, same MsgId) when it missed our first 200
    for nonce in ("1", "2", "3", "4"):
        query, body = wx.post(wx.inner_text("/投诉 今天", msg_id="42"), nonce=nonce)
        resp = await client.post(wecom.PATH, params=query, data=body)
        assert resp.status == 200
    assert len(dispatched.messages) == 1


async def test_event_is_acknowledged_and_ignored(client, dispatched):
    inner = ("<xml><ToUserName>wx5823bf96d3bd56c7</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
             "<MsgType>event</MsgType><Event>enter_agent</Event><AgentID>1000002</AgentID></xml>")
    query, body = wx.post(inner)
    resp = await client.post(wecom.PATH, params=query, data=body)
    assert resp.status == 200 and dispatched.messages == []


# --- bad input: 4xx, never 5xx, and nothing dispatched. One comment per row.
def _tampered_signature():
    query, body = wx.post(wx.inner_text("/满意度"))
    return dict(query, msg_signature="f" * 40), body


def _stale():
    return wx.post(wx.inner_text("/满意度"), ts=wx.NOW - 3600)


def _future():
    return wx.post(wx.inner_text("/满意度"), ts=wx.NOW + 3600)


def _other_corp():
    return wx.post(wx.inner_text("/满意度", corp_id="ww-other"), corp_id="ww-other")


def _other_token():
    return wx.post(wx.inner_text("/满意度"), token="not-our-token")


def _malformed_outer():
    query, _ = wx.post(wx.inner_text("/满意度"))
    return query, "<xml><Encrypt>unterminated"


def _entity_bomb_outer():
    query, _ = wx.post(wx.inner_text("/满意度"))
    bomb = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
            "<xml><Encrypt>&b;</Encrypt></xml>")
    return query, bomb


def _malformed_inner():
    return wx.post("<xml><MsgType>text</MsgType><Content>no sender")


def _no_encrypt():
    query, _ = wx.post(wx.inner_text("/满意度"))
    return query, "<xml><ToUserName>x</ToUserName></xml>"


def _missing_params():
    _, body = wx.post(wx.inner_text("/满意度"))
    return {"timestamp": str(wx.NOW)}, body


def _oversized():
    return wx.post(wx.inner_text("/满意度 " + "很长" * 2000))


def _superscript_timestamp():
    query, body = wx.post(wx.inner_text("/满意度"))
    return dict(query, timestamp="\u00b2"), body  # "²".isdigit() is True, int("²") raises


def _json_body():
    query, _ = wx.post(wx.inner_text("/满意度"))
    return query, '{"Encrypt": "abc"}'


BAD = [
    (_tampered_signature, 403),  # signature over someone else's values
    (_stale, 403),  # captured an hour ago and replayed
    (_future, 403),  # timestamp from the future
    (_other_corp, 403),  # receiveid is another corp (same token and key)
    (_other_token, 403),  # signed with another app's token
    (_malformed_outer, 400),  # not XML
    (_entity_bomb_outer, 400),  # DTD with entities: refused, not expanded
    (_malformed_inner, 400),  # decrypts, but the inner XML is not a message
    (_no_encrypt, 400),  # XML without Encrypt
    (_missing_params, 400),  # no msg_signature / nonce
    (_oversized, 413),  # above callback_max_body_bytes
    (_json_body, 400),  # JSON instead of XML
    (_superscript_timestamp, 403),  # a "digit" int() cannot parse
]


@pytest.mark.parametrize(("make", "status"), BAD, ids=[f.__name__.strip("_") for f, _ in BAD])
async def test_bad_requests_get_4xx_and_do_nothing(client, dispatched, make, status):
    query, body = make()
    resp = await client.post(wecom.PATH, params=query, data=body.encode() if isinstance(body, str) else body)
    assert resp.status == status
    assert dispatched.messages == []


async def test_bad_get_signature(client):
    params = dict(wx.get_verify("123"), msg_signature="0" * 40)
    resp = await client.get(wecom.PATH, params=params)
    assert resp.status == 403


async def test_get_missing_echostr(client):
    params = wx.get_verify("123")
    params.pop("echostr")
    assert (await client.get(wecom.PATH, params=params)).status == 400


async def test_unconfigured_app_is_404(aiohttp_client, dispatched):
    app = web.Application()
    app.add_routes(wecom.routes(WeComSettings(), dispatched))
    client = await aiohttp_client(app)
    query, body = wx.post(wx.inner_text("/满意度"))
    assert (await client.post(wecom.PATH, params=query, data=body)).status == 404


async def test_shutdown_refusal_lets_wecom_retry(aiohttp_client):
    def refuse(msg):
        raise RuntimeError("shutting down")

    app = web.Application()
    app.add_routes(wecom.routes(SETTINGS, refuse, clock=lambda: wx.NOW))
    client = await aiohttp_client(app)
    query, body = wx.post(wx.inner_text("/满意度"))
    assert (await client.post(wecom.PATH, params=query, data=body)).status == 503


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=600), sig=st.text(max_size=50), ts=st.text(max_size=12), nonce=st.text(max_size=12))
async def test_fuzz_never_5xx(client, dispatched, body, sig, ts, nonce):
    resp = await client.post(wecom.PATH, params={"msg_signature": sig, "timestamp": ts, "nonce": nonce}, data=body)
    assert resp.status in (400, 403, 413)
    assert dispatched.messages == []
