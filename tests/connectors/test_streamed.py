"""Sources read record by record: the engine's predicates evaluated in Python, holds and
acted marks from the state database, and the values a reader gives the rules."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepfor import Status, evaluate, parse_pack
from keepfor.abc import Keyed, RecordKey
from keepfor.actions import state
from keepfor.connectors.streamed import FieldReader, StreamedSource
from keepfor.database import create_engine
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import Predicate, due_predicate
from keepfor.engine.predicates import Acted, All, Not
from keepfor.engine.rules import ValueKind
from keepfor.errors import SourceError
from keepfor.holds import store as hold_store
from keepfor.holds.table import ensure as ensure_holds
from keepfor.report.counts import bucket_predicates
from keepfor.store.datelike import DateReading

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)

PACK = parse_pack(
    {
        "pack": "shop",
        "version": "1",
        "timezone": "Europe/London",
        "rules": [
            {
                "id": "orders",
                "applies_to": {"category": "order"},
                "retain": {"from": "placed_at", "for": "P6Y"},
                "then": "purge",
            },
            {
                "id": "quotes",
                "applies_to": {"category": "quote"},
                "where": {"kept_on_request": False},
                "retain": {"from": "sent_at", "for": "P12M"},
                "then": "anonymise",
            },
            {
                "id": "enquiries",
                "applies_to": {"category": "enquiry"},
                "retain": {"from": "resolved_at", "for": "P1Y"},
                "then": "flag",
            },
        ],
    }
)
RULES = RuleSet((PACK,))


class ListSource(StreamedSource):
    """Raw records in a list, read through a :class:`FieldReader`."""

    def __init__(
        self,
        raw: list[dict[str, Any]],
        state_url: str | None = None,
        known: set[str] | None = None,
        **reader: Any,
    ) -> None:
        super().__init__("list", FieldReader(**reader), state_url)
        self.raw = raw
        self.known = known

    def open(self) -> None: ...

    @property
    def key(self) -> RecordKey:
        return RecordKey("id", int)

    def known_fields(self) -> set[str] | None:
        return self.known

    def records(self, fields: Collection[str], hint: Predicate | None) -> Iterator[Keyed]:
        for raw in self.raw:
            yield Keyed(raw["id"], self.read(raw, fields))


def _bucket(record: dict[str, Any]) -> str:
    return evaluate(RULES, record, AT).status.value


categories = st.sampled_from(["order", "quote", "enquiry", "cv", None])
days = st.dates(date(2015, 1, 1), date(2027, 1, 1))
values = st.one_of(
    st.none(),
    days.map(date.isoformat),
    days.map(lambda d: d.strftime("%d/%m/%Y")),
    st.sampled_from(["", "n/a", "2019-02-30", "2020-01-01T23:30:00"]),
)


@st.composite
def raw_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    records = []
    for i in range(draw(st.integers(0, 30))):
        raw: dict[str, Any] = {"id": i}
        for name, strategy in (
            ("category", categories),
            ("placed_at", values),
            ("sent_at", values),
            ("resolved_at", values),
            ("kept_on_request", st.sampled_from(["true", "false", "", "maybe"])),
        ):
            if draw(st.booleans()):
                raw[name] = draw(strategy)
        records.append(raw)
    return records


@settings(max_examples=150, deadline=None)
@given(raw_records())
def test_every_record_is_in_exactly_one_bucket_the_engine_gives(raw: list[dict[str, Any]]) -> None:
    source = ListSource(raw, dates=DateReading(formats=("%d/%m/%Y",)))
    source.check(RULES)
    predicates = bucket_predicates(RULES, AT)
    counts = source.count(predicates)
    assert sum(counts.values()) == len(raw)
    fields = RULES.fields()
    for name, predicate in predicates.items():
        selected = [k.key for k in source.select(predicate, fields)]
        expected = [r["id"] for r in raw if _bucket(source.read(r, [*fields, "customer"])) == name]
        assert selected == expected, name
        assert counts[name] == len(expected)


def test_holds_and_acted_marks_come_from_the_state_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    raw = [
        {"id": 1, "category": "order", "placed_at": "2018-01-01"},
        {"id": 2, "category": "order", "placed_at": "2018-01-01", "customer": "C7"},
        {"id": 3, "category": "order", "placed_at": "2018-01-01"},
        {"id": 4, "category": "enquiry", "resolved_at": "2020-01-01"},
    ]
    engine = create_engine(url)
    with engine.begin() as conn:
        ensure_holds(conn)
        state.ensure(conn)
        hold_store.add(conn, "list", record_key="1", reason="dispute", by="t", at=AT)
        hold_store.add(conn, "list", customer="C7", reason="claim", by="t", at=AT)
        hold_store.add(
            conn, "list", record_key="3", reason="old", by="t", at=AT, until=date(2026, 1, 1)
        )
        state.mark(conn, "list", "flag", ["4"], rule="enquiries", pack="shop", sweep="s", at=AT)
    engine.dispose()
    source = ListSource(raw, url)
    source.check(RULES)
    counts = source.count(bucket_predicates(RULES, AT))
    assert counts["held"] == 2
    assert counts["due"] == 2
    not_flagged = All((due_predicate(RULES, AT), Not(Acted("flag"))))
    assert [k.key for k in source.select(not_flagged, RULES.fields())] == [1, 2, 3]
    source.close()


def test_no_state_database_means_nothing_held_or_acted_on() -> None:
    source = ListSource([{"id": 1, "category": "order", "placed_at": "2018-01-01"}])
    source.check(RULES)
    assert source.count(bucket_predicates(RULES, AT))["due"] == 1


LONDON_SUMMER = timezone(timedelta(hours=1))


CV_RULES = RuleSet(
    (
        parse_pack(
            {
                "pack": "p",
                "version": "1",
                "timezone": "UTC",
                "rules": [{"id": "cvs", "applies_to": {"category": "cv"},
                           "retain": {"from": "v", "for": "P6M"}, "then": "purge"}],
            }
        ),
    )
)  # fmt: skip
CV = {"category": "cv"}


@pytest.mark.parametrize(
    ("raw", "kind", "reader", "expected"),
    [
        ("2020-02-29", ValueKind.DATE, {}, date(2020, 2, 29)),
        (" 2020-02-29 ", ValueKind.DATE, {}, date(2020, 2, 29)),
        ("", ValueKind.DATE, {}, None),
        ("29/02/2020", ValueKind.DATE, {}, "29/02/2020"),  # unreadable: passed on as it is
        ("29/02/2020", ValueKind.DATE, {"dates": DateReading(dayfirst=True)}, date(2020, 2, 29)),
        (
            "02/29/2020",
            ValueKind.DATE,
            {"dates": DateReading(formats=("%m/%d/%Y",))},
            date(2020, 2, 29),
        ),
        ("30/02/2020", ValueKind.DATE, {"dates": DateReading(dayfirst=True)}, "30/02/2020"),
        (
            "2020-06-30 23:30",
            ValueKind.DATE,
            {"timezone": "Europe/London"},
            datetime(2020, 6, 30, 23, 30, tzinfo=LONDON_SUMMER),
        ),
        (
            "2020-06-30T23:30:00Z",
            ValueKind.DATE,
            {"timezone": "Europe/London"},
            datetime(2020, 6, 30, 23, 30, tzinfo=UTC),
        ),
        ("TRUE", ValueKind.BOOLEAN, {}, True),
        ("no", ValueKind.BOOLEAN, {}, False),
        ("", ValueKind.BOOLEAN, {}, None),
        ("maybe", ValueKind.BOOLEAN, {}, "maybe"),
        ("order", ValueKind.VALUE, {}, "order"),
    ],
)
def test_a_reader_reads_what_it_can_and_passes_on_the_rest(
    raw: str, kind: ValueKind, reader: dict[str, Any], expected: Any
) -> None:
    got = FieldReader(**reader).read({"v": raw}, ["v"], {"v": kind})["v"]
    assert got == expected
    if isinstance(expected, datetime):
        assert got.utcoffset() == expected.utcoffset()


def test_a_reader_says_why_a_date_text_is_unreadable_only_in_its_source_s_terms() -> None:
    """A CRM's reader reads ISO 8601 only: its source has no setting to name, so the
    text is passed on as it is (the engine says why). A file's reader names its own."""
    kinds = {"v": ValueKind.DATE}
    crm = FieldReader().read({"v": "31/12/2019"}, ["v"], kinds)["v"]
    assert type(crm) is str
    assert "for dates written another way" not in evaluate(CV_RULES, {**CV, "v": crm}, AT).reason
    file = FieldReader(dates=DateReading(options=("date_formats", "dayfirst")))
    text = file.read({"v": "31/12/2019"}, ["v"], kinds)["v"]
    assert text == "31/12/2019"
    reason = evaluate(CV_RULES, {**CV, "v": text}, AT).reason
    assert "for dates written another way give date_formats or dayfirst" in reason


