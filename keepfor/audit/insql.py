"""Audit entries computed by the database, in the statement that acts (PostgreSQL).

A purge of a batch deletes, and audits what it deleted, in one statement::

    WITH d AS (DELETE FROM t WHERE key = ANY(:keys) AND <re-check> RETURNING key, key_text),
         n AS (SELECT :first - 1 + row_number() OVER () AS sequence,
                      <pseudonym of key_text> AS record FROM d),
         a AS (INSERT INTO keepfor_audit SELECT sequence, :time, ..., record, ...,
                      <entry hash> FROM n RETURNING sequence, hash)
    SELECT (SELECT array_agg(key) FROM d), count(*), <batch digest over a> FROM a

The entries, their hashes and the batch digest are exactly those
:func:`keepfor.audit.chain.append_records` computes in Python (the tests compare them):
the canonical form and the digest use only concatenation and SHA-256, and the keyed
pseudonym is HMAC-SHA256 built from SHA-256 as RFC 2104 does, with the padded key bound
as two parameters (:func:`keepfor.audit.pseudonym.hmac_pads`; never in the SQL text).
``sha256()`` is core PostgreSQL since 11; no extension is needed.

Why: writing the audit rows from Python costs about 15 us of client CPU per row (the
issue's benchmark: 8-10x a bare ``DELETE``); in the database it is the insert alone.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from keepfor.audit.chain import BATCH_FORMAT, Appended, close_batch, lock_head
from keepfor.audit.entry import FORMAT, TEXT_FIELDS, PendingEntry, utc_text
from keepfor.audit.pseudonym import hmac_pads
from keepfor.audit.table import audit

__all__ = ["append_acted", "pseudonym_sql"]

_SEP = "\x1f"
_RECORD = TEXT_FIELDS.index("record")


def _sha256_hex(text: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """The SHA-256 of a text's UTF-8 bytes, in lowercase hex."""
    digest = sa.func.sha256(sa.func.convert_to(text, "UTF8", type_=sa.LargeBinary))
    return sa.func.encode(digest, "hex", type_=sa.String)


def _bytes(value: bytes) -> sa.ColumnElement[bytes]:
    return sa.literal(value, sa.LargeBinary)


def _glue(*parts: sa.ColumnElement[Any]) -> sa.ColumnElement[bytes]:
    """Byte strings concatenated (``||`` on ``bytea``)."""
    out = parts[0]
    for part in parts[1:]:
        out = out.op("||", return_type=sa.LargeBinary)(part)
    return out


def pseudonym_sql(
    key_bytes: bytes, source: str, key_text: sa.ColumnElement[str]
) -> sa.ColumnElement[str]:
    """:func:`keepfor.audit.pseudonym.pseudonym` of a key's text, computed by PostgreSQL."""
    inner, outer = hmac_pads(key_bytes, source)
    message = sa.func.convert_to(key_text, "UTF8", type_=sa.LargeBinary)
    first = sa.func.sha256(_glue(_bytes(inner), message), type_=sa.LargeBinary)
    second = sa.func.sha256(_glue(_bytes(outer), first), type_=sa.LargeBinary)
    return sa.func.encode(second, "hex", type_=sa.String)


def _text(value: str) -> sa.ColumnElement[str]:
    return sa.literal(value, sa.String)


def _entries(template: PendingEntry, numbered: sa.CTE) -> sa.Select[Any]:
    """The audit rows of the numbered records: the template's fields, each record's
    pseudonym and sequence, and each entry's hash (:mod:`keepfor.audit.entry`)."""
    texts = [getattr(template, name) for name in TEXT_FIELDS]
    before = _SEP + _SEP.join((utc_text(template.time), *texts[:_RECORD])) + _SEP
    after = _SEP + _SEP.join(texts[_RECORD + 1 :])
    canonical = sa.func.concat(
        _text(FORMAT + _SEP),
        sa.cast(numbered.c.sequence, sa.Text),
        _text(before),
        numbered.c.record,
        _text(after),
    )
    fields: list[sa.ColumnElement[Any]] = [_text(t) for t in texts]
    fields[_RECORD] = numbered.c.record
    time = sa.literal(template.time, audit.c.time.type)
    return sa.select(numbered.c.sequence, time, *fields, _sha256_hex(canonical))


def append_acted(
    conn: sa.Connection, template: PendingEntry, acted: sa.CTE, key_bytes: bytes
) -> tuple[Appended, list[Any]]:
    """Run ``acted`` (a data-modifying CTE returning ``key`` and ``key_text``) and append
    one entry per row it returns, as one batch, in the same statement; returns the batch
    and the keys acted on. The template's ``record`` is ignored. The head is sealed with
    ``key_bytes`` (:func:`keepfor.audit.chain.head_seal`), in this transaction. Nothing
    is committed."""
    last, previous = lock_head(conn)
    first = last + 1
    numbered = (
        sa.select(
            (sa.literal(last, sa.BigInteger) + sa.func.row_number().over()).label("sequence"),
            pseudonym_sql(key_bytes, template.source, acted.c.key_text).label("record"),
        )
        .select_from(acted)
        .cte("n")
    )
    names = [column.name for column in audit.columns]
    inserted = (
        audit.insert()
        .from_select(names, _entries(template, numbered))
        .returning(audit.c.sequence, audit.c.hash)
        .cte("a")
    )
    count = sa.func.count()
    hashes = sa.func.string_agg(inserted.c.hash, aggregate_order_by(_text(""), inserted.c.sequence))
    header = _text(f"{BATCH_FORMAT}{_SEP}{previous}{_SEP}{first}{_SEP}")
    text = sa.func.concat(header, sa.cast(last + count, sa.Text), _text(_SEP), hashes)
    keys = sa.select(sa.func.array_agg(acted.c.key)).scalar_subquery()
    row = conn.execute(sa.select(keys, count, _sha256_hex(text)).select_from(inserted)).one()
    done, n, digest = list(row[0] or ()), int(row[1]), str(row[2])
    if n:
        close_batch(conn, previous, first, last + n, digest, key_bytes)
    return Appended(first, last + n, digest), done
