"""The ``bottlecrm`` kind of source: the contacts of a self-hosted BottleCRM
(``django-crm``), read through its REST API.

::

    [sources.crm]
    kind = "bottlecrm"
    url = "https://crm.example.com"    # the server's root (its API is under /api/)
    token = "${BOTTLECRM_TOKEN}"       # a personal access token (bcrm_pat_...)
    category = "contact"               # every contact is a contact; or:
    # category_column = "source"       # the category is in a property
    timezone = "UTC"                   # zone of date-times written without an offset
    page_size = 100                    # contacts a list request asks for
    concurrency = 4                    # requests at once when acting (no bulk endpoints)

    [sources.crm.fields]               # rule field = contact property
    last_activity_at = "updated_at"

Contacts are streamed page by page and each predicate is tested in Python
(:class:`~keepfor.connectors.streamed.StreamedSource`); where the predicate bounds the
field read from ``created_at``, the list asks only for contacts created in that range
(``created_at__gte`` / ``__lte``, a superset). ``created_at`` and ``updated_at`` are
the dates every contact has: map a rule's anchor to them where no better date exists.
A contact's key is its id (a UUID). Acting on contacts:
:mod:`keepfor.connectors.bottlecrm_write`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keepfor.abc import ActionTarget, Keyed
from keepfor.connectors.bottlecrm_client import BottleCrmClient, in_parallel
from keepfor.connectors.bottlecrm_range import DateRange, created_range
from keepfor.connectors.crm import CrmSource, api_url
from keepfor.connectors.sections import Section
from keepfor.engine.cutoffs import Predicate
from keepfor.errors import quoted

if TYPE_CHECKING:
    from keepfor.actions.settings import ActionSettings
    from keepfor.actions.trail import Trail

__all__ = [
    "KEYS",
    "STATE_DB",
    "BottleCrmSettings",
    "BottleCrmSource",
    "open_bottlecrm",
    "parse_bottlecrm",
]

STATE_DB = True
"""A CRM is no database of keepfor's: its audit, holds and marks live in ``state_db``."""

KEYS = (
    "url",
    "token",
    "category",
    "category_column",
    "timezone",
    "fields",
    "page_size",
    "concurrency",
)

CREATED = "created_at"


@dataclass(frozen=True)
class BottleCrmSettings:
    """One BottleCRM server and how its contacts map to rule fields."""

    url: str
    token: str = field(repr=False)
    fields: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    page_size: int = 100
    concurrency: int = 4


def parse_bottlecrm(section: Section) -> BottleCrmSettings:
    """A ``kind = "bottlecrm"`` section, every key checked (the token is checked by the
    server when the source is opened)."""
    section.only(KEYS)
    url = api_url(section)
    fields, constants, timezone = section.mapping()
    return BottleCrmSettings(
        url=url,
        token=section.expanded("token"),
        fields=fields,
        constants=constants,
        timezone=timezone,
        page_size=_count(section, "page_size", 100, 1_000),
        concurrency=_count(section, "concurrency", 4, 32),
    )


def _count(section: Section, key: str, default: int, most: int) -> int:
    value = section.body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise section.error(f"{key} must be a whole number from 1 to {most}, not {quoted(value)}")
    return value


def open_bottlecrm(name: str, settings: BottleCrmSettings, state_url: str) -> BottleCrmSource:
    """The source (no I/O until it is opened)."""
    return BottleCrmSource(name, settings, state_url)


class BottleCrmSource(CrmSource[BottleCrmSettings, BottleCrmClient]):
    """A BottleCRM server's contacts, read through its API."""

    def new_client(self) -> BottleCrmClient:
        return BottleCrmClient(
            self.where(), self.settings.url, self.settings.token,
            page_size=self.settings.page_size,
        )  # fmt: skip

    def open(self) -> None:
        """The server answers and takes the token."""
        self.client.count()

    def range_of(self, predicate: Predicate | None) -> DateRange:
        """The ``created_at`` dates of every contact the predicate may hold for."""
        names = [f for f in self._kinds if self.reader.name_of(f) == CREATED]
        if CREATED not in self.reader.fields and CREATED not in self.reader.constants:
            names.append(CREATED)
        ranges = [created_range(predicate, name) for name in dict.fromkeys(names)]
        if any(r.empty for r in ranges):
            return DateRange(empty=True)
        lows = [r.low for r in ranges if r.low is not None]
        highs = [r.high for r in ranges if r.high is not None]
        return DateRange(max(lows) if lows else None, min(highs) if highs else None)

    def records(self, fields: Collection[str], hint: Predicate | None) -> Iterator[Keyed]:
        span = self.range_of(hint)
        if span.empty:
            return
        for contact in self.client.contacts(span.filters()):
            yield Keyed(str(contact["id"]), self.read(contact, fields))

    def fetch(self, keys: Collection[Any], fields: Collection[str]) -> Iterator[Keyed]:
        """The contacts with these ids that exist now, read one by one (a few at once)."""
        texts = [self.key.text(k) for k in keys]
        for key, contact, error in in_parallel(
            self.client.contact, texts, self.settings.concurrency
        ):
            if error is not None:
                raise error
            if contact is not None:
                yield Keyed(key, self.read(contact, fields))

    def get(self, key: Any, fields: Collection[str]) -> dict[str, Any] | None:
        contact = self.client.contact(self.key.text(key))
        return None if contact is None else self.read(contact, fields)

    def known_fields(self) -> set[str] | None:
        return None  # a contact's properties, custom fields included, vary by org

    def target(self, settings: ActionSettings, trail: Trail | None) -> ActionTarget:
        """Acts through the API (:class:`~keepfor.connectors.bottlecrm_write.BottleCrmTarget`)."""
        from keepfor.connectors.bottlecrm_write import BottleCrmTarget

        return BottleCrmTarget(self, settings, trail)

    def dry_run_query(self, predicate: Predicate) -> str:
        filters = self.range_of(predicate).filters()
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        ask = f"GET {self.settings.url}/api/contacts/" + (f"?{query}" if query else "")
        return f"{ask} (every page), then test each contact in Python: {predicate!r}"
