"""One writer at a time inside the process, ack path first: a gate in front of SQLite's write lock.

SQLite has one writer. When two threads of one process write, the loser does not queue: it sleeps
in SQLite's busy handler (1, 2, 5 … 100 ms steps, up to ``busy_timeout``) and retries, and a
thread that just committed usually takes the lock again before the sleeper wakes. Under a burst of
event batches the callbacks' inbox INSERT (the row written before the vendor's 200) lost that race
for up to 2.4 s (bench/server/README.md). The gate makes the wait a queue instead: a connection
takes it at its first write statement and gives it back at commit or rollback, and a thread whose
name starts with :data:`PRIORITY_PREFIX` (the dispatcher's ack threads) goes before every ordinary
writer that is waiting, so an accept waits for at most the one write transaction in progress.

Other processes on the same file (``csbot import`` beside ``csbot serve``) still meet SQLite's own
lock and busy timeout. A thread that already holds the gate on one connection and writes on another
(which SQLite would refuse after the busy timeout anyway) waits at most :data:`MAX_WAIT_S` and then
goes on without the gate, so the gate can delay but never deadlock.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from sqlalchemy import Engine, event

PRIORITY_PREFIX = "csbot-ack"
MAX_WAIT_S = 10.0  # = the busy_timeout of analytics.store.db: past it SQLite would give up too
_WRITE = re.compile(r"^\s*(insert|update|delete|replace|create|drop|alter|begin\s+(immediate|exclusive))\b", re.I)
_HELD = "csbot_sqlite_gate"


class WriteGate:
    """A lock with two classes of waiters; priority waiters are served first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False
        self._priority_waiting = 0

    def acquire(self, priority: bool, timeout: float = MAX_WAIT_S) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            if priority:
                self._priority_waiting += 1
            try:
                while self._held or (not priority and self._priority_waiting):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
                self._held = True
                return True
            finally:
                if priority:
                    self._priority_waiting -= 1

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


def install(engine: Engine) -> WriteGate:
    """Put a :class:`WriteGate` in front of ``engine``'s writes (a SQLite engine)."""
    gate = WriteGate()

    def before_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        info = conn.connection.info  # the pooled DBAPI connection's: survives until it is checked in
        if info.get(_HELD) or not _WRITE.match(statement):
            return
        if gate.acquire(threading.current_thread().name.startswith(PRIORITY_PREFIX)):
            info[_HELD] = True

    def release(info: dict[str, Any]) -> None:
        if info.pop(_HELD, False):
            gate.release()

    def release_of(dbapi_conn: Any) -> None:
        try:
            info = dbapi_conn.info
        except (AttributeError, NotImplementedError):  # the engine's first-connect probe: held nothing
            return
        release(info)

    dialect = engine.dialect  # this engine's own instance: released *after* SQLite committed
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def commit(dbapi_conn: Any) -> None:
        try:
            do_commit(dbapi_conn)
        finally:
            release_of(dbapi_conn)

    def rollback(dbapi_conn: Any) -> None:
        try:
            do_rollback(dbapi_conn)
        finally:
            release_of(dbapi_conn)

    def on_checkin(_dbapi_conn: Any, record: Any) -> None:  # a connection returned without either
        release(record.info)

    dialect.do_commit = commit  # type: ignore[method-assign]
    dialect.do_rollback = rollback  # type: ignore[method-assign]
    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine.pool, "checkin", on_checkin)
    return gate
