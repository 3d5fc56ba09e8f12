"""The /为什么 command through the bot: slash, alias and free text; agent drivers only where per-agent
figures may be shown; the waterfall chart."""

from __future__ import annotations

import asyncio

import pytest

from analytics import rollups
from bot.access import AccessPolicy
from bot.app import Bot
from bot.config import AccessSettings, Settings
from tests import metric_data as md
from tests.test_why import planted


@pytest.fixture
def bot(sqlite_engine, tmp_path):  # noqa: ANN001, ANN201
    md.load(sqlite_engine, planted("both"))
    rollups.rebuild(sqlite_engine)
    return Bot(Settings(), sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")


def _ask(bot, text, **kw):  # noqa: ANN001, ANN202
    return asyncio.run(bot.ask(text, **kw))


def test_answer_names_both_drivers_with_drill_commands(bot):
    reply = _ask(bot, "/为什么 满意度 上周")
    assert reply.ok, reply.text
    text = reply.text
    assert "满意度为什么下降" in text and "上周" in text
    assert "小周 客服：占比变化" in text and "/满意度 上周 客服=小周" in text
    assert "抖音 渠道：自身变化 −" in text and "/满意度 上周 渠道=抖音" in text
    assert "贡献 −" in text
    assert len(reply.charts) == 1 and reply.charts[0].path.stat().st_size > 5000


@pytest.mark.parametrize("text", ["为什么满意度下降了", "/why csat 上周", "上周满意度为什么下降"])
def test_other_spellings(bot, text):
    reply = _ask(bot, text)
    assert reply.ok, reply.text
    assert "满意度为什么" in reply.text


def test_groups_get_no_agent_drivers(sqlite_engine, tmp_path):
    md.load(sqlite_engine, planted("both"))
    rollups.rebuild(sqlite_engine)
    settings = Settings(access=AccessSettings(sensitive_chats=["cidLEADS"]))
    bot = Bot(settings, sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path,
              access=AccessPolicy(settings.access, None))
    group = _ask(bot, "/为什么 满意度 上周", chat_id="cidGROUP", is_private=False)
    assert group.ok and "客服=" not in group.text and "小周" not in group.text
    assert "按客服的原因只在单聊或指定的群里显示" in group.text
    assert "抖音 渠道" in group.text
    leads = _ask(bot, "/为什么 满意度 上周", chat_id="cidLEADS", is_private=False)
    private = _ask(bot, "/为什么 满意度 上周", is_private=True)
    for reply in (leads, private):
        assert "小周 客服" in reply.text


def test_unknown_metric_and_filters_are_chinese_errors(bot):
    reply = _ask(bot, "/为什么 本周")
    assert not reply.ok and "可选" in reply.text
    reply = _ask(bot, "/为什么 满意度 上周 渠道=抖音")
    assert not reply.ok and "不支持" in reply.text and "筛选" in reply.text


def test_noise_says_nothing_stands_out(sqlite_engine, tmp_path):
    md.load(sqlite_engine, planted("noise"))
    rollups.rebuild(sqlite_engine)
    bot = Bot(Settings(), sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path)
    reply = _ask(bot, "/为什么 满意度 上周")
    assert "在正常波动范围内" in reply.text and "主要原因" not in reply.text and reply.charts == []


def test_repurchase_explains_why_not(bot):
    reply = _ask(bot, "/为什么 复购率 上周")
    assert "无法精确分解" in reply.text
