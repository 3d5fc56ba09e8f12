"""Every field of every recorded payload, given each wrong type, through the real server app.

Each mutated payload is signed (and encrypted) the way the vendor does it, POSTed to
``create_app``, and must be refused with a 4xx; nothing may reach a handler or the database (the
row count of every table is the same before and after, so the audit, outbox and inbox tables are
all covered). Where the vendor needs a 200 for events csbot does not handle, a mutation inside such
an event is answered 200 and ignored:

* DingTalk: always 400 (the whole body is typed before anything is decided);
* Feishu: 400, or 403 when the mutated field is ``header`` or ``header.token`` (the token is the proof); **200-ignored** for fields inside
  the ``event`` object of an event type csbot does not read (``event`` itself must be an object) (Feishu redelivers anything not answered 200);
* WeCom (XML has no JSON types: a repeated element is the list, a nested one the object, an empty one
  the null, non-digits in CreateTime/MsgId/AgentID the string): 400 (403 for a foreign ToUserName);
  **200-ignored** for an empty ``Content`` / ``Event`` / ``EventKey`` (not a command);
* event API: 400 for ``kind``/``records``; inside a record (a list or an object where a value is
  expected, text in a number column) the record is **rejected** in a 200 answer, as the API's
  partial-batch contract says, and nothing is stored.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import inspect, text

from bot.adapters.dingtalk import parse_callback
from bot.adapters.feishu import parse_event
from bot.adapters.wecom import parse_message
from bot.app import Bot
from bot.config import Settings
from bot.web import create_app
from tests import wecom_client as wx
from tests.fakes.dingtalk_client import signed_headers as dingtalk_headers
from tests.test_feishu_callback import encrypt as feishu_encrypt
from tests.test_feishu_callback import signed_headers as feishu_headers

FIXTURES = Path(__file__).parent / "fixtures"
DT_SECRET = "sweep-app-secret"
FS_TOKEN, FS_KEY = "VT-masked", "sweep-encrypt-key"
API_TOKEN = "sweep-api-token-0123456789"

WRONG: dict[str, Any] = {"string": "x", "number": 7, "list": ["x"], "object": {"x": 1}, "null": None}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "list", dict: "object"}[type(value)]


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path inside ``value`` (objects and lists, depth first)."""
    out: list[tuple] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out.append((*prefix, key))
        out.extend(paths(child, (*prefix, key)))
    return out


def mutations(payload: Any) -> list[tuple[str, str, Any]]:
    """(path, wrong type, mutated copy) for each field and each JSON type it does not have."""
    out = []
    for path in paths(payload):
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        original = json_type(parent[path[-1]])
        for name, wrong in WRONG.items():
            if name == original:
                continue
            mutated = copy.deepcopy(payload)
            target = mutated
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = copy.deepcopy(wrong)
            out.append((".".join(map(str, path)), name, mutated))
    return out


def dingtalk_cases() -> list[tuple[str, dict]]:
    cases = []
    for file in sorted((FIXTURES / "dingtalk").glob("*.json")):
        case = json.loads(file.read_text("utf-8"))
        if isinstance(case["payload"], dict) and not case["expect"].get("error"):
            cases.append((file.stem, case["payload"]))
    return cases


def feishu_cases() -> list[tuple[str, dict]]:
    cases = json.loads((FIXTURES / "feishu" / "events.json").read_text("utf-8"))["cases"]
    return [(c["name"], c["payload"]) for c in cases if c["expected"] != "bad"]


WECOM_FILES = ["text.xml", "text_command.xml", "text_escaped.xml", "event_enter_agent.xml", "image.xml"]
DIGITS = {"CreateTime", "MsgId", "AgentID"}


def wecom_mutations(xml: str) -> list[tuple[str, str, str]]:
    out = []
    tags = [child.tag for child in ET.fromstring(xml)]
    for tag in tags:
        for name in ("list", "object", "null", "string"):
            if name == "string" and tag not in DIGITS:
                continue  # any text is a valid string
            root = ET.fromstring(xml)
            node = root.find(tag)
            if name == "list":
                root.append(copy.deepcopy(node))
            elif name == "object":
                node.text = None
                ET.SubElement(node, "v").text = "x"
            elif name == "null":
                node.text = ""
            else:
                node.text = "x12"
            out.append((tag, name, ET.tostring(root, encoding="unicode")))
    return out


def table_counts(engine) -> dict[str, int]:
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    with engine.connect() as conn:
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


class NoHandler:
    """Wraps the bot: any message that reaches a handler is recorded (and must not happen)."""

    def __init__(self, bot: Bot):
        self.bot, self.calls = bot, []

    def __getattr__(self, name):
        return getattr(self.bot, name)

    async def handle(self, msg):
        self.calls.append(msg)
        return await self.bot.handle(msg)


@pytest.fixture
async def app(aiohttp_client, sqlite_engine, tmp_path):
    settings = Settings(
        general={"data_dir": str(tmp_path / "data")},
        dingtalk={"app_secret": DT_SECRET, "mode": "http"},
        feishu={"verification_token": FS_TOKEN, "encrypt_key": FS_KEY},
        wecom={"corp_id": wx.CORP_ID, "token": wx.TOKEN, "encoding_aes_key": wx.AES_KEY},
        ingest={"tokens": [SecretStr(API_TOKEN)]},
    )
    bot = NoHandler(Bot(settings, sqlite_engine, chart_dir=tmp_path / "charts"))
    client = await aiohttp_client(create_app(bot, settings, senders={}))
    before = table_counts(sqlite_engine)
    yield client, bot
    await asyncio.sleep(0.3)  # anything wrongly dispatched would be running now
    assert bot.calls == []
    assert table_counts(sqlite_engine) == before


