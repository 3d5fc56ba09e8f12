"""Public entry points: the records of a demo world, and loading them into a database through ingest."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from analytics.demo.generator import KINDS, build_world
from analytics.demo.records import all_records, totals
from analytics.demo.timeline import local_midnight

log = logging.getLogger(__name__)


@dataclass
class DemoSummary:
    days: int
    start: datetime  # local midnight of the first day
    end: datetime  # ``now``: nothing is generated at or after it
    conversations: int
    messages: int
    complaints: int
    orders: int
    returns: int
    reviews: int
    kb: int
    spike: tuple[datetime, datetime]  # the injected complaint spike window [start, end), aware
    promotion_day: date


def generate_records(*, days: int = 90, seed: int = 7, now: datetime, tz: ZoneInfo,
                     scale: float = 1.0) -> dict[str, Iterator[dict] | list[dict]]:
    """Rows per kind with the canonical import columns and aware timestamps; the same arguments always give the
    same rows. ``conversations``, ``messages`` and ``orders`` are one-shot iterators (they are the bulk, built
    lazily); the other kinds are lists."""
    world = build_world(days=days, seed=seed, now=now, tz=tz, scale=scale)
    return all_records(world)


class _Counted:
    """Counts rows as ingest consumes them (messages come from a generator of unknown length)."""

    def __init__(self, rows: Iterable[dict]):
        self._rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[dict]:
        for row in self._rows:
            self.n += 1
            yield row


def generate_demo(engine: Engine, *, days: int = 90, seed: int = 7, now: datetime | None = None, tz: ZoneInfo,
                  scale: float = 1.0, progress: bool = False, mask: bool = False) -> DemoSummary:
    """Generate the demo world and write it through ``analytics.ingest.ingest_records`` (source "demo"), so the
    demo data gets exactly the validation, enrichment and rollups that imported data gets (``mask``: the
    ``[privacy] mask_at_rest`` masking of personal data in the stored text)."""
    from analytics.ingest import ingest_records

    now = datetime.now(tz) if now is None else now
    now = now.replace(tzinfo=tz) if now.tzinfo is None else now
    began, cpu = time.perf_counter(), time.process_time()
    world = build_world(days=days, seed=seed, now=now, tz=tz, scale=scale)
    records = all_records(world)
    log.info("demo world of %d days built in %.1f s (%.1f s CPU)", days, time.perf_counter() - began,
             time.process_time() - cpu)
    counts: dict[str, int] = {}
    expected = totals(world) if progress else {}
    for kind in KINDS:
        rows = records[kind]
        counted = _Counted(_progress(rows, kind, expected.get(kind)) if progress else rows)
        t0, cpu = time.perf_counter(), time.process_time()
        ingest_records(engine, kind, counted, tz=tz, source="demo", mask=mask)
        counts[kind] = counted.n
        log.info("demo %s: %d rows in %.1f s (%.1f s CPU)", kind, counted.n, time.perf_counter() - t0,
                 time.process_time() - cpu)
    return DemoSummary(
        days=days, start=local_midnight(world.days[0], tz), end=now, spike=world.spike, promotion_day=world.promo,
        **counts,
    )


def _progress(rows: Iterable[dict], kind: str, total: int | None) -> Iterable[dict]:
    from tqdm import tqdm

    return tqdm(rows, total=total, desc=kind, unit=" rows", leave=False)
