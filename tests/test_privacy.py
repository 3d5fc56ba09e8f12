"""Personal data: forget a customer (no trace in any text/JSON column, derived stores equal a rebuild),
mask_at_rest at import, retention sweeps (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, Engine, MetaData, String, Text, func, insert, select

from analytics import keywords, metrics, qa, rollups
from analytics.demo import generate_demo
from analytics.ingest import ingest_records
from analytics.privacy import forget_customer, reference, sweep
from analytics.store.audit import AuditEntry
from analytics.store.outbox import OutboxMessage
from analytics.textmodel.pii import mask_pii

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=TZ)
WHO = "U900001"
PHONE = "13912345678"
TEXTS = [f"你好，我的手机{PHONE}，地址杭州市西湖区文三路88号5栋2单元301，羽绒服什么时候发货", "快递太慢了，差评，再不到就退款",
         "身份证110101199003074518，发票抬头怎么改"]


def _plant(engine: Engine, *, mask: bool = False) -> None:
    """One customer with conversations, messages, orders, a return, a review and complaints; plus an
    audit row and an outbox row that mention them."""
    t = NOW - timedelta(days=2)
    ingest_records(engine, "conversations", [
        {"conversation_id": "CV-A1", "started_at": t, "agent": "小王", "channel": "淘宝", "customer_id": WHO,
         "resolved": True, "rating": 2},
        {"conversation_id": "CV-A2", "started_at": t + timedelta(hours=5), "agent": "小李", "channel": "京东",
         "customer_id": WHO, "rating": 5}], tz=TZ, mask=mask)
    ingest_records(engine, "messages", [
        {"message_id": "MA1", "conversation_id": "CV-A1", "sent_at": t + timedelta(seconds=5), "sender": "customer",
         "text": TEXTS[0]},
        {"message_id": "MA2", "conversation_id": "CV-A1", "sent_at": t + timedelta(seconds=50), "sender": "agent",
         "text": f"好的，已为您备注手机{PHONE}"},
        {"message_id": "MA3", "conversation_id": "CV-A2", "sent_at": t + timedelta(hours=5, seconds=9),
         "sender": "customer", "text": TEXTS[1]},
        {"message_id": "MA4", "conversation_id": "CV-A2", "sent_at": t + timedelta(hours=5, seconds=20),
         "sender": "customer", "text": TEXTS[2]}], tz=TZ, mask=mask)
    ingest_records(engine, "orders", [
        {"order_id": "OA-100001", "created_at": t - timedelta(days=3), "customer_id": WHO, "channel": "淘宝",
         "product": "羽绒服", "amount": "399.00"},
        {"order_id": "OA-100002", "created_at": t - timedelta(days=1), "customer_id": WHO, "channel": "淘宝",
         "product": "羽绒服", "amount": "199.50"}], tz=TZ, mask=mask)
    ingest_records(engine, "returns", [{"return_id": "RA-1", "order_id": "OA-100001", "created_at": t,
                                        "reason": "质量问题", "product": "羽绒服"}], tz=TZ, mask=mask)
    ingest_records(engine, "reviews", [{"review_id": "VA-1", "created_at": t, "rating": 1, "order_id": "OA-100002",
                                        "product": "羽绒服", "text": "掉绒严重，联系电话" + PHONE}], tz=TZ, mask=mask)
    ingest_records(engine, "complaints", [
        {"complaint_id": "PA-1", "created_at": t + timedelta(minutes=3), "text": "物流太慢 " + PHONE,
         "conversation_id": "CV-A1", "channel": "淘宝", "product": "羽绒服"},
        {"complaint_id": "PA-2", "created_at": t + timedelta(minutes=9), "text": "商品有破洞",
         "order_id": "OA-100002", "channel": "淘宝", "product": "羽绒服"}], tz=TZ, mask=mask)
    with engine.begin() as conn:
        conn.execute(insert(AuditEntry.__table__).values(
            at=NOW.astimezone(UTC), platform="console", chat_id="c1", user_id="lead", command="客服",
            text=f"/查询 {WHO} 的会话", result="ok"))
        conn.execute(insert(OutboxMessage.__table__).values(
            created_at=NOW.astimezone(UTC), platform="dingtalk", kind="alert", target="ops", destination_key="k",
            text="负面消息示例：" + mask_pii(TEXTS[1]), extra={"examples": [mask_pii(TEXTS[0])]},
            next_attempt_at=NOW.astimezone(UTC), status="sent"))


@pytest.fixture
def world(engine: Engine) -> Engine:
    generate_demo(engine, days=10, seed=5, now=NOW, tz=TZ, scale=0.05)
    _plant(engine)
    return engine


def _text_columns(engine: Engine) -> list[tuple[str, str, bool]]:
    meta = MetaData()
    meta.reflect(engine)
    return [(t.name, c.name, isinstance(c.type, JSON)) for t in meta.sorted_tables for c in t.columns
            if isinstance(c.type, (String, Text, JSON))]


def _traces(engine: Engine, needles: list[str]) -> list[str]:
    """Every (table, column, needle) where a needle appears in any text or JSON column of any table."""
    meta = MetaData()
    meta.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, (String, Text, JSON)):
                    continue
                for value in conn.execute(select(column)).scalars():
                    if value is None:
                        continue
                    blob = json.dumps(value, ensure_ascii=False) if isinstance(column.type, JSON) else str(value)
                    found += [f"{table.name}.{column.name}: {n}" for n in needles if n in blob]
    return found


def _snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every derived table's rows, sorted, floats rounded (sums over different row orders)."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name.startswith("rollup_") and table.name != "rollup_state" or table.name in (
                    "term_hours", "qa_sums", "qa_findings", "qa_conversations"):
                rows = [tuple(round(v, 6) if isinstance(v, float) else v for v in row)
                        for row in conn.execute(select(table))]
                out[table.name] = sorted(rows, key=repr)
    return out


def _figures(engine: Engine) -> dict[str, tuple]:
    start, end = NOW - timedelta(days=14), NOW
    out = {}
    for key in metrics.METRICS:
        r = metrics.compute(engine, key, start, end)
        out[key] = (None if r.value is None else round(r.value, 9), r.n,
                    {k: round(v, 6) if isinstance(v, float) else v for k, v in r.parts.items()})
    return out


def _rebuild(engine: Engine) -> None:
    rollups.rebuild(engine)
    keywords.rebuild(engine)
    qa.rebuild(engine)


def test_forget_leaves_no_trace_and_derived_stores_equal_a_rebuild(world: Engine) -> None:
    needles = [WHO, PHONE, *TEXTS, mask_pii(TEXTS[0]), mask_pii(TEXTS[1]), "110101199003074518", "CV-A1",
               "OA-100002"]
    assert _traces(world, needles), "the planted customer is stored"
    with world.connect() as conn:
        conv_before = conn.execute(select(func.count()).select_from(rollups.SPECS["conversations"].id_column.table)
                                   ).scalar_one()
    preview = forget_customer(world, WHO, dry_run=True)
    assert preview.deleted == {"conversations": 2, "messages": 4, "orders": 2, "returns": 1, "reviews": 1,
                               "complaints": 2}
    done = forget_customer(world, WHO)
    assert done.deleted == preview.deleted and done.reference == reference(WHO) and WHO not in done.reference
    assert done.redacted.get("audit_log") == 1 and done.redacted.get("outbox") == 1

    assert _traces(world, needles) == []
    kept, figures = _snapshot(world), _figures(world)
    _rebuild(world)
    assert _snapshot(world) == kept
    assert _figures(world) == figures
    # an independent count: the customer's two conversations are gone, nobody else's
    with world.connect() as conn:
        table = rollups.SPECS["conversations"].id_column.table
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == conv_before - 2


def test_forget_again_and_unknown_customer_change_nothing(world: Engine) -> None:
    forget_customer(world, WHO)
    kept = _snapshot(world)
    assert forget_customer(world, WHO).total == 0
    assert forget_customer(world, "U-NOBODY").total == 0
    assert _snapshot(world) == kept


def test_mask_at_rest_masks_at_import_and_analytics_still_work(engine: Engine) -> None:
    _plant(engine, mask=True)
    with engine.connect() as conn:
        table = rollups.SPECS["messages"].id_column.table
        stored = dict(conn.execute(select(table.c.message_id, table.c.text)).all())
        labels = dict(conn.execute(select(table.c.message_id, table.c.sentiment_label)).all())
        complaint = rollups.SPECS["complaints"].id_column.table
        categories = dict(conn.execute(select(complaint.c.complaint_id, complaint.c.category)).all())
    assert PHONE not in " ".join(stored.values()) and "文三路" not in stored["MA1"]
    assert "[手机号]" in stored["MA1"] and "[地址]" in stored["MA1"] and "[身份证]" in stored["MA4"]
    assert "羽绒服什么时候发货" in stored["MA1"]  # the words the analytics read stay
    assert labels["MA3"] == "neg"  # 快递太慢了，差评 is still negative
    assert categories["PA-1"] == "物流"
    assert _traces(engine, [PHONE, "110101199003074518"]) == []
    kept = _snapshot(engine)
    assert kept["term_hours"], "热词 counted"
    _rebuild(engine)
    assert _snapshot(engine) == kept  # counts from the stored (masked) text: what a rebuild reads


def test_mask_at_rest_keeps_order_ids() -> None:
    from analytics.textmodel.pii import mask_at_rest

    assert mask_at_rest("订单号 202511231234567890 还没发货") == "订单号 202511231234567890 还没发货"
    assert mask_at_rest("SF1234567890 到哪了，电话13812345678") == "SF1234567890 到哪了，电话[手机号]"
    assert mask_at_rest("2025112312345678这个订单", keep=("2025112312345678",)) == "2025112312345678这个订单"
    assert mask_at_rest("卡号 6222 0212 3456 7890 128") == "卡号 [银行卡]"
    assert mask_at_rest(None) is None and mask_at_rest("好的") == "好的"


def test_retention_sweep_deletes_old_rows_and_keeps_rollups_exact(world: Engine) -> None:
    days = {"messages": 3, "orders": 6, "complaints": 4, "conversations": 5, "audit_log": 1}
    tables = {k: rollups.SPECS[k].id_column.table for k in ("messages", "orders", "complaints", "conversations")}
    times = {"messages": "sent_at", "orders": "created_at", "complaints": "created_at", "conversations": "started_at"}
    with world.connect() as conn:
        before = {k: [(r[0], _utc(r[1])) for r in conn.execute(select(t.c[next(iter(t.primary_key.columns)).name],
                                                                       t.c[times[k]]))]
                  for k, t in tables.items()}
    deleted = sweep(world, days, NOW, batch=50)
    expected = {k: sum(1 for _, at in before[k] if at < (NOW - timedelta(days=d)).astimezone(UTC))
                for k, d in days.items() if k != "audit_log"}
    assert {k: deleted[k] for k in expected} == expected and all(expected.values())
    with world.connect() as conn:
        for kind, table in tables.items():
            left = conn.execute(select(func.count()).select_from(table)).scalar_one()
            cut = days.get(kind)
            keep = [1 for _, at in before[kind] if cut is None or at >= (NOW - timedelta(days=cut)).astimezone(UTC)]
            assert left == len(keep), kind
    kept, figures = _snapshot(world), _figures(world)
    _rebuild(world)
    assert _snapshot(world) == kept
    assert _figures(world) == figures


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_retention_due_is_daily_after_the_sweep_time() -> None:
    from analytics.privacy import due

    at = datetime(2026, 11, 26, 3, 0, tzinfo=TZ)
    assert not due(at, None, "03:30", TZ)  # before today's time
    assert due(at + timedelta(minutes=31), None, "03:30", TZ)
    assert not due(at + timedelta(hours=5), at + timedelta(minutes=40), "03:30", TZ)  # ran today
    assert due(at + timedelta(hours=5), at - timedelta(hours=2), "03:30", TZ)  # last ran yesterday


async def test_admin_chat_command_previews_confirms_and_audits_no_id(world: Engine, tmp_path) -> None:  # noqa: ANN001
    from analytics.faq.ledger import pack_state, unpack_state
    from analytics.faq.suggest import text_key
    from analytics.store.faq import FaqState, FaqSuggestion
    from analytics.store.inbox import InboxMessage
    from bot.access import AccessPolicy
    from bot.app import Bot
    from bot.config import AccessSettings, Settings

    with world.begin() as conn:  # FAQ mining kept the customer's question and phrasing
        conn.execute(insert(FaqSuggestion.__table__).values(
            signature="s1", question="什么时候发货", kind="快捷回复", phrasings=[mask_pii(TEXTS[0]), "几天发货"],
            first_seen_at=NOW.astimezone(UTC), updated_at=NOW.astimezone(UTC)))
        conn.execute(insert(FaqState.__table__).values(
            name="main", state=pack_state({"labels": {TEXTS[0]: 3, "怎么退货": 1},
                                           "extracted": {text_key(TEXTS[1]): "什么时候到", text_key("别人"): "怎么退货"}}),
            questions=2,
            fitted_at=NOW.astimezone(UTC), updated_at=NOW.astimezone(UTC)))
        conn.execute(insert(InboxMessage.__table__).values(  # a lead pasted the customer's message to the bot
            platform="dingtalk", message_id="m1", message={"text": f"客户{WHO}说：{TEXTS[0]}", "user_id": "lead"},
            received_at=NOW.astimezone(UTC), status="done", updated_at=NOW.astimezone(UTC)))
    bot = Bot(Settings(access={"admins": ["boss"]}), world, clock=lambda: NOW, chart_dir=tmp_path / "charts",
              access=AccessPolicy(AccessSettings(admins=["boss"], user_rate_per_minute=0), world))
    refused = await bot.ask(f"/删除客户 {WHO} 确认", user_id="agent7")
    assert not refused.ok and _traces(world, ["CV-A1"]), "non-admins cannot delete"
    preview = await bot.ask(f"/删除客户 {WHO}", user_id="boss")
    assert preview.ok and "会话 2，消息 4" in preview.text and f"/删除客户 {WHO} 确认" in preview.text
    assert _traces(world, ["CV-A1"]), "a preview deletes nothing"
    done = await bot.ask(f"/删除客户 {WHO} 确认", user_id="boss")
    assert done.ok and reference(WHO) in done.text and WHO not in done.text, done.text
    assert _traces(world, [WHO, PHONE, *TEXTS, mask_pii(TEXTS[0])]) == []
    with world.connect() as conn:
        audits = list(conn.execute(select(AuditEntry.__table__.c.text, AuditEntry.__table__.c.command)
                                   .where(AuditEntry.__table__.c.command == "删除客户")))
        state = unpack_state(conn.execute(select(FaqState.__table__.c.state)).scalar_one())
        phrasings = conn.execute(select(FaqSuggestion.__table__.c.phrasings)).scalar_one()
    assert {t for t, _ in audits} == {f"/删除客户 {reference(WHO)} 确认", f"/删除客户 {reference(WHO)}"}
    assert state["labels"] == {"怎么退货": 1} and state["extracted"] == {text_key("别人"): "怎么退货"}
    assert phrasings == ["[已删除]", "几天发货"]
    kept = _snapshot(world)
    _rebuild(world)
    assert _snapshot(world) == kept


def test_retention_job_sweeps_once_a_day_on_one_replica(engine: Engine) -> None:
    from bot.config import Settings
    from bot.jobs.retention import RetentionJob, enabled

    _plant(engine)
    settings = Settings(retention={"messages": 1, "sweep_time": "03:30"})
    assert enabled(settings) and not enabled(Settings())
    clock = {"now": datetime(2026, 11, 26, 3, 0, tzinfo=TZ)}
    a = RetentionJob(settings, engine, "replica-a", clock=lambda: clock["now"])
    b = RetentionJob(settings, engine, "replica-b", clock=lambda: clock["now"])
    assert a.run_once() is None  # before 03:30
    clock["now"] = datetime(2026, 11, 26, 3, 40, tzinfo=TZ)
    assert a.run_once() == {"messages": 4}  # the planted messages are two days old
    assert b.run_once() is None  # already swept today, on the other replica
    clock["now"] = datetime(2026, 11, 27, 4, 0, tzinfo=TZ)
    assert b.run_once() == {"messages": 0}  # the next day's sweep, nothing older left
    kept = _snapshot(engine)
    _rebuild(engine)
    assert _snapshot(engine) == kept


def test_mask_stored_equals_importing_masked(make_engine, backend: str) -> None:  # noqa: ANN001
    from analytics.privacy import mask_stored

    raw, masked = make_engine(backend), make_engine(backend)
    _plant(raw)
    _plant(masked, mask=True)
    done = mask_stored(raw, TZ)
    assert done == {"messages": 3, "complaints": 1, "reviews": 1}  # MA3 (快递太慢了) holds nothing personal
    assert _traces(raw, [PHONE, "110101199003074518", "文三路"]) == []
    a, b = _snapshot(raw), _snapshot(masked)
    assert a == b  # sentiment, reasons, 热词, 质检 and rollups as if the text had been masked at import
    assert mask_stored(raw, TZ) == {}


def test_cli_forget_and_retention(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    from bot.cli import main

    _plant(sqlite_engine)
    monkeypatch.setenv("CSBOT_DATABASE__URL", str(sqlite_engine.url))
    assert main(["forget", "U900001"]) == 2  # customer=… is required
    assert main(["forget", f"customer={WHO}", "--dry-run"]) == 0
    assert "将删除 会话 2，消息 4，订单 2" in capsys.readouterr().out and _traces(sqlite_engine, ["CV-A1"])
    assert main(["forget", f"customer={WHO}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(reference(WHO)) and WHO not in out
    assert _traces(sqlite_engine, [WHO, PHONE]) == []
    assert main(["retention"]) == 0 and "永久保留" in capsys.readouterr().out
