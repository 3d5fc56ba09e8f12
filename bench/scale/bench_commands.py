"""End-to-end latency of every chat command over 今天/本周/本月/今年: router + handler + queries + text
[+ chart PNG], in-process, as ``csbot ask`` runs it.

    python bench/scale/bench_commands.py --db sqlite:///bench/data/scale/scale.db \\
        --json bench/scale/results/commands_sqlite_5m.json
    python bench/scale/bench_commands.py --db postgresql+psycopg://postgres@127.0.0.1:5432/csbot_scale_bench

The Bot is built as ``csbot ask`` builds it (settings from ``--config`` or built-in defaults plus
``CSBOT_*`` env, the database URL from ``--db``; no access policy) with its clock fixed at the bench
clock 2026-11-25 15:30 Asia/Shanghai (the data's end) and charts written to a temporary folder.
The database is opened with ``make_engine`` (no migration: the bench only reads) after checking
that its schema is at the code's Alembic heads; rollups not built are listed (the bot then answers
those metrics from raw rows, and so does the bench).

For each command text (every period-taking command, plus filtered, ``按天`` and ``/客服 <name>``
variants) × period: one warm-up call, then ``--repeat`` timed ``await bot.ask(text)`` calls back to
back (only ``--slow-repeat`` when the warm-up took over ``--slow-ms``: seconds-long answers). Charts render eagerly inside the command (``analytics.charts.render`` awaits the PNG written
by the chart thread pool), so the time is to the finished Reply with its PNG file on disk. A
command × period is "chart" when its Reply carries a chart, else "text". Every reply is checked:
``ok``, no error text, each chart file present. ``render_ms`` is the part spent awaiting
``charts.render`` (measured by wrapping it). ``vmhwm_kb``: this process's peak RSS after the row, so
the rows where it jumps are the commands that raise the memory peak.

The bot re-reads the known channel/agent/shop/product names every 5 minutes inside the next
command; that refresh is timed once on its own (``known_values_ms``) and kept fresh outside the
timed calls so it does not land at random in the samples.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
PERIODS = ["今天", "本周", "本月", "今年"]
AGENT = "小王"
# "{p}" is replaced by the period. Every command of SPEC.md "Commands" that takes a period (plus
# /会话量, which the bot also has), then filtered, day-trend and agent-profile variants.
COMMANDS = [
    "/满意度 {p}", "/投诉 {p}", "/首响 {p}", "/解决率 {p}", "/退货率 {p}", "/复购率 {p}", "/差评 {p}",
    "/情感 {p}", "/热词 {p}", "/会话量 {p}", "/客服 {p}", "/高峰 {p}", "/概览 {p}", "/销售 {p}",
    "/满意度 {p} 渠道=淘宝", "/投诉 {p} 渠道=淘宝", "/首响 {p} 渠道=淘宝", "/概览 {p} 渠道=淘宝",
    "/销售 {p} 渠道=淘宝",
    "/满意度 {p} 按天", "/投诉 {p} 按天", "/销售 {p} 按天",
    "/客服 " + AGENT + " {p}",
]
ERROR_MARKERS = ("出错了", "没听懂", "不支持", "没有叫", "还没有数据")
# An answer that found nothing to count: not an error, but then the timing measures an empty window.
EMPTY_MARKERS = ("无法计算", "这段时间没有")
KNOWN_REFRESH_S = 120.0  # refresh the bot's name cache outside the timing when older than this


def code_version() -> dict[str, Any]:
    """The commit benchmarked and whether the code folders had uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = git("status", "--porcelain", "--", "analytics", "bot", "handlers")
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty_files": len(dirty.splitlines()) if dirty else 0}


