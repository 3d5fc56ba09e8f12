"""Seeded generator of a large shop's year written straight into a csbot database (for the scale bench).

    python bench/scale/gen_scale.py --db sqlite:///bench/scale/data/scale.db --conversations 5000000
    python bench/scale/gen_scale.py --db postgresql+psycopg://postgres@127.0.0.1:5432/csbot_scale \\
        --conversations 5000000 --create

The shop is the one of ``bench/gen_data.py`` (same channels, shops, agents, products, hourly curve,
promotion day and rates: 2 messages per conversation, 1.5 % complaints, 0.6 orders per conversation,
6 % returns, 25 % reviews) but generated with numpy in chunks and bulk-loaded (``COPY`` on PostgreSQL,
``executemany`` on SQLite) in time order, with the secondary indexes dropped during the load and rebuilt after, so a
5M-conversation year loads in minutes rather than hours. Then ``ANALYZE`` and a timed rollup rebuild.

The data ends at ``--now`` (default 2026-11-25 15:30 Asia/Shanghai, the bench clock), so the same seed
and arguments give the same rows on every machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen_data as shop  # noqa: E402  (the ingest bench's shop: vocabulary and rates)
from sqlalchemy import Engine, text  # noqa: E402

from analytics import rollups  # noqa: E402
from analytics.store.db import make_engine, migrate  # noqa: E402
from analytics.store.models import Complaint, Conversation, Message, Order, Return, Review  # noqa: E402

log = logging.getLogger("gen_scale")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)
CHUNK = 250_000  # conversations per generated chunk
MODELS = {"conversations": Conversation, "messages": Message, "complaints": Complaint, "orders": Order,
          "returns": Return, "reviews": Review}
COLUMNS = {
    "conversations": ["conversation_id", "started_at", "agent", "channel", "shop", "customer_id", "ended_at",
                      "first_response_seconds", "first_response_computed", "resolved", "rating", "transferred"],
    "messages": ["message_id", "conversation_id", "sent_at", "sender", "text", "sentiment", "sentiment_label"],
    "complaints": ["complaint_id", "created_at", "text", "channel", "category", "category_source", "product",
                   "conversation_id", "severity"],
    "orders": ["order_id", "created_at", "customer_id", "channel", "product", "sku", "amount_fen", "quantity"],
    "returns": ["return_id", "order_id", "created_at", "reason", "product", "amount_fen"],
    "reviews": ["review_id", "created_at", "rating", "order_id", "product", "text"],
}
US = 1_000_000


# -- generation (numpy, one chunk of conversations at a time) ---------------------------------------------

class Shop:
    def __init__(self, seed: int, days: int, now: datetime, conversations: int):
        self.rng = np.random.default_rng(seed)
        self.now_us = int(now.timestamp() * US)
        start_local = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.start_us = int(start_local.timestamp() * US)
        day_w = np.array([shop._day_weight(start_local + timedelta(days=d)) for d in range(days + 1)])
        self.day_p = day_w / day_w.sum()
        hour_w = np.array(shop.HOURLY, dtype=float)
        self.hour_p = hour_w / hour_w.sum()
        self.channels = [c for c, _ in shop.CHANNELS]
        self.channel_p = np.array([p for _, p in shop.CHANNELS]) / sum(p for _, p in shop.CHANNELS)
        width = max(len(v) for v in shop.SHOPS.values())
        self.shops = np.array([[*shop.SHOPS[c], *[None] * (width - len(shop.SHOPS[c]))] for c in self.channels],
                              dtype=object)
        self.shop_count = np.array([len(shop.SHOPS[c]) for c in self.channels])
        self.agents = np.array(shop.AGENTS, dtype=object)
        self.agent_speed = self.rng.uniform(8, 60, len(shop.AGENTS))
        self.products = np.array([p for p, _ in shop.PRODUCTS], dtype=object)
        self.prices_fen = np.array([round(price * 100) for _, price in shop.PRODUCTS], dtype=np.int64)
        self.customers = max(1, conversations // 3)
        self.categories = np.array(list(shop.COMPLAINTS), dtype=object)
        self.category_p = np.array([30, 25, 15, 15, 8, 4, 3], dtype=float) / 100
        self.counters = dict.fromkeys(MODELS, 0)

    def times(self, n: int) -> np.ndarray:
        """Local-time seasonality (day weights, hourly curve) as UTC epoch microseconds before ``now``."""
        day = self.rng.choice(len(self.day_p), n, p=self.day_p)
        hour = self.rng.choice(24, n, p=self.hour_p)
        t = self.start_us + (day * 86400 + hour * 3600) * US + self.rng.integers(0, 3600 * US, n)
        late = t >= self.now_us
        t[late] -= 7 * 86400 * US  # the rest of today has not happened yet: fold it back a week
        return t

    def chunk(self, began: np.ndarray) -> dict[str, list[tuple]]:
        """Conversations starting at ``began`` (sorted) and their messages, complaints, orders, returns, reviews."""
        rng, base, n = self.rng, self.counters["conversations"], len(began)
        ch = rng.choice(len(self.channels), n, p=self.channel_p)
        channel = np.array(self.channels, dtype=object)[ch]
        shop_of = self.shops[ch, (rng.random(n) * self.shop_count[ch]).astype(np.int64)]
        ag = rng.integers(0, len(self.agents), n)
        frt = np.maximum(1, rng.lognormal(np.log(self.agent_speed[ag]), 0.8)).astype(np.int64).astype(float)
        has_frt = rng.random(n) < 0.8
        good_p = np.where(frt <= 30, 0.92, np.where(frt <= 120, 0.8, 0.55))
        rated = rng.random(n) < 0.4
        rating = np.where(rng.random(n) < good_p, rng.choice([4, 5, 5], n), rng.choice([1, 2, 3], n))
        resolved = rng.choice(np.array([True, False, None], dtype=object), n, p=[0.85, 0.10, 0.05])
        customer = rng.integers(0, self.customers, n)
        ended = began + (frt.astype(np.int64) + rng.integers(60, 1800, n)) * US
        ids = [f"C{base + i + 1:08d}" for i in range(n)]
        out: dict[str, list[tuple]] = {k: [] for k in MODELS}
        conv_rows = out["conversations"]
        b_s, e_s = _ts(began), _ts(ended)
        for i in range(n):
            conv_rows.append((ids[i], b_s[i], self.agents[ag[i]], channel[i], shop_of[i], f"U{customer[i]:07d}",
                              e_s[i], frt[i] if has_frt[i] else None, False if has_frt[i] else None, resolved[i],
                              int(rating[i]) if rated[i] else None, bool(rng.random() < 0.05)))
        self._messages(out, ids, began, frt, n)
        self._complaints(out, ids, began, channel, n)
        self._orders(out, began, channel, customer, n)
        self.counters["conversations"] += n
        return out

    def _messages(self, out: dict[str, list[tuple]], ids: list[str], began: np.ndarray, frt: np.ndarray,
                  n: int) -> None:
        rng = self.rng
        shape = rng.random(n)  # 30 % one message, 40 % two, 30 % three: 2.0 on average
        follow = rng.random(n) < 0.5
        score = rng.beta(2.2, 1.6, n)  # customer-message sentiment in [0, 1]
        score2 = rng.beta(2.0, 2.0, n)
        q = rng.integers(0, len(shop.QUESTIONS), n)
        r = rng.integers(0, len(shop.REPLIES), n)
        f = rng.integers(0, len(shop.FOLLOW_UPS), n)
        extra = rng.integers(5, 300, n)
        t0, t_reply, t_follow = _ts(began), _ts(began + frt.astype(np.int64) * US), _ts(
            began + (frt.astype(np.int64) + extra) * US)
        rows = out["messages"]
        before = len(rows)
        for i in range(n):
            cid = ids[i]
            rows.append((f"{cid}-1", cid, t0[i], "customer", shop.QUESTIONS[q[i]].format(p="宝贝"),
                         round(float(score[i]), 4), _label(score[i])))
            if shape[i] >= 0.3:
                rows.append((f"{cid}-2", cid, t_reply[i], "agent", shop.REPLIES[r[i]], None, None))
            if shape[i] >= 0.7:
                if follow[i]:
                    rows.append((f"{cid}-3", cid, t_follow[i], "customer", shop.FOLLOW_UPS[f[i]],
                                 round(float(score2[i]), 4), _label(score2[i])))
                else:
                    rows.append((f"{cid}-3", cid, t_reply[i], "bot", "您好，机器人小助手为您服务", None, None))
        self.counters["messages"] += len(rows) - before

    def _complaints(self, out: dict[str, list[tuple]], ids: list[str], began: np.ndarray, channel: np.ndarray,
                    n: int) -> None:
        rng = self.rng
        picked = np.flatnonzero(rng.random(n) < 0.015)
        at = began[picked] + rng.integers(1, 600, len(picked)) * 60 * US
        keep = at < self.now_us
        picked, at = picked[keep], at[keep]
        cat = rng.choice(len(self.categories), len(picked), p=self.category_p)
        prod = rng.integers(0, len(self.products), len(picked))
        has_cat = rng.random(len(picked)) < 0.8
        at_s = _ts(at)
        for j, i in enumerate(picked):
            self.counters["complaints"] += 1
            category = self.categories[cat[j]]
            out["complaints"].append((
                f"P{self.counters['complaints']:08d}", at_s[j], shop.COMPLAINTS[category][0].format(p="宝贝"),
                channel[i], category if has_cat[j] else None, "import" if has_cat[j] else None,
                self.products[prod[j]], ids[i], "一般"))

    def _orders(self, out: dict[str, list[tuple]], began: np.ndarray, channel: np.ndarray, customer: np.ndarray,
                n: int) -> None:
        rng = self.rng
        picked = np.flatnonzero(rng.random(n) < 0.6)
        m = len(picked)
        created = began[picked] + rng.integers(0, 120, m) * 60 * US
        created = np.where(created >= self.now_us, began[picked], created)
        prod = rng.integers(0, len(self.products), m)
        qty = rng.choice([1, 2, 3], m, p=[0.8, 0.15, 0.05])
        amount = self.prices_fen[prod] * qty
        returned = created + rng.integers(1, 10, m) * 86400 * US + rng.integers(0, 86400 * US, m)
        has_return = (rng.random(m) < 0.06) & (returned < self.now_us)
        reviewed = created + rng.integers(2, 15, m) * 86400 * US + rng.integers(0, 86400 * US, m)
        has_review = (rng.random(m) < 0.25) & (reviewed < self.now_us)
        reason = rng.integers(0, len(shop.RETURN_REASONS), m)
        stars = rng.choice([5, 4, 3, 2, 1], m, p=[0.6, 0.2, 0.08, 0.06, 0.06])
        c_s, r_s, v_s = _ts(created), _ts(returned), _ts(reviewed)
        base = self.counters["orders"]
        for j, i in enumerate(picked):
            oid = f"O{base + j + 1:09d}"
            product = self.products[prod[j]]
            out["orders"].append((oid, c_s[j], f"U{customer[i]:07d}", channel[i], product, f"SKU-{prod[j]:03d}",
                                  int(amount[j]), int(qty[j])))
            if has_return[j]:
                self.counters["returns"] += 1
                out["returns"].append((f"R{self.counters['returns']:08d}", oid, r_s[j],
                                       shop.RETURN_REASONS[reason[j]], product, int(amount[j])))
            if has_review[j]:
                self.counters["reviews"] += 1
                out["reviews"].append((f"V{self.counters['reviews']:08d}", v_s[j], int(stars[j]), oid, product,
                                       shop.REVIEW_TEXTS[int(stars[j])][0]))
        self.counters["orders"] += m


def _label(score: float) -> str:
    return "neg" if score < 0.35 else ("pos" if score > 0.65 else "neu")


def _ts(us: np.ndarray) -> list[str]:
    """UTC epoch microseconds as SQLite's stored text ('YYYY-MM-DD HH:MM:SS.ffffff'); PostgreSQL reads it as UTC."""
    text_ = np.datetime_as_string(us.astype("datetime64[us]"), unit="us")
    return [s.replace("T", " ") for s in text_.tolist()]


