"""Derived fields at import: first response time from messages (checked against a plain loop), sentiment of
customer messages and complaint categories from analytics.text, and the guard when text is unavailable."""

from __future__ import annotations

import logging
import random
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from analytics.ingest import enrich as enrich_module
from analytics.ingest import ingest_records
from analytics.store.models import Complaint, Conversation, Message

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)


def world(seed: int, n: int = 60) -> tuple[list[dict], list[dict]]:
    """Conversations and messages with every shape that matters: bot messages, agent speaking first,
    no customer, no agent reply, same-second replies, explicit imported values."""
    rng = random.Random(seed)
    conversations, messages = [], []
    for i in range(n):
        cid = f"c{i:03d}"
        start = T0 + timedelta(minutes=7 * i)
        conv = {"conversation_id": cid, "started_at": start, "agent": rng.choice(["小王", "小李"])}
        if rng.random() < 0.2:
            conv["first_response_seconds"] = rng.choice([5, 42.5, 300])  # imported explicitly: never derived
        conversations.append(conv)
        for j in range(rng.randrange(0, 7)):
            sender = rng.choice(["customer", "agent", "bot", "客户", "客服"])
            sent = start + timedelta(seconds=rng.choice([0, 0, 1, 7, 30, 95, 600]) + 3 * j * rng.randrange(2))
            messages.append({"message_id": f"{cid}-m{j}", "conversation_id": cid, "sent_at": sent,
                             "sender": sender, "text": f"消息 {j}"})
    rng.shuffle(messages)  # arrival order must not matter
    return conversations, messages


def expected_first_response(conversations: list[dict], messages: list[dict]) -> dict[str, float | None]:
    """The SPEC rule, written independently: first agent message at or after the first customer message,
    minus that customer message; bot messages never count; an imported value is kept."""
    role = {"customer": "customer", "客户": "customer", "agent": "agent", "客服": "agent", "bot": "bot"}
    out: dict[str, float | None] = {}
    for conv in conversations:
        if "first_response_seconds" in conv:
            out[conv["conversation_id"]] = float(conv["first_response_seconds"])
            continue
        own = [m for m in messages if m["conversation_id"] == conv["conversation_id"]]
        customer_times = [m["sent_at"] for m in own if role[m["sender"]] == "customer"]
        if not customer_times:
            out[conv["conversation_id"]] = None
            continue
        first_customer = min(customer_times)
        replies = [m["sent_at"] for m in own if role[m["sender"]] == "agent" and m["sent_at"] >= first_customer]
        out[conv["conversation_id"]] = (min(replies) - first_customer).total_seconds() if replies else None
    return out


def stored_first_response(engine: Engine) -> dict[str, tuple[float | None, bool | None]]:
    table = Conversation.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {r.conversation_id: (r.first_response_seconds, r.first_response_computed) for r in conn.execute(
            select(table.c.conversation_id, table.c.first_response_seconds, table.c.first_response_computed))}


def check(engine: Engine, conversations: list[dict], messages: list[dict]) -> None:
    expected = expected_first_response(conversations, messages)
    got = stored_first_response(engine)
    explicit = {c["conversation_id"] for c in conversations if "first_response_seconds" in c}
    assert set(got) == set(expected)
    for cid, value in expected.items():
        seconds, computed = got[cid]
        if value is None:
            assert seconds is None and computed is None, cid
        else:
            assert seconds == pytest.approx(value, abs=1e-3), cid
            assert computed is (cid not in explicit), cid


@pytest.mark.parametrize("messages_first", [False, True])
def test_first_response_computed_from_messages(engine: Engine, messages_first: bool) -> None:
    conversations, messages = world(seed=3 if messages_first else 4)
    if messages_first:
        ingest_records(engine, "messages", messages, tz=SH, enrich=False, batch_size=17)
        ingest_records(engine, "conversations", conversations, tz=SH, batch_size=11)
    else:
        ingest_records(engine, "conversations", conversations, tz=SH, batch_size=11)
        ingest_records(engine, "messages", messages, tz=SH, enrich=False, batch_size=17)
    check(engine, conversations, messages)
    assert any(computed for _, computed in stored_first_response(engine).values())


