"""What a purge with its audit could cost on PostgreSQL: prototypes, not keepfor's code.

Issue 8's target is a sweep within 3x of a bare ``DELETE`` per row, audit included.
keepfor deletes a batch of due keys by key (``= ANY(:keys)``) and writes one twelve-column
audit row per record. This script times, on fresh copies of ``keepfor_bench``'s
``records_1m`` and ``records_4m`` (``make_data.py``), in that database, copies dropped:

* ``delete``: the bare ``DELETE`` of ``handwritten/sweep_postgresql.sql``;
* ``range``: the same predicate, deleted in ranges of the primary key (``--chunk`` table
  rows a statement, a transaction each): set-based, no key list, no audit;
* ``range_wide``: ``range`` with the audit in the same statement as keepfor writes it
  (``keepfor.audit.insql``): keyed pseudonym (HMAC-SHA256 from core ``sha256()``), entry
  hash, a twelve-column row (primary key and a time index), a batch digest;
* ``range_narrow``: the same entries with the batch's constant fields (time, sweep,
  source, pack, version, action, outcome) kept once in a batch row: an entry is its
  sequence, batch, rule, pseudonym and hash;
* ``range_digest``: ``range_narrow`` without an entry hash: the batch digest covers each
  entry's text (sequence, rule, pseudonym);
* ``range_keytext``: ``range_digest`` with the key's text where the pseudonym goes (not
  an audit keepfor could write: it shows what the HMAC costs);
* ``range_array``: no row per entry: the batch row holds its entries' rules and
  pseudonyms as two arrays, and the digest over them;
* ``range_copy``: the range ``DELETE ... RETURNING`` the keys; the pseudonyms and entry
  hashes computed by the client (``hmac``, ``hashlib``) and the twelve-column entries
  written by ``COPY`` in the same transaction;
* ``floor_wide``: the database's share alone, a lower bound of any design that writes
  keepfor's entries: every entry's pseudonym and hash computed by the client *before*
  the clock starts (as a client could while the database works on the batch before), then
  per range one statement that deletes and inserts those entries from arrays, joined to
  what it deleted (``unnest(...) JOIN d USING (id)``);
* ``floor_narrow``: ``floor_wide`` with ``range_narrow``'s entries (the batch's constant
  fields once in a batch row).

    .venv/bin/python bench/audit_shapes.py --repeat 2

Cost per row is (t(4M) - t(1M)) / 3M from the medians, as the other benchmarks take it.
Every method must delete the same number of rows; the audited ones must write one entry
per deleted row (checked).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from make_data import pg_url

DUE = """(category = 'order' AND placed_at <= DATE '2020-03-31')
   OR (category = 'enquiry' AND resolved_at < TIMESTAMPTZ '2025-11-22 00:00:00+00')
   OR (category = 'quote' AND accepted = false AND quoted_at <= DATE '2025-11-21')
   OR (category = 'cv' AND received_at <= DATE '2026-05-21')"""
RULE = """CASE category WHEN 'order' THEN 'orders-tax' WHEN 'enquiry' THEN 'enquiries'
   WHEN 'quote' THEN 'quotes' ELSE 'cvs' END"""
INNER, OUTER = b"\x36" * 64, b"\x5c" * 64  # pads of a fixed key: the cost, not the secret
KEY = b"k" * 32
PSEUDONYM = """encode(sha256(%(outer)s || sha256(%(inner)s || convert_to(id::text, 'UTF8'))),
    'hex')"""

WIDE = """CREATE TABLE proto_audit (sequence bigint PRIMARY KEY, time timestamptz NOT NULL,
    sweep_id varchar(64) NOT NULL, batch_id varchar(64) NOT NULL, source varchar(200) NOT NULL,
    record varchar(64) NOT NULL, rule_id varchar(200) NOT NULL, pack_id varchar(200) NOT NULL,
    pack_version varchar(100) NOT NULL, action varchar(32) NOT NULL,
    outcome varchar(32) NOT NULL, hash varchar(64) NOT NULL);
