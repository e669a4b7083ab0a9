"""Sources read record by record (a CRM, an export file): the engine's own predicate
evaluation stands in for the database's.

A SQL source compiles every :mod:`~keepfor.engine.cutoffs` predicate into its query.
A CRM's API filters only a little, and a file not at all, so such a source streams its
records (or a superset the backend could filter for) and :class:`StreamedSource` tests
each predicate with :func:`keepfor.engine.predicates.holds`, the function the push-down
is proven equal to. Report, counts, explain and sweep then work on it unchanged.

Holds and acted marks of such a source live in its ``state_db`` (keepfor's own
tables in a database the config names); they are read a chunk of records at a time,
so memory stays bounded by the chunk, not by the source.

A backend implements :meth:`StreamedSource.records`: every record (or every record
the hint may hold for), its fields named as the rules name them and its values read
by a :class:`FieldReader`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from keepfor.abc import ActionTarget, Keyed, RecordSource
from keepfor.connectors.pushdown import fold
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import Predicate, match_predicate
from keepfor.engine.datetext import DateTextError, UnreadDate, parse_date_text
from keepfor.engine.predicates import Acted, All, Any_, Held, Not, Switch, fields_of, holds
from keepfor.engine.rules import RetentionRule, ValueKind
from keepfor.errors import SourceError, did_you_mean, quoted
from keepfor.store.datelike import DateReading, DateRefused

if TYPE_CHECKING:
    from keepfor.actions.settings import ActionSettings
    from keepfor.actions.trail import Trail

__all__ = ["CHUNK", "FieldReader", "StateMarks", "StreamedSource"]

CHUNK = 1_000
"""Records whose holds and marks are looked up together."""

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class FieldReader:
    """How a source's raw values become the values the rules read: which name holds each
    rule field (``fields``: rule field -> the source's name; unlisted fields are read
    under their own name), constants for every record (``category = "contact"``), the
    zone of wall-clock times, and how to read date texts that are not ISO 8601.

    A value it cannot read is passed on as it is, so that the engine lists the record
    as unreadable, naming field and value: a reader never drops or guesses."""

    fields: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    dates: DateReading | None = None
    """How to read date texts that are not ISO 8601, where the source's config says
    (a file's ``date_formats``, ``dayfirst``); None: ISO 8601 only (a CRM's API)."""

    def name_of(self, rule_field: str) -> str:
        """The source's name of a rule field."""
        return self.fields.get(rule_field, rule_field)

    def read(
        self, raw: Mapping[str, Any], wanted: Collection[str], kinds: Mapping[str, ValueKind]
    ) -> dict[str, Any]:
        """The record as the rules read it: the ``wanted`` rule fields that the raw
        record or the constants give (a field it lacks stays missing)."""
        record: dict[str, Any] = {}
        zone = ZoneInfo(self.timezone)
        for name in wanted:
            if name in self.constants:
                record[name] = self.constants[name]
                continue
            source_name = self.name_of(name)
            if source_name not in raw:
                continue
            value = raw[source_name]
            kind = kinds.get(name)
            if kind is ValueKind.DATE:
                value = self._date(value, zone)
            elif kind is ValueKind.BOOLEAN:
                value = _boolean(value)
            record[name] = value
        return record

    def _date(self, value: Any, zone: ZoneInfo) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=zone)
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text == "":
            return None
        try:
            read: date | datetime | None = parse_date_text(text)
        except DateTextError as error:
            if self.dates is None:
                return value  # the engine lists it as unreadable, in its own words
            try:
                read = self.dates.read(text, str(error))
            except DateRefused as refused:  # listed as unreadable, with its value and why
                return UnreadDate(value, refused.reason)
            if read is None:
                return self._not_a_date(value, str(error))
        if isinstance(read, datetime) and read.tzinfo is None:
            return read.replace(tzinfo=zone)
        return read

    def _not_a_date(self, value: str, iso_error: str) -> str:
        """A text that is no date at all: the engine's own words, unless the source
        reads dates in ways of its own, which the words then name."""
        dates = self.dates
        if dates is None or not dates.formats:
            return value
        return UnreadDate(value, f"{iso_error}, nor in {dates.options[0]} ({dates.listed()})")


