"""Export files as sources (``kind = "csv"`` / ``"jsonl"``): reading, mapping, dates,
unreadable values, the bucket law on generated files, and bad input as one line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor import Status, evaluate, parse_pack
from keepfor.connectors.config import load_config
from keepfor.connectors.files import FileSource
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import All
from keepfor.errors import SourceError
from keepfor.report.counts import bucket_predicates
from tests.buckets import assert_every_record_in_one_bucket

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")

PACK = parse_pack(
    {
        "pack": "crm",
        "version": "1",
        "timezone": "Europe/London",
        "rules": [
            {
                "id": "contacts",
                "applies_to": {"category": "contact"},
                "where": {"tier": 5},
                "retain": {"from": "last_activity_at", "for": "P2Y"},
                "then": "purge",
            },
            {
                "id": "leads",
                "applies_to": {"category": "lead"},
                "where": {"opted_in": False},
                "retain": {"from": "last_activity_at", "for": "P1Y"},
                "then": "anonymise",
            },
            {
                "id": "tickets",
                "applies_to": {"category": "ticket"},
                "retain": {"from": "resolved_at", "for": "P6M"},
                "then": "flag",
            },
        ],
    }
)
RULES = RuleSet((PACK,))


def source_of(tmp_path: Path, kind: str, file: str, content: str | bytes, **keys: Any) -> Any:
    """The one source of a config naming ``file`` (written with ``content``), opened."""
    data = content if isinstance(content, bytes) else content.encode()
    (tmp_path / file).write_bytes(data)
    lines = [f'kind = "{kind}"', f'path = "{file}"', 'key = "id"']
    tables = []
    for name, value in keys.items():
        if isinstance(value, dict):
            tables.append(f"[sources.export.{name}]")
            tables += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()]
        else:
            lines.append(f"{name} = {json.dumps(value)}")
    config = tmp_path / "keepfor.toml"
    config.write_text("\n".join(["[sources.export]", *lines, *tables]) + "\n")
    (configured,) = load_config(config)
    source = configured.open()
    source.open()
    return source


def records(source: FileSource) -> dict[str, dict[str, Any]]:
    source.check(RULES)
    return {key: dict(record) for key, record in source.records(RULES.fields(), None)}


CSV = """\
id,type,tier,Last Activity,opted_in,resolved_at,email
1,contact,5,01/02/2020,,,a@example.com
2,contact,5,n/a,,,b@example.com
3,lead,1,2026-01-01,false,,c@example.com
4,lead,1,2020-01-01 10:00,no,,d@example.com
5,ticket,,,,2020-05-05,e@example.com
6,contact,05,2020-01-01,,,f@example.com
"""


def test_a_csv_file_is_read_through_its_mapping_and_date_formats(tmp_path: Path) -> None:
    source = source_of(
        tmp_path,
        "csv",
        "contacts.csv",
        CSV,
        category_column="type",
        date_formats=["%d/%m/%Y"],
        timezone="Europe/London",
        fields={"last_activity_at": "Last Activity"},
    )
    read = records(source)
    assert read["1"]["last_activity_at"] == date(2020, 2, 1)
    assert read["1"]["category"] == "contact"
    assert read["1"]["tier"] == 5  # compared with a number only: read as one
    assert read["6"]["tier"] == 5
    assert read["2"]["last_activity_at"] == "n/a"  # passed on: unreadable, not dropped
    assert read["3"]["opted_in"] is False
    assert read["4"]["opted_in"] is False
    assert read["4"]["last_activity_at"] == datetime(2020, 1, 1, 10, tzinfo=LONDON)
    assert read["5"]["resolved_at"] == date(2020, 5, 5)
    assert source.known_fields() >= {"last_activity_at", "category", "tier", "email"}


def test_dayfirst_reads_day_first_dates_and_the_rest_stay_unreadable(tmp_path: Path) -> None:
    text = (
        "id,type,tier,opted_in,last_activity_at\n1,contact,5,,05/01/2015\n2,contact,5,,13/13/2015\n"
    )
    source = source_of(tmp_path, "csv", "c.csv", text, category_column="type", dayfirst=True)
    read = records(source)
    assert read["1"]["last_activity_at"] == date(2015, 1, 5)
    assert read["2"]["last_activity_at"] == "13/13/2015"
    counts = source.count(bucket_predicates(RULES, AT))
    assert (counts["due"], counts["unreadable"]) == (1, 1)


@pytest.mark.parametrize(
    ("keys", "cell", "why"),
    [
        (
            {"date_formats": ["%d/%m/%Y"]},
            "31/02/2020",
            "'31/02/2020' looks like a date but matches no date_formats ('%d/%m/%Y')",
        ),
        (
            {"date_formats": ["%d/%m/%Y", "%d.%m.%Y"]},
            "yesterday",
            "'yesterday' is not an ISO 8601 date or datetime, "
            "nor in date_formats ('%d/%m/%Y', '%d.%m.%Y')",
        ),
        (
            {},
            "31/12/2019",
            "'31/12/2019' is not an ISO 8601 date (YYYY-MM-DD); "
            "for dates written another way give date_formats or dayfirst",
        ),
        (
            {"dayfirst": True},
            "31/12/19",
            "'31/12/19' has a two-digit year, which dayfirst does not guess; "
            "give date_formats with %y (e.g. %d/%m/%y)",
        ),
        ({}, "yesterday", "'yesterday' is not an ISO 8601 date or datetime (e.g. "),
    ],
)
def test_an_unreadable_cell_says_why_in_the_source_s_own_terms(
    tmp_path: Path, keys: dict[str, Any], cell: str, why: str
) -> None:
    """The engine lists the record as unreadable with the value as the file holds it,
    and why, naming the settings of the source's config that failed to read it."""
    text = f"id,type,tier,opted_in,last_activity_at\n1,contact,5,,{cell}\n"
    source = source_of(tmp_path, "csv", "c.csv", text, category_column="type", **keys)
    record = records(source)["1"]
    assert record["last_activity_at"] == cell
    decision = evaluate(RULES, record, AT)
    assert decision.status is Status.UNREADABLE
    assert decision.problem is not None
    assert decision.problem.value == cell
    assert decision.reason.startswith(f"field 'last_activity_at' (rule 'contacts'): {why}"), (
        decision.reason
    )


