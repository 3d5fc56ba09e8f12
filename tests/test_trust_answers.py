"""Answers a team lead can trust (issue 11, items 1, 3, 4): one test per class of problem.

Nothing typed is silently ignored (unknown filter values, filters a command cannot apply, free text
with words nobody understood); comparisons say the truth (zero is a count's baseline, the minimum-n
rule of rates is stated, per-agent words follow the metric's direction, a printed change is the
difference of the printed numbers); explanations are Chinese with units. Numbers are checked against
plain loops over the same rows (tests/metric_data.py), never against the code under test.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest

from analytics import metrics
from analytics.metrics import METRICS
from analytics.periods import resolve_window
from bot.app import NOT_UNDERSTOOD, Bot
from bot.config import Settings
from bot.router import Router
from handlers import metric_reply
from handlers.format import fmt_change
from handlers.registry import load_commands
from tests import metric_data as md

TZ, NOW = md.TZ, md.NOW
KNOWN = {"channel": md.CHANNELS, "agent": md.AGENTS, "shop": md.SHOPS, "product": md.PRODUCTS}


@pytest.fixture(scope="module")
def rows():
    return md.make_rows()


@pytest.fixture
def bot(make_engine, rows, tmp_path):
    engine = make_engine("sqlite")
    md.load(engine, rows)
    return Bot(Settings(), engine, clock=lambda: NOW, chart_dir=tmp_path / "charts")


@pytest.fixture(scope="module")
def router():
    return Router(load_commands())


# -- 1. nothing the user typed is silently ignored ------------------------------------------------------

@pytest.mark.parametrize("text, refusal", [
    ("/投诉 渠道=拼多多", "没有叫「拼多多」的渠道。已有的渠道：京东、官网、抖音、淘宝。"),  # the example
    ("/满意度 本周 客服=小明", "没有叫「小明」的客服。已有的客服：小周、小张、小李、小王、阿明。"),  # equally close to all
    ("/满意度 本周 客服=小王八", "没有叫「小王八」的客服。你是不是想找「小王」？"),  # one close name
    ("/销售 本月 商品=羽绒", "没有叫「羽绒」的商品。你是不是想找「羽绒服」？"),
    ("/首响 昨天 店铺=旗舰", "没有叫「旗舰」的店铺。你是不是想找「旗舰店」？"),  # part of a known name
    ("昨天的投诉 channel=拼多多", "没有叫「拼多多」的渠道。"),  # free text, English filter name
    ("/客服 客服=小汪 本月", "没有叫「小汪」的客服。"),  # the name as a filter, like /客服 小汪
])
async def test_unknown_filter_value_is_refused_with_did_you_mean(bot, text, refusal):
    reply = await bot.ask(text)
    assert not reply.ok and reply.text.startswith(refusal), reply.text


async def test_filter_value_known_from_any_table_is_accepted(make_engine, rows, tmp_path):
    """A product complained about but never ordered is still a product (known values read every table)."""
    engine = make_engine("sqlite")
    extra = md.Rows(**{k: list(v) for k, v in vars(rows).items()})
    extra.complaints.append({"complaint_id": "k-only", "created_at": NOW - timedelta(hours=1), "text": "投诉",
                             "channel": "淘宝", "category": "质量", "product": "羊毛衫", "conversation_id": None})
    md.load(engine, extra)
    bot = Bot(Settings(), engine, clock=lambda: NOW, chart_dir=tmp_path)
    reply = await bot.ask("/投诉 今天 商品=羊毛衫")
    assert reply.ok and reply.text.splitlines()[0] == "**投诉 1 件**", reply.text


@pytest.mark.parametrize("text, refusal", [
    ("/热词 渠道=淘宝", "/热词 不支持按「渠道」筛选（可用筛选：无）。"),  # the example
    ("本周淘宝的热词", "/热词 不支持按「渠道」筛选"),  # a bare value in free text is a filter too
    ("/差评 客服=小王", "/差评 不支持按「客服」筛选（可用筛选：商品）。"),
    ("/满意度 本周 商品=羽绒服", "/满意度 不支持按「商品」筛选（可用筛选：渠道、客服、店铺）。"),
    ("/概览 客服=小王", "/概览 不支持按「客服」筛选（可用筛选：渠道）。"),  # the card dropped it silently
    ("/高峰 商品=羽绒服", "/高峰 不支持按「商品」筛选"),
    ("/帮助 渠道=淘宝", "/帮助 不支持按「渠道」筛选"),
])
async def test_filter_a_command_cannot_apply_is_refused(bot, text, refusal):
    reply = await bot.ask(text)
    assert not reply.ok and reply.text.startswith(refusal), reply.text


def test_metric_commands_offer_exactly_their_metrics_filters():
    """Help lists, and the router accepts, the filters the metric honours — no more, no fewer."""
    cn = {v: k for k, v in metrics.FILTER_KEYS.items()}
    by_name = {c.spec.name: c.spec for c in load_commands()}
    for metric in METRICS.values():
        assert by_name[metric.name].filters == tuple(cn[f] for f in metric.filters), metric.name


@pytest.mark.parametrize("text", [
    "'; DROP TABLE conversations;--",  # the example: one English alias matched
    "conversations please",
    "满意度 颜色=红",  # a filter name nobody knows
    "投诉 拼多多",  # a word that is no period, filter or value
    "volume 2026 whatever",
])
def test_free_text_with_words_not_understood_is_not_answered(router, text):
    assert router.parse(text, KNOWN) is None


@pytest.mark.parametrize("text, command, period, filters", [
    ("昨天淘宝的投诉", "投诉", "昨天", {"channel": "淘宝"}),
    ("本周满意度多少", "满意度", "本周", {}),
    ("满意度 上周 淘宝 小王", "满意度", "上周", {"channel": "淘宝", "agent": "小王"}),
    ("昨天淘宝的首响怎么样", "首响", "昨天", {"channel": "淘宝"}),
    ("首响 昨天 淘宝", "首响", "昨天", {"channel": "淘宝"}),
    ("请问这周的解决率是多少呀？", "解决率", "这周", {}),
    ("本月羽绒服的退货率", "退货率", "本月", {"product": "羽绒服"}),
    ("你好，今天投诉多不多", "投诉", "今天", {}),
])
def test_natural_phrasings_keep_working(router, text, command, period, filters):
    parsed = router.parse(text, KNOWN)
    assert parsed is not None, text
    assert (parsed.command.spec.name, parsed.period_phrase, parsed.filters) == (command, period, filters)


def test_not_understood_reply_has_examples_and_registered_slash_commands_still_parse(router):
    assert "/满意度 本周" in NOT_UNDERSTOOD and "/帮助" in NOT_UNDERSTOOD
    for cmd in load_commands():  # /日报, /订阅, /为什么 … added by other issues included
        parsed = router.parse(f"/{cmd.spec.name}", KNOWN)
        assert parsed is not None and parsed.command.spec.name == cmd.spec.name
    assert router.parse("客服 张三 本月", KNOWN).args == ["张三"]  # a name is the command's to check


async def test_not_understood_free_text_in_chat(bot):
    reply = await bot.ask("'; DROP TABLE conversations;--")
    assert not reply.ok and reply.text == NOT_UNDERSTOOD


# -- 3. comparisons say the truth ---------------------------------------------------------------------

def _zero_baseline_rows() -> md.Rows:
    """Data from 11-22; yesterday (11-24) has no conversation, complaint or order; today has some."""
    rows = md.Rows()
    days = [(datetime(2026, 11, 22, 10, tzinfo=TZ), 5), (datetime(2026, 11, 25, 9, tzinfo=TZ), 7)]
    for day, count in days:
        for i in range(count):
            t = day + timedelta(minutes=7 * i)
            cid = f"c{t:%d}{i}"
            rows.conversations.append({
                "conversation_id": cid, "started_at": t, "agent": "小王", "channel": "淘宝", "shop": "旗舰店",
                "customer_id": f"u{i}", "first_response_seconds": 20.0 + i, "resolved": True, "rating": 5,
                "transferred": False})
            rows.complaints.append({"complaint_id": f"k{cid}", "created_at": t, "text": "投诉", "channel": "淘宝",
                                    "category": "物流", "product": "羽绒服", "conversation_id": cid})
            rows.orders.append({"order_id": f"o{cid}", "created_at": t, "customer_id": f"u{i}", "channel": "淘宝",
                                "product": "羽绒服", "amount_fen": 10_000 + i, "quantity": 1})
    return rows


@pytest.mark.parametrize("text, headline, change", [
    # the example: "昨天同期数据不足（n=0），不作比较" for a count; zero is a real baseline
    ("/投诉 今天 商品=羽绒服", "**投诉 7 件**", "较昨天同期 ↑ 7 件（0 件 → 7 件），变差"),
    ("/投诉 今天", "**投诉 7 件**", "较昨天同期 ↑ 7 件（0 件 → 7 件），变差"),
    ("/会话量 今天", "**会话量 7 个**", "较昨天同期 ↑ 7 个（0 个 → 7 个）"),
    ("/销售 今天 渠道=淘宝", f"**销售额 ¥{sum(10_000 + i for i in range(7)) / 100:,.2f}**",
     f"较昨天同期 ↑ ¥{sum(10_000 + i for i in range(7)) / 100:,.2f}（¥0.00 → "
     f"¥{sum(10_000 + i for i in range(7)) / 100:,.2f}），向好"),
])
async def test_count_compares_with_a_zero_baseline(engine, tmp_path, text, headline, change):
    md.load(engine, _zero_baseline_rows())
    reply = await Bot(Settings(), engine, clock=lambda: NOW, chart_dir=tmp_path).ask(text)
    lines = reply.text.splitlines()
    assert reply.ok and lines[0] == headline, reply.text
    assert change in lines and "不作比较" not in reply.text and "数据不足" not in reply.text
    if text.startswith("/投诉"):  # the 投诉率 line never vanishes without a word
        rate = [line for line in lines if line.startswith("投诉率")]
        if "商品=" in text:
            assert rate == ["投诉率：按商品筛选时不计算（会话不区分商品，没有同口径的会话数作分母）"]
        else:
            assert rate == [f"投诉率 {7 * 1000 / 7:.1f}‰（同期会话 7 个）"]


async def test_rate_not_compared_below_min_n_says_the_rule(bot, rows):
    window = resolve_window("今天", NOW)
    flt = {"agent": "小王"}
    _, prev_rated = md.expect_csat(rows, window.prev_start, window.prev_end, flt)
    assert 0 < prev_rated < METRICS["csat"].min_compare_n  # yesterday to 15:30: a handful of ratings
    reply = await bot.ask("/满意度 今天 客服=小王")
    assert reply.ok and f"昨天同期参评 {prev_rated} 个，不足 5 个，不作比较" in reply.text.splitlines()
    assert "n=" not in reply.text
    explain = await bot.ask("/满意度 今天 客服=小王 ?")
    assert "昨天同期参评不足 5 个时不作比较" in explain.text
    # /概览 states it too instead of a bare "—"
    card = await bot.ask("/概览 今天 渠道=官网")
    bare = [line for line in card.text.splitlines() if line.endswith("—")]
    assert not bare or any(line.startswith("—：") for line in card.text.splitlines()), card.text


@pytest.mark.parametrize("agent", md.AGENTS)
async def test_agent_lines_say_better_or_worse_by_the_metrics_direction(bot, rows, agent):
    """首响 lower is better: 81.3 秒 vs a team's 50.1 秒 is 慢于团队, never 低于团队."""
    window = resolve_window("本月", NOW)
    convs = md.convs(rows, window.start, window.end, {})
    mine = [c for c in convs if c["agent"] == agent]

    def frt(cs):  # noqa: ANN001, ANN202
        values = [c["first_response_seconds"] for c in cs if c["first_response_seconds"] is not None]
        return f"{sum(values) / len(values):.1f}"

    def csat(cs):  # noqa: ANN001, ANN202
        rated = [c["rating"] for c in cs if c["rating"] is not None]
        return f"{sum(r >= 4 for r in rated) / len(rated) * 100:.1f}"

    reply = await bot.ask(f"/客服 {agent} 本月")
    assert reply.ok
    me, team = float(frt(mine)), float(frt(convs))
    word = "与团队持平" if me == team else ("快于团队" if me < team else "慢于团队")
    assert f"首响均值 {frt(mine)} 秒（团队 {frt(convs)} 秒，{word}）" in reply.text
    me, team = float(csat(mine)), float(csat(convs))
    word = "与团队持平" if me == team else ("优于团队" if me > team else "不如团队")
    rated = sum(c["rating"] is not None for c in mine)
    assert f"满意度 {csat(mine)}%（团队 {csat(convs)}%，{word}；参评 {rated:,} 个）" in reply.text
    assert "）（" not in reply.text  # one parenthesis per line, never two in a row
    assert "低于团队" not in reply.text and "高于团队" not in reply.text and "上期" not in reply.text


