"""Import orchestration: read -> validate -> enrich -> upsert in batches, one transaction per batch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from analytics import rollups
from analytics.ingest.loader import Item, Loader
from analytics.ingest.mapping import Mapping, load_mapping
from analytics.ingest.readers import RawRow, open_source
from analytics.ingest.rejects import RejectSink
from analytics.ingest.results import ImportResult, IngestError
from analytics.ingest.schema import KINDS, SPECS, BadRow, KindSpec, RowPlan, compile_plan
from analytics.store.db import refresh_statistics

log = logging.getLogger(__name__)

# A re-imported rejected file starts with these two columns; they are not data.
_REJECT_COLUMNS = ["line", "reason"]


def import_file(
    engine: Engine,
    kind: str,
    path: str | Path,
    *,
    mapping: str | Path | None = None,
    tz: tzinfo,
    progress: bool = False,
    batch_size: int = 5000,
    enrich: bool = True,
    mask: bool = False,
) -> ImportResult:
    """Import one CSV / XLSX / JSONL file of ``kind``; rejected rows go to ``<stem>.rejected.csv``."""
    spec = spec_for(kind)
    path = Path(path)
    rules = load_mapping(mapping)
    result = ImportResult(kind)
    with open_source(path, progress=progress, desc=f"导入 {kind}") as source:
        sink = RejectSink(source.header)
        deferred = frozenset[str]()
        try:
            plan_for = _plans(spec, rules, tz, source.header, "import", strict=True)
            deferred = rollups.defer_for_bulk_load(engine, kind)  # a first load: rebuild once at the end
            _run(engine, spec, source.rows, plan_for, result, sink, batch_size, enrich, source.header, deferred,
                 mask=mask)
        except IngestError as exc:
            result.rejected_path = sink.finish(path)
            raise _partial(exc, result) from exc
        except BaseException:
            sink.close()
            raise
        finally:
            rollups.finish_bulk_load(engine, deferred)
    result.rejected_path = sink.finish(path)
    if result.total == 0:
        raise IngestError(f"{path.name} 只有表头，没有数据行", f"{path.name} has a header but no data rows")
    log.info("imported %s from %s: %d new, %d updated, %d rejected", kind, path, result.accepted,
             result.updated, result.rejected)
    if result.accepted or result.updated:
        refresh_statistics(engine, spec.table.name, result.accepted)
    return result


def ingest_records(
    engine: Engine,
    kind: str,
    records: Iterable[dict[str, Any]],
    *,
    tz: tzinfo,
    enrich: bool = True,
    source: str = "api",
    batch_size: int = 5000,
    mask: bool = False,
) -> ImportResult:
    """Validate and upsert records keyed by canonical column names; line numbers are 1-based indexes.
    ``mask`` ([privacy] mask_at_rest) stores the free text with personal data masked."""
    spec = spec_for(kind)
    result = ImportResult(kind)
    plan_for = _plans(spec, Mapping(), tz, None, source, strict=False)
    _run(engine, spec, _records(records), plan_for, result, None, batch_size, enrich, mask=mask)
    log.info("ingested %d %s records from %s: %d new, %d updated, %d rejected", result.total, kind, source,
             result.accepted, result.updated, result.rejected)
    return result


def spec_for(kind: str) -> KindSpec:
    spec = SPECS.get(str(kind).strip().lower())
    if spec is None:
        raise IngestError(f"未知的数据类型 {kind!r}，可选: {', '.join(KINDS)}",
                          f"unknown kind {kind!r}; expected one of: {', '.join(KINDS)}")
    return spec


def _records(records: Iterable[Any]) -> Iterator[RawRow]:
    for index, record in enumerate(records, start=1):
        if isinstance(record, dict):
            yield index, record, None
        else:
            yield index, {"_raw": repr(record)[:500]}, "应为一个对象 (键为列名)"


def _plans(
    spec: KindSpec, rules: Mapping, tz: tzinfo, header: list[str] | None, source: str, *, strict: bool
) -> Callable[[dict[str, Any]], RowPlan]:
    """A function giving the validation plan for a raw row, compiled once per distinct set of keys."""
    now = datetime.now(UTC)
    kb_source = source if source in ("mined", "manual") else "import"

    def compile_for(keys: list[str], positional: bool = False) -> RowPlan:
        ignore = _REJECT_COLUMNS if keys[:2] == _REJECT_COLUMNS else ()
        try:
            return compile_plan(spec, keys, rules.columns, tz=tz, formats=rules.datetime_formats,
                                value_maps=rules.values, defaults=rules.defaults, ignore=ignore,
                                positional=positional, now=now, kb_source=kb_source)
        except ValueError as exc:
            raise IngestError(f"映射文件的默认值无效: {exc}", f"invalid default in the mapping file: {exc}") from exc

    if header is not None:
        plan = compile_for(header, positional=True)
        if strict and plan.missing_required:
            raise _missing_columns(spec, plan.missing_required, header)
        return lambda raw: plan

    cache: dict[tuple[str, ...], RowPlan] = {}

    def plan_for(raw: dict[str, Any]) -> RowPlan:
        keys = tuple(raw)
        plan = cache.get(keys)
        if plan is None:
            plan = cache[keys] = compile_for(list(keys))
            # The first record of a JSONL file stands for the file: a missing column is a mapping problem.
            if strict and len(cache) == 1 and plan.missing_required:
                raise _missing_columns(spec, plan.missing_required, list(keys))
        return plan

    return plan_for


def _missing_columns(spec: KindSpec, missing: list[str], found: list[str]) -> IngestError:
    shown = ", ".join(name if len(name) <= 30 else name[:30] + "…" for name in found[:20])
    shown += " …" if len(found) > 20 else ""
    return IngestError(
        f"{spec.kind} 缺少必填列: {', '.join(missing)}。文件中的列: {shown}。"
        "如果列名不同，请用 --mapping 指定映射文件",
        f"{spec.kind}: missing required column(s) {', '.join(missing)}; found: {shown}. "
        "Use --mapping to rename source columns",
    )


def _run(
    engine: Engine,
    spec: KindSpec,
    rows: Iterable[RawRow],
    plan_for: Callable[[Any], RowPlan],
    result: ImportResult,
    sink: RejectSink | None,
    batch_size: int,
    enrich: bool,
    header: list[str] | None = None,
    deferred_rollups: frozenset[str] = frozenset(),
    *,
    mask: bool = False,
) -> None:
    loader = Loader(engine, spec, result, sink, enrich=enrich, header=header, deferred_rollups=deferred_rollups,
                    mask=mask)
    batch: list[Item] = []
    for line, raw, problem in rows:
        if problem is None:
            try:
                batch.append((line, raw, plan_for(raw).validate(raw)))
            except BadRow as exc:
                problem = str(exc)
            else:
                if len(batch) >= batch_size:
                    loader.submit(batch)
                    batch = []
                continue
        loader.reject(line, problem, raw)
    if batch:
        loader.submit(batch)


def _partial(exc: IngestError, result: ImportResult) -> IngestError:
    if not result.total:
        return exc
    zh = f"{exc.zh}（出错之前已导入: 新增 {result.accepted}，更新 {result.updated}，拒绝 {result.rejected}）"
    en = f"{exc.en} (before the error: {result.accepted} new, {result.updated} updated, {result.rejected} rejected)"
    if result.rejected_path is not None:
        zh += f"；被拒绝的行见 {result.rejected_path}"
        en += f"; rejected rows in {result.rejected_path}"
    return IngestError(zh, en)
