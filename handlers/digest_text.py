"""A digest as chat text and as chart labels, formatted like the metric commands (handlers.format).

The text is short on purpose: one line per key number with its two comparisons, then only what
needs attention (flags, trends, rising complaint reasons, the league). Measured in UTF-8 bytes it
stays within every platform's single-message limit for a 日报 (WeCom app text, 2048 bytes, is the
smallest); a 周报 with the league may be split by the outbox, always at a line break.
"""

from __future__ import annotations

from analytics import charts
from analytics.breakdown import AgentRow
from analytics.digests import AGENTS, ANOMALIES, DAILY, HISTORY_WEEKS, RISING, TRENDS, Digest, Flag, KpiRow
from analytics.metrics import METRICS, Metric, MetricResult
from handlers.charting import chart_scale
from handlers.format import arrow, fmt_filters, fmt_int, fmt_pct, fmt_seconds, fmt_value, shown_change

LEAGUE_EDGE = 3  # 周报 league: the top and the bottom three (all when there are at most six)
CHART_CATEGORIES = 6


def change(metric: Metric, cur: float | None, prev: MetricResult | None, comparable: bool) -> tuple[str, bool | None]:
    """``↑1.2pt`` / ``↓5%`` / ``持平`` / ``数据不足`` and whether the move is good news (None: no judgement)."""
    if not comparable or cur is None or prev is None or prev.value is None:
        return "数据不足", None
    _prev_text, _cur_text, before, delta, _size = shown_change(metric, cur, prev.value)  # as printed
    if metric.unit == "%":
        size = f"{abs(delta):.1f}pt"
        if size == "0.0pt":
            return "持平", None
    elif before:
        rel = abs(delta) / abs(before) * 100
        if rel < 0.5:
            return "持平", None
        size = f"{rel:.0f}%"
    else:
        return (arrow(delta) + "（前值为 0）", None) if delta else ("持平", None)
    good = None if metric.higher_is_better is None else (delta > 0) == metric.higher_is_better
    return f"{arrow(delta)}{size}", good


def _value_text(row: KpiRow) -> str:
    m, r = row.metric, row.current
    p = r.parts
    if m.key == "csat":
        return f"{fmt_value(m, r.value)}（参评 {fmt_int(r.n)}）"
    if m.key == "frt":
        median = f"，中位 {fmt_seconds(p['median'])}" if p.get("median") is not None else ""
        return f"{fmt_value(m, r.value)}（均值{median}）"
    if m.key == "resolution":
        return f"{fmt_value(m, r.value)}（已标注 {fmt_int(r.n)}）"
    if m.key == "complaints":
        rate = f"，{p['per_mille']:.1f}‰" if p.get("per_mille") is not None else ""
        return f"{fmt_int(r.value)} 件{rate}"
    if m.key == "return_rate":
        return f"{fmt_value(m, r.value)}（退货 {fmt_int(p.get('returns'))} / 订单 {fmt_int(r.n)}）"
    if m.key == "bad_reviews":
        return f"{fmt_value(m, r.value)}（差评 {fmt_int(p.get('bad'))} / 评价 {fmt_int(r.n)}）"
    if m.key == "sales":
        return f"{fmt_value(m, r.value)}（订单 {fmt_int(r.n)}）"
    return fmt_value(m, r.value)


def _comparisons(d: Digest) -> list[tuple[str, str]]:
    """(label, attribute) of the comparison columns: 前日 and 上周三 (日报) or 前一周 (周报)."""
    cols = [(d.period.prev_label, "previous")]
    if d.kind == DAILY:
        cols.append((d.period.week_label, "same_weekday"))
    return cols


def _thin(d: Digest, attr: str) -> bool:
    """The whole comparison period is too thin: no row has data there it could be compared with."""
    return all(not r.comparable(getattr(r, attr)) or getattr(r, attr).n == 0 for r in d.rows.values())


def _thin_note(d: Digest, label: str, attr: str) -> str:
    base = d.rows.get("conversations") or next(iter(d.rows.values()))
    other = getattr(base, attr)
    n = other.n if other is not None else 0
    if all(getattr(r, attr) is None or getattr(r, attr).n == 0 for r in d.rows.values()):
        return f"{label}无数据，不作比较"
    return f"{label}数据不足（{base.metric.n_label} {fmt_int(n)}），不作比较"


