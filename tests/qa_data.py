"""Generated conversations with planted 质检 problems, for tests/test_qa_store.py.

Six agents over 2026-11-02 … 11-06 (Asia/Shanghai): 慢慢 answers first after 2–5 minutes, 粗鲁 talks down to
customers in a third of its chats, 无问候 never greets, 未解决 leaves customers unresolved and they come back
within a few hours (to a clean agent), 小清 and 小洁 do everything right."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
NOW = datetime(2026, 11, 9, 12, 0, tzinfo=TZ)
CLEAN = ("小清", "小洁")
PLANTED = {"慢慢": "slow_first_response", "粗鲁": "impolite", "无问候": "no_greeting", "未解决": "repeat_contact"}

QUESTIONS = ("请问羽绒服什么时候发货", "这件卫衣有黑色吗", "可以开发票吗", "运费险怎么理赔", "这款尺码偏大吗")
ANSWERS = ("付款后48小时内发货", "黑色有现货的", "确认收货后可以开电子发票", "退货签收后自动理赔", "这款是标准码")
RUDE = ("你自己不会看详情页吗", "说了多少遍了，看页面", "爱买不买")


def _chat(rng: random.Random, cid: str, agent: str, start: datetime, customer: str, resolved: bool) -> tuple[dict, list[dict]]:
    q = rng.randrange(len(QUESTIONS))
    frt = rng.randint(150, 300) if agent == "慢慢" else rng.randint(5, 40)
    hello = "" if agent == "无问候" else rng.choice(("亲，您好，", "您好，"))
    answer = rng.choice(RUDE) if agent == "粗鲁" and rng.random() < 0.35 else ANSWERS[q]
    script = [(0, "customer", QUESTIONS[q]), (frt, "agent", hello + answer), (frt + 20, "customer", "好的"),
              (frt + 30, "agent", "不客气，祝您生活愉快")]
    conv = {"conversation_id": cid, "started_at": start, "agent": agent, "customer_id": customer, "channel": "淘宝",
            "resolved": resolved, "rating": 5 if resolved else 3, "ended_at": start + timedelta(seconds=frt + 60)}
    msgs = [{"message_id": f"{cid}-{i}", "conversation_id": cid, "sent_at": start + timedelta(seconds=s), "sender": who,
             "text": text} for i, (s, who, text) in enumerate(script)]
    return conv, msgs


def world(seed: int = 3, per_agent: int = 30) -> tuple[list[dict], list[dict]]:
    """(conversations, messages) in time order."""
    rng = random.Random(seed)
    convs: list[dict] = []
    msgs: list[dict] = []
    n = 0
    for day in range(5):
        for agent in (*CLEAN, *PLANTED):
            for k in range(per_agent // 5):
                n += 1
                start = START + timedelta(days=day, minutes=37 * k + rng.randint(0, 30))
                customer = f"u{n}"
                c, m = _chat(rng, f"c{n:04d}", agent, start, customer, resolved=agent != "未解决")
                convs.append(c)
                msgs += m
                if agent == "未解决":  # the customer comes back to a clean agent within a few hours
                    n += 1
                    back = start + timedelta(hours=rng.randint(1, 6))
                    c2, m2 = _chat(rng, f"c{n:04d}", rng.choice(CLEAN), back, customer, resolved=True)
                    convs.append(c2)
                    msgs += m2
    convs.sort(key=lambda c: c["started_at"])
    msgs.sort(key=lambda m: m["sent_at"])
    return convs, msgs
