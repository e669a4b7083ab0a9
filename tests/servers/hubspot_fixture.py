"""Starting the HubSpot-shaped server (:mod:`tests.servers.hubspot`) for a test: its own
process on 127.0.0.1, seeded from a JSON file, stopped by its pid when the test ends;
and :class:`HubSpot`, the test's handle on it (URL, token, state, faults).

:data:`CONTACTS` is the default seed: 57 contacts with a date-only property
(``date_of_birth``), a date-time one (``notes_last_updated``) and a ``lifecyclestage``.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.hubspot_search import date_ms

__all__ = [
    "CONTACTS",
    "TYPES",
    "HubSpot",
    "contact_rows",
    "hubspot_factory_fixture",
    "hubspot_fixture",
    "start_hubspot",
]

ROOT = Path(__file__).resolve().parents[2]

TYPES = {
    "contacts": {
        "email": "string",
        "lifecyclestage": "enumeration",
        "date_of_birth": "date",
        "notes_last_updated": "datetime",
        "hs_lead_status": "enumeration",
        "keepfor_flag": "bool",
    }
}


def ms(moment: datetime) -> str:
    """A date-time property's value: epoch milliseconds."""
    return str(int(moment.timestamp() * 1000))


def contact_rows(count: int, start: int = 1) -> list[dict[str, Any]]:
    """``count`` contacts with ids from ``start``: created every 61 days and 7 hours from
    2014, last noted 400 days later (the last one at 23:30 UTC on New Year's Eve, a day
    boundary in most zones), a stage, and a birthday on most."""
    origin = datetime(2014, 1, 5, 3, 15, tzinfo=UTC)
    rows = []
    for i in range(count):
        created = origin + timedelta(days=61 * i, hours=7 * i)
        noted = created + timedelta(days=400)
        if i % 11 == 10:
            noted = datetime(2019 + i % 5, 12, 31, 23, 30, tzinfo=UTC)
        props: dict[str, Any] = {
            "email": f"person{i}@example.com",
            "lifecyclestage": ["lead", "customer", "subscriber"][i % 3],
            "createdate": ms(created),
            "notes_last_updated": ms(noted),
        }
        if i % 7:
            props["date_of_birth"] = date_ms(date(1960 + i % 40, 1 + i % 12, 1 + i % 28))
        if i % 13 == 12:
            props["notes_last_updated"] = "not a date"
        rows.append({"id": str(start + i), "properties": props})
    return rows


CONTACTS = contact_rows(57)


@dataclass
class HubSpot:
    """A running server: where it is, its token, and a look at its state."""

    url: str
    token: str
    process: subprocess.Popen[str] | None = None

    def _test(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_test/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def objects(self, name: str = "contacts") -> dict[str, dict[str, Any]]:
        """Every object by id, archived ones too (``archived`` says)."""
        return {o["id"]: o for o in self._test("GET", f"objects/{name}")}

    def requests(self) -> list[dict[str, Any]]:
        """Every API request so far (method, path, query, body; never the token)."""
        result: list[dict[str, Any]] = self._test("GET", "requests")
        return result

    def configure(
        self,
        *,
        rate_limit: int = 0,
        retry_after: str = "1",
        faults: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Every ``rate_limit``th request answered 429 (0: never), and the faults."""
        body = {"rate_limit": rate_limit, "retry_after": retry_after, "faults": list(faults)}
        self._test("POST", "config", body)

    def stop(self) -> None:
        """Stop the server, by its own process."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_hubspot(
    folder: Path,
    objects: Mapping[str, list[dict[str, Any]]] | None = None,
    types: Mapping[str, Mapping[str, str]] | None = None,
    read_only_tokens: Sequence[str] = (),
) -> HubSpot:
    """A server in its own process, seeded with these objects (default: :data:`CONTACTS`)."""
    token = "pat-na1-" + secrets.token_hex(16)
    seed = {
        "token": token,
        "read_only_tokens": list(read_only_tokens),
        "types": dict(types if types is not None else TYPES),
        "objects": dict(objects if objects is not None else {"contacts": CONTACTS}),
    }
    seed_file = folder / "hubspot-seed.json"
    seed_file.write_text(json.dumps(seed), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.hubspot", str(seed_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        process.wait(10)
        raise RuntimeError(f"the HubSpot test server did not start: {line!r}")
    return HubSpot(f"http://127.0.0.1:{line}", token, process)


@pytest.fixture(name="hubspot")
def hubspot_fixture(tmp_path: Path) -> Iterator[HubSpot]:
    """A server seeded with :data:`CONTACTS`, stopped after the test."""
    server = start_hubspot(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(name="hubspot_factory")
def hubspot_factory_fixture(tmp_path: Path) -> Iterator[Callable[..., HubSpot]]:
    """Start servers with other seeds (``start_hubspot``'s arguments); all stopped after."""
    started: list[HubSpot] = []

    def start(*args: Any, **kwargs: Any) -> HubSpot:
        folder = tmp_path / f"hubspot{len(started)}"
        folder.mkdir()
        started.append(start_hubspot(folder, *args, **kwargs))
        return started[-1]

    try:
        yield start
    finally:
        for server in started:
            server.stop()
