"""The agents' manner: a few agents now and then end a chat curtly or rudely, so /质检 has something to find.

The choice comes from its own generator seeded by the agent and the chat's start time, never from the world's
random stream: every other row of the demo (times, ratings, texts) stays exactly what it was."""

from __future__ import annotations

import random
from datetime import datetime

from analytics.demo.dialog import Script

#: Share of an agent's chats (with at least two agent lines) whose last agent line is curt or rude.
RUDE_SHARE = {"大刘": 0.08, "晓雯": 0.06, "老周": 0.03}
DEFAULT_SHARE = 0.004
LINES = ("催也没用，等着吧", "上面都写了，你自己看详情页", "刚才不是说过了吗，怎么还问", "这个不归我管，你找快递去",
         "就这样了，没别的办法", "你到底还要问什么？", "跟我说没用，系统就这么规定的")


def apply(agent: str, start: datetime, script: Script) -> Script:
    """``script`` with its last agent line replaced by a rude one in this agent's share of chats."""
    agent_lines = [i for i, (_, sender, _) in enumerate(script) if sender == "agent"]
    if len(agent_lines) < 2:
        return script
    r = random.Random(f"{agent}|{start.isoformat()}")
    if r.random() >= RUDE_SHARE.get(agent, DEFAULT_SHARE):
        return script
    i = agent_lines[-1]
    out = list(script)
    out[i] = (script[i][0], "agent", r.choice(LINES))
    return out
