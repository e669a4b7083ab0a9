"""Acting on HubSpot objects: ``flag`` sets ``flag.column`` to true where one is named
(else keepfor's mark is the flag) and ``anonymise`` rewrites the properties that
``[sources.NAME.anonymise]`` names, both through batch update (100 objects a call);
``archive`` is HubSpot's batch archive (100 a call), which HubSpot can restore for 90
days, so it is never a purge; ``purge`` is the permanent GDPR delete, one contact a
call (only contacts have one: a rule that purges other objects is refused before
anything is read); ``review`` queues in keepfor only.

keepfor cannot share a transaction with HubSpot:
each batch is journalled and audited through
:class:`~keepfor.actions.remote.RemoteTarget`, which also recovers a sweep that
stopped between acting and auditing (:meth:`in_effect`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from keepfor.abc import Keyed
from keepfor.actions.remote import RemoteTarget
from keepfor.actions.settings import ActionSettings, Strategy, StrategyKind
from keepfor.actions.trail import Trail
from keepfor.connectors.anonymise import value_pseudonym
from keepfor.engine import Action
from keepfor.errors import SourceError

if TYPE_CHECKING:
    from keepfor.connectors.hubspot import HubSpotSource

__all__ = ["READ_ONLY", "HubSpotTarget"]

READ_ONLY = frozenset({"hs_object_id", "createdate", "lastmodifieddate"})
"""Properties HubSpot sets itself."""

_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


class HubSpotTarget(RemoteTarget):
    """The actions on a HubSpot account's objects of one type."""

    source: HubSpotSource

    def __init__(
        self, source: HubSpotSource, settings: ActionSettings, trail: Trail | None
    ) -> None:
        super().__init__(source, settings, trail)
        where = source.where()
        if settings.children:
            raise SourceError(f"{where}: purge.children: HubSpot has no child rows to purge")
        for name in [*settings.anonymise, settings.flag_column]:
            if name in READ_ONLY:
                raise SourceError(f"{where}: {name}: HubSpot sets it itself; keepfor cannot")

    @property
    def actions(self) -> frozenset[Action]:
        """Every action on contacts; no purge of other objects (no permanent delete)."""
        if self.source.settings.object == "contacts":
            return frozenset(Action)
        return frozenset(Action) - {Action.PURGE}

    def cannot(self, action: Action) -> str:
        if action is not Action.PURGE:
            return super().cannot(action)
        return (
            f"HubSpot has no permanent delete for {self.source.settings.object} (only "
            "contacts have the GDPR delete); say 'then: archive' (restorable for 90 days, "
            "never a purge) or anonymise"
        )

    @property
    def batch_size(self) -> tuple[int, int]:
        """Batch updates take 100 objects."""
        return 100, 1_000

    def prepare(self, actions: Collection[Action]) -> None:
        """An action this object type cannot take (a purge approved in review) is
        refused before anything is done."""
        refused = sorted(set(actions) - self.actions, key=lambda a: a.severity)
        if refused:
            raise SourceError(f"{self.source.where()}: {self.cannot(refused[0])}")
        super().prepare(actions)

    def act(self, action: Action, records: Sequence[Keyed]) -> Iterator[Any]:
        """Each object acted on; a failure is raised after what was done is given."""
        keys = [self.source.key.text(k.key) for k in records]
        if action is Action.REVIEW or (action is Action.FLAG and not self.settings.flag_column):
            yield from keys  # keepfor's own queue or mark
        elif action is Action.FLAG:
            assert self.settings.flag_column is not None
            column = self.settings.flag_column
            yield from sorted(self._update({k: {column: "true"} for k in keys}))
        elif action is Action.ANONYMISE:
            yield from sorted(self._update(self._anonymised(keys)))
        elif action is Action.ARCHIVE:
            yield from self.source.client.batch_archive(self.source.settings.object, keys)
        else:
            for key in keys:
                if self.source.client.gdpr_delete(key):
                    yield key

    def _update(self, changes: Mapping[str, Mapping[str, Any]]) -> set[str]:
        done = {k for k, c in changes.items() if not c}  # nothing to change: done
        inputs = [(k, c) for k, c in changes.items() if c]
        return done | self.source.client.batch_update(self.source.settings.object, inputs)

    def _anonymised(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each object's new values (read first: a hash or a truncation needs the value;
        an object gone is left out)."""
        names = [n for n, s in self.settings.anonymise.items() if s.kind is not StrategyKind.KEEP]
        current = self.source.by_id(keys, names)
        return {
            key: {
                name: self._value(name, self.settings.anonymise[name], props.get(name))
                for name in names
            }
            for key, props in current.items()
        }

    def _value(self, name: str, strategy: Strategy, value: Any) -> str:
        """The anonymised value as HubSpot takes it ("" clears a property)."""
        if strategy.kind is StrategyKind.NULL or value is None or value == "":
            return ""
        if strategy.kind is StrategyKind.FIXED:
            return strategy.text or ""
        if strategy.kind is StrategyKind.TRUNCATE:
            return str(value)[: strategy.length]
        key = self.trail.key if self.trail is not None else b""
        return value_pseudonym(key, self.source.name, name, value)

    def in_effect(self, action: Action, keys: Sequence[str]) -> set[str]:
        """Of these objects: gone (a purge), archived (found only with ``archived=true``),
        or showing the anonymised values (none, the fixed text, a pseudonym, a truncated
        length), or flagged."""
        names = list(self.settings.anonymise)
        if self.settings.flag_column:
            names.append(self.settings.flag_column)
        current = self.source.by_id(keys, names)
        if action is Action.PURGE:
            return set(keys) - set(current)
        if action is Action.ARCHIVE:
            client, kind = self.source.client, self.source.settings.object
            return {k for k in keys if k not in current and client.archived(kind, k)}
        return {k for k, props in current.items() if self._shows(action, props)}

    def _shows(self, action: Action, props: Mapping[str, Any]) -> bool:
        if action is Action.FLAG:
            column = self.settings.flag_column
            return column is None or str(props.get(column)).lower() == "true"
        if action is not Action.ANONYMISE:
            return True  # review: keepfor's own queue
        for name, strategy in self.settings.anonymise.items():
            value = props.get(name) or ""
            if strategy.kind is StrategyKind.NULL and value != "":
                return False
            if strategy.kind is StrategyKind.FIXED and value not in ("", strategy.text):
                return False
            if strategy.kind is StrategyKind.HASH and value and not _PSEUDONYM.fullmatch(value):
                return False
            if strategy.kind is StrategyKind.TRUNCATE and len(value) > (strategy.length or 0):
                return False
        return True
