"""``forget``: delete one customer's rows and text everywhere (个人信息保护法 第四十七条: deletion on request).

A customer's rows are their conversations (``customer_id``) with those conversations' messages, their
orders with those orders' returns and reviews, and the complaints tied to either (``conversation_id`` or
``order_id``); 质检 rows go with the conversations. They are deleted through
:func:`analytics.privacy.rows.delete_rows`, so rollups, 热词 and 质检 sums stay what a rebuild gives, and then
every other table is scrubbed of the customer's id and texts (:mod:`analytics.privacy.scrub`). One
transaction: a failure leaves everything as it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, or_, select

from analytics.privacy.rows import TABLES, delete_rows, ids_where
from analytics.privacy.scrub import needles, scrub

CONV, MSG, ORDER = TABLES["conversations"], TABLES["messages"], TABLES["orders"]
COMPLAINT, RETURN, REVIEW = TABLES["complaints"], TABLES["returns"], TABLES["reviews"]


@dataclass
class Forgotten:
    """What :func:`forget_customer` found (``dry_run``) or deleted: rows per kind, and rows redacted in
    the other tables."""

    reference: str  # a one-way reference to the customer for the audit trail (never the id itself)
    deleted: dict[str, int] = field(default_factory=dict)
    redacted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def reference(customer_id: str) -> str:
    """``客户#<12 hex>``: lets an auditor check which id a deletion was for without keeping the id."""
    return "客户#" + hashlib.sha256(customer_id.encode("utf-8")).hexdigest()[:12]


def customer_rows(conn: Connection, customer_id: str) -> dict[str, set[str]]:
    """Ids per raw kind of the rows that belong to ``customer_id``."""
    convs = ids_where(conn, "conversations", CONV.c.customer_id == customer_id)
    orders = ids_where(conn, "orders", ORDER.c.customer_id == customer_id)
    rows = {"conversations": convs, "orders": orders, "messages": set(), "returns": set(), "reviews": set(),
            "complaints": set()}
    for chunk in _chunks(sorted(convs)):
        rows["messages"] |= ids_where(conn, "messages", MSG.c.conversation_id.in_(chunk))
        rows["complaints"] |= ids_where(conn, "complaints", COMPLAINT.c.conversation_id.in_(chunk))
    for chunk in _chunks(sorted(orders)):
        rows["returns"] |= ids_where(conn, "returns", RETURN.c.order_id.in_(chunk))
        rows["reviews"] |= ids_where(conn, "reviews", REVIEW.c.order_id.in_(chunk))
        rows["complaints"] |= ids_where(conn, "complaints", COMPLAINT.c.order_id.in_(chunk))
    return rows


def _texts(conn: Connection, rows: dict[str, set[str]]) -> list[str]:
    texts: list[str] = []
    for kind, table, column in (("messages", MSG, MSG.c.text), ("complaints", COMPLAINT, COMPLAINT.c.text),
                                ("reviews", REVIEW, REVIEW.c.text), ("returns", RETURN, RETURN.c.reason)):
        key = next(iter(table.primary_key.columns))
        for chunk in _chunks(sorted(rows[kind])):
            texts += [t for t in conn.execute(select(column).where(key.in_(chunk))).scalars() if t]
    return texts


def _chunks(items: list[str], size: int = 1000) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def forget_customer(engine: Engine, customer_id: str, *, dry_run: bool = False) -> Forgotten:
    """Delete ``customer_id``'s rows and redact their id and texts everywhere else, in one transaction
    (``dry_run``: count what would go, change nothing)."""
    customer_id = customer_id.strip()
    if not customer_id:
        raise ValueError("客户编号不能为空")
    result = Forgotten(reference(customer_id))
    with engine.begin() as conn:
        rows = customer_rows(conn, customer_id)
        result.deleted = {kind: len(ids) for kind, ids in rows.items() if ids}
        if dry_run:
            return result
        found = needles(customer_id, _texts(conn, rows), [*rows["orders"], *rows["conversations"]])
        delete_rows(conn, rows)
        result.redacted = scrub(conn, found)
    return result


def has_customer(engine: Engine, customer_id: str) -> bool:
    with engine.connect() as conn:
        stmt = select(CONV.c.conversation_id).where(CONV.c.customer_id == customer_id).limit(1)
        if conn.execute(stmt).first() is not None:
            return True
        stmt = select(ORDER.c.order_id).where(or_(ORDER.c.customer_id == customer_id)).limit(1)
        return conn.execute(stmt).first() is not None
