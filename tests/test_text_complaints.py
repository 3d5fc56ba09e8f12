"""Complaint reasons: rules, config extension, learned-model fallback, pinned cases."""

from __future__ import annotations

import pytest

from analytics import text
from analytics.textmodel.complaints import (
    CATEGORIES,
    ComplaintClassifier,
    ComplaintReason,
    load_rules,
    merge_rules,
)


@pytest.fixture(autouse=True)
def _reset_config():
    yield
    text.configure(None, None)


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("快递三天了还没发货", "物流"),  # 快递, 发货
        ("衣服开线了，质量太差", "质量"),
        ("客服态度太差了，爱答不理", "服务态度"),
        ("退款一周了还没到账", "退款售后"),  # 退款 + 没到账 outweigh 物流's 没到
        ("刚买就降价了，也不给保价", "价格优惠"),
        ("发票一直没开，公司等着报销", "发票"),
    ],
)
def test_rules_pick_the_reason(message: str, category: str) -> None:
    reasons = text.explain_complaints([message])
    assert reasons[0].category == category
    assert reasons[0].source in ("rules", "model+rules")
    assert reasons[0].keywords  # the matched keywords are shown, so the decision is transparent
    rules_only = ComplaintClassifier(*load_rules(), model=None)
    assert rules_only.classify([message]) == [category]


def test_every_answer_is_a_spec_category() -> None:
    msgs = ["", "？？？", "太失望了", "你们自己看着办吧", "abc", "东西收到了" * 50]
    assert set(text.classify_complaints(msgs)) <= set(CATEGORIES)
    assert text.classify_complaints([]) == []


def test_no_keyword_falls_back_to_model_or_other() -> None:
    reasons = text.explain_complaints(["我真的不想再说什么了"])
    assert reasons[0].source in ("model", "default")
    assert reasons[0].category in CATEGORIES
    rules_only = ComplaintClassifier(*load_rules(), model=None)
    assert rules_only.explain(["我真的不想再说什么了"])[0] == ComplaintReason("其他", "default", (), 0.0)


def test_model_places_complaints_without_keywords() -> None:
    # None of these contains a rule keyword for its category.
    msgs = {"吃了以后拉肚子": "质量", "耳机左边听不到声音": "质量"}
    clf = ComplaintClassifier(*load_rules(), model=None)
    assert all(not clf.rule_hits(m) or "质量" not in clf.rule_hits(m) for m in msgs)
    assert text.classify_complaints(list(msgs)) == list(msgs.values())


def test_config_extends_rules() -> None:
    msg = "闪电侠迟迟不来"
    assert text.explain_complaints([msg])[0].source != "config"
    text.configure(complaint_rules={"发票": ["闪电侠"]}, user_words=None)  # the user's word wins outright
    reason = text.explain_complaints([msg])[0]
    assert (reason.category, reason.source, reason.keywords) == ("发票", "config", ("闪电侠",))
    text.configure(None, None)
    assert text.explain_complaints([msg])[0].source != "config"


def test_config_rejects_unknown_category() -> None:
    with pytest.raises(ValueError, match="未知的投诉类别"):
        text.configure(complaint_rules={"快递": ["极兔"]}, user_words=None)
    # nothing changed
    assert text.classify_complaints(["快递三天了还没发货"]) == ["物流"]


def test_rule_score_prefers_longer_more_specific_keywords() -> None:
    clf = ComplaintClassifier({"物流": ["没到"], "退款售后": ["退款没到账"]}, list(CATEGORIES))
    assert clf.classify(["退款没到账"]) == ["退款售后"]


def test_ties_follow_the_category_order() -> None:
    clf = ComplaintClassifier({"物流": ["慢"], "质量": ["差"]}, ["质量", "物流"])
    assert clf.classify(["又慢又差"]) == ["质量"]


def test_merge_rules_normalises_and_dedupes() -> None:
    merged = merge_rules({"发票": ["发票"]}, {"发票": ["发票", "ＰＤＦ发票", " "]})
    assert merged["发票"] == ["发票", "pdf发票"]
