"""Import of exported CS data (conversations, messages, complaints, orders, returns, reviews, kb).

One validation and upsert path shared by file import (``csbot import``), the HTTP events API and the
demo generator::

    result = import_file(engine, "conversations", "data.csv", mapping="qianniu.toml", tz=tz)
    result = ingest_records(engine, "messages", [{"message_id": ..., ...}], tz=tz, source="api")

See docs/import.md for formats, columns, mapping files and the rejected-rows file.
"""

from analytics.ingest.pipeline import import_file, ingest_records
from analytics.ingest.results import ImportResult, IngestError, RowError
from analytics.ingest.schema import KINDS

__all__ = ["KINDS", "ImportResult", "IngestError", "RowError", "import_file", "ingest_records"]
