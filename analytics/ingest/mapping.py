"""Mapping files: rename a CS system's export columns to canonical ones, map values, set constants.

TOML or JSON, all sections optional::

    datetime_format = "%Y/%m/%d %H:%M:%S"   # or a list; tried before the built-in formats
    [columns]                               # source column -> canonical column ("" drops it)
    "会话ID" = "conversation_id"
    [values.channel]                        # per canonical column: source value -> stored value
    "TB" = "淘宝"
    [defaults]                              # a constant for a column the export does not have
    channel = "淘宝"

Top-level ``"source" = "canonical"`` pairs are accepted as column renames too, so the simplest
mapping file is a flat JSON object.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.ingest.results import IngestError

_SECTIONS = ("columns", "values", "defaults", "datetime_format")


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    datetime_formats: tuple[str, ...] = ()


def load_mapping(path: str | Path | None) -> Mapping:
    if path is None:
        return Mapping()
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"无法读取映射文件 {path}: {exc.strerror}", f"cannot read mapping file {path}") from exc
    try:
        text = raw_bytes.decode("utf-8-sig")
        data = json.loads(text) if _looks_like_json(path, text) else tomllib.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise IngestError(f"映射文件格式错误 {path}: {exc}", f"mapping file {path} is not valid TOML/JSON") from exc
    return parse_mapping(data, str(path))


def _looks_like_json(path: Path, text: str) -> bool:
    return path.suffix.lower() == ".json" or text.lstrip().startswith("{")


def parse_mapping(data: Any, where: str = "mapping") -> Mapping:
    if not isinstance(data, dict):
        raise _bad(where, "顶层应为键值表", "top level must be a table/object")
    columns: dict[str, str] = {}
    for key, value in data.items():
        if key not in _SECTIONS:
            columns[str(key)] = _string(value, where, f"列 {key}")
    for key, value in _table(data.get("columns"), where, "columns").items():
        columns[str(key)] = _string(value, where, f"columns.{key}")
    values: dict[str, dict[str, str]] = {}
    for column, table in _table(data.get("values"), where, "values").items():
        values[column.strip().lower()] = {
            str(k).strip(): _string(val, where, f"values.{column}.{k}")
            for k, val in _table(table, where, f"values.{column}").items()
        }
    defaults = {k.strip().lower(): val for k, val in _table(data.get("defaults"), where, "defaults").items()}
    formats = data.get("datetime_format", ())
    if isinstance(formats, str):
        formats = (formats,)
    if not isinstance(formats, list | tuple) or not all(isinstance(f, str) for f in formats):
        raise _bad(where, "datetime_format 应为字符串或字符串列表", "datetime_format must be a string or a list")
    renames = {k.strip(): val.strip().lower() for k, val in columns.items()}
    return Mapping(renames, values, defaults, tuple(formats))


def _table(value: Any, where: str, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(where, f"{name} 应为键值表", f"{name} must be a table/object")
    return value


def _string(value: Any, where: str, name: str) -> str:
    if not isinstance(value, str):
        raise _bad(where, f"{name} 的值应为字符串", f"{name} must be a string")
    return value


def _bad(where: str, zh: str, en: str) -> IngestError:
    return IngestError(f"映射文件 {where}: {zh}", f"mapping file {where}: {en}")
