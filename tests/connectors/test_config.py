"""``keepfor.toml``: every source read and checked, every fault one line naming file and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepfor.connectors.config import load_config
from keepfor.connectors.sql import ColumnKind
from keepfor.errors import SourceError

GOOD = """\
[sources.orders]
url = "sqlite:///shop.db"
table = "orders"
key = "order_no"
category = "order"
timezone = "Europe/London"

[sources.orders.fields]
placed_at = "ordered_on"

[sources.orders.zones]
ordered_on = "America/New_York"

[sources.orders.kinds]
ordered_on = "local"
paid_on = "date"

[sources.crm]
url = "postgresql+psycopg://app:${KEEPFOR_TEST_SECRET}@db.example:5432/crm"
table = "public.contacts"
category_column = "kind"
"""


def _write(tmp_path: Path, text: str, name: str = "keepfor.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_several_sources_with_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPFOR_TEST_SECRET", "s3cret")
    path = _write(tmp_path, GOOD)
    orders, crm = load_config(path)

    assert orders.name == "orders"
    # a relative SQLite path is read from the config file's folder, not the working one
    assert orders.url == f"sqlite:///{(tmp_path / 'shop.db').resolve()}"
    m = orders.mapping
    assert m is not None
    assert m.table == "orders"
    assert m.key == "order_no"
    assert dict(m.constants) == {"category": "order"}
    assert dict(m.fields) == {"placed_at": "ordered_on"}
    assert m.timezone == "Europe/London"
    assert dict(m.zones) == {"ordered_on": "America/New_York"}
    assert dict(m.kinds) == {"ordered_on": ColumnKind.LOCAL, "paid_on": ColumnKind.DATE}
    assert m.source == "orders"
    assert m.origin == str(path)

    assert crm.name == "crm"
    # ${VAR} is expanded in the url
    assert crm.url == "postgresql+psycopg://app:s3cret@db.example:5432/crm"
    c = crm.mapping
    assert c is not None
    assert c.table == "public.contacts"
    assert c.key is None
    assert dict(c.constants) == {}
    # category_column maps the category field to a column
    assert dict(c.fields) == {"category": "kind"}
    assert c.timezone == "UTC"
    assert dict(c.zones) == {}
    assert dict(c.kinds) == {}


def test_a_source_without_a_table_is_keepfors_store(tmp_path: Path) -> None:
    path = _write(tmp_path, '[sources.store]\nurl = "sqlite:///keepfor.db"\n')
    (source,) = load_config(path)
    assert source.name == "store"
    assert source.mapping is None
    assert source.url == f"sqlite:///{(tmp_path / 'keepfor.db').resolve()}"


def test_an_absolute_sqlite_path_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "x.db"
    path = _write(tmp_path, f'[sources.a]\nurl = "sqlite:///{db}"\ntable = "t"\n')
    (source,) = load_config(path)
    assert source.url == f"sqlite:///{db}"


def test_a_relative_config_path_resolves_against_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    _write(sub, '[sources.a]\nurl = "sqlite:///data/x.db"\ntable = "t"\n')
    monkeypatch.chdir(tmp_path)
    (source,) = load_config("conf/keepfor.toml")
    assert source.url == f"sqlite:///{(sub / 'data' / 'x.db').resolve()}"


def _one_line_error(path: Path, *fragments: str) -> str:
    with pytest.raises(SourceError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


BASE = '[sources.orders]\nurl = "sqlite:///shop.db"\ntable = "orders"\n'


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param("[sources.orders\nurl = 1\n", ("not valid TOML",), id="bad-toml"),
        pytest.param(
            "[source.orders]\nurl = 'x'\n", ("unknown table 'source'", "'sources'"), id="top-level"
        ),
        pytest.param("", ("no sources",), id="empty"),
        pytest.param("[sources]\n", ("no sources",), id="no-sources"),
        pytest.param("sources = 3\n", ("no sources",), id="sources-not-a-table"),
        pytest.param(
            "[sources]\norders = 'x'\n", ("source 'orders'", "must be a table"), id="not-a-table"
        ),
        pytest.param(
            BASE + 'tabel = "x"\n',
            ("source 'orders'", "unknown key 'tabel'", "did you mean 'table'?"),
            id="unknown-key",
        ),
        pytest.param(
            BASE + 'catgory_column = "kind"\n',
            ("source 'orders'", "did you mean 'category_column'?"),
            id="unknown-key-2",
        ),
        pytest.param(
            BASE + 'customer = "customer_id"\n',
            (
                "unknown key 'customer'; a column the rules read as a field goes under "
                '[sources.orders.fields] (customer = "COLUMN")',
            ),
            id="a-field-mapped-in-the-wrong-table",
        ),
        pytest.param(
            '[sources.orders]\ndb = "sqlite:///x.db"\ntable = "orders"\n',
            ("source 'orders'", "unknown key 'db' (did you mean 'url'?)"),
            id="db-as-on-the-command-line",
        ),
        pytest.param(
            '[sources.orders]\ntable = "orders"\n', ("source 'orders'", "needs 'url'"), id="no-url"
        ),
        pytest.param(
            '[sources.orders]\nurl = "sqlite:///x.db"\ncategory = "order"\n',
            ("source 'orders'", "'category' needs 'table'"),
            id="no-table",
        ),
        pytest.param(
            BASE + 'category = "order"\ncategory_column = "kind"\n',
            ("source 'orders'", "not both"),
            id="category-twice",
        ),
        pytest.param(
            BASE + 'timezone = "Europe/Londn"\n',
            (
                "source 'orders'",
                "unknown time zone 'Europe/Londn'",
                "did you mean 'Europe/London'?",
            ),
            id="bad-zone",
        ),
        pytest.param(
            BASE + '[sources.orders.zones]\nplaced = "Amerca/New_York"\n',
            ("source 'orders'", "'Amerca/New_York'", "did you mean 'America/New_York'?"),
            id="bad-column-zone",
        ),
        pytest.param(
            BASE + '[sources.orders.kinds]\nplaced = "datetime"\n',
            ("source 'orders'", "kinds.placed", "date, instant, local"),
            id="bad-kind",
        ),
        pytest.param(BASE + "key = 3\n", ("source 'orders'", "'key' must be text"), id="int-key"),
        pytest.param(
            '[sources.orders]\nurl = ["a"]\ntable = "t"\n',
            ("source 'orders'", "'url' must be text"),
            id="list-url",
        ),
        pytest.param(
            BASE + 'category = ""\n', ("source 'orders'", "'category' must be text"), id="blank"
        ),
        pytest.param(
            BASE + "timezone = true\n", ("source 'orders'", "'timezone' must be text"), id="bool"
        ),
        pytest.param(
            BASE + "[sources.orders.fields]\nplaced_at = 3\n",
            ("source 'orders'", "[fields] must map names to text"),
            id="fields-int",
        ),
        pytest.param(
            BASE + 'fields = "placed_at"\n',
            ("source 'orders'", "[fields] must map names to text"),
            id="fields-text",
        ),
        pytest.param(
            '[sources.orders]\nurl = "not a url"\ntable = "t"\n',
            ("source 'orders'", "not a database URL"),
            id="bad-url",
        ),
    ],
)
def test_every_fault_is_one_line_naming_file_and_source(
    tmp_path: Path, text: str, fragments: tuple[str, ...]
) -> None:
    _one_line_error(_write(tmp_path, text), *fragments)


def test_a_missing_file(tmp_path: Path) -> None:
    message = _one_line_error(tmp_path / "nope.toml", "no such file")
    assert not (tmp_path / "nope.toml").exists()
    assert message.startswith(str(tmp_path / "nope.toml"))


def test_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "keepfor.toml"
    path.write_bytes(b"\xff\xfe\x00bad")
    _one_line_error(path, "cannot read")


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "keepfor.toml"
    folder.mkdir()
    _one_line_error(folder)


def test_the_second_source_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + '[sources.crm]\nurl = "sqlite:///c.db"\nkye = "id"\n')
    message = _one_line_error(path, "source 'crm'", "'kye'", "did you mean 'key'?")
    assert "source 'orders'" not in message


def test_an_unparseable_url_hides_its_password(tmp_path: Path) -> None:
    path = _write(tmp_path, '[sources.crm]\nurl = "postgresql://u:s3cret@h:port/x"\ntable = "t"\n')
    message = _one_line_error(path, "source 'crm'", "not a database URL")
    assert "s3cret" not in message
