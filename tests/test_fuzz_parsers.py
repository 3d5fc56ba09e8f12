"""Property tests of every inbound parser: whatever arrives, the parser answers or raises its own error.

DingTalk and Feishu JSON, WeCom XML and crypto, the event API body, and the CSV/XLSX/JSON readers of
``csbot import`` get random bytes, random JSON and mutated recorded payloads. The only allowed
outcomes are a result or the module's documented error (``PayloadError``, ``BadEvent``,
``MalformedMessage``, ``WeComCryptoError``, ``WrongType``, ``IngestError``); the callback classes
must return a 4xx/200 and never raise.

CI runs 200 examples per property (the file importer, which writes to a database each time, 40).
A long run: ``HYPOTHESIS_PROFILE=long python -m pytest -q -p no:cacheprovider tests/test_fuzz_parsers.py``
(20,000 / 2,000 examples). Coverage-guided fuzzing of the byte-level paths (WeCom crypto and XML,
Feishu decrypt, the JSON parsers) is ``bench/fuzz/atheris_inbound.py`` (atheris), run by hand.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import os
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import SecretStr

from analytics.ingest import IngestError, import_file, ingest_records
from bot.adapters import feishu, wecom_crypto
from bot.adapters.base import IncomingMessage
from bot.adapters.dingtalk import PayloadError, parse_callback
from bot.adapters.feishu import BadEvent, FeishuCallback, parse_event
from bot.adapters.payloads import EventBatch, WrongType, check
from bot.adapters.wecom import MalformedMessage, WeComCallback, parse_message
from bot.adapters.wecom_crypto import WeComCrypto, WeComCryptoError
from bot.config import FeishuSettings, WeComSettings
from tests import wecom_client as wx
from tests.test_feishu_callback import encrypt as feishu_encrypt
from tests.test_feishu_callback import signed_headers as feishu_headers

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
# The CI run is derandomized: the same 200 examples each time, so a red build is reproducible and
# not luck; the long run (HYPOTHESIS_PROFILE=long, docs/reliability.md) explores at random.
FUZZ = settings(max_examples=20_000 if LONG else 200, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FUZZ_DB = settings(FUZZ, max_examples=2_000 if LONG else 40)
FIXTURES = Path(__file__).parent / "fixtures"

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=20)


def _fixture_payloads() -> list[dict[str, Any]]:
    out = []
    for file in sorted((FIXTURES / "dingtalk").glob("*.json")):
        payload = json.loads(file.read_text("utf-8"))["payload"]
        if isinstance(payload, dict):
            out.append(payload)
    return out


DINGTALK = _fixture_payloads()
FEISHU = [c["payload"] for c in json.loads((FIXTURES / "feishu" / "events.json").read_text("utf-8"))["cases"]]


@st.composite
def mutated(draw, bases: list[dict[str, Any]]) -> Any:
    """A recorded payload with a few fields (at any depth) replaced, removed or added."""
    payload = json.loads(json.dumps(draw(st.sampled_from(bases))))
    for _ in range(draw(st.integers(1, 4))):
        node = payload
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict):
                break
            node = node[key]
        if not isinstance(node, dict):
            continue
        key = draw(st.sampled_from(sorted(node)) | st.text(max_size=8)) if node else draw(st.text(max_size=8))
        if draw(st.integers(0, 4)) == 0:
            node.pop(key, None)
        else:
            node[key] = draw(json_values)
    return payload


def _ok_message(msg: Any) -> None:
    assert msg is None or isinstance(msg, IncomingMessage)
    if msg is not None:  # what reaches the dispatcher is all text: the audit and outbox rows can hold it
        assert all(isinstance(getattr(msg, f), str) and getattr(msg, f)
                   for f in ("message_id", "chat_id", "user_id", "text"))
        json.dumps({k: v for k, v in msg.reply_handle.items() if isinstance(v, str | int | list)})


# ---------------------------------------------------------------- DingTalk


@FUZZ
@given(st.one_of(json_values, mutated(DINGTALK)))
def test_dingtalk_parse_returns_a_message_none_or_payload_error(payload):
    try:
        _ok_message(parse_callback(payload))
    except PayloadError:
        pass


@FUZZ
@given(st.binary(max_size=300))
def test_dingtalk_body_bytes_are_json_errors_or_payload_errors(raw):
    try:
        _ok_message(parse_callback(json.loads(raw)))
    except (ValueError, UnicodeDecodeError, RecursionError):  # what the route turns into 400
        pass


# ---------------------------------------------------------------- Feishu


@FUZZ
@given(st.one_of(json_values, mutated(FEISHU)))
def test_feishu_parse_returns_a_message_none_or_bad_event(payload):
    if not isinstance(payload, dict):
        return  # the callback checks that the body is an object before parsing
    try:
        _ok_message(parse_event(payload))
    except BadEvent:
        pass


KEY, TOKEN = "fuzz-encrypt-key", "VT-masked"


def _feishu_callback() -> FeishuCallback:
    s = FeishuSettings(verification_token=SecretStr(TOKEN), encrypt_key=SecretStr(KEY))
    return FeishuCallback(s, lambda msg: True, clock=time.time)


@FUZZ
@given(st.one_of(mutated(FEISHU).map(json.dumps), st.text(max_size=200)), st.booleans())
def test_feishu_callback_never_raises(plain, encrypted):
    callback = _feishu_callback()
    body = json.dumps({"encrypt": feishu_encrypt(KEY, plain)}).encode() if encrypted else plain.encode()
    headers = {k.lower(): v for k, v in feishu_headers(body, ts=int(time.time()), key=KEY).items()}
    status, answer, why = asyncio.run(callback.handle(headers, body))
    assert status in (200, 400, 403) and isinstance(answer, dict) and why


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()))
def test_feishu_decrypt_of_anything_is_text_or_bad_event(blob):
    try:
        assert isinstance(feishu.decrypt(KEY, blob), str)
    except BadEvent:
        pass


# ---------------------------------------------------------------- WeCom

TAGS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "AgentID", "Event", "Other"]
xml_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def wecom_xml(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 10))):
        tag = draw(st.sampled_from(TAGS))
        shape = draw(st.integers(0, 3))
        if shape == 0:
            value = draw(xml_text).replace("]]>", "")
            parts.append(f"<{tag}><![CDATA[{value}]]></{tag}>")
        elif shape == 1:
            parts.append(f"<{tag}>{draw(st.integers(-5, 2**70))}</{tag}>")
        elif shape == 2:
            parts.append(f"<{tag}><v>{draw(st.integers(0, 9))}</v></{tag}>")
        else:
            parts.append(f"<{tag}/>")
    root = draw(st.sampled_from(["xml", "xml", "xml", "other"]))
    return f"<{root}>{''.join(parts)}</{root}>"


@FUZZ
@given(wecom_xml() | st.text(max_size=200))
def test_wecom_parse_returns_a_message_none_or_malformed(xml):
    try:
        _ok_message(parse_message(xml, corp_id=wx.CORP_ID))
    except MalformedMessage:
        pass


CRYPTO = WeComCrypto(wx.TOKEN, wx.AES_KEY, wx.CORP_ID)


@FUZZ
@given(st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=100))
def test_wecom_decrypt_of_random_bytes_raises_only_its_own_error(blob):
    try:
        assert isinstance(CRYPTO.decrypt(blob), str)
    except WeComCryptoError as exc:
        assert exc.code in (wecom_crypto.DECRYPT, wecom_crypto.ILLEGAL_BUFFER, wecom_crypto.VALIDATE_CORPID)


@FUZZ
@given(st.binary(max_size=300))
def test_wecom_unpad_of_random_bytes_raises_only_its_own_error(data):
    try:
        assert len(wecom_crypto.pkcs7_unpad(data)) < len(data)
    except WeComCryptoError:
        pass


def _wecom_callback() -> WeComCallback:
    s = WeComSettings(corp_id=wx.CORP_ID, token=SecretStr(wx.TOKEN), encoding_aes_key=SecretStr(wx.AES_KEY))
    return WeComCallback(s, lambda msg: True, clock=time.time)


@FUZZ
@given(wecom_xml(), st.booleans())
def test_wecom_callback_never_raises(inner, signed):
    callback = _wecom_callback()
    if signed:  # a correctly encrypted and signed body around random inner XML
        query, body = wx.post(inner, ts=int(time.time()))
        data = body.encode()
    else:
        query, data = {"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "n"}, inner.encode()
    result = asyncio.run(callback.receive(query, data))
    assert result.status in (200, 400, 403)


# ---------------------------------------------------------------- event API body and records

KINDS = ["conversations", "messages", "complaints", "orders", "returns", "reviews", "kb", "roster", "nope", ""]
COLUMNS = ["conversation_id", "message_id", "started_at", "sent_at", "agent", "channel", "rating", "text",
           "sender", "order_id", "amount", "created_at", "status", "customer_id", "resolved", "category"]
cell = st.one_of(json_values, st.sampled_from(["2026-11-25 10:00:00", "5", "淘宝", "客服", "1.5", "true", ""]))
record = st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=6), cell, max_size=8)


@FUZZ
@given(json_values | st.fixed_dictionaries({"kind": st.sampled_from(KINDS) | json_values,
                                            "records": st.lists(record | json_values, max_size=3) | json_values}))
def test_event_batch_shape_is_checked_or_wrong_type(payload):
    try:
        batch = check(EventBatch, payload)
    except WrongType as exc:
        assert exc.zh and exc.en
        return
    assert isinstance(batch.kind, str) and isinstance(batch.records, list)


@FUZZ_DB
@given(st.sampled_from(KINDS), st.lists(record | json_values, max_size=6))
def test_event_records_are_stored_or_rejected_never_crash(sqlite_engine, kind, records):
    try:
        result = ingest_records(sqlite_engine, kind, records, tz=UTC, source="api")
    except IngestError as exc:
        assert str(exc)
        return
    assert result.accepted + result.updated + result.rejected == len(records)
    assert all(e.reason for e in result.errors)


# ---------------------------------------------------------------- file readers (csbot import)


@FUZZ_DB
@given(st.binary(min_size=1, max_size=400), st.sampled_from(["csv", "xlsx", "jsonl", "json", "txt"]))
# Found by CI: zip magic in a file named .csv reached openpyxl, which refuses a path by extension.
@example(b"PK\x03\x04A\x00", "csv")
@example(b"PK\x03\x04" + b"\x00" * 40, "txt")
def test_import_of_random_bytes_is_ingest_error_or_rejected_rows(sqlite_engine, tmp_path, data, suffix):
    path = tmp_path / f"random.{suffix}"
    path.write_bytes(data)
    try:
        result = import_file(sqlite_engine, "conversations", path, tz=UTC, enrich=False)
    except IngestError as exc:
        assert str(exc)
        return
    assert result.accepted + result.updated == 0 or result.total > 0


header = st.lists(st.sampled_from(COLUMNS[:8]) | st.text(max_size=6), min_size=1, max_size=6)
text_cell = st.text(max_size=12) | st.sampled_from(["2026-11-25 10:00:00", "5", "-1", "1e400", "淘宝", "=1+1"])


@FUZZ_DB
@given(header, st.lists(st.lists(text_cell, max_size=7), max_size=5), st.sampled_from(["csv", "xlsx"]))
def test_import_of_random_rows_is_ingest_error_or_rejected_rows(sqlite_engine, tmp_path, head, rows, fmt):
    path = tmp_path / f"rows.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(head)
        writer.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        for row in [head, *rows]:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in row])  # Excel cannot hold control chars
        book.save(path)
    try:
        result = import_file(sqlite_engine, "conversations", path, tz=UTC, enrich=False)
    except IngestError as exc:
        assert str(exc)
        return
    assert result.accepted + result.updated + result.rejected == result.total


@pytest.mark.parametrize("blob", ["", "AAAA", "=" * 8, base64.b64encode(os.urandom(32)).decode()])
def test_wecom_decrypt_examples(blob):
    with pytest.raises(WeComCryptoError):
        CRYPTO.decrypt(blob)
