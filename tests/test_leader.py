"""Leader election for timed work (bot.jobs.leader) and migrations run once (analytics.store.db).

On a real PostgreSQL database: two leaders, exactly one leads; the leader's session is terminated by the
server (as when its process or its network dies) and the other takes over at its next check; two
JobSchedulers run their timed work only while leading and fail over. On SQLite: the file lock, also
against a real process killed with SIGKILL. Migrations from two threads at once on a fresh database; the
readiness check says ``running`` while the migration lock is held.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import text

from analytics.store.db import MIGRATION_LOCK_KEY, make_engine, migrate, migration_lock_file
from bot.config import Settings
from bot.jobs.leader import FileLeader, PostgresLeader, leadership_for, lock_file
from bot.jobs.scheduler import JobScheduler
from bot.web.health import readiness


def terminate(engine, replica: str) -> int:  # noqa: ANN001
    """Have the server end the leader's session (what it does when the leader's process dies)."""
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE application_name = :name"), {"name": f"csbot leader {replica}"[:63]}).scalar()
        conn.commit()
    return int(count or 0)


async def wait_until(predicate, within: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def pg_engine(pg_server, db_factory):  # noqa: ANN001, ARG001
    return db_factory.engine("postgresql")


def test_postgres_exactly_one_leads_and_the_other_takes_over_when_its_session_dies(pg_engine):
    a, b = PostgresLeader(pg_engine, "a"), PostgresLeader(pg_engine, "b")
    try:
        assert (a.check(), b.check()) == (True, False)
        assert (a.check(), b.check()) == (True, False)  # staying leader is a check of its own session
        assert terminate(pg_engine, "a") == 1
        assert a.check() is False and not a.is_leader  # a notices its session is gone and steps back
        deadline = time.monotonic() + 10  # pg_terminate_backend signals; the lock frees when the backend exits
        while not b.check():
            assert time.monotonic() < deadline, "the lock was not freed with a's session"
            time.sleep(0.05)
        assert a.check() is False  # b holds the lock
        b.release()  # graceful shutdown: a takes over at its next check, not after a timeout
        assert a.check() is True
    finally:
        a.release()
        b.release()


def test_leader_locks_are_per_database(pg_server, db_factory):  # noqa: ANN001, ARG001
    one, two = db_factory.engine("postgresql"), db_factory.engine("postgresql")
    a, b = PostgresLeader(one, "a"), PostgresLeader(two, "b")
    try:
        assert a.check() and b.check()  # two deployments on one server do not share a leader
    finally:
        a.release()
        b.release()


def test_sqlite_file_lock_one_leader_then_the_other(sqlite_engine):
    path = lock_file(sqlite_engine, ".leader")
    assert path is not None and path.parent == migration_lock_file(sqlite_engine).parent
    a, b = leadership_for(sqlite_engine, "a"), leadership_for(sqlite_engine, "b")
    assert isinstance(a, FileLeader)
    assert (a.check(), b.check()) == (True, False)
    assert path.read_text().strip() == "a"
    a.release()
    assert b.check() is True and path.read_text().strip() == "b"
    b.release()


def test_sqlite_file_lock_of_a_killed_process_is_taken_over(sqlite_engine):
    path = lock_file(sqlite_engine, ".leader")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        follower = FileLeader(path, "b")
        assert follower.check() is False
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert follower.check() is True
        follower.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


async def test_two_schedulers_on_postgres_run_timed_work_only_on_the_leader_and_fail_over(pg_engine):
    settings = Settings(server={"leader_poll_seconds": 0.2}, digests={"enabled": False}, alerts={"enabled": False})
    runs: dict[str, int] = {"a": 0, "b": 0}

    def work(name: str):  # noqa: ANN202
        async def run() -> str:
            runs[name] += 1
            return "ok"
        return run

    schedulers = {}
    for name in ("a", "b"):
        jobs = JobScheduler(settings, None, None, leader=PostgresLeader(pg_engine, name))
        jobs.add_timed("test.tick", "test tick", work(name), 0.1)
        schedulers[name] = jobs
    try:
        for jobs in schedulers.values():
            await jobs.start()
        await wait_until(lambda: runs["a"] + runs["b"] >= 3, 30, "the leader's timed work")
        leading = [n for n, j in schedulers.items() if j.is_leader]
        assert len(leading) == 1
        leader, other = leading[0], "b" if leading[0] == "a" else "a"
        assert runs[other] == 0
        assert terminate(pg_engine, leader) == 1
        await wait_until(lambda: schedulers[other].is_leader, 30, "the follower to take over")
        await wait_until(lambda: runs[other] >= 2, 30, "the new leader's timed work")
        await wait_until(lambda: not schedulers[leader].is_leader, 30, "the old leader to step down")
        assert schedulers[leader].scheduler.get_job("test.tick") is None
        settled = runs[leader]
        await asyncio.sleep(0.5)
        assert runs[leader] == settled  # a follower runs no timed work
    finally:
        for jobs in schedulers.values():
            jobs.stop()


async def test_sqlite_scheduler_leads_through_the_file_lock(sqlite_engine):
    settings = Settings(server={"leader_poll_seconds": 0.2}, digests={"enabled": False}, alerts={"enabled": False})
    a = JobScheduler(settings, None, None, leader=leadership_for(sqlite_engine, "a"))
    b = JobScheduler(settings, None, None, leader=leadership_for(sqlite_engine, "b"))
    try:
        await a.start()
        await b.start()
        assert (a.is_leader, b.is_leader) == (True, False)
        a.stop()  # releases the lock
        await wait_until(lambda: b.is_leader, 30, "b to take over")
    finally:
        a.stop()
        b.stop()


def test_migrations_from_two_threads_at_once_run_once(backend, db_factory):  # noqa: ANN001
    url = db_factory.url(backend)
    engines = [make_engine(url), make_engine(url)]
    errors: list[BaseException] = []

    def run(engine) -> None:  # noqa: ANN001
        try:
            migrate(engine)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    try:
        assert errors == []
        ok, checks = asyncio.run(readiness(engines[0]))
        assert ok and checks == {"database": "ok", "migrations": "ok"}
    finally:
        for e in engines:
            e.dispose()


async def test_readiness_is_false_while_a_migration_holds_the_lock(engine):  # noqa: ANN001
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            holder.commit()
            ok, checks = await readiness(engine)
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            holder.commit()
    else:
        import fcntl

        fd = os.open(migration_lock_file(engine), os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            ok, checks = await readiness(engine)
        finally:
            os.close(fd)
    assert not ok and checks["migrations"] == "running"
    assert (await readiness(engine))[0] is True


async def test_a_poke_on_a_follower_checks_the_alerts_there(sqlite_engine, tmp_path):
    """The documented choice: an event-API batch landing on a follower is checked there and then (the alert
    job lease keeps checks one at a time across replicas), not left for the leader's next interval."""
    from apscheduler.events import EVENT_JOB_EXECUTED

    from bot.jobs.alerts import AlertJob

    settings = Settings(server={"leader_poll_seconds": 0.2}, digests={"enabled": False},
                        general={"data_dir": str(tmp_path)})
    leader = JobScheduler(settings, None, None, leader=leadership_for(sqlite_engine, "a"))
    follower = JobScheduler(settings, None, AlertJob(settings, sqlite_engine, owner="b"),
                            leader=leadership_for(sqlite_engine, "b"))
    done: list[str] = []
    follower.scheduler.add_listener(lambda event: done.append(event.job_id), EVENT_JOB_EXECUTED)
    try:
        await leader.start()
        await follower.start()
        assert leader.is_leader and not follower.is_leader
        assert follower.scheduler.get_job("alerts.tick") is None  # no timed checks on a follower
        follower.poke_alerts()
        await wait_until(lambda: "alerts.poke" in done, 60, "the poke's check on the follower")
    finally:
        leader.stop()
        follower.stop()
