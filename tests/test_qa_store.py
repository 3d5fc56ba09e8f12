"""质检 kept at import: planted problems found as each agent's top problem, counts against a plain loop over
the stored findings, incremental imports equal a rebuild, repeat_contact set by a later import, the CLI
JSON and the chat answers — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from analytics import qa
from analytics.ingest import ingest_records
from analytics.qa import maintain, read
from analytics.store.models import Conversation, Message
from analytics.store.qa import QAConversation, QAFinding, QASum
from bot.access import AccessPolicy
from bot.app import Bot
from bot.config import AccessSettings, Settings
from bot.qa_cli import report
from handlers.quality import coach_topics
from tests.qa_data import CLEAN, NOW, PLANTED, TZ, _chat, world

WEEK = (datetime(2026, 11, 2, tzinfo=TZ), datetime(2026, 11, 9, tzinfo=TZ))


def load(engine: Engine, convs: list[dict], msgs: list[dict]) -> None:
    ingest_records(engine, "conversations", convs, tz=TZ)
    ingest_records(engine, "messages", msgs, tz=TZ)


def snapshot(engine: Engine) -> tuple[list, list, list]:
    with engine.connect() as conn:
        c = QAConversation.__table__
        f = QAFinding.__table__
        s = QASum.__table__
        return (sorted(tuple(r) for r in conn.execute(select(c))),
                sorted((r.conversation_id, r.rule, r.agent, r.started_at, tuple(r.message_ids), r.detail)
                       for r in conn.execute(select(f))),
                sorted(tuple(r) for r in conn.execute(select(s).where(s.c.n != 0))))


def loop_counts(engine: Engine, start: datetime, end: datetime) -> dict[str, tuple[int, Counter]]:
    """The plain computation: every stored conversation and finding of the window, counted one by one."""
    out: dict[str, tuple[int, Counter]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(QAConversation.__table__)):
            if start <= row.started_at < end:
                n, flags = out.get(row.agent, (0, Counter()))
                out[row.agent] = (n + 1, flags)
        for row in conn.execute(select(QAFinding.__table__)):
            if start <= row.started_at < end:
                out[row.agent][1][row.rule] += 1
    return out


@pytest.fixture
def planted(engine: Engine) -> Engine:
    convs, msgs = world()
    load(engine, convs, msgs)
    return engine


def test_each_planted_problem_is_that_agents_top_problem(planted: Engine) -> None:
    doc = report(planted, *WEEK)
    rows = read.counts(planted, *WEEK)
    team = read.team(rows)
    for agent, rule in PLANTED.items():
        flags = doc["agents"][agent]["flags"]
        assert max(flags, key=lambda r: flags[r]) == rule, (agent, flags)
        assert coach_topics(rows[agent], team)[0] == rule
    for agent in CLEAN:
        assert not any(doc["agents"][agent]["flags"].values()), doc["agents"][agent]
        assert all(item["agent"] != agent for item in doc["flagged"])
    assert doc["agents"]["慢慢"]["flags"]["slow_first_response"] == doc["agents"]["慢慢"]["conversations"]
    assert doc["agents"]["无问候"]["flags"]["no_greeting"] == doc["agents"]["无问候"]["conversations"]
    assert doc["agents"]["未解决"]["flags"]["repeat_contact"] == doc["agents"]["未解决"]["conversations"]


def test_counts_equal_a_loop_over_the_findings(planted: Engine) -> None:
    # windows with ragged edges: raw minutes, whole hours, whole UTC days, all three
    windows = [WEEK, (datetime(2026, 11, 3, 10, 17, tzinfo=TZ), datetime(2026, 11, 5, 15, 41, tzinfo=TZ)),
               (datetime(2026, 11, 3, 10, 17, tzinfo=TZ), datetime(2026, 11, 3, 10, 50, tzinfo=TZ)),
               (datetime(2026, 11, 4, 9, 0, tzinfo=TZ), datetime(2026, 11, 4, 13, 0, tzinfo=TZ))]
    for start, end in windows:
        expected = loop_counts(planted, start, end)
        got = read.counts(planted, start, end)
        assert {a: (r.conversations, +r.flags) for a, r in got.items()} == {a: (n, +f) for a, (n, f) in expected.items()}
        doc = report(planted, start, end)
        flagged = [x["conversation_id"] for x in doc["flagged"]]
        assert len(flagged) == len(set(flagged))
        assert sum(len(x["rules"]) for x in doc["flagged"]) == sum(sum(f.values()) for _, f in expected.values())


def test_cover_splits_a_window_into_disjoint_pieces() -> None:
    start, end = datetime(2026, 11, 3, 10, 17, tzinfo=TZ), datetime(2026, 11, 9, 15, 41, tzinfo=TZ)
    days, hours, raw = read.cover(start, end)
    pieces = sorted(days + hours + raw)
    assert pieces[0][0] == start and pieces[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
    assert all(hi - lo < timedelta(hours=1) for lo, hi in raw)


def test_incremental_imports_equal_a_rebuild(engine: Engine) -> None:
    convs, msgs = world(seed=5)
    # messages before their conversations, in pieces, then a re-import that changes an agent and a resolution
    third = len(convs) // 3
    ingest_records(engine, "messages", msgs[: len(msgs) // 2], tz=TZ)
    ingest_records(engine, "conversations", convs[:third], tz=TZ)
    ingest_records(engine, "conversations", convs[third:], tz=TZ)
    ingest_records(engine, "messages", msgs[len(msgs) // 2:], tz=TZ)
    changed = [dict(convs[0], agent="粗鲁"), dict(convs[5], resolved=False)]
    ingest_records(engine, "conversations", changed, tz=TZ)
    incremental = snapshot(engine)
    qa.rebuild(engine)
    assert snapshot(engine) == incremental


def test_a_later_import_flags_the_earlier_conversation(engine: Engine) -> None:
    convs, msgs = world(seed=9, per_agent=5)
    first = next(c for c in convs if c["agent"] == "未解决")
    back = next(c for c in convs if c["customer_id"] == first["customer_id"] and c is not first)
    later = {back["conversation_id"]}
    load(engine, [c for c in convs if c["conversation_id"] not in later],
         [m for m in msgs if m["conversation_id"] not in later])
    before = {x["conversation_id"]: x["rules"] for x in report(engine, *WEEK)["flagged"]}
    assert "repeat_contact" not in before.get(first["conversation_id"], [])
    count = read.counts(engine, *WEEK)["未解决"].flags["repeat_contact"]
    load(engine, [back], [m for m in msgs if m["conversation_id"] in later])
    after = {x["conversation_id"]: x["rules"] for x in report(engine, *WEEK)["flagged"]}
    assert "repeat_contact" in after[first["conversation_id"]]
    assert read.counts(engine, *WEEK)["未解决"].flags["repeat_contact"] == count + 1
    # the customer turns out to be someone else: the flag goes again
    ingest_records(engine, "conversations", [dict(back, customer_id="someone-else")], tz=TZ)
    again = {x["conversation_id"]: x["rules"] for x in report(engine, *WEEK)["flagged"]}
    assert "repeat_contact" not in again.get(first["conversation_id"], [])
    assert read.counts(engine, *WEEK)["未解决"].flags["repeat_contact"] == count


def _ask(bot: Bot, text: str, **kw: object) -> str:
    reply = asyncio.run(bot.ask(text, **kw))
    assert reply is not None
    return reply.text


def test_chat_answers(planted: Engine, tmp_path) -> None:  # noqa: ANN001
    settings = Settings(access=AccessSettings(sensitive_chats=["cidLEADS"], user_rate_per_minute=0))
    bot = Bot(settings, planted, clock=lambda: NOW, chart_dir=tmp_path, access=AccessPolicy(settings.access, None))
    team = _ask(bot, "/质检 上周", chat_id="cidGROUP", is_private=False)
    assert "首响超时" in team and "服务用语不礼貌" in team and "例：" in team
    assert "粗鲁" not in team and "慢慢" not in team  # no agent names in an ordinary group
    refused = asyncio.run(bot.ask("/质检 客服=粗鲁 上周", chat_id="cidGROUP", is_private=False))
    assert refused is not None and not refused.ok and "私聊" in refused.text
    for kw in ({"chat_id": "cidLEADS", "is_private": False}, {"is_private": True}):
        profile = _ask(bot, "/质检 客服=粗鲁 上周", **kw)
        assert "重点辅导：1. 服务用语不礼貌" in profile and "例子" in profile
    assert "没有明显高于团队的问题" in _ask(bot, "/质检 客服=小清 上周")
    unknown = asyncio.run(bot.ask("/质检 客服=小请 上周"))
    assert unknown is not None and not unknown.ok
    assert "csbot rebuild qa" in _ask(bot, "/质检 2026-10-01~2026-10-07")  # nothing checked there
    scripts = _ask(bot, "/质检 话术 上周")
    assert "好评且解决" in scripts and "个会话" in scripts


def test_cli_json(planted: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    monkeypatch.setenv("CSBOT_DATABASE__URL", planted.url.render_as_string(hide_password=False))
    assert main(["qa", "--period", "2026-11-02~2026-11-08", "--agent", "粗鲁", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"window", "agents", "flagged"}
    assert doc["window"][0].startswith("2026-11-02T00:00:00") and doc["window"][1].startswith("2026-11-09T00:00:00")
    assert list(doc["agents"]) == ["粗鲁"] and set(doc["agents"]["粗鲁"]) == {"conversations", "flags"}
    assert set(doc["agents"]["粗鲁"]["flags"]) == set(qa.RULES)
    assert doc["flagged"] and all(set(x) == {"conversation_id", "agent", "rules"} for x in doc["flagged"])
    assert all(x["rules"] == ["impolite"] for x in doc["flagged"])


def test_scripts_count_every_reply_once(planted: Engine) -> None:
    from analytics.qa.scripts import scripts

    convs, _ = world()
    n, found = scripts(planted, *WEEK)
    assert n == len(convs)  # every planted chat opens with a question and gets an answer
    assert found and sum(c.conversations for c in found) <= n
    for c in found:
        assert sum(r.uses for r in c.replies) == c.conversations
        assert sum(r.judged for r in c.replies) == c.judged
        assert sum(r.good for r in c.replies) == c.good
    # 未解决's chats are rated 3 and unresolved, everyone else's 5 and resolved: the loop over the rows
    good = sum(1 for x in convs if x["resolved"] and x["rating"] >= 4)
    assert sum(c.good for c in found) <= good


def _months_world(seed: int = 11, n: int = 400) -> tuple[list[dict], list[dict]]:
    """Conversations spread over five months (crossing UTC and local month ends), each agent's style as planted."""
    rng = random.Random(seed)
    agents = (*CLEAN, *PLANTED)
    first = datetime(2026, 6, 28, tzinfo=TZ)
    convs, msgs = [], []
    for i in range(n):
        start = first + timedelta(minutes=rng.randrange(140 * 24 * 60))
        agent = rng.choice(agents)
        c, m = _chat(rng, f"m{i:04d}", agent, start, f"mu{i % 150}", resolved=agent != "未解决")
        convs.append(c)
        msgs += m
    convs.sort(key=lambda c: c["started_at"])
    msgs.sort(key=lambda m: m["sent_at"])
    return convs, msgs


