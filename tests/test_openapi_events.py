"""``docs/openapi.yaml`` matches the event API: each documented status is produced by the real app and
its body validates against the documented schema (jsonschema), and the request schema accepts what
the server accepts. schemathesis runs the same file against a live ``csbot serve`` in
``bench/server/bench_load.py`` (figures in bench/server/README.md)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import SecretStr

from analytics.ingest import KINDS
from bot.app import Bot
from bot.config import Settings
from bot.web import create_app

SPEC = yaml.safe_load((Path(__file__).parents[1] / "docs" / "openapi.yaml").read_text("utf-8"))
OP = SPEC["paths"]["/api/v1/events"]["post"]
TOKEN = "openapi-token-0123456789"


def schema(ref: dict) -> dict:
    """A component schema with its ``$ref``s resolvable (the whole document as the root)."""
    return {**ref, "components": SPEC["components"]}


def response_schema(status: int) -> dict:
    return schema(OP["responses"][str(status)]["content"]["application/json"]["schema"])


@pytest.fixture
async def client(aiohttp_client, sqlite_engine):
    settings = Settings(ingest={"tokens": [SecretStr(TOKEN)], "max_batch": 10}, server={"max_body_bytes": 4096})
    return await aiohttp_client(create_app(Bot(settings, sqlite_engine), settings, senders={}))


AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {"conversation_id": "o-1", "started_at": "2026-11-25 10:00:00", "agent": "小王", "channel": "淘宝", "rating": 5}


@pytest.mark.parametrize(("status", "kwargs"), [
    (200, {"json": {"kind": "conversations", "records": [GOOD, {"conversation_id": "o-2", "rating": 9}, "x"]}}),
    (400, {"data": b"{not json"}),
    (400, {"json": {"kind": 7, "records": []}}),
    (400, {"json": {"kind": "nope", "records": []}}),
    (401, {"json": {"kind": "conversations", "records": []}, "headers": {}}),
    (413, {"json": {"kind": "conversations", "records": [GOOD] * 11}}),
    (413, {"data": b"{" + b" " * 5000 + b"}"}),
])
async def test_each_documented_status_has_the_documented_body(client, status, kwargs):
    headers = kwargs.pop("headers", AUTH)
    resp = await client.post("/api/v1/events", headers={**headers, "Content-Type": "application/json"}, **kwargs)
    assert resp.status == status
    jsonschema.validate(await resp.json(), response_schema(status))
    if status == 401:
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="csbot"'


def test_request_schema_lists_every_kind_and_requires_kind_and_records():
    batch = SPEC["components"]["schemas"]["EventBatch"]
    assert set(batch["properties"]["kind"]["enum"]) == set(KINDS)
    assert batch["required"] == ["kind", "records"]
    jsonschema.validate({"kind": "orders", "records": [{}, 1]}, schema(batch))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"kind": "orders", "records": {}}, schema(batch))


def test_documented_statuses_are_the_ones_the_module_names():
    assert set(OP["responses"]) == {"200", "400", "401", "413", "503"}
    assert SPEC["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
