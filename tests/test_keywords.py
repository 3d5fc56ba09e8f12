"""热词: per-hour term counts equal a plain loop over the texts; re-import and masking behave."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from sqlalchemy import insert, update

from analytics import keywords
from analytics.store.models import Message, Review
from analytics.text import mask_pii, tokenize
from tests.metric_data import NOW, TZ

PHRASES = ["快递怎么还没到", "羽绒服掉绒严重", "能开发票吗", "优惠券用不了", "尺码偏小想换大一号", "运费险怎么理赔",
           "收件人李四，电话13812345678，地址北京市海淀区中关村大街1号", "补差价可以吗", "色差太大了"]


def _messages(seed: int = 3, n: int = 600) -> list[dict]:
    rnd = random.Random(seed)
    start = NOW - timedelta(days=20)
    return [{"message_id": f"m{i}", "conversation_id": f"c{i // 3}", "sender": rnd.choice(["customer", "customer", "agent"]),
             "sent_at": start + timedelta(minutes=rnd.randrange(20 * 24 * 60)), "text": rnd.choice(PHRASES)}
            for i in range(n)]


def _expected(msgs: list[dict], start: datetime, end: datetime) -> tuple[int, dict[str, int]]:
    lo = start.replace(minute=0, second=0, microsecond=0)
    docs, counts = 0, {}
    stop = keywords.keyword_stopwords()
    for m in msgs:
        if m["sender"] != "customer" or not (lo <= m["sent_at"] < end):
            continue
        docs += 1
        clean = keywords._PLACEHOLDER.sub(" ", mask_pii(m["text"]))
        for t in {t for t in tokenize(clean) if 1 < len(t) <= 32 and t.lower() not in stop}:
            counts[t] = counts.get(t, 0) + 1
    return docs, counts


def test_counts_match_loop_and_pii_never_surfaces(engine):
    msgs = _messages()
    with engine.begin() as conn:
        conn.execute(insert(Message.__table__), msgs)
    keywords.rebuild(engine)
    start, end = datetime(2026, 11, 18, 9, 30, tzinfo=TZ), NOW
    n, scores = keywords.top_terms(engine, "message", start, end, start - (end - start), start, limit=50)
    docs, counts = _expected(msgs, start, end)
    assert n == docs
    # Listed: every stored term in enough documents that is a word (fragments and fillers never are).
    assert {s.term: s.docs for s in scores} == {t: c for t, c in counts.items()
                                                if c >= keywords.MIN_DOCS and keywords.is_keyword(t)}
    for s in scores:
        assert math.isclose(s.share, counts[s.term] / docs)
        assert s.term not in ("中关村", "13812345678", "李四", "手机号", "姓名", "海淀区")


def test_refresh_follows_reimport(engine):
    msgs = _messages(n=200)
    with engine.begin() as conn:
        conn.execute(insert(Message.__table__), msgs)
    keywords.rebuild(engine)
    moved = msgs[0]
    new_time = NOW - timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(update(Message.__table__).where(Message.__table__.c.message_id == moved["message_id"])
                     .values(sent_at=new_time, text="发票抬头写错了", sender="customer"))
        keywords.refresh(conn, "message", [moved["sent_at"], new_time])
    moved.update(sent_at=new_time, text="发票抬头写错了", sender="customer")
    start, end = NOW - timedelta(days=30), NOW
    n, scores = keywords.top_terms(engine, "message", start, end, start - timedelta(days=30), start, limit=100)
    docs, counts = _expected(msgs, start, end)
    assert n == docs and {s.term: s.docs for s in scores} == {t: c for t, c in counts.items()
                                                              if c >= 3 and keywords.is_keyword(t)}


def test_bad_review_source_only_counts_bad_reviews(engine):
    rows = [{"review_id": f"v{i}", "created_at": NOW - timedelta(hours=i), "rating": 1 if i % 2 else 5,
             "text": "质量太差 掉色" if i % 2 else "质量很好 喜欢"} for i in range(20)]
    with engine.begin() as conn:
        conn.execute(insert(Review.__table__), rows)
    keywords.rebuild(engine, "bad_review")
    n, scores = keywords.top_terms(engine, "bad_review", NOW - timedelta(days=2), NOW, NOW - timedelta(days=4),
                                   NOW - timedelta(days=2))
    assert n == 10
    assert "喜欢" not in {s.term for s in scores}


def test_import_maintains_counts_exactly(engine):
    """Counts kept at import (adds, re-imports that move or rewrite rows) equal a rebuild from scratch."""
    from analytics.ingest import ingest_records

    def as_records(msgs):
        return [{**m, "sent_at": m["sent_at"].isoformat()} for m in msgs]

    msgs = _messages(seed=5, n=300)
    ingest_records(engine, "messages", as_records(msgs), tz=TZ)
    changed = [{**m, "sent_at": m["sent_at"] + timedelta(hours=5), "text": "发票开错了", "sender": "customer"}
               for m in msgs[:40]]
    ingest_records(engine, "messages", as_records(changed + changed[:5]), tz=TZ)  # repeats inside a batch too
    start, end = NOW - timedelta(days=40), NOW + timedelta(days=1)
    kept = keywords.top_terms(engine, "message", start, end, start, start, limit=500)
    keywords.rebuild(engine)
    rebuilt = keywords.top_terms(engine, "message", start, end, start, start, limit=500)
    assert [(s.term, s.docs) for s in kept[1]] == [(s.term, s.docs) for s in rebuilt[1]]
    assert kept[0] == rebuilt[0]
    final = {m["message_id"]: m for m in msgs + changed}
    docs, counts = _expected(list(final.values()), start, end)
    assert kept[0] == docs and {s.term: s.docs for s in kept[1]} == {t: c for t, c in counts.items()
                                                                  if c >= 3 and keywords.is_keyword(t)}
