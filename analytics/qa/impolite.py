"""Is an agent line dismissive, blaming or rude? A lexicon plus the shipped 3-way sentiment model.

A line is impolite when

1. it matches the lexicon (:data:`LEXICON`: 禁用语 a CS team bans — 爱买不买, 你自己看, 不归我管, 听不懂吗 …), or
2. the sentiment model calls it clearly negative (label ``neg`` and P(positive) < :data:`MAX_P_POS`), it carries no
   courtesy marker (您, 抱歉, 不好意思, 麻烦, 请, 亲, 谢谢 …), and it speaks *at* the customer
   (:data:`DIRECT`: the informal 你, a question or exclamation, impatient words) — the model reads plain
   policy statements as negative too. (A curt line of ≤ 6 characters was a cue as well; on the demo's
   26,270 distinct agent lines it flagged only neutral statements such as 这款是标准码, so it went.)

The second clause is what catches phrasings no list holds (你烦不烦, 能不能别催了, 凭什么给你退): the model
was trained on customer complaints, so an agent who talks like an angry customer scores negative. The
courtesy exception keeps the model off the agent's apologies (非常抱歉给您带来不便 is negative by tone and
polite by intent). Measured on a held-back set of agent lines (tests/fixtures/qa_impolite_heldout.tsv) in
docs/qa.md. The model is loaded lazily (``analytics.text``) and only when a line needs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Dismissive, blaming or rude wording: each a regular expression over the line.
LEXICON = (
    r"爱买不买", r"爱要不要", r"不买拉倒", r"不要拉倒", r"爱咋咋", r"随便你", r"随你便",
    r"你自己(?:看|查|去|弄|问|想|不会)", r"自己(?:看|去)(?:详情|页面|说明|物流)", r"不会自己",
    r"不归我管", r"不关我(?:的)?事", r"跟我(?:说|讲)(?:也)?没用", r"我(?:也)?管不了", r"找别人去", r"找谁都",
    r"听不懂", r"看不懂(?:吗|啊|字)", r"(?:说|讲)了(?:多少|几)遍", r"都(?:说|讲)过了", r"早就(?:说|告诉)",
    r"烦不烦", r"有完没完", r"别(?:再)?(?:问|催|烦)了?", r"能不能别", r"你(?:到底|究竟)(?:要|想)",
    r"是你(?:自己)?的(?:问题|错)", r"你自己的问题", r"是你(?:自己)?没", r"怪你", r"谁让你", r"活该", r"凭什么",
    r"有病", r"神经", r"滚", r"闭嘴", r"废话", r"(?:这都|连这个都)不(?:懂|会|知道)",
    r"没(?:空|时间)(?:理|管)你", r"不(?:想)?(?:理|搭理)你",
)
_LEXICON = re.compile("|".join(LEXICON))

#: Signs a line speaks at the customer rather than about a policy: the informal 你 (service says 您),
#: a question or exclamation, imperative or impatient words. The model's ``neg`` counts only
#: with one of these: a plain policy statement (吊牌剪了就不支持七天无理由) reads as negative to a model
#: trained on complaints, a reply aimed at the customer does not need to.
DIRECT = re.compile(r"你|[？?！!]|吗|啊|吧|别|到底|究竟|就这样|又|还要|不行|没办法|算了|而已|罢了|怎么这么|再说")

#: Courtesy markers: a line with one of these is not judged by the model alone.
COURTESY = re.compile(r"您|抱歉|不好意思|对不起|麻烦(?:您|你|亲|提供|发|拍|确认)|(?<!申)请|亲|谢谢|感谢|辛苦|理解|马上帮|帮您|为您|给您")


@dataclass(frozen=True)
class Verdict:
    impolite: bool
    by: str = ""  # "lexicon" / "model" / ""
    match: str = ""  # the lexicon words, or the model's score


def lexicon_match(text: str, extra: Sequence[str] = ()) -> str:
    """The first lexicon match in ``text`` ('' when none); ``extra`` are plain words from ``[qa]``."""
    found = _LEXICON.search(text)
    if found:
        return found.group(0)
    return next((word for word in extra if word and word in text), "")


#: The model's P(positive) a line must stay under: clearly negative, not merely short of positive — an
#: informal 你拍的是黑色对吧 or 你放心，肯定给你处理 is labelled neg with P(positive) 0.12 and 0.47.
MAX_P_POS = 0.25


def _model_labels(texts: Sequence[str]) -> list[tuple[str, float]]:
    from analytics.text import analyse_sentiment

    return [(r.label, r.p_pos) for r in analyse_sentiment(texts)]


def judge(texts: Sequence[str], *, extra: Sequence[str] = (),
          model: Callable[[Sequence[str]], list[tuple[str, float]]] | None = None) -> list[Verdict]:
    """A :class:`Verdict` per agent line; the model runs once over the lines the lexicon and the courtesy
    markers leave undecided (``model`` may be injected: (label, P(positive)) per text)."""
    out: list[Verdict | None] = []
    pending: list[int] = []
    for i, text in enumerate(texts):
        word = lexicon_match(text, extra)
        if word:
            out.append(Verdict(True, "lexicon", word))
        elif COURTESY.search(text) or not text.strip() or not DIRECT.search(text):
            out.append(Verdict(False))
        else:
            out.append(None)
            pending.append(i)
    if pending:
        labels = (model or _model_labels)([texts[i] for i in pending])
        for i, (label, value) in zip(pending, labels, strict=True):
            rude = label == "neg" and value < MAX_P_POS
            out[i] = Verdict(True, "model", f"{value:.2f}") if rude else Verdict(False)
    return [v for v in out if v is not None]
