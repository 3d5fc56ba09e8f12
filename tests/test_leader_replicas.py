"""Two real ``csbot serve`` processes on one PostgreSQL database (``tests.digest_serve_child``: the real
server, scheduler, outbox worker and senders, with a shifted clock that reaches 09:00 a while after
they start). Exactly one is leader (``csbot_leader`` on ``/metrics``) and only it runs the digest tick;
the leader is killed with SIGKILL before the 日报 and the 周报 fall due, the other replica takes the
leader lock within its check interval and sends each digest once."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from analytics.store import open_database
from analytics.store.digests import DigestRun
from analytics.store.outbox import OutboxMessage
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.test_digest_replicas import Replicas, robot_texts, rows, wait_until

LEAD_S = 45.0  # the shifted clock reaches 08:59:57 this long after launch: both replicas are ready by then


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        server.add_robot("tok-ops")
        server.add_robot("tok-leads")
        yield server


@pytest.fixture
async def pg_replicas(pg_server, db_factory, fake, tmp_path):  # noqa: ANN001, ARG001
    url = db_factory.url("postgresql")
    engine = open_database(url)
    group = Replicas(tmp_path, url, fake, time.time() + LEAD_S)
    group.engine = engine
    yield group
    await group.stop_all()
    engine.dispose()


async def scrape(port: int) -> dict[str, list]:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(fams: dict[str, list], name: str, **labels: str) -> float | None:
    for family in fams.values():
        for s in family:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


async def leader_of(group: Replicas, names: list[str]) -> list[str]:
    leading = []
    for name in names:
        fams = await scrape(group.ports[name])
        if any(s.value == 1 for s in fams.get("csbot_leader", [])):
            leading.append(name)
    return leading


@pytest.mark.slow
async def test_the_leader_killed_before_the_digests_are_due_the_other_sends_each_once(pg_replicas, fake):
    group = pg_replicas
    await asyncio.gather(group.start("a"), group.start("b"))
    await asyncio.gather(group.wait_ready("a"), group.wait_ready("b"))
    deadline = time.monotonic() + 20
    while len(leading := await leader_of(group, ["a", "b"])) != 1:
        assert time.monotonic() < deadline, leading
        await asyncio.sleep(0.2)
    (leader,) = leading
    follower = "b" if leader == "a" else "a"
    follower_metrics = await scrape(group.ports[follower])
    assert value(follower_metrics, "csbot_scheduler_job_runs_total", job_id="digests.tick") is None  # followers idle
    assert time.time() < group.anchor + 3, "the replicas were not ready before the digests fell due"
    assert fake.sent == [] and all(r.status == "skipped" for r in rows(group.engine, DigestRun))  # yesterday's

    group.kill(leader)
    await group.procs[leader].wait()
    await wait_until(lambda: robot_texts(fake, "tok-ops") and robot_texts(fake, "tok-leads"), 60, "both digests")
    await asyncio.sleep(4)  # more ticks and outbox rounds: nothing more may arrive
    daily, weekly = robot_texts(fake, "tok-ops"), robot_texts(fake, "tok-leads")
    assert len(daily) == 1 and "日报" in daily[0] and len(weekly) == 1 and "周报" in weekly[0]
    survivor_pid = str(group.pid(follower))
    runs = [r for r in rows(group.engine, DigestRun) if r.status != "skipped"]
    assert [(r.status, r.attempts) for r in runs] == [("queued", 1), ("queued", 1)]
    assert all(r.owner.split(":")[1] == survivor_pid for r in runs)  # built by the new leader
    assert all(r.status == "sent" and r.claimed_by.split(":")[1] == survivor_pid
               for r in rows(group.engine, OutboxMessage))
    assert value(await scrape(group.ports[follower]), "csbot_leader") == 1
