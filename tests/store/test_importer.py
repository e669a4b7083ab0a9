"""Importing CSV and JSON Lines files: typed values, every bad row, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from keepfor.store import (
    ImportFailed,
    ImportResult,
    Record,
    RecordField,
    StoreError,
    import_records,
    open_store,
    record_to_dict,
    upgrade,
)
from keepfor.store import importer as importer_module

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "customers.csv"

GOOD_CSV = """\
key,category,customer,placed_at,resolved_at,accepted,channel,amount
ord-1,order,cus-1,2019-05-14T10:12:00+01:00,,,phone,12.50
enq-1,enquiry,cus-2,,2024-06-20,,web,
quo-1,quote,cus-1,,,false,,
quo-2,quote,,,,TRUE,"post, then ""phone"" call",
"""

GOOD_JSONL = [
    {"key": "ord-1", "category": "order", "customer": "cus-1", "placed_at": "2019-03-31T23:30:00Z"},
    {"key": "enq-1", "category": "enquiry", "customer": None, "resolved_at": None},
    {"key": "quo-1", "category": "quote", "accepted": True, "amount": 3, "ratio": 0.25},
    {"key": "quo-2", "category": "quote", "accepted": "false", "quoted_at": "2025-10-06"},
]


@pytest.fixture
def store(db_url: str) -> Iterator[sa.Engine]:
    upgrade(db_url)
    engine = open_store(db_url)
    yield engine
    engine.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*rows: Any) -> str:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)


def counts(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("keepfor_customers", "keepfor_records", "keepfor_record_fields")
        )


def records(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        out = {}
        for record in session.exec(select(Record)).all():
            fields = session.exec(select(RecordField).where(RecordField.record_id == record.id))
            out[record.key] = record_to_dict(record, fields.all())
        return out


# -- happy paths --------------------------------------------------------------------------


def test_import_csv(store: sa.Engine, tmp_path: Path) -> None:
    result = import_records(store, write(tmp_path, "in.csv", GOOD_CSV))
    assert result == ImportResult(count=4, customers_created=2)
    assert records(store) == {
        "ord-1": {
            "key": "ord-1",
            "customer": "cus-1",
            "category": "order",
            "placed_at": datetime(2019, 5, 14, 9, 12, tzinfo=UTC),
            "channel": "phone",
            "amount": "12.50",  # a CSV number stays text
        },
        "enq-1": {
            "key": "enq-1",
            "customer": "cus-2",
            "category": "enquiry",
            "resolved_at": date(2024, 6, 20),
            "channel": "web",
        },
        "quo-1": {"key": "quo-1", "customer": "cus-1", "category": "quote", "accepted": False},
        "quo-2": {
            "key": "quo-2",
            "customer": None,
            "category": "quote",
            "accepted": True,
            "channel": 'post, then "phone" call',
        },
    }
    assert counts(store) == (2, 4, 8)


def test_import_jsonl(store: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "in.jsonl", jsonl(*GOOD_JSONL[:2], "", "   ", *GOOD_JSONL[2:]))
    assert import_records(store, path) == ImportResult(count=4, customers_created=1)
    got = records(store)
    assert got["ord-1"]["placed_at"] == datetime(2019, 3, 31, 23, 30, tzinfo=UTC)
    assert got["enq-1"] == {"key": "enq-1", "customer": None, "category": "enquiry"}
    assert got["quo-1"]["accepted"] is True
    assert got["quo-1"]["amount"] == 3
    assert got["quo-1"]["ratio"] == 0.25
    assert got["quo-2"]["accepted"] == "false"  # a JSON string stays text
    assert got["quo-2"]["quoted_at"] == date(2025, 10, 6)


def test_existing_customers_are_reused(store: sa.Engine, tmp_path: Path) -> None:
    import_records(store, write(tmp_path, "a.jsonl", jsonl(GOOD_JSONL[0])))
    second = {"key": "ord-2", "category": "order", "customer": "cus-1"}
    third = {"key": "ord-3", "category": "order", "customer": "cus-9"}
    assert import_records(store, write(tmp_path, "b.jsonl", jsonl(second, third))) == (
        ImportResult(count=2, customers_created=1)
    )
    assert counts(store)[:2] == (2, 3)


def test_the_example_data_imports_and_evaluates(store: sa.Engine) -> None:
    from keepfor.engine import evaluate, load_rules

    result = import_records(store, EXAMPLE)
    assert 25 <= result.count <= 40
    rules = load_rules(Path(__file__).resolve().parents[2] / "rules")
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    statuses = {evaluate(rules, record, at).status.value for record in records(store).values()}
    assert {"due", "retained", "waiting"} <= statuses


def test_many_batches_in_one_transaction(
    store: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer_module, "BATCH_SIZE", 7)
    rows = [
        {"key": f"r-{i}", "category": "order", "customer": f"c-{i % 5}", "placed_at": "2020-01-02"}
        for i in range(50)
    ]
    assert import_records(store, write(tmp_path, "in.jsonl", jsonl(*rows))).count == 50
    assert counts(store) == (5, 50, 50)


# -- bad rows: every one reported, nothing written -----------------------------------------


BAD_CSV_CASES = [
    (
        "key,category,placed_at\nr1,order,2019-13-01\n",
        2,
        "placed_at",
        "'2019-13-01' is not a calendar date",
    ),
    (
        "key,category,placed_at\nr1,order,2019-3-1\n",
        2,
        "placed_at",
        "'2019-3-1' is not an ISO 8601 date (YYYY-MM-DD)",
    ),
    (
        "key,category,placed_at\nr1,order,31/12/2015\n",
        2,
        "placed_at",
        "'31/12/2015' is not an ISO 8601 date (YYYY-MM-DD); for dates written another way "
        "give --date-format or --dayfirst",
    ),
    (
        "key,category,placed_at\nr1,order,2019-03-31T23:30:00\n",
        2,
        "placed_at",
        "datetime without a UTC offset",
    ),
    (
        "key,category,placed_at\nr1,order,2019-03-31T25:30:00Z\n",
        2,
        "placed_at",
        "is not an ISO 8601 date or datetime",
    ),
    ("key,category,placed_at\n,order,2019-03-01\n", 2, "key", "the record has no key"),
    ("key,category,placed_at\nr1,,2019-03-01\n", 2, "category", "the record has no category"),
    ("key,category\nr1,order\nr1,order\n", 3, "key", "'r1' is already used on line 2"),
    ("key,category\nr1,order,extra\n", 2, None, "the row has 3 values but the header names 2"),
    ("category,placed_at\norder,2019-01-01\n", 1, "key", "the header has no 'key' column"),
    ("key,key,category\na,b,order\n", 1, "key", "the header names this column twice"),
    ("", 1, None, "the file is empty"),
]


@pytest.mark.parametrize(("text", "line", "field", "reason"), BAD_CSV_CASES)
def test_a_bad_csv_row(
    store: sa.Engine, tmp_path: Path, text: str, line: int, field: str | None, reason: str
) -> None:
    import_records(store, write(tmp_path, "before.jsonl", jsonl(GOOD_JSONL[0])))
    before = counts(store)
    with pytest.raises(ImportFailed) as caught:
        import_records(store, write(tmp_path, "bad.csv", text))
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (line, field)
    assert reason in problem.reason
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{tmp_path / 'bad.csv'}: 1 bad row; first: line {line}")
    assert counts(store) == before


BAD_JSONL_CASES = [
    (
        '{"key": "r1", "category": "order", "placed_at": "2019-13-01"}',
        "placed_at",
        "not a calendar date",
    ),
    ('{"key": "r1", "category": "order", "at": "05/01/2015"}', "at", "not an ISO 8601 date"),
    ('{"key": "r1", "category": "order", "at": "2019-03-31 23:30"}', "at", "without a UTC offset"),
    ('{"category": "order"}', "key", "the record has no key"),
    ('{"key": "r1", "category": null}', "category", "the record has no category"),
    ('{"key": 12, "category": "order"}', "key", "key is 12; it must be a string"),
    ('{"key": "r1", "category": "order"', None, "not valid JSON"),
    ('{"key": "r1", "category": "order", "n": NaN}', None, "not valid JSON"),
    ('["r1", "order"]', None, "a line holds one JSON object, not a list"),
    ('"r1"', None, "a line holds one JSON object, not a JSON string"),
    ('{"key": "r1", "category": "order", "tags": ["a"]}', "tags", "not a list"),
    ('{"key": "r1", "category": "order", "": 1}', None, "a field name is empty"),
    (
        '{"key": "ord-1", "category": "order"}',
        "key",
        "'ord-1' is already in the store at ",
    ),
]


@pytest.mark.parametrize(("text", "field", "reason"), BAD_JSONL_CASES)
def test_a_bad_jsonl_row(
    store: sa.Engine, tmp_path: Path, text: str, field: str | None, reason: str
) -> None:
    import_records(store, write(tmp_path, "before.jsonl", jsonl(GOOD_JSONL[0])))
    before = counts(store)
    good = {"key": "fine-1", "category": "order", "customer": "cus-new"}
    with pytest.raises(ImportFailed) as caught:
        import_records(store, write(tmp_path, "bad.jsonl", jsonl(good, text, good | {"key": "f2"})))
    assert caught.value.count == 1
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (2, field)
    assert reason in problem.reason
    assert counts(store) == before


def test_every_bad_row_is_reported_in_file_order(store: sa.Engine, tmp_path: Path) -> None:
    import_records(store, write(tmp_path, "before.csv", "key,category\nold,order\n"))
    before = counts(store)
    text = (
        "key,category,customer,placed_at,resolved_at\n"
        "r1,order,c1,2019-01-01,\n"  # fine
        "old,order,c1,2019-01-01,\n"  # line 3: already in the store
        "r2,order,c1,2019-13-01,\n"  # line 4: bad date
        "r3,,c1,2019-01-01,\n"  # line 5: no category
        "r1,order,c1,2019-01-01,\n"  # line 6: duplicate of line 2
        '"r4\nstill r4",enquiry,c2,,2024-01-01T10:00:00\n'  # line 7 (two lines): naive
        "r5,order,c1,2019-01-01,\n"  # fine, line 9
    )
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ImportFailed) as caught:
        import_records(store, path)
    failed = caught.value
    assert failed.count == 5
    assert [(p.line, p.field) for p in failed.problems] == [
        (3, "key"),
        (4, "placed_at"),
        (5, "category"),
        (6, "key"),
        (7, "resolved_at"),
    ]
    assert str(failed) == (
        f"{path}: 5 bad rows; first: line 3, field 'key': 'old' is already in the store at "
        f"{failed.problems[0].reason.rsplit(' at ', 1)[1]}; nothing was imported"
    )
    lines = failed.lines()
    assert len(lines) == 5
    assert lines[1] == f"{path}: line 4, field 'placed_at': '2019-13-01' is not a calendar date"
    assert all("\n" not in line for line in lines)
    assert counts(store) == before


def test_a_long_list_of_problems_is_capped(
    store: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer_module, "MAX_LISTED_PROBLEMS", 3)
    path = write(tmp_path, "bad.csv", "key,category\n" + ",order\n" * 10)
    with pytest.raises(ImportFailed) as caught:
        import_records(store, path)
    assert caught.value.count == 10
    assert len(caught.value.problems) == 3
    assert caught.value.lines()[-1] == f"{path}: ... and 7 more bad rows"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("records.txt", "key,category\n", "cannot import a .txt file; give a .csv"),
        ("records", "key,category\n", "cannot import a suffix-less file"),
        ("missing.csv", None, "no such file"),
    ],
)
def test_a_file_that_cannot_be_read(
    store: sa.Engine, tmp_path: Path, name: str, content: str | bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    before = counts(store)
    with pytest.raises(StoreError) as caught:
        import_records(store, path)
    assert not isinstance(caught.value, ImportFailed)
    assert str(caught.value) == f"{path}: {reason}" or reason in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert counts(store) == before


def test_a_folder_is_not_a_file(store: sa.Engine, tmp_path: Path) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(StoreError, match="is a folder"):
        import_records(store, folder)


def test_a_failure_while_inserting_rolls_everything_back(
    store: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key inserted by someone else between the check and the insert: nothing is kept."""
    monkeypatch.setattr(importer_module, "BATCH_SIZE", 2)
    rows = [{"key": f"r-{i}", "category": "order", "customer": f"c-{i}"} for i in range(6)]
    path = write(tmp_path, "in.jsonl", jsonl(*rows))
    real_check = importer_module._check

    def check_then_race(conn: sa.Connection, job: Any) -> None:
        real_check(conn, job)
        conn.execute(  # as if another import had just written r-5
            sa.insert(Record.__table__),  # type: ignore[attr-defined]
            {"key": "r-5", "category": "order", "imported_at": datetime.now(UTC)},
        )

    monkeypatch.setattr(importer_module, "_check", check_then_race)
    with pytest.raises(StoreError, match="the store refused a row"):
        import_records(store, path)
    assert counts(store) == (0, 0, 0)


