"""Cell parsers and cell functions: table-driven, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from analytics.ingest import cells
from analytics.ingest import values as v

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-11-03 14:05:00", utc(2026, 11, 3, 6, 5)),            # canonical, naive = Shanghai time
    ("2026-11-03T14:05:00", utc(2026, 11, 3, 6, 5)),            # ISO with T
    ("2026-11-03 14:05", utc(2026, 11, 3, 6, 5)),               # no seconds
    ("2026-11-03 14:05:00.250", utc(2026, 11, 3, 6, 5, 0, 250000)),
    ("2026-11-03T14:05:00+08:00", utc(2026, 11, 3, 6, 5)),      # explicit offset wins
    ("2026-11-03T06:05:00Z", utc(2026, 11, 3, 6, 5)),           # Z
    ("2026-11-03T01:05:00-05:00", utc(2026, 11, 3, 6, 5)),      # another offset
    ("2026/11/03 14:05:00", utc(2026, 11, 3, 6, 5)),            # slashes
    ("2026/11/3 9:05", utc(2026, 11, 3, 1, 5)),                 # unpadded, no seconds
    ("2026.11.03 14:05:00", utc(2026, 11, 3, 6, 5)),            # dots
    ("2026年11月03日 14:05:00", utc(2026, 11, 3, 6, 5)),         # Chinese date
    ("2026-11-03", utc(2026, 11, 2, 16, 0)),                    # date only = local midnight
    ("1793685900", utc(2026, 11, 3, 6, 5)),                     # epoch seconds
    ("1793685900000", utc(2026, 11, 3, 6, 5)),                  # epoch milliseconds
    (1793685900, utc(2026, 11, 3, 6, 5)),                       # JSON number
    (datetime(2026, 11, 3, 14, 5), utc(2026, 11, 3, 6, 5)),     # XLSX cell: naive local
    (datetime(2026, 11, 3, 6, 5, tzinfo=UTC), utc(2026, 11, 3, 6, 5)),
    (date(2026, 11, 3), utc(2026, 11, 2, 16, 0)),
])
def test_parse_datetime(raw: object, expected: datetime) -> None:
    assert v.parse_datetime(raw, SH) == expected
    fast = cells.datetime_parser(SH, ())
    assert fast(raw) == expected
    assert fast(raw).utcoffset() == timedelta(0)


@pytest.mark.parametrize("raw", [
    "2026-13-01 00:00:00",  # month 13
    "2026-11-31 10:00:00",  # no such day
    "昨天",
    "12",                   # a bare small number is not a timestamp
    "1899-01-01 00:00:00",  # out of range
    "",
])
def test_parse_datetime_rejects(raw: str) -> None:
    with pytest.raises(v.BadValue):
        cells.datetime_parser(SH, ())(raw)


@pytest.mark.parametrize("raw", [
    "2026-03-08 02:30:00",  # in the spring-forward gap
    "2026-11-01 01:30:00",  # ambiguous hour (first occurrence)
    "2026-07-01 12:00:00",
])
def test_fast_path_matches_zoneinfo_semantics_around_dst(raw: str) -> None:
    expected = datetime.fromisoformat(raw).replace(tzinfo=NY).astimezone(UTC)
    assert cells.datetime_parser(NY, ())(raw) == expected


def test_mapping_datetime_format_is_tried_first() -> None:
    # 03/11/2026 is 3 November in a day-first export; the built-in formats never guess day-first.
    parse = cells.datetime_parser(SH, ("%d/%m/%Y %H:%M",))
    assert parse("03/11/2026 14:05") == utc(2026, 11, 3, 6, 5)


def test_fixed_offset_timezone() -> None:
    plus8 = timezone(timedelta(hours=8))
    assert cells.datetime_parser(plus8, ())("2026-11-03 14:05:00") == utc(2026, 11, 3, 6, 5)


@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("false", False), ("TRUE", True), ("1", True), ("0", False), ("1.0", True),
    ("是", True), ("否", False), ("Y", True), ("n", False), ("yes", True), ("已解决", True), ("未解决", False),
    (True, True), (0, False), (1, True),
])
def test_parse_bool(raw: object, expected: bool) -> None:
    assert v.parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["也许", "2", "", "truee", 2])
def test_parse_bool_rejects(raw: object) -> None:
    with pytest.raises(v.BadValue):
        v.parse_bool(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("5", 5), ("1", 1), (" 4 ", 4), ("4.0", 4), (3, 3), (2.0, 2), ("5星", 5), ("4分", 4),
])
def test_parse_rating(raw: object, expected: int) -> None:
    assert v.parse_rating(raw) == expected


@pytest.mark.parametrize("raw", ["0", "6", "4.5", "好评", True, -1])
def test_parse_rating_rejects(raw: object) -> None:
    with pytest.raises(v.BadValue, match="1–5"):
        v.parse_rating(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("¥1,299.00", 129900), ("1299", 129900), ("￥12.5", 1250), ("12.5元", 1250), ("RMB 3", 300),
    ("0.01", 1), (12.5, 1250), (0.1, 10), (1299, 129900), ("1，000", 100000),
])
def test_parse_amount_fen(raw: object, expected: int) -> None:
    assert v.parse_amount_fen(raw) == expected


@pytest.mark.parametrize("raw", ["-5", "1.234", "abc", "nan", "inf", True])
def test_parse_amount_rejects(raw: object) -> None:
    with pytest.raises(v.BadValue):
        v.parse_amount_fen(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("35", 35.0), ("12.5", 12.5), ("35s", 35.0), ("35秒", 35.0), ("01:05", 65.0), ("1:00:05", 3605.0), (7, 7.0),
    (timedelta(seconds=90), 90.0),
])
def test_parse_seconds(raw: object, expected: float) -> None:
    assert v.parse_seconds(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "快"])
def test_parse_seconds_rejects(raw: str) -> None:
    with pytest.raises(v.BadValue):
        v.parse_seconds(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("customer", "customer"), ("客户", "customer"), ("顾客", "customer"), ("买家", "customer"),
    ("Agent", "agent"), ("客服", "agent"), ("坐席", "agent"), ("bot", "bot"), ("机器人", "bot"),
])
def test_parse_sender(raw: str, expected: str) -> None:
    assert v.parse_sender(raw) == expected


def test_parse_sender_rejects() -> None:
    with pytest.raises(v.BadValue, match="customer/agent/bot"):
        v.parse_sender("路人")


def test_cell_empty_optional_is_null_required_is_error() -> None:
    optional = cells.make_cell("channel", str, required=False, is_text=True)
    required = cells.make_cell("agent", str, required=True, is_text=True)
    assert optional("  ") is None
    assert optional(None) is None
    with pytest.raises(v.BadValue, match="不能为空"):
        required("")


def test_cell_default_value_map_and_nul() -> None:
    cell = cells.make_cell("channel", cells.text_parser(64), required=False, default="TB", value_map={"TB": "淘宝"})
    assert cell("") == "淘宝"
    assert cell("TB") == "淘宝"
    assert cell("京东") == "京东"
    text = cells.make_cell("text", cells.text_parser(None), required=True, is_text=True)
    assert text("a\x00b") == "ab"


def test_text_cell_length_limit_and_numeric_ids() -> None:
    cell = cells.make_cell("conversation_id", cells.text_parser(8), required=True, is_text=True, text_limit=8)
    assert cell(1001.0) == "1001"
    with pytest.raises(v.BadValue, match="太长"):
        cell("123456789")
