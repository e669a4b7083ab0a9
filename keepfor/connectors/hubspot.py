"""The ``hubspot`` kind of source: the objects (contacts, deals...) of a HubSpot account,
read through the CRM v3 objects API.

::

    [sources.crm]
    kind = "hubspot"
    url = "https://api.hubapi.com"     # any base URL: tests point it at a local server
    token = "${HUBSPOT_TOKEN}"         # a private app's access token
    object = "contacts"                # or "deals", "companies", a custom object's type
    category = "contact"               # every object is a contact; or:
    # category_column = "lifecyclestage"
    timezone = "UTC"                   # zone of date-times written without an offset

    [sources.crm.fields]               # rule field = CRM property
    last_activity_at = "notes_last_updated"

Objects are read with the search endpoint, the predicate pushed down into
``filterGroups`` where it fits (:mod:`keepfor.connectors.hubspot_filters`; a
superset), and each object re-tested in Python
(:class:`~keepfor.connectors.streamed.StreamedSource`). HubSpot gives date and
date-time properties as epoch-millisecond texts (midnight UTC for a date-only one):
they reach the rules as dates and UTC date-times; a value that is no number is passed
on as it is (the engine reads an ISO text, and lists anything else as unreadable). An
object's key is its id. Acting on objects: :mod:`keepfor.connectors.hubspot_write`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from keepfor.abc import ActionTarget, Keyed
from keepfor.connectors.crm import CrmSource, api_url
from keepfor.connectors.hubspot_client import SEARCH_PAGE, HubSpotClient, Retry, search_body
from keepfor.connectors.hubspot_filters import (
    NONE,
    Plan,
    Properties,
    as_groups,
    plan_filters,
)
from keepfor.connectors.sections import Section
from keepfor.engine.cutoffs import Predicate
from keepfor.engine.rules import ValueKind
from keepfor.errors import quoted

if TYPE_CHECKING:
    from keepfor.actions.settings import ActionSettings
    from keepfor.actions.trail import Trail

__all__ = [
    "KEYS",
    "STATE_DB",
    "HubSpotSettings",
    "HubSpotSource",
    "open_hubspot",
    "parse_hubspot",
]

STATE_DB = True
"""A CRM is no database of keepfor's: its audit, holds and marks live in ``state_db``."""

KEYS = ("url", "token", "object", "category", "category_column", "timezone", "fields")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BY_ID = 100
"""Ids one search asks for (``IN`` takes 100 values)."""


@dataclass(frozen=True)
class HubSpotSettings:
    """One HubSpot account's object type and how its properties map to rule fields."""

    url: str
    token: str = field(repr=False)
    object: str = "contacts"
    fields: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"


def parse_hubspot(section: Section) -> HubSpotSettings:
    """A ``kind = "hubspot"`` section, every key checked (the token is checked by the
    server when the source is opened)."""
    section.only(KEYS)
    url = api_url(section)
    object_type = section.text("object") or "contacts"
    if not object_type.replace("_", "").isalnum():
        raise section.error(f"object must be an object type's name, not {quoted(object_type)}")
    fields, constants, timezone = section.mapping()
    return HubSpotSettings(
        url=url,
        token=section.expanded("token"),
        object=object_type,
        fields=fields,
        constants=constants,
        timezone=timezone,
    )


def open_hubspot(name: str, settings: HubSpotSettings, state_url: str) -> HubSpotSource:
    """The source (no I/O until it is read)."""
    return HubSpotSource(name, settings, state_url)


