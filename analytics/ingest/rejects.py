"""The rejected-rows file: ``<input stem>.rejected.csv`` with ``line``, ``reason`` and the original columns.

Rejected rows are spooled to a temporary file while the import runs (memory stays flat however many
rows fail), then written as UTF-8 with BOM so Excel opens the Chinese text correctly. Columns are the
source header (CSV/XLSX) or every key seen in the rejected records (JSONL), in first-seen order.
"""

from __future__ import annotations

import csv
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class RejectSink:
    def __init__(self, header: list[str] | None = None):
        self._columns: dict[str, None] = dict.fromkeys(header or [])
        self._spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="surrogateescape")
        self.count = 0

    def add(self, line: int, reason: str, row: dict[str, Any]) -> None:
        for key in row:
            if key not in self._columns:
                self._columns[key] = None
        self._spool.write(json.dumps([line, reason, row], ensure_ascii=True, default=str) + "\n")
        self.count += 1

    def finish(self, source: Path) -> Path | None:
        """Write the file next to ``source`` (or in the current folder if that is read-only)."""
        try:
            if not self.count:
                _remove_stale(rejected_path(source))
                return None
            for target in (rejected_path(source), Path.cwd() / rejected_path(source).name):
                try:
                    self._write(target)
                    return target.absolute()
                except OSError as exc:
                    log.warning("cannot write rejected rows to %s: %s", target, exc)
            return None
        finally:
            self._spool.close()

    def close(self) -> None:
        self._spool.close()

    def _write(self, target: Path) -> None:
        columns = list(self._columns)
        self._spool.seek(0)
        with open(target, "w", encoding="utf-8-sig", errors="surrogateescape", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "reason", *columns])
            for entry in self._spool:
                line, reason, row = json.loads(entry)
                writer.writerow([line, reason, *(_cell(row.get(c)) for c in columns)])


def rejected_path(source: Path) -> Path:
    return source.with_name(f"{source.stem}.rejected.csv")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _remove_stale(path: Path) -> None:
    """A clean re-import removes the rejected file of an earlier run, so it cannot be mistaken for this one."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove stale %s: %s", path, exc)
