"""Per-hour keyword document counts (see analytics.keywords)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class TermHour(SQLModel, table=True):
    __tablename__ = "term_hours"
    __table_args__ = (Index("ix_term_hours_source_term", "source", "term"),)

    source: str = Field(primary_key=True, max_length=16)  # message / bad_review
    hour: datetime = Field(primary_key=True)  # UTC hour start
    term: str = Field(primary_key=True, max_length=32)  # '' = document total of the hour
    docs: int
