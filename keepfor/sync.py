"""keepfor inside a sync job: one source, the rules and a clock, in ten lines::

    import keepfor

    with keepfor.Sync.from_config("keepfor.toml", "crm", rules="rules/") as sync:
        for record in changed_contacts:          # as they stream past
            decision = sync.decide(record)       # keep, flag, anonymise, purge...
        report = sync.report()                   # the six buckets, counted
        result = sync.sweep(apply=False)         # what a sweep would do; apply=True acts

A sweep that applies needs the audit key (``audit_key=`` or the config's key file or
``KEEPFOR_AUDIT_KEY``), takes the source's sweeping lock as ``keepfor sweep --apply``
does, and audits every action.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keepfor.abc import ActionTarget, Clock, Keyed, RecordSource, ReportWriter
from keepfor.actions.settings import ActionSettings
from keepfor.actions.sweep import SweepResult, SweptSource, run_sweep
from keepfor.actions.trail import Trail
from keepfor.clock import SystemClock
from keepfor.connectors.targets import acting_on, target_for
from keepfor.engine import Decision, Instant, RuleSet, load_rules
from keepfor.engine.evaluate import Evaluator
from keepfor.engine.predicates import All
from keepfor.errors import UsageError
from keepfor.report.build import build_report
from keepfor.report.model import DueRow, Report, UnreadableRow

if TYPE_CHECKING:
    from keepfor.evaluators.session import DurableSession

__all__ = ["Sync"]


class Sync:
    """One source under one schedule: decide records, report, sweep. The clock is the
    one place "now" is read (inject a fixed one in tests)."""

    def __init__(
        self,
        source: RecordSource,
        rules: RuleSet | str | Path,
        *,
        clock: Clock | None = None,
        settings: ActionSettings | None = None,
        audit_key: bytes | None = None,
        audit_key_file: Path | None = None,
    ) -> None:
        self.source = source
        self.rules = rules if isinstance(rules, RuleSet) else load_rules(rules)
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or ActionSettings()
        self._key = audit_key
        self._key_file = audit_key_file
        self._evaluator = Evaluator(self.rules)
        self._opened = False

    @classmethod
    def from_config(
        cls,
        config: str | Path,
        source: str,
        *,
        rules: RuleSet | str | Path,
        state_db: str | None = None,
        **options: Any,
    ) -> Sync:
        """The source named ``source`` of a ``keepfor.toml``, with its action settings
        and audit key file; ``state_db``: where a CRM's or a file's audit, holds and
        marks are kept, instead of the config's."""
        from keepfor.connectors.config import load_settings

        found = {s.name: s for s in load_settings(config).sources}
        if source not in found:
            raise UsageError(f"{config}: no source {source!r} (sources: {', '.join(found)})")
        entry = found[source]
        if state_db is not None:
            if entry.state_url is None:
                raise UsageError(f"{config}: source {source!r} keeps keepfor's tables itself")
            entry = replace(entry, state_url=state_db)
        options.setdefault("settings", entry.actions)
        options.setdefault("audit_key_file", entry.audit_key_file)
        return cls(entry.open(), rules, **options)

    def __enter__(self) -> Sync:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect, and check the rules against what the source holds."""
        if not self._opened:
            self.source.open()
            self.source.check(self.rules)
            self._opened = True

    def close(self) -> None:
        self.source.close()
        self._opened = False

    def now(self) -> Instant:
        return self.clock.now()

    def records(self) -> Iterator[Keyed]:
        """Every record of the source with the fields the rules read, as they stream."""
        self.open()
        return self.source.select(All(()), self.rules.fields())

    def decide(self, record: Mapping[str, Any], at: Instant | None = None) -> Decision:
        """What the rules decide of one record (its fields named as the rules name
        them), now or at ``at``; a :class:`Decision` explains itself."""
        return self._evaluator(record, at or self.now())

    def decide_many(
        self, records: Iterable[Mapping[str, Any]], at: Instant | None = None
    ) -> Iterator[Decision]:
        """Decisions for records as they stream past (records of one case decided once)."""
        instant = at or self.now()
        for record in records:
            yield self._evaluator(record, instant)

    def session(self) -> DurableSession:
        """A durable_rules session of these rules and this clock, for posting record
        changes and events and getting decisions back (``post_record``, ``post_event``,
        ``forget``: :class:`keepfor.evaluators.DurableSession`); it needs durable-rules."""
        from keepfor.evaluators.session import DurableSession

        return DurableSession(self.rules, clock=self.clock)

    def report(self, writer: ReportWriter | None = None, at: Instant | None = None) -> Report:
        """The source's report: counts per bucket, due rules, forecast; ``writer`` also
        gets every due and unreadable record (None: counts only, nothing kept)."""
        self.open()
        return build_report(self.rules, [self.source], at or self.now(), writer or _Counts())

    def sweep(
        self, *, apply: bool = False, limit: int | None = None, at: Instant | None = None
    ) -> SweepResult:
        """What is due, acted on with ``apply`` (audited, under the source's lock), else
        only counted: a dry run."""
        self.open()
        trail = Trail(self._audit_key(), self.rules, self.clock) if apply else None

        def make(source: RecordSource) -> ActionTarget:
            return target_for(source, self.settings, trail)

        ready = partial(acting_on, clock=self.clock)
        swept = [SweptSource(self.source, self.settings, make, ready)]
        return run_sweep(self.rules, swept, at or self.now(), apply=apply, limit=limit)

    def _audit_key(self) -> bytes:
        if self._key is not None:
            return self._key
        from keepfor.audit import load_key

        return load_key(self._key_file)


class _Counts(ReportWriter):
    """A report that keeps only its aggregates."""

    def row(self, row: DueRow) -> None: ...

    def unreadable(self, row: UnreadableRow) -> None: ...

    def due_group(self, *args: Any) -> None: ...

    def unreadable_group(self, *args: Any) -> None: ...

    def finish(self, report: Report) -> None: ...
