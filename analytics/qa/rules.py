"""The 质检 rules: each a pure function of one conversation (and the parameters) returning a
:class:`Finding` with the lines that made it fire, or None. ``repeat_contact`` reads a customer's
conversations in time order (it needs the next one). Definitions and thresholds: docs/qa.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from analytics.qa.impolite import Verdict
from analytics.qa.model import Conversation, Finding, Line, QAParams

GREETING = re.compile(r"您好|你好|亲|在的|欢迎|很高兴|有什么可以|请问有什么|哈喽|hello|hi\b|早上好|下午好|晚上好|您说|请讲",
                      re.IGNORECASE)
CLOSING = re.compile(r"谢谢|感谢|再见|拜拜|祝您|祝你|愉快|还有(?:其他|什么|别的)|随时(?:联系|找|咨询)|不客气|"
                     r"好评|评价|满意|跟进|第一时间|有问题.*(?:联系|找)|应该的")
PROMISE = re.compile(r"稍等|稍候|稍后|等一下|等一等|马上|这就|立刻|立即|一会儿?(?:回复|给您|告诉)")
HANDOFF = re.compile(r"转接|转给|转交|转到|转人工|为您转|帮您转")


_CODES = re.compile(r"\[[^\[\]]{1,10}\]")


def _has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in _CODES.sub("", text))


def _seconds(a: Line, b: Line) -> float:
    return (b.sent_at - a.sent_at).total_seconds()


def _first_waiting_customer(c: Conversation) -> tuple[Line | None, Line | None]:
    """(first customer line, the first agent line at or after it)."""
    first = next((line for line in c.lines if line.sender == "customer"), None)
    if first is None:
        return None, None
    reply = next((line for line in c.lines[first.index:] if line.sender == "agent"), None)
    return first, reply


def slow_first_response(c: Conversation, p: QAParams) -> Finding | None:
    """First agent reply later than the target after the customer's first line (bot lines do not count);
    a customer who got no agent reply at all also waited too long. Without lines, the stored
    ``first_response_seconds`` decides."""
    first, reply = _first_waiting_customer(c)
    target = p.first_response_target_seconds
    if first is not None and reply is not None:
        waited = _seconds(first, reply)
        return Finding("slow_first_response", (first.index, reply.index), f"首响 {waited:.0f} 秒") if waited > target else None
    if first is not None and not c.by("agent"):
        return Finding("slow_first_response", (first.index,), "客服未回复")
    if not c.lines and c.first_response_seconds is not None and c.first_response_seconds > target:
        return Finding("slow_first_response", (), f"首响 {c.first_response_seconds:.0f} 秒")
    return None


def long_gap(c: Conversation, p: QAParams) -> Finding | None:
    """After the first reply, a customer line left waiting longer than the gap target for the next agent
    line (the wait starts at the first customer line after the agent last spoke). A customer line nobody
    answers at the end of the chat is not a gap: the chat ended there (a closing 好的谢谢 waits for nothing)."""
    _, first_reply = _first_waiting_customer(c)
    if first_reply is None:
        return None
    worst: tuple[float, int, int] | None = None
    waiting: Line | None = None
    for line in c.lines[first_reply.index + 1:]:
        if line.sender == "customer" and waiting is None:
            waiting = line
        elif line.sender == "agent":
            if waiting is not None:
                wait = _seconds(waiting, line)
                if wait > p.gap_target_seconds and (worst is None or wait > worst[0]):
                    worst = (wait, waiting.index, line.index)
            waiting = None
    if worst is None:
        return None
    return Finding("long_gap", (worst[1], worst[2]), f"等待 {worst[0]:.0f} 秒")


def no_greeting(c: Conversation, p: QAParams) -> Finding | None:
    """The agent's first line carries no greeting (您好 / 亲 / 在的 / 欢迎 / 很高兴为您服务 …)."""
    agent = c.by("agent")
    if not agent or GREETING.search(agent[0].text):
        return None
    return Finding("no_greeting", (agent[0].index,))


def no_closing(c: Conversation, p: QAParams) -> Finding | None:
    """None of the agent's last two lines closes the chat (谢谢 / 祝您 / 还有其他问题吗 / 随时联系 / 不客气 …);
    a chat with a single agent line is judged on that line."""
    agent = c.by("agent")
    if not agent or any(CLOSING.search(line.text) for line in agent[-2:]):
        return None
    return Finding("no_closing", (agent[-1].index,))


#: A thank-you or an OK is a good end, whatever the model makes of 麻烦 in 好的，麻烦了.
_COURTESY = re.compile(r"^(?:[\s，,。.!！~～]*(?:好的?|嗯+|哦+|行|可以|ok|收到|谢谢(?:你|您|亲|啦)?|多谢|麻烦(?:你|您)?了|辛苦(?:你|您)?了?))+"
                       r"[\s，,。.!！~～]*$", re.I)
