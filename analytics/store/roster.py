"""The imported roster (排班表): one row per agent shift, read by ``analytics.staffing`` to count the agents
scheduled in each hour next to the agents needed. Imported as kind ``roster`` (docs/staffing.md)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class RosterShift(SQLModel, table=True):
    __tablename__ = "roster_shifts"
    __table_args__ = (
        Index("ix_roster_start", "start_at"),
        Index("ix_roster_agent_day", "agent", "day"),
    )

    shift_id: str = Field(primary_key=True, max_length=128)  # imported, or agent|date|start hashed
    agent: str = Field(max_length=128)
    day: date  # the date the shift is listed under (its start's local date)
    start_at: datetime  # aware, stored UTC
    end_at: datetime  # after start_at; a night shift ends on the next day
