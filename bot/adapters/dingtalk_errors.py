"""Turn DingTalk responses into classified :class:`SendError` values.

The codes themselves live in the one vendor table, :data:`bot.delivery.errors.ERROR_TABLE`
(official list: https://open.dingtalk.com/document/orgapp/server-api-error-codes-1 for the legacy
``oapi`` host, https://open.dingtalk.com/document/orgapp/error-code for ``api.dingtalk.com``).
This module only knows where DingTalk puts them:

- legacy ``oapi.dingtalk.com`` (custom robot, sessionWebhook, media/upload): HTTP 200 with a
  non-zero ``errcode`` and an ``errmsg`` (match on errcode, never errmsg; PROTOCOLS §1a).
- ``api.dingtalk.com`` (OAuth token, robot OpenAPI): an HTTP status plus ``{"code","message"}``.
  A bad token is ``InvalidAuthentication`` (seen with HTTP 400 and 401, satorijs/satori#240); QPS
  limits come as HTTP 403 ``Forbidden.AccessDenied.QpsLimitFor…`` in several variants
  (DingTalk-Real-AI/dingtalk-openclaw-connector#410), folded here onto the table's QPS row.
"""

from __future__ import annotations

import re
from typing import Any

from bot.adapters.base import SendError
from bot.delivery.errors import send_error

PLATFORM = "dingtalk"
TOKEN_CODE = "InvalidAuthentication"
QPS_CODE = "Forbidden.AccessDenied.QpsLimitForApi"
_QPS_VARIANT = re.compile(r"^Forbidden\.AccessDenied\.QpsLimit", re.IGNORECASE)


def classify_oapi(status: int, body: Any, where: str) -> SendError | None:
    """The error in a legacy oapi response, or None on success."""
    if status >= 500 or status == 429:
        return send_error(PLATFORM, status=status, what=where)
    if not isinstance(body, dict) or "errcode" not in body:
        return send_error(PLATFORM, status=status if status >= 400 else None, code="no-errcode",
                          message="response without errcode", what=where)
    code = body.get("errcode")
    if str(code) == "0":
        return None
    return send_error(PLATFORM, status=status, code=code, message=str(body.get("errmsg", ""))[:200], what=where)


def classify_openapi(status: int, body: Any, where: str) -> SendError | None:
    """The error in an ``api.dingtalk.com`` response, or None on success."""
    code = str(body.get("code") or "") if isinstance(body, dict) else ""
    message = str(body.get("message") or "")[:200] if isinstance(body, dict) else ""
    if 200 <= status < 300 and not code:
        return None
    if status == 401 and not code:
        code = TOKEN_CODE
    elif _QPS_VARIANT.match(code):
        code = QPS_CODE
    return send_error(PLATFORM, status=status, code=code or None, message=message, what=where)