_CHANGE = re.compile(r"([↑↓]) ¥?([\d,.]+)(?: (?:个百分点|秒|分钟|件|个))?（¥?([\d,.]+)[^→]*→ ¥?([\d,.]+)")


def _printed_delta_matches(text: str) -> None:
    m = _CHANGE.search(text)
    assert m, text
    sign, size, before, after = m.group(1), *(float(g.replace(",", "")) for g in m.groups()[1:])
    assert round(after - before, 2) == (size if sign == "↑" else -size), text


def test_printed_change_is_the_difference_of_the_printed_numbers():
    # the example: 67.849% → 59.751% printed as 67.8% → 59.8% is ↓ 8.0, not the unrounded 8.1
    assert fmt_change(METRICS["csat"], 0.59751, 0.67849) == "↓ 8.0 个百分点（67.8% → 59.8%），变差"
    # 30.04 → 30.06 differ by 0.02 but print as 30.0 → 30.1: the change printed is 0.1, and its % is of 30.0
    assert fmt_change(METRICS["frt"], 30.06, 30.04) == "↑ 0.1 秒（30.0 秒 → 30.1 秒，+0.3%），变差"
    assert fmt_change(METRICS["frt"], 30.04, 30.01) == "→ 持平（30.0 秒 → 30.0 秒）"
    rnd = random.Random(11)
    for _ in range(2_000):  # every unit, values around rounding edges
        for key, scale in [("csat", 1), ("frt", 120), ("frt", 1200), ("sales", 5_000), ("complaints", 40)]:
            a, b = rnd.random() * scale, rnd.random() * scale
            text = fmt_change(METRICS[key], a, b)
            if not text.startswith("→"):
                _printed_delta_matches(text)


