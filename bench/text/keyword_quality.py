"""How many listed keywords are fragments or fillers, before and after analytics.keywords.is_keyword.

Two sources, each listed the way the bot lists keywords, once with every stored term ("before", the
code before the word filter) and once through ``is_keyword`` ("after"):

- ``--db``: a database filled by ``csbot demo`` — /热词 (customer messages, top 10) and /差评 keywords
  (bad reviews, top 8) for the week in progress and each of the ``--weeks`` before it, through ``keywords.top_terms`` itself.
- ``--dataset``: negative reviews of ../shared/datasets/sentiment (online_shopping_10_cats, one list
  per category, and waimai_10k): the top ``--top`` terms by document count per list, terms as the bot
  stores them (``keywords._terms``). Measure only: nothing is fitted here. The stop list was written
  from the demo and the ``train`` split; report the ``test`` split.

Every listed term is judged by hand in ``keyword_judgements.tsv`` (term, word | fragment | filler),
written by a person reading the lists, not by the rule; unjudged terms are printed and counted apart.

    python bench/text/keyword_quality.py --db sqlite:////tmp/demoB.db --dataset ../shared/datasets --split test
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analytics import keywords  # noqa: E402

JUDGEMENTS = Path(__file__).with_name("keyword_judgements.tsv")
TZ = ZoneInfo("Asia/Shanghai")


def load_judgements() -> dict[str, str]:
    out = {}
    for line in JUDGEMENTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            term, verdict = line.split("\t")[:2]
            out[term.strip()] = verdict.strip()
    return out


def demo_lists(url: str, weeks: int, word_filter) -> list[list[str]]:  # noqa: ANN001
    """/热词 and /差评 keyword lists of each of the last ``weeks`` whole weeks of the demo database."""
    from sqlalchemy import create_engine, func, select

    engine = create_engine(url)
    with engine.connect() as conn:
        last = conn.execute(select(func.max(keywords.TERMS.c.hour))).scalar()
    last = (last if isinstance(last, datetime) else datetime.fromisoformat(str(last))).astimezone(TZ)
    monday = (last - timedelta(days=last.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    lists = []
    for i in range(weeks + 1):  # the week in progress and the `weeks` before it
        start = monday - timedelta(days=7 * i)
        end = start + timedelta(days=7)
        for source, limit in (("message", 10), ("bad_review", 8)):
            _n, scores = keywords.top_terms(engine, source, start, end, start - timedelta(days=7), start, limit,
                                            word_filter=word_filter)
            lists.append([s.term for s in scores])
    return lists


def dataset_texts(root: Path, split: str) -> dict[str, list[str]]:
    """Negative reviews per list: each online_shopping category, and waimai."""
    groups: dict[str, list[str]] = {}
    for name in ("online_shopping_10_cats", "waimai_10k"):
        path = root / "sentiment" / f"{name}.{split}.csv"
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["label"] == "0":
                    groups.setdefault(row.get("category") or name, []).append(row["text"])
    return groups


def dataset_lists(groups: dict[str, list[str]], top: int, word_filter) -> list[list[str]]:  # noqa: ANN001
    lists = []
    for texts in groups.values():
        docs = Counter(t for text in texts for t in keywords._terms(text))
        ranked = [t for t, n in docs.most_common() if n >= keywords.MIN_DOCS and (word_filter is None or word_filter(t))]
        lists.append(ranked[:top])
    return lists


def share(lists: list[list[str]], judged: dict[str, str]) -> tuple[int, int, int, list[str]]:
    """(listed, fragments or fillers, unjudged, the unjudged terms)."""
    listed = [t for lst in lists for t in lst]
    bad = sum(judged.get(t) in ("fragment", "filler") for t in listed)
    missing = sorted({t for t in listed if t not in judged})
    return len(listed), bad, sum(t not in judged for t in listed), missing


def report(name: str, before: list[list[str]], after: list[list[str]], judged: dict[str, str]) -> list[str]:
    missing_all = []
    for label, lists in (("before", before), ("after", after)):
        n, bad, unjudged, missing = share(lists, judged)
        missing_all += missing
        flagged = sorted({t for lst in lists for t in lst if judged.get(t) in ("fragment", "filler")})
        print(f"{name:28s} {label:6s} listed {n:4d}  fragments/fillers {bad:4d} = {bad / max(n, 1):6.1%}"
              f"  unjudged {unjudged}  {' '.join(flagged[:30])}")
    return missing_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="database URL filled by csbot demo")
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--dataset", type=Path, help="../shared/datasets")
    parser.add_argument("--split", default="test", choices=("train", "test"))
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    judged = load_judgements()
    missing = []
    if args.db:
        missing += report("demo /热词 + /差评 weekly", demo_lists(args.db, args.weeks, None),
                          demo_lists(args.db, args.weeks, keywords.is_keyword), judged)
    if args.dataset:
        if not (args.dataset / "sentiment").is_dir():
            print(f"no datasets at {args.dataset}: skipped")
        else:
            groups = dataset_texts(args.dataset, args.split)
            missing += report(f"datasets negatives ({args.split})", dataset_lists(groups, args.top, None),
                              dataset_lists(groups, args.top, keywords.is_keyword), judged)
    if missing:
        print("unjudged:", " ".join(sorted(set(missing))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
