"""What an import returns, and the one exception it raises for problems with the whole file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class IngestError(Exception):
    """The whole import cannot proceed (unknown kind, unreadable file, wrong encoding, missing column).

    ``str(exc)`` is a Chinese message followed by an English one, meant to be shown as-is.
    """

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass
class RowError:
    """One rejected row: its line number in the source, the reason (Chinese) and the original values."""

    line: int
    reason: str
    row: dict[str, Any]


@dataclass
class ImportResult:
    """Counts of one import.

    ``accepted`` = rows inserted with a new id, ``updated`` = rows whose id already existed (including an
    id repeated within the same import: the last occurrence wins). ``errors`` keeps at most
    ``MAX_ERRORS_KEPT`` rows; ``rejected`` and the rejected file always cover all of them.
    """

    kind: str
    accepted: int = 0
    updated: int = 0
    rejected: int = 0
    rejected_path: Path | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.updated + self.rejected


MAX_ERRORS_KEPT = 1000
