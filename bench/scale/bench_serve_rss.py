"""Peak RSS of ``csbot serve`` while it answers every chat command over 今天/本周/本月/今年 (charts
included), and the latency its users see, through the signed DingTalk callback.

    python bench/scale/bench_serve_rss.py --db sqlite:///bench/data/scale/scale.db \\
        --json bench/scale/results/rss_sqlite_5m.json
    python bench/scale/bench_serve_rss.py --db postgresql+psycopg://postgres@127.0.0.1:5432/csbot_scale_bench

What runs: ``csbot serve`` (``bot.cli.main(["--config", cfg, "serve"])``) in a subprocess, with
``[dingtalk]`` pointed at the local fake DingTalk (tests/fakes/dingtalk_server.py, as
bench/server/bench_ack.py does) and ``server.public_base_url`` at the server itself, so charts go
out as signed ``/charts/{id}.png`` links that the client then downloads. ``[access]`` has no rate
limit; messages are 1:1 (the sensitive /客服 is allowed there).

``csbot serve`` has no clock setting, so the subprocess is this script in ``--serve-child`` mode:
it fixes ``Bot.now`` to the bench clock 2026-11-25 15:30 Asia/Shanghai (the data's end) and then
runs the real ``csbot serve``. By default it also keeps the benchmarked database read-only: no
migration on start (``/readyz`` must then report the schema at the code's heads), audit rows are
not written (the policy's checks still run), and the outbox table lives in a scratch SQLite file.
``--allow-writes`` serves exactly as ``csbot serve`` does (clock aside) — for scratch databases.

Load: a round sends every command text of bench_commands.py (× periods) once. First ``--sequential``
rounds one at a time (the first is "cold": each command's first call in this server; the others
give the latency without queueing), then ``--rounds`` rounds with at most ``--concurrency`` in
flight (a callback is in flight from its POST until its reply reached the fake's sessionWebhook
and its chart images were downloaded). Client latency = POST → reply at the fake (``reply``) and
→ last chart image downloaded (``with_images``).

RSS: ``VmRSS`` of the server process from /proc every ``--interval`` s (plus any child processes:
the chart pool is threads, so there are none unless that changes), ``VmHWM`` at the end. Idle =
after /healthz answers and 2 s of quiet, before any command; settled = 2 s after the last round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[2]
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
KB = 1024
CODE: dict[str, Any] = {}


# ---------------------------------------------------------------- server side (--serve-child)

def serve_child(config: str, allow_writes: bool, scratch: str) -> int:
    """``csbot serve`` with the bench clock (and, unless ``allow_writes``, without writing the database)."""
    import bot.app
    from bot import cli

    bot.app.Bot.now = lambda self: NOW  # type: ignore[method-assign]
    if not allow_writes:
        import logging

        from analytics.store import db
        from bot.access import AccessPolicy
        from bot.delivery import outbox

        scratch_engine = db.open_database(f"sqlite:///{scratch}")  # migrated scratch DB for the outbox only
        db.open_database = lambda url, *, echo=False: db.make_engine(url, echo=echo)  # no migration

        def audit_to_log(self: AccessPolicy, entry: Any) -> None:
            logging.getLogger("bench.audit").debug("audit %s %s", entry.command, entry.result)

        AccessPolicy._write = audit_to_log  # type: ignore[method-assign]
        original_init = outbox.Outbox.__init__

        def scratch_outbox(self: Any, engine: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, scratch_engine, *args, **kwargs)

        outbox.Outbox.__init__ = scratch_outbox  # type: ignore[method-assign]
    return cli.main(["--config", config, "serve"])


# ---------------------------------------------------------------- /proc sampling

def proc_status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status that matter here (empty when the process is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for row in fh:
                key, _, value = row.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads"):
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Sampler:
    """Samples VmRSS of the server (and its descendants) every ``interval`` s in a background task."""

    def __init__(self, pid: int, interval: float):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, int]] = []  # (t, server kB, children kB)
        self.peak: dict[str, Any] = {"total_kb": 0}
        self.children: list[int] = []
        self.max_threads = 0
        self._task: asyncio.Task[None] | None = None
        self._t0 = time.monotonic()

    def sample(self) -> dict[str, int]:
        st = proc_status(self.pid)
        kids = sum(proc_status(c).get("VmRSS", 0) for c in self.children)
        total = st.get("VmRSS", 0) + kids
        self.samples.append((time.monotonic() - self._t0, st.get("VmRSS", 0), kids))
        self.max_threads = max(self.max_threads, st.get("Threads", 0))
        if total > self.peak["total_kb"]:
            self.peak = {"total_kb": total, "server": st, "children_kb": kids, "t": self.samples[-1][0]}
        return {**st, "children_kb": kids, "total_kb": total}

    async def _run(self) -> None:
        last_scan = 0.0
        while True:
            if time.monotonic() - last_scan >= 1.0:
                self.children = descendants(self.pid)
                last_scan = time.monotonic()
            self.sample()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


# ---------------------------------------------------------------- client side

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def write_config(tmp: Path, db: str, fake: Any, port: int) -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(f"""
[general]
data_dir = "{tmp / 'data'}"
[database]
url = "{db}"
[server]
host = "127.0.0.1"
port = {port}
public_base_url = "http://127.0.0.1:{port}"
chart_signing_key = "bench-chart-signing-key-0123456789abcdef"
[dingtalk]
app_key = "{fake.app_key}"
app_secret = "{fake.app_secret}"
robot_code = "{fake.robot_code}"
api_base = "{fake.base_url}"
oapi_base = "{fake.base_url}"
[access]
user_rate_per_minute = 0
""", encoding="utf-8")
    return cfg


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


IMAGE_RE = re.compile(r"!\[[^\]]*\]\((http://127\.0\.0\.1:\d+/charts/[^)\s]+)\)")
ERROR_MARKERS = ("出错了", "没听懂", "不支持", "没有叫", "还没有数据", "抱歉", "再试")
EMPTY_MARKERS = ("无法计算", "这段时间没有")


class Client:
    """Sends signed callbacks to the server and matches each reply (by its sessionWebhook) at the fake."""

    def __init__(self, url: str, fake: Any, http: Any):
        self.url, self.fake, self.http = url, fake, http
        self.seen = 0
        self.by_session: dict[str, list[Any]] = {}
        self.waiters: dict[str, asyncio.Event] = {}

    async def pump(self) -> None:
        """Index the fake's received messages by session as they arrive (runs for the whole bench)."""
        while True:
            while self.seen < len(self.fake.sent):
                sent = self.fake.sent[self.seen]
                self.seen += 1
                if sent.kind == "session":
                    self.by_session.setdefault(sent.target, []).append(sent)
                    if sent.target in self.waiters:
                        self.waiters[sent.target].set()
            await asyncio.sleep(0.002)

    async def ask(self, text: str, user: str, msg_id: str, wait_s: float) -> dict[str, Any]:
        from tests.fakes.dingtalk_client import body, callback_payload, signed_headers

        payload = callback_payload(self.fake, text, private=True, staff_id=user, conversation_id=f"cid{user}==",
                                   msg_id=msg_id)
        session = payload["sessionWebhook"].rsplit("session=", 1)[1]
        event = self.waiters[session] = asyncio.Event()
        started = time.perf_counter()
        async with self.http.post(self.url + "/dingtalk/callback", data=body(payload),
                                  headers=signed_headers(self.fake.app_secret)) as resp:
            await resp.read()
            status = resp.status
        acked = time.perf_counter()
        try:
            await asyncio.wait_for(event.wait(), wait_s)
        except TimeoutError:
            return {"text": text, "status": status, "ack_ms": (acked - started) * 1000, "reply_ms": None,
                    "problems": [f"no reply within {wait_s:g} s"]}
        replied = time.perf_counter()
        del self.waiters[session]
        markdown = "\n".join(s.markdown for s in self.by_session.get(session, []))
        images = []
        for link in IMAGE_RE.findall(markdown):
            async with self.http.get(link) as img:
                data = await img.read()
                images.append({"status": img.status, "bytes": len(data)})
        done = time.perf_counter()
        problems = [f"HTTP {status}"] if status != 200 else []
        problems += [f"error text {m!r}" for m in ERROR_MARKERS if m in markdown]
        problems += [f"EMPTY answer ({m!r})" for m in EMPTY_MARKERS if m in markdown]
        problems += [f"image HTTP {i['status']}" for i in images if i["status"] != 200]
        problems += ["chart not available"] if "图片暂不可用" in markdown else []
        return {"text": text, "status": status, "ack_ms": (acked - started) * 1000,
                "reply_ms": (replied - started) * 1000, "with_images_ms": (done - started) * 1000,
                "images": images, "kind": "chart" if images else "text", "problems": problems,
                "head": " / ".join(markdown.split("\n")[:2])[:160]}


