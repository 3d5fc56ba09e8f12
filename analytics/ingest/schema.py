"""Canonical columns per kind and row validation.

A ``RowPlan`` is compiled once per set of source keys (once per file for CSV/XLSX) and then
validates rows with plain functions: no per-row ORM objects, so a million rows stay fast.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any

from sqlalchemy import Table

from analytics.ingest import cells
from analytics.ingest import values as v
from analytics.store.models import Complaint, Conversation, KBEntry, Message, Order, Return, Review
from analytics.store.roster import RosterShift

KINDS = ("conversations", "messages", "complaints", "orders", "returns", "reviews", "kb", "roster")

# Column types; each maps to a parser in ``_parser``.
ID, STR, TEXT, DATETIME, BOOL, INT, RATING, SECONDS, AMOUNT, SENDER = (
    "id", "str", "text", "datetime", "bool", "int", "rating", "seconds", "amount", "sender",
)
DATE, CLOCK = "date", "clock"  # a roster's day and its shift times (minutes after midnight)


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
    # 排班表: one shift per row; start/end are local times of ``date`` (an end at or before the start is the next
    # day's); stored as start_at/end_at by _finish_roster. See docs/staffing.md.
    "roster": KindSpec("roster", RosterShift, "shift_id", (
        _c("agent", required=True), _c("date", DATE, required=True, target="day"),
        _c("start", CLOCK, required=True), _c("end", CLOCK, required=True), _c("shift_id", ID),
    ), has_attrs=False),
}


class BadRow(ValueError):
    """A row that fails validation; ``str(exc)`` lists every problem found in it."""


# (source key or list index, stored column, canonical name, cell function)
Field = tuple[Any, str, str, Callable[[Any], Any]]


@dataclass
class RowPlan:
    """How to turn rows with one set of source keys into stored rows (compiled once per file)."""

    spec: KindSpec
    fields: list[Field]
    constants: dict[str, Any]  # stored column -> value from the mapping's defaults for absent columns
    attrs: list[tuple[Any, str]]  # (source key or index, attrs key) kept in the attrs JSON column
    missing_required: list[str]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    kb_source: str = "import"
    tz: tzinfo = UTC  # local times without a date of their own (a roster's shift times)

    def validate(self, raw: Any) -> dict[str, Any]:
        """The stored row for ``raw`` (a list in header order, or a dict by source key), else ``BadRow``."""
        if self.missing_required:
            raise BadRow("; ".join(f"缺少必填列 {name}" for name in self.missing_required))
        try:
            out = {stored: cell(raw[key]) for key, stored, _, cell in self.fields}
        except v.BadValue:
            raise BadRow(self._problems(raw)) from None
        if self.constants:
            out.update(self.constants)
        if self.attrs:
            out["attrs"] = _attrs(raw, self.attrs)
        if self.spec.kind in _FINISH:
            _FINISH[self.spec.kind](self, out)
        return out

    def _problems(self, raw: Any) -> str:
        problems = []
        for key, _, name, cell in self.fields:
            try:
                cell(raw[key])
            except v.BadValue as exc:
                problems.append(f"{name} {exc}")
        return "; ".join(problems)


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
    positional: bool = False,
    now: datetime | None = None,
    kb_source: str = "import",
) -> RowPlan:
    """Match source keys to canonical columns (renamed by the mapping, else case-insensitively).

    With ``positional`` the rows are lists in ``keys`` order (CSV/XLSX), otherwise dicts.
    """
    canonical = spec.canonical
    value_maps = value_maps or {}
    defaults = {k: val for k, val in (defaults or {}).items() if k in canonical}
    fields: list[Field] = []
    attrs: list[tuple[Any, str]] = []
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in ignore:
            continue
        source = index if positional else key
        stripped = key.strip().lstrip("\ufeff").strip()
        renamed = renames.get(stripped)
        name = stripped.lower() if renamed is None else renamed
        if name == "":  # mapped to "" in the mapping file: drop the column on purpose
            continue
        column = canonical.get(name)
        if column is None:
            if spec.has_attrs and name not in spec.table.c:  # derived columns are never taken from a file
                attrs.append((source, stripped if renamed is None else renamed))
            continue
        if name in seen:  # a second column for the same field: the first one wins, keep this one as-is
            if spec.has_attrs:
                attrs.append((source, stripped))
            continue
        seen.add(name)
        cell = _cell(spec, column, tz, formats, value_maps.get(name), defaults.get(name))
        fields.append((source, column.stored, name, cell))
    constants: dict[str, Any] = {}
    for name, value in defaults.items():
        if name not in seen:  # a constant for the whole source, e.g. channel = "淘宝" for a 千牛 export
            seen.add(name)
            column = canonical[name]
            try:
                constants[column.stored] = _cell(spec, column, tz, formats, value_maps.get(name), value)(None)
            except v.BadValue as exc:
                raise ValueError(f"defaults.{name}: {exc}") from None
    missing = [n for n in spec.required if n not in seen]
    return RowPlan(spec, fields, constants, attrs, missing, now or datetime.now(UTC), kb_source, tz=tz)


def _cell(spec: KindSpec, column: Column, tz: tzinfo, formats: tuple[str, ...],
          value_map: dict[str, str] | None, default: Any) -> Callable[[Any], Any]:
    parse = _parser(spec, column, tz, formats)
    limit = _text_limit(spec, column)
    return cells.make_cell(column.name, parse, required=column.required, allow_empty=column.allow_empty,
                           default=default, value_map=value_map, text_limit=limit,
                           is_text=column.type in (ID, STR, TEXT))


def _text_limit(spec: KindSpec, column: Column) -> int | None:
    if column.type not in (ID, STR, TEXT):
        return None
    return getattr(getattr(spec.table.c.get(column.stored), "type", None), "length", None)


def _parser(spec: KindSpec, column: Column, tz: tzinfo, formats: tuple[str, ...]) -> Callable[[Any], Any]:
    if column.type == DATETIME:
        return cells.datetime_parser(tz, formats)
    if column.type in (ID, STR, TEXT):
        return cells.text_parser(_text_limit(spec, column))
    return {
        BOOL: v.parse_bool, RATING: v.parse_rating, SECONDS: v.parse_seconds, AMOUNT: v.parse_amount_fen,
        SENDER: v.parse_sender, INT: partial(v.parse_int, lo=0), DATE: v.parse_date, CLOCK: v.parse_clock,
    }[column.type]


def _attrs(raw: Any, keys: list[tuple[Any, str]]) -> dict[str, Any] | None:
    out = {}
    for key, name in keys:
        value = raw[key]
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        out[name] = value if isinstance(value, str | int | float | bool | list | dict) else str(value)
    return out or None


# Cross-column rules and bookkeeping columns, per kind.

def _finish_conversation(plan: RowPlan, out: dict[str, Any]) -> None:
    ended = out.get("ended_at")
    if ended is not None and ended < out["started_at"]:
        raise BadRow("ended_at 早于 started_at")
    if "first_response_seconds" in out:
        out["first_response_computed"] = False if out["first_response_seconds"] is not None else None


def _finish_complaint(plan: RowPlan, out: dict[str, Any]) -> None:
    if "category" in out:
        out["category_source"] = "import" if out["category"] is not None else None


def _finish_kb(plan: RowPlan, out: dict[str, Any]) -> None:
    if not out.get("kb_id"):
        out["kb_id"] = kb_id_for(out["question"])
    out["source"] = plan.kb_source
    out["status"] = "active"
    out["created_at"] = out["updated_at"] = plan.now


def _finish_roster(plan: RowPlan, out: dict[str, Any]) -> None:
    start, end = out.pop("start"), out.pop("end")
    if start >= 1440:
        raise BadRow("start 不能是 24:00")
    midnight = datetime.combine(out["day"], datetime.min.time())
    begin = (midnight + timedelta(minutes=start)).replace(tzinfo=plan.tz)
    finish = (midnight + timedelta(minutes=end if end > start else end + 1440)).replace(tzinfo=plan.tz)
    out["start_at"], out["end_at"] = begin.astimezone(UTC), finish.astimezone(UTC)
    if not out.get("shift_id"):
        key = f"{out['agent']}|{out['day'].isoformat()}|{start}"
        out["shift_id"] = "shift-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


_FINISH = {"conversations": _finish_conversation, "complaints": _finish_complaint, "kb": _finish_kb,
           "roster": _finish_roster}


def kb_id_for(question: str) -> str:
    """A stable id for a KB entry imported without one, so re-importing the file updates it."""
    normalized = "".join(question.split()).lower()
    return "kb-" + hashlib.sha1(normalized.encode("utf-8")).hexdigest()[:16]
