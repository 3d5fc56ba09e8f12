"""Recorded (masked) WeCom payloads → IncomingMessage, one parametrized test over tests/fixtures/wecom."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.base import Destination
from bot.adapters.wecom import MalformedMessage, parse_message

FIXTURES = Path(__file__).parent / "fixtures" / "wecom"
EXPECTED = {k: v for k, v in json.loads((FIXTURES / "expected.json").read_text("utf-8")).items()
            if not k.startswith("_")}
CORP_ID = "wx5823bf96d3bd56c7"


def test_every_fixture_has_an_expectation():
    assert sorted(p.name for p in FIXTURES.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name):
    xml = (FIXTURES / name).read_text("utf-8")
    expected = EXPECTED[name]
    if expected == "malformed":
        with pytest.raises(MalformedMessage):
            parse_message(xml, corp_id=CORP_ID)
        return
    msg = parse_message(xml, corp_id=CORP_ID)
    if expected is None:
        assert msg is None
        return
    assert msg is not None
    assert msg.platform == "wecom"
    assert msg.message_id == expected["message_id"]
    assert msg.user_id == msg.chat_id == expected["user_id"]
    assert msg.text == expected["text"]
    assert msg.is_private and msg.mentioned
    assert msg.received_at == datetime.fromtimestamp(expected["created"], UTC)
    assert msg.reply_handle["durable"] == Destination("wecom", "user", expected["user_id"])
    assert msg.reply_handle["agent_id"] == expected["agent_id"]


def test_event_without_msgid_dedupes_on_user_and_time():
    xml = ("<xml><ToUserName>c</ToUserName><FromUserName>u1</FromUserName><CreateTime>1700000000</CreateTime>"
           "<MsgType>text</MsgType><Content>/帮助</Content></xml>")
    msg = parse_message(xml)
    assert msg is not None and msg.message_id == "u1:1700000000"


@pytest.mark.parametrize("xml", ["", "<xml>", "<notxml><MsgType>text</MsgType></notxml>",
                                 "<xml><Content>no type or user</Content></xml>", "\x00\x01"])
def test_malformed(xml):
    with pytest.raises(MalformedMessage):
        parse_message(xml)
