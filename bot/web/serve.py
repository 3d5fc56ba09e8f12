"""``csbot serve``: build the parts from settings and serve until signalled."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import Settings
from bot.web.app import create_app
from bot.web.build import build_parts

log = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    """``csbot serve``: open the database, build the bot, senders and outbox, serve until signalled."""
    parts = build_parts(settings)
    app = create_app(parts.bot, settings, senders=parts.senders, outbox=parts.outbox, chart_links=parts.chart_links,
                     jobs=parts.jobs)
    log.warning("csbot serving on http://%s:%d (DingTalk mode: %s)", settings.server.host, settings.server.port,
                settings.dingtalk.mode)
    web.run_app(app, host=settings.server.host, port=settings.server.port, print=None,
                shutdown_timeout=float(settings.server.shutdown_grace_seconds), access_log=None)
