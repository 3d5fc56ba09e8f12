"""Ack latency of ``POST /dingtalk/callback`` under 200 concurrent signed callbacks on loopback.

What runs: the real ``csbot serve`` (a subprocess, so the load generator does not share its event
loop) on a seeded demo database, with ``[dingtalk]`` pointed at the local fake DingTalk
(tests/fakes/dingtalk_server.py) that receives the replies. Each round fires N callbacks at once
(different users and chats, commands drawn with a fixed seed), measures the time from sending
each request to its HTTP response (the ack), then waits until every reply has arrived at the
fake's sessionWebhook and measures that too.

    PYTHONPATH=. python bench/server/bench_ack.py                # 5 rounds x 200
    PYTHONPATH=. python bench/server/bench_ack.py --ack-only      # baseline: acks with no command work
    PYTHONPATH=. python bench/server/bench_ack.py --rounds 3 --concurrency 500 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk

COMMANDS = ["/满意度 本周", "/投诉 今天", "/首响 昨天 渠道=淘宝", "/解决率 上周", "/退货率 本月", "本周满意度多少",
            "/复购率 本月", "/差评 近7天", "/帮助", "昨天淘宝的投诉"]
DEADLINE_S = 3.0  # acknowledge well inside the callback timeout (see README)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def server_side(url: str) -> dict:
    """Handler time of the callback route from the server's own histogram (excludes socket queueing)."""
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        text = await resp.text()
    route = 'route="/dingtalk/callback"'
    buckets: list[tuple[float, float]] = []
    total = count = 0.0
    for line in text.splitlines():
        if route not in line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        if name.startswith("csbot_http_request_seconds_bucket"):
            le = name.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(value)))
        elif name.startswith("csbot_http_request_seconds_sum"):
            total = float(value)
        elif name.startswith("csbot_http_request_seconds_count"):
            count = float(value)

    def upper(q: float) -> float:
        return next(le for le, c in sorted(buckets) if c >= q * count)

    return {"handler_mean_ms": total / count * 1000, "handler_p50_le_ms": upper(0.5) * 1000,
            "handler_p99_le_ms": upper(0.99) * 1000, "requests": count}


def dingtalk_section(fake: FakeDingTalk) -> str:
    """The ``[dingtalk]`` config of a csbot pointed at the local fake (the benches' shared part)."""
    return f"""[dingtalk]
app_key = "{fake.app_key}"
app_secret = "{fake.app_secret}"
robot_code = "{fake.robot_code}"
api_base = "{fake.base_url}"
oapi_base = "{fake.base_url}"
"""


def write_config(tmp: Path, fake: FakeDingTalk, port: int) -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(f"""
[general]
data_dir = "{tmp / 'data'}"
[database]
url = "sqlite:///{tmp / 'bench.db'}"
[server]
host = "127.0.0.1"
port = {port}
{dingtalk_section(fake)}""", encoding="utf-8")
    return cfg


async def post_callback(http: aiohttp.ClientSession, url: str, payload: dict, secret: str) -> tuple[int, float]:
    """POST one signed DingTalk callback; (status, seconds to the answer)."""
    started = time.perf_counter()
    async with http.post(url + "/dingtalk/callback", data=body(payload), headers=signed_headers(secret)) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - started


def make_demo(cfg: Path, days: int, seed: int) -> None:
    cmd = [sys.executable, "-m", "bot.cli", "--config", str(cfg), "demo", "--no-chat", "--days", str(days),
           "--seed", str(seed), "--scale", "0.5"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if proc.returncode is not None:
                raise SystemExit("csbot serve exited early")
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("csbot serve did not come up")


async def one_round(url: str, fake: FakeDingTalk, n: int, rnd: random.Random, round_no: int,
                    mentioned: bool = True) -> dict:
    payloads = [callback_payload(fake, rnd.choice(COMMANDS), staff_id=f"staff{round_no}-{i}", mentioned=mentioned,
                                 conversation_id=f"cidBench{i % 20}==", msg_id=f"bench-{round_no}-{i}")
                for i in range(n)]
    already = len(fake.texts())
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        t0 = time.monotonic()
        results = await asyncio.gather(*(post_callback(http, url, p, fake.app_secret) for p in payloads))
        acked = time.monotonic()
        if mentioned:
            await fake.wait_for(lambda: len(fake.texts()) >= already + n, within=600)
    replies = sorted(s.at - t0 for s in fake.texts()[already:]) or [float("nan")]
    acks = [dt for _, dt in results]
    return {"statuses": sorted({s for s, _ in results}), "ack_p50_ms": pct(acks, 0.5) * 1000,
            "ack_p99_ms": pct(acks, 0.99) * 1000, "ack_max_ms": max(acks) * 1000,
            "all_acked_s": acked - t0, "within_deadline": sum(dt <= DEADLINE_S for dt in acks),
            "reply_p50_s": pct(replies, 0.5), "reply_p99_s": pct(replies, 0.99), "last_reply_s": replies[-1]}


async def run(args: argparse.Namespace) -> dict:
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        async with FakeDingTalk() as fake:
            port = free_port()
            cfg = write_config(tmp, fake, port)
            print(f"generating {args.days} days of demo data (seed {args.seed}) …", flush=True)
            await asyncio.to_thread(make_demo, cfg, args.days, args.seed)
            env = {**os.environ, "PYTHONPATH": os.getcwd()}
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "--config", str(cfg), "serve",
                                                        env=env)
            url = f"http://127.0.0.1:{port}"
            try:
                await wait_healthy(url, proc)
                rounds = []
                for r in range(args.rounds):
                    result = await one_round(url, fake, args.concurrency, rnd, r, mentioned=not args.ack_only)
                    rounds.append(result)
                    print(f"round {r + 1}: statuses {result['statuses']}  ack p50 {result['ack_p50_ms']:.1f} ms  "
                          f"p99 {result['ack_p99_ms']:.1f} ms  max {result['ack_max_ms']:.1f} ms  "
                          f"within {DEADLINE_S:g}s {result['within_deadline']}/{args.concurrency}  "
                          f"replies p50 {result['reply_p50_s']:.2f} s  p99 {result['reply_p99_s']:.2f} s", flush=True)
                handler = await server_side(url)
                print(f"server-side handler time over {handler['requests']:.0f} callbacks: mean "
                      f"{handler['handler_mean_ms']:.2f} ms, p50 <= {handler['handler_p50_le_ms']:g} ms, "
                      f"p99 <= {handler['handler_p99_le_ms']:g} ms (histogram buckets)", flush=True)
            finally:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 60)
    summary = {k: statistics.median(r[k] for r in rounds) for k in ("ack_p50_ms", "ack_p99_ms", "ack_max_ms",
                                                                     "reply_p50_s", "reply_p99_s")}
    print("median over rounds: " + ", ".join(f"{k} {v:.2f}" for k, v in summary.items()))
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return {"args": vars(args), "rounds": rounds, "median": summary, "server_side": handler,
            "loadavg": os.getloadavg(), "cpus": os.cpu_count()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ack-only", action="store_true",
                    help="baseline: group messages that do not @ the bot (verified, parsed, acked, no command runs)")
    ap.add_argument("--json", help="write the per-round results here")
    args = ap.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
