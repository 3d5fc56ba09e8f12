"""The accepted entries as files a knowledge-base import takes: CSV (UTF-8 with BOM) and XLSX.

One row per entry, four columns in this order, the first row the header::

    问题 | 相似问题 | 答案 | 分类

- 问题: the standard question (标准问题) — the cluster's most asked phrasing, normalised;
- 相似问题: other phrasings customers used, one per line inside the cell (a line break, ``\\n``);
- 答案: the accepted answer (the lead's edit, else the candidate mined from agents' replies), masked;
- 分类: the category (发货, 物流, 退换货, 退款, 发票, 优惠, 价保, 尺码, 售后, 商品, 其他).

That is the question / similar questions / answer / category layout that 千牛 店小蜜-style and Sobot-style
knowledge imports ask for; their templates' header names differ by version, so docs/faq.md says which
column to map to which. Pure file writing, no database.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from analytics.faq.ledger import ExportRow

HEADER = ("问题", "相似问题", "答案", "分类")
_WIDTHS = (28, 40, 60, 10)


def _cells(row: ExportRow) -> tuple[str, str, str, str]:
    return row.question, "\n".join(row.similar), row.answer, row.category


def write_csv(path: Path, rows: Sequence[ExportRow]) -> Path:
    """UTF-8 with a BOM, so Excel opens the Chinese text correctly; cells with line breaks are quoted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(_cells(r) for r in rows)
    return path


def write_xlsx(path: Path, rows: Sequence[ExportRow]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "知识库"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(_cells(row))
    wrap = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCD", _WIDTHS, strict=True):
        sheet.column_dimensions[col].width = width
        for cell in sheet[col][1:]:
            cell.alignment = wrap
    sheet.freeze_panes = "A2"
    workbook.save(path)
    return path
