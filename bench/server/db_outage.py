"""PostgreSQL really stopped for 30 s in the middle of callback traffic to a real ``csbot serve``.

Run by hand, never from pytest: it stops the PostgreSQL cluster on this host (``pg_ctlcluster … stop``)
that other tests and processes share, and starts it again in a ``finally`` (also on Ctrl-C).

What runs: ``csbot serve`` (a subprocess) on a throwaway database ``csbot_outage_<pid>`` on
127.0.0.1:5432 (trust auth, user postgres) with a small seeded demo data set, ``[dingtalk]`` and
``[feishu]`` pointed at the local fakes (tests/fakes/). From start to end, it sends

* a signed DingTalk robot callback every ``--interval`` s (``/帮助`` or ``/投诉 今天``, each a new msgId,
  its own sessionWebhook and chat, so every answer maps to one callback);
* a signed, encrypted Feishu ``im.message.receive_v1`` event every ``--feishu-interval`` s (its own
  chat id); an event not answered with 200 is redelivered every ``--feishu-retry`` s, as Feishu does
  for an event it did not see acknowledged (Feishu's own schedule is slower; the bench compresses it);
* ``GET /readyz`` every 0.5 s.

After ``--before`` s the cluster is stopped for ``--outage`` s, then started; traffic goes on for
``--after`` s, then the bench waits until every acknowledged message is answered (or ``--drain`` s).

Reported (and checked, exit 1 when a check fails): every status seen during the outage is 200 or a
vendor-retryable 503/429, never another 5xx or a dropped connection; every message acknowledged with
200 is answered exactly once (at the fake DingTalk sessionWebhook / group API, the fake Feishu message
API); time from PostgreSQL accepting connections again to ``/readyz`` true and to the first callback
that is stored and answered with a real answer; ``/readyz`` false during the outage; the server process
alive throughout; no inbox row left pending or failed.

    PYTHONPATH=. python bench/server/db_outage.py                      # 10 s traffic, 30 s outage, 20 s after
    PYTHONPATH=. python bench/server/db_outage.py --outage 30 --json /tmp/outage.json
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import copy
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ack import dingtalk_section, free_port  # noqa: E402

from tests.fakes.dingtalk_client import body, callback_payload, signed_headers  # noqa: E402
from tests.fakes.dingtalk_server import FakeDingTalk  # noqa: E402
from tests.fakes.feishu_server import FakeFeishu  # noqa: E402
from tests.test_feishu_callback import CASES, encrypt  # noqa: E402
from tests.test_feishu_callback import signed_headers as feishu_headers  # noqa: E402

PG_HOST = "127.0.0.1"
PG_ADMIN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
COMMANDS = ["/帮助", "/投诉 今天"]
RETRYABLE = {200, 429, 503}
FEISHU_TOKEN, FEISHU_KEY = "VT-outage", "outage-encrypt-key"
ERROR_REPLY = "出错了"  # bot/app.py: the reply of a command that failed (the database was unreachable)


def pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def pg_ctl(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", pg_version(), "main", action], check=True,
                   capture_output=True, text=True, timeout=120)


def pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", PG_HOST], timeout=10).returncode == 0


def ensure_pg_up() -> None:
    if pg_ready():
        return
    with contextlib.suppress(subprocess.CalledProcessError):
        pg_ctl("start")
    for _ in range(120):
        if pg_ready():
            return
        time.sleep(0.5)
    raise SystemExit("PostgreSQL did not come back: run  pg_ctlcluster --skip-systemctl-redirect "
                     f"{pg_version()} main start")


def admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def write_config(tmp: Path, db: str, port: int, ding: FakeDingTalk, feishu: FakeFeishu) -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(f"""
[general]
data_dir = "{tmp / 'data'}"
[database]
url = "postgresql+psycopg://postgres@{PG_HOST}:5432/{db}"
[server]
host = "127.0.0.1"
port = {port}
{dingtalk_section(ding)}[feishu]
app_id = "{feishu.app_id}"
app_secret = "{feishu.app_secret}"
api_base = "{feishu.base_url}"
verification_token = "{FEISHU_TOKEN}"
encrypt_key = "{FEISHU_KEY}"
""", encoding="utf-8")
    return cfg


class Clock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.stop_at: float | None = None  # PostgreSQL stopped (pg_ctlcluster stop returned)
        self.start_at: float | None = None  # pg_ctlcluster start issued (the server may accept before it returns)
        self.up_at: float | None = None  # pg_ctlcluster start returned and pg_isready answers

    def now(self) -> float:
        return time.monotonic() - self.t0

    def phase(self, t: float) -> str:
        if self.stop_at is None or t < self.stop_at:
            return "before"
        if self.start_at is None or t < self.start_at:
            return "outage"
        if self.up_at is None or t < self.up_at:
            return "restart"
        return "after"


class Traffic:
    def __init__(self, url: str, ding: FakeDingTalk, feishu: FakeFeishu, clock: Clock, args: argparse.Namespace):
        self.url, self.ding, self.feishu, self.clock, self.args = url, ding, feishu, clock, args
        self.rnd = random.Random(args.seed)
        self.ding_sent: list[dict] = []  # one per callback
        self.feishu_events: list[dict] = []  # one per event, with every delivery attempt
        self.readyz: list[tuple[float, int]] = []
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, coro) -> None:  # noqa: ANN001
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def post(self, http: aiohttp.ClientSession, path: str, data: bytes, headers: dict) -> int | str:
        try:
            async with http.post(self.url + path, data=data, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=30)) as resp:
                await resp.read()
                return resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            return type(exc).__name__

    async def one_dingtalk(self, http: aiohttp.ClientSession, i: int) -> None:
        payload = callback_payload(self.ding, self.rnd.choice(COMMANDS), staff_id=f"outage{i}",
                                   conversation_id=f"cidOutage{i}==", msg_id=f"outage-{i}")
        session = payload["sessionWebhook"].rsplit("=", 1)[1]
        rec = {"i": i, "msg_id": payload["msgId"], "session": session, "chat": payload["conversationId"],
               "staff": payload["senderStaffId"], "sent": self.clock.now()}
        self.ding_sent.append(rec)
        rec["status"] = await self.post(http, "/dingtalk/callback", body(payload), signed_headers(self.ding.app_secret))
        rec["acked"] = self.clock.now()

    async def one_feishu(self, http: aiohttp.ClientSession, i: int) -> None:
        event = copy.deepcopy(CASES[0]["payload"])  # "@_user_1 /满意度 本周" in a group, @ the bot
        event["header"].update(event_id=f"ev-outage-{i}", token=FEISHU_TOKEN)
        event["event"]["message"].update(message_id=f"om_outage_{i}", chat_id=f"oc_outage_{i}",
                                         content=json.dumps({"text": "@_user_1 /帮助"}, ensure_ascii=False))
        raw = json.dumps({"encrypt": encrypt(FEISHU_KEY, json.dumps(event, ensure_ascii=False))}).encode()
        rec = {"i": i, "chat": f"oc_outage_{i}", "attempts": []}
        self.feishu_events.append(rec)
        while True:
            t = self.clock.now()
            status = await self.post(http, "/feishu/callback", raw,
                                     feishu_headers(raw, ts=int(time.time()), nonce=f"n{i}-{len(rec['attempts'])}",
                                                    key=FEISHU_KEY))
            rec["attempts"].append((t, status))
            if status == 200 or len(rec["attempts"]) >= 40:
                return
            await asyncio.sleep(self.args.feishu_retry)  # Feishu redelivers an unacknowledged event

    async def run_dingtalk(self, http: aiohttp.ClientSession) -> None:
        i = 0
        while not self.stopping.is_set():
            self.spawn(self.one_dingtalk(http, i))
            i += 1
            await asyncio.sleep(self.args.interval)

    async def run_feishu(self, http: aiohttp.ClientSession) -> None:
        i = 0
        while not self.stopping.is_set():
            self.spawn(self.one_feishu(http, i))
            i += 1
            await asyncio.sleep(self.args.feishu_interval)

    async def run_readyz(self, http: aiohttp.ClientSession) -> None:
        while not self.stopping.is_set():
            t = self.clock.now()
            try:
                async with http.get(self.url + "/readyz", timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    await resp.read()
                    self.readyz.append((t, resp.status))
            except (TimeoutError, aiohttp.ClientError):
                self.readyz.append((t, -1))
            await asyncio.sleep(0.5)


def ding_answers(ding: FakeDingTalk, sent: list[dict]) -> dict[str, list[str]]:
    """msgId -> the texts that reached DingTalk for it (live on its session, or durable to its chat/user)."""
    by_session = {r["session"]: r["msg_id"] for r in sent}
    by_chat = {r["chat"]: r["msg_id"] for r in sent}
    by_staff = {r["staff"]: r["msg_id"] for r in sent}
    out: dict[str, list[str]] = collections.defaultdict(list)
    for s in ding.texts():
        key = {"session": by_session, "group": by_chat, "user": by_staff}.get(s.kind, {}).get(s.target)
        if key is not None:
            out[key].append(s.markdown)
    return out


def feishu_answers(feishu: FakeFeishu) -> collections.Counter:
    return collections.Counter(m["receive_id"] for m in feishu.app_messages)


def inbox_counts(db: str) -> dict[str, int]:
    with psycopg.connect(f"postgresql://postgres@{PG_HOST}:5432/{db}", connect_timeout=5) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM inbox GROUP BY status").fetchall())


def fmt_statuses(statuses: list) -> str:
    return ", ".join(f"{k}×{v}" for k, v in sorted(collections.Counter(map(str, statuses)).items())) or "—"


async def experiment(args: argparse.Namespace, db: str, tmp: Path) -> dict:
    async with FakeDingTalk() as ding, FakeFeishu() as feishu:
        port = free_port()
        cfg = write_config(tmp, db, port, ding, feishu)
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        env = {k: v for k, v in env.items() if not k.startswith("CSBOT_")}
        print(f"demo data ({args.days} days, scale {args.scale}) into {db} …", flush=True)
        await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", "--config", str(cfg), "demo",
                                                 "--no-chat", "--days", str(args.days), "--seed", str(args.seed),
                                                 "--scale", str(args.scale)],
                                check=True, stdout=subprocess.DEVNULL, env=env)
        log_path = tmp / "serve.log"
        log_file = log_path.open("wb")  # noqa: ASYNC230 - a local file opened once, before the server starts
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "--config", str(cfg),
                                                    "serve", env=env, stdout=log_file, stderr=log_file)
        log_file.close()  # the child holds its own descriptor
        url = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(600):
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(url + "/readyz") as resp:
                            if resp.status == 200:
                                break
                    if proc.returncode is not None:
                        raise SystemExit(f"csbot serve exited: {log_path.read_text()[-2000:]}")
                    await asyncio.sleep(0.1)
            clock = Clock()
            traffic = Traffic(url, ding, feishu, clock, args)
            died_at: list[float] = []
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                loops = [asyncio.create_task(c) for c in (traffic.run_dingtalk(http), traffic.run_feishu(http),
                                                          traffic.run_readyz(http))]

                async def watch() -> None:
                    await proc.wait()
                    died_at.append(clock.now())

                watcher = asyncio.create_task(watch())
                await asyncio.sleep(args.before)
                print(f"{clock.now():6.1f} s  stopping PostgreSQL{' (dry run: not really)' if args.dry_run else ''} …",
                      flush=True)
                try:
                    if not args.dry_run:
                        await asyncio.to_thread(pg_ctl, "stop")
                    clock.stop_at = clock.now()
                    print(f"{clock.now():6.1f} s  PostgreSQL stopped", flush=True)
                    await asyncio.sleep(args.outage)
                finally:
                    clock.start_at = clock.now()
                    await asyncio.to_thread(ensure_pg_up)
                    clock.up_at = clock.now()
                print(f"{clock.now():6.1f} s  PostgreSQL accepting connections again", flush=True)
                await asyncio.sleep(args.after)
                traffic.stopping.set()
                await asyncio.gather(*loops)
                if traffic.tasks:
                    await asyncio.wait(list(traffic.tasks), timeout=args.drain)
                acked_ding = [r for r in traffic.ding_sent if r.get("status") == 200]
                acked_feishu = [r for r in traffic.feishu_events if r["attempts"] and r["attempts"][-1][1] == 200]
                deadline = time.monotonic() + args.drain
                while time.monotonic() < deadline:
                    answers = ding_answers(ding, traffic.ding_sent)
                    fs = feishu_answers(feishu)
                    if all(answers.get(r["msg_id"]) for r in acked_ding) and all(fs[r["chat"]] for r in acked_feishu):
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(3)  # a duplicate would arrive now
                drained = clock.now()
                watcher.cancel()
        finally:
            alive = proc.returncode is None
            if alive:
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(proc.wait(), 60)
        return report(args, db, clock, traffic, ding, feishu, alive, died_at, drained, log_path)


def report(args, db, clock: Clock, traffic: Traffic, ding: FakeDingTalk, feishu: FakeFeishu,  # noqa: ANN001
           alive: bool, died_at: list[float], drained: float, log_path: Path) -> dict:
    stop, start, up = clock.stop_at or 0.0, clock.start_at or 0.0, clock.up_at or 0.0
    by_phase: dict[str, dict[str, list]] = {p: {"dingtalk": [], "feishu": []}
                                            for p in ("before", "outage", "restart", "after")}
    for r in traffic.ding_sent:
        by_phase[clock.phase(r["sent"])]["dingtalk"].append(r.get("status"))
    for r in traffic.feishu_events:
        for t, status in r["attempts"]:
            by_phase[clock.phase(t)]["feishu"].append(status)
    bad = [(p, v, s) for p, vendors in by_phase.items() for v, ss in vendors.items() for s in ss if s not in RETRYABLE]

    answers = ding_answers(ding, traffic.ding_sent)
    acked = [r for r in traffic.ding_sent if r.get("status") == 200]
    lost = [r["msg_id"] for r in acked if not answers.get(r["msg_id"])]
    twice = [r["msg_id"] for r in traffic.ding_sent if len(answers.get(r["msg_id"], [])) > 1]
    unacked_answered = [r["msg_id"] for r in traffic.ding_sent if r.get("status") != 200 and answers.get(r["msg_id"])]
    errors = [r["msg_id"] for r in acked if any(ERROR_REPLY in a for a in answers.get(r["msg_id"], []))]
    fs = feishu_answers(feishu)
    f_acked = [r for r in traffic.feishu_events if r["attempts"] and r["attempts"][-1][1] == 200]
    f_lost = [r["chat"] for r in f_acked if not fs[r["chat"]]]
    f_twice = [c for c, n in fs.items() if n > 1]
    f_redelivered = [r for r in f_acked if len(r["attempts"]) > 1]

    def secs(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    def first(items, cond):  # noqa: ANN001, ANN202
        return next((x for x in items if cond(x)), None)

    ready_during = [s for t, s in traffic.readyz if stop + 1.0 <= t < start]
    ready_up = first(traffic.readyz, lambda x: x[0] >= up and x[1] == 200)
    ready_after = [s for t, s in traffic.readyz if ready_up and t >= ready_up[0]]
    first_good_ding = first(sorted(acked, key=lambda r: r["sent"]),
                            lambda r: r["sent"] >= up and answers.get(r["msg_id"])
                            and not any(ERROR_REPLY in a for a in answers[r["msg_id"]]))
    first_feishu_200 = first(sorted((t, s) for r in traffic.feishu_events for t, s in r["attempts"]),
                             lambda x: x[0] >= up and x[1] == 200)
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    try:
        inbox = inbox_counts(db)
    except psycopg.Error as exc:
        inbox = {"error": str(exc)}

    result = {
        "outage_s": start - stop, "restart_s": up - start, "timeline": {"stop": stop, "start": start, "up": up},
        "readyz_raw": traffic.readyz, "statuses": {p: {v: dict(collections.Counter(map(str, ss))) for v, ss in vs.items()}
                                            for p, vs in by_phase.items()},
        "bad_statuses": bad,
        "dingtalk": {"sent": len(traffic.ding_sent), "acked": len(acked), "answered": len(acked) - len(lost),
                     "lost": lost, "answered_twice": twice, "answered_without_ack": unacked_answered,
                     "error_replies": len(errors)},
        "feishu": {"events": len(traffic.feishu_events), "acked": len(f_acked), "answered": len(f_acked) - len(f_lost),
                   "lost": f_lost, "answered_twice": f_twice, "redelivered": len(f_redelivered),
                   "max_attempts": max((len(r["attempts"]) for r in traffic.feishu_events), default=0)},
        "readyz": {"during_outage": dict(collections.Counter(map(str, ready_during))),
                   "true_after_pg_up_s": (ready_up[0] - up) if ready_up else None,
                   "after_recovery": dict(collections.Counter(map(str, ready_after)))},
        "recovery": {"first_stored_real_answer_after_pg_up_s": (first_good_ding["sent"] - up) if first_good_ding
                     else None,
                     "first_feishu_200_after_pg_up_s": (first_feishu_200[0] - up) if first_feishu_200 else None},
        "server_alive": alive and not died_at, "server_died_at_s": died_at[0] if died_at else None,
        "inbox": inbox, "drained_at_s": drained,
        "server_log": {"tracebacks": log_text.count("Traceback"), "error_lines": log_text.count(" ERROR ")},
        "loadavg": os.getloadavg(), "cpus": os.cpu_count(),
    }
    print()
    print(f"PostgreSQL stopped for {start - stop:.1f} s (at {stop:.1f} s, start issued at {start:.1f} s, "
          f"pg_ctlcluster start returned and pg_isready at {up:.1f} s)")
    for p, vendors in by_phase.items():
        print(f"  {p:8s} DingTalk {fmt_statuses(vendors['dingtalk'])}   Feishu {fmt_statuses(vendors['feishu'])}")
    d, f, rz, rec = result["dingtalk"], result["feishu"], result["readyz"], result["recovery"]
    print(f"DingTalk: {d['sent']} sent, {d['acked']} acked with 200, {d['answered']} answered, "
          f"{len(lost)} lost, {len(twice)} answered twice, {d['error_replies']} answered with the error reply")
    print(f"Feishu:   {f['events']} events, {f['acked']} acked with 200 ({f['redelivered']} after redelivery, "
          f"at most {f['max_attempts']} attempts), {f['answered']} answered, {len(f_lost)} lost, "
          f"{len(f_twice)} answered twice")
    print(f"/readyz during the outage: {rz['during_outage']}; true {secs(rz['true_after_pg_up_s'])} after "
          f"PostgreSQL was back, then {rz['after_recovery']}")
    print(f"recovery after PostgreSQL was back: first stored callback with a real answer sent "
          f"{secs(rec['first_stored_real_answer_after_pg_up_s'])} after, first Feishu 200 "
          f"{secs(rec['first_feishu_200_after_pg_up_s'])} after")
    print(f"server alive throughout: {result['server_alive']}; inbox {inbox}; server log: "
          f"{result['server_log']['tracebacks']} tracebacks, {result['server_log']['error_lines']} ERROR lines")
    checks = {
        "only 200 / 503 / 429": not bad,
        "every DingTalk 200 answered": not lost,
        "no DingTalk message answered twice": not twice,
        "every Feishu 200 answered": not f_lost,
        "no Feishu message answered twice": not f_twice,
        "/readyz false during the outage": bool(ready_during) and 200 not in ready_during,
        "/readyz true after, and stays": ready_up is not None and set(ready_after) == {200},
        "server process alive": result["server_alive"],
        "no inbox row pending or failed": isinstance(inbox, dict) and not inbox.get("pending")
        and not inbox.get("failed") and "error" not in inbox,
    }
    result["checks"] = checks
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    if args.keep_log:
        Path(args.keep_log).write_text(log_text, encoding="utf-8")
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=float, default=10.0, help="seconds of traffic before the stop")
    ap.add_argument("--outage", type=float, default=30.0, help="seconds PostgreSQL stays stopped")
    ap.add_argument("--after", type=float, default=20.0, help="seconds of traffic after PostgreSQL is back")
    ap.add_argument("--drain", type=float, default=180.0, help="at most this long to wait for the answers")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between DingTalk callbacks")
    ap.add_argument("--feishu-interval", type=float, default=1.0, help="seconds between new Feishu events")
    ap.add_argument("--feishu-retry", type=float, default=5.0, help="seconds between Feishu redeliveries")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dry-run", action="store_true", help="check the harness: everything but the stop")
    ap.add_argument("--json", help="write the result here")
    ap.add_argument("--keep-log", help="copy the server's log here")
    args = ap.parse_args()
    if not pg_ready():
        raise SystemExit(f"PostgreSQL is not accepting connections on {PG_HOST}:5432")
    db = f"csbot_outage_{os.getpid()}"
    admin(f"CREATE DATABASE {db}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(experiment(args, db, Path(tmp)))
    finally:
        ensure_pg_up()
        with contextlib.suppress(psycopg.Error):
            admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), **result}, indent=2, ensure_ascii=False),
                                   encoding="utf-8")
    sys.exit(0 if all(result["checks"].values()) else 1)


if __name__ == "__main__":
    main()
