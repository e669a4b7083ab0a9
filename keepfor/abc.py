"""Every pluggable role of keepfor, as a small interface in one place.

::

    RecordSource    where records are read: open/close, check, select (groups), count
    ActionTarget    where due records are acted on: one batch, one transaction
    ReportWriter    a report format: rows as they stream, then the aggregates
    Evaluator       decides one record at an instant (the Python engine, durable_rules)
    Clock           the one place "now" is read

and the values they pass: :class:`RecordKey` (how a source names its records),
:class:`Keyed` (a record with its key), :class:`Group` (records of one case),
:class:`ActionBatch` and :class:`BatchResult`.

Dependencies point inwards: this module imports only the engine's types, so a backend
(``keepfor.connectors.sql``, later a CRM) implements an interface without importing the
others. A record's key is never one of its fields: a rule may read a field called
``key``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from keepfor.errors import KeepforError, SourceError, UsageError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from keepfor.engine import Action, Decision, Instant, RuleSet
    from keepfor.engine.cutoffs import Predicate
    from keepfor.engine.decision import Unreadable
    from keepfor.engine.rules import RetentionRule
    from keepfor.report.model import DueRow, HeldRow, Report, RowLabel, UnreadableRow

__all__ = [
    "ActionBatch",
    "ActionTarget",
    "BatchResult",
    "Clock",
    "Evaluator",
    "Group",
    "Keyed",
    "Outcome",
    "Record",
    "RecordKey",
    "RecordSource",
    "ReportWriter",
]

Record = Mapping[str, Any]
"""A record as the engine reads it: field name -> value (dates as ``date``, instants as
aware ``datetime``). Its key is kept beside it (:class:`Keyed`), never among its fields."""


@dataclass(frozen=True)
class RecordKey:
    """How a source names its records: the key column (or property) and the Python type
    of its values. Keys travel as plain values in bulk (a report writes hundreds of
    thousands); this says how to read one from text (``--id 42``) and how to write one
    as text (output, and the audit trail's pseudonyms)."""

    name: str
    type: type = str

    def parse(self, text: str) -> Any:
        """A key given as text, as a value of the key's type; :class:`UsageError` when no
        key of that type is spelt so."""
        if self.type is str:
            return text
        try:
            if self.type is int:
                return int(text)
            if self.type is Decimal:
                return Decimal(text)
        except (ValueError, InvalidOperation):
            raise UsageError(
                f"'{text}' is not a key of '{self.name}' (its keys are {self.type.__name__})"
            ) from None
        return text

    def text(self, value: Any) -> str:
        """A key as text: the same text for the same key, every time."""
        return value.hex() if isinstance(value, bytes) else str(value)


class Keyed(NamedTuple):
    """A record and its key in its source."""

    key: Any
    record: Record


class Group(NamedTuple):
    """Records that agree on every value the rules read: one case, decided once.

    A datetime is grouped by a coarse key the database computes (an hour, a local date),
    so ``low`` holds each such field at its lowest in the group and ``high`` at its
    highest. Disposal dates are monotone in every date, so when ``low`` and ``high``
    are decided alike, so is every record between them; when not, the caller reads the
    group's records one by one (:meth:`RecordSource.group_records`). The coarse key
    changes only how many groups there are, never a decision.
    """

    low: Record
    high: Record
    size: int
    """How many records the group holds."""
    keys: Sequence[Any] | None
    """The records' keys; None for a group larger than the bound asked for (then
    :meth:`RecordSource.group_keys` streams them)."""
    token: Any = None
    """What the source needs to find the group's records again."""


class RecordSource(ABC):
    """A place records are read from: a table, keepfor's store, later a CRM or a file.

    Making one does no I/O; :meth:`open` connects (and may be called again after
    :meth:`close`, so a long-running process can reconnect). The database selects:
    every ``Predicate`` (:mod:`keepfor.engine.cutoffs`) is evaluated by the source
    itself, never by scanning records in Python.
    """

    name: str

    @abstractmethod
    def open(self) -> None:
        """Connect, and learn the source's shape (columns, key); a one-line
        :class:`SourceError` when it cannot be used. Opening an open source does nothing."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; :meth:`open` may follow."""

    def test_connection(self) -> None:
        """Raise :class:`SourceError` unless the source answers now."""
        self.open()

    @property
    @abstractmethod
    def key(self) -> RecordKey:
        """How the source names its records (after :meth:`open`)."""

    @abstractmethod
    def check(self, rules: RuleSet) -> None:
        """Raise :class:`SourceError` naming the first rule field this source cannot
        provide."""

    @abstractmethod
    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Keyed]:
        """The records the predicate holds for, selected by the source, each with the
        given fields (those the rules read)."""

    def select_groups(
        self,
        predicate: Predicate,
        fields: Collection[str],
        *,
        bound: int = 10_000,
        whole: bool = False,
    ) -> Iterator[Group]:
        """The records the predicate holds for, as groups of one case each (a source that
        cannot group gives one group per record). ``whole``: the predicate keeps about
        every record (a report's counts), a hint for how to read; the groups are the
        same."""
        for key, record in self.select(predicate, fields):
            yield Group(record, record, 1, (key,))

    def reads_ahead(self) -> bool:
        """Whether the groups of :meth:`select_groups` may be read by a thread of their
        own while this one reads others (a report's counts, while it writes its due
        records): each read on a connection of its own. False by default."""
        return False

    def group_records(
        self, predicate: Predicate, group: Group, fields: Collection[str]
    ) -> Iterator[Keyed]:
        """The records of one group, one by one."""
        if group.token is not None or group.keys is None or len(group.keys) != 1:
            raise NotImplementedError(f"{type(self).__name__} gives no groups to read again")
        yield Keyed(group.keys[0], group.low)

    def group_keys(self, predicate: Predicate, group: Group) -> Iterator[Any]:
        """The keys of a group too large to give them at once."""
        if group.keys is None:
            raise NotImplementedError(f"{type(self).__name__} gives every group's keys")
        yield from group.keys

    def get(self, key: Any, fields: Collection[str]) -> Record | None:
        """The record whose key is ``key`` (a value of :attr:`key`'s type), with the
        given fields; None if the source has none."""
        raise SourceError(f"source '{self.name}' cannot look up one record by its key")

    def may_apply(self, rule: RetentionRule) -> bool:
        """Whether ``rule`` can cover some record of this source: False where the
        source's constants contradict its conditions (the ``applies_to`` of another
        category than the one every record has). True by default."""
        return True

    def holds_engine(self) -> sa.Engine | None:
        """The database of this source's holds, where there is one to read (None: the
        source keeps none, or the database that would keep them is not made yet); asking
        makes nothing. Its own database for a table or the store, its ``state_db`` for a
        file or CRM source."""
        return None

    def known_fields(self) -> set[str] | None:
        """Every field some record has, where a source can tell (None: any field it is
        asked for exists, or the source cannot say)."""
        return None

    @abstractmethod
    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        """How many records each named predicate holds for (one pass, no rows fetched)."""

    @abstractmethod
    def dry_run_query(self, predicate: Predicate) -> str:
        """The query :meth:`select` would run, for humans."""

    def __enter__(self) -> RecordSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Outcome(StrEnum):
    """What became of one record of a batch."""

    DONE = "done"
    """Acted on (and audited, in the same transaction)."""
    SKIPPED = "skipped"
    """No longer due, held since it was selected, or gone: left as it is."""
    FAILED = "failed"
    """The batch's transaction failed: nothing of it was done."""


