"""DingTalk Stream mode: the robot's messages over an outbound WebSocket (no public address).

The official ``dingtalk-stream`` SDK speaks the protocol (frames, acks, ``ping`` echo,
``disconnect``); it also makes blocking ``requests`` calls. So the SDK runs in its own thread
with its own event loop, and nothing of it ever runs on the server's loop. A message is parsed
with the same pure :func:`dingtalk.parse_callback` as the HTTP callback, handed to the server's
dispatcher with ``call_soon_threadsafe`` and acknowledged at once (a slow ack makes DingTalk
deliver it again). Replies go out over HTTP like in HTTP mode (sessionWebhook, else OpenAPI).

Reconnects use exponential backoff from 1 s to 60 s with jitter, like the SDK itself.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import dingtalk_stream
import httpx
import websockets
from aiohttp import web
from dingtalk_stream import AckMessage, CallbackMessage

from bot.adapters import dingtalk
from bot.adapters.base import IncomingMessage
from bot.config import DingTalkSettings
from bot.web.dispatch import Overloaded, RecentIds, Refused

if TYPE_CHECKING:
    from bot.web.context import ServerContext

log = logging.getLogger(__name__)

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0
OPEN_TIMEOUT_S = 10.0

Submit = Callable[[IncomingMessage], bool | Awaitable[bool]]


class _RobotHandler(dingtalk_stream.CallbackHandler):
    """Parse, hand over to the server loop, ack. Runs on the SDK thread's loop."""

    def __init__(self, bridge: StreamBridge):
        super().__init__()
        self.logger = log
        self.bridge = bridge
        self.frames = RecentIds(ttl=300.0, max_size=10_000)  # the SDK's own redelivery window

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        if not self.frames.add(str(callback.headers.message_id)):
            return AckMessage.STATUS_OK, "duplicate"
        try:
            msg = dingtalk.parse_callback(callback.data)
        except dingtalk.PayloadError as exc:
            log.warning("stream message ignored: %s", exc)
            return AckMessage.STATUS_OK, "ignored"
        if msg is not None and not await self.bridge.hand_over(msg):
            # not stored (shutting down, inbox unreachable): no OK ack, so DingTalk delivers the frame again
            self.frames.discard(str(callback.headers.message_id))
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "unavailable"
        return AckMessage.STATUS_OK, "OK"


class _StreamClient(dingtalk_stream.DingTalkStreamClient):
    """The SDK client with a configurable gateway, a stop switch and capped backoff."""

    def __init__(self, settings: DingTalkSettings, bridge: StreamBridge):
        credential = dingtalk_stream.Credential(settings.app_key, settings.app_secret.get_secret_value())
        super().__init__(credential, logger=log)
        self.settings = settings
        self.bridge = bridge
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    def open_connection(self) -> dict[str, Any] | None:
        """POST gateway/connections/open (blocking httpx; runs in a worker thread of the SDK loop)."""
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map],
                "ua": "csbot", "localIp": ""}
        url = f"{self.settings.api_base}/v1.0/gateway/connections/open"
        try:
            resp = httpx.post(url, json=body, timeout=OPEN_TIMEOUT_S, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            log.warning("stream: opening a connection failed (%s)", type(exc).__name__)
            return None
        if resp.status_code != 200:
            code = _safe_code(resp)
            log.warning("stream: opening a connection refused: HTTP %d %s", resp.status_code, code)
            return None
        try:
            data = resp.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) and data.get("endpoint") and data.get("ticket") else None

    async def run_until_stopped(self) -> None:
        self.pre_start()
        delay = BACKOFF_MIN_S
        while not self._stopping.is_set():
            connection = await asyncio.to_thread(self.open_connection)
            if connection is not None:
                try:
                    await self._serve(connection)
                    delay = BACKOFF_MIN_S  # a connection that worked resets the backoff
                except (OSError, websockets.WebSocketException) as exc:
                    log.warning("stream: connection lost (%s)", type(exc).__name__)
                except Exception:  # noqa: BLE001 - keep reconnecting whatever the SDK raised
                    log.exception("stream: unexpected error; reconnecting")
                finally:
                    self.bridge.connected = False
            if self._stopping.is_set():
                break
            wait = min(BACKOFF_MAX_S, delay) * (1 + random.uniform(0, 0.2))
            log.info("stream: reconnecting in %.1f s", wait)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            except TimeoutError:
                pass
            delay = min(BACKOFF_MAX_S, delay * 2)

    async def _serve(self, connection: dict[str, Any]) -> None:
        uri = f"{connection['endpoint']}?ticket={quote(connection['ticket'], safe='')}"
        async with websockets.connect(uri, max_size=2**22) as websocket:
            self.websocket = websocket
            self.bridge.connected = True
            log.info("stream: connected")
            stopper = asyncio.ensure_future(self._stopping.wait())
            try:
                async for raw in _frames(websocket, stopper):
                    try:
                        frame = json.loads(raw)
                    except ValueError:
                        log.warning("stream: a frame that is not JSON was skipped")
                        continue
                    task = asyncio.ensure_future(self.background_task(frame))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            finally:
                stopper.cancel()

    async def route_message(self, json_message: dict[str, Any]) -> str:
        """SYSTEM frames (``ping``, ``disconnect``) are acked here with their data echoed; the SDK's
        own version logs every ping as an unknown topic. Everything else goes to the SDK."""
        if json_message.get("type") != dingtalk_stream.SystemMessage.TYPE:
            return await super().route_message(json_message)
        msg = dingtalk_stream.SystemMessage.from_dict(json_message)
        ack = await self.system_handler.raw_process(msg)
        await self.websocket.send(json.dumps(ack.to_dict()))
        if msg.headers.topic == dingtalk_stream.SystemMessage.TOPIC_DISCONNECT:
            log.info("stream: server asked to reconnect")
            return self.TAG_DISCONNECT
        return ""

    def stop(self) -> None:
        self._stopping.set()