async def test_printed_changes_in_replies_match_their_numbers(bot):
    for text in ["/满意度 本周", "/首响 本月", "/解决率 上周", "/退货率 本月", "/差评 近7天", "/投诉 本月",
                 "/会话量 本周", "/客服 小王 本月"]:
        reply = await bot.ask(text)
        for line in reply.text.splitlines():
            if ("↑" in line or "↓" in line) and "→" in line:
                _printed_delta_matches(line)
    card = await bot.ask("/概览 本月")  # ↑2.7pt on the card is the difference of the two printed values
    assert "pt" in card.text


# -- 4. explanations are written for people -------------------------------------------------------------

@pytest.mark.parametrize("key", list(METRICS))
async def test_explain_lines_are_chinese_with_units(bot, key):
    reply = await bot.ask(f"/{METRICS[key].name} 本月 ?")
    assert reply.ok and "怎么算" in reply.text
    label = resolve_window("本月", NOW).prev_phrase
    for line in reply.text.splitlines():
        assert not re.search(r"[A-Za-z_]{2,}", line), line  # no conversations=…, participation=…
        assert not re.search(r"(?<![\d,.:-])\d{4,}", line), line  # thousands separators: 3,227 not 3227
        assert line.count(label) <= 1, line  # 对比期（上月同期）：上月同期 … said it twice
    period = [line for line in reply.text.splitlines() if line.startswith(("本期：", f"{label}："))]
    assert len(period) == 2
    for line in period:  # every number has its unit
        for item in line.split("：", 1)[1].split(" · "):
            assert re.search(r"(\d个|\d 个|\d 件|\d 单|\d 位|\d 条|%|‰|秒|分钟|¥|均分 [\d.]+)", item), item


