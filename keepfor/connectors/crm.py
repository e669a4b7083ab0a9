"""What the CRM sources (:mod:`~keepfor.connectors.hubspot`,
:mod:`~keepfor.connectors.bottlecrm`) share: the API's ``url`` checked, rule fields read
from an object's properties, the object's id as its key, and an API client made on first
use and closed with the source. Each backend says how its client is made and how opening
proves the server answers.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

from keepfor.abc import RecordKey
from keepfor.connectors.sections import Section
from keepfor.connectors.streamed import FieldReader, StreamedSource
from keepfor.errors import quoted

__all__ = ["CrmClient", "CrmSettings", "CrmSource", "api_url"]


class CrmSettings(Protocol):
    """The settings every CRM source has: how properties map to rule fields."""

    @property
    def fields(self) -> Mapping[str, str]: ...

    @property
    def constants(self) -> Mapping[str, Any]: ...

    @property
    def timezone(self) -> str: ...


class CrmClient(Protocol):
    """An API client, closed with its source."""

    def close(self) -> None: ...


def api_url(section: Section) -> str:
    """The section's ``url``, environment variables expanded: the API's root, over HTTP(S)."""
    url = section.expanded("url")
    if not url.startswith(("http://", "https://")):
        raise section.error(f"url must start with http:// or https://, not {quoted(url)}")
    return url


S = TypeVar("S", bound=CrmSettings)
C = TypeVar("C", bound=CrmClient)


class CrmSource(StreamedSource, Generic[S, C]):
    """A CRM's objects, keyed by id, read through an API client ``C`` made on first use
    from the settings ``S``."""

    def __init__(self, name: str, settings: S, state_url: str | None) -> None:
        reader = FieldReader(
            fields=settings.fields, constants=settings.constants, timezone=settings.timezone
        )
        super().__init__(name, reader, state_url)
        self.settings = settings
        self._client: C | None = None

    @property
    def key(self) -> RecordKey:
        return RecordKey("id", str)

    @property
    def client(self) -> C:
        """The API client (made on first use)."""
        if self._client is None:
            self._client = self.new_client()
        return self._client

    @abstractmethod
    def new_client(self) -> C:
        """A client for the settings' server (no I/O yet)."""

    def test_connection(self) -> None:
        self.open()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        super().close()
