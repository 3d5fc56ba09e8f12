"""Two real ``csbot serve`` processes on one database — a SQLite file and PostgreSQL — each with its own
scheduler and outbox worker, robots pointed at a local fake DingTalk, and a shifted clock
(``tests.digest_serve_child``) that reaches 09:00 a few seconds after they start: each digest is
sent once. Then a replica is killed (SIGKILL) while the vendor holds its send, restarted, and the
digest still arrives exactly once (sent by a replica after the killed one's lease), and is rebuilt
only when its builder was the replica killed (a live replica renews its build lease)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import Session, select

from analytics.store import open_database
from analytics.store.digests import DigestRun
from analytics.store.outbox import OutboxMessage
from tests.fakes.dingtalk_server import FakeDingTalk

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 8, 8, 59, 57, tzinfo=TZ)  # a Thursday; the 日报 and a 周四 周报 fire at 09:00
LEAD_S = 6.0  # the shifted clock reads START this long after the test launches the replicas


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, url: str, fake: FakeDingTalk, port: int, data_dir: Path) -> Path:
    path.write_text(f"""
[general]
data_dir = "{data_dir}"
[database]
url = "{url}"
[server]
port = {port}
[dingtalk]
oapi_base = "{fake.base_url}"
api_base = "{fake.base_url}"
[[dingtalk.robots]]
name = "ops"
webhook = "{fake.base_url}/robot/send?access_token=tok-ops"
[[dingtalk.robots]]
name = "leads"
webhook = "{fake.base_url}/robot/send?access_token=tok-leads"
[digests]
time = "09:00"
targets = ["dingtalk:ops"]
check_seconds = 1.0
misfire_grace_seconds = 600
claim_lease_seconds = 4.0
[[digests.subscriptions]]
kind = "周报"
schedule = "周四 09:00"
targets = ["dingtalk:leads"]
[delivery]
poll_seconds = 0.5
claim_lease_seconds = 4.0
""", encoding="utf-8")
    return path


class Replicas:
    def __init__(self, tmp_path: Path, url: str, fake: FakeDingTalk, anchor: float):
        self.tmp, self.url, self.fake, self.anchor = tmp_path, url, fake, anchor
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.ports: dict[str, int] = {}

    async def start(self, name: str) -> None:
        port = free_port()
        cfg = write_config(self.tmp / f"{name}.toml", self.url, self.fake, port, self.tmp / "data")
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115, ASYNC230 - closed with the process
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("CSBOT_CONFIG", None)
        self.procs[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.digest_serve_child", str(cfg), START.isoformat(), str(self.anchor),
            cwd=str(self.tmp), env=env, stdout=log, stderr=log)
        self.ports[name] = port

    async def wait_ready(self, name: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                assert self.procs[name].returncode is None, self.log(name)
                try:
                    if (await http.get(f"http://127.0.0.1:{self.ports[name]}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{name} not ready:\n{self.log(name)}")

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-4000:]

    async def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), timeout=20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def robot_texts(fake: FakeDingTalk, token: str) -> list[str]:
    return [s.markdown for s in fake.sent if s.kind == "robot" and s.target == token]


async def wait_until(predicate, within: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        server.add_robot("tok-ops")
        server.add_robot("tok-leads")
        yield server


@pytest.fixture
async def replicas(backend, db_factory, fake, tmp_path):
    url = db_factory.url(backend)
    engine = open_database(url)  # migrated before the replicas start, as a deploy step would
    group = Replicas(tmp_path, url, fake, time.time() + LEAD_S)
    group.engine = engine
    yield group
    await group.stop_all()
    engine.dispose()


def rows(engine, model):  # noqa: ANN001, ANN201
    with Session(engine) as s:
        return list(s.exec(select(model).order_by(model.id)).all())


@pytest.mark.slow
async def test_two_serve_processes_send_each_digest_once(replicas, fake):
    await asyncio.gather(replicas.start("a"), replicas.start("b"))
    await asyncio.gather(replicas.wait_ready("a"), replicas.wait_ready("b"))
    await wait_until(lambda: robot_texts(fake, "tok-ops") and robot_texts(fake, "tok-leads"), 40, "both digests")
    await asyncio.sleep(5)  # several more ticks and outbox rounds on both replicas
    daily, weekly = robot_texts(fake, "tok-ops"), robot_texts(fake, "tok-leads")
    assert len(daily) == 1 and "日报" in daily[0] and "10月7日" in daily[0], daily
    assert len(weekly) == 1 and "周报" in weekly[0], weekly
    queued = [r for r in rows(replicas.engine, DigestRun) if r.status == "queued"]
    assert sorted(r.kind for r in queued) == ["周报", "日报"] and all(r.attempts == 1 for r in queued)
    assert [r.status for r in rows(replicas.engine, OutboxMessage)] == ["sent", "sent"]


@pytest.mark.slow
async def test_a_replica_killed_mid_send_and_restarted_sends_nothing_twice(replicas, fake):
    fake.robot_holds = [8.0, 8.0]  # the first two robot sends hang until their sender is gone
    await asyncio.gather(replicas.start("a"), replicas.start("b"))
    await asyncio.gather(replicas.wait_ready("a"), replicas.wait_ready("b"))
    await wait_until(lambda: fake.holding >= 1, 40, "a send in flight")
    # Killed mid-*send*, ideally with both digests already queued. On a busy machine the second may
    # still be building on the victim: then it is taken over after the lease and built again
    # (attempts 2), which is the protocol working — but it must still be *sent* once.
    queued = lambda: sum(r.status == "queued" for r in rows(replicas.engine, DigestRun))  # noqa: E731
    with contextlib.suppress(AssertionError):
        await wait_until(lambda: queued() == 2, 5, "both digests queued")
    claimers = {r.claimed_by for r in rows(replicas.engine, OutboxMessage) if r.claimed_by and r.status == "pending"}
    pids = {int(c.split(":")[1]) for c in claimers}
    victims = [name for name in ("a", "b") if replicas.pid(name) in pids]
    assert victims, (claimers, replicas.pid("a"), replicas.pid("b"))
    building = {r.id for r in rows(replicas.engine, DigestRun)
                if r.status == "building" and int(r.owner.split(":")[1]) in pids}
    for name in victims:
        replicas.kill(name)
        await replicas.procs[name].wait()
        await replicas.start(name)  # restarted at once
    await wait_until(lambda: len(fake.dropped) >= 1, 20, "the held send to be dropped")
    await wait_until(lambda: robot_texts(fake, "tok-ops") and robot_texts(fake, "tok-leads"), 60, "both digests")
    await asyncio.sleep(6)  # past another lease: nothing more may arrive
    assert len(robot_texts(fake, "tok-ops")) == 1 and len(robot_texts(fake, "tok-leads")) == 1
    runs = [r for r in rows(replicas.engine, DigestRun) if r.status != "skipped"]
    # built once each — except one whose builder was the killed replica, built once more by a live one
    assert [(r.status, r.attempts) for r in runs] == [("queued", 2 if r.id in building else 1) for r in runs]
    assert len(runs) == 2
    sent = rows(replicas.engine, OutboxMessage)
    assert [r.status for r in sent] == ["sent", "sent"]
    assert all(int(r.claimed_by.split(":")[1]) not in pids for r in sent)  # sent by a live replica
