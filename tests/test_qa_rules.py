"""质检 rules on hand-written conversations: each must fire on some and must stay quiet on others; the
impolite judge measured on held-back agent lines (tests/fixtures/qa_impolite_heldout.tsv)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analytics.qa import rules
from analytics.qa.impolite import Verdict, judge
from analytics.qa.model import RULES, Conversation, Line, QAParams, score

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
P = QAParams()
HELDOUT = Path(__file__).parent / "fixtures" / "qa_impolite_heldout.tsv"


def conv(*script: tuple[float, str, str], labels: dict[int, str] | None = None, cid: str = "c1",
         **kw: object) -> Conversation:
    """A conversation from (seconds after T0, sender, text) rows; ``labels``: sentiment per line index."""
    labels = labels or {}
    lines = tuple(Line(i, f"{cid}-m{i}", T0 + timedelta(seconds=s), who, text, labels.get(i))
                  for i, (s, who, text) in enumerate(script))
    return Conversation(cid, kw.pop("agent", "小王"), kw.pop("started_at", T0), lines, **kw)  # type: ignore[arg-type]


GOOD = conv((0, "customer", "在吗，羽绒服什么时候发货"), (20, "agent", "亲，您好，付款后48小时内发货"),
            (60, "customer", "好的谢谢"), (70, "agent", "不客气，祝您生活愉快～"), labels={0: "neu", 2: "pos"},
            resolved=True)

CASES = [
    # rule, conversation, fires?, lines that must be reported
    ("slow_first_response", GOOD, False, ()),
    # 61 s > the 60 s target
    ("slow_first_response", conv((0, "customer", "在吗"), (61, "agent", "您好")), True, (0, 1)),
    # exactly at the target is not over it
    ("slow_first_response", conv((0, "customer", "在吗"), (60, "agent", "您好")), False, ()),
    # bot lines do not count as a response
    ("slow_first_response", conv((0, "customer", "在吗"), (2, "bot", "您好，我是小暖"), (200, "agent", "您好")), True, (0, 2)),
    # no agent reply at all
    ("slow_first_response", conv((0, "customer", "在吗"), (5, "bot", "排队中")), True, (0,)),
    # no lines: the imported first response decides
    ("slow_first_response", conv(first_response_seconds=95.0), True, ()),
    ("slow_first_response", conv(first_response_seconds=30.0), False, ()),
    ("long_gap", GOOD, False, ()),
    # the customer asked again and waited 200 s > 180 s; the wait starts at the first unanswered line
    ("long_gap", conv((0, "customer", "在吗"), (10, "agent", "您好"), (20, "customer", "发货了吗"), (30, "customer", "？"),
                      (220, "agent", "已经发了")), True, (2, 4)),
    # the first response is slow_first_response's business, not a gap
    ("long_gap", conv((0, "customer", "在吗"), (500, "agent", "您好")), False, ()),
    # an unanswered closing line at the end is not a gap
    ("long_gap", conv((0, "customer", "在吗"), (10, "agent", "您好"), (900, "customer", "好的")), False, ()),
    ("no_greeting", GOOD, False, ()),
    ("no_greeting", conv((0, "customer", "在吗"), (10, "agent", "付款后48小时内发货")), True, (1,)),
    # the greeting is judged on the agent's first line only
    ("no_greeting", conv((0, "customer", "在吗"), (10, "agent", "说"), (20, "agent", "您好")), True, (1,)),
    ("no_greeting", conv((0, "customer", "在吗"), (10, "agent", "在的，您说")), False, ()),
    # no agent line: nothing to judge
    ("no_greeting", conv((0, "customer", "在吗")), False, ()),
    ("no_closing", GOOD, False, ()),
    ("no_closing", conv((0, "customer", "在吗"), (10, "agent", "您好"), (20, "agent", "48小时发货")), True, (2,)),
    # a closing in the second-to-last agent line counts
    ("no_closing", conv((0, "customer", "?"), (10, "agent", "有问题随时联系我"), (20, "agent", "[微笑]")), False, ()),
    ("negative_end", GOOD, False, ()),
    ("negative_end", conv((0, "customer", "在吗"), (10, "agent", "您好"), (20, "customer", "太差了"), labels={2: "neg"}),
     True, (2,)),
    # a negative line earlier, a neutral last line: not a negative end
    ("negative_end", conv((0, "customer", "太差了"), (10, "agent", "抱歉"), (20, "customer", "好吧"),
                          labels={0: "neg", 2: "neu"}), False, ()),
    # an attachment code says nothing, whatever the model made of it
    ("negative_end", conv((0, "customer", "在吗"), (10, "agent", "您好"), (20, "customer", "[图片]"), labels={2: "neg"}),
     False, ()),
    # a thank-you and a plain question are not bad ends, whatever label the model gave them
    ("negative_end", conv((0, "customer", "在吗"), (10, "agent", "您好"), (20, "customer", "好的，麻烦了"), labels={2: "neg"}),
     False, ()),
    ("negative_end", conv((0, "customer", "亲 加绒卫衣是神马面料"), labels={0: "neg"}), False, ()),
    ("negative_end", conv((0, "customer", "那1.5米床会不会大"), labels={0: "neg"}), False, ()),
    # … but a question that complains is
    ("negative_end", conv((0, "customer", "在吗"), (10, "agent", "您好"), (20, "customer", "怎么还没发货？"),
                          labels={2: "neg"}), True, (2,)),
    ("broken_promise", GOOD, False, ()),
    ("broken_promise", conv((0, "customer", "到哪了"), (10, "agent", "您好，稍等我查一下"), (400, "agent", "明天到")),
     True, (1, 2)),
    ("broken_promise", conv((0, "customer", "到哪了"), (10, "agent", "您好，我马上帮您查")), True, (1,)),
    ("broken_promise", conv((0, "customer", "到哪了"), (10, "agent", "您好，稍等"), (60, "agent", "明天到")), False, ()),
    ("transfer_bounce", GOOD, False, ()),
    ("transfer_bounce", conv((0, "customer", "退款"), (10, "agent", "帮您转接售后"), resolved=False), True, (1,)),
    ("transfer_bounce", conv((0, "customer", "退款"), (10, "agent", "您好"), transferred=True, resolved=False), True, ()),
    # transferred and then resolved: the transfer did its job
    ("transfer_bounce", conv((0, "customer", "退款"), (10, "agent", "帮您转接售后"), transferred=True, resolved=True),
     False, ()),
    # handed off twice is a bounce even when it ends resolved
    ("transfer_bounce", conv((0, "customer", "退款"), (10, "agent", "帮您转接售后"), (90, "agent", "再帮您转给仓库"),
                             resolved=True), True, (1, 2)),
]


@pytest.mark.parametrize(("rule", "conversation", "fires", "lines"), CASES)
def test_rule_table(rule: str, conversation: Conversation, fires: bool, lines: tuple[int, ...]) -> None:
    found = getattr(rules, rule)(conversation, P)
    assert (found is not None) == fires
    if found is not None:
        assert found.rule == rule
        assert found.lines == lines


def test_thresholds_come_from_the_parameters() -> None:
    c = conv((0, "customer", "在吗"), (90, "agent", "您好"))
    assert rules.slow_first_response(c, P) is not None
    assert rules.slow_first_response(c, QAParams(first_response_target_seconds=120)) is None


IMPOLITE = [
    # lexicon
    ("爱买不买", True), ("你自己看详情页", True), ("说了多少遍了，48小时发货", True), ("这个不归我管", True),
    # not in the lexicon: the model plus the directness cue
    ("你烦不烦啊", True), ("能不能别催了", True),
    # apologies are negative in tone and polite in intent
    ("非常抱歉给您带来不便", False), ("抱歉亲，质量问题我们包退换", False),
    # plain policy statements the model reads as negative
    ("吊牌剪了就不支持七天无理由了，质量问题除外", False), ("新疆、西藏等偏远地区不包邮，需要补运费差价", False),
    ("亲，您好，请问有什么可以帮您？", False),
]


@pytest.mark.parametrize(("text", "rude"), IMPOLITE)
def test_impolite_judge(text: str, rude: bool) -> None:
    assert judge([text])[0].impolite == rude


def test_impolite_rule_reports_the_agent_lines() -> None:
    c = conv((0, "customer", "到哪了"), (10, "agent", "您好"), (20, "customer", "？"), (30, "agent", "你自己查物流"))
    verdicts = [Verdict(False), Verdict(True, "lexicon", "你自己查")]
    assert rules.impolite(c, P, verdicts).lines == (3,)
    assert rules.impolite(c, P, [Verdict(False), Verdict(False)]) is None
    assert judge(["您好", "你自己查物流"], extra=()) == [Verdict(False), Verdict(True, "lexicon", "你自己查")]
    assert judge(["这个不清楚"], extra=("不清楚",))[0].impolite


def _customer(cid: str, hours: float, resolved: bool | None, customer: str = "u1") -> Conversation:
    return conv((0, "customer", "还没到"), cid=cid, started_at=T0 + timedelta(hours=hours), customer_id=customer,
                resolved=resolved)


REPEAT = [
    # unresolved, back 3 h later: counted on the first conversation
    ([_customer("a", 0, False), _customer("b", 3, True)], {"a": "b"}),
    # resolved: coming back is not a repeat contact
    ([_customer("a", 0, True), _customer("b", 3, True)], {}),
    # unknown resolution is not unresolved
    ([_customer("a", 0, None), _customer("b", 3, True)], {}),
    # back after 25 h: outside the window
    ([_customer("a", 0, False), _customer("b", 25, True)], {}),
    # a chain: both unresolved ones count, each on itself; the order of the input does not matter
    ([_customer("c", 6, True), _customer("a", 0, False), _customer("b", 3, False)], {"a": "b", "b": "c"}),
]


@pytest.mark.parametrize(("conversations", "expected"), REPEAT)
def test_repeat_contact(conversations: list[Conversation], expected: dict[str, str]) -> None:
    found = rules.repeat_contact(conversations, P)
    assert {k: f.detail for k, f in found.items()} == expected
    assert all(f.rule == "repeat_contact" and f.lines == (0,) for f in found.values())


def test_score_subtracts_distinct_rule_weights() -> None:
    assert score([]) == 100
    assert score(["no_greeting", "no_closing"]) == 90
    assert score(["impolite", "impolite"]) == 70
    assert score(list(RULES)) == 0  # the weights add up to more than 100


DEV = Path(__file__).parent / "fixtures" / "qa_impolite_dev.tsv"


def labelled(path: Path = HELDOUT) -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    return [(label, text) for label, text in rows]


def heldout() -> list[tuple[str, str]]:
    return labelled(HELDOUT)


def precision_recall(rows: list[tuple[str, str]]) -> tuple[float, float, int, int]:
    """(precision, recall, lines caught by the lexicon, by the model) of the impolite judge."""
    verdicts = judge([text for _, text in rows])
    tp = sum(1 for (label, _), v in zip(rows, verdicts, strict=True) if label == "impolite" and v.impolite)
    fp = sum(1 for (label, _), v in zip(rows, verdicts, strict=True) if label != "impolite" and v.impolite)
    positives = sum(1 for label, _ in rows if label == "impolite")
    by_lexicon = sum(1 for (label, _), v in zip(rows, verdicts, strict=True) if label == "impolite" and v.by == "lexicon")
    return tp / (tp + fp), tp / positives, by_lexicon, tp - by_lexicon


def test_heldout_set_is_big_enough_and_labelled() -> None:
    rows = heldout()
    assert len(rows) >= 60
    assert {label for label, _ in rows} == {"impolite", "polite", "neutral"}


def test_impolite_on_heldout_lines() -> None:
    """The figures docs/qa.md reports (the set was written before the judge's last change and never used
    to tune it): precision 12/12 = 1.0, recall 12/24 = 0.50, 11 of the 12 caught by the model, not the
    lexicon."""
    precision, recall, by_lexicon, by_model = precision_recall(heldout())
    assert precision >= 0.9
    assert recall >= 0.5
    assert by_model > by_lexicon


def test_impolite_on_development_lines() -> None:
    """The first held-back set (precision 1.0, recall 0.50 when measured) and informal 你 lines: 3 of 20
    plain questions like 你是要退货还是换货 are flagged — the limit docs/qa.md states for shops whose agents
    say 你."""
    rows = labelled(DEV)
    first, informal = rows[:64], [text for _, text in rows[64:]]
    precision, recall, _, _ = precision_recall(first)
    assert precision >= 0.9 and recall >= 0.5
    assert len(informal) == 20
    assert sum(v.impolite for v in judge(informal)) == 3


def test_replies_that_differ_in_a_city_or_carrier_are_one_script() -> None:
    from analytics.qa.scripts import _reply_groups

    replies = ["您的快递是顺丰，单号[运单号]，目前在武汉，预计明后天送到", "付款后48小时内发出，16点前付款的当天就发",
               "您的快递是韵达，单号[单号]，目前在西安，预计明后天送到", "一般付款后48小时内发货，预售的按页面时间发",
               "您的快递是顺丰，单号[运单号]，目前在武汉，预计明后天送到"]
    keys = _reply_groups(replies)
    assert keys[0] == keys[2] == keys[4] == replies[0]  # the most used text names the group
    assert len({keys[0], keys[1], keys[3]}) == 3


HELDOUT3 = Path(__file__).parent / "fixtures" / "qa_impolite_heldout3.tsv"


def test_impolite_on_the_blind_set() -> None:
    """The third held-back set, written blind by another author (never shown the judge or its lists) and
    measured once after the rudeness constructions (CUES) were added: precision 24/27, recall 24/30 — the
    judge before them scored 20/23 and 20/30 on it (docs/qa.md)."""
    rows = labelled(HELDOUT3)
    assert len(rows) == 70
    precision, recall, _, _ = precision_recall(rows)
    assert precision >= 0.85 and recall >= 0.8