CREATE INDEX ON proto_audit (time)"""
BATCHES = """;
CREATE TABLE proto_batch (id bigint PRIMARY KEY, time timestamptz NOT NULL,
    sweep_id varchar(64) NOT NULL, source varchar(200) NOT NULL, pack_id varchar(200) NOT NULL,
    pack_version varchar(100) NOT NULL, action varchar(32) NOT NULL,
    outcome varchar(32) NOT NULL, first bigint NOT NULL, last bigint NOT NULL,
    digest varchar(64) NOT NULL);
CREATE INDEX ON proto_batch (time)"""
NARROW = (
    """CREATE TABLE proto_audit (sequence bigint PRIMARY KEY, batch bigint NOT NULL,
    rule_id varchar(200) NOT NULL, record varchar(64) NOT NULL, hash varchar(64) NOT NULL)
"""
    + BATCHES
)

WIDE_CHUNK = f"""WITH d AS (DELETE FROM proto WHERE id > %(lo)s::bigint AND id <= %(hi)s::bigint
        AND ({DUE}) RETURNING id, {RULE} AS rule_id),
    n AS (SELECT %(last)s::bigint + row_number() OVER () AS sequence, rule_id, {PSEUDONYM} AS record
        FROM d),
    a AS (INSERT INTO proto_audit SELECT sequence, now(), 'sweep', %(batch)s::text, 'orders',
        record, rule_id, 'pack', '1', 'purge', 'done',
        encode(sha256(convert_to(concat('v1|', sequence, '|', now(), '|sweep|', %(batch)s::text,
            '|orders|', record, '|', rule_id, '|pack|1|purge|done'), 'UTF8')), 'hex')
        FROM n RETURNING sequence, hash)
SELECT count(*), encode(sha256(convert_to(string_agg(hash, '' ORDER BY sequence), 'UTF8')),
    'hex') FROM a"""

NARROW_CHUNK = f"""WITH d AS (DELETE FROM proto WHERE id > %(lo)s::bigint AND id <= %(hi)s::bigint
        AND ({DUE}) RETURNING id, {RULE} AS rule_id),
    n AS (SELECT %(last)s::bigint + row_number() OVER () AS sequence, rule_id, {PSEUDONYM} AS record
        FROM d),
    a AS (INSERT INTO proto_audit SELECT sequence, %(batch_no)s::bigint, rule_id, record,
        encode(sha256(convert_to(concat('v2|', sequence, '|', %(batch_no)s::bigint, '|', rule_id,
            '|', record), 'UTF8')), 'hex')
        FROM n RETURNING sequence, hash),
    s AS (SELECT count(*) AS n, min(sequence) AS first, max(sequence) AS last,
        encode(sha256(convert_to(string_agg(hash, '' ORDER BY sequence), 'UTF8')), 'hex')
            AS digest FROM a),
    b AS (INSERT INTO proto_batch SELECT %(batch_no)s::bigint, now(), 'sweep', 'orders',
        'pack', '1', 'purge', 'done', first, last, digest FROM s WHERE n > 0)
SELECT n, digest FROM s"""

BARE = (
    """CREATE TABLE proto_audit (sequence bigint PRIMARY KEY, batch bigint NOT NULL,
    rule_id varchar(200) NOT NULL, record varchar(64) NOT NULL)
"""
    + BATCHES
)


def _batch_digest_chunk(record: str) -> str:
    """Narrow entries without a hash each: the batch digest covers every entry's text."""
    return f"""WITH d AS (DELETE FROM proto WHERE id > %(lo)s::bigint AND id <= %(hi)s::bigint
        AND ({DUE}) RETURNING id, {RULE} AS rule_id),
    n AS (SELECT %(last)s::bigint + row_number() OVER () AS sequence, rule_id, {record}
        AS record FROM d),
    a AS (INSERT INTO proto_audit SELECT sequence, %(batch_no)s::bigint, rule_id, record
        FROM n RETURNING sequence, rule_id, record),
    s AS (SELECT count(*) AS n, min(sequence) AS first, max(sequence) AS last,
        encode(sha256(convert_to(string_agg(concat(sequence, '|', rule_id, '|', record), '|'
            ORDER BY sequence), 'UTF8')), 'hex') AS digest FROM a),
    b AS (INSERT INTO proto_batch SELECT %(batch_no)s::bigint, now(), 'sweep', 'orders',
        'pack', '1', 'purge', 'done', first, last, digest FROM s WHERE n > 0)
SELECT n, digest FROM s"""


