"""The rule packs of a running daemon: loaded again before every run, so a pack edited
while the daemon runs is what the next run (and its audit entries) use; a pack that no
longer loads is refused, logged, and the last good one kept."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from keepfor.daemon.events import Events
from keepfor.engine import RuleSet, load_rules
from keepfor.errors import KeepforError, UsageError

__all__ = ["PackKeeper", "versions"]


def versions(rules: RuleSet) -> dict[str, str]:
    """Each pack's id and version."""
    return {pack.id: pack.version for pack in rules.packs}


class PackKeeper:
    """The last good rules of some paths. Made at start: a pack that does not load then
    is an error (the daemon refuses to start)."""

    def __init__(self, paths: Sequence[str], events: Events) -> None:
        if not paths:
            raise UsageError("give at least one --rules PATH (a pack file or a folder of packs)")
        self.paths = tuple(paths)
        self.events = events
        self.good = load_rules(*self.paths)
        self._lock = threading.Lock()

    def current(self) -> RuleSet:
        """The packs as they are now, or the last good ones if they no longer load."""
        try:
            rules = load_rules(*self.paths)
        except KeepforError as error:
            self.events.emit("pack_refused", "error", error=str(error), kept=versions(self.good))
            return self.good
        with self._lock:
            before, self.good = versions(self.good), rules
        if versions(rules) != before:
            self.events.emit("pack_reloaded", before=before, now=versions(rules))
        return rules