def empty_text(d: Digest, yesterday: bool) -> str:
    """The one line of a digest whose period has no data."""
    what = ("昨日" if yesterday else "当日") if d.kind == DAILY else ("上周" if yesterday else "该周")
    scope = f" · {fmt_filters(d.filters)}" if d.filters else ""
    return f"{d.kind} · {d.period.label}{scope}：{what}无数据"


def title(d: Digest) -> str:
    return f"{d.kind} · {d.period.label}"


def text(d: Digest) -> str:
    """The chat body of a non-empty digest."""
    cols = [(label, attr) for label, attr in _comparisons(d) if d.rows and not _thin(d, attr)]
    head = " / ".join(f"较{label}" for label, _ in cols)
    lines = [f"**{title(d)}**", fmt_filters(d.filters) + (f" · {head}" if head else "")]
    for label, attr in _comparisons(d):
        if d.rows and (label, attr) not in cols:
            lines.append(_thin_note(d, label, attr))
    for row in d.rows.values():
        moves = [change(row.metric, row.current.value, getattr(row, a), row.comparable(getattr(row, a)))[0]
                 for _, a in cols]
        line = f"{row.metric.name} {_value_text(row)}" + (f"  {' / '.join(moves)}" if moves else "")
        if row.key == "complaints" and d.categories:
            line += "  · " + "、".join(f"{c} {n}" for c, n in d.categories[:3])
        lines.append(line)
    if d.unsupported:
        names = "、".join(METRICS[k].name for k in d.unsupported)
        lines.append(f"（{names}不支持按{fmt_filters(d.filters)}筛选，未列出）")
    lines += _attention(d)
    lines.append("（pt = 百分点）")
    return "\n".join(lines)


def _attention(d: Digest) -> list[str]:
    lines = []
    if d.wants(ANOMALIES) and d.flags:
        where = f"近{HISTORY_WEEKS}周同日" if d.kind == DAILY else f"前{HISTORY_WEEKS}周"
        lines.append(f"**异常**（与{where}相比）")
        lines += [f"· {flag_text(f, d.rows[f.key].current)}" for f in d.flags]
    if d.wants(TRENDS) and d.kind != DAILY:
        trends = [_trend_text(r) for r in d.rows.values() if r.streak]
        if trends:
            lines.append("**趋势**：" + "；".join(trends))
    if d.wants(RISING) and d.rising:
        base = "前7日日均" if d.kind == DAILY else "前一周"
        lines.append("**投诉上升**：" + " · ".join(
            f"{c.category} {c.count} 件（{base} {c.baseline:.1f}）" if d.kind == DAILY
            else f"{c.category} {c.count} 件（{base} {c.baseline:.0f}）" for c in d.rising))
    if d.agents is not None and d.wants(AGENTS):
        lines += league_lines(d.agents, d.agents_prev or [], d.min_agent_n)
    return lines


def flag_text(f: Flag, cur: MetricResult) -> str:
    """E.g. ``投诉 42 件，高于 8–12 件`` or ``满意度 85.0%，低于通常的 92.1%（参评 456）``: a count or level
    against the range of the baseline periods, a rate against their median."""
    m = METRICS[f.key]
    side = "高于" if f.direction > 0 else "低于"
    if f.rule == "rate":
        return f"{m.name} {fmt_value(m, cur.value)}，{side}通常的 {fmt_value(m, f.expected)}（{m.n_label} {fmt_int(cur.n)}）"
    return f"{m.name} {fmt_value(m, cur.value)}，{side} {value_range(m, f.low, f.high)}"


def value_range(m: Metric, low: float, high: float) -> str:
    """``806–914 个``, ``51.9–56.2 秒``, ``¥279,033.95–¥305,126.30``: the unit once when both ends share it."""
    lo, hi = fmt_value(m, low), fmt_value(m, high)
    head, _, unit = hi.rpartition(" ")
    if head and lo.endswith(" " + unit):
        return f"{lo.removesuffix(' ' + unit)}–{hi}"
    return f"{lo}–{hi}"


def _trend_text(row: KpiRow) -> str:
    m = row.metric
    run = abs(row.streak)
    values = row.points[-(run + 1):]
    word = "上升" if row.streak > 0 else "下降"
    return f"{m.name}连续{run}周{word}（" + " → ".join(fmt_value(m, v) for v in values) + "）"


