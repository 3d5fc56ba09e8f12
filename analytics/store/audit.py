"""The audit log: one row per command a chat user ran (who, where, what, when, result).

The table lives in ``analytics.store`` because the schema and its migrations do; the transport
(``bot.access``) writes it. Times are aware and stored as UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_user_at", "user_id", "at"),
        Index("ix_audit_chat_at", "chat_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=256)
    user_id: str = Field(max_length=256)
    user_name: str = Field(default="", max_length=128)
    is_private: bool = False
    message_id: str = Field(default="", max_length=256)
    command: str = Field(default="", max_length=64)  # command name, "" when none matched
    text: str = Field(default="", max_length=500)  # what was typed, trimmed
    result: str = Field(max_length=256)  # "ok", or the refusal / error text shown to the user
