"""``csbot faq [--days N] [--json]``: recompute the knowledge-base suggestions and print them.

It always recomputes (the chat reuses a run younger than ``[faq] refresh_minutes``) and stores the run, so
the ids it prints are the ones ``/知识库 N`` shows. Without ``--json`` stdout gets the ``/知识库`` list; with
``--json`` one document and nothing else::

    {"window": {"label", "start", "end", "prev_start", "prev_end"}, "computed_at", "questions", "current_questions",
     "clusters", "qualified", "covered", "suggestions": [{"id", "question", "kind", "status", "category",
     "questions", "customers", "previous", "growth", "bad_share", "phrasings", "answer", "answer_basis",
     "consistency", "median_chars", "covered_by"}, …]}

``suggestions`` are the listed ones (proposed, and dismissed ones grown past ``regrow_factor``) in rank
order; ``growth`` is a fraction (null when the period before had none). A progress bar goes to stderr
when it is a terminal, one line per stage otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from bot.cli_output import say
from bot.config import Settings


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    f = sub.add_parser("faq", help="knowledge-base / auto-reply suggestions from repeated customer questions")
    f.add_argument("--days", type=int, default=None, help="window: the last N days (default [faq] days)")
    f.add_argument("--json", action="store_true", help="one JSON document on stdout")


class _Bar:
    """A tqdm bar over the run's stages on a terminal; plain stage lines otherwise."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=3, file=stream, desc="知识库建议", leave=False)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.set_description(stage)
            self.bar.update(done - self.bar.n)
        else:
            say(f"知识库建议：{stage}（{done}/{total}）", self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _row_json(row: Any) -> dict:  # noqa: ANN401 - a FaqSuggestion
    s = row.stats or {}
    return {"id": row.id, "question": row.question, "kind": row.kind, "status": row.status, "category": row.category,
            "questions": s.get("questions"), "customers": s.get("customers"), "previous": s.get("previous"),
            "growth": s.get("growth"), "bad_share": s.get("bad_share"), "phrasings": row.phrasings or [],
            "answer": row.edited_answer or row.answer, "answer_basis": s.get("answer_basis"),
            "consistency": s.get("consistency"), "median_chars": s.get("median_chars"),
            "covered_by": s.get("covered_by")}


def run(settings: Settings, args: argparse.Namespace, make_bot: Callable[[Settings], Any]) -> int:
    from dataclasses import replace

    from analytics.faq import ledger
    from handlers import knowledge, knowledge_text

    if args.days is not None and not 1 <= args.days <= 365:
        say("--days 要在 1 到 365 之间。", sys.stderr)
        return 2
    bot = make_bot(settings)
    opts = knowledge.FaqOptions.of(bot.services)
    if args.days is not None:
        opts = replace(opts, days=args.days)
    now = datetime.now(settings.tz)
    bar = _Bar(sys.stderr)
    try:
        run_ = knowledge.refresh_now(bot.services, now, opts, progress=bar)
    finally:
        bar.close()
    rows = ledger.listed(bot.services.engine, settings.faq.regrow_factor)
    if args.json:
        doc = {**run_.__dict__, "suggestions": [_row_json(r) for r in rows]}
        say(json.dumps(doc, ensure_ascii=False), sys.stdout)
        return 0
    computed = datetime.fromisoformat(run_.computed_at).astimezone(settings.tz)
    say(knowledge_text.listing(rows, run_, settings.faq.top_n, computed), sys.stdout)
    return 0
