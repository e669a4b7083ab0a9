"""``keepfor.toml`` URLs: ``${VAR}`` values mean themselves, unset ones are an error naming
the variable, the file and the source, and URLs keepfor cannot use get a hint."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from keepfor.connectors.config import load_config
from keepfor.errors import SourceError
from tests.cli.conftest import SHOP_PACK, assert_bad_input, invoke


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "keepfor.toml"
    path.write_text(f'[sources.crm]\nurl = "{url}"\ntable = "contacts"\n', encoding="utf-8")
    return path


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPFOR_TEST_USER", "app@crm")
    monkeypatch.setenv("KEEPFOR_TEST_PASSWORD", "se@cret:/?#%")
    monkeypatch.delenv("KEEPFOR_TEST_UNSET", raising=False)


@pytest.mark.usefixtures("secrets")
def test_a_password_variable_is_the_password(tmp_path: Path) -> None:
    path = config(
        tmp_path, "postgresql+psycopg://${KEEPFOR_TEST_USER}:${KEEPFOR_TEST_PASSWORD}@db:5432/crm"
    )
    [source] = load_config(path)
    url = make_url(source.url)
    assert (url.username, url.password) == ("app@crm", "se@cret:/?#%")
    assert (url.host, url.port, url.database) == ("db", 5432, "crm")


@pytest.mark.usefixtures("secrets")
def test_an_unset_variable_names_itself_the_file_and_the_source(tmp_path: Path) -> None:
    path = config(tmp_path, "postgresql+psycopg://app:${KEEPFOR_TEST_UNSET}@db/crm")
    with pytest.raises(SourceError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: source 'crm': url: the environment variable KEEPFOR_TEST_UNSET "
        "(in ${KEEPFOR_TEST_UNSET}) is not set"
    )


@pytest.mark.usefixtures("secrets")
def test_a_password_variable_never_shows_in_an_error(tmp_path: Path) -> None:
    path = config(tmp_path, "postgres://app:${KEEPFOR_TEST_PASSWORD}@db/crm?sslmode=require")
    with pytest.raises(SourceError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "write postgresql+psycopg://app:***@db/crm?sslmode=require" in message
    assert "cret" not in message


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        (
            "postgres://u@db/crm",
            ["SQLAlchemy does not know 'postgres://'", "postgresql+psycopg://"],
        ),
        ("mysql://u@db/crm", ["write mysql+pymysql://u@db/crm"]),
        ("mariadb://u@db/crm", ["write mysql+pymysql://u@db/crm"]),
    ],
)
def test_urls_keepfor_cannot_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, fragments: list[str]
) -> None:
    monkeypatch.setattr("keepfor.database._installed", lambda module: False)
    path = config(tmp_path, url)
    with pytest.raises(SourceError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: source 'crm': url: ")
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_a_query_password_stays_in_the_url(tmp_path: Path) -> None:
    [source] = load_config(config(tmp_path, "postgresql+psycopg://u@db/crm?password=s3cret"))
    assert make_url(source.url).query == {"password": "s3cret"}


def test_report_names_the_unset_variable_in_one_line(tmp_path: Path) -> None:
    path = config(tmp_path, "${KEEPFOR_TEST_UNSET_URL}")
    pack = tmp_path / "shop.yaml"
    pack.write_text(SHOP_PACK, encoding="utf-8")
    run = invoke("report", "--rules", pack, "--config", path, "--at", "2026-11-22")
    assert_bad_input(run, str(path), "source 'crm'", "KEEPFOR_TEST_UNSET_URL", "is not set")


def test_report_hides_a_query_password_of_a_dead_server(tmp_path: Path) -> None:
    pack = tmp_path / "shop.yaml"
    pack.write_text(SHOP_PACK, encoding="utf-8")
    url = "postgresql+psycopg://u@127.0.0.1:1/db?password=s3cret&connect_timeout=2"
    run = invoke("report", "--rules", pack, "--db", url, "--table", "t", "--at", "2026-11-22")
    line = assert_bad_input(run, "password=***")
    assert "s3cret" not in line
