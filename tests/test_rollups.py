"""Rollup-backed metrics equal a plain-Python loop over the stored rows, on SQLite and PostgreSQL.

Rows arrive through ``ingest_records`` in shuffled batches, dependent kinds first (complaints before
the conversations that label them, returns before their orders), then a re-import moves rows to other
hours and changes ratings, agents, channels and links. After each step every metric over many windows
(hour-aligned and not, local periods, UTC days and months) and filters must equal the loop, and a
rebuild from scratch must give the same rollup tables.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, insert, select

from analytics import metrics, rollups
from analytics.ingest import ingest_records
from analytics.ingest.schema import SPECS as INGEST_SPECS
from analytics.rollups.specs import DAY, HOUR, MONTH, RAW, SPECS, ceil, cover, floor, signed_cover, step
from analytics.store.models import Complaint, Conversation, Message, Order, Return, Review
from tests import metric_data as md

TEXTS = ["你好，请问什么时候发货", "太慢了，我要投诉！", "谢谢，很满意", "尺码偏小，能换吗", "质量太差了，退款",
         "好的，收到了", "客服态度很好", "等了半天没人回复，差评"]
KIND_ORDER = ["complaints", "messages", "returns", "reviews", "conversations", "orders"]  # dependents first
TABLES = {"conversations": Conversation, "messages": Message, "complaints": Complaint, "orders": Order,
          "returns": Return, "reviews": Review}

FILTERS = [{}, {"channel": "淘宝"}, {"agent": "小王"}, {"channel": "京东", "shop": "旗舰店"}, {"product": "羽绒服"},
           {"channel": "抖音", "product": "运动鞋"}]


def _windows() -> list[tuple[datetime, datetime]]:
    tz, now = md.TZ, md.NOW
    out = [
        (datetime(2026, 11, 23, tzinfo=tz), now),  # 本周
        (datetime(2026, 11, 1, tzinfo=tz), now),  # 本月
        (datetime(2026, 1, 1, tzinfo=tz), now),  # 今年
        (datetime(2026, 11, 25, tzinfo=tz), datetime(2026, 11, 26, tzinfo=tz)),  # 今天 as a day: future rows
        (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),  # one whole UTC month
        (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)),  # months + a second
        (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC)),  # whole UTC days
        (datetime(2026, 10, 5, 3, tzinfo=UTC), datetime(2026, 10, 5, 9, tzinfo=UTC)),  # whole hours
        (now - timedelta(minutes=40), now),  # no whole hour: raw rows only
        (datetime(2020, 1, 1, tzinfo=tz), datetime(2020, 2, 1, tzinfo=tz)),  # empty
    ]
    rnd = random.Random(7)
    first = now - timedelta(days=72)
    for _ in range(4):
        start = first + timedelta(seconds=rnd.randrange(72 * 86400))
        out.append((start, start + timedelta(seconds=rnd.randrange(600, 50 * 86400))))
    return out


WINDOWS = _windows()


# -- loading and reading back ------------------------------------------------------------------------

def _records(kind: str, items: list[dict]) -> list[dict]:
    """Rows as import records: canonical columns only (sentiment is derived at import by the text model)."""
    keep = set(INGEST_SPECS[kind].canonical)
    return [{k: v for k, v in row.items() if k in keep} for row in items]


def _ingest(engine: Engine, kinds: dict[str, list[dict]], seed: int, batch_size: int = 400) -> None:
    rnd = random.Random(seed)
    for kind in KIND_ORDER:
        items = _records(kind, kinds.get(kind, []))
        rnd.shuffle(items)  # scattered hours per batch: late-arriving rows in every batch
        if items:
            result = ingest_records(engine, kind, items, tz=md.TZ, batch_size=batch_size)
            assert result.rejected == 0, result.errors[:3]


def _read_back(engine: Engine) -> md.Rows:
    """The stored rows as plain dicts: the loop's input (derived columns included)."""
    rows = md.Rows()
    with engine.connect() as conn:
        for kind, model in TABLES.items():
            table = model.__table__
            getattr(rows, kind).extend(dict(r._mapping) for r in conn.execute(select(table)))
    return rows