def test_month_sums_and_long_windows_equal_a_plain_loop(engine: Engine) -> None:
    convs, msgs = _months_world()
    load(engine, convs, msgs)
    # the month rows are the stored conversations and findings grouped by UTC month, counted one by one
    expected: Counter[tuple] = Counter()
    with engine.connect() as conn:
        for row in conn.execute(select(QAConversation.__table__)):
            at = row.started_at.astimezone(UTC) if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
            month = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            expected[(month, row.agent, "", "n")] += 1
            expected[(month, row.agent, "", "s")] += row.score
            for rule in filter(None, row.rules.split(",")):
                expected[(month, row.agent, rule, "n")] += 1
        s = QASum.__table__
        got: Counter[tuple] = Counter()
        for row in conn.execute(select(s).where(s.c.grain == "month")):
            at = row.bucket.astimezone(UTC) if row.bucket.tzinfo else row.bucket.replace(tzinfo=UTC)
            got[(at, row.agent, row.rule, "n")] += row.n
            if row.rule == "":
                got[(at, row.agent, "", "s")] += row.score_sum
    assert +got == +expected and len({k[0] for k in expected}) >= 5
    windows = [(datetime(2026, 1, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ)),  # a local year
               (datetime(2026, 7, 15, 10, 17, tzinfo=TZ), datetime(2026, 10, 3, 8, 5, tzinfo=TZ)),
               (datetime(2026, 8, 1, tzinfo=TZ), datetime(2026, 9, 1, tzinfo=TZ)),  # a local month: UTC edges
               (datetime(2026, 7, 1, 8, 0, tzinfo=TZ), datetime(2026, 9, 1, 8, 0, tzinfo=TZ))]  # whole UTC months
    for start, end in windows:
        want = loop_counts(engine, start, end)
        have = read.counts(engine, start, end)
        assert {a: (r.conversations, +r.flags) for a, r in have.items()} == {a: (n, +f) for a, (n, f) in want.items()}
        one = read.counts(engine, start, end, "粗鲁")
        assert {a: (r.conversations, +r.flags) for a, r in one.items()} == {
            a: (n, +f) for a, (n, f) in want.items() if a == "粗鲁"}
    # removing conversations (forget / retention) and re-importing changes keep the month rows equal to a rebuild
    gone = [c["conversation_id"] for c in convs[::7]]
    with engine.begin() as conn:
        maintain.remove(conn, gone)
        conn.execute(Message.__table__.delete().where(Message.__table__.c.conversation_id.in_(gone)))
        conn.execute(Conversation.__table__.delete().where(Conversation.__table__.c.conversation_id.in_(gone)))
    ingest_records(engine, "conversations", [dict(convs[1], agent="小洁"), dict(convs[3], resolved=False)], tz=TZ)
    kept = snapshot(engine)
    qa.rebuild(engine)
    assert snapshot(engine) == kept