ARRAY = """CREATE TABLE proto_batch (id bigint PRIMARY KEY, time timestamptz NOT NULL,
    sweep_id varchar(64) NOT NULL, source varchar(200) NOT NULL, pack_id varchar(200) NOT NULL,
    pack_version varchar(100) NOT NULL, action varchar(32) NOT NULL,
    outcome varchar(32) NOT NULL, first bigint NOT NULL, last bigint NOT NULL,
    rules text[] NOT NULL, records text[] NOT NULL, digest varchar(64) NOT NULL);
CREATE INDEX ON proto_batch (time)"""

ARRAY_CHUNK = f"""WITH d AS (DELETE FROM proto WHERE id > %(lo)s::bigint AND id <= %(hi)s::bigint
        AND ({DUE}) RETURNING id, {RULE} AS rule_id),
    n AS (SELECT %(last)s::bigint + row_number() OVER () AS sequence, rule_id, {PSEUDONYM}
        AS record FROM d),
    s AS (SELECT count(*) AS n, min(sequence) AS first, max(sequence) AS last,
        array_agg(rule_id ORDER BY sequence) AS rules,
        array_agg(record ORDER BY sequence) AS records,
        encode(sha256(convert_to(string_agg(concat(sequence, '|', rule_id, '|', record), '|'
            ORDER BY sequence), 'UTF8')), 'hex') AS digest FROM n),
    b AS (INSERT INTO proto_batch SELECT %(batch_no)s::bigint, now(), 'sweep', 'orders',
        'pack', '1', 'purge', 'done', first, last, rules, records, digest FROM s WHERE n > 0)
SELECT n, digest FROM s"""


def _copied_chunk(conn: psycopg.Connection, params: dict[str, object]) -> int:
    """Deleted by range, returning the keys; pseudonyms and entry hashes computed here
    (``hmac`` and ``hashlib``, as keepfor's Python trail does); the twelve-column entries
    written by ``COPY``, in the same transaction."""
    rows = conn.execute(
        f"DELETE FROM proto WHERE id > %(lo)s AND id <= %(hi)s AND ({DUE}) RETURNING id, {RULE}",
        params,
    ).fetchall()
    last, batch = int(str(params["last"])), str(params["batch"])
    when = datetime.now(UTC)
    stamp = when.isoformat()
    hashes = []
    with conn.cursor().copy(
        "COPY proto_audit (sequence, time, sweep_id, batch_id, source, record, rule_id, "
        "pack_id, pack_version, action, outcome, hash) FROM STDIN"
    ) as copy:
        for i, (key, rule) in enumerate(rows, last + 1):
            record = hmac.new(KEY, str(key).encode(), hashlib.sha256).hexdigest()
            text = f"v1|{i}|{stamp}|sweep|{batch}|orders|{record}|{rule}|pack|1|purge|done"
            entry = hashlib.sha256(text.encode()).hexdigest()
            hashes.append(entry)
            copy.write_row((i, when, "sweep", batch, "orders", record, rule, "pack", "1",
                            "purge", "done", entry))  # fmt: skip
    hashlib.sha256("".join(hashes).encode()).hexdigest()  # the batch digest
    return len(rows)


FLOOR_WIDE = f"""WITH d AS (DELETE FROM proto WHERE id > %(lo)s::bigint AND id <= %(hi)s::bigint
        AND ({DUE}) RETURNING id),
    a AS (INSERT INTO proto_audit SELECT p.seq, now(), 'sweep', %(batch)s::text, 'orders',
        p.record, p.rule, 'pack', '1', 'purge', 'done', p.hash
        FROM unnest(%(ids)s::text::bigint[], %(seqs)s::text::bigint[], %(records)s::text::text[],
            %(rules)s::text::text[], %(hashes)s::text::text[]) AS p(id, seq, record, rule, hash)
        JOIN d USING (id) RETURNING 1)
SELECT count(*) FROM a"""