async def wait_ready(url: str, proc: asyncio.subprocess.Process, http: Any) -> dict[str, Any]:
    import aiohttp

    for _ in range(1200):
        if proc.returncode is not None:
            raise SystemExit(f"csbot serve exited early ({proc.returncode})")
        try:
            async with http.get(url + "/healthz") as resp:
                if resp.status == 200:
                    async with http.get(url + "/readyz") as ready:
                        return {"status": ready.status, "body": await ready.text()}
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("csbot serve did not come up in 120 s")


async def one_round(client: Client, texts: list[str], concurrency: int, round_no: int,
                    wait_s: float) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(concurrency)

    async def go(i: int, text: str) -> dict[str, Any]:
        async with gate:
            return await client.ask(text, f"bench{round_no}u{i}", f"bench-{round_no}-{i}", wait_s)

    return list(await asyncio.gather(*(go(i, t) for i, t in enumerate(texts))))


def command_texts(periods: list[str], commands: str | None) -> list[tuple[str, str, str]]:
    """(command label, period, text) for every command of bench_commands.py × period."""
    sys.path.insert(0, str(SCRIPT.parent))
    from bench_commands import COMMANDS

    wanted = [c for c in COMMANDS if not commands or c.split()[0] in commands.split(",")]
    return [(c.replace(" {p}", "").replace("{p}", "").strip(), p, c.format(p=p)) for p in periods for c in wanted]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    from tests.fakes.dingtalk_server import FakeDingTalk

    items = command_texts(args.periods.split(","), args.commands)
    texts = [t for _, _, t in items]
    with tempfile.TemporaryDirectory(prefix="csbot-bench-serve-") as tmpdir:
        tmp = Path(tmpdir)
        async with FakeDingTalk() as fake, aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)) as http:
            port = free_port()
            cfg = write_config(tmp, args.db, fake, port)
            child = [sys.executable, str(SCRIPT), "--serve-child", "--config", str(cfg),
                     "--scratch", str(tmp / "outbox.db")] + (["--allow-writes"] if args.allow_writes else [])
            log_path = tmp / "serve.log"
            with log_path.open("wb") as log_file:
                started = time.monotonic()
                proc = await asyncio.create_subprocess_exec(*child, stdout=log_file, stderr=log_file,
                                                            env={**os.environ, "PYTHONPATH": str(ROOT)})
            url = f"http://127.0.0.1:{port}"
            sampler = Sampler(proc.pid, args.interval)
            sampler.start()
            client = Client(url, fake, http)
            pump = asyncio.create_task(client.pump())
            rounds: list[list[dict[str, Any]]] = []
            try:
                ready = await wait_ready(url, proc, http)
                startup_s = time.monotonic() - started
                if '"migrations": "ok"' not in ready["body"] and "migrations" in ready["body"]:
                    raise SystemExit(f"/readyz: {ready['body']} — the database is not at the code's schema; "
                                     "migrate it first (this bench does not write it)")
                await asyncio.sleep(2.0)
                idle = sampler.sample()
                print(f"csbot serve up in {startup_s:.1f} s; idle VmRSS {idle['VmRSS'] / KB:.0f} MB; "
                      f"{len(texts)} commands per round, concurrency {args.concurrency}", flush=True)
                marks = []
                plan = [1] * args.sequential + [args.concurrency] * args.rounds
                for r, concurrency in enumerate(plan):
                    t0 = time.perf_counter()
                    results = await one_round(client, texts, concurrency, r, args.timeout)
                    wall = time.perf_counter() - t0
                    rounds.append(results)
                    now = sampler.sample()
                    peak_so_far = sampler.peak["total_kb"]
                    marks.append({"round": r + 1, "concurrency": concurrency, "wall_s": wall,
                                  "rss_end_kb": now["total_kb"], "peak_so_far_kb": peak_so_far})
                    done = [x for x in results if x["reply_ms"] is not None]
                    print(f"round {r + 1} (concurrency {concurrency}): {len(done)}/{len(results)} replies in "
                          f"{wall:.1f} s; reply p50 {pct([x['reply_ms'] for x in done], 0.5):.0f} ms, p95 "
                          f"{pct([x['reply_ms'] for x in done], 0.95):.0f} ms; VmRSS now "
                          f"{now['total_kb'] / KB:.0f} MB, peak {peak_so_far / KB:.0f} MB", flush=True)
                await asyncio.sleep(2.0)
                settled = sampler.sample()
                final = proc_status(proc.pid)
            finally:
                await sampler.stop()
                pump.cancel()
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(proc.wait(), 60)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
                log_tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            if proc.returncode not in (0, -signal.SIGTERM):
                print(f"csbot serve exited with {proc.returncode}; log tail:\n{log_tail}", flush=True)
            errors_logged = log_path.read_text(encoding="utf-8", errors="replace").count(" ERROR ")
    return report(args, items, rounds, idle, settled, final, sampler, startup_s, marks, errors_logged, log_tail)


