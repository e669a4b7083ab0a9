"""A real BottleCRM server for the tests: ``django-crm`` 1.35 in its own virtual
environment (:mod:`tests.servers.bottlecrm_venv`), on SQLite, on 127.0.0.1.

Once per test session the database is built (tables from the models, ``migrate
--run-syncdb``, a few seconds), with a user, an org, :data:`CONTACTS` seeded and a
personal access token made through the API (``POST /api/profile/tokens/``, with a JWT
the admin script mints). Each test gets a copy of that database and a server of its
own on a free port, stopped by its pid when the test ends.

Where Python 3.12 or the install is missing the tests skip, saying why; under
``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.bottlecrm_venv import VenvError, ensure_venv

__all__ = ["CONTACTS", "BottleCrm", "Template", "bottlecrm_fixture", "bottlecrm_template"]

HERE = Path(__file__).parent
SECRET = secrets.token_urlsafe(48)
"""The servers' Django secret key (this session's)."""


def _contacts() -> list[dict[str, Any]]:
    """57 contacts (so 100-a-page, 10-a-page and 7-a-page reads all end on a part
    page), created every 71 days and 5 hours from 2015, each updated 200 days later."""
    start = datetime(2015, 1, 3, 8, 30, tzinfo=UTC)
    out = []
    for i in range(57):
        created = start + timedelta(days=71 * i, hours=5 * i)
        out.append(
            {
                "first_name": f"First{i}",
                "last_name": f"Last{i}",
                "email": f"person{i}@example.com",
                "phone": f"+4420790{i:05d}",
                "city": ["London", "Leeds", "Bath"][i % 3],
                "source": ["web", "event", "referral"][i % 3],
                "description": f"notes on person {i}",
                "created_at": created.isoformat(),
                "updated_at": (created + timedelta(days=200)).isoformat(),
            }
        )
    return out


CONTACTS = _contacts()
"""What every test's server holds (ids in :attr:`Template.ids`, in this order)."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"BottleCRM is needed in CI: {reason}")
    pytest.skip(f"BottleCRM unavailable: {reason}")


@dataclass(frozen=True)
class Template:
    """The session's database: copied for each test."""

    python: Path
    site: Path
    database: Path
    token: str
    ids: tuple[str, ...]


@dataclass
class BottleCrm:
    """One test's running server."""

    url: str
    token: str
    ids: tuple[str, ...]
    database: Path
    process: subprocess.Popen[bytes]

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client of the API, authenticated by the token."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def contact(self, key: str) -> dict[str, Any] | None:
        """One contact as the API shows it now (None: gone)."""
        with self.client() as http:
            response = http.get(f"/api/contacts/{key}/")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        found: dict[str, Any] = response.json()["contact_obj"]
        return found


def _environment(site: Path, database: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bottlecrm_settings",
        "PYTHONPATH": str(site),
        "KEEPFOR_BOTTLECRM_DB": str(database),
        "SECRET_KEY": SECRET,
        "ENV_TYPE": "dev",
    }


def _run(python: Path, site: Path, database: Path, *args: str, stdin: str = "") -> str:
    """A command in BottleCRM's Python, in the site folder; its output."""
    result = subprocess.run(
        [str(python), *args],
        input=stdin, capture_output=True, text=True, check=False, cwd=site,
        env=_environment(site, database),
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(python: Path, site: Path, database: Path, token: str) -> BottleCrm:
    """gunicorn serving BottleCRM on the database, on a free port, once it answers."""
    port = _free_port()
    log = open(database.with_suffix(".log"), "wb")  # noqa: SIM115 (the server's, kept open)
    process = subprocess.Popen(
        [str(python), "-m", "gunicorn", "crm.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--threads", "8", "--timeout", "60"],
        cwd=database.parent, env=_environment(site, database), stdout=log, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    server = BottleCrm(f"http://127.0.0.1:{port}", token, (), database, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = database.with_suffix(".log").read_text(errors="replace")
            raise RuntimeError(f"BottleCRM exited ({process.returncode}):\n{text[-3000:]}")
        try:
            if httpx.get(f"{server.url}/healthz/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError("BottleCRM did not answer within 60 s")


def stop_server(server: BottleCrm) -> None:
    """The server stopped, by its own pid."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def build_template(folder: Path) -> Template:
    """The session's database: tables, user, org, contacts, a personal access token."""
    try:
        python = ensure_venv()
    except VenvError as error:
        _unavailable(str(error))
    site = folder / "site"
    site.mkdir()
    shutil.copy(HERE / "bottlecrm_settings.py", site)
    shutil.copy(HERE / "bottlecrm_admin.py", site)
    database = folder / "template.sqlite3"
    _run(python, site, database, "-m", "django", "migrate", "--run-syncdb", "-v", "0")
    made = json.loads(_run(python, site, database, "bottlecrm_admin.py", "setup"))
    ids = json.loads(
        _run(python, site, database, "bottlecrm_admin.py", "seed", stdin=json.dumps(CONTACTS))
    )
    server = start_server(python, site, database, "")
    try:
        answer = httpx.post(
            f"{server.url}/api/profile/tokens/",
            json={"name": "keepfor tests"},
            headers={"Authorization": f"Bearer {made['jwt']}"},
            timeout=30,
        )
        answer.raise_for_status()
        token = answer.json()["token"]
    finally:
        stop_server(server)
    return Template(python, site, database, token, tuple(ids))


_BUILT: list[Template] = []
"""The session's template, once built: test modules that import the fixtures each get a
fixture of their own, and all share this."""


@pytest.fixture(scope="session")
def bottlecrm_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The session's BottleCRM database (built once)."""
    if not _BUILT:
        _BUILT.append(build_template(tmp_path_factory.mktemp("bottlecrm")))
    return _BUILT[0]


@pytest.fixture(name="bottlecrm")
def bottlecrm_fixture(bottlecrm_template: Template, tmp_path: Path) -> Iterator[BottleCrm]:
    """A BottleCRM server of this test's own, on a copy of the session's database."""
    database = tmp_path / "bottlecrm" / "crm.sqlite3"
    database.parent.mkdir()
    shutil.copy(bottlecrm_template.database, database)
    template = bottlecrm_template
    server = start_server(template.python, template.site, database, template.token)
    server.ids = template.ids
    try:
        yield server
    finally:
        stop_server(server)
