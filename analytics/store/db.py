"""Engine creation and schema migrations (Alembic, applied automatically on start)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from analytics.store import sqlite_gate

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their parent folder created."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # CSBOT_SQLITE_GATE=1: this process's writers queue at an in-process gate (ack path first) instead of
        # busy-waiting. Off by default: with it on, tests/test_digest_replicas.py's kill-mid-send case sent a
        # weekly digest twice once (not reproduced on the rerun, passed with it off); see bench/server/README.md.
        if os.environ.get("CSBOT_SQLITE_GATE", "0") == "1":
            sqlite_gate.install(engine)
        return engine
    # Session options, no server change. jit=off: PostgreSQL compiles a query to machine code once its cost
    # estimate passes jit_above_cost, and csbot's rollup reads over a year (estimated high, run in tens of
    # ms) paid 150 ms of compilation each (EXPLAIN ANALYZE: "JIT … Total 155.956 ms" of a 408 ms trend
    # read). parallel_setup_cost 10x the default: a year's /投诉 per-mille read (1,500 rollup rows) was
    # handed to two parallel workers whose start-up took 12 of its 13 ms; big raw scans still go parallel.
    # client_encoding=utf8: on a database whose encoding is SQL_ASCII (initdb without a locale) the server's
    # default client encoding is SQL_ASCII too, psycopg then returns text as bytes and the first connect
    # failed ("cannot use a string pattern on a bytes-like object"); any other server encoding converts.
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10,
                         connect_args={"options": "-c jit=off -c parallel_setup_cost=10000",
                                       "client_encoding": "utf8"})


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


#: The PostgreSQL advisory lock key held while migrations run ("csbotmig" in ASCII).
MIGRATION_LOCK_KEY = 0x6373626F746D6967
_migrating = threading.Event()


def migration_lock_file(engine: Engine) -> Path | None:
    """The file next to a SQLite database that serialises its migrations; None for :memory:."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    path = Path(database).expanduser()
    return path.with_name(path.name + ".migrate")


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    import fcntl

    path = migration_lock_file(engine)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until another process's migration is done
        yield
    finally:
        os.close(fd)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch (idempotent), once however many replicas
    start together: on PostgreSQL inside a transaction that first takes the migration advisory lock
    (``pg_advisory_xact_lock``, freed at commit), on SQLite under an exclusive ``flock`` on a file next
    to the database. Whoever gets the lock second finds the schema current and does nothing."""
    _migrating.set()
    try:
        with _sqlite_migration_lock(engine), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    finally:
        _migrating.clear()


def migrations_running(conn: Connection) -> bool:
    """Whether a migration runs now, in this process or (PostgreSQL, SQLite file) in any other."""
    if _migrating.is_set():
        return True
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                 "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                                 "AND classid = :hi AND objid = :lo AND objsubid = 1)"),
                            {"hi": MIGRATION_LOCK_KEY >> 32, "lo": MIGRATION_LOCK_KEY & 0xFFFFFFFF}).scalar() is True
    path = migration_lock_file(conn.engine)
    if path is None or not path.exists():
        return False
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def refresh_statistics(engine: Engine, table: str | None = None, added: int | None = None) -> None:
    """Refresh the query planner's statistics after a bulk write: one table after a file import, everything
    after a rollup rebuild.

    Without them SQLite plans from fixed guesses and can drive a join from a whole-year index for an
    hour's rows (measured: seconds instead of milliseconds at 5M orders); sampled statistics
    (``analysis_limit``) are no better, they get low-cardinality columns wrong by 1000×. So SQLite runs a
    full ``ANALYZE`` of the table, but only when it has no statistics yet or ``added`` rows are over a
    tenth of what it had (a daily file into a big table does not pay a full scan each time).
    PostgreSQL's ``ANALYZE`` samples a fixed number of rows, so it always runs.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite" and table is not None:
            stat = conn.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE tbl = ? LIMIT 1", (table,)).first() \
                if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() else None
            rows = int(str(stat[0]).split()[0]) if stat else 0
            if stat is not None and added is not None and added * 10 < rows:
                return
        conn.exec_driver_sql(f'ANALYZE "{table}"' if table else "ANALYZE")


def open_database(url: str, *, echo: bool = False) -> Engine:
    """Create the engine and apply migrations: what every entry point calls on start."""
    engine = make_engine(url, echo=echo)
    migrate(engine)
    return engine


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


DATA_TABLES = ("messages", "conversations", "complaints", "returns", "orders", "reviews", "kb_entries", "roster_shifts")


def reset_data(engine: Engine) -> None:
    """Delete every imported row (keeps the schema); used by ``csbot demo --fresh``."""
    from sqlalchemy import text

    present = table_names(engine)
    with engine.begin() as conn:
        for name in DATA_TABLES:
            if name in present:
                conn.execute(text(f"DELETE FROM {name}"))
