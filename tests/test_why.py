"""/为什么 (analytics.explain): planted drivers are found and labelled, and every dimension's parts add up
to the change — checked against a plain loop over the rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from analytics import explain, rollups
from analytics.explain import WHY_METRICS
from analytics.explain.shift_share import Sums, split_ratio
from analytics.periods import resolve_window
from tests import metric_data
from tests.metric_data import NOW, Rows, load

WEEK = resolve_window("上周", NOW)  # complete: 11-16 ~ 11-23, compared with 11-09 ~ 11-16
CHANNELS = ["淘宝", "京东", "抖音", "官网"]
AGENTS = ["小王", "小李", "小张", "阿明", "小周"]


def _week_rows(rows: Rows, rnd: random.Random, start, n: int, channel_w: dict[str, float],  # noqa: ANN001
               agent_w: dict[str, float], good: dict[tuple[str, str], float], tag: str) -> None:
    """``n`` rated conversations spread over a week; channel and agent drawn independently by weight,
    rating good with probability ``good[(channel, agent)]``."""
    channels, cw = zip(*channel_w.items(), strict=True)
    agents, aw = zip(*agent_w.items(), strict=True)
    for i in range(n):
        channel = rnd.choices(channels, cw)[0]
        agent = rnd.choices(agents, aw)[0]
        rating = 5 if rnd.random() < good[(channel, agent)] else 2
        rows.conversations.append({
            "conversation_id": f"{tag}{i}", "started_at": start + timedelta(seconds=rnd.randrange(7 * 86400)),
            "agent": agent, "channel": channel, "shop": rnd.choice(["旗舰店", "专营店"]),
            "customer_id": f"u{i}", "first_response_seconds": float(rnd.randrange(5, 90)),
            "resolved": rnd.random() < 0.7, "rating": rating, "transferred": False})


def planted(kind: str, seed: int = 5, n: int = 3000, week=WEEK) -> Rows:  # noqa: ANN001
    """Two weeks of 满意度 data: ``rate`` (抖音's own rate 88 % → 60 %), ``mix`` (volume shifts to 小周,
    whose rate is 60 % in both weeks), ``both``, or ``noise`` (nothing changes)."""
    rnd = random.Random(seed)
    rows = Rows()
    even_c = {c: 1.0 for c in CHANNELS}
    even_a = {a: 1.0 for a in AGENTS}
    base = {(c, a): (0.60 if a == "小周" and kind in ("mix", "both") else 0.88) for c in CHANNELS for a in AGENTS}
    after = dict(base)
    if kind in ("rate", "both"):
        after.update({("抖音", a): 0.60 for a in AGENTS})
    shifted = {**even_a, "小周": 1.0 if kind not in ("mix", "both") else 8.0}
    before_a = {**even_a, "小周": 1.0 if kind not in ("mix", "both") else 0.35}
    _week_rows(rows, rnd, week.prev_start, n, even_c, before_a, base, "p")
    _week_rows(rows, rnd, week.start, n, even_c, shifted, after, "c")
    return rows


def _explained(engine, rows: Rows, key: str = "csat", **kw):  # noqa: ANN001, ANN202
    load(engine, rows)
    rollups.rebuild(engine)
    return explain.explain(engine, key, WEEK, **kw)


def test_rate_driver_found(engine):
    ex = _explained(engine, planted("rate"))
    top = ex.drivers[0]
    assert (top.dimension, top.value, top.kind) == ("channel", "抖音", "rate")
    assert top.contribution < 0 and top.before > 0.8 and top.after < 0.65
    # the agents' own rates fell only inside 抖音: the same story, not told again
    assert all(p.dimension != "agent" for p in ex.drivers)
    assert not ex.noise


def test_mix_driver_found(engine):
    ex = _explained(engine, planted("mix"))
    top = ex.drivers[0]
    assert (top.dimension, top.value, top.kind) == ("agent", "小周", "mix")
    assert top.contribution < 0 and top.after > top.before + 0.3  # share ~7 % → ~67 %
    # each channel's rate fell because 小周 took more of it: without 小周 nothing moved
    assert not any(p.dimension == "channel" for p in ex.drivers)


def test_both_drivers_found(engine):
    ex = _explained(engine, planted("both"))
    found = {(p.dimension, p.value, p.kind) for p in ex.drivers}
    assert ("agent", "小周", "mix") in found
    assert ("channel", "抖音", "rate") in found
    assert all(p.contribution < 0 for p in ex.drivers)


def test_noise_has_no_driver(engine):
    ex = _explained(engine, planted("noise"))
    assert ex.noise and ex.drivers == []
    assert abs(ex.z) < 1.96


def test_agents_left_out_where_not_allowed(sqlite_engine):
    ex = _explained(sqlite_engine, planted("mix"), agents=False)
    assert "agent" not in ex.parts
    assert all(p.dimension != "agent" for p in ex.drivers)


# -- the parts add up, against a plain loop -----------------------------------------------------------

def _loop_parts(rows: Rows, key: str, dim: str):  # noqa: ANN202
    """Per segment (n, d) of each window by a plain loop over the rows, then the symmetric split by hand."""
    conv_by_id = {c["conversation_id"]: c for c in rows.conversations}
    order_by_id = {o["order_id"]: o for o in rows.orders}

    def sums(start, end):  # noqa: ANN001, ANN202
        out: dict[str, list[float]] = {}

        def add(seg, n, d):  # noqa: ANN001, ANN202
            slot = out.setdefault("" if seg is None else seg, [0.0, 0.0])
            slot[0] += n
            slot[1] += d
        for c in rows.conversations:
            if not start <= c["started_at"] < end:
                continue
            frt = c["first_response_seconds"]
            if key == "csat" and c["rating"] is not None:
                add(c[dim], c["rating"] >= 4, 1)
            elif key == "resolution" and c["resolved"] is not None:
                add(c[dim], bool(c["resolved"]), 1)
            elif key == "frt" and frt is not None:
                add(c[dim], frt, 1)
            elif key == "frt_30s" and frt is not None:
                add(c[dim], frt <= 30, 1)
            elif key in ("complaint_rate", "conversations"):
                add(c[dim], 0 if key == "complaint_rate" else 1, 1 if key == "complaint_rate" else 0)
        for k in rows.complaints:
            if key in ("complaint_rate", "complaints") and start <= k["created_at"] < end:
                if dim in ("channel", "product", "category"):
                    seg = k[dim]
                else:
                    conv = conv_by_id.get(k["conversation_id"]) if k["conversation_id"] else None
                    seg = conv[dim] if conv else None
                add(seg, 1, 0)
        for o in rows.orders:
            if key == "return_rate" and start <= o["created_at"] < end:
                add(o[dim], 0, 1)
        for r in rows.returns:
            if key == "return_rate" and start <= r["created_at"] < end:
                order = order_by_id.get(r["order_id"])
                add(r["product"] if dim == "product" else (order["channel"] if order else None), 1, 0)
        for v in rows.reviews:
            if key == "bad_reviews" and start <= v["created_at"] < end:
                add(v[dim], v["rating"] <= 2, 1)
        return out

    return sums(WEEK.prev_start, WEEK.prev_end), sums(WEEK.start, WEEK.end)


def _symmetric_by_hand(before: dict, after: dict, per: float) -> dict[str, tuple[float, float]]:  # noqa: ANN001
    """The symmetric Kitagawa parts written out directly: mix = Δw·(r̄ − R̄), rate = Δr·w̄ (both rates known)."""
    n0, d0 = sum(v[0] for v in before.values()), sum(v[1] for v in before.values())
    n1, d1 = sum(v[0] for v in after.values()), sum(v[1] for v in after.values())
    big = (n0 / d0 + n1 / d1) / 2
    out = {}
    for seg in set(before) | set(after):
        a, b = before.get(seg, [0, 0]), after.get(seg, [0, 0])
        w0, w1 = a[1] / d0, b[1] / d1
        r0 = a[0] / a[1] if a[1] else None
        r1 = b[0] / b[1] if b[1] else None
        if r0 is not None and r1 is not None:
            mix, rate = (w1 - w0) * ((r0 + r1) / 2 - big), (r1 - r0) * (w0 + w1) / 2
        else:  # present in one period only: all mix (a numerator without denominator: all rate)
            r = r0 if r1 is None else r1
            mix = (w1 - w0) * ((r if r is not None else 0) - big)
            rate = (b[0] / d1 - a[0] / d0) - (w1 - w0) * big - mix
        out[seg] = (mix * per, rate * per)
    return out


RATIO_KEYS = ["csat", "resolution", "frt", "frt_30s", "complaint_rate", "return_rate", "bad_reviews"]


@pytest.mark.parametrize("key", RATIO_KEYS + ["conversations", "complaints"])
def test_parts_sum_to_the_change_and_match_a_loop(engine, key):
    rows = metric_data.make_rows(seed=11, days=30, per_day=60)
    ex = _explained(engine, rows, key)
    metric = WHY_METRICS[key]
    for dim in metric.dims:
        before, after = _loop_parts(rows, key, dim)
        n0 = sum(v[0] for v in before.values())
        n1 = sum(v[0] for v in after.values())
        if metric.form == "count":
            assert ex.change == n1 - n0
            expect = {seg: (0.0, after.get(seg, [0])[0] - before.get(seg, [0])[0]) for seg in set(before) | set(after)}
        else:
            d0 = sum(v[1] for v in before.values())
            d1 = sum(v[1] for v in after.values())
            assert ex.change == pytest.approx((n1 / d1 - n0 / d0) * metric.per, rel=1e-9, abs=1e-12)
            expect = _symmetric_by_hand(before, after, metric.per)
        got = {s.value: (s.mix, s.rate) for s in ex.parts[dim]}
        assert set(got) == {seg for seg, v in expect.items() if v != (0.0, 0.0) or seg in got}
        for seg, (mix, rate) in expect.items():
            assert got.get(seg, (0.0, 0.0)) == pytest.approx((mix, rate), rel=1e-9, abs=1e-12), (dim, seg)
        total = sum(m + r for m, r in got.values())
        assert total == pytest.approx(ex.change, rel=1e-9, abs=1e-9), dim


def test_raw_fallback_equals_the_rollups(sqlite_engine):
    rows = metric_data.make_rows(seed=4, days=30, per_day=40)
    ex = _explained(sqlite_engine, rows, "complaint_rate")
    with rollups.disabled():
        raw = explain.explain(sqlite_engine, "complaint_rate", WEEK)
    assert raw.change == pytest.approx(ex.change, rel=1e-12)
    for dim in ex.parts:
        got = {s.value: (s.mix, s.rate) for s in raw.parts[dim]}
        assert got == {s.value: pytest.approx((s.mix, s.rate), rel=1e-9, abs=1e-12) for s in ex.parts[dim]}


def test_symmetric_split_has_no_interaction():
    before = {"a": Sums(80, 100), "b": Sums(10, 50)}
    after = {"a": Sums(30, 50), "b": Sums(60, 100), "c": Sums(5, 10)}
    splits = split_ratio(before, after, "binomial")
    change = 95 / 160 - 90 / 150
    assert sum(s.mix + s.rate for s in splits) == pytest.approx(change, abs=1e-15)
    c = next(s for s in splits if s.value == "c")
    assert c.rate == pytest.approx(0.0, abs=1e-15)  # a new segment is all mix


def test_repurchase_says_why_not(sqlite_engine):
    ex = _explained(sqlite_engine, metric_data.make_rows(seed=2, days=30, per_day=20), "repurchase")
    assert ex.drivers == [] and "复购率" in ex.reason and ex.parts == {}


def test_json_shape(sqlite_engine):
    ex = _explained(sqlite_engine, planted("both"))
    doc = explain.to_json(ex, WEEK)
    assert list(doc) == ["metric", "window", "comparison", "change", "drivers"]
    assert doc["metric"] == "csat"
    contributions = [abs(d["contribution"]) for d in doc["drivers"]]
    assert contributions == sorted(contributions, reverse=True)
    for d in doc["drivers"]:
        assert set(d) == {"dimension", "value", "contribution", "kind"} and d["kind"] in ("mix", "rate")
    json.dumps(doc, ensure_ascii=False)


def test_cli_json(tmp_path, monkeypatch, capsys):
    """``csbot why 满意度 上周 --json``: one JSON document on stdout, the planted drivers in it."""
    from datetime import datetime

    from analytics.store.db import open_database
    from bot import cli

    url = f"sqlite:///{tmp_path / 'why.db'}"
    week = resolve_window("上周", datetime.now(metric_data.TZ))
    engine = open_database(url)
    load(engine, planted("both", week=week))
    rollups.rebuild(engine)
    monkeypatch.setenv("CSBOT_DATABASE__URL", url)
    monkeypatch.setenv("CSBOT_GENERAL__TIMEZONE", "Asia/Shanghai")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["why", "满意度", "上周", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metric"] == "csat" and doc["window"]["label"] == "上周"
    assert doc["change"] < 0
    assert {(d["dimension"], d["value"], d["kind"]) for d in doc["drivers"]} >= {("agent", "小周", "mix"),
                                                                                ("channel", "抖音", "rate")}
    assert cli.main(["why", "不存在", "上周", "--json"]) == 2
    assert capsys.readouterr().out == ""
