"""Canonical columns per kind and row validation.

A ``RowPlan`` is compiled once per set of source keys (once per file for CSV/XLSX) and then
validates rows with plain functions: no per-row ORM objects, so a million rows stay fast.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import Any

from sqlalchemy import Table

from analytics.ingest import values as v
from analytics.store.models import Complaint, Conversation, KBEntry, Message, Order, Return, Review

KINDS = ("conversations", "messages", "complaints", "orders", "returns", "reviews", "kb")

# Column types; each maps to a parser in ``_parser``.
ID, STR, TEXT, DATETIME, BOOL, INT, RATING, SECONDS, AMOUNT, SENDER = (
    "id", "str", "text", "datetime", "bool", "int", "rating", "seconds", "amount", "sender",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    target: str = ""  # stored column when it differs from the canonical name (amount -> amount_fen)
    allow_empty: bool = False  # a required text that may be empty (an image-only chat message)

    @property
    def stored(self) -> str:
        return self.target or self.name


@dataclass(frozen=True)
class KindSpec:
    kind: str
    model: type
    id_column: str
    columns: tuple[Column, ...]
    has_attrs: bool

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[attr-defined,no-any-return]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def canonical(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


def _c(name: str, type_: str = STR, **kw: Any) -> Column:
    return Column(name, type_, **kw)


SPECS: dict[str, KindSpec] = {
    "conversations": KindSpec("conversations", Conversation, "conversation_id", (
        _c("conversation_id", ID, required=True), _c("started_at", DATETIME, required=True),
        _c("agent", required=True), _c("channel"), _c("shop"), _c("customer_id"), _c("ended_at", DATETIME),
        _c("first_response_seconds", SECONDS), _c("resolved", BOOL), _c("rating", RATING),
        _c("transferred", BOOL),
    ), has_attrs=True),
    "messages": KindSpec("messages", Message, "message_id", (
        _c("message_id", ID, required=True), _c("conversation_id", ID, required=True),
        _c("sent_at", DATETIME, required=True), _c("sender", SENDER, required=True),
        _c("text", TEXT, required=True, allow_empty=True),
    ), has_attrs=False),
    "complaints": KindSpec("complaints", Complaint, "complaint_id", (
        _c("complaint_id", ID, required=True), _c("created_at", DATETIME, required=True),
        _c("text", TEXT, required=True), _c("channel"), _c("category"), _c("product"), _c("order_id", ID),
        _c("conversation_id", ID), _c("severity"),
    ), has_attrs=True),
    "orders": KindSpec("orders", Order, "order_id", (
        _c("order_id", ID, required=True), _c("created_at", DATETIME, required=True),
        _c("customer_id", ID, required=True), _c("channel"), _c("product"), _c("sku"),
        _c("amount", AMOUNT, target="amount_fen"), _c("amount_fen", INT), _c("quantity", INT),
    ), has_attrs=True),
    "returns": KindSpec("returns", Return, "return_id", (
        _c("return_id", ID, required=True), _c("order_id", ID, required=True),
        _c("created_at", DATETIME, required=True), _c("reason"), _c("product"),
        _c("amount", AMOUNT, target="amount_fen"), _c("amount_fen", INT),
    ), has_attrs=True),
    "reviews": KindSpec("reviews", Review, "review_id", (
        _c("review_id", ID, required=True), _c("created_at", DATETIME, required=True),
        _c("rating", RATING, required=True), _c("order_id", ID), _c("product"), _c("text", TEXT),
    ), has_attrs=True),
    "kb": KindSpec("kb", KBEntry, "kb_id", (
        _c("question", TEXT, required=True), _c("answer", TEXT, required=True), _c("kb_id", ID), _c("tags"),
    ), has_attrs=False),
}


class BadRow(ValueError):
    """A row that fails validation; ``str(exc)`` lists every problem found in it."""


@dataclass
class RowPlan:
    """How to turn rows with a given set of source keys into stored rows."""

    spec: KindSpec
    known: list[tuple[str, Column, Callable[[Any], Any]]]  # (source key, column, parser)
    attrs: list[tuple[str, str]]  # (source key, attrs key) kept in the attrs JSON column
    missing_required: list[str]
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    kb_source: str = "import"

    def validate(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The stored row for ``raw`` (source keys -> values), or ``BadRow`` with all reasons."""
        problems = [f"缺少必填列 {name}" for name in self.missing_required]
        out: dict[str, Any] = {}
        for key, column, parse in self.known:
            value = raw.get(key)
            if isinstance(value, str):
                value = value.strip()
                if "\x00" in value:
                    value = value.replace("\x00", "")
            if value is None or value == "":
                value = self.defaults.get(column.name)
                if value is None:
                    if column.required and not column.allow_empty:
                        problems.append(f"{column.name} 不能为空")
                    out[column.stored] = "" if column.allow_empty else None
                    continue
            vmap = self.value_maps.get(column.name)
            if vmap is not None and isinstance(value, str | int):
                value = vmap.get(str(value), value)
            try:
                out[column.stored] = parse(value)
            except v.BadValue as exc:
                problems.append(f"{column.name} {exc}")
        if self.attrs:
            out["attrs"] = _attrs(raw, self.attrs)
        if not problems:
            _finish(self, out, problems)
        if problems:
            raise BadRow("; ".join(problems))
        return out