def test_months_split_whole_days_into_whole_months() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 12, 3, 15, 37, tzinfo=TZ)
    days, hours, raw = read.cover(start, end)
    whole, rest = read.months(days)
    pieces = sorted(whole + rest + hours + raw)
    assert pieces[0][0] == start and pieces[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
    assert all(lo.day == 1 and hi.day == 1 for lo, hi in whole)
    assert sum(len(x) for x in (whole, rest)) <= 3 and whole[0] == (datetime(2026, 1, 1, tzinfo=UTC),
                                                                    datetime(2026, 12, 1, tzinfo=UTC))


def test_migration_0016_fills_the_month_rows_from_the_stored_days(engine: Engine) -> None:
    from alembic import command

    from analytics.store.db import alembic_config

    convs, msgs = _months_world(seed=12, n=150)
    load(engine, convs, msgs)
    imported = snapshot(engine)
    s = QASum.__table__

    def run(step, target: str) -> None:  # noqa: ANN001
        with engine.begin() as conn:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            step(cfg, target)

    run(command.downgrade, "0015")  # a database imported before 0016: day and hour rows only
    with engine.connect() as conn:
        assert conn.execute(select(s).where(s.c.grain == "month")).first() is None
        assert conn.execute(select(s).where(s.c.grain == "day")).first() is not None
    run(command.upgrade, "heads")
    assert snapshot(engine) == imported


# -- 话术: the kept questions and replies (qa_scripts) against a plain loop over the raw rows ---------------

def loop_pairs(engine: Engine, start: datetime, end: datetime, limit: int, chunk: int) -> list:
    """The plain computation of /质检 话术's input: the window's latest ``limit`` conversations (from the
    latest back, ``chunk`` at a time, each run in id order), each one's messages in time order, its first
    customer line that asks something and the first agent line after it."""
    from analytics.faq import extract
    from analytics.qa.scripts import Pair, normalise

    with engine.connect() as conn:
        heads = [r for r in conn.execute(select(Conversation.__table__)) if start <= r.started_at < end]
        msgs = list(conn.execute(select(Message.__table__)))
    by_id = sorted(heads, key=lambda r: r.conversation_id)
    latest = sorted(by_id, key=lambda r: r.started_at, reverse=True)[:limit]  # equal times: in id order
    runs = [sorted(latest[i:i + chunk], key=lambda r: r.conversation_id) for i in range(0, len(latest), chunk)]
    out = []
    for head in (h for run in runs for h in run):
        own = sorted((m for m in msgs if m.conversation_id == head.conversation_id and m.sender != "bot"),
                     key=lambda m: (m.sent_at, m.message_id))
        question = None
        for m in own:
            if question is None and m.sender == "customer":
                question = extract(m.text or "")
            elif question is not None and m.sender == "agent":
                if head.rating is not None:
                    good = head.rating >= 4 and head.resolved is not False
                else:
                    good = False if head.resolved is False else None
                out.append(Pair(question, normalise(m.text or ""), good))
                break
    return out


def scripts_rows(engine: Engine) -> list[tuple]:
    from analytics.store.qa import QAScript

    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(QAScript.__table__)))