def test_a_cell_compared_with_text_and_numbers_stays_text(tmp_path: Path) -> None:
    pack = parse_pack(
        {
            "pack": "p",
            "version": "1",
            "timezone": "UTC",
            "rules": [
                {"id": "a", "applies_to": {"tier": 5}, "retain": {"from": "d", "for": "P1Y"},
                 "then": "flag"},
                {"id": "b", "applies_to": {"tier": "gold"}, "retain": {"from": "d", "for": "P1Y"},
                 "then": "flag"},
            ],
        }
    )  # fmt: skip
    source = source_of(tmp_path, "csv", "c.csv", "id,tier,d\n1,5,2020-01-01\n")
    source.check(RuleSet((pack,)))
    (keyed,) = source.records(["tier", "d"], None)
    assert keyed.record["tier"] == "5"


def test_a_bom_a_delimiter_and_an_encoding(tmp_path: Path) -> None:
    text = "id;type;tier;last_activity_at;name\n1;contact;5;2020-01-01;Zoë\n"
    source = source_of(tmp_path, "csv", "bom.csv", b"\xef\xbb\xbf" + text.encode(), delimiter=";")
    assert source.header == ["id", "type", "tier", "last_activity_at", "name"]
    assert source.get("1", ["name"]) == {"name": "Zoë"}
    latin = source_of(
        tmp_path, "csv", "latin.csv", text.encode("latin-1"), delimiter=";", encoding="latin-1"
    )
    assert latin.get("1", ["name"]) == {"name": "Zoë"}


def test_json_lines_keep_their_types(tmp_path: Path) -> None:
    lines = [
        {"id": 1, "category": "contact", "tier": 5, "last_activity_at": "2020-01-01"},
        {"id": "x2", "category": "lead", "opted_in": False, "last_activity_at": "2020-01-01"},
        {"id": 3, "category": "contact", "tier": "5", "last_activity_at": "2020-01-01"},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    source = source_of(tmp_path, "jsonl", "c.jsonl", text)
    read = records(source)
    assert list(read) == ["1", "x2", "3"]
    assert read["1"]["tier"] == 5
    assert read["x2"]["opted_in"] is False
    assert read["3"]["tier"] == "5"  # JSON says text: not the number 5
    assert source.known_fields() is None
    counts = source.count(bucket_predicates(RULES, AT))
    assert counts["due"] == 2
    assert counts["unmatched"] == 1


@pytest.mark.parametrize(
    ("kind", "content", "message"),
    [
        ("csv", "id,a\n1,2\n2\n", "line 3: the row has 1 values but the header names 2"),
        ("csv", "id,a\n1,x\n1,y\n", "line 3: key '1' is on an earlier line too"),
        ("csv", "id,a\n,x\n", "line 2: the record has no key"),
        ("csv", "a,b\n1,2\n", "line 1: the header has no key column 'id'"),
        ("csv", "id,a,a\n1,2,3\n", "line 1: the header names column 'a' twice"),
        ("csv", "", "line 1: the file is empty"),
        ("csv", b"id,a\n1,ok\n2,caf\xe9\n", "line 3: not utf-8 text (byte 0xE9"),
        ("jsonl", '{"id": 1}\n{"id": 2\n', "line 2: not valid JSON"),
        ("jsonl", '{"id": 1}\n[1]\n', "line 2: a line holds one JSON object, not list"),
        ("jsonl", '{"id": true}\n', "line 1: key 'id' must be text or a whole number"),
        ("jsonl", '{"id": 1, "a": NaN}\n', "line 1: not valid JSON: NaN"),
    ],
)
def test_bad_input_is_one_line_naming_source_file_and_line(
    tmp_path: Path, kind: str, content: str | bytes, message: str
) -> None:
    def read() -> None:
        source = source_of(tmp_path, kind, f"bad.{kind}", content)
        list(source.records(["a"], None))

    with pytest.raises(SourceError) as raised:
        read()
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"source 'export': {tmp_path / f'bad.{kind}'}: "), text
    assert message in text


