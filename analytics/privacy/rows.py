"""Delete raw rows with every derived store kept exact: rollups, 热词 counts, 质检 sums, 复购率 predecessors.

The same maintenance an import batch runs (:mod:`analytics.rollups.delta`, ``keywords.before_batch`` /
``after_batch``), with the write being a DELETE. Inside one transaction:

1. per ready rollup, the rows the deletion can change are selected by id — the deleted rows, the rows
   borrowing dimensions from them (a deleted conversation's complaints and messages of other kinds, a
   deleted order's returns), the kept conversations whose derived first response moves (their messages
   are deleted) — and their sums are subtracted;
2. 热词 counts of the deleted customer messages and bad reviews are read; 质检 rows of deleted
   conversations are dropped with their sums (``analytics.qa.maintain.remove``);
3. the rows are deleted, first responses of the kept conversations recomputed, the customers' orders
   re-sequenced (复购率: the orders whose predecessors move leave with the old ones and come back);
4. the selected rows still there are added back, emptied buckets pruned, 热词 counts subtracted, kept
   conversations re-checked by 质检.

So the rollup tables equal a rebuild afterwards (the tests compare them), at a cost that depends on the
rows deleted, not on the table.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import Connection, delete, select, text

from analytics import keywords
from analytics.ingest.upsert import recompute_first_response
from analytics.qa import recheck
from analytics.qa.maintain import remove as remove_qa
from analytics.rollups import SPECS, delta, is_ready, repeat
from analytics.rollups.maintain import _PG_LOCK, REPEAT_KINDS
from analytics.rollups.specs import CONV, LINKS, MSG
from analytics.store.models import Complaint, Conversation, Message, Order, Return, Review

#: Raw kinds in the order their rows are deleted (children before the rows they borrow from).
KINDS = ("messages", "complaints", "returns", "reviews", "conversations", "orders")
TABLES = {"conversations": Conversation.__table__, "messages": Message.__table__,
          "complaints": Complaint.__table__, "orders": Order.__table__, "returns": Return.__table__,
          "reviews": Review.__table__}
ID_COLUMNS = {kind: table.c[next(c.name for c in table.primary_key.columns)] for kind, table in TABLES.items()}
_LINKED_KIND = {"conversation_id": "conversations", "order_id": "orders"}
_CHUNK = 2000


def _raw_kind(spec_kind: str) -> str:
    table = SPECS[spec_kind].id_column.table
    return next(kind for kind, t in TABLES.items() if t is table)


def _selection(conn: Connection, target: str, doomed: Mapping[str, set[str]], moved_frt: set[str]) -> set[str]:
    """Ids (of the rollup's own raw table) whose contribution to ``target`` the deletion can change."""
    spec = SPECS[target]
    ids = set(doomed.get(_raw_kind(target), ()))
    link = LINKS.get(target)
    if link is not None:
        parents = doomed.get(_LINKED_KIND[link.name], set())
        ids |= delta.rows_in(conn, spec.id_column, link, parents)
    if spec.id_column.table is CONV:
        ids |= moved_frt
    return ids


def delete_rows(conn: Connection, doomed: Mapping[str, Collection[str]]) -> dict[str, int]:
    """Delete the rows with these ids per raw kind (``messages``, ``conversations`` …) inside the caller's
    transaction, keeping every derived store exact; returns rows deleted per kind."""
    doomed = {kind: set(ids) for kind, ids in doomed.items() if ids}
    if not doomed:
        return {}
    if conn.dialect.name == "postgresql":  # the lock import batches take: no batch interleaves with this
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    gone_convs = doomed.get("conversations", set())
    msg_convs = delta.rows_in(conn, MSG.c.conversation_id, MSG.c.message_id, doomed.get("messages", set()))
    kept_convs = delta.rows_in(conn, CONV.c.conversation_id, CONV.c.conversation_id, msg_convs - gone_convs)
    customers = delta.rows_in(conn, Order.__table__.c.customer_id, Order.__table__.c.order_id,
                              doomed.get("orders", set()))
    selected: dict[str, set[str]] = {}
    hours: dict[str, set[datetime]] = {}
    for target in SPECS:
        if is_ready(conn, target):
            selected[target] = _selection(conn, target, doomed, kept_convs)
            hours[target] = delta.shift(conn, SPECS[target], SPECS[target].id_column, selected[target], -1)
    old_terms = {kind: keywords.before_batch(conn, kind, [{ID_COLUMNS[kind].name: i} for i in doomed[kind]])
                 for kind in ("messages", "reviews") if kind in doomed}
    if gone_convs:
        remove_qa(conn, gone_convs)
    counts = {kind: _delete(conn, kind, doomed[kind]) for kind in KINDS if kind in doomed}
    recompute_first_response(conn, kept_convs)
    if customers:
        _resequence(conn, customers, selected, hours)
    for target, ids in selected.items():
        spec = SPECS[target]
        delta.shift(conn, spec, spec.id_column, ids, +1)
        delta.prune(conn, spec, hours[target])
    for kind, old in old_terms.items():
        keywords.after_batch(conn, kind, [], old)
    if kept_convs:
        recheck(conn, kept_convs)
    return counts


def _resequence(conn: Connection, customers: set[str], selected: dict[str, set[str]],
                hours: dict[str, set[datetime]]) -> None:
    """复购率: the customers' remaining orders whose predecessors the deletion moved leave the rollups with
    their old predecessors, are recomputed, and come back with the others in :func:`delete_rows`."""
    moving = repeat.moved(conn, customers)
    for target in REPEAT_KINDS & selected.keys():
        spec = SPECS[target]
        hours[target] |= delta.shift(conn, spec, spec.id_column, moving - selected[target], -1)
        selected[target] |= moving
    repeat.recompute(conn, customers)


def _delete(conn: Connection, kind: str, ids: set[str]) -> int:
    column, count = ID_COLUMNS[kind], 0
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        count += conn.execute(delete(TABLES[kind]).where(column.in_(ordered[start:start + _CHUNK]))).rowcount or 0
    return count


def ids_where(conn: Connection, kind: str, *where) -> set[str]:  # noqa: ANN002
    """Ids of the ``kind`` rows matching ``where``."""
    return set(conn.execute(select(ID_COLUMNS[kind]).where(*where)).scalars())
