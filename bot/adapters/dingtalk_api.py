"""Async HTTP client for DingTalk: access-token cache, OpenAPI robot sends, legacy oapi posts.

Every error becomes a :class:`SendError` classified by ``dingtalk_errors``; no URL with a token,
no secret and no raw exception text (aiohttp puts URLs into some messages) reaches an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import aiohttp
from yarl import URL

from bot.adapters import dingtalk
from bot.adapters.base import SendError
from bot.adapters.dingtalk_errors import classify_oapi, classify_openapi
from bot.config import DingTalkRobot, DingTalkSettings

log = logging.getLogger(__name__)

TOKEN_MARGIN_S = 300.0  # refresh five minutes before expiry, like the official Stream SDK


@dataclass
class _Token:
    value: str
    expires_at: float


def signed_robot_url(webhook: str, secret: str, timestamp_ms: int) -> URL:
    """The custom-robot webhook with a fresh ``timestamp``/``sign`` (old ones removed, §1a).

    The signature is URL-encoded exactly once with ``quote_plus``, as in the official sample.
    """
    url = URL(webhook)
    kept = [(k, v) for k, v in url.query.items() if k not in ("timestamp", "sign")]
    base = url.with_query(kept)
    sep = "&" if base.raw_query_string else "?"
    sig = quote_plus(dingtalk.sign(secret, timestamp_ms))
    return URL(f"{base}{sep}timestamp={timestamp_ms}&sign={sig}", encoded=True)


class DingTalkClient:
    """One DingTalk app (and its custom robots) over a shared aiohttp session."""

    def __init__(self, settings: DingTalkSettings, *, clock: Callable[[], float] = time.monotonic,
                 timeout_s: float = 10.0):
        self.settings = settings
        self.clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    @property
    def has_app_credentials(self) -> bool:
        return bool(self.settings.app_key and self.settings.app_secret.get_secret_value())

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, url: URL | str, where: str, *, data: Any = None, json_body: Any = None,
                    headers: dict[str, str] | None = None) -> tuple[int, Any]:
        if json_body is not None:
            data = dingtalk.dumps(json_body)
            headers = {"Content-Type": "application/json;charset=utf-8", **(headers or {})}
        try:
            async with self._http().post(url, data=data, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"DingTalk {where}: network error ({type(exc).__name__})", retryable=True) from None
        try:
            body = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            body = None
        return status, body

    # ------------------------------------------------------------------ token

    async def access_token(self) -> str:
        """The app's cached access token, fetched when missing or within 5 min of expiry."""
        token = self._token
        if token is not None and self.clock() < token.expires_at:
            return token.value
        async with self._token_lock:
            token = self._token
            if token is not None and self.clock() < token.expires_at:
                return token.value
            self._token = await self._fetch_token()
            return self._token.value

    async def _fetch_token(self) -> _Token:
        if not self.has_app_credentials:
            raise SendError("DingTalk: app_key/app_secret are not configured")
        body = {"appKey": self.settings.app_key, "appSecret": self.settings.app_secret.get_secret_value()}
        status, resp = await self._post(f"{self.settings.api_base}/v1.0/oauth2/accessToken", "accessToken",
                                        json_body=body)
        err = classify_openapi(status, resp, "accessToken")
        if err is not None:
            err.refresh_token = False  # a refused token request is not fixed by asking again at once
            raise err
        try:
            value, expire_in = str(resp["accessToken"]), float(resp["expireIn"])
        except (KeyError, TypeError, ValueError):
            raise SendError("DingTalk accessToken: unexpected response", retryable=True) from None
        log.info("dingtalk access token refreshed, valid for %.0f s", expire_in)
        return _Token(value, self.clock() + max(0.0, expire_in - TOKEN_MARGIN_S))

    def invalidate_token(self, value: str) -> None:
        if self._token is not None and self._token.value == value:
            self._token = None

    async def openapi(self, path: str, body: dict[str, Any], where: str) -> Any:
        """POST to ``api.dingtalk.com`` with the access token; one refresh-and-retry on token errors."""
        for attempt in (1, 2):
            token = await self.access_token()
            status, resp = await self._post(f"{self.settings.api_base}{path}", where, json_body=body,
                                            headers={"x-acs-dingtalk-access-token": token})
            err = classify_openapi(status, resp, where)
            if err is None:
                return resp
            if err.refresh_token and attempt == 1:
                self.invalidate_token(token)
                continue
            raise err
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ sends

    async def oapi_post(self, url: URL | str, body: dict[str, Any], where: str) -> Any:
        status, resp = await self._post(url, where, json_body=body)
        err = classify_oapi(status, resp, where)
        if err is not None:
            raise err
        return resp

    def session_webhook_allowed(self, webhook: str) -> bool:
        """Only post session replies to DingTalk's own host (the URL comes from a request body)."""
        try:
            return URL(webhook).origin() == URL(self.settings.oapi_base).origin()
        except ValueError:
            return False

    async def send_session(self, webhook: str, body: dict[str, Any]) -> None:
        if not self.session_webhook_allowed(webhook):
            raise SendError("DingTalk sessionWebhook: host is not the configured oapi_base")
        await self.oapi_post(webhook, body, "sessionWebhook")

    async def send_robot(self, robot: DingTalkRobot, body: dict[str, Any], now_ms: int) -> None:
        webhook = robot.webhook.get_secret_value()
        secret = robot.secret.get_secret_value()
        url = signed_robot_url(webhook, secret, now_ms) if secret else URL(webhook)
        await self.oapi_post(url, body, f"robot {robot.name}")

    async def group_send(self, robot_code: str, conversation_id: str, msg_key: str,
                         msg_param: dict[str, Any]) -> None:
        body = {"robotCode": robot_code, "openConversationId": conversation_id, "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False)}
        await self.openapi("/v1.0/robot/groupMessages/send", body, "groupMessages/send")

    async def user_send(self, robot_code: str, user_ids: list[str], msg_key: str,
                        msg_param: dict[str, Any]) -> None:
        body = {"robotCode": robot_code, "userIds": user_ids, "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False)}
        resp = await self.openapi("/v1.0/robot/oToMessages/batchSend", body, "oToMessages/batchSend")
        resp = resp if isinstance(resp, dict) else {}
        if resp.get("flowControlledStaffIdList"):
            raise SendError("DingTalk oToMessages/batchSend: recipient flow-controlled", code="flowControlled",
                            retryable=True, retry_after=60.0)
        if resp.get("invalidStaffIdList"):
            raise SendError("DingTalk oToMessages/batchSend: invalid recipient", code="invalidStaffId")

    async def upload_image(self, png: bytes, filename: str) -> str:
        """Upload a PNG with ``media/upload`` and return its ``media_id`` (§1d)."""
        for attempt in (1, 2):
            token = await self.access_token()
            form = aiohttp.FormData()
            form.add_field("type", "image")
            form.add_field("media", png, filename=filename, content_type="image/png")
            url = URL(f"{self.settings.oapi_base}/media/upload").with_query(access_token=token)
            status, resp = await self._post(url, "media/upload", data=form)
            err = classify_oapi(status, resp, "media/upload")
            if err is None:
                media_id = resp.get("media_id") if isinstance(resp, dict) else None
                if not media_id:
                    raise SendError("DingTalk media/upload: no media_id in response")
                return str(media_id)
            if err.refresh_token and attempt == 1:
                self.invalidate_token(token)
                continue
            raise err
        raise AssertionError("unreachable")
