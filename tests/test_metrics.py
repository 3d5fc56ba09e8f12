"""Every metric equals a plain-loop computation over the same rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from analytics import metrics
from tests import metric_data as md

W = [
    (datetime(2026, 11, 23, tzinfo=md.TZ), md.NOW),  # 本周 so far
    (datetime(2026, 11, 1, tzinfo=md.TZ), datetime(2026, 12, 1, tzinfo=md.TZ)),  # 11月 (contains future rows)
    (datetime(2026, 10, 1, tzinfo=md.TZ), datetime(2026, 11, 1, tzinfo=md.TZ)),  # 上月
    (md.NOW - timedelta(hours=6), md.NOW),  # 近6小时
    (datetime(2020, 1, 1, tzinfo=md.TZ), datetime(2020, 2, 1, tzinfo=md.TZ)),  # empty window
]
FILTERS = [{}, {"channel": "淘宝"}, {"agent": "小王"}, {"channel": "京东", "shop": "旗舰店"}]


@pytest.fixture
def loaded(engine):
    rows = md.make_rows()
    md.load(engine, rows)
    return engine, rows


def _close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


def test_conversation_metrics(loaded):
    engine, rows = loaded
    for start, end in W:
        for flt in FILTERS:
            r = metrics.compute(engine, "csat", start, end, flt)
            value, n = md.expect_csat(rows, start, end, flt)
            assert (r.n, _close(r.value, value)) == (n, True), (start, flt)
            assert r.parts["conversations"] == len(md.convs(rows, start, end, flt))

            r = metrics.compute(engine, "resolution", start, end, flt)
            value, n = md.expect_resolution(rows, start, end, flt)
            assert r.n == n and _close(r.value, value)

            r = metrics.compute(engine, "frt", start, end, flt)
            mean, n, median, p90, fast = md.expect_frt(rows, start, end, flt)
            assert r.n == n
            assert _close(r.value, mean) and _close(r.parts["median"], median)
            assert _close(r.parts["p90"], p90) and _close(r.parts["within_30s"], fast)

            r = metrics.compute(engine, "conversations", start, end, flt)
            assert r.n == len(md.convs(rows, start, end, flt))

            r = metrics.compute(engine, "sentiment", start, end, flt)
            mean, n, neg = md.expect_sentiment(rows, start, end, flt)
            assert r.n == n and _close(r.value, mean) and _close(r.parts["negative_share"], neg)


def test_complaints(loaded):
    engine, rows = loaded
    for start, end in W:
        for flt in [{}, {"channel": "淘宝"}, {"product": "羽绒服"}, {"agent": "小李"}]:
            r = metrics.compute(engine, "complaints", start, end, flt)
            expected = md.expect_complaints(rows, start, end, flt)
            assert r.n == len(expected), (start, flt)
            cats: dict[str, int] = {}
            for k in expected:
                if k["category"]:
                    cats[k["category"]] = cats.get(k["category"], 0) + 1
            top = sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            assert r.top["category"] == top
            if "product" not in flt:
                n_conv = len(md.convs(rows, start, end, flt))
                assert _close(r.parts["per_mille"], len(expected) * 1000 / n_conv if n_conv else None)


def test_order_metrics(loaded):
    engine, rows = loaded
    for start, end in W:
        for flt in [{}, {"channel": "抖音"}, {"product": "运动鞋"}]:
            r = metrics.compute(engine, "return_rate", start, end, flt)
            value, n_orders, n_returns = md.expect_return_rate(rows, start, end, flt)
            assert (r.n, r.parts["returns"]) == (n_orders, n_returns) and _close(r.value, value)

            r = metrics.compute(engine, "repurchase", start, end, flt)
            value, n = md.expect_repurchase(rows, start, end, flt)
            assert r.n == n and _close(r.value, value)

            r = metrics.compute(engine, "sales", start, end, flt)
            n, amount = md.expect_sales(rows, start, end, flt)
            assert r.n == n and _close(r.value, amount)

        for flt in [{}, {"product": "保温杯"}]:
            r = metrics.compute(engine, "bad_reviews", start, end, flt)
            value, n = md.expect_bad_reviews(rows, start, end, flt)
            assert r.n == n and _close(r.value, value)


def test_unsupported_filter_is_an_error(loaded):
    engine, _ = loaded
    with pytest.raises(metrics.MetricError):
        metrics.compute(engine, "bad_reviews", *W[0], {"agent": "小王"})


def test_registry_is_complete():
    names = {m.name for m in metrics.METRICS.values()}
    assert {"满意度", "首响", "解决率", "投诉", "退货率", "复购率", "差评", "销售", "情感", "会话量"} <= names
    for m in metrics.METRICS.values():
        assert m.definition and m.unit
        assert metrics.find_metric(m.name) is m
        for alias in m.aliases:
            assert metrics.find_metric(alias) is m