def league_lines(rows: list[AgentRow], prev_rows: list[AgentRow], min_n: int) -> list[str]:
    """The league by 满意度 (参评 ≥ min_n ranked), top and bottom :data:`LEAGUE_EDGE`, change vs the week before.

    Ranks are written ``8）``, not ``8.``: after the ``…`` gap a markdown renderer (DingTalk, Feishu)
    would continue ``1. 2. 3.`` as one list and print 8 as 4."""
    ranked = sorted((r for r in rows if r.rated >= min_n), key=lambda r: (-(r.csat or 0), -r.rated, r.agent))
    if not ranked:
        return [f"**客服排行**：参评 ≥ {min_n} 的客服没有，不排名"]
    prev = {r.agent: r for r in prev_rows}
    shown = list(enumerate(ranked, 1))
    if len(ranked) > 2 * LEAGUE_EDGE:
        shown = shown[:LEAGUE_EDGE] + shown[-LEAGUE_EDGE:]
    lines = [f"**客服排行**（满意度，参评 ≥ {min_n}；共 {len(ranked)} 人排名）"]
    for i, (rank, r) in enumerate(shown):
        if i and rank != shown[i - 1][0] + 1:
            lines.append("…")
        before = prev.get(r.agent)
        move = ""
        if before is not None and before.rated >= min_n and before.csat is not None:
            delta = shown_change(METRICS["csat"], r.csat, before.csat)[3]  # points, as the two values print
            move = f" {arrow(delta)}{abs(delta):.1f}pt" if delta else " 持平"
        lines.append(f"{rank}）{r.agent} {fmt_pct(r.csat)}（n={r.rated}）{move} · 首响 {fmt_seconds(r.frt_mean)}"
                     f" · 会话 {fmt_int(r.conversations)}")
    thin = len(rows) - len(ranked)
    if thin:
        lines.append(f"另有 {thin} 人参评不足 {min_n}，不排名")
    return lines


# -- chart labels -------------------------------------------------------------------------------------

def tiles(d: Digest) -> list[charts.DigestTile]:
    out = []
    for row in d.rows.values():
        scale, _unit, _fmt = chart_scale(row.metric)
        changes = []
        for label, attr in _comparisons(d):
            other = getattr(row, attr)
            move, good = change(row.metric, row.current.value, other, row.comparable(other))
            changes.append((f"较{label} {move}", good))
        out.append(charts.DigestTile(row.metric.name, fmt_value(row.metric, row.current.value), changes,
                                     [None if v is None else v * scale for v in row.points], row.flag is not None,
                                     row.flag.good if row.flag is not None else None,
                                     min_span=5.0 if row.metric.unit == "%" else 0.0))
    return out


def blocks(d: Digest) -> list[charts.BarBlock]:
    out = []
    if "complaints" in d.rows and d.categories:
        total = int(d.rows["complaints"].current.n)
        shown = d.categories[:CHART_CATEGORIES]
        rest = len(d.categories) - len(shown)
        unsorted = total - sum(n for _, n in d.categories)
        note = "；".join(x for x in (f"另有 {rest} 类" if rest > 0 else "",
                                     f"未分类 {unsorted} 件" if unsorted > 0 else "") if x)
        out.append(charts.BarBlock(f"投诉类别（共 {total} 件）", [(c, float(n), f"{n} 件") for c, n in shown], note))
    if d.agents is not None and d.wants(AGENTS):
        ranked = sorted((r for r in d.agents if r.rated >= d.min_agent_n),
                        key=lambda r: (-(r.csat or 0), -r.rated, r.agent))
        if ranked:
            edge = ranked if len(ranked) <= 2 * LEAGUE_EDGE else ranked[:LEAGUE_EDGE] + ranked[-LEAGUE_EDGE:]
            which = "" if len(edge) == len(ranked) else f"前 {LEAGUE_EDGE} 与后 {LEAGUE_EDGE}，"
            out.append(charts.BarBlock(f"客服满意度（{which}参评 ≥ {d.min_agent_n}）",
                                       [(r.agent, r.csat * 100, f"{r.csat * 100:.1f}%") for r in edge]))
    return out


def subtitle(d: Digest) -> str:
    cols = " / ".join(f"较{label}" for label, _ in _comparisons(d))
    spark = "近14天" if d.kind == DAILY else "近8周"
    return f"{fmt_filters(d.filters)} · {cols} · 小图：{spark}"
