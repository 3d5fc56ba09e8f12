"""Redact a person's traces from every table that only *mentions* them: audit excerpts, outbox texts,
alert states, FAQ phrasings, inbox rows — whatever tables exist, found by reflection.

The tables whose rows *belong* to a customer (raw data) are deleted row by row elsewhere
(:mod:`analytics.privacy.rows`); the derived stores kept by counts (rollups, 热词, 质检 sums) hold no text.
Every other table's text and JSON columns are read in primary-key pages, and each occurrence of a
needle — the customer id, their texts (raw and as mask_pii shows them), the phone numbers and other
personal numbers in those texts, their order and conversation ids — is replaced by ``[已删除]``. Rows
are kept (the audit trail still says a command ran, the outbox row still de-duplicates).

The FAQ clustering state (``faq_state``, a compressed JSON blob) forgets the questions taken from the
customer's texts and the kept extractions of those texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Connection, LargeBinary, MetaData, String, Table, Text, select, tuple_, update

from analytics.textmodel.pii import CARD, EMAIL, ID_CARD, LANDLINE, MOBILE, mask_pii

REDACTED = "[已删除]"
#: Tables not scanned: raw rows are deleted whole, counts and leases hold no text, the schema version none;
#: qa_scripts rows are one conversation's own question and reply, deleted with it (analytics.qa.maintain.remove).
SKIPPED = frozenset({"conversations", "messages", "complaints", "orders", "returns", "reviews", "term_hours",
                     "rollup_state", "qa_conversations", "qa_findings", "qa_sums", "qa_scripts", "alembic_version",
                     "job_leases", "roster_shifts"})
_PAGE = 2000
_MIN_TEXT = 4  # shorter texts (好的, 谢谢) are everyone's words, not a trace of one customer
_PERSONAL = (EMAIL, ID_CARD, CARD, MOBILE, LANDLINE)


def needles(customer_id: str | None, texts: Iterable[str], ids: Iterable[str] = ()) -> list[str]:
    """What identifies a person in free text: their id, their texts raw and masked, the personal numbers
    in those texts (digits as written and compacted), and their order / conversation ids."""
    found: set[str] = {customer_id} if customer_id else set()
    found |= {i for i in ids if i and len(i) >= 4}
    for text in texts:
        if not text:
            continue
        for variant in (text.strip(), mask_pii(text).strip()):
            if len(variant) >= _MIN_TEXT and re.sub(r"\[[^\]]{1,10}\]|\W", "", variant):
                found.add(variant)
        for pattern in _PERSONAL:
            for m in pattern.finditer(text):
                found.add(m.group(0))
                found.add(re.sub(r"\D", "", m.group(0)) or m.group(0))
    return sorted((n for n in found if len(n) >= 3), key=len, reverse=True)


def _pattern(items: list[str]) -> re.Pattern[str]:
    # An id must not match inside a longer id (U12 in U123): no letter or digit right before or after.
    return re.compile(r"(?<![0-9A-Za-z])(?:" + "|".join(map(re.escape, items)) + r")(?![0-9A-Za-z])")


def _redact(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, pattern) for k, v in value.items()}
    return value


def _columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, (String, Text, JSON)) and not c.primary_key]


def scrub(conn: Connection, items: list[str]) -> dict[str, int]:
    """Replace ``items`` in every text and JSON column of the scanned tables; rows changed per table."""
    if not items:
        return {}
    pattern = _pattern(items)
    meta = MetaData()
    meta.reflect(conn)
    changed: dict[str, int] = {}
    for table in meta.sorted_tables:
        if table.name in SKIPPED or table.name.startswith("rollup_") or not table.primary_key.columns:
            continue
        if table.name == "faq_state":
            changed[table.name] = _scrub_faq_state(conn, table, items, pattern)
            continue
        n = _scrub_table(conn, table, pattern)
        if n:
            changed[table.name] = n
    return {k: v for k, v in changed.items() if v}


def _scrub_table(conn: Connection, table: Table, pattern: re.Pattern[str]) -> int:
    columns = _columns(table)
    if not columns:
        return 0
    key = list(table.primary_key.columns)
    changed, last = 0, None
    while True:
        stmt = select(*key, *columns).order_by(*key).limit(_PAGE)
        if last is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*last)) if len(key) > 1 else stmt.where(key[0] > last[0])
        rows = conn.execute(stmt).all()
        if not rows:
            return changed
        for row in rows:
            values = {}
            for column in columns:
                old = row._mapping[column.name]
                new = _redact(old, pattern)
                if new != old:
                    values[column.name] = new
            if values:
                conn.execute(update(table).where(*[k == row._mapping[k.name] for k in key]).values(**values))
                changed += 1
        last = tuple(rows[-1]._mapping[k.name] for k in key)


def _scrub_faq_state(conn: Connection, table: Table, items: list[str], pattern: re.Pattern[str]) -> int:
    """Drop the customer's questions from the kept clustering state (the next refresh assigns new ones) and
    the kept extractions of their texts (keyed by ``analytics.faq.suggest.text_key``)."""
    from analytics.faq.ledger import pack_state, unpack_state
    from analytics.faq.suggest import text_key

    blobs = [c for c in table.columns if isinstance(c.type, LargeBinary)]
    if not blobs or "name" not in table.c:
        return 0
    texts = [i for i in items if len(i) >= _MIN_TEXT]
    changed = 0
    for name, blob in conn.execute(select(table.c.name, blobs[0])).all():
        state = unpack_state(blob)
        if not state:
            continue
        labels = state.get("labels")
        if isinstance(labels, dict):
            kept = {q: v for q, v in labels.items()
                    if not pattern.search(q) and not any(q in t for t in texts if len(q) >= _MIN_TEXT)}
            if len(kept) != len(labels):
                state["labels"] = kept
        extracted = state.get("extracted")
        if isinstance(extracted, dict):
            theirs = {text_key(t) for t in items}
            state["extracted"] = {k: v for k, v in extracted.items() if k not in theirs}
        cleaned = _redact(state, pattern)
        if cleaned != unpack_state(blob):
            conn.execute(update(table).where(table.c.name == name).values({blobs[0].name: pack_state(cleaned)}))
            changed += 1
    return changed
