"""``csbot serve --check-config``: everything ``csbot serve`` would refuse at start-up, checked without
starting it or touching the database — so a container image, a CI job or an operator can tell a bad
config before it pages nobody.

Checked: the settings load (TOML + ``CSBOT_*`` env, strict keys); every push target names a robot that
is configured for its platform; the digest schedules parse; every ``[[alerts.rules]]`` rule can be
evaluated (metric, window, comparison, filters); the CJK chart font is installed; the database URL is
one csbot can open (its driver imports). Prints one line per check and a summary; exit 0 when all
pass, 2 otherwise. Secrets are never printed (only whether they are set).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

from bot.cli_output import say
from bot.config import ConfigError, Settings


def _robots(settings: Settings) -> dict[str, set[str]]:
    return {"dingtalk": {r.name for r in settings.dingtalk.robots}, "wecom": {r.name for r in settings.wecom.robots},
            "feishu": {r.name for r in settings.feishu.robots}}


def _targets(settings: Settings) -> str:
    robots = _robots(settings)
    named = [("[digests] targets", t) for t in settings.digests.targets]
    named += [(f"[[digests.subscriptions]] #{i + 1}", t) for i, s in enumerate(settings.digests.subscriptions)
              for t in s.targets]
    named += [("[alerts] targets", t) for t in settings.alerts.targets]
    for where, target in named:
        platform, _, name = target.partition(":")
        if name not in robots.get(platform, set()):
            raise ConfigError(f"{where}: {target!r} names no [[{platform}.robots]] entry called {name!r}")
    return f"{len(named)} push target(s), all configured"


def _digests(settings: Settings) -> str:
    from bot.jobs.digests import config_plans

    return f"{len(config_plans(settings))} configured digest(s)"


def _rules(settings: Settings) -> str:
    from analytics.alerts.rules import validate
    from bot.alerting import rules

    now = datetime.now(settings.tz)
    for rule in rules(settings.alerts):
        try:
            validate(rule, now)
        except ValueError as exc:
            raise ConfigError(f"[[alerts.rules]] {exc}") from None
    return f"{len(settings.alerts.rules)} alert rule(s)"


def _font(settings: Settings) -> str:
    from analytics.charts import chart_font_path

    return f"chart font {chart_font_path().name}"


def _database(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database.url)
    dialect = url.get_dialect()  # imports the driver: a missing one fails here, not at the first request
    return f"database {url.get_backend_name()} ({dialect.driver})"


def _platforms(settings: Settings) -> str:
    on = []
    if settings.dingtalk.app_key or settings.dingtalk.robots:
        on.append("钉钉")
    if settings.wecom.corp_id or settings.wecom.robots:
        on.append("企业微信")
    if settings.feishu.app_id or settings.feishu.robots:
        on.append("飞书")
    return "platforms: " + ("、".join(on) if on else "none configured (console and event API only)")


CHECKS: list[tuple[str, Callable[[Settings], str]]] = [
    ("platforms", _platforms), ("targets", _targets), ("digests", _digests), ("alert rules", _rules),
    ("font", _font), ("database", _database),
]


def run(settings: Settings) -> int:
    failed = 0
    for name, check in CHECKS:
        try:
            say(f"ok    {check(settings)}")
        except Exception as exc:  # noqa: BLE001 - every check reports, the first failure does not hide the rest
            failed += 1
            say(f"FAIL  {name}: {exc}", sys.stderr)
    say("config ok" if not failed else f"config has {failed} problem(s)", sys.stderr if failed else sys.stdout)
    return 0 if not failed else 2
