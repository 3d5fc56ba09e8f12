"""Alembic environment: the connection comes from ``analytics.store.db.migrate``."""

from alembic import context
from sqlmodel import SQLModel

import analytics.store.alerts  # noqa: F401  (alerts, silences, job leases)
import analytics.store.audit  # noqa: F401  (the audit_log table)
import analytics.store.digests  # noqa: F401  (digest subscriptions and runs)
import analytics.store.faq  # noqa: F401  (faq_suggestions, faq_state)
import analytics.store.inbox  # noqa: F401  (inbox, rate_limit_state)
import analytics.store.keyword_models  # noqa: F401  (term_hours)
import analytics.store.models  # noqa: F401  (registers the tables on the metadata)
import analytics.store.outbox  # noqa: F401  (the outbox table)
import analytics.store.qa  # noqa: F401  (质检: qa_conversations, qa_findings, qa_sums)
import analytics.store.rollup_models  # noqa: F401  (rollup tables)
import analytics.store.roster  # noqa: F401  (roster_shifts, the imported 排班表)

target_metadata = SQLModel.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = config.attributes["engine"]
        with engine.begin() as connection:
            _run_with(connection)
    else:
        _run_with(connection)


def _run_with(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
