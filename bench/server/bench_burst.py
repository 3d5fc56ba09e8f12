"""The issue-17 chart burst: 2,000 signed DingTalk callbacks asking for charts, 100 in flight at a time.

A real ``csbot serve`` on loopback (the config and demo data of ``bench_ack.py``: SQLite, or a
throwaway PostgreSQL database with ``--pg``), its ``[dingtalk]`` pointed at the fake DingTalk.
Reports the ack p50/p99 and statuses, how the bounded backlog answered past ``[server]
max_pending_commands`` (the server's ``csbot_callbacks_total`` outcomes: accepted vs overloaded, the
overloaded ones answered 200 + a 稍后 reply through the outbox), how far the real replies fell behind
the last ack, and the server's RSS before and after.

    PYTHONPATH=. python bench/server/bench_burst.py
    PYTHONPATH=. python bench/server/bench_burst.py --pg postgresql://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ack import free_port, make_demo, pct, post_callback, wait_healthy, write_config  # noqa: E402
from bench_load import pg_admin, rss_mib  # noqa: E402

from tests.fakes.dingtalk_client import callback_payload  # noqa: E402
from tests.fakes.dingtalk_server import FakeDingTalk  # noqa: E402

CHART_COMMANDS = ["/满意度 本周", "/解决率 上周", "/首响 昨天 渠道=淘宝", "/退货率 本月", "/复购率 本月"]


async def outcomes(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        text = await resp.text()
    out: dict[str, float] = {}
    for m in re.finditer(r'^csbot_callbacks_total\{[^}]*outcome="([^"]+)"[^}]*\} ([0-9.e+]+)$', text, re.M):
        out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(2))
    return out


async def burst(args: argparse.Namespace, db_url: str | None) -> dict:
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        async with FakeDingTalk() as fake:
            port = free_port()
            cfg = write_config(tmp, fake, port)
            if db_url:
                text = cfg.read_text(encoding="utf-8")
                cfg.write_text(re.sub(r'url = "sqlite:[^"]*"', f'url = "{db_url}"', text), encoding="utf-8")
            await asyncio.to_thread(make_demo, cfg, args.days, args.seed)
            env = {**os.environ, "PYTHONPATH": os.getcwd()}
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "--config", str(cfg), "serve",
                                                        env=env, stderr=asyncio.subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            try:
                await wait_healthy(url, proc)
                rss_before = rss_mib(proc.pid)
                gate = asyncio.Semaphore(args.concurrency)
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                    async def fire(i: int) -> tuple[int, float]:
                        payload = callback_payload(fake, rnd.choice(CHART_COMMANDS), staff_id=f"burst-{i}",
                                                   conversation_id=f"cidBurst{i % 20}==", msg_id=f"burst-{i}")
                        async with gate:
                            return await post_callback(http, url, payload, fake.app_secret)

                    t0 = time.monotonic()
                    results = await asyncio.gather(*(fire(i) for i in range(args.callbacks)))
                    last_ack = time.monotonic() - t0
                counts = await outcomes(url)
                accepted = int(counts.get("accepted", 0))
                try:
                    await fake.wait_for(lambda: len(fake.texts()) >= accepted, within=args.answer_wait)
                except AssertionError:
                    pass
                rss_after = rss_mib(proc.pid)
                replies = sorted(s.at - t0 for s in fake.texts())
            finally:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 90)
    acks = [dt for _, dt in results]
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "callbacks": args.callbacks, "concurrency": args.concurrency, "statuses": statuses,
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "ack_p50_ms": round(pct(acks, 0.5) * 1000), "ack_p99_ms": round(pct(acks, 0.99) * 1000),
        "ack_max_ms": round(max(acks) * 1000), "last_ack_s": round(last_ack, 1), "outcomes": counts,
        "replies_at_fake": len(replies), "reply_p50_s": round(pct(replies, 0.5), 1) if replies else None,
        "last_reply_s": round(replies[-1], 1) if replies else None,
        "replies_behind_last_ack_s": round(replies[-1] - last_ack, 1) if replies else None,
        "rss_before_mib": round(rss_before, 1), "rss_after_mib": round(rss_after, 1),
        "loadavg": os.getloadavg()[0], "cpus": os.cpu_count(),
    }


async def run(args: argparse.Namespace) -> dict:
    if not args.pg:
        return await burst(args, None)
    name = f"csbot_bench_burst_{os.getpid()}"
    await asyncio.to_thread(pg_admin, f'CREATE DATABASE "{name}"', args.pg)
    try:
        return await burst(args, f"{args.pg}/{name}")
    finally:
        await asyncio.to_thread(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', args.pg)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--callbacks", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--answer-wait", type=float, default=240.0, help="seconds to wait for the accepted replies")
    ap.add_argument("--pg", metavar="SERVER", help="a throwaway database on this PostgreSQL server")
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
