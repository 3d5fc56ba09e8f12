"""Chat-like tests: ``reply = await bot.ask(...)`` against a real database, numbers from plain loops."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.app import EMPTY_DB, Bot
from bot.config import Settings
from tests import metric_data as md

WEEK = (datetime(2026, 11, 23, tzinfo=md.TZ), md.NOW)
PREV_WEEK = (datetime(2026, 11, 16, tzinfo=md.TZ), datetime(2026, 11, 18, 15, 30, tzinfo=md.TZ))
TODAY = (datetime(2026, 11, 25, tzinfo=md.TZ), md.NOW)
YESTERDAY = (datetime(2026, 11, 24, tzinfo=md.TZ), datetime(2026, 11, 25, tzinfo=md.TZ))


@pytest.fixture
def rows():
    return md.make_rows()


@pytest.fixture
def bot(engine, rows, tmp_path):
    md.load(engine, rows)
    return Bot(Settings(), engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


async def test_csat_this_week(bot, rows):
    reply = await bot.ask("/满意度 本周")
    value, n = md.expect_csat(rows, *WEEK, {})
    prev, _ = md.expect_csat(rows, *PREV_WEEK, {})
    first = reply.text.splitlines()[0]
    assert first == f"**满意度 {pct(value)}**"
    assert "11-23 00:00 ~ 11-25 15:30" in reply.text
    assert f"参评 {n:,} 个 / 会话 {len(md.convs(rows, *WEEK, {})):,} 个" in reply.text
    assert "上周同期" in reply.text and f"{pct(prev)} → {pct(value)}" in reply.text
    assert ("↑" if value > prev else "↓") in reply.text


@pytest.mark.parametrize("text", ["/首响 昨天 渠道=淘宝", "首响 昨天 淘宝", "昨天淘宝的首响怎么样", "/frt 昨天 channel=淘宝"])
async def test_frt_phrasings_agree(bot, rows, text):
    reply = await bot.ask(text)
    mean, n, median, p90, fast = md.expect_frt(rows, *YESTERDAY, {"channel": "淘宝"})
    assert reply.ok, reply.text
    assert reply.text.splitlines()[0] == f"**首响均值 {mean:.1f} 秒**"
    assert "渠道=淘宝" in reply.text and f"有首响的会话 {n:,} 个" in reply.text
    assert f"P90 {p90:.1f} 秒" in reply.text


async def test_complaints_default_today(bot, rows):
    reply = await bot.ask("/投诉")
    expected = md.expect_complaints(rows, *TODAY, {})
    assert reply.text.splitlines()[0] == f"**投诉 {len(expected)} 件**"
    assert "今天" in reply.text


async def test_free_text_any_order(bot, rows):
    a = await bot.ask("本周满意度多少")
    b = await bot.ask("满意度 本周")
    c = await bot.ask("/满意度")  # default period 本周
    assert a.text == b.text == c.text


async def test_explain(bot, rows):
    reply = await bot.ask("/满意度 本周 ?")
    value, n = md.expect_csat(rows, *WEEK, {})
    assert "怎么算" in reply.text and "评分 ≥ 4" in reply.text
    assert f"参评 {n:,} 个" in reply.text and "n=" not in reply.text


async def test_did_you_mean(bot):
    reply = await bot.ask("/满意 本周")
    assert not reply.ok and "你是不是想找 /满意度" in reply.text


async def test_unknown_period_is_chinese_error_with_examples(bot):
    reply = await bot.ask("/满意度 上个世纪")
    assert not reply.ok
    assert "本周" in reply.text or "近7天" in reply.text


async def test_ambiguous_asks_back(bot):
    reply = await bot.ask("本周满意度和投诉")
    assert not reply.ok and "还是" in reply.text


async def test_unsupported_filter(bot):
    reply = await bot.ask("/差评 本周 客服=小王")
    assert not reply.ok and "不支持按「客服」筛选" in reply.text


async def test_not_addressed_in_group_is_ignored(bot):
    assert await bot.ask("/满意度 本周", is_private=False, mentioned=False) is None


async def test_help_lists_every_command(bot):
    reply = await bot.ask("/帮助")
    for name in ["满意度", "投诉", "首响", "解决率", "退货率", "复购率", "差评", "帮助"]:
        assert f"/{name}" in reply.text
    detail = await bot.ask("/help 首响")
    assert "用法" in detail.text and "/frt" in detail.text


async def test_every_metric_command_answers(bot):
    for cmd in ["/解决率 上周", "/退货率 本月", "/复购率 上月", "/差评 近7天", "/销售 昨天", "/情感 本周", "/会话量 今天"]:
        reply = await bot.ask(cmd)
        assert reply.ok, (cmd, reply.text)
        assert "~" in reply.text  # the window is echoed


async def test_empty_database(make_engine, tmp_path):
    empty = Bot(Settings(), make_engine("sqlite"), clock=lambda: md.NOW, chart_dir=tmp_path)
    reply = await empty.ask("/满意度 本周")
    assert not reply.ok and reply.text == EMPTY_DB


async def test_internal_error_shows_id_not_exception(bot, monkeypatch):
    from analytics import metrics

    def boom(*a, **k):
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(metrics, "compute", boom)
    reply = await bot.ask("/满意度 本周")
    assert not reply.ok and "错误编号" in reply.text and "secret-internal-detail" not in reply.text
