"""/日报 and /周报 through the bot, the text within every platform's limits, the chart, and
``csbot digest`` as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from analytics import charts, digests
from analytics.store.db import open_database
from bot.access import AccessPolicy
from bot.app import Bot
from bot.config import AccessSettings, Settings
from bot.delivery.split import byte_len, cost_for, limit_for, split_text, text_limit
from handlers import digest_text
from handlers.base import Services
from handlers.digest import digest_reply
from tests import metric_data as md

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 24)


@pytest.fixture
def rows():
    return md.make_rows()


@pytest.fixture
def services(sqlite_engine, rows, tmp_path):
    md.load(sqlite_engine, rows)
    return Services(engine=sqlite_engine, tz=md.TZ, chart_dir=tmp_path / "charts")


def _bot(services: Services, access: AccessPolicy | None = None) -> Bot:
    return Bot(Settings(), services.engine, clock=lambda: md.NOW, chart_dir=services.chart_dir, access=access)


async def test_daily_command_is_the_digest(services, rows):
    bot = _bot(services)
    reply = await bot.ask("/日报")
    direct = await digest_reply(services, "日报", now=md.NOW)
    assert reply.ok and reply.text == direct.text
    assert len(reply.charts) == 1 and reply.charts[0].title == "日报 · 11月24日（周二）"
    other = await bot.ask("/日报 前天")
    assert other.text.splitlines()[0] == "**日报 · 11月23日（周一）**"
    by_date = await bot.ask("/日报 2026-11-20 渠道=淘宝")
    assert by_date.text.splitlines()[:2] == ["**日报 · 11月20日（周五）**", "渠道=淘宝 · 较前日 / 较上周五"]


@pytest.mark.parametrize(("text", "expected"), [
    ("/日报 今天", "今天还没结束"),
    ("/日报 本周", "日报按天看"),
    ("/周报 本周", "这一周还没结束"),
    ("/周报 10月", "周报按周看"),
])
async def test_digest_commands_refuse_what_they_cannot_show(services, text, expected):
    reply = await _bot(services).ask(text)
    assert not reply.ok and expected in reply.text


async def test_weekly_league_only_where_agents_may_be_seen(services):
    policy = AccessPolicy(AccessSettings(sensitive_chats=["dingtalk:leads"]), None)
    bot = _bot(services, policy)
    group = await bot.ask("/周报", chat_id="ops", is_private=False, platform="dingtalk")
    leads = await bot.ask("/周报", chat_id="leads", is_private=False, platform="dingtalk")
    private = await bot.ask("/周报", platform="dingtalk")
    assert group.ok and "客服排行" not in group.text
    assert "客服排行" in leads.text and "客服排行" in private.text
    assert group.text.splitlines()[0] == "**周报 · 11月16日-11月22日**"


async def test_text_fits_every_platform_and_splits_at_line_breaks(services):
    for kind, show in (("日报", False), ("周报", True)):
        reply = await digest_reply(services, kind, now=md.NOW, show_agents=show)
        for platform, kind_of_dest in (("dingtalk", "robot"), ("feishu", "robot"), ("wecom", "robot")):
            assert byte_len(reply.text, cost_for(platform)) <= text_limit(platform, kind_of_dest), (kind, platform)
        smallest = limit_for("wecom", "app_text")  # 2048 bytes, WeCom app messages
        if kind == "日报":
            assert byte_len(reply.text) <= smallest
        lines = reply.text.splitlines()
        for part in split_text(reply.text, smallest):
            assert all(line in lines for line in part.splitlines())  # never a line cut in half


async def test_chart_is_phone_sized_with_every_glyph(services):
    reply = await digest_reply(services, "周报", now=md.NOW, show_agents=True)
    path = reply.charts[0].path
    with Image.open(path) as image:
        assert image.width == charts.WIDTH_PX and 1000 < image.height < 2600
    assert path.stat().st_size <= charts.MAX_BYTES
    d = digests.build(services.engine, digests.weekly_period(DAY, md.TZ), md.TZ, sections=digests.SECTIONS,
                      show_agents=True)
    labels = [digest_text.title(d), digest_text.subtitle(d)]
    for tile in digest_text.tiles(d):
        labels += [tile.title, tile.value, *(t for t, _ in tile.changes)]
    for block in digest_text.blocks(d):
        labels += [block.title, block.note, *(label for label, _, _ in block.bars), *(t for _, _, t in block.bars)]
    assert not charts.missing_glyphs("".join(labels), charts.chart_font_path())


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CSBOT_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "CSBOT_GENERAL__DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    env.pop("CSBOT_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_prints_text_then_chart_path_with_progress_on_stderr(tmp_path, rows):
    engine = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    md.load(engine, rows)
    engine.dispose()
    p = _cli(tmp_path, "digest", "日报", "--date", "2026-11-24")
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0] == "**日报 · 11月24日（周二）**"
    assert out[-1].endswith(".png") and Path(out[-1]).exists()
    assert "正在生成" not in p.stdout and "已生成" not in p.stdout
    assert p.stderr.splitlines()[0] == "正在生成日报…" and p.stderr.splitlines()[-1].startswith("日报已生成（")
    weekly = _cli(tmp_path, "digest", "周报", "--date", "2026-11-18")
    assert weekly.returncode == 0 and weekly.stdout.startswith("**周报 · 11月16日-11月22日**")
    unsent = _cli(tmp_path, "digest", "--date", "2026-11-24", "--send")  # no [digests] targets configured
    assert unsent.returncode == 2 and "targets 为空" in unsent.stderr
    assert unsent.stdout.startswith("**日报 · 11月24日（周二）**")
    bad = _cli(tmp_path, "digest", "--date", "11/24")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and not bad.stdout
    assert "Traceback" not in p.stderr + weekly.stderr + bad.stderr


async def test_cli_send_delivers_once_to_the_configured_robot(sqlite_engine, rows, tmp_path, capsys):
    from pydantic import SecretStr

    from bot import digest_cli
    from bot.config import DigestSettings, DingTalkRobot, DingTalkSettings
    from tests.fakes.dingtalk_server import FakeDingTalk

    md.load(sqlite_engine, rows)
    async with FakeDingTalk() as fake:
        url = fake.add_robot("robot-token-ops")
        settings = Settings(dingtalk=DingTalkSettings(robots=[DingTalkRobot(name="ops", webhook=SecretStr(url))]),
                            digests=DigestSettings(targets=["dingtalk:ops"]),
                            general={"data_dir": str(tmp_path / "data")})
        assert await digest_cli.send(settings, "日报", DAY, sqlite_engine, md.NOW) == 0
        first = capsys.readouterr().err
        assert first.strip() == "日报（2026-11-24）→ dingtalk:robot:ops：已发送"
        (sent,) = fake.sent
        assert "日报 · 11月24日（周二）" in json_text(sent.body)
        # The same day again: the once-only claim says it went out already; nothing more is sent.
        assert await digest_cli.send(settings, "日报", DAY, sqlite_engine, md.NOW) == 0
        assert "已发送过或正在发送" in capsys.readouterr().err
        assert len(fake.sent) == 1


def json_text(body: dict) -> str:
    import json

    return json.dumps(body, ensure_ascii=False)