def assert_scripts_equal_the_loop(engine: Engine) -> None:
    from analytics.qa import scripts as mod

    for limit, chunk in ((10_000, mod._CHUNK), (10_000, 7), (40, 7)):  # whole week / latest 40; runs of 7
        expected = loop_pairs(engine, *WEEK, limit, chunk)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(mod, "_CHUNK", chunk)
            assert mod._pairs(engine, *WEEK, limit) == expected
            assert mod.scripts(engine, *WEEK, limit=limit) == (len(expected), mod.summarise(expected))


def _varied_world() -> tuple[list[dict], list[dict]]:
    """The planted week with some chats that ask nothing (好的 first), answer before the question, have no
    agent line, a bot line, or no rating — so the pairing's every branch is in the rows."""
    convs, msgs = world(seed=21)
    rng = random.Random(21)
    by_conv: dict[str, list[dict]] = {}
    for m in msgs:
        by_conv.setdefault(m["conversation_id"], []).append(m)
    for i, c in enumerate(convs):
        own = by_conv[c["conversation_id"]]
        if i % 7 == 1:
            own[0]["text"] = "在吗"  # asks nothing: the question is the customer's later line, if any
            own[2]["text"] = "请问什么时候能发货呀"
        elif i % 7 == 2:
            c["rating"] = None
        elif i % 7 == 3:
            msgs.append({"message_id": f"{c['conversation_id']}-b", "conversation_id": c["conversation_id"],
                         "sent_at": own[0]["sent_at"] + timedelta(seconds=1), "sender": "bot",
                         "text": "机器人：您好，请稍等"})
        elif i % 7 == 4:
            for m in own[1:]:
                if m["sender"] == "agent":
                    m["sender"] = "customer"  # no agent line at all: no pair
        elif i % 7 == 5:
            own[1]["text"] = rng.choice(("亲亲，付款后48小时内发出哦~", "您好，一般付款后两天内发货呢[微笑]"))
    return convs, msgs