FLOOR_NARROW = f"""WITH d AS (DELETE FROM proto WHERE id > %(lo)s::bigint AND id <= %(hi)s::bigint
        AND ({DUE}) RETURNING id),
    a AS (INSERT INTO proto_audit SELECT p.seq, %(batch_no)s::bigint, p.rule, p.record, p.hash
        FROM unnest(%(ids)s::text::bigint[], %(seqs)s::text::bigint[], %(records)s::text::text[],
            %(rules)s::text::text[], %(hashes)s::text::text[]) AS p(id, seq, record, rule, hash)
        JOIN d USING (id) RETURNING sequence),
    s AS (SELECT count(*) AS n, min(sequence) AS first, max(sequence) AS last FROM a),
    b AS (INSERT INTO proto_batch SELECT %(batch_no)s::bigint, now(), 'sweep', 'orders',
        'pack', '1', 'purge', 'done', first, last, %(digest)s FROM s WHERE n > 0)
SELECT n FROM s"""


NOTHING_DUE = {"ids": "{}", "seqs": "{}", "records": "{}", "rules": "{}", "hashes": "{}",
               "digest": ""}  # fmt: skip
"""The precomputed parameters of a range with no due row."""


def precomputed(conn: psycopg.Connection, chunk: int) -> dict[int, dict[str, object]]:
    """Per range, the due keys' entries as the client would compute them (pseudonym,
    sequence, entry hash) and the batch digest: done before the clock starts."""
    rows = conn.execute(f"SELECT id, {RULE} FROM proto WHERE {DUE} ORDER BY id").fetchall()
    out: dict[int, dict[str, object]] = {}
    stamp = datetime.now(UTC).isoformat()
    for i, (key, rule) in enumerate(rows, 1):
        lo = (int(key) - 1) // chunk * chunk
        part = out.setdefault(lo, {"ids": [], "seqs": [], "records": [], "rules": [],
                                   "hashes": []})  # fmt: skip
        record = hmac.new(KEY, str(key).encode(), hashlib.sha256).hexdigest()
        text = f"v1|{i}|{stamp}|sweep|{lo}|orders|{record}|{rule}|pack|1|purge|done"
        for name, value in (("ids", key), ("seqs", i), ("records", record), ("rules", rule),
                            ("hashes", hashlib.sha256(text.encode()).hexdigest())):  # fmt: skip
            part[name].append(value)  # type: ignore[attr-defined]
    for part in out.values():
        joined = "".join(part["hashes"])  # type: ignore[arg-type]
        part["digest"] = hashlib.sha256(joined.encode()).hexdigest()
        for name in ("ids", "seqs", "records", "rules", "hashes"):  # array literals, made now
            part[name] = "{" + ",".join(map(str, part[name])) + "}"  # type: ignore[call-overload]
    return out


def fresh(conn: psycopg.Connection, size: str, audit: str | None) -> None:
    """A copy of records_<size> as ``proto`` (primary key, analysed), and the audit tables."""
    conn.execute("DROP TABLE IF EXISTS proto, proto_audit, proto_batch")
    conn.execute(f"CREATE TABLE proto AS SELECT * FROM records_{size}")
    conn.execute("ALTER TABLE proto ADD PRIMARY KEY (id)")
    if audit is not None:
        for statement in audit.split(";"):
            conn.execute(statement)
    conn.execute("VACUUM (FREEZE, ANALYZE) proto")


