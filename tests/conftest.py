"""Shared fixtures: real databases (a SQLite file and a throwaway PostgreSQL database)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from analytics.store.db import open_database

PG_ADMIN_URL = os.environ.get("CSBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin():
    import psycopg

    url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _pg_available() -> bool:
    try:
        with _pg_admin():
            return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_server() -> bool:
    if _pg_available():
        return True
    if os.environ.get("CSBOT_TEST_SKIP_PG") == "1":
        pytest.skip("PostgreSQL not reachable and CSBOT_TEST_SKIP_PG=1")
    pytest.fail(f"PostgreSQL is not answering at {PG_ADMIN_URL}; start it (see .ci/run) or set CSBOT_TEST_SKIP_PG=1")


class DatabaseFactory:
    """Creates fresh databases for tests and removes them afterwards."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory):
        self._tmp = tmp_path_factory
        self._pg_dbs: list[str] = []
        self._engines: list[Engine] = []

    def url(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self._tmp.mktemp('db') / 'csbot.db'}"
        name = f"csbot_test_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._pg_dbs.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def engine(self, backend: str) -> Engine:
        engine = open_database(self.url(backend))
        self._engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        if not self._pg_dbs:
            return
        with _pg_admin() as conn:
            for name in self._pg_dbs:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """Per test: its databases are disposed and dropped right after it, so PostgreSQL never
    accumulates idle connections or throwaway databases over a long run."""
    factory = DatabaseFactory(tmp_path_factory)
    yield factory
    factory.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("pg_server")
    return request.param


@pytest.fixture
def engine(backend: str, db_factory: DatabaseFactory) -> Engine:
    """A fresh, migrated database on each backend (SQLite file, PostgreSQL server)."""
    return db_factory.engine(backend)


@pytest.fixture
def sqlite_engine(db_factory: DatabaseFactory) -> Engine:
    return db_factory.engine("sqlite")


@pytest.fixture
def make_engine(db_factory: DatabaseFactory) -> Callable[[str], Engine]:
    return db_factory.engine