def test_a_reader_maps_names_and_constants() -> None:
    reader = FieldReader(fields={"placed_at": "Order Date"}, constants={"category": "order"})
    record = reader.read(
        {"Order Date": "2019-01-01", "category": "x"},
        ["placed_at", "category", "absent"],
        {"placed_at": ValueKind.DATE},
    )
    assert record == {"placed_at": date(2019, 1, 1), "category": "order"}


def test_a_rule_field_no_record_has_is_one_clear_error() -> None:
    source = ListSource([], known={"id", "category", "placed_at"})
    with pytest.raises(SourceError, match="rule 'quotes' of pack 'shop' reads field "):
        source.check(RULES)


def test_an_unreadable_date_is_its_own_bucket_never_dropped() -> None:
    source = ListSource(
        [{"id": 1, "category": "order", "placed_at": "31/12/2015", "kept_on_request": "x"}]
    )
    source.check(RULES)
    counts = source.count(bucket_predicates(RULES, AT))
    assert counts["unreadable"] == 1
    assert Status.UNREADABLE.value == "unreadable"


def test_a_state_database_that_fails_is_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    state.write_bytes(b"this is not a SQLite database, but a file of text" * 100)
    source = ListSource([{"id": 1, "category": "order", "placed_at": "2018-01-01"}],
                        f"sqlite:///{state}")  # fmt: skip
    source.check(RULES)
    with pytest.raises(SourceError, match="source 'list': state_db"):
        source.count(bucket_predicates(RULES, AT))
