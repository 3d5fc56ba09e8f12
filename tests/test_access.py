"""Access rules, the per-user rate limit and the audit log (real SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from analytics.store.audit import AuditEntry
from bot.access import REFUSE_CHAT, REFUSE_PRIVATE, AccessPolicy, TokenBucket
from bot.adapters.base import IncomingMessage
from bot.config import AccessSettings
from handlers.base import CommandSpec

CSAT = CommandSpec(name="满意度", aliases=("csat",), usage="/满意度 [时间]", help="满意度")
AGENT = CommandSpec(name="客服", aliases=("agent",), usage="/客服 [姓名]", help="客服")
ADMIN_ONLY = CommandSpec(name="订阅", aliases=(), usage="/订阅", help="订阅", admin_only=True)
FLAGGED = CommandSpec(name="明细", aliases=(), usage="/明细", help="明细", sensitive=True)


class FakeClock:
    """A hand-driven clock: tests move time explicitly, never read the wall clock."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def msg(*, chat: str = "cidGROUP", user: str = "u1", private: bool = False, platform: str = "dingtalk",
        text: str = "/满意度 本周", mid: str = "m1") -> IncomingMessage:
    return IncomingMessage(platform=platform, message_id=mid, chat_id=chat, user_id=user, text=text,
                           user_name="小王", is_private=private)


BASE = {"admins": ["boss"], "allowed_chats": ["cidGROUP", "wecom:wxchat"], "sensitive_chats": ["cidLEADS"],
        "user_rate_per_minute": 0}

CASES = [
    # (settings overrides, message kwargs, spec, expected refusal or None)
    ({}, {}, CSAT, None),  # listed group, ordinary command
    ({}, {"chat": "cidOTHER"}, CSAT, REFUSE_CHAT),  # group not on the allow-list
    ({}, {"chat": "cidOTHER", "user": "boss"}, CSAT, None),  # admins may use it anywhere
    ({"allowed_chats": []}, {"chat": "cidOTHER"}, CSAT, None),  # empty allow-list = every chat
    ({}, {"chat": "wxchat", "platform": "wecom"}, CSAT, None),  # "platform:id" entries match
    ({}, {"chat": "wxchat", "platform": "dingtalk"}, CSAT, REFUSE_CHAT),  # ...only on that platform
    ({}, {"chat": "cidOTHER"}, None, REFUSE_CHAT),  # refused even when no command matched
    ({}, {"private": True, "chat": "u1"}, CSAT, None),  # 1:1 allowed by default
    ({"allow_private": False}, {"private": True}, CSAT, REFUSE_PRIVATE),  # 1:1 switched off
    ({"allow_private": False}, {"private": True, "user": "boss"}, CSAT, None),  # ...but not for admins
    ({"allowed_users": ["u2"]}, {"private": True}, CSAT, REFUSE_PRIVATE),  # 1:1 limited to listed users
    ({"allowed_users": ["u1"]}, {"private": True}, CSAT, None),  # listed user in 1:1
    ({}, {}, AGENT, "「客服」包含按客服个人的数据"),  # sensitive by config, in a group
    ({}, {"private": True}, AGENT, None),  # sensitive command in 1:1 is fine
    ({}, {"chat": "cidLEADS"}, AGENT, REFUSE_CHAT),  # sensitive chat must also be allowed at all
    ({"allowed_chats": []}, {"chat": "cidLEADS"}, AGENT, None),  # listed sensitive chat
    ({}, {}, FLAGGED, "「明细」包含按客服个人的数据"),  # sensitive by its spec
    ({}, {}, ADMIN_ONLY, "「订阅」只有管理员可以使用"),  # admin-only command, ordinary user
    ({}, {"user": "boss"}, ADMIN_ONLY, None),  # admin-only command, admin
]


@pytest.mark.parametrize(("overrides", "kwargs", "spec", "expected"), CASES)
def test_check_table(overrides, kwargs, spec, expected):
    policy = AccessPolicy(AccessSettings(**{**BASE, **overrides}), None, FakeClock())
    got = policy.check(msg(**kwargs), spec)
    if expected is None:
        assert got is None
    else:
        assert got is not None and expected in got