_QUESTION = re.compile(r"[?？]|吗|呢|什么|神马|几[个天号时]|多少|怎么|如何|哪[里儿个]|是否|能否|能不能|可不可以|有没有|会不会|是不是|要不要|行不行|对不对|够不够|大不大")
#: What makes a question a complaint (怎么还没发货？): without one of these, a question the model calls
#: negative is still a question, and the conversation did not end badly.
_NEGATIVE_CUE = re.compile(r"还没|还不|怎么回事|到底|太[慢差烂坑]|差评|投诉|垃圾|骗|坑|退款|退货|赔|不[行好满]|烂|慢|失望|生气|无语|破")


def negative_end(c: Conversation, p: QAParams) -> Finding | None:
    """The customer's last line is negative by the sentiment model (the label stored at import). Not
    counted: a line of only emoticon or attachment codes ([图片], [微笑]), a thank-you or OK (好的，麻烦了
    — the model reads 麻烦 as negative), and a plain question with no complaint in it (亲 这件是什么面料 —
    the model calls many questions negative)."""
    last = next((line for line in reversed(c.lines) if line.sender == "customer"), None)
    if last is None or last.sentiment_label != "neg" or not _has_words(last.text):
        return None
    text = last.text.strip()
    if _COURTESY.match(text) or (_QUESTION.search(text) and not _NEGATIVE_CUE.search(text)):
        return None
    return Finding("negative_end", (last.index,))


def impolite(c: Conversation, p: QAParams, verdicts: Sequence[Verdict]) -> Finding | None:
    """Agent lines judged dismissive, blaming or rude (``verdicts``: one per agent line, in order, from
    :func:`analytics.qa.impolite.judge`)."""
    agent = c.by("agent")
    hits = tuple(line.index for line, v in zip(agent, verdicts, strict=True) if v.impolite)
    if not hits:
        return None
    first = next(v for v in verdicts if v.impolite)
    return Finding("impolite", hits, f"{first.by}: {first.match}")


def broken_promise(c: Conversation, p: QAParams) -> Finding | None:
    """An agent line promising to be quick (马上 / 稍等 / 这就 …) and then no agent line within the gap
    target (or none at all)."""
    agent = c.by("agent")
    for i, line in enumerate(agent):
        if not PROMISE.search(line.text):
            continue
        following = agent[i + 1] if i + 1 < len(agent) else None
        if following is None:
            return Finding("broken_promise", (line.index,), "之后没有回复")
        wait = _seconds(line, following)
        if wait > p.gap_target_seconds:
            return Finding("broken_promise", (line.index, following.index), f"{wait:.0f} 秒后才回复")
    return None


def transfer_bounce(c: Conversation, p: QAParams) -> Finding | None:
    """The customer was passed on and it did not settle the matter: handed off twice or more (agent lines
    with 转接 / 转给 …), or transferred (the ``transferred`` column or a hand-off line) and left unresolved.
    Messages carry no agent name, so a hand-off is seen through the column and the agent's words."""
    handoffs = tuple(line.index for line in c.by("agent") if HANDOFF.search(line.text))
    if len(handoffs) >= 2:
        return Finding("transfer_bounce", handoffs, f"转接 {len(handoffs)} 次")
    if (c.transferred or handoffs) and c.resolved is False:
        return Finding("transfer_bounce", handoffs, "转接后未解决")
    return None


PER_CONVERSATION = (slow_first_response, long_gap, no_greeting, no_closing, negative_end, broken_promise,
                    transfer_bounce)


def check(c: Conversation, p: QAParams, verdicts: Sequence[Verdict]) -> list[Finding]:
    """Every per-conversation rule (all but ``repeat_contact``) on ``c``."""
    found = [rule(c, p) for rule in PER_CONVERSATION]
    found.append(impolite(c, p, verdicts))
    return [f for f in found if f is not None]


def repeat_contact(conversations: Sequence[Conversation], p: QAParams) -> dict[str, Finding]:
    """Over one customer's conversations: each unresolved one (``resolved`` is False) after which the same
    customer started another conversation within ``repeat_window_hours`` of its last activity — counted on
    the first conversation (and so on its agent). The detail names the later conversation."""
    ordered = sorted(conversations, key=lambda x: (x.started_at, x.conversation_id))
    window = timedelta(hours=p.repeat_window_hours)
    out: dict[str, Finding] = {}
    for i, conv in enumerate(ordered):
        if conv.resolved is not False or i + 1 >= len(ordered):
            continue
        nxt = ordered[i + 1]
        if nxt.started_at - conv.last_time <= window:
            lines = tuple(line.index for line in conv.lines if line.sender == "customer")[-1:]
            out[conv.conversation_id] = Finding("repeat_contact", lines, nxt.conversation_id)
    return out
