"""The real aiohttp app against a local fake DingTalk: signed callbacks in, replies out.

Every reply is asserted where it arrives: at the fake's sessionWebhook or OpenAPI endpoints.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from analytics.store.audit import AuditEntry
from bot.access import AccessPolicy
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.app import Bot
from bot.config import Settings
from bot.web import create_app
from tests import metric_data as md
from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk

WEEK = (datetime(2026, 11, 23, tzinfo=md.TZ), md.NOW)
PNG = b"\x89PNG\r\n\x1a\n"


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        yield server


@pytest.fixture
def rows():
    return md.make_rows()


def make_settings(fake: FakeDingTalk, tmp_path, **sections) -> Settings:
    dingtalk = {"app_key": fake.app_key, "app_secret": fake.app_secret, "robot_code": fake.robot_code,
                "api_base": fake.base_url, "oapi_base": fake.base_url, **sections.pop("dingtalk", {})}
    general = {"data_dir": str(tmp_path / "data")}
    return Settings(general=general, dingtalk=dingtalk, **sections)


async def start(aiohttp_client, engine, rows, fake, tmp_path, *, outbox=None, **sections):
    settings = make_settings(fake, tmp_path, **sections)
    md.load(engine, rows)
    access = AccessPolicy(settings.access, engine)
    bot = Bot(settings, engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts", access=access)
    sender = DingTalkSender(settings.dingtalk)
    senders = {"dingtalk": sender}
    if callable(outbox):
        outbox = outbox(engine, senders)
    app = create_app(bot, settings, senders=senders, outbox=outbox)
    return await aiohttp_client(app), settings


def audit_count(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


async def test_signed_callback_gets_the_csat_answer_at_the_session_webhook(aiohttp_client, engine, rows, fake,
                                                                           tmp_path):
    client, _ = await start(aiohttp_client, engine, rows, fake, tmp_path)
    payload = callback_payload(fake, "/满意度 本周")
    resp = await client.post("/dingtalk/callback", data=body(payload), headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    assert (await resp.json())["errcode"] == 0
    (sent,) = await fake.wait_sent(1)
    value, n = md.expect_csat(rows, *WEEK, {})
    assert sent.kind == "session"
    assert sent.body["msgtype"] == "markdown"
    assert sent.body["markdown"]["text"].startswith(f"**满意度 {pct(value)}**  \n")
    assert f"参评 {n:,}" in sent.body["markdown"]["text"]
    assert sent.body["at"]["atUserIds"] == ["manager4756"]
    # The trend chart travelled as an uploaded image (no public_base_url configured here).
    assert len(fake.uploads) == 1 and fake.uploads[0].startswith(PNG)
    assert "(@lALPfake1)" in sent.body["markdown"]["text"]
    assert audit_count(engine) == 1


async def test_charts_are_served_from_signed_links(aiohttp_client, sqlite_engine, rows, fake, tmp_path):
    client, settings = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path)
    base = str(client.make_url("")).rstrip("/")
    client.app  # noqa: B018 - the app is already built; rebuild it with a public address instead
    await client.close()
    settings = make_settings(fake, tmp_path, server={"public_base_url": base})
    bot = Bot(settings, sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
    from bot.web.charts import build_chart_links

    links = build_chart_links(settings)
    app = create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk, chart_links=links.publish)},
                     chart_links=links)
    client = await aiohttp_client(app)
    links.base_url = str(client.make_url("")).rstrip("/")  # the test server's port is known only now
    resp = await client.post("/dingtalk/callback", data=body(callback_payload(fake, "/满意度 本周")),
                             headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    (sent,) = await fake.wait_sent(1)
    text = sent.body["markdown"]["text"]
    url = text[text.index("](") + 2: text.rindex(")")]
    assert url.startswith(links.base_url + "/charts/") and "exp=" in url and "sig=" in url
    assert not fake.uploads
    path = url[len(links.base_url):]
    image = await client.get(path)
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    assert (await image.read()).startswith(PNG)
    tampered = await client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert tampered.status == 403
    assert (await client.get("/charts/../../etc/passwd.png?exp=1&sig=x")).status == 404


async def test_private_chat_with_expired_session_goes_through_the_outbox(aiohttp_client, sqlite_engine, rows, fake,
                                                                          tmp_path):
    from bot.delivery.outbox import Outbox

    client, _ = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path,
                            outbox=lambda engine, senders: Outbox(engine, senders))
    payload = callback_payload(fake, "投诉 今天", private=True, session_ttl_ms=-1000)
    resp = await client.post("/dingtalk/callback", data=body(payload), headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    await fake.wait_for(lambda: len(fake.texts()) == 1)
    sent = fake.texts()
    assert [s.kind for s in sent] == ["user"]
    assert sent[0].target == "manager4756" and sent[0].body["msgKey"] == "sampleMarkdown"
    expected = md.expect_complaints(rows, datetime(2026, 11, 25, tzinfo=md.TZ), md.NOW, {})
    assert f"**投诉 {len(expected)} 件**" in sent[0].markdown
    assert fake.token_requests == 1


async def test_group_reply_falls_back_to_openapi_and_refreshes_a_revoked_token(aiohttp_client, sqlite_engine, rows,
                                                                               fake, tmp_path):
    client, _ = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path)
    for n, text in enumerate(["/满意度 本周", "/解决率 本周"], start=1):
        if n == 2:
            fake.revoke_tokens()  # the cached token is now rejected: one refresh, then success
        payload = callback_payload(fake, text, session_ttl_ms=-1)
        resp = await client.post("/dingtalk/callback", data=body(payload), headers=signed_headers(fake.app_secret))
        assert resp.status == 200
        await fake.wait_for(lambda n=n: len(fake.texts()) == n)
    await asyncio.sleep(0.2)  # let any trailing image message arrive
    assert {s.kind for s in fake.sent} == {"group"}
    assert {s.target for s in fake.sent} == {"cidGroupOps=="}
    assert [s.markdown.split("  \n")[0] for s in fake.texts()][0].startswith("**满意度 ")
    images = [s for s in fake.sent if s.body["msgKey"] == "sampleImageMsg"]
    assert len(images) == len(fake.uploads) >= 1  # each uploaded chart sent once, as its media id
    assert fake.token_requests == 2
    # The first call made with the revoked token (a chart upload or the send) was refused once, then it worked.
    assert len(fake.refused) == 1 and fake.refused[0] in {("upload", 40014), ("openapi", "InvalidAuthentication")}


async def test_session_5xx_is_retried_and_delivered_once(aiohttp_client, sqlite_engine, rows, fake, tmp_path):
    client, _ = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path)
    fake.fail_next(1, status=502)
    resp = await client.post("/dingtalk/callback", data=body(callback_payload(fake, "/满意度 本周")),
                             headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    await fake.wait_sent(1)
    await asyncio.sleep(0.2)  # give a wrong second delivery the chance to show up
    assert [s.kind for s in fake.sent] == ["session"]


async def test_session_webhook_on_a_foreign_host_is_never_called(aiohttp_client, sqlite_engine, rows, fake, tmp_path):
    client, _ = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path)
    payload = callback_payload(fake, "/满意度 本周", webhook="http://169.254.169.254/robot/sendBySession?session=x")
    resp = await client.post("/dingtalk/callback", data=body(payload), headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    await fake.wait_for(lambda: len(fake.texts()) == 1)
    assert {s.kind for s in fake.sent} == {"group"}  # the durable path, not the injected URL


async def test_access_refusal_is_delivered_politely(aiohttp_client, sqlite_engine, rows, fake, tmp_path):
    client, _ = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path,
                            access={"allowed_chats": ["cidSomeOtherGroup=="]})
    resp = await client.post("/dingtalk/callback", data=body(callback_payload(fake, "/满意度 本周")),
                             headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    (sent,) = await fake.wait_sent(1)
    assert "本群还没有开通数据机器人" in sent.body["markdown"]["text"]
    assert "满意度 " not in sent.body["markdown"]["text"].split("\n")[0][:4]


async def test_group_message_without_mention_is_acked_and_ignored(aiohttp_client, sqlite_engine, rows, fake, tmp_path):
    client, _ = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path)
    payload = callback_payload(fake, "/满意度 本周", mentioned=False)
    resp = await client.post("/dingtalk/callback", data=body(payload), headers=signed_headers(fake.app_secret))
    assert resp.status == 200 and (await resp.json())["errmsg"] == "ignored"
    await asyncio.sleep(0.2)
    assert fake.sent == [] and audit_count(sqlite_engine) == 0


async def test_stream_mode_has_no_http_callback(aiohttp_client, sqlite_engine, rows, fake, tmp_path):
    settings = make_settings(fake, tmp_path, dingtalk={"mode": "stream", "app_key": ""})
    app = create_app(Bot(settings, sqlite_engine), settings, senders={})
    client = await aiohttp_client(app)
    resp = await client.post("/dingtalk/callback", data=b"{}", headers=signed_headers(fake.app_secret))
    assert resp.status in (404, 405)


async def test_free_text_from_a_chat_that_is_not_allowed_gets_the_refusal(aiohttp_client, sqlite_engine, rows, fake,
                                                                          tmp_path):
    client, _ = await start(aiohttp_client, sqlite_engine, rows, fake, tmp_path,
                            access={"allowed_chats": ["cidSomeOtherGroup=="]})
    resp = await client.post("/dingtalk/callback", data=body(callback_payload(fake, "你好，在吗")),
                             headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    (sent,) = await fake.wait_sent(1)
    assert "本群还没有开通数据机器人" in sent.body["markdown"]["text"]
