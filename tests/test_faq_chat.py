"""/知识库 end to end on demo data through the Bot (list, show, accept with an edit, dismiss, export opened with
openpyxl, not proposed again, re-proposed when it grows past the factor), non-admins refused, the 周报's
新知识库建议 section, and ``csbot faq --json`` as one JSON document. The suggestions are computed by the FAQ
refresh job (``bot.jobs.faq``), as in ``csbot serve``; the chat only reads them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlmodel import Session

from analytics.demo.load import generate_demo
from analytics.faq.extract import extract
from analytics.faq.suggest import tidy
from analytics.ingest import ingest_records
from analytics.store.audit import AuditEntry
from analytics.store.db import open_database
from analytics.store.faq import FaqSuggestion
from analytics.store.models import KBEntry, Message
from analytics.textmodel.pii import mask_pii
from bot.access import AccessPolicy
from bot.app import Bot
from bot.config import AccessSettings, Settings
from bot.jobs.faq import FaqRefreshJob
from handlers import knowledge

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=TZ)
FAQ = {"days": 7, "min_questions": 5, "top_n": 8, "regrow_factor": 2.0, "refresh_minutes": 60}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faqdemo") / "demo.db"
    engine = open_database(f"sqlite:///{path}")
    generate_demo(engine, days=15, seed=7, now=NOW, tz=TZ, scale=0.3)
    engine.dispose()
    return path


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> str:
    copy = tmp_path / "demo.db"
    shutil.copyfile(demo_db, copy)
    return f"sqlite:///{copy}"


def make_bot(url: str, tmp_path: Path) -> Bot:
    settings = Settings(faq=FAQ, access={"admins": ["boss"]})
    engine = open_database(url)
    return Bot(settings, engine, clock=lambda: NOW, chart_dir=tmp_path / "charts",
               access=AccessPolicy(AccessSettings(admins=["boss"], user_rate_per_minute=0), engine))


def refresh(bot: Bot) -> None:
    """What the leader's timed job does between two chat commands."""
    assert FaqRefreshJob(bot.settings, bot.engine, bot.services, "test", clock=lambda: NOW).run_once() is not None