class HubSpotSource(CrmSource[HubSpotSettings, HubSpotClient]):
    """A HubSpot account's objects of one type, read through the search API."""

    def __init__(
        self,
        name: str,
        settings: HubSpotSettings,
        state_url: str | None,
        *,
        retry: Retry | None = None,
        page: int = SEARCH_PAGE,
    ) -> None:
        super().__init__(name, settings, state_url)
        self.page = page
        self._retry = retry
        self._types: dict[str, str] | None = None

    def new_client(self) -> HubSpotClient:
        return HubSpotClient(
            self.where(), self.settings.url, self.settings.token, retry=self._retry
        )

    @property
    def types(self) -> dict[str, str]:
        """Each property of the object type with its HubSpot type (read once)."""
        if self._types is None:
            self._types = self.client.properties(self.settings.object)
        return self._types

    def open(self) -> None:
        """The server answers and takes the token."""
        _ = self.types

    def known_fields(self) -> set[str] | None:
        return set(self.types)

    def plan(self, predicate: Predicate | None) -> Plan:
        """The filter groups a search for the predicate sends (a superset)."""
        props = Properties(self.reader.fields, self.reader.constants, self.types, self._kinds)
        return plan_filters(predicate, props)

    def properties_for(self, fields: Collection[str]) -> list[str]:
        """The properties that hold these rule fields."""
        names = (self.reader.name_of(f) for f in fields if f not in self.reader.constants)
        return sorted({n for n in names if n in self.types})

    def records(self, fields: Collection[str], hint: Predicate | None) -> Iterator[Keyed]:
        plan = self.plan(hint)
        if plan == NONE:
            return
        wanted = self.properties_for(fields)
        for found in self.client.search(self.settings.object, as_groups(plan), wanted, self.page):
            yield Keyed(str(found["id"]), self.read(self.raw(found), fields))

    def raw(self, found: Mapping[str, Any]) -> dict[str, Any]:
        """An object's properties, epoch-millisecond texts of the date properties the
        rules read as dates made dates (``date``) or UTC date-times."""
        props = dict(found.get("properties") or {})
        dated = {self.reader.name_of(f) for f, k in self._kinds.items() if k is ValueKind.DATE}
        for name in dated & props.keys():
            props[name] = from_epoch_ms(props[name], self.types.get(name) == "date")
        return props

    def fetch(self, keys: Collection[Any], fields: Collection[str]) -> Iterator[Keyed]:
        """The objects with these ids that exist now (a search for 100 ids at a time)."""
        texts = [self.key.text(k) for k in keys]
        for key, props in self.by_id(texts, self.properties_for(fields)).items():
            yield Keyed(key, self.read(self.raw({"properties": props}), fields))

    def by_id(self, keys: Sequence[str], properties: Collection[str]) -> dict[str, dict[str, Any]]:
        """The properties of the objects with these ids that exist now: a search with
        ``IN`` on the id, :data:`BY_ID` ids at a time."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), BY_ID):
            chunk = list(keys[start : start + BY_ID])
            groups = [[{"propertyName": "hs_object_id", "operator": "IN", "values": chunk}]]
            found = self.client.search(self.settings.object, groups, sorted(properties), self.page)
            out.update((str(o["id"]), dict(o.get("properties") or {})) for o in found)
        return out

    def get(self, key: Any, fields: Collection[str]) -> dict[str, Any] | None:
        found = self.client.read(
            self.settings.object, self.key.text(key), self.properties_for(fields)
        )
        return None if found is None else self.read(self.raw(found), fields)

    def target(self, settings: ActionSettings, trail: Trail | None) -> ActionTarget:
        """Acts through the API (:class:`~keepfor.connectors.hubspot_write.HubSpotTarget`)."""
        from keepfor.connectors.hubspot_write import HubSpotTarget

        return HubSpotTarget(self, settings, trail)

    def dry_run_query(self, predicate: Predicate) -> str:
        plan = self.plan(predicate)
        if plan == NONE:
            return f"nothing to ask: no object can be due ({predicate!r})"
        fields = self._kinds or {}
        body = search_body(as_groups(plan), self.properties_for(fields), self.page, None)
        ask = f"POST {self.settings.url}/crm/v3/objects/{self.settings.object}/search"
        return (
            f"{ask} {json.dumps(body)} (every page, restarted past the last id every "
            f"10,000), then test each object in Python: {predicate!r}"
        )


def from_epoch_ms(value: Any, date_only: bool) -> Any:
    """An epoch-millisecond text as a date (``date_only``: the UTC day) or an aware UTC
    date-time; anything else as it is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit():
        return value
    try:
        moment = _EPOCH + timedelta(milliseconds=int(text))
    except OverflowError:
        return value  # past the calendar: the engine lists it as unreadable
    if date_only:
        return date(moment.year, moment.month, moment.day)
    return moment
