"""Condense bench_metrics.py JSON files into the README tables.

    python bench/scale/report.py bench/scale/out/sqlite.json bench/scale/out/pg.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


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
        ratios = [f"{cells[p]['x_raw']:.0f}× ({cells[p]['x_scan']:.0f}×)" if p in cells else "" for p in ratio_periods]
        same = all(c["same"] for c in cells.values())
        lines.append(f"| {metric}{'' if same else ' (DIFFERS)'} | {filters} | " + " | ".join(times + ratios) + " |")
    return "\n".join(lines)


def main() -> None:
    for name in sys.argv[1:]:
        data = json.loads(Path(name).read_text())
        periods = list(dict.fromkeys(r["period"] for r in data["rows"]))
        print(f"### {data['db']} — {name}\n")
        print(table(data["rows"], periods))
        print()


if __name__ == "__main__":
    main()
