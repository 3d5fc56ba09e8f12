"""Engine creation and schema migrations (Alembic, applied automatically on start)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

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
        return engine
    # Session options, no server change. jit=off: PostgreSQL compiles a query to machine code once its cost
    # estimate passes jit_above_cost, and csbot's rollup reads over a year (estimated high, run in tens of
    # ms) paid 150 ms of compilation each (EXPLAIN ANALYZE: "JIT … Total 155.956 ms" of a 408 ms trend
    # read). parallel_setup_cost 10x the default: a year's /投诉 per-mille read (1,500 rollup rows) was
    # handed to two parallel workers whose start-up took 12 of its 13 ms; big raw scans still go parallel.
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10,
                         connect_args={"options": "-c jit=off -c parallel_setup_cost=10000"})


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch (idempotent)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


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
