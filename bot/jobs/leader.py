"""Leader election for timed work: one ``csbot serve`` replica runs the scheduled jobs, the others wait.

- **PostgreSQL**: ``pg_try_advisory_lock`` on a *dedicated* connection (its own engine without a pool,
  so the lock never goes back to a pool with the session) held for as long as this replica leads. The
  lock belongs to the database session: when the leader process dies (even ``kill -9``) the server
  ends its session and the lock is free at once; a follower's next :meth:`check` takes it. A leader
  checks its own connection on every :meth:`check` (``SELECT 1``): a lost connection is lost leadership.
- **SQLite** (one host): ``fcntl.flock`` on a file next to the database (``csbot.db.leader``), held by
  an open file descriptor; the kernel releases it when the process dies.
- An in-memory SQLite database belongs to one process: that process always leads.

Leadership is an optimisation and the fail-over path, not the once-only guarantee: a leader whose
connection broke may still be finishing a job when another replica takes over, so the jobs keep their
database claims (``bot.jobs.runs`` for digests, the ``bot.jobs.lease`` job lease for alerts), which make
each digest and each alert check happen once whoever runs it.

:meth:`Leadership.check` blocks (database or file I/O): the scheduler calls it in a thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

#: The advisory lock key of the leader (any bigint; "csbotldr" in ASCII).
LEADER_LOCK_KEY = 0x6373626F746C6472


class Leadership(Protocol):
    """Who runs the timed work: :meth:`check` tries to become (or stay) leader and says whether it is."""

    replica: str
    kind: str

    @property
    def is_leader(self) -> bool: ...

    def check(self) -> bool: ...

    def release(self) -> None: ...


class AlwaysLeader:
    """One process owns the database (in-memory SQLite, tests of one replica): it always leads."""

    kind = "single"

    def __init__(self, replica: str):
        self.replica = replica

    @property
    def is_leader(self) -> bool:
        return True

    def check(self) -> bool:
        return True

    def release(self) -> None:
        return None


class PostgresLeader:
    """Leader while this replica's dedicated session holds ``pg_try_advisory_lock(key)``."""

    kind = "postgresql"

    def __init__(self, engine: Engine, replica: str, *, key: int = LEADER_LOCK_KEY, connect_timeout: int = 5):
        self.replica = replica
        self.key = key
        # Its own engine without a pool: closing the connection really ends the session (and the lock).
        # TCP keepalives and tcp_user_timeout: a leader cut off from the server notices within seconds
        # instead of hanging on a dead socket.
        self._engine = create_engine(engine.url, poolclass=NullPool, connect_args={
            "connect_timeout": connect_timeout, "application_name": f"csbot leader {replica}"[:63],
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
            "tcp_user_timeout": 10_000, "client_encoding": "utf8"})  # as analytics.store.db.make_engine
        self._conn: Connection | None = None
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    def check(self) -> bool:
        if self._leading:
            if self._alive():
                return True
            log.warning("leader %s: lost the database session holding the leader lock; no longer leader",
                        self.replica)
            self._drop()
            # Step back for one poll: a session the server ended may still be exiting (the lock frees
            # when it has), and a replica that just lost its session should let a follower lead rather
            # than race it for the lock the moment it is free.
            return False
        return self._try()

    def _alive(self) -> bool:
        try:
            assert self._conn is not None
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # noqa: BLE001 - any failure of the session means the lock may be gone
            return False

    def _try(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
            got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            self._conn.commit()
        except Exception as exc:  # noqa: BLE001 - the database is down: follower until it answers again
            log.warning("leader %s: cannot reach the database to take the leader lock (%s)", self.replica,
                        type(exc).__name__)
            self._drop()
            return False
        if got:
            self._leading = True
            log.info("leader %s: took the leader lock; running the timed jobs", self.replica)
        return got

    def _drop(self) -> None:
        self._leading = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
            with contextlib.suppress(Exception):
                conn.close()

    def release(self) -> None:
        """Give up leadership (graceful shutdown): closing the session frees the lock for a follower now."""
        if self._leading:
            log.info("leader %s: releasing the leader lock", self.replica)
        self._drop()
        self._engine.dispose()


class FileLeader:
    """Leader while this process holds an exclusive ``flock`` on ``path`` (one host, SQLite)."""

    kind = "file"

    def __init__(self, path: Path, replica: str):
        self.replica = replica
        self.path = path
        self._fd: int | None = None

    @property
    def is_leader(self) -> bool:
        return self._fd is not None

    def check(self) -> bool:
        import fcntl

        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{self.replica}\n".encode())  # who leads, for whoever looks at the file
        self._fd = fd
        log.info("leader %s: took %s; running the timed jobs", self.replica, self.path)
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock


def lock_file(engine: Engine, suffix: str) -> Path | None:
    """The file next to a SQLite database file that carries one of its locks; None for :memory:."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).expanduser().with_name(Path(database).name + suffix)


def leadership_for(engine: Engine, replica: str) -> Leadership:
    """The election that fits the database: an advisory lock on PostgreSQL, a file lock on SQLite."""
    if engine.dialect.name == "postgresql":
        return PostgresLeader(engine, replica)
    path = lock_file(engine, ".leader")
    return FileLeader(path, replica) if path is not None else AlwaysLeader(replica)
