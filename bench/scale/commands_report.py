"""Markdown tables for COMMANDS.md from bench_commands.py / bench_serve_rss.py JSON files.

    python bench/scale/commands_report.py bench/scale/results/commands_*.json bench/scale/results/rss_*.json

A commands file gives one table: command × period, "p50 / p95" ms, ``c`` = the reply carries a
chart (target p95 ≤ 600 ms) else text (≤ 100 ms), **bold** = over target, PNG KB of the largest
chart (per period when they differ). A rss file gives one line of RSS figures and client latencies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGET = {"text": 100.0, "chart": 600.0}


def _ms(v: float) -> str:
    return f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def commands_table(data: dict) -> str:
    rows = data["rows"]
    periods = list(dict.fromkeys(r["period"] for r in rows))
    lines = [f"| command | {' | '.join(periods)} | PNG KB |", "|---|" + "---:|" * len(periods) + "---:|"]
    for command in dict.fromkeys(r["command"] for r in rows):
        cells, pngs = [], []
        for period in periods:
            r = next((x for x in rows if x["command"] == command and x["period"] == period), None)
            if r is None:
                cells.append("")
                continue
            cell = f"{_ms(r['p50'])} / {_ms(r['p95'])}"
            if r["p95"] > TARGET[r["kind"]]:
                cell = f"**{cell}**"
            cell += " c" if r["kind"] == "chart" else ""
            if not r["ok"]:
                cell += " (EMPTY)" if all(p.startswith("EMPTY") for p in r["problems"]) else " (ERROR)"
            cells.append(cell)
            if r["charts"]:
                pngs.append(max(c["bytes"] or 0 for c in r["charts"]) / 1024)
        png = "–" if not pngs else (f"{min(pngs):.0f}–{max(pngs):.0f}" if round(min(pngs)) != round(max(pngs))
                                    else f"{pngs[0]:.0f}")
        lines.append(f"| {command} | {' | '.join(cells)} | {png} |")
    return "\n".join(lines)


def commands_summary(data: dict) -> str:
    s = data["summary"]
    parts = []
    for kind in ("text", "chart"):
        k = s[kind]
        parts.append(f"{kind}: {k['met']}/{k['items']} within p95 ≤ {k['target_p95_ms']:.0f} ms")
    parts.append(f"error replies: {len(s['errors'])}; empty answers: {len(s.get('empty', []))}")
    renders = sorted(r["render_p50"] for r in data["rows"] if r.get("render_p50") is not None)
    if renders:
        parts.append(f"chart render (inside the chart p50s): median {renders[len(renders) // 2]:.0f} ms, "
                     f"max {renders[-1]:.0f} ms")
    parts.append(f"known-values refresh: {data['known_values_ms']['cold']:.0f} ms cold, "
                 f"{data['known_values_ms']['warm']:.0f} ms warm")
    return "; ".join(parts)


def rss_line(data: dict) -> str:
    r = data["rss"]
    mb = lambda kb: f"{(kb or 0) / 1024:.0f}"  # noqa: E731
    out = [f"idle {mb(r['idle_kb'])} MB, peak {mb(r['peak_kb'])} MB (VmHWM {mb(r['vmhwm_kb'])}), "
           f"after the last round {mb(r['settled_kb'])} MB — target ≤ 400 MB "
           f"{'met' if r['peak_kb'] <= 400 * 1024 else 'MISSED'}; start-up {data['startup_s']:.1f} s; "
           f"child processes {len(r['children_seen'])}, threads ≤ {r['max_threads']}"]
    for label, key in (("first calls", "cold"), ("one at a time", "sequential"),
                       (f"{data['concurrency']} in flight", "loaded")):
        part = data.get(key)
        if not part:
            continue
        kinds = [f"{kind} p50 {_ms(k['reply_p50'])} / p95 {_ms(k['reply_p95'])} ms"
                 for kind, k in part["by_kind"].items() if k["n"]]
        out.append(f"{label}: " + ", ".join(kinds))
    out.append(f"ack p50 {data['ack_p50_ms']:.1f} ms; problems {len(data['problems'])}; "
               f"server log ERROR lines {data['server_log_errors']}")
    return "; ".join(out)


def main(paths: list[str]) -> None:
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        print(f"### {Path(path).name} ({data['db']})\n")
        if "rows" in data:
            print(commands_table(data))
            print(f"\n{commands_summary(data)}\n")
        else:
            print(rss_line(data) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
