"""Storage: SQLModel tables, engine, migrations."""

from analytics.store.db import make_engine, migrate, open_database
from analytics.store.models import Complaint, Conversation, KBEntry, Message, Order, Return, Review

__all__ = [
    "Complaint", "Conversation", "KBEntry", "Message", "Order", "Return", "Review",
    "make_engine", "migrate", "open_database",
]
