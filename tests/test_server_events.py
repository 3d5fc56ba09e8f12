"""``POST /api/v1/events``: bearer auth, shape checks, size limits, per-record results, real upserts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from bot.app import Bot
from bot.config import Settings
from bot.web import create_app

TOKEN = "ingest-token-abcdef123456"


@pytest.fixture
async def client(aiohttp_client, engine):
    settings = Settings(ingest={"tokens": ["other-token-000000", TOKEN], "max_batch": 50},
                        server={"max_body_bytes": 64 * 1024})
    return await aiohttp_client(create_app(Bot(settings, engine), settings, senders={}))


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def conversation(i: int, **extra) -> dict:
    return {"conversation_id": f"api-{i}", "started_at": "2026-11-25 10:00:00", "agent": "小王",
            "channel": "淘宝", "rating": 5, **extra}


async def test_records_are_upserted_and_counted(client, engine):
    records = [conversation(1), conversation(2, rating=9), conversation(3), "not an object",
               {"conversation_id": "api-4", "agent": "小李"}]
    resp = await client.post("/api/v1/events", json={"kind": "conversations", "records": records}, headers=auth())
    assert resp.status == 200
    result = await resp.json()
    assert (result["kind"], result["accepted"], result["updated"], result["rejected"]) == ("conversations", 2, 0, 3)
    assert [e["index"] for e in result["errors"]] == [2, 4, 5]
    assert all(e["reason"] for e in result["errors"]) and result["errors_truncated"] is False
    again = await client.post("/api/v1/events", json={"kind": "conversations", "records": [conversation(1, rating=1)]},
                              headers=auth())
    assert (await again.json())["updated"] == 1
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT conversation_id, rating FROM conversations ORDER BY conversation_id")).all()
    assert [tuple(r) for r in rows] == [("api-1", 1), ("api-3", 5)]


@pytest.mark.parametrize(("headers", "label"), [
    ({}, "no header"),
    ({"Authorization": "Bearer wrong-token-0000"}, "wrong token"),
    ({"Authorization": f"Basic {TOKEN}"}, "wrong scheme"),
    ({"Authorization": "Bearer "}, "empty token"),
    ({"Authorization": f"Bearer {TOKEN}x"}, "token with a suffix"),
])
async def test_bad_tokens_get_401(client, headers, label):
    resp = await client.post("/api/v1/events", json={"kind": "conversations", "records": [conversation(1)]},
                             headers=headers)
    assert resp.status == 401, label
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in await resp.text()


async def test_no_configured_token_means_no_access(aiohttp_client, sqlite_engine):
    settings = Settings()
    client = await aiohttp_client(create_app(Bot(settings, sqlite_engine), settings, senders={}))
    resp = await client.post("/api/v1/events", json={"kind": "orders", "records": []}, headers=auth(""))
    assert resp.status == 401


@pytest.mark.parametrize(("data", "status"), [
    (b"{not json", 400),
    (b"\xff\xfe", 400),
    (json.dumps([1, 2]).encode(), 400),
    (json.dumps({"kind": "conversations"}).encode(), 400),
    (json.dumps({"kind": 3, "records": []}).encode(), 400),
    (json.dumps({"kind": "conversations", "records": {"a": 1}}).encode(), 400),
    (json.dumps({"kind": "tickets", "records": []}).encode(), 400),
    (b"[" * 20_000 + b"]" * 20_000, 400),
    (json.dumps({"kind": "conversations", "records": [conversation(i) for i in range(51)]}).encode(), 413),
    (json.dumps({"kind": "conversations", "records": [], "pad": "x" * 70_000}).encode(), 413),
])
async def test_malformed_and_oversized_requests(client, engine, data, status):
    resp = await client.post("/api/v1/events", data=data, headers=auth())
    assert resp.status == status
    body = await resp.json()
    assert body["error"] and body["message"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM conversations")).scalar_one() == 0


async def test_unknown_kind_message_is_chinese_and_english(client):
    resp = await client.post("/api/v1/events", json={"kind": "tickets", "records": []}, headers=auth())
    body = await resp.json()
    assert "未知的数据类型" in body["message"] and "unknown kind" in body["error"]
