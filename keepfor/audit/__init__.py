"""The audit trail: append-only, hash-checked, keyed pseudonyms instead of record keys.

A sweep, per batch, inside the transaction that acts::

    from keepfor.audit import PendingEntry, Pseudonymiser, append_records, ensure, load_key

    ensure(conn)                                   # once, before the batch transactions
    name = Pseudonymiser(load_key(), "orders")     # once per source and run
    with engine.begin() as conn:                   # the batch's transaction
        ...act...
        template = PendingEntry(at, sweep, batch, "orders", name(first_key), rule,
                                pack, version, "purge", "done")
        append_records(conn, template, [name(key_text) for key_text in done])

``append(conn, entries)`` takes entries that differ in more than their record.

``verify(conn)`` and ``export(conn, start, end)`` read it back. Design notes are in
each module: :mod:`.entry` (the canonical form), :mod:`.chain` (per-batch digests and
locking), :mod:`.table`, :mod:`.verify`, :mod:`.pseudonym`.
"""

from keepfor.audit.chain import Appended, append, append_records, batch_digest
from keepfor.audit.entry import AuditEntry, PendingEntry, entry_hash
from keepfor.audit.pseudonym import KEY_VARIABLE, Pseudonymiser, load_key, pseudonym
from keepfor.audit.table import ensure
from keepfor.audit.verify import VerifyResult, export, verify

__all__ = [
    "KEY_VARIABLE",
    "Appended",
    "AuditEntry",
    "PendingEntry",
    "Pseudonymiser",
    "VerifyResult",
    "append",
    "append_records",
    "batch_digest",
    "ensure",
    "entry_hash",
    "export",
    "load_key",
    "pseudonym",
    "verify",
]