def pct(laps: list[float], q: float) -> float:
    """Linear-interpolated percentile (the same rule as bench_metrics.py)."""
    ordered = sorted(laps)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def check_schema(engine: Engine) -> list[str]:
    """Exit unless the database is at the code's Alembic heads; the rollups not built (read from raw rows)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from analytics import rollups
    from analytics.store.db import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        missing = [k for k in rollups.KINDS if not rollups.is_ready(conn, k)]
    if current != heads:
        raise SystemExit(f"database schema {sorted(current)} is not at the code's heads {sorted(heads)}: "
                         "migrate it first (any csbot command does); this bench only reads")
    if missing:
        print(f"WARNING: rollups not built for {missing}: those metrics are answered from raw rows "
              "(csbot rebuild rollups builds them)", flush=True)
    return missing


def make_bot(db: str, config: str | None, chart_dir: Path) -> tuple[Any, list[str]]:
    """The Bot of ``csbot ask`` (bot/cli.py), with the bench clock and a scratch chart folder."""
    os.environ["CSBOT_DATABASE__URL"] = db
    from bot.app import Bot
    from bot.config import load_settings

    settings = load_settings(config, use_default_path=False)
    if settings.text.complaint_rules or settings.text.user_words:
        from analytics import text

        text.configure(settings.text.complaint_rules, settings.text.user_words)
    from analytics.store.db import make_engine

    engine = make_engine(settings.database.url, echo=settings.database.echo)
    missing = check_schema(engine)
    return Bot(settings, engine, clock=lambda: NOW, chart_dir=chart_dir), missing


class RenderTimer:
    """Wraps ``analytics.charts.render`` (handlers call it as ``charts.render``) to add up its time."""

    def __init__(self) -> None:
        from analytics import charts

        self.charts = charts
        self.original = charts.render
        self.total = 0.0

    def __enter__(self) -> RenderTimer:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await self.original(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - started

        self.charts.render = timed
        return self

    def __exit__(self, *_exc: object) -> None:
        self.charts.render = self.original


def problems(reply: Any) -> list[str]:
    if reply is None:
        return ["no reply"]
    found = [] if reply.ok else ["reply.ok is False"]
    found += [f"error text {m!r}" for m in ERROR_MARKERS if m in reply.text]
    found += [f"EMPTY answer ({m!r})" for m in EMPTY_MARKERS if m in reply.text]
    found += [f"chart file missing: {c.path}" for c in reply.charts if not Path(c.path).is_file()]
    return found


def memory_kb() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, kB: which commands raise the peak shows in the rows."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for row in fh:
            key, _, value = row.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def chart_sizes(reply: Any) -> list[dict[str, Any]]:
    return [{"title": c.title, "bytes": Path(c.path).stat().st_size if Path(c.path).is_file() else None}
            for c in (reply.charts if reply else [])]


async def keep_known_fresh(bot: Any) -> float | None:
    """Refresh the bot's cached names outside the timing when due; the refresh time if it ran."""
    if time.monotonic() - bot._known_at < KNOWN_REFRESH_S:
        return None
    started = time.perf_counter()
    bot._known = await asyncio.to_thread(bot._load_known)
    bot._known_at = time.monotonic()
    return (time.perf_counter() - started) * 1000


async def bench_one(bot: Any, text: str, repeat: int, slow_ms: float, slow_repeat: int) -> dict[str, Any]:
    await keep_known_fresh(bot)
    with RenderTimer() as timer:
        started = time.perf_counter()
        reply = await bot.ask(text)  # warm-up
        first = (time.perf_counter() - started) * 1000
        if first > slow_ms:
            repeat = min(repeat, slow_repeat)
        laps, renders = [], []
        for _ in range(repeat):
            timer.total = 0.0
            started = time.perf_counter()
            reply = await bot.ask(text)
            laps.append((time.perf_counter() - started) * 1000)
            renders.append(timer.total * 1000)
    charts = chart_sizes(reply)
    issues = problems(reply)
    memory = memory_kb()
    return {
        "text": text, "kind": "chart" if charts else "text", "repeat": repeat, "p50": pct(laps, 0.5),
        "p95": pct(laps, 0.95),
        "mean": statistics.fmean(laps), "min": min(laps), "max": max(laps), "first": first,
        "render_p50": pct(renders, 0.5) if charts else None, "charts": charts, "ok": not issues,
        "problems": issues, "vmrss_kb": memory.get("VmRSS"), "vmhwm_kb": memory.get("VmHWM"), "head": (reply.text.splitlines() or [""])[0][:120] if reply else "", "laps": laps,
    }


