"""The batch writer: one transaction per batch, in a background thread.

Reading and validating rows is Python work; writing them is mostly database work (SQLite's B-tree
code runs without the GIL, PostgreSQL runs in its own process). A writer thread fed by a short queue
lets the two overlap, which on two cores cuts a large import's time by a third or more. Batches are
committed in order; the first database error stops the import after the batches already queued.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from analytics import keywords, rollups
from analytics.ingest.enrich import ENRICHERS
from analytics.ingest.rejects import RejectSink
from analytics.ingest.results import MAX_ERRORS_KEPT, ImportResult, RowError
from analytics.ingest.schema import KindSpec
from analytics.ingest.upsert import recompute_first_response, write_batch

log = logging.getLogger(__name__)

# (line, raw row as read, validated row)
Item = tuple[int, Any, dict[str, Any]]
_DONE = None


class Loader:
    """Use as a context manager: ``submit`` validated batches, ``reject`` bad rows."""

    def __init__(self, engine: Engine, spec: KindSpec, result: ImportResult, sink: RejectSink | None,
                 *, enrich: bool, header: list[str] | None):
        self.engine, self.spec, self.result, self.sink = engine, spec, result, sink
        self.enrich = enrich and spec.kind in ENRICHERS
        self.header = header
        self._lock = threading.Lock()
        self._queue: queue.Queue[list[Item] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Loader:
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._drain,), name=f"ingest-{self.spec.kind}",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._queue.put(_DONE)
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            if exc_type is None:
                raise self._error
            log.error("the %s writer failed as well: %r", self.spec.kind, self._error)

    def submit(self, batch: list[Item]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def reject(self, line: int, problem: str, raw: Any) -> None:
        row = _as_dict(raw, self.header)
        reason = f"第 {line} 行: {problem}"
        with self._lock:
            self.result.rejected += 1
            if len(self.result.errors) < MAX_ERRORS_KEPT:
                self.result.errors.append(RowError(line, reason, row))
            if self.sink is not None:
                self.sink.add(line, reason, row)

    def _drain(self) -> None:
        while (batch := self._queue.get()) is not _DONE:
            if self._error is not None:
                continue  # keep emptying the queue so the reader never blocks on a dead writer
            try:
                self._load(batch)
            except BaseException as exc:  # handed to the reader thread, which re-raises it
                self._error = exc

    def _load(self, batch: list[Item]) -> None:
        rows = [row for _, _, row in batch]
        if self.enrich:
            _enrich(self.spec.kind, rows)
        try:
            accepted, updated = self._write(rows)
        except (IntegrityError, DataError) as exc:
            self._isolate(batch, exc)
            return
        self.result.accepted += accepted
        self.result.updated += updated

    def _write(self, rows: list[dict[str, Any]]) -> tuple[int, int]:
        kind = self.spec.kind
        with self.engine.begin() as conn:
            pending = rollups.before_batch(conn, kind, rows)
            old_terms = keywords.before_batch(conn, kind, rows) if self.enrich else None
            accepted, updated, touched = write_batch(conn, self.spec, rows)
            recompute_first_response(conn, touched)
            rollups.after_batch(conn, kind, rows, pending, touched)
            keywords.after_batch(conn, kind, rows, old_terms)
        return accepted, updated

    def _isolate(self, batch: list[Item], exc: Exception) -> None:
        """The database refused the batch: retry row by row so only the offending rows are rejected."""
        if len(batch) == 1:
            line, raw, _ = batch[0]
            self.reject(line, f"数据库拒绝此行: {_first_line(exc)}", raw)
            return
        log.warning("batch of %d %s refused by the database (%s); retrying row by row", len(batch),
                    self.spec.kind, _first_line(exc))
        for line, raw, row in batch:
            try:
                accepted, updated = self._write([row])
            except (IntegrityError, DataError) as row_exc:
                self.reject(line, f"数据库拒绝此行: {_first_line(row_exc)}", raw)
                continue
            self.result.accepted += accepted
            self.result.updated += updated


def _enrich(kind: str, rows: list[dict[str, Any]]) -> None:
    """Derived text columns are a bonus: a failing model must not block the data import itself."""
    try:
        ENRICHERS[kind](rows)
    except Exception:
        log.exception("text enrichment of %d %s failed; derived columns left empty", len(rows), kind)


def _as_dict(raw: Any, header: list[str] | None) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    names = list(header or [])
    names += [f"列{i}" for i in range(len(names) + 1, len(raw) + 1)]
    return dict(zip(names, raw, strict=False))


def _first_line(exc: Exception) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip()
    return message.splitlines()[0][:300] if message else type(exc).__name__
