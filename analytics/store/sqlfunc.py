"""Dialect-aware SQL expressions shared by metrics, breakdowns and rollups."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, literal_column
from sqlalchemy.sql.elements import ColumnElement


def hour_bucket(column: ColumnElement, dialect: str) -> ColumnElement:
    """The UTC hour a timestamp column falls in, as a groupable SQL expression.

    SQLite stores UTCDateTime values as ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC, so the first 13
    characters are the hour; PostgreSQL truncates the timestamptz in UTC.
    """
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone(literal_column("'UTC'"), column))
    return func.substr(column, 1, 13)


def bucket_to_datetime(value: object) -> datetime:
    """Turn a value produced by :func:`hour_bucket` back into an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.strptime(str(value)[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


def day_bucket(column: ColumnElement, dialect: str) -> ColumnElement:
    """The UTC calendar day of a timestamp column, as a groupable SQL expression."""
    if dialect == "postgresql":
        return func.date_trunc("day", func.timezone(literal_column("'UTC'"), column))
    return func.substr(column, 1, 10)
