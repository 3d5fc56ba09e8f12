"""Byte-limit splitting: parts within the limit on UTF-8 bytes, whole characters, natural breaks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.split import LIMITS, TRIM_MARK, byte_len, json_cost, split_text, text_limit, trim_text


def _rejoin_ok(original: str, parts: list[str]) -> bool:
    """Parts, concatenated, give the original minus line breaks dropped at the cuts."""
    return "".join(parts).replace("\n", "") == original.replace("\n", "")


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=3000), limit=st.integers(8, 700))
def test_parts_fit_and_lose_nothing(text, limit):
    parts = split_text(text, limit)
    assert all(len(p.encode("utf-8")) <= limit for p in parts)
    assert _rejoin_ok(text, parts)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=2000), limit=st.integers(8, 500))
def test_json_cost_parts_fit_once_serialized(text, limit):
    for part in split_text(text, limit, cost=json_cost):
        assert len(json.dumps(part, ensure_ascii=False).encode("utf-8")) - 2 <= limit


def test_chinese_counts_three_bytes_each():
    text = "满" * 2048  # 2048 characters = 6144 bytes: three WeCom text messages, not one
    parts = split_text(text, 2048)
    assert [len(p) for p in parts] == [682, 682, 682, 2]
    assert all(len(p.encode()) <= 2048 for p in parts)


def test_emoji_never_cut():
    text = "😀" * 10  # 4 bytes each
    assert split_text(text, 10) == ["😀😀"] * 5


# table: (text, limit, expected parts) — one comment per row
CASES = [
    ("abc", 10, ["abc"]),  # fits: unchanged
    ("", 10, [""]),  # empty stays one empty part
    ("line one\nline two", 12, ["line one", "line two"]),  # cut at the line break, break dropped
    ("para one.\n\npara two", 15, ["para one.", "para two"]),  # a blank line is the strongest break
    ("第一句。第二句。第三句", 25, ["第一句。第二句。", "第三句"]),  # Chinese sentence end
    ("aaaa bbbb cccc", 10, ["aaaa bbbb ", "cccc"]),  # then a space
    ("abcdefghijklmnop", 8, ["abcdefgh", "ijklmnop"]),  # no break: hard cut on a character boundary
]


@pytest.mark.parametrize(("text", "limit", "expected"), CASES)
def test_split_table(text, limit, expected):
    assert split_text(text, limit) == expected


def test_prefers_line_break_over_sentence_end():
    text = "第一行很长很长。还有\n第二行"
    assert split_text(text, len("第一行很长很长。还有\n".encode()) + 3) == ["第一行很长很长。还有", "第二行"]


def test_trim_keeps_limit_and_marks():
    text = "客服回复：" + "很好。" * 1000
    out = trim_text(text, 100)
    assert len(out.encode()) <= 100 and out.endswith(TRIM_MARK)
    assert trim_text("short", 100) == "short"


def test_limits_table_has_sources_and_platform_limits():
    assert LIMITS[("wecom", "text")].max_bytes == 2048
    assert LIMITS[("wecom", "markdown")].max_bytes == 4096
    assert all(limit.source for limit in LIMITS.values())
    assert text_limit("wecom", "robot") == 4096 and text_limit("wecom", "user") == 2048
    assert text_limit("console", "user") is None


def test_limit_too_small_is_an_error():
    with pytest.raises(ValueError):
        split_text("x", 3)


def test_byte_len():
    assert byte_len("a满😀") == 1 + 3 + 4
    assert byte_len('a"\n', json_cost) == 1 + 2 + 2