# -- loading ---------------------------------------------------------------------------------------------

def _secondary_indexes(kind: str) -> list[Any]:
    return list(MODELS[kind].__table__.indexes)  # type: ignore[attr-defined]


def load(engine: Engine, gen: Shop, total: int) -> dict[str, int]:
    """Generate ``total`` conversations (and everything that goes with them) into empty tables."""
    with engine.begin() as conn:
        for kind in MODELS:
            if conn.execute(text(f"SELECT 1 FROM {kind} LIMIT 1")).first() is not None:
                raise SystemExit(f"{kind} is not empty: generate into a fresh database")
            for index in _secondary_indexes(kind):
                index.drop(conn)
    writer = _PgWriter(engine) if engine.dialect.name == "postgresql" else _SqliteWriter(engine)
    # Conversations in time order, as a CS system exports them and an import stores them: the raw
    # tables' physical order follows time, which keeps the raw-scan baseline of the bench honest.
    began_all = np.sort(gen.times(total))
    done = 0
    with writer:
        while done < total:
            n = min(CHUNK, total - done)
            started = time.perf_counter()
            for kind, rows in gen.chunk(began_all[done:done + n]).items():
                writer.write(kind, rows)
            done += n
            log.info("%d / %d conversations (%.1f s for this chunk)", done, total, time.perf_counter() - started)
    started = time.perf_counter()
    with engine.begin() as conn:
        for kind in MODELS:
            for index in _secondary_indexes(kind):
                index.create(conn)
    log.info("indexes built in %.1f s", time.perf_counter() - started)
    return dict(gen.counters)


