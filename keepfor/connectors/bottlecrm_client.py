"""BottleCRM's REST API, as keepfor uses it: contacts listed page by page, one contact
read, changed (``PATCH``) or deleted, each authenticated by a personal access token.

429s, 5xx and timeouts are retried as :mod:`keepfor.connectors.http` says (the same
policy as HubSpot's). Every other failure is one :class:`SourceError` line naming the
source and the server, never the token: a server that does not answer, a token refused
(BottleCRM answers 401 or 403), an answer that is not the JSON the contacts API gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

import httpx

from keepfor.connectors.http import Retry, send
from keepfor.errors import SourceError

__all__ = ["BottleCrmClient", "in_parallel"]

T = TypeVar("T")
R = TypeVar("R")

_CONTACTS = "/api/contacts/"


class BottleCrmClient:
    """The contacts endpoints of one BottleCRM server (``base``: its root URL)."""

    def __init__(
        self,
        where: str,
        base: str,
        token: str,
        *,
        page_size: int = 100,
        timeout: float = 30,
        retry: Retry | None = None,
    ) -> None:
        self.where = where
        self.base = base.rstrip("/")
        self.page_size = page_size
        self.retry = retry or Retry()
        self._http = httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def contacts(self, filters: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every contact the filters admit, newest first, a page at a time; a contact
        seen on an earlier page (the list shifted while it was read) is given once."""
        seen: set[str] = set()
        offset = 0
        while True:
            params = {**(filters or {}), "limit": str(self.page_size), "offset": str(offset)}
            body = self._json("GET", _CONTACTS, params=params)
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise self._error(f"GET {_CONTACTS} gave no list of contacts")
            for contact in results:
                if not isinstance(contact, dict) or "id" not in contact:
                    raise self._error(f"GET {_CONTACTS} gave a contact without an id")
                if contact["id"] not in seen:
                    seen.add(contact["id"])
                    yield contact
            offset += len(results)
            if not results or offset >= int(body.get("count") or 0):
                return

    def count(self) -> int:
        """How many contacts the token can read."""
        body = self._json("GET", _CONTACTS, params={"limit": "1"})
        if not isinstance(body, dict) or not isinstance(body.get("count"), int):
            raise self._error(f"GET {_CONTACTS} gave no count")
        return int(body["count"])

    def contact(self, key: str) -> dict[str, Any] | None:
        """One contact, None if there is none with that id."""
        body = self._json("GET", f"{_CONTACTS}{key}/", missing_ok=True)
        if body is None:
            return None
        found = body.get("contact_obj") if isinstance(body, dict) else None
        if not isinstance(found, dict):
            raise self._error(f"GET {_CONTACTS}{key}/ gave no contact")
        return found

    def patch(self, key: str, values: Mapping[str, Any]) -> bool:
        """Change some of a contact's properties; False if it is gone."""
        return (
            self._json("PATCH", f"{_CONTACTS}{key}/", json=dict(values), missing_ok=True)
            is not None
        )

    def delete(self, key: str) -> bool:
        """Delete a contact; False if it was gone already."""
        return self._json("DELETE", f"{_CONTACTS}{key}/", missing_ok=True) is not None

    def _json(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        """The answer's JSON; None for a 404 where ``missing_ok``."""
        response = send(
            self._http, method, path, retry=self.retry, error=self._error, detail=_detail,
            where=self.where, **kwargs,
        )  # fmt: skip
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code in (401, 403):
            raise self._error(
                f"refused the token (HTTP {response.status_code}{_detail(response)}); "
                "give a valid personal access token of an active user"
            )
        if response.status_code >= 300:
            raise self._error(
                f"answered HTTP {response.status_code} to {method} {path}{_detail(response)}"
            )
        try:
            return response.json()
        except ValueError:
            raise self._error(f"{method} {path} gave no JSON") from None

    def _error(self, what: str) -> SourceError:
        return SourceError(f"{self.where}: BottleCRM at {self.base} {what}")


def _detail(response: httpx.Response) -> str:
    """The server's own reason, short, on one line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        reason = body.get("detail") or body.get("errors") or body.get("message")
        if reason:
            text = " ".join(str(reason).split())
            return f": {text[:200]}"
    return ""


def in_parallel(
    work: Callable[[T], R], items: Iterable[T], workers: int
) -> Iterator[tuple[T, R | None, SourceError | None]]:
    """Each item with what ``work`` gave for it or the :class:`SourceError` it raised,
    as they finish, at most ``workers`` at a time (the CRM has no bulk endpoints)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(work, item): item for item in items}
        for future in as_completed(futures):
            item = futures[future]
            try:
                yield item, future.result(), None
            except SourceError as error:
                yield item, None, error
