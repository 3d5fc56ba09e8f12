"""Build what ``csbot serve`` runs from settings: database, bot, senders, outbox, chart links."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.adapters.base import Sender
from bot.config import Settings
from bot.web.charts import ChartLinks, build_chart_links

log = logging.getLogger(__name__)

@dataclass
class Parts:
    engine: Engine
    bot: Any
    senders: dict[str, Sender]
    outbox: Any
    chart_links: ChartLinks | None
    jobs: Any = None  # bot.jobs.scheduler.JobScheduler (always built by build_parts: the FAQ refresh runs there)


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
    """One Sender per platform; each is cheap until used (HTTP sessions open on first send)."""
    from bot.adapters.dingtalk_sender import DingTalkSender
    from bot.adapters.feishu_api import FeishuSender
    from bot.adapters.wecom_api import WeComSender

    publish = chart_links.publish if chart_links is not None else None
    return {
        "dingtalk": DingTalkSender(settings.dingtalk, chart_links=publish),
        "wecom": WeComSender(settings.wecom),
        "feishu": FeishuSender(settings.feishu, chart_links=publish),
    }


def build_parts(settings: Settings) -> Parts:
    from analytics.store.db import open_database
    from bot.access import AccessPolicy
    from bot.app import Bot
    from bot.delivery.outbox import Outbox
    from bot.delivery.pipeline import limits_from
    from bot.delivery.ratelimit import DatabaseLimiter
    from bot.redact import install_log_redaction, register_secrets

    register_secrets(_secrets(settings))
    install_log_redaction()
    engine = open_database(settings.database.url, echo=settings.database.echo)
    bot = Bot(settings, engine, access=AccessPolicy(settings.access, engine))
    chart_links = build_chart_links(settings)
    senders = build_senders(settings, chart_links)
    # The outbound limiter's send times live in the database: shared by replicas, kept across restarts.
    limiter = DatabaseLimiter(engine, limits_from(settings.delivery))
    outbox = Outbox(engine, senders, settings=settings.delivery, tz=settings.tz, limiter=limiter)
    from bot.jobs import faq, retention
    from bot.jobs.alerts import AlertJob
    from bot.jobs.digests import DigestJob
    from bot.jobs.leader import leadership_for
    from bot.jobs.scheduler import JobScheduler

    # Always a scheduler: the FAQ refresh (/知识库 only reads what it stores) runs on the leader even with
    # digests and alerts off.
    digests = DigestJob(settings, engine, outbox, bot.services) if settings.digests.enabled else None
    alerts = AlertJob(settings, engine, owner=outbox.owner, chart_dir=bot.services.chart_dir,
                      wake=outbox.wake) if settings.alerts.enabled else None
    jobs = JobScheduler(settings, digests, alerts, leader=leadership_for(engine, outbox.owner))
    retention.install(jobs, settings, engine, outbox.owner)
    faq.install(jobs, settings, engine, bot.services, outbox.owner)
    return Parts(engine, bot, senders, outbox, chart_links, jobs)
