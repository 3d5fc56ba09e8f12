"""/知识库 导出 on a chat platform: the XLSX and CSV go out as signed, expiring links served at /files/{id}
(the chart-link mechanism), checked through the real aiohttp app; the console keeps the file paths."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from analytics.faq.export import write_csv, write_xlsx
from analytics.faq.ledger import ExportRow
from bot.app import Bot
from bot.config import Settings
from bot.web import create_app
from bot.web.charts import ChartLinks
from handlers import knowledge
from handlers.base import CommandContext

ROWS = [ExportRow("什么时候发货", ["啥时候发货", "几天发货"], "亲，付款后48小时内发货", "发货")]


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _parts(url: str) -> tuple[str, str, str]:
    file_id = url.split("/files/")[1].split("?")[0]
    return file_id, url.split("exp=")[1].split("&")[0], url.split("sig=")[1]


def test_file_links_sign_verify_and_expire(tmp_path: Path) -> None:
    clock = Clock(1_800_000_000.0)
    links = ChartLinks(tmp_path / "public", b"k" * 32, "https://bot.example.com", 600, clock=clock)
    source = write_xlsx(tmp_path / "kb.xlsx", ROWS)
    file_id, exp, sig = _parts(links.publish_file(source))
    assert file_id.endswith(".xlsx")
    status, path = links.resolve_file(file_id, exp, sig)
    assert status == 200 and path.read_bytes() == source.read_bytes()
    assert links.resolve_file(file_id, str(int(exp) + 1), sig)[0] == 403
    assert links.resolve_file("../../etc/passwd", exp, sig)[0] == 404
    assert links.resolve(file_id.split(".")[0], exp, sig)[0] == 403  # a file's signature is no chart's
    clock.now += 601
    assert links.resolve_file(file_id, exp, sig)[0] == 410


async def test_export_reply_carries_links_served_by_the_app(aiohttp_client, sqlite_engine, tmp_path: Path) -> None:
    links = ChartLinks(tmp_path / "public", b"k" * 32, "http://bot.test", 600)
    bot = Bot(Settings(), sqlite_engine, chart_dir=tmp_path / "charts")
    client = await aiohttp_client(create_app(bot, Settings(), senders={}, chart_links=links))
    assert callable(bot.services.extra["publish_file"])
    ctx = CommandContext(spec=knowledge.SPEC, services=bot.services, now=datetime(2026, 12, 3, tzinfo=UTC))
    files = knowledge._write_files(bot.services, ctx.now, ROWS)
    xlsx_url = bot.services.extra["publish_file"](files[0].path)
    response = await client.get(xlsx_url.removeprefix("http://bot.test"))
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    downloaded = tmp_path / "got.xlsx"
    downloaded.write_bytes(await response.read())
    rows = list(load_workbook(downloaded).active.iter_rows(values_only=True))
    assert rows == [("问题", "相似问题", "答案", "分类"), ("什么时候发货", "啥时候发货\n几天发货", "亲，付款后48小时内发货", "发货")]
    file_id, exp, sig = _parts(xlsx_url)
    assert (await client.get(f"/files/{file_id}?exp={exp}&sig=x{sig[1:]}")).status == 403


def test_csv_keeps_line_breaks_inside_the_cell(tmp_path: Path) -> None:
    import csv

    path = write_csv(tmp_path / "kb.csv", ROWS)
    with path.open(encoding="utf-8-sig", newline="") as f:
        assert list(csv.reader(f)) == [["问题", "相似问题", "答案", "分类"],
                                       ["什么时候发货", "啥时候发货\n几天发货", "亲，付款后48小时内发货", "发货"]]


def _accepted(engine) -> None:  # noqa: ANN001
    from sqlmodel import Session

    from analytics.store.faq import FaqSuggestion

    now = datetime(2026, 12, 3, tzinfo=UTC)
    with Session(engine) as s:
        s.add(FaqSuggestion(signature="s1", question="什么时候发货", kind="快捷回复", status="accepted", category="发货",
                            answer="亲，付款后48小时内发货", stats={"similar": ["啥时候发货"]}, count=20,
                            first_seen_at=now, updated_at=now, decided_at=now))
        s.commit()


async def test_export_command_links_or_says_why_not(aiohttp_client, sqlite_engine, tmp_path: Path) -> None:
    _accepted(sqlite_engine)
    links = ChartLinks(tmp_path / "public", b"k" * 32, "http://bot.test", 600)
    bot = Bot(Settings(), sqlite_engine, chart_dir=tmp_path / "charts")
    client = await aiohttp_client(create_app(bot, Settings(), senders={}, chart_links=links))
    reply = await bot.ask("/知识库 导出", platform="dingtalk", user_id="u1", chat_id="g1")
    urls = [w for w in reply.text.split() if "/files/" in w]
    assert reply.ok and len(urls) == 2 and len(reply.files) == 2, reply.text
    got = await client.get(urls[0].split("：", 1)[-1].removeprefix("http://bot.test"))
    assert got.status == 200
    plain = Bot(Settings(), sqlite_engine, chart_dir=tmp_path / "charts2")
    without = await plain.ask("/知识库 导出", platform="dingtalk", user_id="u1", chat_id="g1")
    assert without.ok and "public_base_url" in without.text and "/files/" not in without.text
