"""Acting on BottleCRM contacts: ``anonymise`` rewrites the properties that
``[sources.NAME.anonymise]`` names with ``PATCH``, ``purge`` deletes with ``DELETE``,
``flag`` sets ``flag.column`` to true where one is named (else keepfor's mark is the
flag), ``review`` queues in keepfor only.

BottleCRM has no bulk endpoints, so a batch is sent one contact a request, at most
``concurrency`` at once. keepfor cannot share a transaction with it: each batch is
journalled and audited through :class:`~keepfor.actions.remote.RemoteTarget`, which
also recovers a sweep that stopped between acting and auditing (:meth:`in_effect`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from keepfor.abc import Keyed
from keepfor.actions.remote import RemoteTarget
from keepfor.actions.settings import ActionSettings, Strategy, StrategyKind
from keepfor.actions.trail import Trail
from keepfor.connectors.anonymise import value_pseudonym
from keepfor.connectors.bottlecrm_client import in_parallel
from keepfor.engine import Action
from keepfor.errors import SourceError

if TYPE_CHECKING:
    from keepfor.connectors.bottlecrm import BottleCrmSource

__all__ = ["REQUIRED", "BottleCrmTarget"]

REQUIRED = frozenset({"first_name", "last_name"})
"""Contact properties BottleCRM refuses to empty."""

_READ_ONLY = frozenset({"id", "created_at", "updated_at", "created_by", "org", "phone_e164"})
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


class BottleCrmTarget(RemoteTarget):
    """The actions on a BottleCRM server's contacts."""

    source: BottleCrmSource

    def __init__(
        self, source: BottleCrmSource, settings: ActionSettings, trail: Trail | None
    ) -> None:
        super().__init__(source, settings, trail)
        self._check(settings)

    def _check(self, settings: ActionSettings) -> None:
        where = self.source.where()
        if settings.children:
            raise SourceError(
                f"{where}: purge.children: BottleCRM deletes a contact's own related rows"
            )
        for name, strategy in settings.anonymise.items():
            if name in _READ_ONLY:
                raise SourceError(f"{where}: anonymise.{name}: BottleCRM does not let it change")
            if name in REQUIRED and strategy.kind is StrategyKind.NULL:
                raise SourceError(
                    f"{where}: anonymise.{name}: BottleCRM needs a value there; use "
                    "'hash' or 'fixed:TEXT', not 'null'"
                )
        if settings.flag_column in _READ_ONLY:
            raise SourceError(f"{where}: flag.column: BottleCRM does not let it change")

    @property
    def actions(self) -> frozenset[Action]:
        """Every action but ``archive``: BottleCRM has no restorable archive."""
        return frozenset(Action) - {Action.ARCHIVE}

    @property
    def batch_size(self) -> tuple[int, int]:
        """Small: each record is a request of its own."""
        return 100, 1_000

    def act(self, action: Action, records: Sequence[Keyed]) -> Iterator[Any]:
        """Each contact acted on, a few requests at once; the first failure is raised
        after every contact that was done has been given."""
        if action is Action.REVIEW or (action is Action.FLAG and not self.settings.flag_column):
            yield from (k.key for k in records)  # keepfor's own queue or mark
            return
        work = {
            Action.PURGE: self._purge,
            Action.ANONYMISE: self._anonymise,
            Action.FLAG: self._flag,
        }[action]
        failure: SourceError | None = None
        keys = [self.source.key.text(k.key) for k in records]
        for key, done, error in in_parallel(work, keys, self.source.settings.concurrency):
            if error is not None:
                failure = failure or error
            elif done:
                yield key
        if failure is not None:
            raise failure

    def _purge(self, key: str) -> bool:
        return self.source.client.delete(key)

    def _flag(self, key: str) -> bool:
        assert self.settings.flag_column is not None
        return self.source.client.patch(key, {self.settings.flag_column: True})

    def _anonymise(self, key: str) -> bool:
        """The named properties rewritten (read first: a hash or a truncation needs the
        value); False if the contact is gone."""
        contact = self.source.client.contact(key)
        if contact is None:
            return False
        changes = {
            name: self._anonymised(name, strategy, contact.get(name))
            for name, strategy in self.settings.anonymise.items()
            if strategy.kind is not StrategyKind.KEEP
        }
        if not changes:
            return True
        return self.source.client.patch(key, changes)

    def _anonymised(self, name: str, strategy: Strategy, value: Any) -> Any:
        if strategy.kind is StrategyKind.NULL:
            return None
        if strategy.kind is StrategyKind.FIXED:
            return strategy.text
        if value is None or value == "":
            return value
        if strategy.kind is StrategyKind.TRUNCATE:
            return str(value)[: strategy.length]
        key = self.trail.key if self.trail is not None else b""
        return value_pseudonym(key, self.source.name, name, value)

    def in_effect(self, action: Action, keys: Sequence[str]) -> set[str]:
        """Of these contacts: gone (a purge), or showing the anonymised values (null,
        the fixed text, a pseudonym, a truncated length), or flagged."""
        found: set[str] = set()
        for key, contact, error in in_parallel(
            self.source.client.contact, list(keys), self.source.settings.concurrency
        ):
            if error is not None:
                raise error
            if action is Action.PURGE:
                if contact is None:
                    found.add(key)
            elif contact is not None and self._shows(action, contact):
                found.add(key)
        return found

    def _shows(self, action: Action, contact: dict[str, Any]) -> bool:
        if action is Action.FLAG:
            column = self.settings.flag_column
            return column is None or contact.get(column) is True
        if action is not Action.ANONYMISE:
            return True  # review: keepfor's own queue
        for name, strategy in self.settings.anonymise.items():
            value = contact.get(name)
            if strategy.kind is StrategyKind.NULL and value not in (None, ""):
                return False
            if strategy.kind is StrategyKind.FIXED and value != strategy.text:
                return False
            if strategy.kind is StrategyKind.HASH and value and not _PSEUDONYM.fullmatch(value):
                return False
            if strategy.kind is StrategyKind.TRUNCATE and len(str(value or "")) > (
                strategy.length or 0
            ):
                return False
        return True