def test_scripts_equal_a_plain_loop_after_reimport_forget_and_rebuild(engine: Engine) -> None:
    from analytics.privacy.forget import forget_customer

    convs, msgs = _varied_world()
    # messages first, in two pieces, then the conversations: pairs appear when a conversation arrives
    ingest_records(engine, "messages", msgs[: len(msgs) // 2], tz=TZ)
    ingest_records(engine, "conversations", convs, tz=TZ)
    ingest_records(engine, "messages", msgs[len(msgs) // 2:], tz=TZ)
    assert scripts_rows(engine)
    assert_scripts_equal_the_loop(engine)
    # a re-import that changes questions, replies and outcomes
    first = {}
    for m in msgs:
        first.setdefault(m["conversation_id"], []).append(m)
    changed_msgs, changed_convs = [], []
    for c in convs[::9]:
        own = first[c["conversation_id"]]
        changed_msgs.append(dict(own[0], text="好的"))  # no longer asks: the pair goes (or moves to a later line)
        changed_msgs.append(dict(own[1], text="亲，这个我帮您查一下运单号SF1234567890"))
        changed_convs.append(dict(c, rating=1, resolved=False))
    ingest_records(engine, "messages", changed_msgs, tz=TZ)
    ingest_records(engine, "conversations", changed_convs, tz=TZ)
    assert_scripts_equal_the_loop(engine)
    # forget two customers: their conversations' pairs leave with them
    gone = [convs[3]["customer_id"], convs[10]["customer_id"]]
    ids = {c["conversation_id"] for c in convs if c["customer_id"] in gone}
    for customer in gone:
        forget_customer(engine, customer)
    assert not ids & {r[0] for r in scripts_rows(engine)}
    assert_scripts_equal_the_loop(engine)
    kept = scripts_rows(engine)
    qa.rebuild(engine)
    assert scripts_rows(engine) == kept


def test_migration_0017_fills_qa_scripts_from_the_stored_messages(engine: Engine) -> None:
    from alembic import command

    from analytics.store.db import alembic_config

    convs, msgs = _varied_world()
    load(engine, convs, msgs)
    imported = scripts_rows(engine)

    def run(step, target: str) -> None:  # noqa: ANN001
        with engine.begin() as conn:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            step(cfg, target)

    run(command.downgrade, "0016")  # a database imported before 0017
    run(command.upgrade, "heads")
    assert imported and scripts_rows(engine) == imported
    assert_scripts_equal_the_loop(engine)
