"""/投诉 … 类别=物流: the filter the complaint-spike alerts tell the user to type.

Counts are checked against a plain loop over the complaint rows imported (every row carries its
category, so the import keeps them as given), on SQLite and PostgreSQL, with the rollups built by the
import and again after an incremental import that adds complaints and moves one to another category.
The answer must come from the ``complaints`` rollup (``rollup_complaint_tops`` has no 类别 rows), and
commands that cannot apply 类别 refuse it in words.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from analytics import rollups
from analytics.explain.drivers import Part
from analytics.explain.sources import WHY_METRICS
from analytics.ingest import ingest_records
from analytics.periods import resolve_window
from analytics.store.models import Complaint
from bot.app import Bot
from bot.config import Settings
from bot.router import Router
from handlers.base import CommandError
from handlers.digest import normalize_filters
from handlers.registry import load_commands
from handlers.why import drill
from tests import metric_data as md

TZ, NOW = md.TZ, md.NOW
CATEGORIES = md.CATEGORIES


def _complaints(seed: int, n: int, first: int = 0) -> list[dict]:
    """Complaints over the last 40 days, a third of them today (some after NOW: still 今天 as a day)."""
    rnd = random.Random(seed)
    midnight = datetime(NOW.year, NOW.month, NOW.day, tzinfo=TZ)
    out = []
    for i in range(first, first + n):
        if rnd.random() < 1 / 3:
            t = midnight + timedelta(seconds=rnd.randrange(int((NOW - midnight).total_seconds()) + 3600))
        else:
            t = NOW - timedelta(seconds=rnd.randrange(40 * 86400))
        out.append({"complaint_id": f"k{i}", "created_at": t, "text": "投诉一下",
                    "channel": rnd.choice([*md.CHANNELS, None]), "category": rnd.choice(CATEGORIES),
                    "product": rnd.choice([*md.PRODUCTS, None])})
    return out


def _loop(rows: list[dict], start: datetime, end: datetime, **filters: str) -> int:
    n = 0
    for row in rows:
        if start <= row["created_at"] < end and all(row[k] == v for k, v in filters.items()):
            n += 1
    return n


def _ingest(engine, rows: list[dict]) -> None:  # noqa: ANN001
    result = ingest_records(engine, "complaints", rows, tz=TZ, batch_size=97)
    assert result.rejected == 0, result.errors[:3]


def _headline(text: str) -> int:
    first = text.splitlines()[0]
    assert first.startswith("**投诉 ") and first.endswith(" 件**"), text
    return int(first.removeprefix("**投诉 ").removesuffix(" 件**").replace(",", ""))


@pytest.fixture
def spy(monkeypatch):  # noqa: ANN001, ANN201
    """Every rollups.breakdown call /投诉 makes, with whether the rollup answered."""
    calls: list[tuple[str, dict, bool]] = []
    real = rollups.breakdown

    def breakdown(conn, kind, dims, start, end, filters, **kw):  # noqa: ANN001, ANN202
        found = real(conn, kind, dims, start, end, filters, **kw)
        calls.append((kind, dict(filters), found is not None))
        return found

    monkeypatch.setattr(rollups, "breakdown", breakdown)
    return calls


async def _check(bot: Bot, rows: list[dict], spy: list, engine) -> None:  # noqa: ANN001
    for phrase in ("今天", "本月", "近7天"):
        w = resolve_window(phrase, NOW)
        for category in ("物流", "质量"):
            spy.clear()
            reply = await bot.ask(f"/投诉 {phrase} 类别={category}")
            assert reply.ok, reply.text
            assert _headline(reply.text) == _loop(rows, w.start, w.end, category=category), (phrase, category)
            assert "投诉率：按类别筛选时不计算" in reply.text
            assert "主要类别" not in reply.text  # one category: no top list of categories
            # from the complaints rollup (both windows), never complaint_tops under a category fdim
            assert spy and all(kind == "complaints" and answered for kind, _f, answered in spy), spy
            with engine.connect() as conn:
                sums = rollups.totals(conn, "complaints", w.start, w.end, {"category": category})
            assert sums is not None and int(sums["n"]) == _loop(rows, w.start, w.end, category=category)
        reply = await bot.ask(f"/投诉 {phrase} 类别=物流 渠道=淘宝")
        assert reply.ok, reply.text
        assert _headline(reply.text) == _loop(rows, w.start, w.end, category="物流", channel="淘宝")
        assert "投诉率：按类别筛选时不计算" in reply.text
        reply = await bot.ask(f"/投诉 {phrase} 渠道=京东")  # a single channel still reads complaint_tops
        assert _headline(reply.text) == _loop(rows, w.start, w.end, channel="京东")


async def test_category_count_equals_the_loop_with_rollups_and_after_an_incremental_import(
        engine, spy, tmp_path):  # noqa: ANN001
    rows = _complaints(seed=5, n=600)
    _ingest(engine, rows)
    with engine.connect() as conn:
        assert rollups.is_ready(conn, "complaints") and rollups.is_ready(conn, "complaint_tops")
        stored = {r.complaint_id: r.category for r in conn.execute(select(Complaint.__table__))}
    assert stored == {r["complaint_id"]: r["category"] for r in rows}  # categories kept as imported
    bot = Bot(Settings(), engine, clock=lambda: NOW, chart_dir=tmp_path / "charts")
    await _check(bot, rows, spy, engine)

    # incremental: new complaints (today's among them) and an existing one moved to another category and hour
    added = _complaints(seed=6, n=150, first=600)
    moved = next(r for r in rows if r["category"] == "物流" and r["created_at"] < NOW - timedelta(days=2))
    moved = dict(moved, category="质量", created_at=NOW - timedelta(minutes=20))
    _ingest(engine, [*added, moved])
    rows = [r for r in rows if r["complaint_id"] != moved["complaint_id"]] + added + [moved]
    bot.refresh_known_values()
    await _check(bot, rows, spy, engine)


@pytest.fixture
async def sqlite_bot(sqlite_engine, tmp_path):  # noqa: ANN001, ANN201
    _ingest(sqlite_engine, _complaints(seed=7, n=200))
    return Bot(Settings(), sqlite_engine, clock=lambda: NOW, chart_dir=tmp_path / "charts")


@pytest.mark.parametrize("text, refusal", [
    ("/投诉 今天 类别=物留", "没有叫「物留」的类别。你是不是想找「物流」？"),
    ("/投诉 今天 投诉类别=服务", "没有叫「服务」的类别。你是不是想找「服务态度」？"),  # an alias of 类别
    ("/投诉 今天 类别=快递", "没有叫「快递」的类别。已有的类别：价格优惠、其他、发票、服务态度、物流、质量、退款售后。"),
])
async def test_unknown_category_gets_did_you_mean(sqlite_bot, text, refusal):  # noqa: ANN001
    reply = await sqlite_bot.ask(text)
    assert not reply.ok and reply.text.startswith(refusal), reply.text


@pytest.mark.parametrize("text, refusal", [
    ("/满意度 类别=物流", "/满意度 不支持按「类别」筛选（可用筛选：渠道、客服、店铺）。"),
    ("/满意度 本周 投诉类别=物流", "/满意度 不支持按「类别」筛选"),
    ("/退货率 本月 类别=物流", "/退货率 不支持按「类别」筛选（可用筛选：渠道、商品）。"),
    ("/日报 类别=物流", "/日报 不支持按「类别」筛选"),
    ("/为什么 投诉 本周 类别=物流", "/为什么 不支持按「类别」筛选"),
])
async def test_commands_without_category_refuse_it_in_chinese(sqlite_bot, text, refusal):  # noqa: ANN001
    reply = await sqlite_bot.ask(text)
    assert not reply.ok and reply.text.startswith(refusal), reply.text


async def test_bare_category_word_filters_complaints_only(sqlite_bot):  # noqa: ANN001
    reply = await sqlite_bot.ask("今天物流的投诉")
    assert reply.ok and "类别=物流" in reply.text.splitlines()[1], reply.text
    known = {"category": CATEGORIES, "channel": md.CHANNELS}
    router = Router(load_commands())
    assert router.parse("投诉 今天 物流", known).filters == {"category": "物流"}
    assert router.parse("满意度 今天 物流", known) is None  # a word like 物流 is no filter where 类别 is not one


def test_digest_filters_refuse_category_with_a_reason():
    with pytest.raises(CommandError, match="日报/周报不支持按「类别」筛选：类别只属于投诉"):
        normalize_filters({"类别": "物流"})
    with pytest.raises(CommandError, match="可用：渠道、客服、店铺、商品）"):
        normalize_filters({"category": "物流"})
    assert normalize_filters({"渠道": "淘宝"}) == {"channel": "淘宝"}


def test_why_drills_into_a_category_with_the_filter():
    part = Part("category", "物流", "rate", 12.0, 3.0, 15.0, 4.0)
    assert drill(WHY_METRICS["complaints"], part, "本周") == "/投诉 本周 类别=物流"
