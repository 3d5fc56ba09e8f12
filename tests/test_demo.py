"""The demo generator: deterministic, shaped like a real shop, internally consistent, and loadable end to end.

Every shape check counts with a plain loop over the generated rows; nothing is compared with the generator's own
numbers except where the test is about the summary it returns.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from analytics.demo import generate_demo, generate_records
from analytics.demo.generator import build_world
from analytics.demo.records import totals
from analytics.demo.timeline import spike_window
from analytics.store.models import Complaint

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)
KINDS = ["conversations", "messages", "complaints", "orders", "returns", "reviews", "kb"]


def _materialise(records: dict) -> dict[str, list[dict]]:
    return {kind: list(rows) for kind, rows in records.items()}


@pytest.fixture(scope="module")
def month() -> dict[str, list[dict]]:
    """30 days at a quarter of the default volume: big enough for shapes, fast to build."""
    return _materialise(generate_records(days=30, seed=11, now=NOW, tz=TZ, scale=0.25))


def _local(dt: datetime) -> datetime:
    return dt.astimezone(TZ)


# ---------------------------------------------------------------- determinism and shape of the rows
def test_same_seed_and_now_give_identical_records():
    a = _materialise(generate_records(days=6, seed=3, now=NOW, tz=TZ, scale=0.1))
    b = _materialise(generate_records(days=6, seed=3, now=NOW, tz=TZ, scale=0.1))
    assert a == b
    c = _materialise(generate_records(days=6, seed=4, now=NOW, tz=TZ, scale=0.1))
    assert [m["text"] for m in c["messages"][:50]] != [m["text"] for m in a["messages"][:50]]


_DIGEST = """
import hashlib, sys
from datetime import datetime
from zoneinfo import ZoneInfo
from analytics.demo import generate_records
tz = ZoneInfo("Asia/Shanghai")
rows = generate_records(days=3, seed=3, now=datetime(2026, 11, 25, 15, 30, tzinfo=tz), tz=tz, scale=0.05)
h = hashlib.sha256()
for kind, items in rows.items():
    for row in items:
        h.update(repr(sorted(row.items(), key=lambda kv: kv[0])).encode())