@dataclass(frozen=True)
class ActionBatch:
    """Records selected as due with one rule and one action, to be acted on together.

    ``recheck`` is the predicate the records were selected by (due, readable, not
    held): the target repeats it in its own ``WHERE``, so a record that changed or was
    held since it was selected is not touched."""

    source: str
    rule: str
    pack: str
    action: Action
    keys: tuple[Any, ...]
    recheck: Predicate
    reviewed: bool = False
    """The records were queued for review and a person approved this action."""

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("an ActionBatch needs at least one key")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("an ActionBatch's keys must be distinct")


@dataclass(frozen=True)
class BatchResult:
    """What one batch did: an outcome per key of the batch."""

    outcomes: Mapping[Any, Outcome]
    error: str | None = None
    """Why the records ``FAILED`` failed, where some of the batch was done (a target
    that cannot act in one transaction: a CRM's API)."""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes.values() if o is outcome)


class ActionTarget(ABC):
    """A source that can act on its due records."""

    @property
    @abstractmethod
    def actions(self) -> frozenset[Action]:
        """The actions this target can take (a config is checked against them)."""

    def cannot(self, action: Action) -> str:
        """Why this target cannot take ``action`` (one it does not list), for the one line
        that refuses the rules."""
        if action.value == "archive":
            return (
                "this kind of source cannot archive: an archive is a CRM's own, restorable "
                "(HubSpot's); say purge, anonymise or flag for this source"
            )
        return f"this kind of source cannot {action.value}"

    @property
    def rewrites(self) -> bool:
        """Whether an ``anonymise`` here rewrites some field (the source's config names
        one, with a strategy other than ``keep``). Without one it would change nothing
        and yet be audited as done: see :meth:`idle`."""
        return True

    def check_actions(self, source: RecordSource, rules: RuleSet) -> None:
        """Refuse rules whose action this target cannot take, before anything is read or
        done: a :class:`SourceError` naming the source, the first such rule and its action
        (the CLI's one line, exit 2). A rule that cannot cover any record of the source
        (:meth:`RecordSource.may_apply`) is no concern of it."""
        for pack, rule in rules:
            if rule.action not in self.actions and source.may_apply(rule):
                raise SourceError(
                    f"source '{source.name}': rule '{rules.display_id(pack, rule)}' says "
                    f"'then: {rule.action.value}', and {self.cannot(rule.action)}; "
                    "nothing was read or done"
                )

    def idle(self, source: RecordSource, rules: RuleSet) -> str | None:
        """The first rule whose action would change nothing here (an anonymise where the
        config names no field to rewrite), said in words; None where there is none.
        ``--apply`` refuses such rules (they would be audited as done); a dry run warns."""
        if self.rewrites:
            return None
        for pack, rule in rules:
            if rule.action.value == "anonymise" and source.may_apply(rule):
                return (
                    f"source '{source.name}': rule '{rules.display_id(pack, rule)}' says "
                    "'then: anonymise', and the source's config names no field to "
                    "anonymise (a section [sources.NAME.anonymise] of field = strategy; "
                    "docs/actions.md), so an anonymise would change nothing"
                )
        return None

    def prepare(self, actions: Collection[Action]) -> None:  # noqa: B027 (optional hook)
        """Check, before anything is written, that these actions can be taken (a
        :class:`SourceError` naming what stands in the way); nothing to check by default."""

    def approved(self, recheck: Predicate, size: int) -> list[ActionBatch]:
        """Batches of the records a person approved in review (none where the target
        keeps no review queue)."""
        return []

    @property
    def batch_size(self) -> tuple[int, int]:
        """Records per batch: the default, and the most one batch can take."""
        return 10_000, 10_000

    @abstractmethod
    def apply(self, batch: ActionBatch, at: Instant) -> BatchResult:
        """Act on a batch inside one transaction, re-checking ``batch.recheck`` in the
        statement that acts; the audit entries are written in the same transaction.
        Either every record the re-check still selects is acted on and audited, or
        nothing is (an error is raised and the transaction rolled back)."""

    def apply_round(self, batches: Sequence[ActionBatch], at: Instant) -> list[BatchResult]:
        """Act on a sweep's round: batches of one selection, of several rules, whose keys
        lie in one stretch of key order; a result per batch. A table acts on a round in
        one transaction (each page written once); by default each batch is applied on
        its own, and one that fails is a result of failed records with the error."""
        results = []
        for batch in batches:
            try:
                results.append(self.apply(batch, at))
            except KeepforError as error:
                failed = dict.fromkeys(batch.keys, Outcome.FAILED)
                results.append(BatchResult(failed, str(error)))
        return results


