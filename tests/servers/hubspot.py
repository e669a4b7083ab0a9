"""A HubSpot-shaped HTTP server for the tests: the CRM v3 objects endpoints keepfor uses,
with their documented request and response shapes, limits and errors.

Run as its own process (``python -m tests.servers.hubspot SEED.json``): it listens on
127.0.0.1 on a free port and prints the port on its first line. The seed file gives
the token, the objects and their property types::

    {"token": "...", "types": {"contacts": {"birthday": "date"}},
     "objects": {"contacts": [{"id": "1", "properties": {"email": "a@b.c"}}]}}

Endpoints: ``POST /crm/v3/objects/{object}/search``, ``GET /crm/v3/objects/{object}``
(list), ``GET|DELETE /crm/v3/objects/{object}/{id}`` (``DELETE`` archives; ``GET
?archived=true`` finds only archived objects), ``POST
/crm/v3/objects/{object}/batch/update``, ``POST /crm/v3/objects/{object}/batch/archive``
(100 ids a call, 204; archived objects leave search, listing and ``GET``), ``POST
/crm/v3/objects/contacts/gdpr-delete`` and ``GET /crm/v3/properties/{object}``, each
behind a Bearer token (401). Under ``/_test/`` (no token): ``GET objects/{object}``
(every object, archived ones too), ``GET requests`` (what was asked, the
``Authorization`` header left out) and ``POST config`` (``rate_limit``: every Nth
request answered 429 with ``Retry-After``; ``faults``: ``[{"path": P, "status": 503,
"count": 2}]``, the next requests to a path answered with that status).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers.hubspot_search import (
    NUMERIC,
    SearchError,
    check_groups,
    epoch_ms,
    id_order,
    matches,
    sort_key,
    stored_value,
    whole_number,
)

__all__ = ["BASE_TYPES", "State", "main"]

BASE_TYPES = {"hs_object_id": "number", "createdate": "datetime", "lastmodifieddate": "datetime"}
"""Properties every object has."""

SEARCH_CAP = 10_000
"""A search cannot page past this many results."""

_OBJECT = re.compile(r"^/crm/v3/objects/([a-z_0-9]+)(?:/([^/]+))?(?:/([a-z-]+))?$")


class HubSpotError(Exception):
    """An error answer in HubSpot's shape."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
            **extra,
        }


class State:
    """The objects, the configuration of faults and the requests seen (one lock)."""

    def __init__(self, seed: dict[str, Any]) -> None:
        self.lock = threading.Lock()
        self.token: str = seed["token"]
        self.read_only: set[str] = set(seed.get("read_only_tokens", []))
        self.types: dict[str, dict[str, str]] = {}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        for name, rows in seed.get("objects", {}).items():
            self.types[name] = {**BASE_TYPES, **seed.get("types", {}).get(name, {})}
            self.objects[name] = {str(row["id"]): self._object(name, row) for row in rows}
        for name, types in seed.get("types", {}).items():
            self.types.setdefault(name, {**BASE_TYPES, **types})
            self.objects.setdefault(name, {})
        self.rate_every = 0
        self.retry_after = "1"
        self.counted = 0
        self.faults: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    def _object(self, name: str, row: dict[str, Any]) -> dict[str, Any]:
        key = str(row["id"])
        props = {k: (None if v is None else str(v)) for k, v in row["properties"].items()}
        props["hs_object_id"] = key
        now = str(int(time.time() * 1000))
        props.setdefault("createdate", now)
        props.setdefault("lastmodifieddate", props["createdate"])
        for prop in props:
            self.types.setdefault(name, dict(BASE_TYPES)).setdefault(prop, "string")
        return {"id": key, "properties": props, "archived": False}


def _iso(ms: str | None) -> str:
    number = epoch_ms(ms)
    if number is None:
        return "1970-01-01T00:00:00Z"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(number) / 1000)) + "Z"