sys.stdout.write(h.hexdigest())
"""


def test_records_do_not_depend_on_the_process_hash_seed():
    """String hashing is randomised per process; the generator must not depend on it (nor on set order)."""
    import os
    import subprocess
    import sys

    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout)
    assert len(digests) == 1


def test_every_kind_present_with_canonical_columns(month):
    required = {
        "conversations": {"conversation_id", "started_at", "agent", "channel", "shop", "customer_id", "ended_at",
                          "first_response_seconds", "resolved", "rating", "transferred"},
        "messages": {"message_id", "conversation_id", "sent_at", "sender", "text"},
        "complaints": {"complaint_id", "created_at", "text", "channel", "category", "product", "order_id",
                       "conversation_id", "severity"},
        "orders": {"order_id", "created_at", "customer_id", "channel", "product", "sku", "amount", "quantity"},
        "returns": {"return_id", "order_id", "created_at", "reason", "product", "amount"},
        "reviews": {"review_id", "created_at", "rating", "order_id", "product", "text"},
        "kb": {"question", "answer", "kb_id", "tags"},
    }
    assert list(month) == KINDS
    for kind, columns in required.items():
        assert month[kind], kind
        for row in month[kind]:
            assert columns <= set(row), (kind, row)
        ids = [row[f"{kind.rstrip('s')}_id" if kind != "kb" else "kb_id"] for row in month[kind]]
        assert len(ids) == len(set(ids)), f"duplicate ids in {kind}"


def test_timestamps_are_aware_and_inside_the_range(month):
    start = datetime(2026, 10, 27, tzinfo=TZ)  # 30 local days ending 2026-11-25
    fields = {"conversations": "started_at", "messages": "sent_at", "complaints": "created_at", "orders": "created_at",
              "returns": "created_at", "reviews": "created_at"}
    for kind, field in fields.items():
        for row in month[kind]:
            assert row[field].tzinfo is not None
            assert start <= row[field] < NOW, (kind, row)
    assert month["conversations"][0]["conversation_id"] == "C2026102700001"


def test_rows_reference_each_other_consistently(month):
    convs = {c["conversation_id"]: c for c in month["conversations"]}
    orders = {o["order_id"]: o for o in month["orders"]}
    by_conv = defaultdict(list)
    for m in month["messages"]:
        by_conv[m["conversation_id"]].append(m)
    assert set(by_conv) <= set(convs)
    for cid, conv in convs.items():
        msgs = by_conv[cid]
        assert 1 <= len(msgs) <= 8
        assert msgs[0]["sender"] == "customer" and msgs[0]["sent_at"] == conv["started_at"]
        agent = [m for m in msgs if m["sender"] == "agent"]
        if conv["first_response_seconds"] is None:
            assert not agent
        else:  # SPEC: first agent message minus first customer message, bots do not count
            assert conv["first_response_seconds"] == (agent[0]["sent_at"] - msgs[0]["sent_at"]).total_seconds()
        if conv["ended_at"] is not None:
            assert conv["ended_at"] == msgs[-1]["sent_at"]
        else:
            assert conv["rating"] is None and conv["resolved"] is None
        assert [m["sent_at"] for m in msgs] == sorted(m["sent_at"] for m in msgs)
    for c in month["complaints"]:
        assert c["conversation_id"] is None or c["conversation_id"] in convs
        assert c["order_id"] is None or c["order_id"] in orders
    for kind in ("returns", "reviews"):
        for row in month[kind]:
            order = orders[row["order_id"]]
            assert row["product"] == order["product"] and row["created_at"] > order["created_at"]
    for r in month["returns"]:
        assert 0 < r["amount"] <= orders[r["order_id"]]["amount"]


# ---------------------------------------------------------------- realism
def test_hourly_seasonality_peaks_late_morning_and_evening(month):
    per_hour = Counter(_local(c["started_at"]).hour for c in month["conversations"])
    top4 = {h for h, _ in per_hour.most_common(4)}
    assert top4 <= {10, 11, 12, 20, 21, 22}
    peak = max(per_hour.values())
    assert all(per_hour[h] < 0.15 * peak for h in (2, 3, 4, 5))


def test_weekend_shape_differs(month):
    morning, evening = Counter(), Counter()
    for c in month["conversations"]:
        t = _local(c["started_at"])
        weekend = t.weekday() >= 5
        if 8 <= t.hour < 10:
            morning[weekend] += 1
        if 20 <= t.hour < 22:
            evening[weekend] += 1
    # weekends start later and lean to the evening
    assert morning[True] / evening[True] < morning[False] / evening[False]


def test_promotion_day_has_three_to_four_times_the_volume():
    summary_days = 40
    now = datetime(2026, 11, 25, 23, 0, tzinfo=TZ)
    records = generate_records(days=summary_days, seed=5, now=now, tz=TZ, scale=0.2)
    per_day = Counter(_local(c["started_at"]).date() for c in records["conversations"])
    promo = date(2026, 11, 11)  # 双十一 is in range, so it is the promotion day
    others = [n for d, n in per_day.items() if d != promo]
    ratio = per_day[promo] / statistics.median(others)
    assert 2.8 <= ratio <= 4.5
    orders = Counter(_local(o["created_at"]).date() for o in records["orders"])
    assert orders[promo] > 3 * statistics.median(n for d, n in orders.items() if d != promo)


def test_promotion_day_slows_responses():
    records = generate_records(days=20, seed=5, now=datetime(2026, 11, 20, 23, 0, tzinfo=TZ), tz=TZ, scale=0.2)
    frt = defaultdict(list)
    for c in records["conversations"]:
        if c["first_response_seconds"] is not None:
            frt[_local(c["started_at"]).date() == date(2026, 11, 11)].append(c["first_response_seconds"])
    assert statistics.median(frt[True]) > 2 * statistics.median(frt[False])


def test_spike_window_has_at_least_four_times_the_usual_complaints(month):
    start, end = spike_window(NOW, TZ)
    assert NOW - timedelta(days=2) <= start < end <= NOW
    h0, h1 = _local(start).hour, _local(end).hour
    spike_day, today = _local(start).date(), NOW.date()
    in_window = [c for c in month["complaints"] if start <= c["created_at"] < end]
    per_day = Counter()
    days = {_local(c["started_at"]).date() for c in month["conversations"]} - {spike_day, today}
    for c in month["complaints"]:
        t = _local(c["created_at"])
        if t.date() in days and h0 <= t.hour < h1:
            per_day[t.date()] += 1
    usual = sum(per_day.values()) / len(days)
    assert len(in_window) >= 4 * usual and len(in_window) >= 6
    products = Counter(c["product"] for c in in_window)
    assert products["羽绒服"] >= 0.6 * len(in_window)
    stuck = ("不更新", "没更新", "不动", "没动", "停在")
    about_stuck_parcels = [c for c in in_window if c["category"] in ("物流", None) and any(w in c["text"] for w in stuck)]
    assert len(about_stuck_parcels) >= 0.5 * len(in_window)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 25, 15, 30), ((11, 25, 11), (11, 25, 14))),  # afternoon: the 3 h ending an hour ago
        (datetime(2026, 11, 25, 23, 59), ((11, 25, 19), (11, 25, 22))),  # late evening
        (datetime(2026, 11, 25, 13, 0), ((11, 25, 9), (11, 25, 12))),  # just after noon
        (datetime(2026, 11, 25, 9, 10), ((11, 24, 19), (11, 24, 22))),  # morning: yesterday evening
        (datetime(2026, 11, 25, 0, 5), ((11, 24, 20), (11, 24, 23))),  # just after midnight: still the last hours
    ],
)
def test_spike_window_rule(now, expected):
    start, end = spike_window(now.replace(tzinfo=TZ), TZ)
    assert (start.month, start.day, start.hour) == expected[0]
    assert (end.month, end.day, end.hour) == expected[1]


def test_agents_differ_in_quality(month):
    ratings, frt = defaultdict(list), defaultdict(list)
    for c in month["conversations"]:
        if c["rating"] is not None:
            ratings[c["agent"]].append(c["rating"])
        if c["first_response_seconds"] is not None:
            frt[c["agent"]].append(c["first_response_seconds"])
    assert 8 <= len(ratings) <= 12
    means = {a: statistics.mean(r) for a, r in ratings.items()}
    assert max(means.values()) - min(means.values()) >= 0.6
    assert means["小王"] > means["晓雯"] + 0.5
    assert statistics.median(frt["小王"]) * 3 < statistics.median(frt["晓雯"])


def test_slow_first_responses_get_worse_ratings(month):
    fast = [c["rating"] for c in month["conversations"] if c["rating"] and c["first_response_seconds"] <= 20]
    slow = [c["rating"] for c in month["conversations"] if c["rating"] and c["first_response_seconds"] >= 120]
    assert statistics.mean(fast) > statistics.mean(slow) + 0.5
    csat = sum(1 for c in month["conversations"] if (c["rating"] or 0) >= 4) / sum(
        1 for c in month["conversations"] if c["rating"])
    assert 0.75 <= csat <= 0.95


def test_channels_shops_and_transfers(month):
    channels = Counter(c["channel"] for c in month["conversations"])
    assert set(channels) == {"淘宝", "京东", "抖音", "官网"}
    assert channels["淘宝"] > channels["京东"] > channels["官网"]
    assert len({c["shop"] for c in month["conversations"]}) == 2
    transferred = sum(1 for c in month["conversations"] if c["transferred"])
    assert 0.02 < transferred / len(month["conversations"]) < 0.15
    resolved = [c["resolved"] for c in month["conversations"] if c["resolved"] is not None]
    assert 0.75 < sum(resolved) / len(resolved) < 0.95


def test_message_senders_and_variety(month):
    senders = Counter(m["sender"] for m in month["messages"])
    assert set(senders) == {"customer", "agent", "bot"}
    small = _materialise(generate_records(days=5, seed=2, now=NOW, tz=TZ, scale=0.06))
    customer_texts = {m["text"] for m in small["messages"] if m["sender"] == "customer"}
    assert len(customer_texts) >= 300
    everything = " ".join(m["text"] for m in month["messages"])
    for word in ("发货", "快递", "顺丰", "尺码", "退货", "七天无理由", "运费险", "发票", "优惠券", "补差价", "色差",
                 "质量", "谢谢", "投诉"):
        assert word in everything, word


def test_agents_answer_questions_consistently(month):
    """FAQ mining needs one consistent candidate answer per question: the facts agents state do not vary."""
    agent_texts = [m["text"] for m in month["messages"] if m["sender"] == "agent"]
    sf = [t for t in agent_texts if "顺丰" in t and "差价" in t]
    assert sf and all("10元" in t for t in sf)
    invoice = [t for t in agent_texts if "开票" in t or "电子发票" in t]
    assert invoice and all("1-3个工作日" in t for t in invoice)
    ship = [t for t in agent_texts if "小时内发货" in t]
    assert ship and all("48小时内发货" in t for t in ship)


def test_some_messages_carry_personal_data(month):
    customer = [m["text"] for m in month["messages"] if m["sender"] == "customer"]
    phone = re.compile(r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}")
    assert sum(1 for t in customer if phone.search(t)) >= 10
    assert sum(1 for t in customer if "收件人" in t or "我叫" in t) >= 10
    assert sum(1 for t in customer if re.search(r"[省市]\S+区\S+路\d+号", t)) >= 10
    assert sum(1 for t in customer if re.search(r"O20261\d{8}", t)) >= 10
    agent = [m["text"] for m in month["messages"] if m["sender"] == "agent"]
    assert sum(1 for t in agent if re.search(r"SF\d{12}|YT\d{13}", t)) >= 10


def test_complaints_categories_severity_and_links(month):
    complaints = month["complaints"]
    categories = Counter(c["category"] for c in complaints)
    assert {"物流", "质量", "服务态度", "退款售后", "价格优惠", "发票"} <= set(categories)
    assert 0.1 < categories[None] / len(complaints) < 0.3  # left for the classifier
    assert {c["severity"] for c in complaints} == {"一般", "严重", "紧急"}
    linked = sum(1 for c in complaints if c["conversation_id"])
    assert 0.5 < linked / len(complaints) < 0.95
    per_1000 = 1000 * len(complaints) / len(month["conversations"])
    assert 5 < per_1000 < 30


def test_orders_returns_reviews_are_plausible(month):
    orders = month["orders"]
    per_customer = Counter(o["customer_id"] for o in orders)
    repeat = sum(1 for n in per_customer.values() if n >= 2) / len(per_customer)
    assert 0.08 < repeat < 0.5  # 复购率 over the month is meaningful
    assert 0.04 < len(month["returns"]) / len(orders) < 0.15
    reasons = Counter(r["reason"] for r in month["returns"])
    assert {"尺码不合适", "七天无理由", "质量问题"} <= set(reasons)
    ratings = Counter(r["rating"] for r in month["reviews"])
    assert ratings[5] > ratings[4] > ratings[1]
    bad = [r["text"] for r in month["reviews"] if r["rating"] <= 2 and r["text"] and "没有填写" not in r["text"]]
    issues = ("绒", "色", "码", "球", "线", "味", "毛", "胶", "保暖", "漏水", "缩", "发热", "紧", "拉链", "扎", "变形",
              "塌", "保温", "漆", "冷", "凉", "回弹", "大了", "热")
    assert sum(1 for t in bad if any(i in t for i in issues)) > 0.9 * len(bad)
    assert all(o["amount"] > 0 and o["quantity"] >= 1 for o in orders)


def test_other_timezones_and_dst():
    berlin = ZoneInfo("Europe/Berlin")  # 2026-10-25 has 25 local hours
    now = datetime(2026, 10, 28, 12, 0, tzinfo=berlin)
    records = _materialise(generate_records(days=6, seed=1, now=now, tz=berlin, scale=0.05))
    assert all(c["started_at"] < now for c in records["conversations"])
    days = {c["started_at"].astimezone(berlin).date() for c in records["conversations"]}
    assert date(2026, 10, 25) in days and min(days) == date(2026, 10, 23)


@pytest.mark.parametrize("hour", [0, 11, 16])
def test_one_day_range_stays_inside_the_day(hour):
    now = datetime(2026, 11, 25, hour, 30, tzinfo=TZ)
    records = _materialise(generate_records(days=1, seed=1, now=now, tz=TZ, scale=0.2))
    start = datetime(2026, 11, 25, tzinfo=TZ)
    for kind, field in (("conversations", "started_at"), ("messages", "sent_at"), ("complaints", "created_at")):
        assert all(start <= row[field] < now for row in records[kind]), kind


def test_naive_now_means_local_time_and_any_zone_means_the_same_instant():
    a = _materialise(generate_records(days=2, seed=1, now=NOW.replace(tzinfo=None), tz=TZ, scale=0.05))
    b = _materialise(generate_records(days=2, seed=1, now=NOW, tz=TZ, scale=0.05))
    c = _materialise(generate_records(days=2, seed=1, now=NOW.astimezone(ZoneInfo("UTC")), tz=TZ, scale=0.05))
    assert a == b == c


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        generate_records(days=0, now=NOW, tz=TZ)
    with pytest.raises(ValueError):
        generate_records(days=3, now=NOW, tz=TZ, scale=0)


# ---------------------------------------------------------------- end to end through ingest
TABLES = {"conversations": "conversations", "messages": "messages", "complaints": "complaints", "orders": "orders",
          "returns": "returns", "reviews": "reviews", "kb": "kb_entries"}


def test_generate_demo_loads_everything(engine):
    summary = generate_demo(engine, days=4, seed=9, now=NOW, tz=TZ, scale=0.04)
    expected = {k: len(list(v)) for k, v in generate_records(days=4, seed=9, now=NOW, tz=TZ, scale=0.04).items()}
    with engine.connect() as conn:
        counts = {kind: conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() for kind, table in
                  TABLES.items()}
        spike_start, spike_end = summary.spike
        in_spike = conn.execute(select(func.count()).select_from(Complaint).where(
            Complaint.created_at >= spike_start, Complaint.created_at < spike_end)).scalar_one()
    for kind in TABLES:
        assert counts[kind] == getattr(summary, kind) == expected[kind], kind
    world = build_world(days=4, seed=9, now=NOW, tz=TZ, scale=0.04)
    assert totals(world) == expected  # what the progress bars announce
    assert in_spike >= 6
    assert summary.days == 4 and summary.end == NOW
    assert summary.start == datetime(2026, 11, 22, tzinfo=TZ)
    assert summary.promotion_day == date(2026, 11, 24)  # no 双十一 or 618 in range: the middle day
    # loading again updates the same rows instead of duplicating them
    generate_demo(engine, days=4, seed=9, now=NOW, tz=TZ, scale=0.04)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM messages")).scalar_one() == expected["messages"]
