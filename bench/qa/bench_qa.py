"""/质检 read speed at a year of a large shop, from the stored findings.

The answer reads ``qa_sums`` (UTC month rows for whole months, day rows for whole days, hour rows for the rest) and the raw
``qa_conversations`` / ``qa_findings`` rows of the partial edge hours and of the examples. Their sizes
depend on days × agents × rules and on the conversations of the last hours, not on the year's total, so
this bench writes those tables directly, at the density of ``--conversations`` a year (default 5M) —
hour, day and month sums for the whole year, raw rows for the last ``--raw-days`` days — instead of importing
5M conversations (the import itself is measured in docs/qa.md). Then it times whole chat answers::

    python bench/qa/bench_qa.py --db sqlite:////tmp/qa_bench.db
    python bench/qa/bench_qa.py --db postgresql+psycopg://postgres@127.0.0.1:5432/csbot_qa_bench

Prints p50 / p95 over ``--runs`` calls per command (after one warm-up call).

``--scripts`` times ``/质检 话术`` instead, on a database holding real messages — the scale bench's year
(``bench/scale/gen_scale.py``; nothing is written, the clock is that data's end)::

    python bench/qa/bench_qa.py --db sqlite:////tmp/scale5m.db --scripts --backfill --runs 20 --cold 10

(``--backfill`` once: the generator loads rows past the import's 质检 step, so ``qa_scripts`` is filled
first, by the code migration 0017 runs.)

warm: p50 / p95 of ``--runs`` calls in this process after one warm-up call; cold: ``--cold`` fresh
processes, each building the bot and timing its first call (so the libraries the answer needs — numpy,
scipy, jieba's dictionary — load inside it, as in a server's first call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete, insert

from analytics.qa import RULES, WEIGHTS
from analytics.store.db import open_database
from analytics.store.models import Conversation, Message
from analytics.store.qa import QAConversation, QAFinding, QASum
from bot.app import Bot
from bot.config import Settings

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 15, 37, tzinfo=TZ)
# Per-rule rates like the demo's (no_closing is common, impolite rare).
RATES = {"no_closing": 0.5, "slow_first_response": 0.2, "negative_end": 0.18, "no_greeting": 0.13,
         "broken_promise": 0.015, "impolite": 0.01, "repeat_contact": 0.012, "long_gap": 0.009, "transfer_bounce": 0.007}


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


def fill(engine, conversations: int, agents: int, raw_days: int, seed: int) -> None:  # noqa: ANN001
    rng = random.Random(seed)
    draws = np.random.default_rng(seed)
    names = [f"客服{i:02d}" for i in range(agents)]
    start = datetime(2026, 1, 1, tzinfo=TZ).astimezone(UTC)
    end = NOW.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    per_hour = conversations / 8760 / agents
    raw_from = end - timedelta(days=raw_days)
    with engine.begin() as conn:
        for t in (QASum, QAFinding, QAConversation):
            conn.execute(delete(t.__table__))
        conn.execute(delete(Message.__table__))
        conn.execute(delete(Conversation.__table__))
    hour, n_conv, sums, days = start, 0, [], {}
    while hour < end:
        convs, finds, heads = [], [], []
        for agent in names:
            n = max(0, round(rng.gauss(per_hour, per_hour ** 0.5)))
            counts = {rule: int(draws.binomial(n, RATES[rule])) for rule in RULES}
            score_sum = 100 * n - sum(WEIGHTS[r] * c for r, c in counts.items())
            for grain, bucket in (("hour", hour), ("day", hour.replace(hour=0))):
                key = (grain, bucket, agent)
                row = days.setdefault(key, {"": [0, 0], **{r: [0, 0] for r in RULES}}) if grain == "day" else None
                if row is None:
                    sums.append({"grain": grain, "bucket": bucket, "agent": agent, "rule": "", "n": n, "score_sum": score_sum})
                    sums += [{"grain": grain, "bucket": bucket, "agent": agent, "rule": r, "n": c, "score_sum": 0}
                             for r, c in counts.items() if c]
                else:
                    row[""][0] += n
                    row[""][1] += score_sum
                    for r, c in counts.items():
                        row[r][0] += c
            if hour >= raw_from:
                for _ in range(n):
                    n_conv += 1
                    cid, at = f"b{n_conv}", hour + timedelta(seconds=rng.randrange(3600))
                    rules = [r for r in RULES if rng.random() < RATES[r]]
                    heads.append({"conversation_id": cid, "started_at": at, "agent": agent, "customer_id": None,
                                  "last_at": at, "resolved": True, "last_customer_message": None,
                                  "score": 100 - sum(WEIGHTS[r] for r in rules), "rules": ",".join(rules)})
                    convs.append({"conversation_id": cid, "started_at": at, "agent": agent})
                    finds += [{"conversation_id": cid, "rule": r, "started_at": at, "agent": agent,
                               "message_ids": [f"{cid}-m"], "detail": ""} for r in rules]
        with engine.begin() as conn:
            for table, rows in ((QAConversation, heads), (QAFinding, finds), (Conversation, convs)):
                if rows:
                    conn.execute(insert(table.__table__), rows)
            if finds:
                conn.execute(insert(Message.__table__), [{"message_id": f"{c['conversation_id']}-m",
                             "conversation_id": c["conversation_id"], "sent_at": c["started_at"], "sender": "agent",
                             "text": "亲，您好，付款后48小时内发货"} for c in convs])
            if len(sums) > 20000 or hour + timedelta(hours=1) >= end:
                conn.execute(insert(QASum.__table__), sums)
                sums = []
        hour += timedelta(hours=1)
    with engine.begin() as conn:
        day_rows = [{"grain": "day", "bucket": b, "agent": a, "rule": r, "n": v[0], "score_sum": v[1]}
                    for (_, b, a), row in days.items() for r, v in row.items() if v[0] or r == ""]
        months: dict[tuple, list[int]] = {}
        for d in day_rows:
            m = months.setdefault((d["bucket"].replace(day=1), d["agent"], d["rule"]), [0, 0])
            m[0] += d["n"]
            m[1] += d["score_sum"]
        day_rows += [{"grain": "month", "bucket": b, "agent": a, "rule": r, "n": n, "score_sum": s}
                     for (b, a, r), (n, s) in months.items() if n > 0]
        for i in range(0, len(day_rows), 20000):
            conn.execute(insert(QASum.__table__), day_rows[i:i + 20000])
        conn.exec_driver_sql("ANALYZE")
    _say(f"filled: a year of sums for {agents} agents at {conversations:,} conversations a year; "
         f"{n_conv:,} raw conversations in the last {raw_days} days")


SCALE_NOW = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)  # gen_scale.py's data end
SCRIPT_TEXTS = ("/质检 话术 今天", "/质检 话术 上周", "/质检 话术 近30天", "/质检 话术 今年")


def _p95(times: list[float]) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def _first_call(db: str, text: str) -> float:
    """In a fresh process: build the bot, time its first answer to ``text`` (ms)."""
    engine = open_database(db)
    bot = Bot(Settings(), engine, clock=lambda: SCALE_NOW)
    t0 = time.perf_counter()
    reply = asyncio.run(bot.ask(text))
    ms = (time.perf_counter() - t0) * 1000
    assert reply is not None and reply.ok, reply
    return ms


def bench_scripts(db: str, runs: int, cold: int, backfill: bool) -> None:
    engine = open_database(db)
    if backfill:  # gen_scale.py loads rows directly, past the import's 质检 step: fill qa_scripts as 0017 does
        from analytics.qa.scripts import backfill as fill_scripts

        t0 = time.perf_counter()
        with engine.begin() as conn:
            n = fill_scripts(conn)
        sys.stdout.write(f"qa_scripts filled: {n:,} conversations with a question and a reply in "
                         f"{time.perf_counter() - t0:.0f} s\n")
    bot = Bot(Settings(), engine, clock=lambda: SCALE_NOW)
    for text in SCRIPT_TEXTS:
        firsts = []
        for _ in range(cold):
            out = subprocess.run([sys.executable, __file__, "--db", db, "--first-call", text], check=True,
                                 capture_output=True, text=True).stdout
            firsts.append(json.loads(out.strip().splitlines()[-1])["ms"])
        reply = asyncio.run(bot.ask(text))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            reply = asyncio.run(bot.ask(text))
            times.append((time.perf_counter() - t0) * 1000)
            assert reply is not None and reply.ok, reply
        read = next((line for line in reply.text.splitlines() if line.startswith("读取")), "").split("；")[0]
        cold_part = (f"\tcold p50 {statistics.median(firsts):.0f} ms p95 {_p95(firsts):.0f} ms" if firsts else "")
        sys.stdout.write(f"{text}\twarm p50 {statistics.median(times):.1f} ms p95 {_p95(times):.1f} ms"
                         f"{cold_part}\t{read}\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--conversations", type=int, default=5_000_000)
    p.add_argument("--agents", type=int, default=30)
    p.add_argument("--raw-days", type=int, default=2)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-fill", action="store_true", help="reuse the tables of a previous run")
    p.add_argument("--scripts", action="store_true", help="time /质检 话术 on a gen_scale database (no fill)")
    p.add_argument("--cold", type=int, default=5, help="--scripts: fresh processes timed per command")
    p.add_argument("--backfill", action="store_true",
                   help="--scripts: first fill qa_scripts from the stored messages (a gen_scale database)")
    p.add_argument("--first-call", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.first_call:
        sys.stdout.write(json.dumps({"ms": _first_call(args.db, args.first_call)}) + "\n")
        return 0
    if args.scripts:
        bench_scripts(args.db, args.runs, args.cold, args.backfill)
        return 0
    engine = open_database(args.db)
    if not args.no_fill:
        fill(engine, args.conversations, args.agents, args.raw_days, args.seed)
    bot = Bot(Settings(), engine, clock=lambda: NOW)
    for text in ("/质检 今天", "/质检 本周", "/质检 本月", "/质检 今年", "/质检 客服=客服07 今年"):
        asyncio.run(bot.ask(text))
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            reply = asyncio.run(bot.ask(text))
            times.append((time.perf_counter() - t0) * 1000)
            assert reply is not None and reply.ok, reply
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        sys.stdout.write(f"{text}\tp50 {statistics.median(times):.1f} ms\tp95 {p95:.1f} ms\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
