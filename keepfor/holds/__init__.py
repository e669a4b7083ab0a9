"""Holds: a record, or every record of a customer, that nothing may be done to.

``keepfor hold add|list|release`` keep them in ``keepfor_holds``, in the database of the
records they are about (:mod:`.table`); :mod:`.store` adds, lists and releases them;
:mod:`.sql` is the condition the SQL sources compile :class:`keepfor.engine.predicates.Held`
to, so that the database itself leaves held records out of what is due.
"""

from keepfor.holds.model import Hold, HoldState
from keepfor.holds.store import active_holds, add, list_holds, release
from keepfor.holds.table import ensure, exists

__all__ = ["Hold", "HoldState", "active_holds", "add", "ensure", "exists", "list_holds", "release"]