def test_the_sweep_starts_from_payloads_that_parse():
    """The unmutated fixtures are accepted (or ignored) by the parsers, so every refusal below is the mutation's."""
    assert sum(parse_callback(p) is not None for _, p in dingtalk_cases()) >= 4
    assert sum(parse_event(p) is not None for _, p in feishu_cases()) == 2
    inner = [(FIXTURES / "wecom" / f).read_text("utf-8") for f in WECOM_FILES]
    assert sum(parse_message(x, corp_id=wx.CORP_ID) is not None for x in inner) == 3


async def test_dingtalk_every_field_every_wrong_type(app):
    client, _ = app
    seen = 0
    for name, payload in dingtalk_cases():
        for path, wrong, mutated in mutations(payload):
            body = json.dumps(mutated, ensure_ascii=False).encode()
            resp = await client.post("/dingtalk/callback", data=body, headers=dingtalk_headers(DT_SECRET))
            assert resp.status == 400, (name, path, wrong, resp.status, await resp.text())
            seen += 1
    assert seen > 500


async def test_feishu_every_field_every_wrong_type(app):
    client, _ = app
    outcomes: dict[int, int] = {}
    for name, payload in feishu_cases():
        message_event = payload["header"].get("event_type") == "im.message.receive_v1"
        for path, wrong, mutated in mutations(payload):
            body = json.dumps({"encrypt": feishu_encrypt(FS_KEY, json.dumps(mutated))}).encode()
            resp = await client.post("/feishu/callback", data=body,
                                     headers=feishu_headers(body, ts=int(time.time()), key=FS_KEY))
            if path in ("header", "header.token"):
                expected = {403}  # the Verification Token (in the header) is checked before the event is read
            elif path.startswith("event.") and not message_event:
                expected = {200}  # an event type csbot does not read: acknowledged, ignored
            else:
                expected = {400}
            assert resp.status in expected, (name, path, wrong, resp.status, await resp.text())
            outcomes[resp.status] = outcomes.get(resp.status, 0) + 1
    assert outcomes[400] > 300 and outcomes[403] == 8 * len(feishu_cases())


async def test_wecom_every_element_every_wrong_shape(app):
    client, _ = app
    seen = 0
    for file in WECOM_FILES:
        xml = (FIXTURES / "wecom" / file).read_text("utf-8").strip()
        for tag, wrong, mutated in wecom_mutations(xml):
            query, body = wx.post(mutated, ts=int(time.time()))
            resp = await client.post("/wecom/callback", params=query, data=body.encode())
            if wrong == "null" and tag in ("Content", "Event", "EventKey", "PicUrl", "MediaId"):
                expected = {200}  # empty text or event key: not a command, acknowledged
            elif tag == "ToUserName" and wrong == "null":
                expected = {200, 400}  # no addressee: parsed as before (event/media → 200, text → 400 below)
            else:
                expected = {400}
            assert resp.status in expected, (file, tag, wrong, resp.status, await resp.text())
            seen += 1
    assert seen > 80


def api_record() -> dict[str, Any]:
    return {"conversation_id": "sweep-1", "started_at": "2026-11-25 10:00:00", "agent": "小王",
            "channel": "淘宝", "rating": 5}


async def test_event_api_every_field_every_wrong_type(app):
    client, _ = app
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    payload = {"kind": "conversations", "records": [api_record()]}
    for path, wrong, mutated in mutations(payload):
        if path.startswith("records.0.") and wrong in ("null", "number", "string") and path != "records.0.rating":
            continue  # a JSON null is a missing value and a number in a text column its text, as in csbot import
        if path == "records.0.rating" and wrong == "null":
            continue  # rating is optional
        resp = await client.post("/api/v1/events", json=mutated, headers=headers)
        body = await resp.json()
        if path.startswith("records.0"):
            assert resp.status == 200, (path, wrong, body)
            assert (body["accepted"], body["updated"], body["rejected"]) == (0, 0, 1), (path, wrong, body)
        else:
            assert resp.status == 400, (path, wrong, body)
            assert body["message"] and body["error"], body


async def test_the_issue_17_cases_are_400_with_the_field_named(app):
    """The four 500s and the dispatched chat_id list of the hostile-request run, one by one."""
    client, _ = app
    rich = json.loads((FIXTURES / "dingtalk" / "rich_text.json").read_text("utf-8"))["payload"]
    for content in ([{"text": "首响"}], "首响 昨天"):
        resp = await client.post("/dingtalk/callback", data=json.dumps({**rich, "content": content}).encode(),
                                 headers=dingtalk_headers(DT_SECRET))
        answer = await resp.json()
        assert resp.status == 400 and "content" in answer["errmsg"] and "字段" in answer["errmsg"], answer
    event = feishu_cases()[0][1]
    for path, value in ((("sender",), "ou_x"), (("sender", "sender_id"), "ou_x"), (("message", "chat_id"), ["oc_1"])):
        mutated = copy.deepcopy(event)
        node = mutated["event"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        body = json.dumps({"encrypt": feishu_encrypt(FS_KEY, json.dumps(mutated))}).encode()
        resp = await client.post("/feishu/callback", data=body, headers=feishu_headers(body, ts=int(time.time()),
                                                                                       key=FS_KEY))
        assert resp.status == 400, (path, await resp.text())
