"""The report's row path: cases remembered by value, and values that cannot be keys."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest

from keepfor.abc import Group, Keyed, Record, RecordKey, RecordSource
from keepfor.engine import RuleSet, parse_pack
from keepfor.engine.cutoffs import Predicate, holds
from keepfor.report import DisagreementError, build_report
from tests.report import Collect

PACK = parse_pack(
    {
        "pack": "p",
        "version": "1",
        "timezone": "Europe/London",
        "rules": [
            {
                "id": "orders",
                "applies_to": {"category": "order"},
                "retain": {"from": "placed_at", "for": "P1Y"},
                "then": "purge",
            }
        ],
    }
)


class ListSource(RecordSource):
    """Records from a list, selected in Python with the predicate (``everything``: the
    predicate is ignored, as a faulty source would); one group per record."""

    name = "list"

    def __init__(
        self, names: tuple[str, ...], rows: list[tuple[Any, ...]], everything: bool = False
    ) -> None:
        self.names = names
        self.rows = rows
        self.everything = everything
        self.closed = False

    def open(self) -> None: ...

    @property
    def key(self) -> RecordKey:
        return RecordKey("key")

    def check(self, rules: RuleSet) -> None: ...

    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Keyed]:
        try:
            for row in self.rows:
                record = dict(zip(self.names, row, strict=True))
                if self.everything or holds(predicate, record):
                    yield Keyed(record["key"], record)
        finally:
            self.closed = True

    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        return dict.fromkeys(predicates, 0)

    def dry_run_query(self, predicate: Predicate) -> str:
        return ""

    def close(self) -> None: ...


class GroupSource(ListSource):
    """Scripted groups, for the report's handling of them."""

    def __init__(self, groups: list[Group], members: dict[Any, list[Record]]) -> None:
        super().__init__((), [])
        self.groups = groups
        self.members = members
        self.read_again: list[Any] = []

    def select_groups(
        self,
        predicate: Predicate,
        fields: Collection[str],
        *,
        bound: int = 10_000,
        whole: bool = False,
    ) -> Iterator[Group]:
        yield from self.groups

    def group_records(
        self, predicate: Predicate, group: Group, fields: Collection[str]
    ) -> Iterator[Keyed]:
        self.read_again.append(group.token)
        for record in self.members[group.token]:
            yield Keyed(record["key"], record)

    def group_keys(self, predicate: Predicate, group: Group) -> Iterator[Any]:
        for record in self.members[group.token]:
            yield record["key"]


AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def test_rows_with_the_same_values_share_one_case_and_count_each() -> None:
    names = ("key", "category", "placed_at", "stamp")
    rows: list[tuple[Any, ...]] = [
        (1, "order", date(2020, 1, 1), None),
        (2, "order", date(2020, 1, 1), None),
        (3, "order", date(2026, 1, 1), None),  # retained
        (4, "enquiry", date(2020, 1, 1), None),  # unmatched
        (5, "order", date(2020, 1, 1), datetime(2020, 1, 1, tzinfo=UTC)),  # volatile
        (6, "order", ["not", "hashable"], None),  # a value that cannot be a dict key
    ]
    source = ListSource(names, rows)
    writer = Collect(aggregates=False)
    build_report(RuleSet((PACK,)), [source], AT, writer)
    assert source.closed  # the stream is closed, releasing its connection
    assert [row.key for row in writer.rows] == ["1", "2", "5"]
    # a list is not a date: the record is listed as unreadable, naming the field
    assert [(row.key, row.problem.field) for row in writer.bad] == [("6", "placed_at")]


def test_a_row_the_source_selects_wrongly_stops_the_report_naming_it() -> None:
    names = ("key", "category", "placed_at", "stamp")
    rows = [(1, "order", date(2020, 1, 1), None), (3, "order", date(2026, 1, 1), None)]
    source = ListSource(names, rows, everything=True)
    writer = Collect(aggregates=False)
    with pytest.raises(DisagreementError, match=r"source 'list', record '3'.*retained"):
        build_report(RuleSet((PACK,)), [source], AT, writer)
    assert source.closed
    assert [row.key for row in writer.rows] == ["1"]


