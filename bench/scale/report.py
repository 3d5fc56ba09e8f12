"""Condense bench_metrics.py JSON files into the README tables.

    python bench/scale/report.py bench/scale/results/sqlite_5m.json bench/scale/results/pg_5m.json
    python bench/scale/report.py --merge base.json rerun.json > merged.json   # rerun rows replace base rows
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _x(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def merge(base: dict, extra: dict) -> dict:
    """``base`` rows with the (metric, period, filters) rows of ``extra`` replacing theirs."""
    key = lambda r: (r["metric"], r["period"], json.dumps(r["filters"], ensure_ascii=False))  # noqa: E731
    newer = {key(r): r for r in extra["rows"]}
    rows = [newer.pop(key(r), r) for r in base["rows"]]
    return {**base, "rows": rows + list(newer.values())}


def table(rows: list[dict], periods: list[str]) -> str:
    head = ("| metric | filters | " + " | ".join(f"{p} p50 / p95 ms" for p in periods) + " | "
            + " | ".join(f"{p} raw ÷ rollup (scan ÷ rollup)" for p in periods if p in ("本月", "今年", "近30天"))
            + " |")
    ratio_periods = [p for p in periods if p in ("本月", "今年", "近30天")]
    lines = [head, "|" + "---|" * (2 + len(periods) + len(ratio_periods))]
    keys = list(dict.fromkeys((r["metric"], json.dumps(r["filters"], ensure_ascii=False)) for r in rows))
    for metric, flt in keys:
        cells = {r["period"]: r for r in rows if r["metric"] == metric and json.dumps(r["filters"], ensure_ascii=False) == flt}
        filters = ",".join(f"{k}={v}" for k, v in json.loads(flt).items()) or "—"
        times = [f"{cells[p]['rollup_p50']:.1f} / {cells[p]['rollup_p95']:.1f}" if p in cells else "" for p in periods]
        ratios = [f"{_x(cells[p]['x_raw'])} ({_x(cells[p]['x_scan'])})" if p in cells else "" for p in ratio_periods]
        same = all(c["same"] for c in cells.values())
        lines.append(f"| {metric}{'' if same else ' (DIFFERS)'} | {filters} | " + " | ".join(times + ratios) + " |")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--merge"]:
        base, extra = (json.loads(Path(n).read_text()) for n in sys.argv[2:4])
        print(json.dumps(merge(base, extra), ensure_ascii=False, indent=1))
        return
    for name in sys.argv[1:]:
        data = json.loads(Path(name).read_text())
        periods = list(dict.fromkeys(r["period"] for r in data["rows"]))
        print(f"### {data['db']} — {name}\n")
        print(table(data["rows"], periods))
        print()


if __name__ == "__main__":
    main()
