"""The one vendor error table: classification by code and status, redaction of what it reports."""

from __future__ import annotations

import pytest

from bot.delivery.errors import (
    ERROR_PAGES,
    ERROR_TABLE,
    Action,
    classify,
    network_error,
    retry_after_header,
    send_error,
)

R, T, P = Action.RETRY, Action.REFRESH, Action.PERMANENT

# (platform, status, code, expected action) — one comment per row
ROWS = [
    ("dingtalk", 200, 130101, R),  # robot over 20/min: throttled, retry after 10 min
    ("dingtalk", 200, 310000, P),  # sign / keyword / IP failure: configuration
    ("dingtalk", 200, 500100, R),  # 系统异常
    ("dingtalk", 200, 300001, P),  # expired sessionWebhook: fall back, do not retry it
    ("dingtalk", 401, "InvalidAuthentication", T),  # OpenAPI token
    ("wecom", 200, 42001, T),  # token expired
    ("wecom", 200, 40014, T),  # token invalid
    ("wecom", 200, 40001, T),  # credential invalid
    ("wecom", 200, 45009, R),  # api freq out of limit
    ("wecom", 200, 93000, P),  # robot key removed
    ("wecom", 200, 40058, P),  # too long / bad parameter
    ("wecom", 200, 81013, P),  # every recipient invalid
    ("wecom", 200, 60020, P),  # IP not trusted
    ("wecom", 200, -1, R),  # system busy
    ("feishu", 200, 11232, R),  # custom bot rate limit
    ("feishu", 200, 19021, P),  # sign mismatch
    ("feishu", 200, 19024, P),  # keyword missing
    ("feishu", 400, 9499, P),  # bad request
    ("feishu", 400, 99991663, T),  # tenant token invalid
    ("feishu", 429, None, R),  # gateway rate limit
    ("wecom", 500, None, R),  # any 5xx
    ("dingtalk", 503, None, R),  # any 5xx
    ("wecom", 404, None, P),  # other 4xx
    ("feishu", 403, None, P),  # other 4xx
    ("wecom", 200, 987654, P),  # unknown code: permanent, errmsg logged
    ("wecom", 502, 45009, R),  # code wins over status
]


@pytest.mark.parametrize(("platform", "status", "code", "action"), ROWS)
def test_classification(platform, status, code, action):
    assert classify(platform, status=status, code=code).action is action


def test_table_rows_are_documented_and_unique():
    keys = [(r.platform, str(r.code)) for r in ERROR_TABLE]
    assert len(keys) == len(set(keys))
    assert all(r.meaning and r.source for r in ERROR_TABLE)
    assert set(ERROR_PAGES) == {r.platform for r in ERROR_TABLE}
    assert all(url.startswith("https://") for url in ERROR_PAGES.values())


def test_every_code_is_documented_in_delivery_md():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "delivery.md").read_text("utf-8")
    missing = [f"{r.platform}:{r.code}" for r in ERROR_TABLE if f"| {r.platform} | `{r.code}` |" not in doc]
    assert not missing, f"add these rows to docs/delivery.md: {missing}"


def test_send_error_flags_and_retry_after():
    err = send_error("dingtalk", code=130101, message="send too fast")
    assert err.retryable and not err.refresh_token and err.retry_after == 600.0
    err = send_error("wecom", code=42001, message="expired")
    assert err.retryable and err.refresh_token
    err = send_error("feishu", status=429, retry_after=7.0)
    assert err.retry_after == 7.0
    assert not send_error("wecom", code=93000).retryable


def test_send_error_redacts_urls_in_vendor_messages():
    msg = ("invalid webhook url https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4 "
           "and https://open.feishu.cn/open-apis/bot/v2/hook/abcdef-1234 and access_token=ACCESS123")
    text = str(send_error("wecom", code=93000, message=msg))
    assert "693a91f6" not in text and "abcdef-1234" not in text and "ACCESS123" not in text
    assert "qyapi.weixin.qq.com" in text  # the host stays: operators need to know where it failed


def test_network_error_is_retryable_and_redacted():
    exc = OSError("Cannot connect to https://oapi.dingtalk.com/robot/send?access_token=SECRET999")
    err = network_error("dingtalk", exc)
    assert err.retryable and "SECRET999" not in str(err)


@pytest.mark.parametrize(("value", "now", "expected"), [
    ("5", None, 5.0),  # seconds
    ("1.5", None, 1.5),  # fractional
    ("", None, None),  # absent
    ("Wed, 21 Oct 2015 07:28:00 GMT", None, None),  # HTTP-date: not supported, ignored
    ("1732600030", 1732600000.0, 30.0),  # absolute epoch reset time
])
def test_retry_after_header(value, now, expected):
    assert retry_after_header(value, now_epoch=now) == expected
