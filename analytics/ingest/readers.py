"""Readers: turn a CSV / XLSX / JSONL file into ``(line, raw row)`` pairs, streaming.

CSV and JSONL are decoded incrementally (never the whole file in memory); XLSX uses openpyxl's
read-only mode. Line numbers are what a person sees: the spreadsheet row for CSV/XLSX (header = 1),
the physical line for JSONL.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics.ingest.encoding import BadBytesCounter, detect_encoding, sniff_format
from analytics.ingest.results import IngestError

csv.field_size_limit(16 * 1024 * 1024)  # long chat transcripts; an unclosed quote still stops at 16 MB

# (line, raw row, reader-level problem or None). The raw row is a list in header order for CSV/XLSX
# (cheaper than a dict per row) and a dict for JSON records.
RawRow = tuple[int, list[Any] | dict[str, Any], str | None]


@dataclass
class Source:
    format: str  # csv / xlsx / jsonl / json
    encoding: str | None
    header: list[str] | None  # None when every record carries its own keys (JSONL)
    rows: Iterator[RawRow]


@contextmanager
def open_source(path: Path, *, progress: bool = False, desc: str = "") -> Iterator[Source]:
    """Open ``path`` for reading; raises ``IngestError`` when it cannot be read as a table."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"找不到或无法读取文件: {path}", f"cannot read file {path}: {exc.strerror}") from exc
    if not path.is_file():
        raise IngestError(f"不是文件: {path}", f"not a file: {path}")
    if size == 0:
        raise IngestError(f"文件为空: {path.name}", f"the file is empty: {path.name}")
    fmt = sniff_format(path)
    with ExitStack() as stack:
        bar = stack.enter_context(_progress_bar(size, progress, desc, unit="B" if fmt != "xlsx" else "行"))
        if fmt == "xlsx":
            yield _open_xlsx(path, stack, bar)
        else:
            encoding = detect_encoding(path)
            raw = stack.enter_context(open(path, "rb", buffering=0))
            counted = io.BufferedReader(_Counting(raw, bar), buffer_size=1 << 20)
            bad_bytes = BadBytesCounter()
            text = stack.enter_context(io.TextIOWrapper(counted, encoding=encoding, errors=bad_bytes.name,
                                                        newline=""))
            if fmt == "csv":
                yield _open_csv(text, encoding, bad_bytes)
            else:
                yield Source(fmt, encoding, None, _json_rows(text, fmt, bad_bytes, encoding))


@contextmanager
def _progress_bar(total: int, enabled: bool, desc: str, unit: str) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total if unit == "B" else None, unit=unit, unit_scale=unit == "B", file=sys.stderr,
              desc=desc or "导入", dynamic_ncols=True, mininterval=0.5) as bar:
        yield bar


class _Counting(io.RawIOBase):
    """A raw stream that advances the progress bar by the bytes read."""

    def __init__(self, raw: io.RawIOBase, bar: Any):
        self._raw = raw
        self._bar = bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer) or 0
        if self._bar is not None and n:
            self._bar.update(n)
        return n


# ---------------------------------------------------------------- CSV

def _open_csv(text: io.TextIOWrapper, encoding: str, bad_bytes: BadBytesCounter) -> Source:
    first, header_line = text.readline(), 1
    while first and not first.strip():
        first, header_line = text.readline(), header_line + 1
    if not first.strip():
        raise IngestError("文件为空 (没有表头)", "the file is empty (no header row)")
    delimiter = _delimiter(first)
    header = unique_header(next(csv.reader([first], delimiter=delimiter)))
    reader = csv.reader(text, delimiter=delimiter)
    return Source("csv", encoding, header, _csv_rows(reader, header, header_line, bad_bytes, encoding))


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def unique_header(cells: list[Any]) -> list[str]:
    """Header names as strings; blanks become 列N, duplicates get a suffix so no column is lost."""
    out: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(cells, start=1):
        name = "" if cell is None else str(cell).strip()
        if i == 1:
            name = name.lstrip("\ufeff")
        if not name:
            name = f"列{i}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        out.append(name)
    return out


