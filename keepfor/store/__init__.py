"""keepfor's own record store: SQLModel tables, Alembic migrations, a CSV/JSONL importer.

``open_store(url)`` gives an engine on a migrated store; ``upgrade(url)`` creates or
migrates one; ``import_records(engine, path)`` loads a file all or nothing
(``replace=True`` updates records already there; ``date_formats`` and ``dayfirst`` read
dates that are not ISO 8601). The importer's parts: :mod:`keepfor.store.rows` (reading
CSV and JSON Lines), :mod:`keepfor.store.values` (typing values),
:mod:`keepfor.store.datelike` (texts that look like dates).
"""

from keepfor.store.db import (
    DEFAULT_URL,
    StoreError,
    current_revision,
    head_revision,
    open_store,
    safe_url,
    upgrade,
)
from keepfor.store.importer import ImportFailed, ImportProblem, ImportResult, import_records
from keepfor.store.models import Customer, Record, RecordField, record_to_dict

__all__ = [
    "DEFAULT_URL",
    "Customer",
    "ImportFailed",
    "ImportProblem",
    "ImportResult",
    "Record",
    "RecordField",
    "StoreError",
    "current_revision",
    "head_revision",
    "import_records",
    "open_store",
    "record_to_dict",
    "safe_url",
    "upgrade",
]