def test_report_counts_rows_sharing_a_case() -> None:
    names = ("key", "category", "placed_at", "stamp")
    rows = [(i, "order", date(2020, 1, 1), None) for i in range(5)] + [
        (9, "order", date(2020, 1, 1), datetime(2020, 1, 1, tzinfo=UTC))
    ]
    source = ListSource(names, rows)
    writer = Collect(aggregates=False)
    report = build_report(RuleSet((PACK,)), [source], AT, writer)
    assert [row.key for row in writer.rows] == ["0", "1", "2", "3", "4", "9"]
    assert {row.label.disposal_date for row in writer.rows} == {"2021-01-02"}
    assert report.due == {("p", "orders", "purge"): 6}
    assert source.closed


def test_a_datetime_counts_by_its_local_date_in_the_packs_zone() -> None:
    """Two instants on one UTC day but on two New York days are two cases."""
    pack = parse_pack(
        {
            "pack": "ny",
            "version": "1",
            "timezone": "America/New_York",
            "rules": [
                {
                    "id": "r",
                    "applies_to": {"category": "order"},
                    "retain": {"from": "stamp", "for": "P0D"},
                    "then": "purge",
                }
            ],
        }
    )
    names = ("key", "category", "placed_at", "stamp")
    rows = [
        (1, "order", None, datetime(2020, 1, 1, 3, tzinfo=UTC)),  # 31 Dec in New York
        (2, "order", None, datetime(2020, 1, 1, 6, tzinfo=UTC)),  # 1 Jan in New York
        (3, "order", None, datetime(2020, 1, 1, 4, tzinfo=UTC)),  # 31 Dec again
    ]
    writer = Collect(aggregates=False)
    build_report(RuleSet((pack,)), [ListSource(names, rows)], date(2020, 1, 1), writer)
    # kept through 31 Dec, disposable on 1 Jan; the 1 Jan one only on 2 Jan
    assert [(row.key, row.label.disposal_date) for row in writer.rows] == [
        ("1", "2020-01-01"),
        ("3", "2020-01-01"),
    ]


def order(key: Any, placed: date | datetime | None) -> dict[str, Any]:
    return {"key": key, "category": "order", "placed_at": placed}


def test_a_group_decided_alike_at_both_ends_is_written_at_once() -> None:
    low, high = order(1, date(2020, 1, 1)), order(1, date(2020, 1, 1))
    source = GroupSource([Group(low, high, 3, (1, "a,b", '"q"'), token="g")], {})
    writer = Collect(aggregates=False)
    report = build_report(RuleSet((PACK,)), [source], AT, writer)
    assert [row.key for row in writer.rows] == ["1", "a,b", '"q"']
    assert report.due == {("p", "orders", "purge"): 3}
    assert source.read_again == []


def test_a_group_whose_ends_differ_is_read_record_by_record() -> None:
    """Instants at 22:30 and 23:30 UTC on 30 June 2019 are 30 June and 1 July in London
    (BST): one hour's group, two decisions."""
    low = order("x", datetime(2019, 6, 30, 22, 30, tzinfo=UTC))
    high = order("x", datetime(2019, 6, 30, 23, 30, tzinfo=UTC))
    members = {"g": [order("a", low["placed_at"]), order("b", high["placed_at"])]}
    source = GroupSource([Group(low, high, 2, ("a", "b"), token="g")], members)
    writer = Collect(aggregates=False)
    build_report(RuleSet((PACK,)), [source], date(2020, 7, 5), writer)
    assert source.read_again == ["g"]
    assert [(row.key, row.label.disposal_date) for row in writer.rows] == [
        ("a", "2020-07-01"),
        ("b", "2020-07-02"),
    ]


def test_a_group_larger_than_the_bound_streams_its_keys_in_chunks() -> None:
    members = {"g": [order(i, date(2020, 1, 1)) for i in range(25)]}
    low = members["g"][0]
    source = GroupSource([Group(low, low, 25, None, token="g")], members)
    chunks: list[int] = []
    writer = Collect(aggregates=False)
    original = writer.due_group

    def spy(source: str, keys: Any, decision: Any, label: Any) -> None:
        chunks.append(len(keys))
        original(source, keys, decision, label)

    writer.due_group = spy  # type: ignore[method-assign]
    build_report(RuleSet((PACK,)), [source], AT, writer, bound=10)
    assert chunks == [10, 10, 5]
    assert [row.key for row in writer.rows] == [str(i) for i in range(25)]