class _SqliteWriter:
    def __init__(self, engine: Engine):
        self.pooled = engine.raw_connection()
        self.raw = self.pooled.driver_connection

    def __enter__(self) -> _SqliteWriter:
        self.raw.execute("PRAGMA synchronous=OFF")
        return self

    def write(self, kind: str, rows: list[tuple]) -> None:
        cols = COLUMNS[kind]
        self.raw.executemany(f"INSERT INTO {kind} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
        self.raw.commit()

    def __exit__(self, *exc: object) -> None:
        self.raw.execute("PRAGMA synchronous=NORMAL")
        self.pooled.close()


class _PgWriter:
    def __init__(self, engine: Engine):
        self.raw = engine.raw_connection()

    def __enter__(self) -> _PgWriter:
        self.raw.driver_connection.execute("SET TIME ZONE 'UTC'")  # the generated text times are UTC
        return self

    def write(self, kind: str, rows: list[tuple]) -> None:
        with self.raw.driver_connection.cursor() as cur, cur.copy(
                f"COPY {kind} ({', '.join(COLUMNS[kind])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.raw.driver_connection.commit()

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # visibility map for index-only scans, planner statistics
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def _create_pg_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def iter_summary(counts: dict[str, int]) -> Iterator[str]:
    for kind, n in counts.items():
        yield f"{kind:14s} {n:>12,d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of a fresh database")
    parser.add_argument("--conversations", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", default=NOW.isoformat(), help="end of the data (ISO time with offset)")
    parser.add_argument("--create", action="store_true", help="PostgreSQL: drop and create the database first")
    parser.add_argument("--no-rollups", action="store_true", help="skip the rollup rebuild")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.create and args.db.startswith("postgresql"):
        _create_pg_database(args.db)
    if args.db.startswith("sqlite:///"):
        path = Path(args.db[len("sqlite:///"):])
        if path.exists():
            raise SystemExit(f"{path} exists: generate into a fresh file")
    engine = make_engine(args.db)
    migrate(engine)
    started = time.perf_counter()
    counts = load(engine, Shop(args.seed, args.days, datetime.fromisoformat(args.now), args.conversations),
                  args.conversations)
    loaded = time.perf_counter() - started
    _analyze(engine)
    for line in iter_summary(counts):
        log.info(line)
    log.info("generated and loaded in %.1f s (ANALYZE included: %.1f s)", loaded, time.perf_counter() - started)
    if not args.no_rollups:
        started = time.perf_counter()
        built = rollups.rebuild(engine)
        log.info("rollups rebuilt in %.1f s: %s", time.perf_counter() - started, built)
        _analyze(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
