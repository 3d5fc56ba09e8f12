"""File format and text encoding detection.

Exports from Chinese CS systems come as UTF-8, UTF-8 with BOM (Excel "CSV UTF-8"), or GBK (Excel's
default "CSV" on a Chinese Windows). We read a sample: a BOM decides; valid UTF-8 means UTF-8;
otherwise charset-normalizer is asked and GB18030 (a superset of GBK/GB2312) is used when the bytes are
Chinese text. Anything else is refused with advice, rather than guessed and imported as mojibake.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from analytics.ingest.results import IngestError

SAMPLE_BYTES = 1 << 20
_ASCII_SCAN_LIMIT = 256 << 20  # an all-ASCII head: look this far for the first non-ASCII byte

_MAGIC = {
    b"PK\x03\x04": "xlsx",
    b"\xd0\xcf\x11\xe0": "xls",
    b"%PDF": "pdf",
    b"\x89PNG": "png",
    b"\x1f\x8b": "gzip",
    b"\xff\xd8\xff": "jpeg",
}
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
}


def sniff_format(path: Path) -> str:
    """csv / xlsx / jsonl / json, from the content's magic bytes first, then the extension."""
    with open(path, "rb") as f:
        head = f.read(4096)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            if kind == "xlsx":
                return "xlsx"
            if kind == "xls":
                raise IngestError(f"{path.name} 是旧版 Excel (.xls) 文件，请在 Excel 中另存为 .xlsx 或 CSV UTF-8",
                                  f"{path.name} is a legacy .xls workbook; save it as .xlsx or CSV UTF-8")
            raise _binary(path, kind)
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt == "xlsx":
        raise IngestError(f"{path.name} 不是有效的 .xlsx 文件 (文件损坏?)", f"{path.name} is not a valid .xlsx file")
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if fmt in ("json", "jsonl") or fmt is None:
        if first == b"[":
            return "json"
        if first == b"{" or fmt is not None:
            return "jsonl"
    return "csv"


def detect_encoding(path: Path) -> str:
    """A Python codec name for the text file at ``path``; ``IngestError`` for binary or unknown bytes."""
    with open(path, "rb") as f:
        head = f.read(SAMPLE_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"  # Excel "Unicode text" (tab separated)
        if _looks_binary(head):
            raise _binary(path, "binary")
        at_end = len(head) < SAMPLE_BYTES
        sample = head
        if head.isascii() and not at_end:
            sample, at_end = _first_non_ascii(f)
    if sample.isascii() or _decodes(sample, "utf-8", at_end):
        return "utf-8"
    if _looks_binary(sample):
        raise _binary(path, "binary")
    if _is_chinese(sample, at_end):
        return "gb18030"
    if _mostly_utf8(sample):
        return "utf-8"
    guess = _charset_guess(sample)
    raise IngestError(
        f"无法识别 {path.name} 的编码 (不是 UTF-8 也不是 GBK{f'，像是 {guess}' if guess else ''})。"
        "请在 Excel 中另存为「CSV UTF-8」后再导入",
        f"cannot detect the encoding of {path.name} (not UTF-8 or GBK{f', looks like {guess}' if guess else ''}); "
        "save it as CSV UTF-8",
    )


def _first_non_ascii(f) -> tuple[bytes, bool]:  # noqa: ANN001
    """Scan on from an all-ASCII head, chunk by chunk, for a sample that starts at a non-ASCII byte."""
    scanned = 0
    while scanned < _ASCII_SCAN_LIMIT:
        chunk = f.read(SAMPLE_BYTES)
        if not chunk:
            return b"", True
        scanned += len(chunk)
        if not chunk.isascii():
            start = next(i for i, b in enumerate(chunk) if b >= 0x80)
            sample = chunk[start:] + f.read(max(0, 64 * 1024 - (len(chunk) - start)))
            return sample, len(sample) < 64 * 1024
    return b"", False


def _decodes(sample: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _is_chinese(sample: bytes, final: bool) -> bool:
    """GB18030 decodes almost any byte soup into rare characters, so also require what real Chinese text
    looks like: mostly CJK among the non-ASCII characters, and mostly the common characters and
    punctuation of GB2312 (lead bytes A1-A9, B0-D7), which random bytes hit only a third of the time."""
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(sample, final=final)
    except UnicodeDecodeError:
        return False
    wide = [ch for ch in text if ord(ch) >= 0x80]
    if not wide:
        return False
    cjk = sum(1 for ch in wide if _is_cjk(ch))
    common = sum(1 for ch in wide if _is_common_gb2312(ch))
    if cjk / len(wide) >= 0.6 and common / len(wide) >= 0.7:
        return True
    return common / len(wide) >= 0.5 and _charset_guess(sample) in ("gb2312", "gbk", "gb18030", "hz")


def _is_common_gb2312(ch: str) -> bool:
    try:
        lead = ch.encode("gb2312")[0]
    except UnicodeEncodeError:
        return False
    return 0xA1 <= lead <= 0xA9 or 0xB0 <= lead <= 0xD7


def _mostly_utf8(sample: bytes) -> bool:
    """Valid UTF-8 apart from a few stray bytes (a damaged export): the rows holding them are rejected."""
    text = sample.decode("utf-8", errors="replace")
    errors = text.count("\ufffd") - sample.decode("utf-8", errors="ignore").count("\ufffd")
    wide = sum(1 for ch in text if ord(ch) >= 0x80 and ch != "\ufffd")
    return wide >= 3 * errors


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF
            or 0x3400 <= code <= 0x4DBF or 0x2010 <= code <= 0x206F)


def _charset_guess(sample: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:64 * 1024]).best()
    return best.encoding if best is not None else None


_CONTROL = bytes(range(0, 9)) + b"\x0b\x0e\x0f" + bytes(range(0x10, 0x1b)) + bytes(range(0x1c, 0x20))


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([b])) for b in _CONTROL)
    return controls > max(2, len(sample) // 200)


def _binary(path: Path, kind: str) -> IngestError:
    return IngestError(
        f"{path.name} 不是文本表格文件 (看起来是{'二进制' if kind == 'binary' else ' ' + kind + ' '}数据)。"
        "请导入 CSV、XLSX 或 JSONL",
        f"{path.name} is not a CSV/XLSX/JSONL file (looks like {kind} data)",
    )


_decode_errors = 0


def _count_and_escape(exc: UnicodeError) -> tuple[str, int]:
    global _decode_errors
    _decode_errors += 1
    return codecs.lookup_error("surrogateescape")(exc)


class BadBytesCounter:
    """Counts undecodable bytes met while reading one file (they are kept as surrogates and the row
    holding them is rejected, so one stray byte costs one row, not the whole import)."""

    name = "csbot-ingest"

    def __init__(self) -> None:
        self._start = _decode_errors

    @property
    def count(self) -> int:
        return _decode_errors - self._start


codecs.register_error(BadBytesCounter.name, _count_and_escape)