def test_every_part_has_a_chinese_name_and_unit(bot):
    window = resolve_window("本月", NOW)
    for key in METRICS:
        result = metrics.compute(bot.engine, key, window.start, window.end, {})
        for part in result.parts:
            assert part in metric_reply.PART_NAMES, (key, part)


def test_units_fit_the_metric():
    units = {m.key: m.unit for m in METRICS.values()}
    assert units["conversations"] == "个"  # 会话量 is 个, not 件
    assert units["complaints"] == "件"
    assert {m.n_unit for m in METRICS.values()} <= {"个", "件", "单", "位", "条"}
    assert all(u in {"%", "秒", "件", "个", "¥", "分"} for u in units.values())


_BARE_NUMBER = re.compile(r"(?<![\d.,¥:P-])\d[\d,]*(?:\.\d+)?(?![\d.,%‰]| ?(?:个|件|单|位|条|秒|分钟))")


@pytest.mark.parametrize("key", list(METRICS))
async def test_every_count_in_an_answer_has_its_unit(bot, key):
    """参评 1,209 个 / 会话 3,263 个, 订单 3,809 单: no bare count (top lists are name · count pairs)."""
    reply = await bot.ask(f"/{METRICS[key].name} 本月")
    lines = reply.text.splitlines()
    assert reply.ok and lines[1].startswith("本月 ")
    for line in lines[2:]:
        if line.startswith(("主要", "渠道：", "商品（", "  ", "差评关键词", "[图表]", "（")):
            continue
        if key == "sentiment" and line.startswith("较"):  # a 0–1 score has no unit: 0.50 → 0.49
            continue
        assert not _BARE_NUMBER.search(line.split("（", 1)[0] if "→" in line else line), line