def test_rate_limit_allows_a_burst_then_refills_at_the_configured_rate():
    clock = FakeClock()
    policy = AccessPolicy(AccessSettings(user_rate_per_minute=6, user_burst=3), None, clock)
    assert [policy.check(msg(), CSAT) for _ in range(3)] == [None, None, None]
    refusal = policy.check(msg(), CSAT)
    assert refusal == "您发得有点快，请 10 秒后再试。"  # 6/min = one token per 10 s
    assert policy.check(msg(user="u2"), CSAT) is None  # other users are not affected
    clock.advance(9)
    assert policy.check(msg(), CSAT) == "您发得有点快，请 1 秒后再试。"
    clock.advance(1)
    assert policy.check(msg(), CSAT) is None
    clock.advance(3600)  # a long pause refills only up to the burst size
    assert [policy.check(msg(), CSAT) is None for _ in range(4)] == [True, True, True, False]


def test_rate_limit_counts_users_per_platform():
    clock = FakeClock()
    policy = AccessPolicy(AccessSettings(user_rate_per_minute=1, user_burst=1), None, clock)
    assert policy.check(msg(platform="dingtalk"), CSAT) is None
    assert policy.check(msg(platform="wecom"), CSAT) is None
    assert policy.check(msg(platform="dingtalk"), CSAT) is not None


def test_refused_chat_does_not_spend_tokens():
    clock = FakeClock()
    policy = AccessPolicy(AccessSettings(allowed_chats=["cidGROUP"], user_rate_per_minute=1, user_burst=1),
                          None, clock)
    for _ in range(5):
        assert policy.check(msg(chat="cidOTHER"), CSAT) == REFUSE_CHAT
    assert policy.check(msg(), CSAT) is None


def test_token_bucket_against_a_brute_force_simulation():
    """Bucket decisions equal a per-second replay that refills 1/rate-th of a token each tick."""
    bucket = TokenBucket(capacity=4, rate=0.5, tokens=4, updated=0.0)
    requests = [0, 0, 0, 0, 0, 1, 2, 2, 3, 10, 10, 10, 10, 10, 11, 30]
    granted = [bucket.take(float(t)) == 0.0 for t in requests]
    tokens, last, expected = 4.0, 0, []
    for t in requests:
        for _ in range(t - last):
            tokens = min(4.0, tokens + 0.5)
        last = t
        ok = tokens >= 1.0
        tokens -= 1.0 if ok else 0.0
        expected.append(ok)
    assert granted == expected


async def test_audit_rows_are_written(engine):
    clock = FakeClock()
    policy = AccessPolicy(AccessSettings(), engine, clock)
    await policy.audit_async(msg(text="/满意度 本周", mid="dt-1"), "满意度", "ok")
    clock.advance(60)
    await policy.audit_async(msg(chat="u9", user="u9", private=True, mid="dt-2", text="x" * 900), "", "no_command")
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT platform, chat_id, user_id, user_name, is_private, message_id, command, text, result, at"
            " FROM audit_log ORDER BY id")).all()
    assert [r[:9] for r in rows] == [
        ("dingtalk", "cidGROUP", "u1", "小王", False, "dt-1", "满意度", "/满意度 本周", "ok"),
        ("dingtalk", "u9", "u9", "小王", True, "dt-2", "", "x" * 500, "no_command"),
    ]
    with Session(engine) as session:
        stamps = [e.at for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]
    stamps = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps]  # SQLite drops the offset
    assert stamps == [datetime(2026, 11, 25, 10, 0, tzinfo=UTC), datetime(2026, 11, 25, 10, 1, tzinfo=UTC)]


async def test_audit_failure_is_logged_not_raised(sqlite_engine, caplog):
    policy = AccessPolicy(AccessSettings(), sqlite_engine, FakeClock())
    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_log"))
    await policy.audit_async(msg(), "满意度", "ok")
    assert "audit write failed" in caplog.text