def _public(obj: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
    """An object as the API gives it: the asked properties (null where unset) and the
    ones every object has."""
    props = obj["properties"]
    names = [*BASE_TYPES, *(wanted or [])]
    return {
        "id": obj["id"],
        "properties": {n: props.get(n) for n in dict.fromkeys(names)},
        "createdAt": _iso(props.get("createdate")),
        "updatedAt": _iso(props.get("lastmodifieddate")),
        "archived": obj["archived"],
    }


class Api:
    """The endpoints, on a :class:`State` (each call holds its lock)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def objects_of(self, name: str) -> dict[str, dict[str, Any]]:
        if name not in self.state.objects:
            raise HubSpotError(404, f"Unable to infer object type from: {name}", "OBJECT_NOT_FOUND")
        return self.state.objects[name]

    def search(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        objects, types = self.objects_of(name), self.state.types[name]
        limit = whole_number(body.get("limit", 10), "limit")
        if not 0 <= limit <= 200:
            raise SearchError("limit must be at most 200")
        offset = whole_number(body.get("after", 0) or 0, "after")
        if offset >= SEARCH_CAP:
            raise SearchError(
                f"The search query cannot page past {SEARCH_CAP} results "
                "(after must be less than 10000)"
            )
        groups = body.get("filterGroups") or []
        check_groups(groups, types)
        found = [
            o for o in objects.values()
            if not o["archived"] and matches(o["properties"], groups, types)
        ]  # fmt: skip
        for sort in reversed(body.get("sorts") or [{"propertyName": "hs_object_id"}]):
            prop = sort.get("propertyName")
            if prop not in types:
                raise SearchError(f"Property {prop!r} does not exist")
            numeric = types[prop] in NUMERIC

            def order(obj: dict[str, Any], name: str = prop, numeric: bool = numeric) -> Any:
                return sort_key(obj["properties"], name, numeric)

            found.sort(key=order, reverse=sort.get("direction") == "DESCENDING")
        end = min(offset + limit, len(found), SEARCH_CAP)
        page = [_public(o, body.get("properties")) for o in found[offset:end]]
        answer: dict[str, Any] = {"total": len(found), "results": page}
        if end < len(found) and page:
            answer["paging"] = {"next": {"after": str(end), "link": ""}}
        return answer

    def listing(self, name: str, query: dict[str, list[str]]) -> dict[str, Any]:
        objects = self.objects_of(name)
        limit = min(whole_number(query.get("limit", ["10"])[0], "limit"), 100)
        after = query.get("after", [None])[0]
        wanted = ",".join(query.get("properties", [])).split(",")
        live = sorted((o for o in objects.values() if not o["archived"]), key=id_order)
        if after is not None:
            live = [o for o in live if id_order(o) >= id_order({"id": after})]
        page = live[:limit]
        answer: dict[str, Any] = {"results": [_public(o, wanted) for o in page]}
        if len(live) > limit:
            answer["paging"] = {"next": {"after": live[limit]["id"], "link": ""}}
        return answer

    def read(self, name: str, key: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """One object; with ``archived=true`` only an archived one."""
        obj = self.objects_of(name).get(key)
        archived = query.get("archived", ["false"])[0].lower() == "true"
        if obj is None or obj["archived"] is not archived:
            raise HubSpotError(404, "Object not found", "OBJECT_NOT_FOUND")
        return _public(obj, ",".join(query.get("properties", [])).split(","))

    def batch_update(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        objects, types = self.objects_of(name), self.state.types[name]
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise SearchError("inputs must be a non-empty list")
        if len(inputs) > 100:
            raise SearchError(f"Batch input size of {len(inputs)} exceeds the limit of 100")
        done, missing = [], []
        now = str(int(time.time() * 1000))
        for one in inputs:
            obj = objects.get(str(one.get("id")))
            if obj is None or obj["archived"]:
                missing.append(str(one.get("id")))
                continue
            for prop, value in (one.get("properties") or {}).items():
                types.setdefault(prop, "string")
                obj["properties"][prop] = stored_value(value, types[prop])
            obj["properties"]["lastmodifieddate"] = now
            done.append(_public(obj, list(one.get("properties") or {})))
        answer: dict[str, Any] = {"status": "COMPLETE", "results": done}
        if not missing:
            return 200, answer
        error = {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get"
                 " some objects", "context": {"ids": missing}}  # fmt: skip
        return 207, {**answer, "numErrors": len(missing), "errors": [error]}

    def gdpr_delete(self, body: dict[str, Any]) -> None:
        objects = self.objects_of("contacts")
        key, by = str(body.get("objectId")), body.get("idProperty")
        if by:
            key = next((k for k, o in objects.items() if o["properties"].get(by) == key), "")
        if key not in objects:
            raise HubSpotError(404, "Object not found", "OBJECT_NOT_FOUND")
        del objects[key]

    def archive(self, name: str, key: str) -> None:
        obj = self.objects_of(name).get(key)
        if obj is not None:
            obj["archived"] = True  # HubSpot answers 204 for an unknown id too

    def batch_archive(self, name: str, body: dict[str, Any]) -> None:
        """Archive each input's id (204, unknown ids too; at most 100 inputs)."""
        objects = self.objects_of(name)
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise SearchError("inputs must be a non-empty list")
        if len(inputs) > 100:
            raise SearchError(f"Batch input size of {len(inputs)} exceeds the limit of 100")
        for one in inputs:
            obj = objects.get(str(one.get("id")) if isinstance(one, dict) else "")
            if obj is not None:
                obj["archived"] = True

    def properties(self, name: str) -> dict[str, Any]:
        types = self.state.types.get(name)
        if types is None:
            raise HubSpotError(404, f"Unable to infer object type from: {name}", "OBJECT_NOT_FOUND")
        return {
            "results": [
                {"name": n, "label": n, "type": t, "fieldType": "text"} for n, t in types.items()
            ]
        }


class Handler(BaseHTTPRequestHandler):
    """One request: the test controls, else the API behind the token and the faults."""

    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        state = self.server.state
        try:
            body = json.loads(raw) if raw else {}
            with state.lock:
                if url.path.startswith("/_test/"):
                    status, answer = self._control(method, url.path, body)
                else:
                    status, answer = self._api(method, url.path, parse_qs(url.query), body)
        except json.JSONDecodeError:
            status, answer = 400, HubSpotError(400, "Invalid input JSON", "VALIDATION_ERROR").body
        except SearchError as error:
            status, answer = 400, HubSpotError(400, str(error), "VALIDATION_ERROR").body
        except HubSpotError as error:
            status, answer = error.status, error.body
            if status == 429:
                self._send(status, answer, {"Retry-After": state.retry_after})
                return
        self._send(status, answer)

    def _send(self, status: int, answer: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _control(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        state = self.server.state
        if path == "/_test/requests":
            return 200, state.requests
        if path == "/_test/config" and method == "POST":
            state.rate_every = int(body.get("rate_limit", state.rate_every))
            state.retry_after = str(body.get("retry_after", state.retry_after))
            state.faults = list(body.get("faults", state.faults))
            state.counted = 0
            return 200, {}
        if path.startswith("/_test/objects/"):
            return 200, list(state.objects.get(path.rsplit("/", 1)[1], {}).values())
        raise HubSpotError(404, "no such test endpoint", "OBJECT_NOT_FOUND")

    def _api(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        state = self.server.state
        state.requests.append({"method": method, "path": path, "query": query, "body": body})
        self._gate(method, path)
        api = Api(state)
        if path.startswith("/crm/v3/properties/"):
            return 200, api.properties(path.rsplit("/", 1)[1])
        found = _OBJECT.match(path)
        if found is None:
            raise HubSpotError(404, f"No route for {method} {path}", "OBJECT_NOT_FOUND")
        name, key, verb = found.groups()
        if method == "POST" and key == "search" and verb is None:
            return 200, api.search(name, body)
        if method == "POST" and key == "batch" and verb == "update":
            return api.batch_update(name, body)
        if method == "POST" and key == "batch" and verb == "archive":
            api.batch_archive(name, body)
            return 204, None
        if method == "POST" and name == "contacts" and key == "gdpr-delete":
            api.gdpr_delete(body)
            return 204, None
        if method == "GET" and key is None:
            return 200, api.listing(name, query)
        if method == "GET" and verb is None:
            return 200, api.read(name, str(key), query)
        if method == "DELETE" and key is not None and verb is None:
            api.archive(name, key)
            return 204, None
        raise HubSpotError(405, f"{method} not allowed on {path}", "VALIDATION_ERROR")

    def _gate(self, method: str, path: str) -> None:
        """The token (401; a read-only one 403 on writes), the rate limit (429) and the
        faults injected for this path."""
        state = self.server.state
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token != state.token and token not in state.read_only:
            raise HubSpotError(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication",
                "INVALID_AUTHENTICATION",
            )
        writes = method == "DELETE" or path.endswith(
            ("/batch/update", "/batch/archive", "/gdpr-delete")
        )
        if token in state.read_only and writes:
            raise HubSpotError(403, "This app hasn't been granted all required scopes",
                               "MISSING_SCOPES")  # fmt: skip
        state.counted += 1
        if state.rate_every and state.counted % state.rate_every == 0:
            raise HubSpotError(429, "You have reached your secondly limit.", "RATE_LIMITS",
                               errorType="RATE_LIMIT", policyName="SECONDLY")  # fmt: skip
        for fault in state.faults:
            if fault["path"] == path and fault.get("count", 1) > 0:
                fault["count"] = fault.get("count", 1) - 1
                raise HubSpotError(int(fault.get("status", 503)), "injected fault", "INTERNAL")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state


def main(argv: list[str]) -> None:
    """Serve the seed file ``argv[0]``, printing the port first."""
    state = State(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    server = Server(state)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