def _csv_rows(
    reader: Any, header: list[str], line: int, bad_bytes: BadBytesCounter, encoding: str
) -> Iterator[RawRow]:
    """Rows as lists in header order (short rows padded with empty cells)."""
    width = len(header)
    undecodable = _undecodable(bad_bytes, encoding)
    try:
        for cells in reader:
            line += 1
            if len(cells) != width:
                if not any(cells):
                    continue  # a blank line carries no data
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                elif any(c.strip() for c in cells[width:]):
                    yield line, cells, f"列数 ({len(cells)}) 多于表头 ({width})，可能是文本中有未加引号的分隔符"
                    continue
                else:
                    del cells[width:]
            elif not any(cells):
                continue
            yield line, cells, undecodable(cells) if bad_bytes.count else None
    except csv.Error as exc:
        raise IngestError(f"第 {line + 1} 行附近 CSV 格式错误: {exc}", f"CSV syntax error near line {line + 1}: {exc}") from exc


_SURROGATE = re.compile("[\udc80-\udcff]")


def _undecodable(bad_bytes: BadBytesCounter, encoding: str) -> Any:
    def check(cells: list[str]) -> str | None:
        if _SURROGATE.search("\x1f".join(c for c in cells if isinstance(c, str))):
            return f"含有无法按 {encoding} 解码的字节 (文件编码不一致)"
        return None

    return check


# ---------------------------------------------------------------- JSONL / JSON

def _json_rows(text: io.TextIOWrapper, fmt: str, bad_bytes: BadBytesCounter, encoding: str) -> Iterator[RawRow]:
    if fmt == "json":
        yield from _json_array(text)
        return
    undecodable = _undecodable(bad_bytes, encoding)
    for line, raw_line in enumerate(text, start=1):
        stripped = raw_line.strip()
        if not stripped:
            continue
        if bad_bytes.count and (problem := undecodable([stripped])):
            yield line, {"_raw": stripped}, problem
            continue
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield line, {"_raw": stripped}, f"不是有效的 JSON: {exc.msg} (第 {exc.colno} 列)"
            continue
        if not isinstance(record, dict):
            yield line, {"_raw": stripped}, "每行应为一个 JSON 对象 {...}"
            continue
        yield line, record, None


def _json_array(text: io.TextIOWrapper) -> Iterator[RawRow]:
    """A whole-file JSON array (small exports); use JSONL for large files."""
    try:
        data = json.load(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"不是有效的 JSON: {exc.msg} (第 {exc.lineno} 行)",
                          f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise IngestError("JSON 文件应为对象数组或每行一个对象 (JSONL)", "JSON must be an array of objects or JSONL")
    for i, record in enumerate(data, start=1):
        if isinstance(record, dict):
            yield i, record, None
        else:
            yield i, {"_raw": json.dumps(record, ensure_ascii=False)}, "应为一个 JSON 对象 {...}"


# ---------------------------------------------------------------- XLSX

def _open_xlsx(path: Path, stack: ExitStack, bar: Any) -> Source:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, not the path: openpyxl refuses a path by its extension, and the format
    # here is sniffed from the bytes (a zip named .csv is still read as the workbook it is).
    handle = stack.enter_context(path.open("rb"))
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise IngestError(f"无法读取 Excel 文件 {path.name}: 文件损坏或不是 .xlsx",
                          f"cannot read {path.name} as XLSX: {exc}") from exc
    stack.callback(workbook.close)
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise IngestError(f"Excel 文件没有工作表: {path.name}", f"no worksheet in {path.name}")
    rows = sheet.iter_rows(values_only=True)
    line = 0
    for cells in rows:
        line += 1
        if bar is not None:
            bar.update(1)
        if any(c is not None and str(c).strip() for c in cells):
            header = _trim_header(unique_header(list(cells)), cells)
            return Source("xlsx", None, header, _xlsx_rows(rows, header, line, bar))
    raise IngestError(f"文件为空 (没有表头): {path.name}", f"the worksheet is empty: {path.name}")


def _trim_header(header: list[str], cells: tuple[Any, ...]) -> list[str]:
    """Drop trailing unnamed columns that formatting adds to a sheet's width."""
    last = max(i for i, c in enumerate(cells) if c is not None and str(c).strip())
    return header[: last + 1]


def _xlsx_rows(rows: Iterator[tuple[Any, ...]], header: list[str], line: int, bar: Any) -> Iterator[RawRow]:
    """Rows as lists in header order; cell values keep their types (numbers, datetimes)."""
    width = len(header)
    for cells in rows:
        line += 1
        if bar is not None:
            bar.update(1)
        if not any(c is not None and c != "" for c in cells):
            continue
        values = list(cells[:width])
        if len(values) < width:
            values += [None] * (width - len(values))
        problem = None
        if len(cells) > width and any(c is not None and str(c).strip() for c in cells[width:]):
            problem = f"第 {width + 1} 列之后有数据但没有表头"
        yield line, values, problem
