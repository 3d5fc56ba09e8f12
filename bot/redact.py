"""Keep webhook URLs, tokens and secrets out of logs and exception messages.

Webhook URLs carry their credential in the URL itself (``?access_token=``, ``?key=``,
``/bot/v2/hook/<token>``), so any text that might contain a URL goes through :func:`redact`
before it reaches a log line or a :class:`bot.adapters.base.SendError`. Secrets that do not
look like anything in particular (an AES key, an app secret) are registered once with
:func:`register_secret` by whoever loads them, and are then replaced wherever they appear.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"

# Query parameters and JSON keys whose value is a credential.
_SECRET_NAMES = (
    "access_token", "accesstoken", "token", "key", "sign", "signature", "msg_signature", "secret",
    "corpsecret", "appsecret", "app_secret", "session", "ticket", "password", "encoding_aes_key",
    "tenant_access_token", "client_secret", "clientsecret",
)
_NAMES = "|".join(sorted(_SECRET_NAMES, key=len, reverse=True))
_QUERY_RE = re.compile(rf"(?i)((?:^|[?&;\s(,])(?:{_NAMES})=)[^&#\s'\"<>,)]+")
_JSON_RE = re.compile(rf"(?i)(\"(?:{_NAMES})\"\s*:\s*\")[^\"]*(\")")
_HOOK_RE = re.compile(r"(?i)(/bot/v2/hook/)[^/?#\s'\"<>]+")
_USERINFO_RE = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@/\s]+(@)")
_BEARER_RE = re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+")

_registry_lock = threading.Lock()
_registered: set[str] = set()
# Secrets shorter than this are not replaced verbatim: "1" or "ab" would mangle every log line.
_MIN_SECRET_LEN = 6


def register_secret(*values: str | None) -> None:
    """Remember secret values so :func:`redact` replaces them wherever they appear."""
    with _registry_lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LEN:
                _registered.add(value)


def register_secrets(values: Iterable[str | None]) -> None:
    register_secret(*values)


def redact(text: object) -> str:
    """``text`` with credentials in URLs, JSON, bearer headers and registered secrets masked."""
    out = str(text)
    with _registry_lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for secret in secrets:
        if secret in out:
            out = out.replace(secret, MASK)
    out = _QUERY_RE.sub(rf"\1{MASK}", out)
    out = _JSON_RE.sub(rf"\1{MASK}\2", out)
    out = _HOOK_RE.sub(rf"\1{MASK}", out)
    out = _USERINFO_RE.sub(rf"\1{MASK}\2", out)
    return _BEARER_RE.sub(rf"\1{MASK}", out)


def redact_url(url: object) -> str:
    """A URL that is safe to print: scheme, host and path, credentials masked."""
    return redact(url)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message and any attached traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach :class:`RedactingFilter` to every handler of ``logger`` (root by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
