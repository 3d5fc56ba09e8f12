"""``DingTalkSender``: delivers a Reply to a sessionWebhook, a custom robot, a group or a user.

Destinations (``Destination.kind``):
- ``session``: ``extra = {webhook, expires_ms, at_user_ids}`` from a callback; refused once expired.
- ``robot``: ``target`` = the ``name`` of a ``[[dingtalk.robots]]`` entry (signed or keyword mode).
- ``chat``: ``target`` = openConversationId, sent by the robot OpenAPI ``groupMessages/send``.
- ``user``: ``target`` = staffId, sent by ``oToMessages/batchSend``.

Charts: a signed URL served by the bot when ``chart_links`` is given (needs ``public_base_url``);
otherwise, with app credentials, a ``media/upload`` media id; otherwise a text line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.adapters import dingtalk
from bot.adapters.base import Destination, Sender, SendError
from bot.adapters.dingtalk_api import DingTalkClient
from bot.config import DingTalkRobot, DingTalkSettings
from handlers.base import Reply

log = logging.getLogger(__name__)

SESSION_MARGIN_MS = 5_000  # do not start a post that would reach DingTalk after the session expired

ChartLinks = Callable[[Path], str]


def _wall_ms() -> int:
    return int(time.time() * 1000)


class DingTalkSender(Sender):
    platform = "dingtalk"

    def __init__(self, settings: DingTalkSettings, *, client: DingTalkClient | None = None,
                 chart_links: ChartLinks | None = None, now_ms: Callable[[], int] = _wall_ms):
        self.settings = settings
        self.client = client or DingTalkClient(settings)
        self.chart_links = chart_links
        self.now_ms = now_ms
        self._robots: dict[str, DingTalkRobot] = {r.name: r for r in settings.robots}

    async def close(self) -> None:
        await self.client.close()

    async def send(self, destination: Destination, reply: Reply) -> None:
        kind = destination.kind
        if kind == "session":
            await self._send_session(destination, reply)
        elif kind == "robot":
            await self._send_robot(destination, reply)
        elif kind in ("chat", "user"):
            await self._send_openapi(destination, reply)
        else:
            raise SendError(f"DingTalk: unknown destination kind {kind!r}")

    def session_valid(self, destination: Destination) -> bool:
        expires = int(destination.extra.get("expires_ms") or 0)
        return bool(destination.extra.get("webhook")) and self.now_ms() + SESSION_MARGIN_MS < expires

    async def _send_session(self, destination: Destination, reply: Reply) -> None:
        if not self.session_valid(destination):
            raise SendError("DingTalk sessionWebhook expired", code="session_expired")
        refs = await self._image_refs(reply, allow_upload=True)
        title, text = dingtalk.reply_markdown(reply, refs)
        at_ids = list(destination.extra.get("at_user_ids") or [])
        for body in dingtalk.markdown_bodies(title, text, at_user_ids=at_ids):
            await self.client.send_session(destination.extra["webhook"], body)

    async def _send_robot(self, destination: Destination, reply: Reply) -> None:
        robot = self._robots.get(destination.target)
        if robot is None:
            raise SendError(f"DingTalk: no robot named {destination.target!r} in [[dingtalk.robots]]")
        refs = await self._image_refs(reply, allow_upload=False)  # custom robots show URLs only (§1a)
        title, text = dingtalk.reply_markdown(reply, refs)
        title, text = dingtalk.ensure_keyword(title, text, robot.keywords)
        mobiles = list(destination.extra.get("at_mobiles") or [])  # an alert's on-call people
        for body in dingtalk.markdown_bodies(title, text, at_mobiles=mobiles):
            await self.client.send_robot(robot, body, self.now_ms())

    async def _send_openapi(self, destination: Destination, reply: Reply) -> None:
        robot_code = destination.extra.get("robot_code") or self.settings.robot_code
        if not robot_code:
            raise SendError("DingTalk: robot_code is not configured")
        media: list[str] = []
        if self.chart_links is not None:
            refs = await self._image_refs(reply, allow_upload=False)
        else:
            # No public URL: upload, then send each image as sampleImageMsg (the documented use of
            # a media id, §1d); charts that could not be uploaded become text lines.
            uploaded = await self._image_refs(reply, allow_upload=True)
            media = [m for m in uploaded if m]
            reply = Reply(text=reply.text, title=reply.title, ok=reply.ok,
                          charts=[c for c, m in zip(reply.charts, uploaded, strict=True) if not m])
            refs = [None] * len(reply.charts)
        title, text = dingtalk.reply_markdown(reply, refs)
        for body in dingtalk.markdown_bodies(title, text):
            await self._openapi_send(destination, robot_code, "sampleMarkdown", body["markdown"])
        for media_id in media:
            await self._openapi_send(destination, robot_code, "sampleImageMsg", {"photoURL": media_id})

    async def _openapi_send(self, destination: Destination, robot_code: str, key: str, param: dict) -> None:
        if destination.kind == "chat":
            await self.client.group_send(robot_code, destination.target, key, param)
        else:
            await self.client.user_send(robot_code, [destination.target], key, param)

    async def _image_refs(self, reply: Reply, *, allow_upload: bool) -> list[str | None]:
        refs: list[str | None] = []
        for chart in reply.charts:
            refs.append(await self._image_ref(chart.path, allow_upload))
        return refs

    async def _image_ref(self, path: Path, allow_upload: bool) -> str | None:
        if self.chart_links is not None:
            try:
                return await asyncio.to_thread(self.chart_links, path)
            except OSError:
                log.warning("chart %s could not be published", path.name)
                return None
        if not (allow_upload and self.client.has_app_credentials):
            return None
        try:
            png = await asyncio.to_thread(Path(path).read_bytes)
            return await self.client.upload_image(png, Path(path).name)
        except (OSError, SendError) as exc:
            log.warning("chart %s not uploaded: %s", Path(path).name, exc)
            return None