def by_ranges(conn: psycopg.Connection, sql: str | None, chunk: int) -> tuple[float, int]:
    # sql: None a bare DELETE per range, "copy" the client's audit (_copied_chunk)
    """Seconds and rows deleted, one statement and transaction per range of keys."""
    top = conn.execute("SELECT max(id) FROM proto").fetchone()
    assert top is not None
    ready = precomputed(conn, chunk) if sql in (FLOOR_WIDE, FLOOR_NARROW) else {}
    deleted, last = 0, 0
    start = time.perf_counter()
    for batch, lo in enumerate(range(0, int(top[0]), chunk), 1):
        params = {"lo": lo, "hi": lo + chunk, "last": last, "batch": f"b{batch}",
                  "batch_no": batch, "inner": INNER, "outer": OUTER}  # fmt: skip
        if ready:
            params.update(ready.get(lo) or NOTHING_DUE)
        with conn.transaction():
            if sql == "copy":
                n = _copied_chunk(conn, params)
            elif sql is None:
                cursor = conn.execute(f"DELETE FROM proto WHERE id > %(lo)s AND id <= %(hi)s "
                                      f"AND ({DUE})", params)  # fmt: skip
                n = cursor.rowcount
            else:
                row = conn.execute(sql, params).fetchone()
                assert row is not None
                n = int(row[0])
        deleted += n
        last += n
    return time.perf_counter() - start, deleted


def once(conn: psycopg.Connection, size: str, method: str, chunk: int) -> tuple[float, int]:
    audit = {"range_wide": WIDE, "range_narrow": NARROW, "range_digest": BARE,
             "range_keytext": BARE, "range_array": ARRAY,
             "range_copy": WIDE, "floor_wide": WIDE,
             "floor_narrow": NARROW}.get(method)  # fmt: skip
    fresh(conn, size, audit)
    if method == "delete":
        start = time.perf_counter()
        with conn.transaction():
            n = conn.execute(f"DELETE FROM proto WHERE {DUE}").rowcount
        return time.perf_counter() - start, n
    sql = {
        "range": None,
        "range_wide": WIDE_CHUNK,
        "range_narrow": NARROW_CHUNK,
        "range_digest": _batch_digest_chunk(PSEUDONYM),
        "range_keytext": _batch_digest_chunk("id::text"),
        "range_array": ARRAY_CHUNK,
        "range_copy": "copy",
        "floor_wide": FLOOR_WIDE,
        "floor_narrow": FLOOR_NARROW,
    }[method]
    seconds, n = by_ranges(conn, sql, chunk)
    if method == "range_array":
        entries = conn.execute("SELECT sum(cardinality(records)) FROM proto_batch").fetchone()
        assert entries is not None
        assert entries[0] == n, (method, entries, n)
    elif audit is not None:
        entries = conn.execute("SELECT count(*) FROM proto_audit").fetchone()
        assert entries is not None
        assert entries[0] == n, (method, entries, n)
    return seconds, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=200_000, help="table rows a statement")
    parser.add_argument("--methods", help="comma-separated methods (default: all)")
    args = parser.parse_args()
    methods = ("delete", "range", "range_wide", "range_narrow", "range_digest", "range_keytext",
               "range_array", "range_copy", "floor_wide", "floor_narrow")  # fmt: skip
    if args.methods:
        methods = tuple(m for m in methods if m in args.methods.split(","))
    times: dict[tuple[str, str], list[float]] = {}
    due: dict[str, set[int]] = {}
    with psycopg.connect(pg_url(driver=False), autocommit=True) as conn:
        try:
            for _ in range(args.repeat):
                for size in ("1m", "4m"):
                    for method in methods:
                        seconds, n = once(conn, size, method, args.chunk)
                        times.setdefault((size, method), []).append(seconds)
                        due.setdefault(size, set()).add(n)
                        print(f"{size} {method:<13} {seconds:7.2f} s  {n:,} rows", flush=True)
        finally:
            conn.execute("DROP TABLE IF EXISTS proto, proto_audit, proto_batch")
    assert all(len(ns) == 1 for ns in due.values()), due
    median: Callable[[str, str], float] = lambda s, m: statistics.median(times[(s, m)])  # noqa: E731
    base = (median("4m", "delete") - median("1m", "delete")) / 3e6
    print(f"\nmethod         1M s    4M s   us/row  vs delete   (chunk {args.chunk:,})")
    for method in methods:
        per_row = (median("4m", method) - median("1m", method)) / 3e6
        print(f"{method:<13} {median('1m', method):6.2f}  {median('4m', method):6.2f}"
              f"  {per_row * 1e6:7.3f}  {per_row / base:8.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