def test_a_missing_file_and_bad_keys_are_one_line(tmp_path: Path) -> None:
    config = tmp_path / "keepfor.toml"
    config.write_text('[sources.x]\nkind = "csv"\npath = "none.csv"\nkey = "id"\n')
    (configured,) = load_config(config)
    with pytest.raises(SourceError, match=r"source 'x': .*none\.csv: no such file$"):
        configured.open().open()
    for body, message in [
        ('path = "a.csv"\nkey = "id"\ndelimeter = ";"', "unknown key 'delimeter'"),
        ('path = "a.csv"', "needs 'key'"),
        ('path = "a.csv"\nkey = "id"\ndate_formats = ["%Y"]', "date_formats: date format"),
        ('path = "a.csv"\nkey = "id"\ndayfirst = "yes"', "dayfirst must be true or false"),
        ('path = "a.csv"\nkey = "id"\nencoding = "klingon"', "unknown encoding 'klingon'"),
        ('path = "a.csv"\nkey = "id"\ncategory = "a"\ncategory_column = "b"', "not both"),
    ]:
        config.write_text(f'[sources.x]\nkind = "csv"\n{body}\n')
        with pytest.raises(SourceError, match=message):
            load_config(config)
    config.write_text(
        '[sources.x]\nkind = "jsonl"\npath = "a.jsonl"\nkey = "id"\ndelimiter = ";"\n'
    )
    with pytest.raises(SourceError, match="'delimiter' is for csv files"):
        load_config(config)


def test_a_rule_field_no_column_has_is_named(tmp_path: Path) -> None:
    source = source_of(
        tmp_path, "csv", "c.csv", "id,type,tier\n1,contact,5\n", category_column="type"
    )
    with pytest.raises(SourceError, match="reads field 'opted_in', which no record has"):
        source.check(RULES)


# -- the bucket law on generated files -------------------------------------------------

days = st.dates(date(2015, 1, 1), date(2027, 1, 1))
cells = st.one_of(
    st.just(""),
    days.map(date.isoformat),
    days.map(lambda d: d.strftime("%d/%m/%Y")),
    st.sampled_from(["n/a", "2019-02-30", "2020-01-01T23:30:00", "2020-01-01T23:30:00Z"]),
)
COLUMNS = ("type", "tier", "opted_in", "seen", "resolved_at")
ROW = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["contact", "lead", "ticket", "other", ""]),
        "tier": st.sampled_from(["5", "5.0", "4", "x", ""]),
        "opted_in": st.sampled_from(["true", "false", "", "maybe"]),
        "seen": cells,
        "resolved_at": cells,
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, max_size=25), as_json=st.booleans())
def test_every_record_of_a_generated_file_is_in_exactly_one_bucket(
    tmp_path: Path, rows: list[dict[str, str]], as_json: bool
) -> None:
    if as_json:
        text = "".join(json.dumps({"id": i, **row}) + "\n" for i, row in enumerate(rows))
    else:
        lines = [",".join(["id", *COLUMNS])]
        lines += [",".join([str(i), *(row[c] for c in COLUMNS)]) for i, row in enumerate(rows)]
        text = "\n".join(lines) + "\n"
    kind = "jsonl" if as_json else "csv"
    source = source_of(
        tmp_path,
        kind,
        f"gen.{kind}",
        text,
        category_column="type",
        date_formats=["%d/%m/%Y"],
        fields={"last_activity_at": "seen"},
    )
    assert_every_record_in_one_bucket(source, RULES, AT, len(rows))
    assert source.count({"total": All(())})["total"] == len(rows)


def test_a_jsonl_line_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    """The same limit on every Python (3.13's parser nests deeper than 3.11's)."""
    deep = '{"id": "2", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    source = source_of(tmp_path, "jsonl", "deep.jsonl", '{"id": "1"}\n' + deep + "\n")
    with pytest.raises(SourceError, match="line 2: not a record: the JSON is nested too deeply"):
        list(source.records(["id"], None))
