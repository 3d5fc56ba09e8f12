"""Deployment: the compose file validates and its environment is a config csbot accepts; the image runs
as non-root with the CJK font and checks its config at build; ``csbot serve --check-config`` tells a
bad config in words without printing secrets. (Building and running the image needs a Docker daemon,
which CI does not have: docs/deploy.md has the commands.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
yaml = pytest.importorskip("yaml")


def _compose_cmd() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def _environment() -> dict[str, str]:
    """The csbot service's environment with compose's ${VAR:-default} interpolation applied."""
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["csbot"]
    values = {"POSTGRES_PASSWORD": "pw-from-env"}

    def sub(text: str) -> str:
        return re.sub(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}", lambda m: values.get(m.group(1), m.group(2) or ""), text)

    return {k: sub(str(v)) for k, v in service["environment"].items()}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_")}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**clean, **env}, timeout=120)


def test_compose_file_validates():
    cmd = _compose_cmd()
    if cmd is None:
        pytest.skip("no docker-compose / docker compose here (.ci/run installs Debian's docker-compose)")
    ok = subprocess.run([*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                        env={**os.environ, "POSTGRES_PASSWORD": "x"})
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run([*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}, cwd="/")
    assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr


def test_compose_services_have_healthchecks_volumes_and_postgres():
    spec = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    db, app = spec["services"]["postgres"], spec["services"]["csbot"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"]) and "/readyz" in " ".join(app["healthcheck"]["test"])
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert {"pgdata", "csbot-data"} <= set(spec["volumes"])
    assert _environment()["CSBOT_DATABASE__URL"] == "postgresql+psycopg://csbot:pw-from-env@postgres:5432/csbot"


def test_compose_environment_is_a_config_csbot_accepts():
    result = _run(["serve", "--check-config"], _environment())
    assert result.returncode == 0, result.stderr
    assert "database postgresql (psycopg)" in result.stdout and "config ok" in result.stdout


def test_check_config_refuses_a_target_without_its_robot_and_keeps_secrets_out():
    secret = "very-secret-app-value-123"
    env = {"CSBOT_ALERTS__TARGETS": '["dingtalk:ops"]', "CSBOT_DINGTALK__APP_SECRET": secret,
           "CSBOT_DATABASE__URL": "sqlite:////tmp/never-opened.db"}
    result = _run(["serve", "--check-config"], env)
    assert result.returncode == 2
    assert "[alerts] targets: 'dingtalk:ops' names no [[dingtalk.robots]] entry called 'ops'" in result.stderr
    assert secret not in result.stdout + result.stderr
    assert not Path("/tmp/never-opened.db").exists()  # checked without opening the database


def test_dockerfile_runs_as_non_root_with_the_cjk_font_and_checks_its_config():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "fonts-wqy-microhei" in text
    assert text.index("USER ") < text.index("RUN csbot serve --check-config") < text.index('CMD ["csbot", "serve"]')


def test_a_database_whose_server_default_is_not_utf8_still_reads_and_writes_chinese(pg_server):
    """A cluster initialised without a locale (initdb's default: SQL_ASCII) used to crash `csbot serve` at
    its first connection: psycopg then returns text as bytes and SQLAlchemy's version probe fails with
    "cannot use a string pattern on a bytes-like object" (found running docker-compose against such a
    server). The engine asks for UTF-8 on every connection, so the server's default does not matter."""
    import uuid

    from sqlalchemy import text

    from analytics.store.db import open_database

    from .conftest import PG_ADMIN_URL, _pg_admin

    name = f"csbot_test_ascii_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
                     "TEMPLATE template0")
    engine = None
    try:
        engine = open_database(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)  # migrations run here
        with engine.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE t (s text)"))
            conn.execute(text("INSERT INTO t VALUES (:s)"), {"s": "满意度 本周"})
            assert conn.execute(text("SELECT s FROM t")).scalar_one() == "满意度 本周"
        from bot.jobs.leader import PostgresLeader  # its own engine, its own first connect

        leader = PostgresLeader(engine, "ascii-test")
        try:
            assert leader.check()
        finally:
            leader.release()
    finally:
        if engine is not None:
            engine.dispose()
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
