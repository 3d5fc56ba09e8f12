"""Seeded random rows for metric tests, and the plain-loop computations they are checked against."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert

from analytics.store.models import Complaint, Conversation, Message, Order, Return, Review

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)  # a Wednesday
CHANNELS = ["淘宝", "京东", "抖音", "官网"]
AGENTS = ["小王", "小李", "小张", "阿明", "小周"]
SHOPS = ["旗舰店", "专营店"]
PRODUCTS = ["羽绒服", "连衣裙", "运动鞋", "保温杯"]
CATEGORIES = ["物流", "质量", "服务态度", "退款售后", "价格优惠", "发票", "其他"]


@dataclass
class Rows:
    conversations: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    complaints: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    returns: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)


def make_rows(seed: int = 1, days: int = 70, per_day: int = 40) -> Rows:
    rnd = random.Random(seed)
    rows = Rows()
    start = NOW - timedelta(days=days)
    total_minutes = days * 24 * 60
    for i in range(days * per_day):
        t = start + timedelta(minutes=rnd.randrange(total_minutes + 60))  # a few rows in the "future"
        rating = rnd.choice([None, None, 1, 2, 3, 4, 5, 5, 4])
        rows.conversations.append({
            "conversation_id": f"c{i}", "started_at": t, "agent": rnd.choice(AGENTS),
            "channel": rnd.choice(CHANNELS + [None]), "shop": rnd.choice(SHOPS),
            "customer_id": f"u{rnd.randrange(300)}",
            "first_response_seconds": rnd.choice([None, round(rnd.expovariate(1 / 40), 1), float(rnd.randrange(5, 90))]),
            "resolved": rnd.choice([None, True, True, False]), "rating": rating, "transferred": False,
        })
        for j in range(rnd.randrange(0, 3)):
            score = rnd.random()
            rows.messages.append({
                "message_id": f"m{i}_{j}", "conversation_id": f"c{i}", "sent_at": t + timedelta(seconds=j * 30),
                "sender": rnd.choice(["customer", "customer", "agent", "bot"]), "text": "你好",
                "sentiment": rnd.choice([None, score]),
                "sentiment_label": "neg" if score < 0.35 else ("pos" if score > 0.65 else "neu"),
            })
    for i in range(days * per_day // 8):
        conv = rnd.choice(rows.conversations)
        rows.complaints.append({
            "complaint_id": f"k{i}", "created_at": start + timedelta(minutes=rnd.randrange(total_minutes)),
            "text": "投诉", "channel": rnd.choice(CHANNELS), "category": rnd.choice(CATEGORIES + [None]),
            "product": rnd.choice(PRODUCTS + [None]), "conversation_id": rnd.choice([conv["conversation_id"], None]),
        })
    for i in range(days * per_day // 2):
        rows.orders.append({
            "order_id": f"o{i}", "created_at": start + timedelta(minutes=rnd.randrange(total_minutes)),
            "customer_id": f"u{rnd.randrange(400)}", "channel": rnd.choice(CHANNELS), "product": rnd.choice(PRODUCTS),
            "amount_fen": rnd.randrange(1000, 100000), "quantity": 1,
        })
    for i, order in enumerate(rnd.sample(rows.orders, len(rows.orders) // 10)):
        rows.returns.append({
            "return_id": f"r{i}", "order_id": order["order_id"], "product": order["product"],
            "created_at": order["created_at"] + timedelta(days=rnd.randrange(0, 10)),
            "reason": rnd.choice(["尺码不合适", "质量问题", "不想要了", None]), "amount_fen": order["amount_fen"],
        })
    for i in range(days * per_day // 4):
        rows.reviews.append({
            "review_id": f"v{i}", "created_at": start + timedelta(minutes=rnd.randrange(total_minutes)),
            "rating": rnd.choice([1, 2, 3, 4, 5, 5, 5]), "product": rnd.choice(PRODUCTS), "text": "还行",
        })
    return rows


def load(engine: Engine, rows: Rows) -> None:
    with engine.begin() as conn:
        for model, items in [(Conversation, rows.conversations), (Message, rows.messages),
                             (Complaint, rows.complaints), (Order, rows.orders), (Return, rows.returns),
                             (Review, rows.reviews)]:
            if items:
                conn.execute(insert(model.__table__), items)


# -- plain-loop reference computations ----------------------------------------------------------------

def _in(t: datetime, start: datetime, end: datetime) -> bool:
    return start <= t < end


def _match(row: dict, filters: dict[str, str]) -> bool:
    return all(row.get(k) == v for k, v in filters.items())


def convs(rows: Rows, start, end, filters) -> list[dict]:  # noqa: ANN001
    return [c for c in rows.conversations if _in(c["started_at"], start, end) and _match(c, filters)]


def expect_csat(rows, start, end, filters):  # noqa: ANN001, ANN201
    rated = [c for c in convs(rows, start, end, filters) if c["rating"] is not None]
    good = sum(1 for c in rated if c["rating"] >= 4)
    return (good / len(rated) if rated else None), len(rated)


def expect_resolution(rows, start, end, filters):  # noqa: ANN001, ANN201
    known = [c for c in convs(rows, start, end, filters) if c["resolved"] is not None]
    return (sum(1 for c in known if c["resolved"]) / len(known) if known else None), len(known)


def interp(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def expect_frt(rows, start, end, filters):  # noqa: ANN001, ANN201
    vals = sorted(c["first_response_seconds"] for c in convs(rows, start, end, filters)
                  if c["first_response_seconds"] is not None)
    if not vals:
        return None, 0, None, None, None
    return (sum(vals) / len(vals), len(vals), interp(vals, 0.5), interp(vals, 0.9),
            sum(1 for v in vals if v <= 30) / len(vals))


def expect_complaints(rows, start, end, filters):  # noqa: ANN001, ANN201
    conv_by_id = {c["conversation_id"]: c for c in rows.conversations}
    out = []
    for k in rows.complaints:
        if not _in(k["created_at"], start, end):
            continue
        ok = True
        for key, value in filters.items():
            if key in ("channel", "product"):
                ok &= k.get(key) == value
            else:
                conv = conv_by_id.get(k["conversation_id"]) if k["conversation_id"] else None
                ok &= conv is not None and conv.get(key) == value
        if ok:
            out.append(k)
    return out


def expect_return_rate(rows, start, end, filters):  # noqa: ANN001, ANN201
    orders = [o for o in rows.orders if _in(o["created_at"], start, end) and _match(o, filters)]
    order_channel = {o["order_id"]: o["channel"] for o in rows.orders}
    rets = [r for r in rows.returns if _in(r["created_at"], start, end)
            and ("product" not in filters or r["product"] == filters["product"])
            and ("channel" not in filters or order_channel.get(r["order_id"]) == filters["channel"])]
    return (len(rets) / len(orders) if orders else None), len(orders), len(rets)


def expect_repurchase(rows, start, end, filters):  # noqa: ANN001, ANN201
    counts: dict[str, int] = {}
    for o in rows.orders:
        if _in(o["created_at"], start, end) and _match(o, filters):
            counts[o["customer_id"]] = counts.get(o["customer_id"], 0) + 1
    repeat = sum(1 for v in counts.values() if v >= 2)
    return (repeat / len(counts) if counts else None), len(counts)


def expect_bad_reviews(rows, start, end, filters):  # noqa: ANN001, ANN201
    revs = [r for r in rows.reviews if _in(r["created_at"], start, end) and _match(r, filters)]
    bad = sum(1 for r in revs if r["rating"] <= 2)
    return (bad / len(revs) if revs else None), len(revs)


def expect_sales(rows, start, end, filters):  # noqa: ANN001, ANN201
    orders = [o for o in rows.orders if _in(o["created_at"], start, end) and _match(o, filters)]
    return len(orders), sum(o["amount_fen"] for o in orders) / 100


def expect_sentiment(rows, start, end, filters):  # noqa: ANN001, ANN201
    conv_ids = {c["conversation_id"] for c in rows.conversations if _match(c, filters)}
    msgs = [m for m in rows.messages if _in(m["sent_at"], start, end) and m["sender"] == "customer"
            and m["sentiment"] is not None and m["conversation_id"] in conv_ids]
    if not msgs:
        return None, 0, None
    neg = sum(1 for m in msgs if m["sentiment_label"] == "neg")
    return sum(m["sentiment"] for m in msgs) / len(msgs), len(msgs), neg / len(msgs)
