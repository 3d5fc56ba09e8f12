"""Real ``csbot serve`` processes (SQLite file and PostgreSQL) against a local fake DingTalk that checks
signatures and session webhooks: signed callbacks acknowledged, the process killed with SIGKILL while
every reply is still in flight (the fake holds them and drops them once their sender is gone),
restarted — each acknowledged command answered exactly once; the same signed request replayed after
the restart is refused (409) and answered no more; a vendor retry sent to a second replica on the
same database is answered once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from analytics.store import open_database
from analytics.store.inbox import InboxMessage
from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.test_digest_replicas import free_port

ROOT = Path(__file__).resolve().parent.parent
N = 12
CHILD = "import sys; from bot import cli; sys.exit(cli.main(sys.argv[1:]))"


def write_config(path: Path, url: str, fake: FakeDingTalk, port: int, data_dir: Path) -> Path:
    path.write_text(f"""
[general]
data_dir = "{data_dir}"
[database]
url = "{url}"
[server]
port = {port}
inbox_lease_seconds = 30
[dingtalk]
app_key = "{fake.app_key}"
app_secret = "{fake.app_secret}"
robot_code = "{fake.robot_code}"
oapi_base = "{fake.base_url}"
api_base = "{fake.base_url}"
[delivery]
poll_seconds = 0.5
""", encoding="utf-8")
    return path


class Serve:
    """``csbot serve`` child processes by name, each on its own port, all on one database."""

    def __init__(self, tmp: Path, url: str, fake: FakeDingTalk):
        self.tmp, self.url, self.fake = tmp, url, fake
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.ports: dict[str, int] = {}

    async def start(self, name: str) -> None:
        port = free_port()
        cfg = write_config(self.tmp / f"{name}.toml", self.url, self.fake, port, self.tmp / "data")
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115, ASYNC230 - closed with the process
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("CSBOT_CONFIG", None)
        self.procs[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, "--config", str(cfg), "serve", cwd=str(self.tmp), env=env,
            stdout=log, stderr=log)
        self.ports[name] = port
        await self.wait_ready(name)

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

    async def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        await self.procs[name].wait()

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-4000:]

    async def post(self, name: str, data: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(f"http://127.0.0.1:{self.ports[name]}/dingtalk/callback", content=data,
                                   headers=headers)

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


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        yield server


@pytest.fixture
async def serve(backend, db_factory, fake, tmp_path):
    url = db_factory.url(backend)
    engine = open_database(url)  # migrated before the processes start, as a deploy step would
    group = Serve(tmp_path, url, fake)
    group.engine = engine
    yield group
    await group.stop_all()
    engine.dispose()


def replies(fake: FakeDingTalk) -> Counter[str]:
    """Replies per session webhook (one session per callback, so per message)."""
    return Counter(s.target for s in fake.sent if s.kind == "session")


def session_of(payload: dict) -> str:
    return payload["sessionWebhook"].rsplit("session=", 1)[1]


def inbox_statuses(engine) -> Counter[str]:  # noqa: ANN001
    with Session(engine) as s:
        return Counter(s.exec(select(InboxMessage.status)).all())


async def wait_until(predicate, within: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_kill_9_after_the_acks_then_restart_answers_each_command_once(serve, fake):
    await serve.start("a")
    fake.delay_s = 5.0  # every live reply hangs at the vendor until csbot is gone (then it is dropped)
    sent = []
    for i in range(N):
        payload = callback_payload(fake, "/帮助", staff_id=f"staff{i:03d}")
        data, headers = body(payload), signed_headers(fake.app_secret)
        resp = await serve.post("a", data, headers)
        assert resp.status_code == 200 and resp.json()["errcode"] == 0, resp.text
        sent.append((payload, data, headers))
    assert inbox_statuses(serve.engine) == {"pending": N}  # stored before each 200
    await serve.kill("a")
    killed_at = time.monotonic()
    assert replies(fake) == {}  # nothing was delivered before the kill
    fake.delay_s = 0.0
    await serve.start("a")
    sessions = {session_of(p) for p, _, _ in sent}
    await wait_until(lambda: set(replies(fake)) >= sessions, 30, "every command answered")
    await wait_until(lambda: inbox_statuses(serve.engine) == {"done": N}, 10, "every inbox row done")
    # a captured valid request replayed after the restart (inside the signature window) is not answered again
    payload, data, headers = sent[0]
    resp = await serve.post("a", data, headers)
    assert resp.status_code == 409, resp.text
    await asyncio.sleep(2)  # more inbox rounds: nothing else may go out
    await asyncio.sleep(max(0.0, killed_at + 6.0 - time.monotonic()))  # every send held at the kill has resolved
    assert 0 < len(fake.dropped) <= N  # those the killed process had started: dropped, never delivered
    assert replies(fake) == Counter(dict.fromkeys(sessions, 1))
    assert all("帮助" in s.markdown or "命令" in s.markdown for s in fake.sent if s.kind == "session")


@pytest.mark.slow
async def test_a_vendor_retry_to_a_second_replica_is_answered_once(serve, fake):
    await asyncio.gather(serve.start("a"), serve.start("b"))
    payload = callback_payload(fake, "/帮助")
    data = body(payload)
    first = await serve.post("a", data, signed_headers(fake.app_secret))
    retry = await serve.post("b", data, signed_headers(fake.app_secret))  # the same msgId, to the other replica
    assert first.status_code == 200 and retry.status_code == 409, (first.text, retry.text)
    await wait_until(lambda: replies(fake), 20, "the reply")
    await asyncio.sleep(2)
    assert replies(fake) == {session_of(payload): 1}
    assert inbox_statuses(serve.engine) == {"done": 1}