def _boolean(value: Any) -> Any:
    """A boolean written as text (a CSV cell, a CRM's string property) as a boolean;
    anything else as it is (the engine says whether it is one)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return value


class StateMarks:
    """Holds and acted marks of one source, in keepfor's tables of its ``state_db``.

    ``url`` None: the source has no state database yet, so nothing is held or acted on.
    """

    def __init__(self, source: str, url: str | None) -> None:
        self.source = source
        self.url = url
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        """The state database's engine (made on first use)."""
        if self._engine is None:
            from keepfor.database import create_engine

            assert self.url is not None
            self._engine = create_engine(self.url)
        return self._engine

    def held(self, today: date) -> tuple[set[str], set[str]]:
        """The keys' and the customers' texts that a hold holds on ``today``."""
        from keepfor.holds.store import list_holds
        from keepfor.holds.table import exists

        keys: set[str] = set()
        customers: set[str] = set()
        with self._reading() as conn:
            if conn is not None and exists(conn):
                for hold in list_holds(conn, self.source):
                    if hold.active(today):
                        if hold.record_key is not None:
                            keys.add(hold.record_key)
                        if hold.customer is not None:
                            customers.add(hold.customer)
        return keys, customers

    def acted(self, keys: list[str], actions: set[str]) -> dict[str, set[str]]:
        """Per action, which of these keys' texts it was already taken on."""
        from keepfor.actions.state import already_acted

        with self._reading() as conn:
            if conn is None or not actions or not _has_table(conn, "keepfor_acted"):
                return {}
            return {a: already_acted(conn, self.source, a, keys) for a in actions}

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A connection to read through (None where there is no state database yet);
        its failures as one line naming the source."""
        if self.url is None or not self.there():
            yield None
            return
        import sqlalchemy as sa

        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as error:
            from keepfor.connectors.sql import db_error

            raise db_error(f"source '{self.source}': state_db", self.url, error) from None

    def there(self) -> bool:
        """Whether the state database may hold anything: a SQLite file not yet made holds
        nothing, and reading it must not make it (a report writes nothing)."""
        from keepfor.database import parse_url, sqlite_path

        assert self.url is not None
        path = sqlite_path(parse_url(self.url))
        return path is None or path.exists()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class StreamedSource(RecordSource):
    """A source whose records Python reads one by one and tests against each predicate
    itself (exactly as :func:`~keepfor.engine.predicates.holds` says a database would)."""

    def __init__(self, name: str, reader: FieldReader, state_url: str | None) -> None:
        self.name = name
        self.reader = reader
        self.marks = StateMarks(name, state_url)
        self._kinds: dict[str, ValueKind] = {}

    @abstractmethod
    def records(self, fields: Collection[str], hint: Predicate | None) -> Iterator[Keyed]:
        """Every record, or at least every one ``hint`` may hold for (a backend that can
        filter says so with fewer); each with the given rule fields, read by
        :meth:`read`."""

    def read(self, raw: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
        """One raw record as the rules read it."""
        return self.reader.read(raw, fields, self._kinds)

    def where(self) -> str:
        """The source, for messages."""
        return f"source '{self.name}'"

    def may_apply(self, rule: RetentionRule) -> bool:
        return fold(match_predicate(rule), self.reader.constants) is not False

    def check(self, rules: RuleSet) -> None:
        self._kinds = rules.needs()
        known = self.known_fields()
        if known is None:
            return
        for pack, rule in rules:
            for name in RuleSet.fields_of(rule):
                if name in self.reader.constants or self.reader.name_of(name) in known:
                    continue
                if name in rule.retain.fields():
                    continue  # an event not yet recorded anywhere: not happened
                hint = did_you_mean(self.reader.name_of(name), known)
                raise SourceError(
                    f"{self.where()}: rule '{rule.id}' of pack '{pack.id}' reads field "
                    f"{quoted(name)}, which no record has{hint}"
                )

    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Keyed]:
        wanted = _with_customer(fields)
        for keyed, held, acted in self._marked(self.records(wanted, predicate), predicate):
            if holds(predicate, keyed.record, held=held, acted=acted):
                yield keyed

    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        counts = dict.fromkeys(predicates, 0)
        every = Any_(tuple(predicates.values()))
        wanted = _with_customer(
            {f for p in predicates.values() for f in fields_of(p)} | set(self._kinds)
        )
        for keyed, held, acted in self._marked(self.records(wanted, None), every):
            for name, predicate in predicates.items():
                if holds(predicate, keyed.record, held=held, acted=acted):
                    counts[name] += 1
        return counts

    def fetch(self, keys: Collection[Any], fields: Collection[str]) -> Iterator[Keyed]:
        """The records with these keys that exist now (a backend that can look records
        up by key says so; this reads them all)."""
        wanted = {self.key.text(k) for k in keys}
        for keyed in self.records(fields, None):
            if self.key.text(keyed.key) in wanted:
                yield keyed

    def recheck(self, predicate: Predicate, keys: Collection[Any]) -> Iterator[Keyed]:
        """The records with these keys that the predicate still holds for, read again now
        with every field the rules read (what a target re-checks before acting)."""
        wanted = _with_customer({*self._kinds, *fields_of(predicate)})
        for keyed, held, acted in self._marked(self.fetch(keys, wanted), predicate):
            if holds(predicate, keyed.record, held=held, acted=acted):
                yield keyed

    def get(self, key: Any, fields: Collection[str]) -> dict[str, Any] | None:
        found = next(self.fetch([key], fields), None)
        return None if found is None else dict(found.record)

    def target(self, settings: ActionSettings, trail: Trail | None) -> ActionTarget:
        """What acts on this source's due records (``trail`` None: a dry run's)."""
        raise SourceError(f"{self.where()}: keepfor cannot act on it")

    def holds_engine(self) -> Any:
        if self.marks.url is None or not self.marks.there():
            return None
        return self.marks.engine

    def dry_run_query(self, predicate: Predicate) -> str:
        return f"read every record of {self.where()} and test in Python: {predicate!r}"

    def close(self) -> None:
        self.marks.close()

    def _marked(
        self, stream: Iterable[Keyed], predicate: Predicate
    ) -> Iterator[tuple[Keyed, bool, frozenset[str]]]:
        """Each record with whether a hold covers it and the actions already taken on
        it, looked up a chunk at a time (only what the predicate asks)."""
        today, actions = _marks_asked(predicate)
        held_keys: set[str] = set()
        held_customers: set[str] = set()
        if today is not None:  # holds are few: read once a pass
            held_keys, held_customers = self.marks.held(today)
        iterator = iter(stream)
        while chunk := list(islice(iterator, CHUNK)):
            keys = [self.key.text(k.key) for k in chunk]
            customers = [_text(k.record.get("customer")) for k in chunk]
            acted = self.marks.acted(keys, actions)
            for keyed, key, customer in zip(chunk, keys, customers, strict=True):
                held = key in held_keys or (customer is not None and customer in held_customers)
                done = frozenset(a for a, taken in acted.items() if key in taken)
                yield keyed, held, done


def _has_table(conn: Any, name: str) -> bool:
    import sqlalchemy as sa

    found: bool = sa.inspect(conn).has_table(name)
    return found


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _with_customer(fields: Collection[str]) -> set[str]:
    """The fields asked for, and ``customer``: a hold may name the record's customer."""
    return {*fields, "customer"}


def _marks_asked(predicate: Predicate) -> tuple[date | None, set[str]]:
    """The day a :class:`Held` in the predicate asks about, and the actions its
    :class:`Acted` leaves ask about."""
    today: date | None = None
    actions: set[str] = set()
    pending: list[Any] = [predicate]
    while pending:
        node = pending.pop()
        match node:
            case Held(day):
                today = day
            case Acted(action):
                actions.add(action)
            case Not(part):
                pending.append(part)
            case All(parts) | Any_(parts):
                pending.extend(parts)
            case Switch(_, cases, otherwise):
                pending.extend(part for _, part in cases)
                pending.append(otherwise)
    return today, actions