def compile_plan(
    spec: KindSpec,
    keys: Sequence[str],
    renames: dict[str, str],
    *,
    tz: tzinfo,
    formats: tuple[str, ...] = (),
    value_maps: dict[str, dict[str, str]] | None = None,
    defaults: dict[str, Any] | None = None,
    ignore: Sequence[str] = (),
    now: datetime | None = None,
    kb_source: str = "import",
) -> RowPlan:
    """Match source keys to canonical columns (renamed by the mapping, else case-insensitively)."""
    canonical = spec.canonical
    known: list[tuple[str, Column, Callable[[Any], Any]]] = []
    attrs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key in keys:
        if key in ignore:
            continue
        stripped = key.strip().lstrip("\ufeff").strip()
        renamed = renames.get(stripped)
        name = stripped.lower() if renamed is None else renamed
        if name == "":  # mapped to "" in the mapping file: drop the column on purpose
            continue
        column = canonical.get(name)
        if column is None:
            if spec.has_attrs and name not in spec.table.c:  # derived columns are never taken from a file
                attrs.append((key, stripped if renamed is None else renamed))
            continue
        if name in seen:  # a second column for the same field: the first one wins, keep this one as-is
            if spec.has_attrs:
                attrs.append((key, stripped))
            continue
        seen.add(name)
        known.append((key, column, _parser(spec, column, tz, formats)))
    defaults = {k: val for k, val in (defaults or {}).items() if k in canonical}
    for name in defaults:
        if name not in seen:  # a constant for the whole source, e.g. channel = "淘宝" for a 千牛 export
            seen.add(name)
            known.append((_DEFAULT_KEY + name, canonical[name], _parser(spec, canonical[name], tz, formats)))
    missing = [n for n in spec.required if n not in seen and n not in defaults]
    return RowPlan(spec, known, attrs, missing, value_maps or {}, defaults,
                   now or datetime.now(UTC), kb_source)


_DEFAULT_KEY = "\x00default:"  # a source key no real header can have


def _parser(spec: KindSpec, column: Column, tz: tzinfo, formats: tuple[str, ...]) -> Callable[[Any], Any]:
    if column.type == DATETIME:
        return partial(v.parse_datetime, tz=tz, formats=formats)
    if column.type in (ID, STR, TEXT):
        sa_type = getattr(spec.table.c.get(column.stored), "type", None)
        return partial(_text, limit=getattr(sa_type, "length", None))
    return {
        BOOL: v.parse_bool, RATING: v.parse_rating, SECONDS: v.parse_seconds, AMOUNT: v.parse_amount_fen,
        SENDER: v.parse_sender, INT: partial(v.parse_int, lo=0),
    }[column.type]


def _text(value: Any, limit: int | None) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id typed as a number in Excel comes back as 1001.0
    text = str(value)
    if limit is not None and len(text) > limit:
        raise v.BadValue(f"太长 ({len(text)} 字符, 最多 {limit}): {text[:20]!r}…")
    return text


def _attrs(raw: dict[str, Any], keys: list[tuple[str, str]]) -> dict[str, Any] | None:
    out = {}
    for key, name in keys:
        value = raw.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        out[name] = value if isinstance(value, str | int | float | bool | list | dict) else str(value)
    return out or None


def _finish(plan: RowPlan, out: dict[str, Any], problems: list[str]) -> None:
    """Cross-column rules and derived bookkeeping columns."""
    kind = plan.spec.kind
    if kind == "conversations":
        ended, started = out.get("ended_at"), out.get("started_at")
        if ended is not None and started is not None and ended < started:
            problems.append("ended_at 早于 started_at")
        if "first_response_seconds" in out:
            out["first_response_computed"] = False if out["first_response_seconds"] is not None else None
    elif kind == "complaints" and "category" in out:
        out["category_source"] = "import" if out["category"] is not None else None
    elif kind == "kb":
        if not out.get("kb_id"):
            out["kb_id"] = kb_id_for(out["question"])
        out["source"] = plan.kb_source
        out["status"] = "active"
        out["created_at"] = out["updated_at"] = plan.now


def kb_id_for(question: str) -> str:
    """A stable id for a KB entry imported without one, so re-importing the file updates it."""
    normalized = "".join(question.split()).lower()
    return "kb-" + hashlib.sha1(normalized.encode("utf-8")).hexdigest()[:16]
