"""One table of vendor error codes for DingTalk, WeCom and Feishu, and what delivery does about each.

Every platform answers logical errors with HTTP 200 and a non-zero ``errcode``/``code``, so a
sender checks the body, looks the code up here, and raises :class:`SendError` built by
:func:`send_error`. Three outcomes (Alertmanager ``notify`` style):

* ``retryable``: rate limits, 5xx, "system busy", network errors. Retried with backoff; a
  ``retry_after`` here is the vendor's documented penalty and wins over a shorter backoff.
* ``token_refresh``: the cached access token is stale. The sender drops it, fetches a new one
  and retries once; if that fails too, delivery retries later.
* ``permanent``: configuration or payload errors (bad signature, wrong key, unknown user, too
  long). Retrying cannot help; the message is marked failed and the error logged.

Vendor error-code pages:
  DingTalk: https://open.dingtalk.com/document/orgapp/server-api-error-codes-1
  WeCom:    https://developer.work.weixin.qq.com/document/path/90313 (全局错误码)
  Feishu:   https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code
The source column names where each row comes from (see ../shared/PROTOCOLS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.adapters.base import SendError
from bot.redact import redact

ERROR_PAGES = {
    "dingtalk": "https://open.dingtalk.com/document/orgapp/server-api-error-codes-1",
    "wecom": "https://developer.work.weixin.qq.com/document/path/90313",
    "feishu": "https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code",
}


class Action(StrEnum):
    RETRY = "retryable"
    REFRESH = "token_refresh"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class ErrorRule:
    platform: str
    code: int | str
    action: Action
    meaning: str
    source: str
    retry_after: float | None = None


R, T, P = Action.RETRY, Action.REFRESH, Action.PERMANENT

ERROR_TABLE: tuple[ErrorRule, ...] = (
    # DingTalk custom robot / sessionWebhook / OpenAPI
    ErrorRule("dingtalk", 130101, R, "send too fast, exceed 20 times per minute; robot throttled for 10 min",
              "github.com/ccfos/nightingale/issues/369", retry_after=600.0),
    ErrorRule("dingtalk", 310000, P, "sign, keyword or IP check failed (see errmsg)", "PROTOCOLS §1a"),
    ErrorRule("dingtalk", 500100, R, "系统异常 (transient server error)", "PROTOCOLS §1a"),
    ErrorRule("dingtalk", -1, R, "系统繁忙 (system busy)", "DingTalk server error codes"),
    ErrorRule("dingtalk", 300001, P, "sessionWebhook expired (session 不存在); use the OpenAPI",
              "github.com/agentscope-ai/agentscope/issues/1317"),
    ErrorRule("dingtalk", 40014, T, "invalid access_token (oapi)", "DingTalk server error codes"),
    ErrorRule("dingtalk", 42001, T, "access_token expired (oapi)", "DingTalk server error codes"),
    ErrorRule("dingtalk", 88, P, "鉴权异常 (auth error, see sub_code)", "DingTalk server error codes"),
    ErrorRule("dingtalk", 90002, R, "platform-wide rate limit for this API", "DingTalk frequency limits",
              retry_after=60.0),
    ErrorRule("dingtalk", 90018, R, "QPS limit of this API for the organisation", "DingTalk frequency limits",
              retry_after=5.0),
    ErrorRule("dingtalk", 90019, R, "QPS limit of this API for a third-party app", "DingTalk frequency limits",
              retry_after=5.0),
    ErrorRule("dingtalk", 90030, R, "webhook over limit (robot call quota)", "developer.aliyun.com/ask/595588",
              retry_after=3600.0),
    ErrorRule("dingtalk", 460101, P, "body 大小不合法: keep the body within 20000 bytes",
              "github.com/ZhuLinsen/daily_stock_analysis/issues/61"),
    ErrorRule("dingtalk", "InvalidAuthentication", T, "OpenAPI accessToken invalid or expired",
              "api.dingtalk.com v1.0 error body"),
    ErrorRule("dingtalk", "Forbidden.AccessDenied.QpsLimitForApi", R, "OpenAPI QPS limit",
              "api.dingtalk.com v1.0 error body", retry_after=1.0),
    # WeCom group robot and app API (全局错误码)
    ErrorRule("wecom", -1, R, "系统繁忙 (system busy)", "WeCom 全局错误码 90313"),
    ErrorRule("wecom", 42001, T, "access_token expired", "WeCom 91039"),
    ErrorRule("wecom", 40014, T, "invalid access_token", "WeCom 91039"),
    ErrorRule("wecom", 40001, T, "invalid credential (access_token or secret)", "WeCom 90313"),
    ErrorRule("wecom", 41001, T, "access_token missing", "WeCom 90313"),
    ErrorRule("wecom", 45009, R, "api freq out of limit", "PROTOCOLS §2a", retry_after=60.0),
    ErrorRule("wecom", 45033, R, "too many concurrent calls", "WeCom 90313", retry_after=1.0),
    ErrorRule("wecom", 93000, P, "invalid webhook url (wrong or removed robot key)",
              "github.com/wes-lin/Cloud189Checkin/issues/175"),
    ErrorRule("wecom", 40058, P, "parameter invalid or too long", "github.com/RayWangQvQ/BiliBiliTool/issues/569"),
    ErrorRule("wecom", 40007, P, "invalid media_id", "PROTOCOLS §2a"),
    ErrorRule("wecom", 45002, P, "content size out of limit", "github.com/apache/dolphinscheduler/issues/621"),
    ErrorRule("wecom", 81013, P, "every recipient (user/party/tag) is invalid", "WeCom 90236"),
    ErrorRule("wecom", 60020, P, "not allow to access from your ip (trusted IP list)", "PROTOCOLS §2b"),
    ErrorRule("wecom", 40013, P, "invalid corpid", "WeCom 90313"),
    ErrorRule("wecom", 40056, P, "invalid agentid", "WeCom 90313"),
    # Feishu custom bot and app API
    ErrorRule("feishu", 11232, R, "rate limited (5/s, 100/min per bot)", "PROTOCOLS §3", retry_after=1.0),
    ErrorRule("feishu", 19001, P, "incoming webhook access token invalid (bot removed?)", "Feishu custom bot guide"),
    ErrorRule("feishu", 19021, P, "sign match fail or timestamp not within one hour", "PROTOCOLS §3"),
    ErrorRule("feishu", 19022, P, "IP not allowed", "PROTOCOLS §3"),
    ErrorRule("feishu", 19024, P, "key words not found", "PROTOCOLS §3"),
    ErrorRule("feishu", 9499, P, "bad request (malformed body)", "PROTOCOLS §3"),
    ErrorRule("feishu", 99991400, R, "request frequency limit (app API)", "Feishu generic error codes",
              retry_after=1.0),
    ErrorRule("feishu", 99991661, T, "access token missing (app API)", "Feishu generic error codes"),
    ErrorRule("feishu", 99991663, T, "tenant_access_token invalid or expired", "Feishu generic error codes"),
    ErrorRule("feishu", 99991668, T, "access token invalid", "Feishu generic error codes"),
)

_BY_CODE: dict[tuple[str, str], ErrorRule] = {(r.platform, str(r.code)): r for r in ERROR_TABLE}


@dataclass(frozen=True)
class Classification:
    action: Action
    meaning: str
    retry_after: float | None = None


def classify(platform: str, *, status: int | None = None, code: int | str | None = None) -> Classification:
    """What to do about a failed call: by vendor code first, then by HTTP status.

    HTTP 5xx and 429 are retryable; other 4xx are permanent; unknown non-zero codes are permanent
    (the errmsg is logged so an operator can add the code to the table).
    """
    if code is not None and str(code) not in ("0", ""):
        rule = _BY_CODE.get((platform, str(code)))
        if rule is not None:
            return Classification(rule.action, rule.meaning, rule.retry_after)
    if status is not None and (status >= 500 or status == 429):
        return Classification(Action.RETRY, f"HTTP {status}")
    if status is not None and status >= 400:
        return Classification(Action.PERMANENT, f"HTTP {status}")
    return Classification(Action.PERMANENT, "unknown error code")


def send_error(platform: str, *, status: int | None = None, code: int | str | None = None,
               message: str = "", retry_after: float | None = None, what: str = "send") -> SendError:
    """A :class:`SendError` for a vendor failure, classified and with credentials redacted."""
    verdict = classify(platform, status=status, code=code)
    wait = max(filter(None, (retry_after, verdict.retry_after)), default=None)
    parts = [f"{platform} {what} failed"]
    if status is not None:
        parts.append(f"HTTP {status}")
    if code is not None:
        parts.append(f"code {code}")
    text = ", ".join(parts) + f" ({verdict.action}: {verdict.meaning})"
    if message:
        text += f": {redact(message)[:300]}"
    return SendError(text, code=code if code is not None else status,
                     retryable=verdict.action is not Action.PERMANENT,
                     refresh_token=verdict.action is Action.REFRESH, retry_after=wait)


def network_error(platform: str, exc: BaseException, *, what: str = "send") -> SendError:
    """A retryable :class:`SendError` for a connection problem or timeout, without the URL."""
    return SendError(f"{platform} {what} failed: network error {type(exc).__name__}: {redact(exc)[:200]}",
                     retryable=True)


def retry_after_header(value: str | None, *, now_epoch: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` or ``x-ogw-ratelimit-reset`` header value."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if now_epoch is not None and seconds > 1e9:  # an absolute epoch time
        seconds -= now_epoch
    return max(0.0, seconds)