async def _frames(websocket: Any, stopper: asyncio.Future[Any]):  # noqa: ANN202 - async generator
    """Frames until the socket closes or ``stopper`` fires."""
    while True:
        receive = asyncio.ensure_future(websocket.recv())
        done, _ = await asyncio.wait({receive, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            receive.cancel()
            return
        try:
            yield receive.result()
        except websockets.ConnectionClosedOK:
            return


def _safe_code(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("code", ""))[:60]
    except ValueError:
        return ""


async def _no_busy_reply(_msg: IncomingMessage) -> None:
    return None


class StreamBridge:
    """Owns the SDK thread; hands parsed messages to ``submit`` on the server's event loop."""

    def __init__(self, settings: DingTalkSettings, submit: Submit,
                 busy: Callable[[IncomingMessage], Awaitable[None]] | None = None):
        self.settings = settings
        self.submit = submit
        self.busy = busy or _no_busy_reply
        self.connected = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: _StreamClient | None = None
        self._sdk_loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._thread_main, name="dingtalk-stream", daemon=True)
        self._thread.start()

    def _thread_main(self) -> None:
        asyncio.run(self._sdk_main())

    async def _sdk_main(self) -> None:
        self._sdk_loop = asyncio.get_running_loop()
        self._client = _StreamClient(self.settings, self)
        self._client.register_callback_handler(ROBOT_TOPIC, _RobotHandler(self))
        self._started.set()
        await self._client.run_until_stopped()

    async def hand_over(self, msg: IncomingMessage) -> bool:
        """Called on the SDK thread: run ``submit(msg)`` on the server loop and wait until the message is
        stored in the inbox (the frame is acked only then); False when it was not taken."""
        if self._loop is None or self._loop.is_closed():
            return False
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._store(msg), self._loop))

    async def _store(self, msg: IncomingMessage) -> bool:
        try:
            result = self.submit(msg)
            if inspect.isawaitable(result):  # the dispatcher's: stored in the inbox
                await result
            return True
        except Overloaded:
            log.warning("stream message %s refused: backlog full; the sender is asked to resend", msg.message_id[:24])
            try:
                await self.busy(msg)
            except Exception:  # noqa: BLE001 - the notice is a courtesy
                log.warning("busy notice for %s not queued", msg.message_id[:24], exc_info=True)
            return True
        except Refused:
            log.warning("stream message %s not taken (shutting down or inbox unreachable); left to redelivery",
                        msg.message_id[:24])
            return False

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop the SDK loop and wait for its thread without blocking the server loop."""
        if self._thread is None:
            return
        await asyncio.to_thread(self._started.wait, grace_s)
        if self._client is not None and self._sdk_loop is not None and not self._sdk_loop.is_closed():
            self._sdk_loop.call_soon_threadsafe(self._client.stop)
        await asyncio.to_thread(self._thread.join, grace_s)
        if self._thread.is_alive():
            log.warning("stream thread did not stop within %.0f s", grace_s)
        self.connected = False


def install_stream(app: web.Application, ctx: ServerContext) -> None:
    """Start Stream mode with the server and stop it when shutdown begins."""
    settings = ctx.settings.dingtalk
    if not (settings.app_key and settings.app_secret.get_secret_value()):
        log.error("dingtalk mode = \"stream\" needs app_key and app_secret; Stream mode not started")
        return
    bridge = StreamBridge(settings, ctx.dispatcher.submit, ctx.dispatcher.busy_reply)
    ctx.probes["dingtalk_stream"] = lambda: "connected" if bridge.connected else "connecting"

    async def start(_app: web.Application) -> None:
        bridge.start()

    app.on_startup.append(start)
    ctx.stoppers.append(bridge.stop)
