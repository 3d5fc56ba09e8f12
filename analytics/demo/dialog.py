"""One chat as a timed script: who says what, how many seconds after the customer's first message."""

from __future__ import annotations

import math
import random

from analytics.demo import customer, replies
from analytics.demo.topics import Facts

MAX_MESSAGES = 8

Script = list[tuple[int, str, str]]  # (offset seconds, sender, text)


def _gap(r: random.Random, median: float, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, median * math.exp(r.gauss(0.0, 0.6)))))


def build(r: random.Random, f: Facts, *, frt: int, pace: float, shop: str) -> Script:
    """The chat's messages; the first agent message lands exactly ``frt`` seconds after the first customer one.

    Bot messages (greeting, keyword auto-reply, queue notice) come before the agent and do not count as a response.
    """
    out: Script = []
    hello = r.random() < 0.16
    out.append((0, "customer", customer.hello(r) if hello else customer.question(r, f)))
    if frt > 3 and r.random() < 0.35:
        out.append((min(frt - 1, r.randint(1, 3)), "bot", replies.bot_greeting(r, shop)))
    auto = replies.bot_autoreply(r, f) if not hello and frt > 20 and r.random() < 0.3 else None
    if auto:
        out.append((min(frt - 1, r.randint(2, 6)), "bot", auto))
    if frt > 90 and r.random() < 0.6:
        out.append((r.randint(30, 60), "bot", replies.bot_busy(r)))
    if frt > 60 and r.random() < 0.35:
        out.append((r.randint(20, frt - 5), "customer", customer.nudge(r, f)))
    out.sort(key=lambda m: m[0])
    t = frt
    if hello:
        out.append((t, "agent", replies.welcome(r)))
        t += _gap(r, 25, 4, 300)
        out.append((t, "customer", customer.question(r, f)))
        t += _gap(r, pace, 3, 900)
    out.append((t, "agent", replies.answer(r, f)))
    if f.transferred:
        out[-1] = (t, "agent", replies.transfer(r, f))
        t += _gap(r, 70, 15, 600)
        out.append((t, "agent", replies.after_transfer(r, f)))
    if r.random() < 0.45:
        t += _gap(r, 30, 4, 600)
        text, kind = customer.followup(r, f)
        out.append((t, "customer", text))
        t += _gap(r, pace, 3, 900)
        out.append((t, "agent", replies.followup_answer(r, f, kind)))
    if r.random() < (0.7 if f.resolved else 0.6):
        t += _gap(r, 20, 3, 300)
        out.append((t, "customer", customer.closing(r, f)))
        if r.random() < 0.45:
            t += _gap(r, pace * 0.6, 2, 300)
            out.append((t, "agent", replies.goodbye(r, f)))
    return out[:MAX_MESSAGES]