def _make_rows() -> md.Rows:
    rows = md.make_rows(seed=3, days=70, per_day=16)
    rnd = random.Random(3)
    for m in rows.messages:
        m["text"] = rnd.choice(TEXTS)
    return rows


def _changes(rows: md.Rows, seed: int) -> dict[str, list[dict]]:
    """Re-imported versions of some rows (moved hours, new ratings, agents, channels, links) plus late rows."""
    rnd = random.Random(seed)

    def moved(t: datetime) -> datetime:
        return t + timedelta(hours=rnd.choice([-30, -5, -1, 1, 2, 26]), minutes=rnd.randrange(60))

    out: dict[str, list[dict]] = {k: [] for k in TABLES}
    conv_ids = [c["conversation_id"] for c in rows.conversations]
    for c in rnd.sample(rows.conversations, len(rows.conversations) // 6):
        c = dict(c, started_at=moved(c["started_at"]), rating=rnd.choice([None, 1, 2, 5]),
                 agent=rnd.choice(md.AGENTS), channel=rnd.choice(md.CHANNELS + [None]), shop=rnd.choice(md.SHOPS),
                 resolved=rnd.choice([None, True, False]),
                 first_response_seconds=rnd.choice([None, 12.5, 31.0, 300.25]))
        out["conversations"].append(c)
    for m in rnd.sample(rows.messages, len(rows.messages) // 6):
        out["messages"].append(dict(m, sent_at=moved(m["sent_at"]), conversation_id=rnd.choice(conv_ids),
                                    sender=rnd.choice(["customer", "agent"]), text=rnd.choice(TEXTS)))
    for k in rnd.sample(rows.complaints, len(rows.complaints) // 4):
        out["complaints"].append(dict(k, created_at=moved(k["created_at"]), channel=rnd.choice(md.CHANNELS),
                                      category=rnd.choice(md.CATEGORIES),
                                      conversation_id=rnd.choice([None, rnd.choice(conv_ids)])))
    customers = sorted({o["customer_id"] for o in rows.orders})
    for o in rnd.sample(rows.orders, len(rows.orders) // 5):  # some move to another customer (复购率 predecessors)
        out["orders"].append(dict(o, created_at=moved(o["created_at"]), channel=rnd.choice(md.CHANNELS),
                                  amount_fen=rnd.randrange(100, 50000),
                                  customer_id=rnd.choice([o["customer_id"], rnd.choice(customers)])))
    for r in rnd.sample(rows.returns, len(rows.returns) // 4):
        out["returns"].append(dict(r, created_at=moved(r["created_at"]), reason=rnd.choice(["色差", None])))
    for v in rnd.sample(rows.reviews, len(rows.reviews) // 4):
        out["reviews"].append(dict(v, created_at=moved(v["created_at"]), rating=rnd.choice([1, 2, 5])))
    for kind in TABLES:  # some rows re-imported exactly as stored: nothing may move
        out[kind].extend(dict(row) for row in rnd.sample(getattr(rows, kind), len(getattr(rows, kind)) // 10))
    late = md.make_rows(seed=seed, days=60, per_day=3)  # new ids, old times: late-arriving rows
    for kind in TABLES:
        for row in getattr(late, kind):
            row = dict(row)
            for key in ("conversation_id", "message_id", "complaint_id", "order_id", "return_id", "review_id"):
                if row.get(key):
                    row[key] = "late_" + row[key]
            if kind == "complaints" and row.get("conversation_id") and rnd.random() < 0.5:
                row["conversation_id"] = rnd.choice(conv_ids)  # a late complaint about an existing conversation
            if kind == "messages":
                row["text"] = rnd.choice(TEXTS)
            out[kind].append(row)
    return out


# -- the plain-loop reference for the top lists -----------------------------------------------------------

def _rank(values: list[str | None]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


def _returns_in(rows: md.Rows, start: datetime, end: datetime, flt: dict[str, str]) -> list[dict]:
    channel = {o["order_id"]: o["channel"] for o in rows.orders}
    return [r for r in rows.returns if start <= r["created_at"] < end
            and ("product" not in flt or r["product"] == flt["product"])
            and ("channel" not in flt or channel.get(r["order_id"]) == flt["channel"])]


def check_all(engine: Engine, rows: md.Rows, groups: frozenset[str] = frozenset({"conv", "complaints", "orders",
                                                                                 "reviews"})) -> int:
    """Every metric (of ``groups``) over every window and supported filter equals the loop; returns #checks."""
    checks = 0
    for start, end in WINDOWS:
        for flt in FILTERS:
            def ok(key: str, flt: dict[str, str] = flt) -> bool:
                return all(k in metrics.METRICS[key].filters for k in flt)

            if "conv" in groups and ok("csat"):
                r = metrics.compute(engine, "csat", start, end, flt)
                value, n = md.expect_csat(rows, start, end, flt)
                assert (r.n, _close(r.value, value)) == (n, True), (start, end, flt)
                assert r.parts["conversations"] == len(md.convs(rows, start, end, flt))
                r = metrics.compute(engine, "resolution", start, end, flt)
                value, n = md.expect_resolution(rows, start, end, flt)
                assert (r.n, _close(r.value, value)) == (n, True), (start, end, flt)
                r = metrics.compute(engine, "frt", start, end, flt)
                mean, n, median, p90, fast = md.expect_frt(rows, start, end, flt)
                assert r.n == n and _close(r.value, mean) and _close(r.parts["within_30s"], fast), (start, end, flt)
                assert _close(r.parts["median"], median) and _close(r.parts["p90"], p90)
                assert metrics.compute(engine, "conversations", start, end, flt).n == len(md.convs(rows, start, end, flt))
                r = metrics.compute(engine, "sentiment", start, end, flt)
                mean, n, neg = md.expect_sentiment(rows, start, end, flt)
                assert r.n == n and _close(r.value, mean) and _close(r.parts["negative_share"], neg), (start, end, flt)
                checks += 5
            if "complaints" in groups and ok("complaints"):
                r = metrics.compute(engine, "complaints", start, end, flt)
                expected = md.expect_complaints(rows, start, end, flt)
                assert r.n == len(expected), (start, end, flt)
                assert r.top["category"] == _rank([k["category"] for k in expected])
                assert r.top["product"] == _rank([k["product"] for k in expected])
                if "product" not in flt:
                    n_conv = len(md.convs(rows, start, end, flt))
                    assert _close(r.parts["per_mille"], len(expected) * 1000 / n_conv if n_conv else None)
                checks += 1
            if "orders" in groups and ok("return_rate"):
                r = metrics.compute(engine, "return_rate", start, end, flt)
                value, n_orders, n_returns = md.expect_return_rate(rows, start, end, flt)
                assert (r.n, r.parts["returns"], _close(r.value, value)) == (n_orders, n_returns, True), (start, flt)
                rets = _returns_in(rows, start, end, flt)
                assert r.top["reason"] == _rank([x["reason"] for x in rets])
                assert r.top["product"] == _rank([x["product"] for x in rets])
                r = metrics.compute(engine, "sales", start, end, flt)
                n, amount = md.expect_sales(rows, start, end, flt)
                assert r.n == n and _close(r.value, amount), (start, end, flt)
                assert _close(r.parts["aov"], amount / n if n else None)
                r = metrics.compute(engine, "repurchase", start, end, flt)
                value, n = md.expect_repurchase(rows, start, end, flt)
                assert r.n == n and _close(r.value, value)
                checks += 3
            if "reviews" in groups and ok("bad_reviews"):
                r = metrics.compute(engine, "bad_reviews", start, end, flt)
                value, n = md.expect_bad_reviews(rows, start, end, flt)
                assert r.n == n and _close(r.value, value), (start, end, flt)
                bad = [v for v in rows.reviews if start <= v["created_at"] < end and md._match(v, flt) and v["rating"] <= 2]
                assert r.top["product"] == _rank([v["product"] for v in bad])
                checks += 1
    return checks


def _assert_rollups_answer(engine: Engine) -> None:
    """The windows with a whole hour really are answered from the rollups (not silently from raw rows)."""
    start, end = WINDOWS[1]
    with engine.connect() as conn:
        for kind in SPECS:
            assert rollups.is_ready(conn, kind), kind
            assert rollups.totals(conn, kind, start, end, {}) is not None, kind
        for flt in ({"dim": "all", "key": "*"}, {"dim": "channel", "key": "淘宝"}, {"dim": "shop", "key": "旗舰店"},
                    {"dim": "agent", "key": "小王"}):
            assert rollups.quantiles(conn, "frt_hist", start, end, flt, ((1, 2),)) is not None, flt
        for flt in ({"fdim": "all", "fkey": "*"}, {"fdim": "agent", "fkey": "小王"}, {"fdim": "channel", "fkey": "淘宝"}):
            assert rollups.breakdown(conn, "complaint_tops", ("category", "product"), start, end, flt) is not None
        for kind, flt in (("repeat_1", {}), ("repeat_2", {}), ("repeat_channel_1", {"channel": "淘宝"}),
                          ("repeat_product_2", {"product": "羽绒服"})):
            assert rollups.repeat_count(conn, kind, start, end, flt) is not None, kind


def _snapshot(engine: Engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as conn:
        for kind, spec in SPECS.items():
            table = spec.table
            keys = [table.c.grain, table.c.bucket, *[table.c[d] for d in spec.dims]]
            out[kind] = [tuple(r) for r in conn.execute(select(table).order_by(*keys))]
    return out


def _same_tables(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> None:
    for kind in SPECS:
        assert len(a[kind]) == len(b[kind]), kind
        for x, y in zip(a[kind], b[kind], strict=True):
            assert len(x) == len(y)
            for u, v in zip(x, y, strict=True):
                assert u == pytest.approx(v, rel=1e-9) if isinstance(u, float) else u == v, (kind, x, y)


# -- tests -------------------------------------------------------------------------------------------------

def test_import_reimport_and_rebuild_equal_the_loop(engine):
    rows = _make_rows()
    kinds = {k: getattr(rows, k) for k in TABLES}
    with engine.connect() as conn:
        assert not any(rollups.is_ready(conn, k) for k in SPECS)  # a fresh database reads raw rows
    _ingest(engine, kinds, seed=11)
    _assert_rollups_answer(engine)
    stored = _read_back(engine)
    assert len(stored.messages) == len(rows.messages) and any(m["sentiment"] is not None for m in stored.messages)
    assert check_all(engine, stored) > 300

    _ingest(engine, _changes(stored, seed=12), seed=13, batch_size=150)
    changed = _read_back(engine)
    assert changed.conversations != stored.conversations
    check_all(engine, changed)

    incremental = _snapshot(engine)
    assert set(rollups.rebuild(engine)) == set(SPECS)
    _same_tables(incremental, _snapshot(engine))


def test_rebuild_after_direct_load_and_refresh_of_direct_writes(engine):
    rows = md.make_rows(seed=5, days=40, per_day=12)
    md.load(engine, rows)
    with engine.connect() as conn:
        assert rollups.totals(conn, "conversations", *WINDOWS[1], {}) is None  # not built: raw rows answer
    counts = rollups.rebuild(engine)
    assert counts["conversations"] > 0 and counts["reviews"] > 0
    _assert_rollups_answer(engine)
    check_all(engine, rows)

    # A writer that bypasses the import layer refreshes the hours it touched (old and new) itself.
    conv = rows.conversations[0]
    old_hour = conv["started_at"]
    new = {"started_at": md.NOW - timedelta(hours=3, minutes=17), "rating": 1, "agent": "小王"}
    extra = {"conversation_id": "direct1", "started_at": md.NOW - timedelta(days=3, minutes=5), "agent": "小张",
             "channel": "淘宝", "shop": "专营店", "rating": 5, "resolved": True, "first_response_seconds": 8.0}
    with engine.begin() as conn:
        table = Conversation.__table__
        conn.execute(table.update().where(table.c.conversation_id == conv["conversation_id"]).values(**new))
        conn.execute(insert(table), [extra])
        rollups.refresh(conn, "conversations", {old_hour, new["started_at"], extra["started_at"]})
        rollups.refresh(conn, "complaints", {k["created_at"] for k in rows.complaints
                                             if k["conversation_id"] == conv["conversation_id"]})
        rollups.refresh(conn, "messages", {m["sent_at"] for m in rows.messages
                                           if m["conversation_id"] == conv["conversation_id"]})
    conv.update(new)
    rows.conversations.append({**extra, "customer_id": None, "transferred": None})
    check_all(engine, rows, frozenset({"conv", "complaints"}))

    with engine.begin() as conn:
        rollups.invalidate(conn, ["orders"])
        assert not rollups.is_ready(conn, "orders") and rollups.is_ready(conn, "returns")
        assert rollups.totals(conn, "orders", *WINDOWS[1], {}) is None
    check_all(engine, rows, frozenset({"orders"}))  # returns from the rollup, orders from raw rows


def test_rollups_start_over_when_the_raw_rows_were_deleted_wholesale(engine):
    """``csbot demo --fresh`` empties the data tables directly; the next import must not add to stale buckets."""
    first = _make_rows()
    _ingest(engine, {k: getattr(first, k) for k in TABLES}, seed=31)
    with engine.begin() as conn:
        for model in TABLES.values():
            conn.execute(model.__table__.delete())
    second = md.make_rows(seed=32, days=30, per_day=10)
    for m in second.messages:
        m["text"] = random.Random(m["message_id"]).choice(TEXTS)
    _ingest(engine, {k: getattr(second, k) for k in TABLES}, seed=33)
    _assert_rollups_answer(engine)
    check_all(engine, _read_back(engine))


def test_empty_filter_value_and_disabled_fall_back_to_raw(engine):
    rows = md.make_rows(seed=9, days=20, per_day=20)
    for c in rows.conversations[:40]:
        c["channel"] = None  # stored as '' in the rollup key: a filter for '' must not match these
    md.load(engine, rows)
    rollups.rebuild(engine)
    start, end = WINDOWS[1]
    with engine.connect() as conn:
        assert rollups.totals(conn, "conversations", start, end, {"channel": ""}) is None
        with rollups.disabled():
            assert rollups.totals(conn, "conversations", start, end, {}) is None
        assert rollups.totals(conn, "conversations", start, end, {"channel": "淘宝"}) is not None
    r = metrics.compute(engine, "conversations", start, end, {"channel": ""})
    assert r.n == 0
    assert metrics.compute(engine, "conversations", start, end, {}).n == len(md.convs(rows, start, end, {}))


def test_postgresql_buckets_do_not_depend_on_the_session_time_zone(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no session time zone")
    rows = md.make_rows(seed=4, days=10, per_day=30)
    md.load(engine, rows)
    utc = rollups.rebuild(engine)
    snap = _snapshot(engine)
    url = engine.url.render_as_string(hide_password=False)
    kolkata = create_engine(url, connect_args={"options": "-c timezone=Asia/Kolkata"})  # UTC+05:30
    try:
        assert rollups.rebuild(kolkata) == utc
        _same_tables(snap, _snapshot(kolkata))
        check_all(kolkata, rows, frozenset({"conv"}))
    finally:
        kolkata.dispose()


# -- the window cover, a pure function -------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "grains"), [
    # a local month in Asia/Shanghai: 8 edge hours, whole days, no whole UTC month
    (datetime(2026, 11, 1, tzinfo=md.TZ), datetime(2026, 12, 1, tzinfo=md.TZ), {HOUR, DAY}),
    # a local year ending now: whole UTC months inside, days and hours at the edges, raw minutes at the end
    (datetime(2026, 1, 1, tzinfo=md.TZ), md.NOW, {HOUR, DAY, MONTH}),
    # exactly one UTC month: one bucket, no raw rows
    (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), {MONTH}),
    # across a year end
    (datetime(2025, 12, 30, 5, 10, tzinfo=UTC), datetime(2026, 2, 2, 1, tzinfo=UTC), {HOUR, DAY, MONTH}),
])
def test_cover_partitions_the_window(start, end, grains):
    plan = cover(start, end)
    assert plan is not None and {g for g, _, _ in plan.buckets} == grains
    pieces = sorted([(lo, hi) for _, lo, hi in plan.buckets] + list(plan.raw))
    assert pieces[0][0] == start and pieces[-1][1] == end
    for (_, hi), (lo, _) in zip(pieces, pieces[1:], strict=False):
        assert hi == lo  # contiguous, no overlap
    for grain, lo, hi in plan.buckets:
        assert floor(lo, grain) == lo and floor(hi, grain) == hi
    for lo, hi in plan.raw:
        assert hi - lo < timedelta(hours=1)


def test_cover_random_windows_are_exact_partitions():
    rnd = random.Random(1)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(500):
        start = base + timedelta(seconds=rnd.randrange(400 * 86400))
        end = start + timedelta(seconds=rnd.randrange(1, 200 * 86400))
        plan = cover(start, end)
        if plan is None:
            assert ceil(start, HOUR) >= floor(end, HOUR)
            continue
        pieces = sorted([(lo, hi) for _, lo, hi in plan.buckets] + list(plan.raw))
        assert pieces[0][0] == start and pieces[-1][1] == end
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
        assert all(step(floor(lo, g), g) <= hi for g, lo, hi in plan.buckets)


# -- first-response histograms: ties, tiny windows, whole days and raw edges ---------------------------------

def test_frt_histogram_quantiles_equal_the_loop_with_heavy_ties(engine):
    """Whole-second values repeat a lot (the usual export): each distinct value is one histogram row, and
    the median/P90 still equal percentile_cont over the raw values, for windows of whole days, of days
    plus raw edges, of a single conversation and of none."""
    rnd = random.Random(3)
    base = datetime(2026, 10, 1, tzinfo=UTC)
    values = [3.0, 8.0, 8.0, 15.0, 15.0, 15.0, 27.0, 61.0, 240.0, 12.5]
    convs = [{"conversation_id": f"t{i}", "started_at": base + timedelta(minutes=rnd.randrange(10 * 24 * 60)),
              "agent": rnd.choice(["小王", "小李"]), "channel": rnd.choice(["淘宝", "京东"]), "shop": "旗舰店",
              "first_response_seconds": rnd.choice(values) if i % 7 else None} for i in range(400)]
    _ingest(engine, {"conversations": convs}, seed=2)
    rows = md.Rows()
    rows.conversations = [{**c, "customer_id": None, "rating": None, "resolved": None, "transferred": None}
                          for c in convs]
    windows = [(base, base + timedelta(days=10)), (base + timedelta(days=2), base + timedelta(days=3)),
               (base + timedelta(days=1, hours=5, minutes=3), base + timedelta(days=8, hours=1, seconds=9)),
               (base - timedelta(days=3), base)]
    only = min(convs, key=lambda c: c["started_at"])
    windows.append((only["started_at"], only["started_at"] + timedelta(microseconds=1)))
    for start, end in windows:
        for flt in ({}, {"channel": "京东"}, {"agent": "小李"}):
            r = metrics.compute(engine, "frt", start, end, flt)
            _, n, median, p90, _ = md.expect_frt(rows, start, end, flt)
            assert r.n == n and _close(r.parts["median"], median) and _close(r.parts["p90"], p90), (start, end, flt)
    known = sorted(c["first_response_seconds"] for c in convs if c["first_response_seconds"] is not None)
    with engine.connect() as conn:
        n, (median, p90) = rollups.quantiles(conn, "frt_hist", *windows[0], {"dim": "all", "key": "*"}, ((1, 2), (9, 10)))
    assert n == len(known) and _close(median, md.interp(known, 0.5)) and _close(p90, md.interp(known, 0.9))


def test_first_load_of_a_file_rebuilds_once_then_later_files_maintain(engine, tmp_path):
    """A file into an empty table skips the per-batch upkeep of that table's rollups and rebuilds them at
    the end; the next file (table not empty) is maintained batch by batch. Both equal the loop."""
    import csv

    from analytics.ingest import import_file

    rows = md.make_rows(seed=21, days=30, per_day=20)
    convs = sorted(rows.conversations, key=lambda c: c["started_at"])
    cols = ["conversation_id", "started_at", "agent", "channel", "shop", "first_response_seconds", "rating"]

    def write(path, items):  # noqa: ANN001, ANN202
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for c in items:
                w.writerow(["" if c.get(k) is None else c[k].isoformat() if k == "started_at" else c[k] for k in cols])
        return path

    half = len(convs) // 2
    first = import_file(engine, "conversations", write(tmp_path / "a.csv", convs[:half]), tz=md.TZ,
                        progress=False, batch_size=50)
    with engine.connect() as conn:
        assert first.accepted == half and rollups.is_ready(conn, "conversations") and rollups.is_ready(conn, "frt_hist")
    import_file(engine, "conversations", write(tmp_path / "b.csv", convs[half:]), tz=md.TZ, progress=False,
                batch_size=50)
    loaded = md.Rows(conversations=[{**c, "resolved": None, "transferred": None, "customer_id": None} for c in convs])
    for start, end in WINDOWS[:3]:
        for flt in ({}, {"channel": "淘宝"}):
            r = metrics.compute(engine, "frt", start, end, flt)
            _, n, median, p90, _ = md.expect_frt(loaded, start, end, flt)
            assert r.n == n and _close(r.parts["median"], median) and _close(r.parts["p90"], p90)
            value, n = md.expect_csat(loaded, start, end, flt)
            r = metrics.compute(engine, "csat", start, end, flt)
            assert r.n == n and _close(r.value, value)
    incremental = _snapshot(engine)
    rollups.rebuild(engine)
    _same_tables(incremental, _snapshot(engine))


def test_signed_cover_counts_every_instant_once():
    """The signed terms of any window add up to exactly the window: +1 inside, 0 outside (checked every
    10 minutes and at the ends), whole buckets aligned to their grain."""
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 400 * 24 * 60, rng.choice([1, 60, 60 * 24])))
        end = start + timedelta(minutes=rng.randrange(1, 120 * 24 * 60, rng.choice([1, 60, 60 * 24])))
        terms = signed_cover(start, end)
        for sign, grain, lo, hi in terms:
            assert lo < hi and sign in (1, -1)
            if grain != RAW:
                assert floor(lo, grain) == lo and floor(hi, grain) == hi and grain in (HOUR, DAY, MONTH)
            else:
                assert sign == 1 and hi - lo < timedelta(hours=1) or (lo, hi) == (start, end)
        t = start - timedelta(hours=30)
        probes = [start, end - timedelta(microseconds=1), end]
        while t < end + timedelta(hours=30):
            probes.append(t)
            t += timedelta(minutes=10)
        for p in probes:
            assert sum(sign for sign, _, lo, hi in terms if lo <= p < hi) == (1 if start <= p < end else 0), (start, end, p)


def test_window_end_moves_to_whole_buckets_only_when_nothing_follows(engine):
    """A window ending now reads whole day/month buckets (no rows after its end); one ending just before or
    at a row, or a microsecond after it, must not: every answer still equals the loop."""
    rows = _make_rows()
    md.load(engine, rows)
    rollups.rebuild(engine)
    times = sorted(c["started_at"] for c in rows.conversations)
    last = times[-1]
    ends = [last, last + timedelta(microseconds=1), times[len(times) // 2], times[len(times) // 2] + timedelta(seconds=1),
            md.NOW + timedelta(days=3)]
    for end in ends:
        for start in (datetime(2026, 11, 1, tzinfo=md.TZ), end - timedelta(hours=30)):
            for flt in ({}, {"channel": "淘宝"}):
                r = metrics.compute(engine, "frt", start, end, flt)
                mean, n, median, p90, _ = md.expect_frt(rows, start, end, flt)
                assert (r.n, _close(r.value, mean), _close(r.parts["median"], median), _close(r.parts["p90"], p90)) \
                    == (n, True, True, True), (start, end, flt)
                r = metrics.compute(engine, "repurchase", start, end, flt)
                value, n = md.expect_repurchase(rows, start, end, flt)
                assert (r.n, _close(r.value, value)) == (n, True), (start, end, flt)
                assert metrics.compute(engine, "complaints", start, end, flt).n == len(
                    md.expect_complaints(rows, start, end, flt))


def test_postgresql_sessions_turn_jit_off_and_raise_parallel_setup_cost(engine):
    """Small rollup reads must not pay JIT compilation or parallel-worker start-up (store.db.make_engine)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL session settings")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        assert float(conn.exec_driver_sql("SHOW parallel_setup_cost").scalar()) == 10000
