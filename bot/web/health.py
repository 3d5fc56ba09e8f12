"""Readiness: the database answers, no migration is running (here or on another replica) and every
migration head is applied."""

from __future__ import annotations

import asyncio
import functools
import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from analytics.store.db import alembic_config, migrations_running

log = logging.getLogger(__name__)


@functools.cache
def expected_heads() -> frozenset[str]:
    """The head revisions shipped with this code (parsed once)."""
    script = ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]
    return frozenset(script.get_heads())


def _check(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        if migrations_running(conn):
            return {"database": "ok", "migrations": "running"}
        current = set(MigrationContext.configure(conn).get_current_heads())
    missing = expected_heads() - current
    return {"database": "ok", "migrations": "ok" if not missing else f"missing {sorted(missing)}"}


async def readiness(engine: Engine | None) -> tuple[bool, dict[str, str]]:
    """(ready, per-check status) without blocking the event loop."""
    if engine is None:
        return False, {"database": "not configured"}
    try:
        checks = await asyncio.wait_for(asyncio.to_thread(_check, engine), timeout=5.0)
    except TimeoutError:
        return False, {"database": "timeout"}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported by type only
        log.warning("readiness check failed: %s", type(exc).__name__)
        return False, {"database": f"error: {type(exc).__name__}"}
    return all(v == "ok" for v in checks.values()), checks