def test_keys_and_values_compare_like_python_on_every_backend(
    store: sa.Engine, tmp_path: Path
) -> None:
    """``R1`` and ``r1`` are two keys, and ``Order`` is not ``order`` (MariaDB: utf8mb4_bin)."""
    rows = [
        {"key": "r1", "category": "order", "customer": "c1", "note": "😀 café"},
        {"key": "R1", "category": "Order", "customer": "C1"},
    ]
    assert import_records(store, write(tmp_path, "in.jsonl", jsonl(*rows))).count == 2
    assert counts(store)[:2] == (2, 2)
    with store.connect() as conn:
        found = conn.execute(
            sa.text("SELECT key FROM keepfor_records WHERE category = 'order'")
            if store.dialect.name != "mysql"
            else sa.text("SELECT `key` FROM keepfor_records WHERE category = 'order'")
        ).all()
    assert [row[0] for row in found] == ["r1"]
    assert records(store)["r1"]["note"] == "😀 café"


def test_the_import_time_comes_from_the_clock(store: sa.Engine, tmp_path: Path) -> None:
    from keepfor.clock import FixedClock

    when = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    path = write(tmp_path, "r.jsonl", jsonl({"key": "r1", "category": "order"}))
    import_records(store, path, clock=FixedClock(when))
    with Session(store) as session:
        (record,) = session.exec(select(Record)).all()
    assert record.imported_at == when


