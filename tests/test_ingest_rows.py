"""Row-level behaviour on SQLite and PostgreSQL: rejected rows and their file, re-import counts, duplicates,
attributes, time zones, and the SQLite fast path storing exactly what SQLAlchemy would."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, insert, select, text

from analytics.ingest import import_file, ingest_records
from analytics.store.models import Complaint, Conversation, KBEntry

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SH = ZoneInfo("Asia/Shanghai")


def fixture(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


def stored(engine: Engine, model: type) -> dict[str, dict]:
    table = model.__table__  # type: ignore[attr-defined]
    key = table.primary_key.columns.values()[0].name
    with engine.connect() as conn:
        return {r._mapping[key]: dict(r._mapping) for r in conn.execute(select(table))}


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()  # type: ignore[attr-defined]


def test_broken_rows_are_rejected_with_lines_and_reasons(engine: Engine, tmp_path: Path) -> None:
    path = fixture(tmp_path, "broken_conversations.csv")
    result = import_file(engine, "conversations", path, tz=SH)
    # b001 and b007 are new; b001 appears again on line 10 (last one wins: an update).
    assert (result.accepted, result.updated, result.rejected) == (2, 1, 5)
    reasons = {e.line: e.reason for e in result.errors}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert reasons[3] == "第 3 行: started_at 不是有效时间: '2026-13-01 10:00:00'"
    assert reasons[4] == "第 4 行: agent 不能为空"
    assert "rating 评分应为 1–5 的整数: '6'" in reasons[5] and "resolved 不是有效的是/否值" in reasons[5]
    assert reasons[6] == "第 6 行: ended_at 早于 started_at"
    assert reasons[7].startswith("第 7 行: 列数 (8) 多于表头 (7)")
    rows = stored(engine, Conversation)
    assert set(rows) == {"b001", "b007"}
    assert rows["b001"]["rating"] == 3 and rows["b001"]["resolved"] is False  # the later row won
    assert rows["b007"]["rating"] is None and rows["b007"]["resolved"] is None  # empty optional = NULL

    assert result.rejected_path == tmp_path / "broken_conversations.rejected.csv"
    raw = result.rejected_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so Excel shows the Chinese
    with open(result.rejected_path, encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["line", "reason", "conversation_id", "started_at", "agent", "channel", "rating", "resolved",
                        "ended_at", "列8"]  # the extra cell of line 7 keeps its value under a generated name
    assert [r[0] for r in table[1:]] == ["3", "4", "5", "6", "7"]
    assert table[1][2:] == ["b002", "2026-13-01 10:00:00", "小王", "淘宝", "4", "是", "", ""]
    assert table[1][1] == reasons[3]
    assert table[5][-1] == "多出来的一列"


def test_rejected_file_can_be_fixed_and_reimported(engine: Engine, tmp_path: Path) -> None:
    result = import_file(engine, "conversations", fixture(tmp_path, "broken_conversations.csv"), tz=SH)
    fixed = tmp_path / "fixed.csv"
    content = result.rejected_path.read_text(encoding="utf-8-sig")
    content = content.replace("2026-13-01", "2026-11-01").replace(",6,也许,", ",5,是,")
    content = content.replace("b003,2026-11-03 10:05:00,,", "b003,2026-11-03 10:05:00,小张,")
    content = content.replace("2026-11-03 09:00:00", "2026-11-03 11:00:00")
    content = content.replace(",多出来的一列", "")
    fixed.write_text(content, encoding="utf-8-sig")
    again = import_file(engine, "conversations", fixed, tz=SH)
    assert (again.accepted, again.updated, again.rejected) == (5, 0, 0), again.errors
    rows = stored(engine, Conversation)
    assert len(rows) == 7
    # the line/reason columns of a rejected file are bookkeeping, not attributes
    assert rows["b002"]["attrs"] is None


def test_reimport_updates_instead_of_duplicating(engine: Engine, tmp_path: Path) -> None:
    path = fixture(tmp_path, "conversations.csv")
    first = import_file(engine, "conversations", path, tz=SH)
    second = import_file(engine, "conversations", path, tz=SH)
    assert (first.accepted, first.updated) == (6, 0)
    assert (second.accepted, second.updated, second.rejected) == (0, 6, 0)
    assert count(engine, Conversation) == 6
    # a changed value in the re-import is applied
    changed = tmp_path / "changed.csv"
    changed.write_text("conversation_id,started_at,agent,rating\nc001,2026-11-03 14:05:00,小赵,2\n"
                       "c999,2026-11-04 10:00:00,小赵,5\n", encoding="utf-8")
    third = import_file(engine, "conversations", changed, tz=SH)
    assert (third.accepted, third.updated) == (1, 1)
    rows = stored(engine, Conversation)
    assert rows["c001"]["agent"] == "小赵" and rows["c001"]["rating"] == 2
    # columns the second file does not have keep their values
    assert rows["c001"]["channel"] == "淘宝" and rows["c001"]["attrs"] == {"备注": "老客户"}


def test_duplicates_across_batches_count_once_then_as_updates(engine: Engine) -> None:
    records = [{"conversation_id": f"d{i % 7}", "started_at": f"2026-11-03 10:{i:02d}:00", "agent": f"a{i}"}
               for i in range(20)]
    result = ingest_records(engine, "conversations", records, tz=SH, batch_size=3)
    assert (result.accepted, result.updated, result.rejected) == (7, 13, 0)
    rows = stored(engine, Conversation)
    # last occurrence wins: d0 was last seen at i=14, d6 at i=13
    assert rows["d0"]["agent"] == "a14" and rows["d6"]["agent"] == "a13"


def test_unknown_columns_go_to_attrs_or_are_ignored(engine: Engine, tmp_path: Path) -> None:
    complaints = tmp_path / "complaints.csv"
    complaints.write_text("complaint_id,created_at,text,category,工单号,紧急程度,Priority\n"
                          "p1,2026-11-03 10:00:00,快递太慢,物流,T-1,高,\n"
                          "p2,2026-11-03 11:00:00,质量差,质量,,,\n", encoding="utf-8")
    result = import_file(engine, "complaints", complaints, tz=SH, enrich=False)
    assert (result.accepted, result.rejected) == (2, 0)
    rows = stored(engine, Complaint)
    assert rows["p1"]["attrs"] == {"工单号": "T-1", "紧急程度": "高"}
    assert rows["p2"]["attrs"] is None
    assert rows["p1"]["category"] == "物流" and rows["p1"]["category_source"] == "import"
    messages = tmp_path / "messages.csv"
    messages.write_text("message_id,conversation_id,sent_at,sender,text,渠道\n"
                        "m1,c1,2026-11-03 10:00:00,客户,在吗,淘宝\n", encoding="utf-8")
    assert import_file(engine, "messages", messages, tz=SH, enrich=False).accepted == 1


def test_naive_and_offset_timestamps_are_stored_as_utc(engine: Engine) -> None:
    tz_ny = ZoneInfo("America/New_York")
    records = [
        {"conversation_id": "t1", "started_at": "2026-11-03 14:05:00", "agent": "a"},         # naive = local
        {"conversation_id": "t2", "started_at": "2026-11-03T14:05:00+08:00", "agent": "a"},   # offset wins
        {"conversation_id": "t3", "started_at": "2026-11-03T14:05:00Z", "agent": "a"},
        {"conversation_id": "t4", "started_at": datetime(2026, 11, 3, 14, 5), "agent": "a"},  # naive object
    ]
    ingest_records(engine, "conversations", records, tz=tz_ny)
    rows = stored(engine, Conversation)
    # New York is UTC-5 on 3 November 2026 (DST ended on 1 November)
    assert rows["t1"]["started_at"] == datetime(2026, 11, 3, 19, 5, tzinfo=UTC)
    assert rows["t2"]["started_at"] == datetime(2026, 11, 3, 6, 5, tzinfo=UTC)
    assert rows["t3"]["started_at"] == datetime(2026, 11, 3, 14, 5, tzinfo=UTC)
    assert rows["t4"]["started_at"] == datetime(2026, 11, 3, 19, 5, tzinfo=UTC)


def test_kb_entries_get_stable_ids_and_keep_their_status(engine: Engine) -> None:
    entries = [{"question": "怎么开发票？", "answer": "订单页申请电子发票", "tags": "发票"},
               {"kb_id": "kb-own", "question": "多久发货", "answer": "48小时内"}]
    first = ingest_records(engine, "kb", entries, tz=SH)
    assert (first.accepted, first.updated) == (2, 0)
    with engine.begin() as conn:
        conn.execute(text("UPDATE kb_entries SET status = 'dismissed' WHERE kb_id = 'kb-own'"))
    entries[0]["answer"] = "在订单详情页申请电子发票"
    second = ingest_records(engine, "kb", entries, tz=SH)
    assert (second.accepted, second.updated) == (0, 2)
    rows = stored(engine, KBEntry)
    assert len(rows) == 2 and rows["kb-own"]["status"] == "dismissed"
    generated = next(r for k, r in rows.items() if k != "kb-own")
    assert generated["kb_id"].startswith("kb-") and generated["answer"] == "在订单详情页申请电子发票"
    assert generated["source"] == "import" and generated["status"] == "active"


def test_records_api_line_numbers_and_bad_records(engine: Engine) -> None:
    records = [
        {"order_id": "r1", "created_at": "2026-11-03 10:00:00", "customer_id": "u1", "amount": "¥10"},
        "not an object",
        {"order_id": "r3", "created_at": "2026-11-03 10:00:00"},  # no customer_id key at all
        {"order_id": "r4", "created_at": "2026-11-03 10:00:00", "customer_id": "u4", "quantity": "-1"},
    ]
    result = ingest_records(engine, "orders", records, tz=SH)
    assert (result.accepted, result.rejected, result.rejected_path) == (1, 3, None)
    assert [e.line for e in result.errors] == [2, 3, 4]
    assert "缺少必填列 customer_id" in result.errors[1].reason
    assert "quantity" in result.errors[2].reason
    assert ingest_records(engine, "orders", [], tz=SH).total == 0


def test_rejected_file_falls_back_to_the_current_folder(sqlite_engine: Engine, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = fixture(tmp_path, "broken_conversations.csv")
    (tmp_path / "broken_conversations.rejected.csv").mkdir()  # the usual target cannot be written
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = import_file(sqlite_engine, "conversations", path, tz=SH)
    assert result.rejected_path == cwd / "broken_conversations.rejected.csv"
    assert result.rejected_path.read_text(encoding="utf-8-sig").count("\n") == 6


def test_clean_reimport_removes_a_stale_rejected_file(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = fixture(tmp_path, "conversations.csv")
    stale = tmp_path / "conversations.rejected.csv"
    stale.write_text("line,reason\n", encoding="utf-8")
    assert import_file(sqlite_engine, "conversations", path, tz=SH).rejected_path is None
    assert not stale.exists()


def test_sqlite_fast_path_stores_what_sqlalchemy_stores(sqlite_engine: Engine) -> None:
    """The import binds SQLite rows itself; they must be byte-identical to SQLAlchemy's own binding."""
    moment = datetime(2026, 11, 3, 6, 5, 7, 123456, tzinfo=UTC)
    ended = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
    table = Conversation.__table__  # type: ignore[attr-defined]
    with sqlite_engine.begin() as conn:
        conn.execute(insert(table), [{"conversation_id": "core", "started_at": moment, "agent": "a",
                                      "ended_at": ended, "attrs": {"备注": "x"},
                                      "resolved": True}])
    ingest_records(sqlite_engine, "conversations", [{
        "conversation_id": "fast", "started_at": moment.astimezone(SH), "agent": "a",
        "ended_at": ended, "备注": "x", "resolved": True,
    }], tz=SH)
    with sqlite_engine.connect() as conn:
        raw = {r[0]: r[1:] for r in conn.exec_driver_sql(
            "SELECT conversation_id, started_at, ended_at, attrs, resolved FROM conversations")}
    assert raw["fast"] == raw["core"]
    assert raw["fast"][0] == "2026-11-03 06:05:07.123456"
