"""Build what ``csbot serve`` runs from settings: database, bot, senders, outbox, chart links."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.adapters.base import Sender
from bot.config import Settings
from bot.server_charts import ChartLinks

log = logging.getLogger(__name__)

# Sender factories beyond DingTalk, "module:Class" built as ``Class(settings.<platform>)``;
# a platform whose module is not installed yet is skipped with a log line.
OTHER_SENDERS: tuple[tuple[str, str], ...] = (
    ("wecom", "bot.adapters.wecom_api:WeComSender"),
    ("feishu", "bot.adapters.feishu:FeishuSender"),
)


@dataclass
class Parts:
    engine: Engine
    bot: Any
    senders: dict[str, Sender]
    outbox: Any
    chart_links: ChartLinks | None


def _secrets(settings: Settings) -> list[str]:
    values = [settings.dingtalk.app_secret, settings.wecom.secret, settings.wecom.token,
              settings.wecom.encoding_aes_key, settings.feishu.app_secret, settings.server.chart_signing_key,
              *settings.ingest.tokens]
    for robots in (settings.dingtalk.robots, settings.wecom.robots, settings.feishu.robots):
        for robot in robots:
            values.append(robot.webhook)
            if hasattr(robot, "secret"):
                values.append(robot.secret)
    return [v.get_secret_value() for v in values]


def build_senders(settings: Settings, chart_links: ChartLinks | None) -> dict[str, Sender]:
    from bot.adapters.dingtalk_sender import DingTalkSender

    senders: dict[str, Sender] = {
        "dingtalk": DingTalkSender(settings.dingtalk, chart_links=chart_links.publish if chart_links else None),
    }
    for platform, spec in OTHER_SENDERS:
        module_name, cls_name = spec.split(":")
        try:
            cls = getattr(importlib.import_module(module_name), cls_name)
        except (ImportError, AttributeError):
            log.info("no %s sender available (%s)", platform, spec)
            continue
        senders[platform] = cls(getattr(settings, platform))
    return senders


def build_parts(settings: Settings) -> Parts:
    from analytics.store.db import open_database
    from bot.access import AccessPolicy
    from bot.app import Bot
    from bot.delivery.outbox import Outbox
    from bot.redact import install_log_redaction, register_secrets
    from bot.server import build_chart_links

    register_secrets(_secrets(settings))
    install_log_redaction()
    engine = open_database(settings.database.url, echo=settings.database.echo)
    bot = Bot(settings, engine, access=AccessPolicy(settings.access, engine))
    chart_links = build_chart_links(settings)
    senders = build_senders(settings, chart_links)
    outbox = Outbox(engine, senders, settings=settings.delivery, tz=settings.tz)
    return Parts(engine, bot, senders, outbox, chart_links)
