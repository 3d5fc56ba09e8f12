"""Mixed load on a real ``csbot serve``: signed DingTalk callbacks and event-API batches, 200 at once.

The server is a subprocess on loopback (SQLite in a temporary directory, a small seeded demo data
set), its ``[dingtalk]`` pointed at the local fake DingTalk that receives the replies. Each round
fires ``--concurrency`` requests at the same moment, half signed robot callbacks (``/帮助`` and
``/投诉 今天``, every one a new msgId) and half ``POST /api/v1/events`` batches of
``--batch`` conversation records; it reports p50/p99 of the time to each HTTP answer (the ack), the
number of 5xx (must be 0), the server's RSS before and after, and whether every callback was
answered at the fake. Then, unless ``--no-schemathesis``, schemathesis runs ``docs/openapi.yaml``
against the same live server (the event API contract, positive and negative cases).

    PYTHONPATH=. python bench/server/bench_load.py                  # 2 rounds x 200, then schemathesis
    PYTHONPATH=. python bench/server/bench_load.py --rounds 1 --no-schemathesis --json out.json
    PYTHONPATH=. python bench/server/bench_load.py --no-schemathesis --pg postgresql://postgres@127.0.0.1:5432

The whole run stays under two minutes on the shared 2-CPU machine (see bench/server/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ack import dingtalk_section, free_port, pct, wait_healthy  # noqa: E402

from tests.fakes.dingtalk_client import body, callback_payload, signed_headers  # noqa: E402
from tests.fakes.dingtalk_server import FakeDingTalk  # noqa: E402

TOKEN = "bench-load-token-0123456789abcdef"
COMMANDS = ["/帮助", "/投诉 今天"]
ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp: Path, fake: FakeDingTalk, port: int, db_url: str | None = None) -> Path:
    cfg = tmp / "config.toml"
    url = db_url or f"sqlite:///{tmp / 'bench.db'}"
    cfg.write_text(f"""
[general]
data_dir = "{tmp / 'data'}"
[database]
url = "{url}"
[server]
host = "127.0.0.1"
port = {port}
[ingest]
tokens = ["{TOKEN}"]
{dingtalk_section(fake)}""", encoding="utf-8")
    return cfg


def pg_admin(sql: str, server: str) -> None:
    """One statement on the PostgreSQL server's ``postgres`` database, autocommit (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def records(round_no: int, i: int, n: int) -> list[dict]:
    return [{"conversation_id": f"load-{round_no}-{i}-{k}", "started_at": "2026-11-25 10:00:00", "agent": "小王",
             "channel": "淘宝", "rating": 1 + (i + k) % 5} for k in range(n)]


async def one_round(http: aiohttp.ClientSession, url: str, fake: FakeDingTalk, args: argparse.Namespace,
                    rnd: random.Random, round_no: int) -> dict:
    half = args.concurrency // 2
    callbacks = [callback_payload(fake, rnd.choice(COMMANDS), staff_id=f"load{round_no}-{i}",
                                  conversation_id=f"cidLoad{i % 20}==", msg_id=f"load-{round_no}-{i}")
                 for i in range(half)]
    batches = [json.dumps({"kind": "conversations", "records": records(round_no, i, args.batch)},
                          ensure_ascii=False).encode() for i in range(args.concurrency - half)]

    async def post(path: str, data: bytes, headers: dict[str, str]) -> tuple[str, int, float]:
        started = time.perf_counter()
        async with http.post(url + path, data=data, headers=headers) as resp:
            await resp.read()
            return path, resp.status, time.perf_counter() - started

    api_headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    jobs = [post("/dingtalk/callback", body(p), signed_headers(fake.app_secret)) for p in callbacks]
    jobs += [post("/api/v1/events", b, api_headers) for b in batches]
    rnd.shuffle(jobs)
    results = await asyncio.gather(*jobs)
    out: dict = {"5xx": sum(s >= 500 for _, s, _ in results), "statuses": sorted({s for _, s, _ in results})}
    for path, name in (("/dingtalk/callback", "callback"), ("/api/v1/events", "events")):
        times = [dt for p, _, dt in results if p == path]
        out[f"{name}_p50_ms"] = pct(times, 0.5) * 1000
        out[f"{name}_p99_ms"] = pct(times, 0.99) * 1000
    return out


