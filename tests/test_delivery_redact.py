"""Redaction: credentials in URLs, JSON, headers and registered secrets never reach logs or errors."""

from __future__ import annotations

import logging

import pytest

from bot.redact import MASK, RedactingFilter, install_log_redaction, redact, register_secret

# (text, secret that must disappear, what must stay) — one comment per row
ROWS = [
    ("https://oapi.dingtalk.com/robot/send?access_token=abc123def&timestamp=1&sign=xyz%2F",
     "abc123def", "oapi.dingtalk.com/robot/send"),  # DingTalk custom robot
    ("https://oapi.dingtalk.com/robot/send?access_token=abc123def&timestamp=1&sign=xyz%2F",
     "xyz%2F", "timestamp=1"),  # its signature too
    ("https://oapi.dingtalk.com/robot/sendBySession?session=s3ss10n", "s3ss10n", "sendBySession"),  # sessionWebhook
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", "693a91f6-7xxx", "webhook/send"),  # WeCom
    ("GET /cgi-bin/gettoken?corpid=ww1&corpsecret=S3CR3T", "S3CR3T", "corpid=ww1"),  # WeCom app secret
    ("https://open.feishu.cn/open-apis/bot/v2/hook/8f0e-4c1d", "8f0e-4c1d", "/bot/v2/hook/"),  # Feishu hook token
    ('{"access_token": "tok-1", "expires_in": 7200}', "tok-1", "expires_in"),  # JSON body
    ('{"app_secret":"as-9","app_id":"cli_1"}', "as-9", "cli_1"),  # Feishu token request
    ("Authorization: Bearer t-abc.def", "t-abc.def", "Authorization"),  # bearer header
    ("postgresql://postgres:pw0rd@db:5432/x", "pw0rd", "db:5432"),  # URL userinfo
    ("failed: access_token=ACCESS123 (code 40014)", "ACCESS123", "code 40014"),  # bare key=value in text
]


@pytest.mark.parametrize(("text", "secret", "kept"), ROWS)
def test_redact(text, secret, kept):
    out = redact(text)
    assert secret not in out and MASK in out and kept in out


def test_registered_secrets_are_replaced_anywhere():
    register_secret("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ab", None)
    assert redact("key jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C in text") == f"key {MASK} in text"
    assert redact("ab stays: too short to be treated as a secret").startswith("ab stays")


def test_ordinary_text_is_untouched():
    text = "满意度 93.1%，参评 120 / 会话 300；monkey=1 donkey=2"
    assert redact(text) == text


def test_filter_redacts_messages_args_and_tracebacks(caplog):
    logger = logging.getLogger("tests.redact")
    record_filter = RedactingFilter()
    caplog.handler.addFilter(record_filter)
    try:
        logger.error("posting to %s", "https://x/robot/send?access_token=LEAK1")
        try:
            raise RuntimeError("boom at https://open.feishu.cn/open-apis/bot/v2/hook/LEAK2")
        except RuntimeError:
            logger.exception("send failed")
    finally:
        caplog.handler.removeFilter(record_filter)
    assert "LEAK1" not in caplog.text and "LEAK2" not in caplog.text
    assert "posting to https://x/robot/send?access_token=***" in caplog.text


def test_install_adds_the_filter_once():
    logger = logging.getLogger("tests.redact.install")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        install_log_redaction(logger)
        install_log_redaction(logger)
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)