async def test_headlines_print_the_metrics_unit(bot, rows):
    window = resolve_window("今天", NOW)
    reply = await bot.ask("/会话量 今天")
    assert reply.text.splitlines()[0] == f"**会话量 {len(md.convs(rows, window.start, window.end, {})):,} 个**"
    assert not any(line.startswith("n=") for line in reply.text.splitlines())


async def test_value_newer_than_the_cached_names_is_accepted(bot, monkeypatch):
    """An agent imported by another process after the names were cached is found by one reload."""
    import bot.app as app_module

    assert (await bot.ask("/满意度 本周")).ok  # names cached now
    md.load(bot.engine, md.Rows(conversations=[{
        "conversation_id": "new-1", "started_at": NOW - timedelta(hours=1), "agent": "新人", "channel": "淘宝",
        "shop": "旗舰店", "customer_id": "u-new", "first_response_seconds": 12.0, "resolved": True, "rating": 5,
        "transferred": False}]))
    reply = await bot.ask("/满意度 今天 客服=新人")
    assert not reply.ok and "没有叫「新人」的客服" in reply.text  # within the recheck interval: cached names
    monkeypatch.setattr(app_module, "_KNOWN_RECHECK", 0.0)
    reply = await bot.ask("/满意度 今天 客服=新人")
    assert reply.ok and reply.text.splitlines()[0] == "**满意度 100.0%**", reply.text