def run_schemathesis(url: str, examples: int, seed: int) -> dict:
    st = shutil.which("schemathesis") or shutil.which("st")
    if st is None:
        return {"skipped": "schemathesis is not installed (pip install schemathesis)"}
    cmd = [st, "run", str(ROOT / "docs" / "openapi.yaml"), "--url", url, "-H", f"Authorization: Bearer {TOKEN}",
           "--max-examples", str(examples), "--seed", str(seed), "--checks", "all", "--max-time", "30",
           "--workers", "1"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:  # schemathesis keeps a .schemathesis/ cache in its cwd
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    first = next((i for i, line in enumerate(lines) if line.startswith("Test Phases")), max(0, len(lines) - 12))
    failures = [line for line in lines if "❌" in line or "Failed" in line or "Curl" in line or "curl " in line]
    return {"exit": proc.returncode, "seconds": round(time.monotonic() - started, 1), "summary": lines[first:],
            "failure_lines": [line[:300] for line in failures[:20]]}


async def run(args: argparse.Namespace) -> dict:
    rnd = random.Random(args.seed)
    started = time.monotonic()
    db_url = None
    if args.pg:  # a throwaway database, dropped at the end
        db_name = f"csbot_bench_load_{os.getpid()}"
        await asyncio.to_thread(pg_admin, f'CREATE DATABASE "{db_name}"', args.pg)
        db_url = f"{args.pg}/{db_name}"
    try:
        return await _run(args, rnd, started, db_url)
    finally:
        if args.pg:
            await asyncio.to_thread(pg_admin, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)', args.pg)


async def _run(args: argparse.Namespace, rnd: random.Random, started: float, db_url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        async with FakeDingTalk() as fake:
            port = free_port()
            cfg = write_config(tmp, fake, port, db_url)
            demo = [sys.executable, "-m", "bot.cli", "--config", str(cfg), "demo", "--no-chat", "--days",
                    str(args.days), "--seed", str(args.seed), "--scale", str(args.scale)]
            await asyncio.to_thread(subprocess.run, demo, check=True, stdout=subprocess.DEVNULL)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "--config", str(cfg), "serve",
                                                        env=env, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            try:
                await wait_healthy(url, proc)
                rss_before = rss_mib(proc.pid)
                rounds = []
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                    for r in range(args.rounds):
                        result = await one_round(http, url, fake, args, rnd, r)
                        rounds.append(result)
                        print(f"round {r + 1}: statuses {result['statuses']} 5xx {result['5xx']}  callback ack p50 "
                              f"{result['callback_p50_ms']:.0f} ms p99 {result['callback_p99_ms']:.0f} ms  events "
                              f"p50 {result['events_p50_ms']:.0f} ms p99 {result['events_p99_ms']:.0f} ms", flush=True)
                expected = args.rounds * (args.concurrency // 2)
                try:
                    await fake.wait_for(lambda: len(fake.texts()) >= expected, within=args.answer_wait)
                    answered = True
                except AssertionError:
                    answered = False
                rss_after = rss_mib(proc.pid)
                schema = {"skipped": "--no-schemathesis"} if args.no_schemathesis else \
                    await asyncio.to_thread(run_schemathesis, url, args.examples, args.seed)
            finally:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 60)
    summary = {
        "requests": args.rounds * args.concurrency, "5xx": sum(r["5xx"] for r in rounds),
        "callback_p50_ms": pct([r["callback_p50_ms"] for r in rounds], 0.5),
        "callback_p99_ms": max(r["callback_p99_ms"] for r in rounds),
        "events_p50_ms": pct([r["events_p50_ms"] for r in rounds], 0.5),
        "events_p99_ms": max(r["events_p99_ms"] for r in rounds),
        "answered": f"{len(fake.texts())}/{expected}" + ("" if answered else " (not all within the wait)"),
        "rss_before_mib": round(rss_before, 1), "rss_after_mib": round(rss_after, 1),
        "wall_s": round(time.monotonic() - started, 1), "loadavg": os.getloadavg()[0], "cpus": os.cpu_count(),
    }
    print(json.dumps(summary, ensure_ascii=False))
    print("schemathesis:", json.dumps(schema, ensure_ascii=False, indent=1))
    return {"args": vars(args), "rounds": rounds, "summary": summary, "schemathesis": schema}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--batch", type=int, default=20, help="records per event batch")
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--answer-wait", type=float, default=40.0, help="seconds to wait for the replies at the fake")
    ap.add_argument("--examples", type=int, default=100, help="schemathesis examples per operation and phase")
    ap.add_argument("--no-schemathesis", action="store_true")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--pg", metavar="SERVER", help="run on a throwaway PostgreSQL database created (and dropped) "
                    "on this server, e.g. postgresql://postgres@127.0.0.1:5432")
    args = ap.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
