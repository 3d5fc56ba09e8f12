"""File import: formats, encodings, mapping files and whole-file errors, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select

from analytics.ingest import KINDS, ImportResult, IngestError, import_file
from analytics.store.models import Conversation, Message, Order

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SH = ZoneInfo("Asia/Shanghai")


def fixture(tmp_path: Path, name: str) -> Path:
    """A copy in tmp_path, so the rejected file written next to it never lands in the repository."""
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


def rows(engine: Engine, model: type, order_by: str) -> list[dict]:
    table = model.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c[order_by]))]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# The fixture conversations.csv, as a person reads it (times in Asia/Shanghai unless stated).
EXPECTED_CONVERSATIONS = {
    "c001": dict(started_at=utc(2026, 11, 3, 6, 5), agent="小王", channel="淘宝", shop="天猫旗舰店",
                 customer_id="u1", ended_at=utc(2026, 11, 3, 6, 20), first_response_seconds=35.0,
                 first_response_computed=False, resolved=True, rating=5, transferred=False,
                 attrs={"备注": "老客户"}),
    "c002": dict(started_at=utc(2026, 11, 3, 6, 5), agent="小李", channel="京东", shop=None, customer_id="u2",
                 ended_at=None, first_response_seconds=None, resolved=False, rating=None, transferred=False,
                 attrs=None),
    "c003": dict(started_at=utc(2026, 11, 3, 1, 0), ended_at=utc(2026, 11, 3, 1, 30), channel="抖音",
                 first_response_seconds=12.5, resolved=True, rating=4, transferred=False),
    "c004": dict(started_at=utc(2026, 11, 3, 6, 5), agent="小张", resolved=True, rating=3, transferred=None),
    "c005": dict(started_at=utc(2026, 11, 3, 6, 5), resolved=None, rating=None),
    "c006": dict(started_at=utc(2026, 11, 3, 6, 5), attrs={"备注": "两行\n备注"}),
}


def check_conversations(engine: Engine, result: ImportResult) -> None:
    assert (result.accepted, result.updated, result.rejected) == (6, 0, 0), result.errors
    stored = {r["conversation_id"]: r for r in rows(engine, Conversation, "conversation_id")}
    assert set(stored) == set(EXPECTED_CONVERSATIONS)
    for cid, expected in EXPECTED_CONVERSATIONS.items():
        for column, value in expected.items():
            assert stored[cid][column] == value, (cid, column)


@pytest.mark.parametrize("name", ["conversations.csv", "conversations_bom.csv"])
def test_csv_utf8_with_and_without_bom(engine: Engine, tmp_path: Path, name: str) -> None:
    path = fixture(tmp_path, name)
    result = import_file(engine, "conversations", path, tz=SH)
    check_conversations(engine, result)
    assert result.rejected_path is None
    assert not (tmp_path / f"{path.stem}.rejected.csv").exists()


def test_csv_gbk_with_mapping_file(engine: Engine, tmp_path: Path) -> None:
    """A 千牛 export in GBK with Chinese headers, value map, default channel and a source datetime format."""
    path = fixture(tmp_path, "qianniu_conversations_gbk.csv")
    result = import_file(engine, "conversations", path, mapping=FIXTURES / "qianniu.toml", tz=SH)
    assert (result.accepted, result.updated, result.rejected) == (3, 0, 0), result.errors
    stored = {r["conversation_id"]: r for r in rows(engine, Conversation, "conversation_id")}
    assert stored["QN1"]["started_at"] == utc(2026, 11, 3, 6, 5)
    assert stored["QN1"]["agent"] == "小王"
    assert stored["QN1"]["customer_id"] == "tb_buyer_1"
    assert stored["QN1"]["rating"] == 5 and stored["QN2"]["rating"] == 2 and stored["QN3"]["rating"] is None
    assert stored["QN1"]["resolved"] is True and stored["QN2"]["resolved"] is False
    assert {r["channel"] for r in stored.values()} == {"淘宝"}
    assert stored["QN2"]["first_response_seconds"] == 95.0
    assert stored["QN1"]["shop"] == "天猫旗舰店"
    assert all(r["attrs"] is None for r in stored.values())


def test_xlsx(engine: Engine, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["conversation_id", "started_at", "agent", "rating", "resolved", "会员等级"])
    sheet.append([1001, datetime(2026, 11, 3, 14, 5), "小王", 5, True, "金牌"])
    sheet.append([])  # an empty row in the middle is skipped
    sheet.append(["x2", "2026-11-03 15:00:00", "小李", 4.0, "否", None])
    sheet.append(["x3", "not a date", "小李", 4, "否", None])
    path = tmp_path / "conversations.xlsx"
    workbook.save(path)
    result = import_file(engine, "conversations", path, tz=SH)
    assert (result.accepted, result.updated, result.rejected) == (2, 0, 1)
    assert result.errors[0].line == 5  # the spreadsheet row, counting the header and the empty row
    stored = {r["conversation_id"]: r for r in rows(engine, Conversation, "conversation_id")}
    assert stored["1001"]["started_at"] == utc(2026, 11, 3, 6, 5)
    assert stored["1001"]["attrs"] == {"会员等级": "金牌"} and stored["1001"]["resolved"] is True
    assert stored["x2"]["rating"] == 4 and stored["x2"]["resolved"] is False


def test_jsonl_messages(engine: Engine, tmp_path: Path) -> None:
    path = fixture(tmp_path, "messages.jsonl")
    result = import_file(engine, "messages", path, tz=SH, enrich=False)
    assert (result.accepted, result.updated, result.rejected) == (5, 0, 3)
    assert [e.line for e in result.errors] == [7, 8, 9]  # physical lines; line 6 is blank
    assert "发送方" in result.errors[0].reason and "JSON" in result.errors[1].reason
    stored = {r["message_id"]: r for r in rows(engine, Message, "message_id")}
    assert [stored[m]["sender"] for m in ("m1", "m2", "m3", "m4", "m5")] == ["customer", "bot", "agent", "customer",
                                                                             "agent"]
    assert stored["m4"]["sent_at"] == utc(2026, 11, 3, 6, 6)
    assert stored["m5"]["sent_at"] == utc(2026, 11, 3, 6, 6) and stored["m5"]["text"] == ""
    rejected = result.rejected_path.read_text(encoding="utf-8-sig")
    assert "this is not json" in rejected and "路人" in rejected


def test_json_array(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([
        {"order_id": "j1", "created_at": "2026-11-03 10:00:00", "customer_id": "u1", "amount": 12.5, "quantity": 2},
        {"order_id": "j2", "created_at": "2026-11-03 11:00:00", "customer_id": "u2", "amount": "¥3,000"},
    ]), encoding="utf-8")
    result = import_file(engine, "orders", path, tz=SH)
    assert (result.accepted, result.rejected) == (2, 0)
    stored = {r["order_id"]: r for r in rows(engine, Order, "order_id")}
    assert stored["j1"]["amount_fen"] == 1250 and stored["j1"]["quantity"] == 2
    assert stored["j2"]["amount_fen"] == 300000


def test_orders_json_mapping_and_amounts(engine: Engine, tmp_path: Path) -> None:
    path = fixture(tmp_path, "orders.csv")
    result = import_file(engine, "orders", path, mapping=FIXTURES / "orders_mapping.json", tz=SH)
    assert (result.accepted, result.rejected) == (3, 2)
    assert [e.line for e in result.errors] == [5, 6]
    assert "不能为负" in result.errors[0].reason and "两位小数" in result.errors[1].reason
    stored = {r["order_id"]: r for r in rows(engine, Order, "order_id")}
    assert {k: (r["amount_fen"], r["channel"]) for k, r in stored.items()} == {
        "o1": (129900, "淘宝"), "o2": (8900, "京东"), "o3": (1250, "抖音"),
    }
    assert stored["o1"]["sku"] == "SKU-1" and stored["o3"]["sku"] is None


def test_tab_separated_and_semicolon(engine: Engine, tmp_path: Path) -> None:
    tsv = tmp_path / "c.tsv"
    tsv.write_text("conversation_id\tstarted_at\tagent\nt1\t2026-11-03 10:00:00\t小王\n", encoding="utf-8")
    semi = tmp_path / "d.csv"
    semi.write_text("conversation_id;started_at;agent\ns1;2026-11-03 10:00:00;小王\n", encoding="utf-8")
    assert import_file(engine, "conversations", tsv, tz=SH).accepted == 1
    assert import_file(engine, "conversations", semi, tz=SH).accepted == 1


def test_progress_bar_goes_to_stderr(engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_file(engine, "conversations", fixture(tmp_path, "conversations.csv"), tz=SH, progress=True)
    captured = capsys.readouterr()
    assert "导入 conversations" in captured.err and captured.out == ""


# ---------------------------------------------------------------- whole-file errors (one database is enough)

def expect_error(engine: Engine, kind: str, path: Path, *needles: str) -> IngestError:
    with pytest.raises(IngestError) as info:
        import_file(engine, kind, path, tz=SH)
    for needle in needles:
        assert needle in str(info.value)
    return info.value


def test_unknown_kind(sqlite_engine: Engine, tmp_path: Path) -> None:
    err = expect_error(sqlite_engine, "tickets", fixture(tmp_path, "conversations.csv"), "未知的数据类型", "tickets")
    assert all(kind in err.zh for kind in KINDS)


def test_missing_file(sqlite_engine: Engine, tmp_path: Path) -> None:
    expect_error(sqlite_engine, "conversations", tmp_path / "nope.csv", "找不到", "nope.csv")


def test_empty_file_and_header_only(sqlite_engine: Engine, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    expect_error(sqlite_engine, "conversations", empty, "文件为空", "empty")
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n  \n", encoding="utf-8")
    expect_error(sqlite_engine, "conversations", blank, "文件为空")
    header = tmp_path / "header.csv"
    header.write_text("conversation_id,started_at,agent\n", encoding="utf-8")
    expect_error(sqlite_engine, "conversations", header, "只有表头", "no data rows")


def test_missing_required_column(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,开始时间,agent\n1,2026-11-03 10:00:00,小王\n", encoding="utf-8")
    expect_error(sqlite_engine, "conversations", path, "缺少必填列", "conversation_id", "started_at", "--mapping")
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text('{"message_id": "m1", "text": "hi"}\n', encoding="utf-8")
    expect_error(sqlite_engine, "messages", jsonl, "缺少必填列", "sent_at")


def test_binary_garbage(sqlite_engine: Engine, tmp_path: Path) -> None:
    garbage = tmp_path / "data.csv"
    garbage.write_bytes(random.Random(1).randbytes(5000))
    expect_error(sqlite_engine, "conversations", garbage, "不是文本表格文件")
    no_nul = tmp_path / "latin.csv"  # high bytes without NUL that are neither UTF-8 nor Chinese text
    no_nul.write_bytes(bytes(random.Random(2).randrange(0x80, 0x100) for _ in range(3000)))
    expect_error(sqlite_engine, "conversations", no_nul, "编码")
    png = tmp_path / "chart.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    expect_error(sqlite_engine, "conversations", png, "png")
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    expect_error(sqlite_engine, "conversations", xls, ".xls", "xlsx")
    broken_zip = tmp_path / "broken.xlsx"
    broken_zip.write_bytes(b"PK\x03\x04" + bytes(100))
    expect_error(sqlite_engine, "conversations", broken_zip, "Excel")


def test_stray_undecodable_bytes_reject_only_their_row(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("conversation_id,started_at,agent,备注\nu1,2026-11-03 10:00:00,小王,老客户\n".encode()
                     + b"u2,2026-11-03 10:00:00,\xff\xfe,\n"
                     + "u3,2026-11-03 10:00:00,小李,新客户\n".encode())
    result = import_file(sqlite_engine, "conversations", path, tz=SH)
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.errors[0].line == 3 and "解码" in result.errors[0].reason
    # the rejected file keeps the original bytes of the damaged row
    assert b"\xff\xfe" in result.rejected_path.read_bytes()


def test_bad_mapping_file(sqlite_engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text("[columns\n", encoding="utf-8")
    with pytest.raises(IngestError, match="映射文件"):
        import_file(sqlite_engine, "conversations", fixture(tmp_path, "conversations.csv"), mapping=bad, tz=SH)
    wrong = tmp_path / "w.json"
    wrong.write_text('{"columns": {"a": 1}}', encoding="utf-8")
    with pytest.raises(IngestError, match="字符串"):
        import_file(sqlite_engine, "conversations", fixture(tmp_path, "conversations.csv"), mapping=wrong, tz=SH)


def test_excel_unicode_text_utf16_tab_separated(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("conversation_id\tstarted_at\tagent\nu16\t2026-11-03 14:05:00\t小王\n", encoding="utf-16")
    result = import_file(engine, "conversations", path, tz=SH)
    assert result.accepted == 1
    assert rows(engine, Conversation, "conversation_id")[0]["agent"] == "小王"


def test_mapping_drops_and_renames_extra_columns(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("会话,开始,客服,内部备注,会员\nm1,2026-11-03 14:05:00,小王,不要导入,金卡\n", encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"会话": "conversation_id", "开始": "started_at", "客服": "agent",
                                   "内部备注": "", "会员": "vip_level"}), encoding="utf-8")
    result = import_file(engine, "conversations", path, mapping=mapping, tz=SH)
    assert result.accepted == 1
    assert rows(engine, Conversation, "conversation_id")[0]["attrs"] == {"vip_level": "金卡"}
