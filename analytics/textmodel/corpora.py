"""Readers for the labelled corpora used to train and evaluate the text models.

Nothing here is needed at runtime: the shipped models load without any corpus.  The
public review/question datasets are read in place from ``../shared/datasets`` (or
``$CSBOT_DATASETS``) and never copied into the repository; our own labelled chat
text lives under ``bench/text/data``.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHAT_DATA_DIR = REPO_ROOT / "bench" / "text" / "data"

REVIEW_TRAIN = ("online_shopping_10_cats", "waimai_10k")
REVIEW_TEST = ("online_shopping_10_cats", "waimai_10k", "hotel_reviews")


class CorpusMissing(FileNotFoundError):
    """A corpus file is not available on this machine."""


def datasets_dir() -> Path:
    """Where the shared datasets live: ``$CSBOT_DATASETS`` or ``<repo>/../shared/datasets``."""
    env = os.environ.get("CSBOT_DATASETS")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "datasets"


def datasets_available() -> bool:
    return (datasets_dir() / "sentiment" / "waimai_10k.train.csv").is_file()


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str


def _open_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise CorpusMissing(f"{path} not found (set CSBOT_DATASETS to the shared datasets folder)")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def review_split(name: str, split: str) -> list[Example]:
    """A sentiment review file; labels become ``pos``/``neg``."""
    if split not in ("train", "test"):
        raise ValueError(split)
    rows = _open_csv(datasets_dir() / "sentiment" / f"{name}.{split}.csv")
    out = []
    for row in rows:
        text = (row.get("text") or "").strip()
        if text:
            out.append(Example(text, "pos" if row["label"].strip() == "1" else "neg", f"{name}.{split}"))
    return out


def atec_questions(split: str = "train") -> list[str]:
    """Distinct customer questions from the ATEC pairs file (order of first appearance)."""
    if split != "train":
        raise ValueError("only the ATEC train split may be used for training")
    rows = _open_csv(datasets_dir() / "paraphrase" / "atec_pairs.train.csv")
    seen: dict[str, None] = {}
    for row in rows:
        for key in ("q1", "q2"):
            q = (row.get(key) or "").strip()
            if q:
                seen.setdefault(q, None)
    return list(seen)


def read_labelled_tsv(path: Path) -> list[Example]:
    """``label<TAB>text`` lines; ``#`` starts a comment line."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        if text.strip():
            out.append(Example(text.strip(), label.strip(), Path(path).name))
    return out


def stable_fraction(text: str) -> float:
    """A deterministic number in [0, 1) from the text (for dev splits and sampling)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


HELD_OUT_FILES = ("chat_sentiment_dev.tsv", "chat_sentiment_test.tsv", "complaints_dev.tsv", "complaints_test.tsv")


def held_out_texts() -> set[str]:
    """Normalised texts of our dev/test sets; training drops any line equal to one of them."""
    from .tokenize import normalize

    out: set[str] = set()
    for name in HELD_OUT_FILES:
        path = CHAT_DATA_DIR / name
        if path.is_file():
            out.update(normalize(ex.text) for ex in read_labelled_tsv(path))
    return out