class Evaluator(Protocol):
    """Decides a record at an instant: the Python engine, or durable_rules (proven equal
    to it by differential tests)."""

    def __call__(self, record: Record, at: Instant) -> Decision: ...


class Clock(Protocol):
    """Something that tells the current instant, as an aware UTC datetime."""

    def now(self) -> datetime: ...


class ReportWriter(ABC):
    """A report format: receives due and unreadable records as they stream (a group of
    records with one decision at a time), then the aggregates."""

    wants_aggregates = True
    """False for formats that print only rows (csv): the counts are skipped."""

    lists_held = False
    """True for formats that list held records (:meth:`held`; every built-in one does):
    for the others, nothing is read."""

    @abstractmethod
    def row(self, row: DueRow) -> None: ...

    @abstractmethod
    def unreadable(self, row: UnreadableRow) -> None: ...

    def due_group(
        self, source: str, keys: Sequence[Any], decision: Decision, label: RowLabel
    ) -> None:
        """Due records sharing one decision (a format may write them faster at once)."""
        from keepfor.report.model import DueRow

        for key in keys:
            self.row(DueRow(source, str(key), decision, label))

    def unreadable_group(
        self, source: str, keys: Sequence[Any], problem: Unreadable, rule: str
    ) -> None:
        """Unreadable records sharing one unreadable value."""
        from keepfor.report.model import UnreadableRow

        for key in keys:
            self.unreadable(UnreadableRow(source, str(key), problem, rule))

    def held(self, row: HeldRow) -> None:
        """One held record, with the reasons of the holds that hold it (asked only of a
        format that :attr:`lists_held`)."""
        raise NotImplementedError(f"{type(self).__name__} lists no held records")

    @abstractmethod
    def finish(self, report: Report) -> None:
        """The aggregates, once every row has been written."""