def latencies(items: list[tuple[str, str, str]], rounds: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Per command × period (median and max over ``rounds``) and per kind (p50/p95 over every reply)."""
    per_item = []
    for i, (command, period, text) in enumerate(items):
        got = [rnd[i] for rnd in rounds]
        replies = [g["reply_ms"] for g in got if g["reply_ms"] is not None]
        full = [g["with_images_ms"] for g in got if g["reply_ms"] is not None]
        per_item.append({
            "command": command, "period": period, "text": text,
            "kind": "chart" if any(g.get("images") for g in got) else "text",
            "reply_p50": pct(replies, 0.5) if replies else None, "reply_max": max(replies, default=None),
            "with_images_p50": pct(full, 0.5) if full else None,
            "png_kb": [round(i["bytes"] / KB, 1) for i in (got[-1].get("images") or [])],
            "problems": sorted({p for g in got for p in g["problems"]}), "head": got[-1].get("head", ""),
        })
    by_kind = {}
    for kind in ("text", "chart"):
        sel = {it["text"] for it in per_item if it["kind"] == kind}
        vals = [g["reply_ms"] for rnd in rounds for g in rnd if g["text"] in sel and g["reply_ms"] is not None]
        full = [g["with_images_ms"] for rnd in rounds for g in rnd if g["text"] in sel and g["reply_ms"] is not None]
        by_kind[kind] = {"n": len(vals), "reply_p50": pct(vals, 0.5) if vals else None,
                         "reply_p95": pct(vals, 0.95) if vals else None,
                         "with_images_p95": pct(full, 0.95) if full else None}
    return {"items": per_item, "by_kind": by_kind}


def report(args: argparse.Namespace, items: list[tuple[str, str, str]], rounds: list[list[dict[str, Any]]],
           idle: dict[str, int], settled: dict[str, int], final: dict[str, int], sampler: Sampler,
           startup_s: float, marks: list[dict[str, Any]], errors_logged: int, log_tail: str) -> dict[str, Any]:
    cold = latencies(items, rounds[:1]) if args.sequential else None
    sequential = latencies(items, rounds[1:args.sequential]) if args.sequential > 1 else None
    loaded = latencies(items, rounds[args.sequential:]) if args.rounds else None
    acks = [g["ack_ms"] for rnd in rounds for g in rnd]
    rss = {
        "idle_kb": idle.get("VmRSS"), "idle": idle, "peak_sampled_kb": sampler.peak["total_kb"],
        "peak_sample": sampler.peak, "vmhwm_kb": final.get("VmHWM"), "settled_kb": settled.get("VmRSS"),
        "settled": settled, "children_seen": sampler.children, "max_threads": sampler.max_threads,
        "samples": len(sampler.samples), "interval_s": args.interval, "target_kb": 400 * KB,
    }
    rss["peak_kb"] = max(rss["peak_sampled_kb"], rss["vmhwm_kb"] or 0)
    problems = sorted({f"{it['text']}: {'; '.join(it['problems'])}" for part in (cold, sequential, loaded) if part
                       for it in part["items"] if it["problems"]})
    out = {
        "db": args.db.split(":", 1)[0].split("+")[0], "url": args.db, "now": NOW.isoformat(), "code": CODE,
        "sequential_rounds": args.sequential, "rounds": args.rounds, "concurrency": args.concurrency,
        "read_only": not args.allow_writes, "startup_s": startup_s, "rss": rss, "cold": cold,
        "sequential": sequential,
        "loaded": loaded, "ack_p50_ms": pct(acks, 0.5), "ack_max_ms": max(acks), "round_marks": marks,
        "problems": problems, "server_log_errors": errors_logged,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_end": os.getloadavg()},
        "timeline": [(round(t, 3), a, c) for t, a, c in sampler.samples[:: max(1, len(sampler.samples) // 500)]],
    }
    if errors_logged:
        out["server_log_tail"] = log_tail
    print(f"\nRSS: idle {rss['idle_kb'] / KB:.0f} MB, peak {rss['peak_kb'] / KB:.0f} MB (sampled "
          f"{rss['peak_sampled_kb'] / KB:.0f} MB, VmHWM {(rss['vmhwm_kb'] or 0) / KB:.0f} MB), settled "
          f"{(rss['settled_kb'] or 0) / KB:.0f} MB; target ≤ 400 MB: "
          f"{'met' if rss['peak_kb'] <= 400 * KB else 'MISSED'}; child processes: {len(sampler.children)}, "
          f"threads ≤ {sampler.max_threads}")
    for label, part, conc in (("first call, one at a time", cold, 1), ("one at a time", sequential, 1),
                              ("loaded", loaded, args.concurrency)):
        for kind, k in (part or {"by_kind": {}})["by_kind"].items():
            if k["n"]:
                print(f"{label} (concurrency {conc}) {kind}: {k['n']} replies, client reply p50 "
                      f"{k['reply_p50']:.0f} ms, p95 {k['reply_p95']:.0f} ms (with images p95 "
                      f"{k['with_images_p95']:.0f} ms)")
    print(f"ack p50 {out['ack_p50_ms']:.1f} ms, max {out['ack_max_ms']:.0f} ms; server log ERROR lines: "
          f"{errors_logged}")
    print(f"problems: {len(problems)}" + "".join(f"\n  {p}" for p in problems))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="SQLAlchemy URL")
    parser.add_argument("--periods", default="今天,本周,本月,今年")
    parser.add_argument("--commands", help="only these command names, e.g. /满意度,/概览")
    parser.add_argument("--sequential", type=int, default=2,
                        help="rounds at concurrency 1 first: the first is the cold one (each command's first "
                             "call), the others give the client latency without queueing")
    parser.add_argument("--rounds", type=int, default=3, help="rounds at --concurrency")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.05, help="RSS sampling interval, s")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for one reply")
    parser.add_argument("--allow-writes", action="store_true",
                        help="serve exactly as csbot serve (migrate, audit rows, outbox in the DB): scratch DBs only")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child:
        sys.exit(serve_child(args.config, args.allow_writes, args.scratch))
    if not args.db:
        parser.error("--db is required")
    global CODE
    sys.path.insert(0, str(SCRIPT.parent))
    from bench_commands import code_version

    CODE = code_version()  # before the server imports the code
    result = asyncio.run(run(args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
