"""复购率 (repurchase rate) as sums, so that it can be rolled up like every other metric.

SPEC: among customers with ≥ 1 order in P, the share with ≥ 2 orders in P. Counting distinct customers is
not additive over time buckets — but it becomes so through each order's predecessors. Order a customer's
orders by (created_at, order_id) and give every order ``prev1`` / ``prev2``, the times of the customer's
previous and second-previous order (NULL when there is none). For a window P = [start, end):

- an order in P is its customer's *first* order in P exactly when ``prev1 < start`` (or NULL), so
  customers(P) = orders(P) − C1(P), with C_k(P) = #{orders o in P : prev_k(o) ≥ start};
- a customer has ≥ 2 orders in P exactly when one of its orders in P is its second there, i.e. has
  ``prev1 ≥ start`` and ``prev2 < start`` (or NULL): repeaters(P) = C1(P) − C2(P).

C_k(P) is a count of orders by the order's time *and* its predecessor's UTC day, which the
``rollup_repeat*`` tables hold per day and month of the order (``analytics.rollups.read.repeat_count``):
whole buckets with ``pday`` after the day of ``start``, plus raw rows for the window's edges and for
predecessors in the day of ``start`` itself. With a 渠道 or 商品 filter the customer's orders in that
channel or product are the ones that count, so each has its own predecessors (``prev*_channel_at``,
``prev*_product_at``).

:func:`recompute` keeps the predecessor columns right: for given customers after an import batch (their
orders only — an order inserted in the middle of a history moves its successors' predecessors), or for
every order on a rebuild. It is one ``UPDATE … FROM`` over ``lag()`` window functions, in the database.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from analytics.rollups.delta import ids_param, one_of
from analytics.store.models import Order

ORDER = Order.__table__
# predecessor column -> (k, the columns that partition a customer's orders besides customer_id)
POINTERS: dict[str, tuple[int, tuple[str, ...]]] = {
    "prev1_at": (1, ()), "prev2_at": (2, ()),
    "prev1_channel_at": (1, ("channel",)), "prev2_channel_at": (2, ("channel",)),
    "prev1_product_at": (1, ("product",)), "prev2_product_at": (2, ("product",)),
}


def _fresh(dialect: str, some: bool) -> Any:
    """Every order's predecessors as they should be, for the orders of the customers ``:ids`` (or all)."""
    order_by = (ORDER.c.created_at, ORDER.c.order_id)
    lags = [func.lag(ORDER.c.created_at, k).over(partition_by=[ORDER.c.customer_id, *[ORDER.c[c] for c in extra]],
                                                 order_by=order_by).label(name)
            for name, (k, extra) in POINTERS.items()]
    found = select(ORDER.c.order_id.label("oid"), *lags)
    if some:
        found = found.where(one_of(ORDER.c.customer_id, dialect))
    return found.subquery("fresh")


def _differs(fresh: Any) -> Any:
    return or_(*[ORDER.c[name].is_distinct_from(fresh.c[name]) for name in POINTERS])


def _statement(dialect: str, some: bool) -> Any:
    """``UPDATE orders SET prev… = lag(created_at, k) OVER (…)``, writing only rows whose predecessors change."""
    fresh = _fresh(dialect, some)
    return (update(ORDER).where(ORDER.c.order_id == fresh.c.oid, _differs(fresh))
            .values({name: fresh.c[name] for name in POINTERS}))


def moved(conn: Connection, customers: Collection[str]) -> set[str]:
    """Orders of ``customers`` whose stored predecessors are no longer right (before :func:`recompute`)."""
    if not customers:
        return set()
    dialect = conn.dialect.name
    fresh = _fresh(dialect, True)
    stmt = select(ORDER.c.order_id).select_from(ORDER.join(fresh, ORDER.c.order_id == fresh.c.oid)).where(_differs(fresh))
    return {oid for (oid,) in conn.execute(stmt, {"ids": ids_param(dialect, customers)})}


def recompute(conn: Connection, customers: Collection[str] | None) -> None:
    """Set the predecessor columns of the orders of ``customers`` (every order when None)."""
    dialect = conn.dialect.name
    if customers is None:
        conn.execute(_statement(dialect, False))
    elif customers:
        conn.execute(_statement(dialect, True), {"ids": ids_param(dialect, customers)})