def test_first_response_follows_changes(engine: Engine) -> None:
    conversations, messages = world(seed=5, n=30)
    ingest_records(engine, "conversations", conversations, tz=SH)
    ingest_records(engine, "messages", messages, tz=SH, enrich=False)
    # Messages move to another conversation, an agent reply is re-timed, and one conversation's
    # imported value is cleared by a re-import with an empty cell (so it becomes derivable).
    rng = random.Random(6)
    for message in rng.sample(messages, 10):
        message["conversation_id"] = rng.choice(conversations)["conversation_id"]
    for message in rng.sample(messages, 10):
        message["sent_at"] += timedelta(seconds=rng.randrange(1, 120))
    cleared = next(c for c in conversations if "first_response_seconds" in c)
    del cleared["first_response_seconds"]
    ingest_records(engine, "messages", messages, tz=SH, enrich=False, batch_size=7)
    result = ingest_records(engine, "conversations", [{**cleared, "first_response_seconds": ""}], tz=SH)
    assert result.updated == 1
    check(engine, conversations, messages)


def test_reimporting_conversations_without_the_column_keeps_derived_values(engine: Engine) -> None:
    conversations, messages = world(seed=8, n=20)
    ingest_records(engine, "conversations", conversations, tz=SH)
    ingest_records(engine, "messages", messages, tz=SH, enrich=False)
    before = stored_first_response(engine)
    bare = [{k: c[k] for k in ("conversation_id", "started_at", "agent")} for c in conversations]
    ingest_records(engine, "conversations", bare, tz=SH)
    assert stored_first_response(engine) == before


def test_customer_messages_get_sentiment_and_complaints_a_category(engine: Engine) -> None:
    pytest.importorskip("analytics.text")
    from analytics.text import COMPLAINT_CATEGORIES, sentiment_label

    messages = [
        {"message_id": "s1", "conversation_id": "c1", "sent_at": T0, "sender": "customer", "text": "太慢了，非常失望"},
        {"message_id": "s2", "conversation_id": "c1", "sent_at": T0, "sender": "agent", "text": "抱歉亲"},
        {"message_id": "s3", "conversation_id": "c1", "sent_at": T0, "sender": "bot", "text": "您好"},
        {"message_id": "s4", "conversation_id": "c1", "sent_at": T0, "sender": "customer", "text": ""},
    ]
    ingest_records(engine, "messages", messages, tz=SH)
    table = Message.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = {r.message_id: r for r in conn.execute(select(table))}
    assert 0.0 <= rows["s1"].sentiment <= 1.0
    assert rows["s1"].sentiment_label == sentiment_label(["太慢了，非常失望"])[0]
    assert all(rows[m].sentiment is None and rows[m].sentiment_label is None for m in ("s2", "s3", "s4"))

    complaints = [
        {"complaint_id": "k1", "created_at": T0, "text": "快递一周了还没到，物流太慢"},
        {"complaint_id": "k2", "created_at": T0, "text": "衣服质量很差", "category": "自定义分类"},
    ]
    ingest_records(engine, "complaints", complaints, tz=SH)
    table = Complaint.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = {r.complaint_id: r for r in conn.execute(select(table))}
    assert rows["k1"].category in COMPLAINT_CATEGORIES and rows["k1"].category_source == "classifier"
    assert (rows["k2"].category, rows["k2"].category_source) == ("自定义分类", "import")


def test_without_the_text_module_columns_stay_empty(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "analytics.text", None)  # "import analytics.text" now fails
    monkeypatch.setattr(enrich_module, "_warned", set())
    caplog.set_level(logging.WARNING, logger="analytics.ingest.enrich")
    for i in range(2):
        ingest_records(sqlite_engine, "complaints", [{"complaint_id": f"k{i}", "created_at": T0, "text": "太慢"}],
                       tz=SH)
    table = Complaint.__table__  # type: ignore[attr-defined]
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(table.c.category, table.c.category_source)).all()
    assert rows == [(None, None), (None, None)]
    assert len([r for r in caplog.records if "classify_complaints" in r.getMessage()]) == 1  # warned once
