"""Per-column cell functions: one call turns a raw cell into its stored value or raises ``BadValue``.

Each function folds in everything a column needs (strip, empty -> NULL or "required", the default
from the mapping file, the value map, the parser) so validating a row is one call per cell. Plain
text from CSV takes a short path first; anything else goes through the general parsers in
``values``. This is where a million rows per import are won or lost, hence the care.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from analytics.ingest import values as v

Cell = Callable[[Any], Any]

_fromisoformat = datetime.fromisoformat
_CANONICAL_LENGTH = len("2026-11-03 14:05:00")


def make_cell(
    name: str,
    parse: Cell,
    *,
    required: bool,
    allow_empty: bool = False,
    default: Any = None,
    value_map: dict[str, str] | None = None,
    text_limit: int | None = None,
    is_text: bool = False,
) -> Cell:
    """The cell function of one column (``parse`` is only called with a non-empty value)."""
    empty = "" if allow_empty else None
    if default is not None:
        default_value = parse(value_map.get(str(default), default) if value_map else default)
    elif required and not allow_empty:
        default_value = _MISSING
    else:
        default_value = empty

    def on_empty() -> Any:
        if default_value is _MISSING:
            raise v.BadValue("不能为空")
        return default_value

    if is_text and value_map is None:
        def text_cell(value: Any) -> Any:
            if value.__class__ is str:
                value = value.strip()
                if not value:
                    return on_empty()
                if "\x00" in value:  # PostgreSQL refuses NUL in text; it is never meaningful in an export
                    value = value.replace("\x00", "")
                if text_limit is not None and len(value) > text_limit:
                    raise v.BadValue(f"太长 ({len(value)} 字符, 最多 {text_limit}): {value[:20]!r}…")
                return value
            if value is None:
                return on_empty()
            return parse(value)

        return text_cell

    if value_map is None:
        def plain_cell(value: Any) -> Any:
            if value.__class__ is str:
                value = value.strip()
                if not value:
                    return on_empty()
            elif value is None:
                return on_empty()
            return parse(value)

        return plain_cell

    def mapped_cell(value: Any) -> Any:
        if value.__class__ is str:
            value = value.strip()
            if not value:
                return on_empty()
        elif value is None:
            return on_empty()
        if isinstance(value, str | int):
            value = value_map.get(str(value), value)
        return parse(value)

    return mapped_cell


class _Missing:
    pass


_MISSING = _Missing()


def datetime_parser(tz: tzinfo, formats: tuple[str, ...]) -> Cell:
    """Parse to an aware UTC datetime, with a fast path for "YYYY-MM-DD HH:MM:SS" local time."""
    if formats:  # the mapping file names the source format: honour it before anything else
        return lambda value: v.parse_datetime(value, tz, formats)
    local_offset = tz.utcoffset

    def parse(value: Any) -> datetime:
        if value.__class__ is str and len(value) == _CANONICAL_LENGTH and value[10] in " T":
            try:
                # Read the wall time as if it were UTC, then shift by the zone's offset at that wall
                # time: the same instant as replace(tzinfo=tz), at a tenth of the cost.
                wall = _fromisoformat(value + "+00:00")
            except ValueError:
                return v.parse_datetime(value, tz)
            result = wall - local_offset(wall)  # type: ignore[operator]
            if v.YEAR_MIN <= result.year <= v.YEAR_MAX:
                return result
        return v.parse_datetime(value, tz)

    return parse


def text_parser(limit: int | None) -> Cell:
    def parse(value: Any) -> str:
        if isinstance(value, list | dict | tuple | set):  # a JSON array/object from the event API is not text
            raise v.BadValue(f"应为文本, 不是{'列表' if isinstance(value, list | tuple | set) else '对象'}")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # an id typed as a number in Excel comes back as 1001.0
        text = str(value).strip()
        if limit is not None and len(text) > limit:
            raise v.BadValue(f"太长 ({len(text)} 字符, 最多 {limit}): {text[:20]!r}…")
        return text

    return parse

