"""HubSpot's CRM v3 objects API, as keepfor uses it: search (paged, and restarted past
the 10,000-result cap), one object read, property types, batch update, the GDPR
delete and archive; Bearer token authentication.

429s, 5xx and timeouts are retried as :mod:`keepfor.connectors.http` says; every other
failure is one :class:`SourceError` line naming the source and the server, never the
token (nor is it ever logged).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from keepfor.connectors.http import Retry, send
from keepfor.errors import SourceError

__all__ = ["SEARCH_CAP", "SEARCH_PAGE", "HubSpotClient", "Retry"]

log = logging.getLogger("keepfor.hubspot")

SEARCH_CAP = 10_000
"""A search cannot page past this many results: the client restarts past the last id."""
SEARCH_PAGE = 200
"""The most results a search page gives."""
BATCH = 100
"""The most inputs a batch update takes."""
ID = "hs_object_id"


class HubSpotClient:
    """The objects endpoints of one HubSpot API root (``base``)."""

    def __init__(
        self,
        where: str,
        base: str,
        token: str,
        *,
        timeout: float = 30,
        retry: Retry | None = None,
    ) -> None:
        self.where = where
        self.base = base.rstrip("/")
        self.retry = retry or Retry()
        self._http = httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    # -- reading ---------------------------------------------------------------------

    def properties(self, object_type: str) -> dict[str, str]:
        """Each property of the object type, with its type (``date``, ``datetime``,
        ``number``, ``string``, ``enumeration``, ``bool``...)."""
        body = self._json("GET", f"/crm/v3/properties/{object_type}")
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise self._error(f"GET /crm/v3/properties/{object_type} gave no properties")
        return {
            str(p["name"]): str(p.get("type", "string"))
            for p in results
            if isinstance(p, dict) and "name" in p
        }

    def search(
        self,
        object_type: str,
        groups: Sequence[Sequence[Mapping[str, Any]]],
        properties: Sequence[str],
        page: int = SEARCH_PAGE,
    ) -> Iterator[dict[str, Any]]:
        """Every object some group admits (no groups: every object), by ascending id.
        Paged with ``after``; before the 10,000-result cap the search starts again with
        ``hs_object_id`` greater than the last id read, in every group."""
        last: str | None = None
        while True:
            read = 0
            after: str | None = None
            body = search_body(groups, properties, page, last)
            while True:
                answer = self._json(
                    "POST",
                    f"/crm/v3/objects/{object_type}/search",
                    json=body if after is None else {**body, "after": after},
                )
                results = _results(answer)
                if results is None:
                    raise self._error(f"search on {object_type} gave no results list")
                for found in results:
                    read += 1
                    last = str(found["id"])
                    yield found
                after = _next(answer)
                if after is None or not results:
                    return
                if read + page > SEARCH_CAP:
                    log.debug("search on %s: restarting past id %s", object_type, last)
                    break

    def read(self, object_type: str, key: str, properties: Sequence[str]) -> dict[str, Any] | None:
        """One object, None if there is none with that id (or it is archived)."""
        body = self._json(
            "GET",
            f"/crm/v3/objects/{object_type}/{key}",
            params={"properties": ",".join(properties)},
            missing_ok=True,
        )
        if body is None:
            return None
        if not isinstance(body, dict) or "id" not in body:
            raise self._error(f"GET /crm/v3/objects/{object_type}/{key} gave no object")
        return body

    # -- writing ---------------------------------------------------------------------

    def batch_update(
        self, object_type: str, inputs: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> set[str]:
        """Set properties on objects, :data:`BATCH` a call; the ids updated (an id that
        is gone is left out)."""
        done: set[str] = set()
        for start in range(0, len(inputs), BATCH):
            chunk = inputs[start : start + BATCH]
            body = {"inputs": [{"id": k, "properties": dict(p)} for k, p in chunk]}
            answer = self._json(
                "POST", f"/crm/v3/objects/{object_type}/batch/update", json=body, partial=True
            )
            for result in _results(answer) or []:
                done.add(str(result["id"]))
        return done

    def gdpr_delete(self, key: str) -> bool:
        """Delete a contact permanently (the GDPR delete); False if it was gone already."""
        body = {"objectId": key}
        path = "/crm/v3/objects/contacts/gdpr-delete"
        return self._json("POST", path, json=body, missing_ok=True, empty=True) is not None

    def batch_archive(self, object_type: str, keys: Sequence[str]) -> Iterator[str]:
        """Archive objects (HubSpot can restore them for 90 days), :data:`BATCH` a call,
        yielding each call's ids once it is answered (204: HubSpot says nothing of ids
        that were gone already)."""
        for start in range(0, len(keys), BATCH):
            chunk = list(keys[start : start + BATCH])
            body = {"inputs": [{"id": k} for k in chunk]}
            self._json(
                "POST", f"/crm/v3/objects/{object_type}/batch/archive", json=body, empty=True
            )
            yield from chunk

    def archived(self, object_type: str, key: str) -> bool:
        """Whether the object is archived now (``GET ...?archived=true`` finds only
        archived objects; a purged or unknown id is 404)."""
        path = f"/crm/v3/objects/{object_type}/{key}"
        body = self._json("GET", path, params={"archived": "true"}, missing_ok=True)
        return isinstance(body, dict) and body.get("archived") is True

    # -- one request -----------------------------------------------------------------

    def _json(
        self,
        method: str,
        path: str,
        *,
        missing_ok: bool = False,
        partial: bool = False,
        empty: bool = False,
        **kwargs: Any,
    ) -> Any:
        """The answer's JSON (``empty``: True for a 204); None for a 404 where
        ``missing_ok``; a 207 (some inputs failed) is an answer where ``partial``."""
        response = self._send(method, path, **kwargs)
        status = response.status_code
        if status == 404 and missing_ok:
            return None
        if status in (401, 403):
            raise self._error(
                f"refused the token (HTTP {status}{_detail(response)}); give a private "
                "app's access token with the scopes for this object"
            )
        if status >= 300 or (status == 207 and not partial):
            raise self._error(f"answered HTTP {status} to {method} {path}{_detail(response)}")
        if empty and status == 204:
            return True
        try:
            return response.json()
        except ValueError:
            raise self._error(f"{method} {path} gave no JSON") from None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response, after waiting out 429s and retrying 5xx and timeouts."""
        return send(
            self._http, method, path, retry=self.retry, error=self._error, detail=_detail,
            where=self.where, **kwargs,
        )  # fmt: skip

    def _error(self, what: str) -> SourceError:
        return SourceError(f"{self.where}: HubSpot at {self.base} {what}")


def search_body(
    groups: Sequence[Sequence[Mapping[str, Any]]],
    properties: Sequence[str],
    page: int,
    past: str | None,
) -> dict[str, Any]:
    """A search request: the groups (each also past the id ``past``, where given),
    sorted by ascending id."""
    if past is not None:
        beyond = {"propertyName": ID, "operator": "GT", "value": past}
        groups = [[*g, beyond] for g in groups] if groups else [[beyond]]
    return {
        "filterGroups": [{"filters": [dict(f) for f in g]} for g in groups],
        "sorts": [{"propertyName": ID, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": page,
    }


def _results(answer: Any) -> list[dict[str, Any]] | None:
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) and "id" in r for r in results):
        return None
    return results


def _next(answer: dict[str, Any]) -> str | None:
    paging = answer.get("paging")
    after = paging.get("next", {}).get("after") if isinstance(paging, dict) else None
    return None if after in (None, "") else str(after)


def _detail(response: httpx.Response) -> str:
    """HubSpot's own reason (``message``, ``category``), short, on one line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or not body.get("message"):
        return ""
    text = " ".join(str(body["message"]).split())[:200]
    category = body.get("category")
    return f": {category}: {text}" if category else f": {text}"
