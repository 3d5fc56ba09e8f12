"""The console reference adapter: parsing a typed line, and the Sender the contract test uses."""

from __future__ import annotations

import io

from bot.adapters.base import Destination, SendError
from bot.adapters.console import ConsoleSender, parse_line, split_utf8
from handlers.base import Chart, Reply


def test_parse_line_is_a_private_message_with_unique_ids():
    a, b = parse_line("  /满意度 本周 \n"), parse_line("/满意度 本周")
    assert a.text == "/满意度 本周" and a.is_private and a.platform == "console"
    assert a.message_id != b.message_id
    assert parse_line("   ") is None


async def test_sender_writes_and_records(tmp_path):
    out = io.StringIO()
    sender = ConsoleSender(out)
    reply = Reply("满意度 92.0%", charts=[Chart(tmp_path / "c.png", "趋势")])
    await sender.send(Destination("console", "user", "me"), reply)
    assert out.getvalue() == f"[console:user:me]\n满意度 92.0%\n[图表] 趋势: {tmp_path / 'c.png'}\n"
    assert [d.text for d in sender.delivered] == [reply.render_text()]


async def test_sender_splits_on_utf8_bytes_and_can_simulate_failures():
    sender = ConsoleSender(None, limit_bytes=30, fail_with=lambda d: SendError("down", retryable=True)
                           if d.target == "broken" else None)
    await sender.send(Destination("console", "user", "ok"), Reply("第一行很长很长很长\n第二行\n" + "长" * 25))
    assert all(len(d.text.encode()) <= 30 for d in sender.delivered)
    assert "".join(d.text for d in sender.delivered).replace("\n", "") == "第一行很长很长很长第二行" + "长" * 25
    try:
        await sender.send(Destination("console", "user", "broken"), Reply("x"))
    except SendError as exc:
        assert exc.retryable
    else:
        raise AssertionError("expected a SendError")


def test_split_utf8_never_cuts_a_character():
    for limit in (3, 4, 5, 7):
        pieces = split_utf8("满意度↑92.0%", limit)
        assert "".join(pieces) == "满意度↑92.0%" and all(len(p.encode()) <= limit for p in pieces)