# -- dates written another way -------------------------------------------------------------

ISSUE_CSV = "key,category,placed_at\nold-uk,order,31/12/2015\nold-iso,order,2015-12-31\n"


def test_a_day_first_date_is_refused_without_options(store: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", ISSUE_CSV)
    with pytest.raises(ImportFailed) as caught:
        import_records(store, path)
    assert caught.value.lines() == [
        f"{path}: line 2, field 'placed_at': '31/12/2015' is not an ISO 8601 date (YYYY-MM-DD); "
        "for dates written another way give --date-format or --dayfirst"
    ]
    assert counts(store) == (0, 0, 0)


JAN_5 = date(2015, 1, 5)
JAN_5_9AM = datetime(2015, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("options", "value", "expected"),
    [
        ({"dayfirst": True}, "05/01/2015", JAN_5),
        ({"dayfirst": True}, "05/01/2015 10:00 +01:00", JAN_5_9AM),
        ({"date_formats": ["%d/%m/%Y"]}, "05/01/2015", JAN_5),
        ({"date_formats": "%d/%m/%Y"}, "5/1/2015", JAN_5),
        ({"date_formats": ["%d/%m/%Y", "%d/%m/%Y %H:%M %z"]}, "05/01/2015 10:00 +0100", JAN_5_9AM),
        ({"date_formats": ["%m/%d/%Y", "%d/%m/%Y"]}, "05/01/2015", date(2015, 5, 1)),
        ({"date_formats": ["%Y%m%d"], "dayfirst": True}, "20150105", JAN_5),
    ],
)
def test_dates_written_another_way_are_stored_as_dates(
    store: sa.Engine, tmp_path: Path, options: dict[str, Any], value: str, expected: Any
) -> None:
    text = f"key,category,placed_at\nr1,order,{value}\nr2,order,2015-12-31\n"
    path = write(tmp_path, "f.csv", text)
    assert import_records(store, path, **options).count == 2
    got = records(store)
    assert got["r1"]["placed_at"] == expected
    assert got["r2"]["placed_at"] == date(2015, 12, 31)


def test_a_bad_date_format_is_refused_before_the_file_is_read(
    store: sa.Engine, tmp_path: Path
) -> None:
    from keepfor.errors import UsageError

    with pytest.raises(UsageError, match=r"date format '%d/%m' does not name a day"):
        import_records(store, tmp_path / "missing.csv", date_formats=["%d/%m"])
