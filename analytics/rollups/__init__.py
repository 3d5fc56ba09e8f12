"""Rollups: metric answers that do not grow with the raw data.

Counts and sums per UTC hour, day and month and per filter dimension live in the ``rollup_*`` tables
(:mod:`analytics.store.rollup_models`, definitions in :mod:`analytics.rollups.specs`). A window is
answered from the coarsest whole buckets inside it plus the partial edge hours from raw rows (indexed
by time), so the result equals the raw computation exactly (floating sums up to rounding). Reading —
:func:`totals`, :func:`breakdown`, :func:`top`, :func:`disabled` — lives in :mod:`analytics.rollups.read`
and is re-exported here.

Maintenance:

- :func:`before_batch` / :func:`after_batch` wrap every import batch (``analytics.ingest``): the sums of
  the rows the batch can change are subtracted from the buckets before the write and added back after
  it (:mod:`analytics.rollups.delta`, all in SQL). That covers the hours rows leave and enter, and the
  rollups whose dimensions come from the batch (a re-imported conversation with a new agent moves its
  complaints and messages), so late-arriving and re-imported rows stay correct at a cost that depends
  on the batch, not on the table or on the order of the file.
- :func:`refresh` recomputes given hours of the rollups of one raw kind from raw rows (delete + ``INSERT … SELECT …
  GROUP BY``), then the days and months that contain them: for writers that bypass the import layer.
- :func:`rebuild` recomputes everything (``csbot rollups rebuild``).

A rollup is read only once it is complete (``rollup_state.ready``): after :func:`rebuild`, or after
the first import batch of its kind, which builds it from whatever raw rows exist. Code that writes raw
rows without the import layer must call :func:`refresh`, :func:`rebuild` or :func:`invalidate`.

The package's modules: ``specs`` (what each rollup table sums, bucket arithmetic), ``delta`` (batch
deltas), ``maintain`` (upkeep, refresh, rebuild), ``read`` (window reads), ``series`` (many windows in
one statement), ``percentiles`` (首响 median/P90 from histograms), ``repeat`` (复购率 predecessors).
Imports inside point one way: ``maintain`` → ``read`` → ``series`` → ``specs``; ``percentiles`` →
``read``; ``maintain`` → ``delta`` ← ``repeat``. Callers outside the package import from here.
"""

from __future__ import annotations

from analytics.rollups.maintain import (
    KINDS,
    Pending,
    after_batch,
    before_batch,
    defer_for_bulk_load,
    finish_bulk_load,
    invalidate,
    rebuild,
    refresh,
)
from analytics.rollups.percentiles import quantiles
from analytics.rollups.read import (
    batch,
    breakdown,
    disabled,
    grouped,
    hour_rows,
    hourly,
    is_ready,
    probes,
    repeat_count,
    top,
    totals,
)
from analytics.rollups.specs import ALL_KEY, COMPLAINT_TOPS_FDIMS, FRT_ALL, SPECS

__all__ = ["ALL_KEY", "COMPLAINT_TOPS_FDIMS", "FRT_ALL", "KINDS", "SPECS", "Pending", "after_batch", "batch",
           "before_batch", "breakdown", "defer_for_bulk_load", "disabled", "finish_bulk_load", "grouped", "hour_rows", "hourly", "invalidate", "is_ready",
           "probes", "quantiles", "rebuild", "refresh", "repeat_count", "top", "totals"]
