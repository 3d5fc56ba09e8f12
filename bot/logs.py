"""Log format and the request id: ``[general] log_format = "text" | "json"``.

A request id is set for every HTTP request by the server's middleware (the caller's ``X-Request-Id``
when it is a short token, else a new one) and held in a :class:`~contextvars.ContextVar`. The command a
callback starts runs in a task created inside that request, so it inherits the id; a reply that goes
through the outbox stores the id in the row's ``extra`` JSON (``bot.delivery.outbox``) and the worker
sets it again while it delivers that row. Every log line on that path (callback, command, live reply,
outbox delivery) therefore carries the same id.

JSON lines are one object each: ``ts`` (UTC ISO 8601), ``level``, ``logger``, ``message``,
``request_id`` (when set) and ``exc`` (a traceback). Secrets are masked as in text logs: the
:class:`bot.redact.RedactingFilter` on the handler rewrites the message and the traceback text before
any formatter runs, and this formatter only ever reads those redacted fields.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from bot.redact import RedactingFilter, redact

request_id: ContextVar[str | None] = ContextVar("csbot_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The extra-JSON key an outbox row carries its request id under.
EXTRA_KEY = "request_id"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(given: str | None = None) -> str:
    """``given`` when it is a short plain token (a proxy's X-Request-Id), else a fresh random id."""
    if given and _TOKEN_RE.match(given):
        return given
    return uuid.uuid4().hex[:16]


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``record.request_id``, None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, from the fields the redaction filter already cleaned."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            out["request_id"] = rid
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, with ``[rid=…]`` appended inside a request."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [rid={rid}]" if rid else line


def configure(log_format: str, logger: logging.Logger | None = None) -> None:
    """Give every handler of ``logger`` (root by default) the chosen formatter, the request-id filter and
    the redaction filter (added first, so it runs before any formatter sees the record)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        configure_handler(handler, log_format)


def configure_handler(handler: logging.Handler, log_format: str) -> None:
    """One handler: redaction first, then the request id, then the formatter."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
    if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
        handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