def ids(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^#(\d+) ", text, re.M)]


async def test_workflow_on_demo_data(db: str, tmp_path: Path) -> None:
    bot = make_bot(db, tmp_path)
    asked: list[int] = []
    bot.services.extra[knowledge.REFRESH_HOOK] = lambda: asked.append(1)
    none_yet = await bot.ask("/知识库", user_id="lead")
    assert none_yet.text == knowledge.NOT_YET and asked == [1]  # nothing stored: says so and starts the job
    refresh(bot)
    listing = await bot.ask("/知识库", user_id="lead")
    assert listing.ok, listing.text
    shown = ids(listing.text)
    assert len(shown) == FAQ["top_n"], listing.text
    assert re.search(r"^#\d+ .+ · \d+ 次 · \d+ 位顾客 · (↑|↓|持平|新出现).* · (快捷回复|知识库文章)", listing.text, re.M)
    first, second = shown[0], shown[1]

    detail = await bot.ask(f"/知识库 {first}", user_id="lead")
    assert detail.ok and "常见问法" in detail.text and "候选答案" in detail.text and "为什么是" in detail.text
    with Session(bot.engine) as s:
        row = s.get(FaqSuggestion, first)
        agent_texts = {mask_pii(m.text).strip() for m in s.scalars(select(Message).where(Message.sender == "agent"))}
    assert row.answer and row.answer in agent_texts  # a real agent reply from the demo data, masked
    assert row.answer in detail.text

    accepted = await bot.ask(f"/知识库 采纳 {first} 亲，这是改过的答案 欢迎再来", user_id="boss")
    assert accepted.ok and f"已采纳 #{first}" in accepted.text
    dismissed = await bot.ask(f"/知识库 忽略 {second}", user_id="boss")
    assert dismissed.ok and f"已忽略 #{second}" in dismissed.text
    with Session(bot.engine) as s:
        entry = s.get(KBEntry, f"faq-{first}")
        assert entry is not None and entry.answer == "亲，这是改过的答案 欢迎再来" and entry.source == "mined"
        results = [a.result for a in s.scalars(select(AuditEntry).where(AuditEntry.command == "知识库"))]
    assert any(r.startswith(f"采纳 #{first}") for r in results) and any(r.startswith(f"忽略 #{second}") for r in results)

    export = await bot.ask("/知识库 导出", user_id="lead")
    assert export.ok and len(export.files) == 2
    xlsx = next(f.path for f in export.files if f.path.suffix == ".xlsx")
    sheet = load_workbook(xlsx).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("问题", "相似问题", "答案", "分类")
    assert len(rows) == 2 and rows[1][0] == tidy(row.question) and rows[1][2] == "亲，这是改过的答案 欢迎再来"
    csv_path = next(f.path for f in export.files if f.path.suffix == ".csv")
    assert csv_path.read_text(encoding="utf-8-sig").splitlines()[0] == "问题,相似问题,答案,分类"

    again = await bot.ask("/知识库", user_id="lead")
    assert first not in ids(again.text) and second not in ids(again.text)  # accepted → covered; dismissed stays

    with Session(bot.engine) as s:
        grown = s.get(FaqSuggestion, second)
    phrase = grown.question
    assert extract(phrase) == phrase  # the stored question is already normalised: it extracts to itself
    convs = [{"conversation_id": f"grow-{i}", "started_at": NOW - timedelta(hours=1 + i * 0.01), "agent": "小王",
              "customer_id": f"grow-{i}", "resolved": True, "rating": 5} for i in range(grown.count + 2)]
    msgs = [{"message_id": f"grow-{i}-0", "conversation_id": f"grow-{i}", "sent_at": c["started_at"],
             "sender": "customer", "text": phrase} for i, c in enumerate(convs)]
    ingest_records(bot.engine, "conversations", convs, tz=TZ)
    ingest_records(bot.engine, "messages", msgs, tz=TZ)
    assert second not in ids((await bot.ask("/知识库", user_id="lead")).text)  # the chat reads the stored run
    refresh(bot)
    regrown = await bot.ask("/知识库", user_id="lead")
    assert second in ids(regrown.text), regrown.text
    assert re.search(rf"^#{second} .*曾忽略", regrown.text, re.M)
    assert "曾于" in (await bot.ask(f"/知识库 {second}", user_id="lead")).text


async def test_non_admins_cannot_decide(db: str, tmp_path: Path) -> None:
    bot = make_bot(db, tmp_path)
    refresh(bot)
    listing = await bot.ask("/知识库", user_id="staff")
    assert listing.ok  # everyone may look
    first = ids(listing.text)[0]
    for text in (f"/知识库 采纳 {first}", f"/知识库 忽略 {first}"):
        refused = await bot.ask(text, user_id="staff")
        assert not refused.ok and "只有管理员" in refused.text
    with Session(bot.engine) as s:
        assert s.get(FaqSuggestion, first).status == "proposed"
        assert s.get(KBEntry, f"faq-{first}") is None
    bad = await bot.ask("/知识库 采纳", user_id="boss")
    assert not bad.ok and "编号" in bad.text
    missing = await bot.ask("/知识库 9999", user_id="staff")
    assert not missing.ok and "没有编号 9999" in missing.text


async def test_weekly_digest_carries_new_suggestions(db: str, tmp_path: Path) -> None:
    bot = make_bot(db, tmp_path)
    weekly = await bot.ask("/周报", user_id="boss", is_private=True)
    assert weekly.ok and "**新知识库建议**" in weekly.text
    section = weekly.text.split("**新知识库建议**", 1)[1]
    assert re.search(r"· #\d+ ", section)
    off = Bot(Settings(faq={**FAQ, "weekly_push": False}), bot.engine, clock=lambda: NOW, chart_dir=tmp_path / "c2")
    assert "新知识库建议" not in (await off.ask("/周报")).text


def test_cli_json_is_one_document(db: str, tmp_path: Path) -> None:
    env = {**os.environ, "CSBOT_DATABASE__URL": db, "CSBOT_FAQ__MIN_QUESTIONS": "5",
           "CSBOT_GENERAL__DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "bot.cli", "faq", "--days", "7", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    doc = json.loads(out.stdout)  # one document, nothing else on stdout
    assert doc["suggestions"] and {"id", "question", "kind", "questions", "customers", "growth", "answer"} <= set(
        doc["suggestions"][0])
    assert doc["window"]["label"].startswith("近7天") and "完成" in out.stderr