def line(row: dict[str, Any]) -> str:
    png = "+".join(f"{c['bytes'] / 1024:.0f}" for c in row["charts"]) or "-"
    render = f"{row['render_p50']:.0f}" if row["render_p50"] is not None else "-"
    check = "ok" if row["ok"] else "; ".join(row["problems"])
    reps = "" if row["repeat"] == REPEAT_NOTE[0] else f" (×{row['repeat']})"
    return (f"| {row['command']} | {row['period']} | {row['kind']} | {row['p50']:.1f} | {row['p95']:.1f}{reps} | "
            f"{row['first']:.0f} | {render} | {png} | {row['vmhwm_kb'] / 1024:.0f} | {check} |")


REPEAT_NOTE = [20]  # the default repeat; rows timed fewer times (slow ones) say so
HEADER = ("| command | period | kind | p50 ms | p95 ms | first call ms | render p50 ms | PNG KB | peak RSS MB | check |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---:|---|")
TARGETS = {"text": 100.0, "chart": 600.0}


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, target in TARGETS.items():
        sel = [r for r in rows if r["kind"] == kind]
        missed = [f"{r['command']} {r['period']} ({r['p95']:.0f} ms)" for r in sel if r["p95"] > target]
        out[kind] = {"items": len(sel), "target_p95_ms": target, "met": len(sel) - len(missed), "missed": missed,
                     "max_p95": max((r["p95"] for r in sel), default=None)}
    out["errors"] = [f"{r['text']}: {'; '.join(r['problems'])}" for r in rows
                     if any(not p.startswith("EMPTY") for p in r["problems"])]
    out["empty"] = [r["text"] for r in rows if any(p.startswith("EMPTY") for p in r["problems"])]
    return out


async def run(args: argparse.Namespace, chart_dir: Path) -> dict[str, Any]:
    code = code_version()
    bot, rollups_missing = make_bot(args.db, args.config, chart_dir)
    started = time.perf_counter()
    bot._known = await asyncio.to_thread(bot._load_known)
    bot._known_at = time.monotonic()
    known_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    bot._known = await asyncio.to_thread(bot._load_known)
    known_warm_ms = (time.perf_counter() - started) * 1000
    print(f"{bot.engine.dialect.name} {args.db} at {NOW.isoformat()}; known-values refresh "
          f"{known_ms:.0f} ms cold, {known_warm_ms:.0f} ms warm\n", flush=True)
    REPEAT_NOTE[0] = args.repeat
    load_start = os.getloadavg()
    print(HEADER, flush=True)
    wanted = [c for c in COMMANDS if not args.commands or c.split()[0] in args.commands.split(",")]
    rows = []
    for period in args.periods.split(","):
        for command in wanted:
            row = {"command": command.replace(" {p}", "").replace("{p}", "").strip(), "period": period,
                   **await bench_one(bot, command.format(p=period), args.repeat, args.slow_ms, args.slow_repeat)}
            rows.append(row)
            print(line(row), flush=True)
    from analytics import charts

    charts.shutdown()
    bot.engine.dispose()
    return {"db": bot.engine.dialect.name, "url": args.db, "now": NOW.isoformat(), "repeat": args.repeat,
            "code": code,
            "rollups_not_built": rollups_missing, "known_values_ms": {"cold": known_ms, "warm": known_warm_ms},
            "rows": rows, "summary": summary(rows),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "loadavg_start": load_start, "loadavg_end": os.getloadavg()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="SQLAlchemy URL (read only)")
    parser.add_argument("--config", help="csbot config TOML (default: built-in defaults + CSBOT_* env)")
    parser.add_argument("--periods", default=",".join(PERIODS))
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per command × period")
    parser.add_argument("--slow-ms", type=float, default=2000.0,
                        help="a command whose warm-up call took longer than this is timed only --slow-repeat times")
    parser.add_argument("--slow-repeat", type=int, default=5)
    parser.add_argument("--commands", help="only these command names, e.g. /满意度,/概览")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="csbot-bench-charts-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    s = result["summary"]
    print()
    for kind in TARGETS:
        k = s[kind]
        print(f"{kind}: {k['met']}/{k['items']} within p95 ≤ {k['target_p95_ms']:.0f} ms"
              + (f"; missed: {', '.join(k['missed'])}" if k["missed"] else ""))
    print(f"error replies: {len(s['errors'])}" + (f": {s['errors']}" if s["errors"] else ""))
    print(f"empty answers (nothing in the window): {len(s['empty'])}" + (f": {s['empty']}" if s["empty"] else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
