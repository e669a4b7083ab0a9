"""``keepfor report`` at its edges: every path ends in a bucket, or in one line and exit 2
before anything is written; never exit 1, never a traceback.

* ``--at`` far from today (the chart looks 24 months ahead, the forecast 365 days);
* rule ids two packs share, always shown as ``pack/rule``;
* sources: those opened before one that fails are closed; each is checked once;
* awkward data: dates that are not dates, a boolean that is not one, a missing table,
  key or field, an ``--output`` that is a folder;
* messages quote what they are given cut short, and count in words that agree.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.abc import Keyed, RecordKey, RecordSource
from keepfor.cli.sources import SourceOptions, open_sources
from keepfor.connectors.sql import SqlTableSource
from keepfor.engine.anchors import MonthDay
from keepfor.engine.periods import Period
from keepfor.errors import SourceError
from tests.cli.conftest import Run, assert_bad_input, invoke, run_keepfor

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
SHOP_DB = f"sqlite:///{ROOT / 'examples' / 'shop.db'}"
FORMATS = ("table", "json", "html", "csv")
AT = "2026-01-15T12:00:00Z"


def assert_clean_exit(run: Run) -> None:
    """Exit 0, something printed, nothing on stderr."""
    assert "Traceback" not in run.stderr, run.stderr
    assert run.exit_code == 0, (run.exit_code, run.stderr)
    assert run.stdout
    assert run.stderr == "", run.stderr


# -- --at far from today ---------------------------------------------------------------

RANGE = "0002-01-01 .. 9997-12-31"

REFUSED_AT = [
    "0001-01-01",
    "0001-12-31",
    "9998-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",  # before the calendar in UTC
    "0002-01-01T00:00:00+14:00",  # 0001-12-31 in UTC
    "0002-01-01T05:00:00Z",  # 0001-12-31 in UTC-12
    "9997-12-31T23:00:00-05:00",  # 9998-01-01 in UTC
    "9997-12-31T12:00:00Z",  # 9998-01-01 in UTC+14
    "9999-12-31T23:59:59-05:00",  # past the calendar in UTC
]
ACCEPTED_AT = [
    "0002-01-01",
    "9997-12-31",
    "0002-01-01T12:00:00Z",
    "9997-12-31T09:59:59Z",
    "9997-12-31T23:59:59+14:00",
]


@pytest.mark.parametrize("at", REFUSED_AT)
@pytest.mark.parametrize("fmt", FORMATS)
def test_report_refuses_an_instant_near_the_ends_of_the_calendar(at: str, fmt: str) -> None:
    run = invoke("report", "--rules", RULES, "--db", SHOP_DB, "--at", at, "--format", fmt)
    assert_bad_input(run, "--at", repr(at), RANGE)


@pytest.mark.parametrize("at", REFUSED_AT)
@pytest.mark.parametrize("as_json", [False, True])
def test_explain_refuses_an_instant_near_the_ends_of_the_calendar(at: str, as_json: bool) -> None:
    record = ROOT / "examples" / "records" / "order.json"
    flags = ["--json"] if as_json else []
    run = invoke("explain", "--rules", RULES, "--record", record, "--at", at, *flags)
    assert_bad_input(run, "--at", repr(at), RANGE)


@pytest.mark.parametrize("at", ["0001-01-01", "9998-01-01"])
def test_the_installed_script_refuses_them_too(at: str) -> None:
    """The command of the issue, end to end: it used to end in an internal error."""
    for fmt in FORMATS:
        run = run_keepfor("report", "--rules", RULES, "--db", SHOP_DB, "--at", at, "--format", fmt)
        assert_bad_input(run, "--at", RANGE)


@pytest.fixture(scope="module")
def far_zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packs of ``rules/``, half in UTC+14, half in UTC-12: the ends of the world."""
    folder = tmp_path_factory.mktemp("far-zones")
    for n, path in enumerate(sorted(RULES.glob("*.yaml"))):
        zone = "Pacific/Kiritimati" if n % 2 else "Etc/GMT+12"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        assert sum(line.startswith("timezone:") for line in lines) == 1, path
        lines = [f"timezone: {zone}\n" if line.startswith("timezone:") else line for line in lines]
        (folder / path.name).write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.mark.parametrize("at", ACCEPTED_AT)
def test_the_ends_of_the_range_work_in_every_format_and_zone(at: str, far_zones: Path) -> None:
    for rules in (RULES, far_zones):
        for fmt in FORMATS:
            run = invoke("report", "--rules", rules, "--db", SHOP_DB, "--at", at, "--format", fmt)
            assert_clean_exit(run)
        record = ROOT / "examples" / "records" / "order.json"
        assert_clean_exit(invoke("explain", "--rules", rules, "--record", record, "--at", at))


# -- rule ids shared by two packs ------------------------------------------------------


def _pack(name: str, rules: str) -> str:
    return f'pack: {name}\nversion: "1"\ntimezone: UTC\nrules:\n{rules}'


SHARED_A = _pack(
    "pack-a",
    """\
  - id: orders
    applies_to: {category: order}
    retain: {from: placed_at, for: P1Y}
    then: purge
  - id: complaints
    applies_to: {category: complaint}
    retain: {from: placed_at, for: P1Y}
    then: anonymise
""",
)
SHARED_B = _pack(
    "pack-b",
    """\
  - id: orders
    applies_to: {category: trade-order}
    retain: {from: closed_at, for: P1Y}
    then: review
""",
)


@pytest.fixture
def shared_ids(tmp_path: Path) -> tuple[Path, str]:
    """Two packs with a rule ``orders`` each, and a table: one record due on pack-a's
    ``orders``, one waiting on pack-b's, one due on ``complaints`` (an id of one pack),
    one that pack-a's ``orders`` cannot read."""
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "a.yaml").write_text(SHARED_A, encoding="utf-8")
    (folder / "b.yaml").write_text(SHARED_B, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE records (id INTEGER PRIMARY KEY, category TEXT, "
                "placed_at DATE, closed_at DATE)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO records VALUES (1, 'order', '2020-01-01', NULL), "
                "(2, 'trade-order', '2020-01-01', NULL), (3, 'complaint', '2020-01-01', NULL), "
                "(4, 'order', 'n/a', NULL)"
            )
        )
    engine.dispose()
    return folder, url


def _shared_report(shared_ids: tuple[Path, str], fmt: str) -> Run:
    folder, url = shared_ids
    run = invoke(
        "report", "--rules", folder, "--db", url, "--table", "records", "--at", AT, "--format", fmt
    )
    assert run.exit_code == 0, run.stderr
    (warning,) = run.stderr.splitlines()  # of record 4
    assert warning.startswith("keepfor: warning: source 'records': 1 unreadable record")
    return run


def test_shared_ids_in_csv(shared_ids: tuple[Path, str]) -> None:
    rows = list(csv.DictReader(io.StringIO(_shared_report(shared_ids, "csv").stdout)))
    assert sorted((r["key"], r["rule"], r["status"]) for r in rows) == [
        ("1", "pack-a/orders", "due"),
        ("3", "complaints", "due"),
        ("4", "pack-a/orders", "unreadable"),
    ]


def test_shared_ids_in_json(shared_ids: tuple[Path, str]) -> None:
    data = json.loads(_shared_report(shared_ids, "json").stdout)
    assert sorted((r["key"], r["rule"]) for r in data["due"]) == [
        ("1", "pack-a/orders"),
        ("3", "complaints"),
    ]
    assert sorted((r["pack"], r["rule"], r["count"]) for r in data["summary"]["by_rule"]) == [
        ("pack-a", "complaints", 1),
        ("pack-a", "pack-a/orders", 1),
    ]
    assert data["waiting"]["by_rule"] == [{"rule": "pack-b/orders", "count": 1}]
    assert [(r["key"], r["rule"]) for r in data["unreadable"]] == [("4", "pack-a/orders")]


def test_shared_ids_in_the_table(shared_ids: tuple[Path, str]) -> None:
    text = _shared_report(shared_ids, "table").stdout
    words = Counter(text.replace("│", " ").split())
    assert words["pack-a/orders"] == 2  # its due row, and the summary by rule
    assert words["pack-b/orders"] == 1  # waiting
    assert words["complaints"] == 2
    assert words["orders"] == 0  # never bare: which pack's would it be?


def test_shared_ids_in_html(shared_ids: tuple[Path, str]) -> None:
    text = _shared_report(shared_ids, "html").stdout
    assert "<td>pack-a/orders<br><span class=muted>pack-a</span></td>" in text  # its due row
    assert "<td>pack-a</td><td>pack-a/orders</td><td>purge</td>" in text  # due by rule
    assert "<td>pack-b/orders</td>" in text  # waiting
    assert "<td>complaints<br>" in text
    assert ">orders<" not in text


# -- sources: closed when a later one fails, checked once ------------------------------


SIMPLE_PACK = _pack(
    "shop",
    """\
  - id: orders
    applies_to: {category: order}
    retain: {from: placed_at, for: P1Y}
    then: purge
""",
)


@pytest.fixture
def simple_pack(tmp_path: Path) -> Path:
    path = tmp_path / "simple.yaml"
    path.write_text(SIMPLE_PACK, encoding="utf-8")
    return path


@pytest.fixture
def records_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE records (id INTEGER PRIMARY KEY, category TEXT, placed_at DATE)")
        )
        conn.execute(sa.text("INSERT INTO records VALUES (1, 'order', '2020-01-01')"))
    engine.dispose()
    return url


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the table sources closed, in order (each really closed too)."""
    names: list[str] = []
    real = SqlTableSource.close

    def spy(self: SqlTableSource) -> None:
        names.append(self.name)
        real(self)

    monkeypatch.setattr(SqlTableSource, "close", spy)
    return names


def _config(tmp_path: Path, first: str, second: str) -> Path:
    path = tmp_path / "keepfor.toml"
    path.write_text(
        f'[sources.first]\nurl = "{first}"\ntable = "records"\n\n'
        f'[sources.second]\nurl = "{second}"\ntable = "records"\n',
        encoding="utf-8",
    )
    return path


def _dead_server() -> str:
    """A PostgreSQL URL where nothing listens (a port just closed)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://u@127.0.0.1:{port}/x"


@pytest.mark.parametrize("second", ["missing-file", "dead-server"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failing_source_closes_those_opened_before_it(
    tmp_path: Path, simple_pack: Path, records_db: str, closed: list[str], second: str, fmt: str
) -> None:
    bad = f"sqlite:///{tmp_path / 'nope.db'}" if second == "missing-file" else _dead_server()
    config = _config(tmp_path, records_db, bad)
    run = invoke("report", "--rules", simple_pack, "--config", config, "--at", AT, "--format", fmt)
    assert_bad_input(run, "source 'second'", "table 'records'")
    # every source made is closed, last first (making one does no I/O)
    assert closed == ["second", "first"]


class _Spy(RecordSource):
    """A source that records what is done to it; ``fails`` to open."""

    def __init__(self, name: str, log: list[str], fails: bool = False) -> None:
        self.name = name
        self.log = log
        self.fails = fails
        log.append(f"make {name}")

    def open(self) -> None:
        self.log.append(f"open {self.name}")
        if self.fails:
            raise SourceError(f"source '{self.name}': does not answer")

    @property
    def key(self) -> RecordKey:
        return RecordKey("id")

    def close(self) -> None:
        self.log.append(f"close {self.name}")

    def check(self, rules: Any) -> None:
        raise AssertionError("not checked here")

    def select(self, predicate: Any, fields: Any) -> Iterator[Keyed]:
        raise AssertionError("not read here")

    def count(self, predicates: Any) -> dict[str, int]:
        raise AssertionError("not counted here")

    def dry_run_query(self, predicate: Any) -> str:
        raise AssertionError("no query here")


class _Options(SourceOptions):
    def __init__(self, makers: list[Callable[[], RecordSource]]) -> None:
        super().__init__(None, (), None, None, None, None)
        self._makers = makers

    def makers(self) -> list[Callable[[], RecordSource]]:
        return self._makers


def _fails_to_open() -> RecordSource:
    raise SourceError("source 'c': no such SQLite database file")


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        # the third cannot be made (a bad URL): the two before it are closed, last first
        ("make", ["make a", "make b", "close b", "close a"]),
        # the second does not answer: every source was made, so every one is closed
        (
            "open",
            ["make a", "make b", "make c", "open a", "open b", "close c", "close b", "close a"],
        ),
    ],
)
def test_open_sources_closes_every_source_it_opened(how: str, expected: list[str]) -> None:
    log: list[str] = []
    makers: list[Callable[[], RecordSource]] = [
        lambda: _Spy("a", log),
        lambda: _Spy("b", log, fails=how == "open"),
        _fails_to_open if how == "make" else (lambda: _Spy("c", log)),
    ]
    with pytest.raises(SourceError), open_sources(_Options(makers)):
        raise AssertionError("the sources did not all open")
    assert log == expected


def test_open_sources_closes_them_after_use() -> None:
    log: list[str] = []
    with open_sources(_Options([lambda: _Spy("a", log), lambda: _Spy("b", log)])) as sources:
        assert [s.name for s in sources] == ["a", "b"]
        log.append("used")
    assert log == ["make a", "make b", "open a", "open b", "used", "close b", "close a"]


@pytest.mark.parametrize("fmt", [*FORMATS, "--show-query"])
def test_each_source_is_checked_once_per_report(
    tmp_path: Path, simple_pack: Path, records_db: str, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    checked: Counter[str] = Counter()
    real = SqlTableSource.check

    def spy(self: SqlTableSource, rules: Any) -> None:
        checked[self.name] += 1
        real(self, rules)

    monkeypatch.setattr(SqlTableSource, "check", spy)
    shutil.copy(records_db.removeprefix("sqlite:///"), tmp_path / "other.db")
    config = _config(tmp_path, records_db, f"sqlite:///{tmp_path / 'other.db'}")
    args = ["--show-query"] if fmt == "--show-query" else ["--format", fmt]
    run = invoke("report", "--rules", simple_pack, "--config", config, "--at", AT, *args)
    assert run.exit_code == 0, run.stderr
    assert checked == {"first": 1, "second": 1}


# -- awkward data ----------------------------------------------------------------------

EDGE_PACK = _pack(
    "shop",
    """\
  - id: orders
    applies_to: {category: order}
    where: {paid: true}
    retain: {from: placed_at, for: P1Y}
    then: purge
""",
)


def _edge_table(path: Path, placed_at: str, paid: str, *, missing: str | None = None) -> str:
    """An SQLite table ``orders``: record 1 holds the SQL literals given, record 2 is a
    plain due order. ``paid`` is a column with no type; ``missing`` leaves a column out."""
    columns = {"id": "INTEGER PRIMARY KEY", "category": "TEXT", "paid": "", "placed_at": "DATE"}
    values = {"id": ("1", "2"), "category": ("'order'",) * 2, "paid": (paid, "1")}
    values["placed_at"] = (placed_at, "'2015-01-01'")
    names = [name for name in columns if name != missing]
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        made = ", ".join(f"{name} {columns[name]}".strip() for name in names)
        conn.execute(sa.text(f"CREATE TABLE orders ({made})"))
        for row in range(2):
            cells = ", ".join(values[name][row] for name in names)
            conn.execute(sa.text(f"INSERT INTO orders ({', '.join(names)}) VALUES ({cells})"))
    engine.dispose()
    return url


UNREADABLE = [
    # (placed_at literal, paid literal, the field, the value as the report shows it)
    ("'01/12/2015'", "1", "placed_at", "01/12/2015"),
    ("'2019-5-1'", "1", "placed_at", "2019-5-1"),
    ("'n/a'", "1", "placed_at", "n/a"),
    ("20150105", "1", "placed_at", "20150105"),
    ("'2015-01-01'", "'yes'", "paid", "yes"),
    ("'2015-01-01'", "2", "paid", "2"),
]


def _unreadable_in(fmt: str, stdout: str, field: str, value: str) -> None:
    """Record 1 is listed as unreadable (field and value), record 2 as due."""
    if fmt == "json":
        data = json.loads(stdout)
        assert [(r["key"], r["field"], str(r["value"])) for r in data["unreadable"]] == [
            ("1", field, value)
        ]
        assert [r["key"] for r in data["due"]] == ["2"]
        assert data["counts"]["unreadable"] == 1
        assert data["counts"]["due"] == 1
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(stdout)))
        assert [(r["key"], r["status"], r["field"], r["value"]) for r in rows] == [
            ("2", "due", "", ""),
            ("1", "unreadable", field, value),
        ]
    elif fmt == "table":
        head, _, rest = stdout.partition("Unreadable records")
        assert [line.split()[0] for line in head.splitlines()[1:] if line] == ["2"]
        (line,) = [line for line in rest.splitlines() if line.split()[:2] == ["orders", "1"]]
        assert line.split()[2] == field
        assert value in line
    else:
        _, _, section = stdout.partition("<h2>Unreadable records (1)")
        assert f"<td>1</td><td>{field}</td><td class=bad>{value}</td>" in section


@pytest.mark.parametrize(("placed_at", "paid", "field", "value"), UNREADABLE)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_value_the_rules_cannot_read_is_listed_as_unreadable(
    tmp_path: Path, placed_at: str, paid: str, field: str, value: str, fmt: str
) -> None:
    pack = tmp_path / "shop.yaml"
    pack.write_text(EDGE_PACK, encoding="utf-8")
    url = _edge_table(tmp_path / "edge.db", placed_at, paid)
    run = invoke(
        "report",
        "--rules",
        pack,
        "--db",
        url,
        "--table",
        "orders",
        "--key",
        "id",
        "--at",
        AT,
        "--format",
        fmt,
    )
    assert "Traceback" not in run.stderr
    assert run.exit_code == 0, run.stderr
    (warning,) = run.stderr.splitlines()
    assert warning.startswith("keepfor: warning: source 'orders': 1 unreadable record,")
    assert f"field '{field}'" in warning
    _unreadable_in(fmt, run.stdout, field, value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_date_is_no_date_yet(tmp_path: Path, fmt: str) -> None:
    """Empty text in a DATE column is no value (the event has not happened): the record
    waits, as with NULL; it is not unreadable (docs/rules.md)."""
    pack = tmp_path / "shop.yaml"
    pack.write_text(EDGE_PACK, encoding="utf-8")
    url = _edge_table(tmp_path / "edge.db", "''", "1")
    run = invoke(
        "report", "--rules", pack, "--db", url, "--table", "orders", "--at", AT, "--format", "json"
    )
    assert_clean_exit(run)
    data = json.loads(run.stdout)
    assert data["counts"] | {"total": 2} == {
        "total": 2,
        "due": 1,
        "retained": 0,
        "waiting": 1,
        "held": 0,
        "unmatched": 0,
        "unreadable": 0,
    }
    assert data["unreadable"] == []
    assert_clean_exit(
        invoke(
            "report", "--rules", pack, "--db", url, "--table", "orders", "--at", AT, "--format", fmt
        )
    )


BAD_SOURCES = [
    # (what, report arguments after --db URL, a column the table lacks, the line's fragments)
    (
        "missing table",
        ["--table", "ordres"],
        None,
        ["source 'ordres'", "table 'ordres'", "'orders'"],
    ),
    (
        "missing key",
        ["--table", "orders", "--key", "order_no"],
        None,
        ["table 'orders'", "'order_no'"],
    ),
    (
        "missing field",
        ["--table", "orders"],
        "placed_at",
        ["table 'orders'", "rule 'orders'", "'placed_at'"],
    ),
    (
        "missing boolean",
        ["--table", "orders"],
        "paid",
        ["table 'orders'", "rule 'orders'", "'paid'"],
    ),
    (
        "output is a folder",
        ["--table", "orders", "--output", "{folder}"],
        None,
        ["--output", "folder"],
    ),
]


@pytest.mark.parametrize(("what", "args", "missing", "fragments"), BAD_SOURCES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_what_cannot_be_reported_is_one_line_and_nothing_written(
    tmp_path: Path,
    what: str,
    args: list[str],
    missing: str | None,
    fragments: list[str],
    fmt: str,
) -> None:
    pack = tmp_path / "shop.yaml"
    pack.write_text(EDGE_PACK, encoding="utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    url = _edge_table(tmp_path / "edge.db", "'2015-01-01'", "1", missing=missing)
    args = [arg.format(folder=folder) for arg in args]
    run = invoke("report", "--rules", pack, "--db", url, *args, "--at", AT, "--format", fmt)
    assert_bad_input(run, *(f.format(folder=folder) for f in fragments))
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("case", ["unreadable", "missing field"])
def test_no_traceback_from_the_installed_script(tmp_path: Path, case: str) -> None:
    pack = tmp_path / "shop.yaml"
    pack.write_text(EDGE_PACK, encoding="utf-8")
    missing = "paid" if case == "missing field" else None
    url = _edge_table(tmp_path / "edge.db", "'n/a'", "1", missing=missing)
    run = run_keepfor("report", "--rules", pack, "--db", url, "--table", "orders", "--at", AT)
    if case == "unreadable":
        assert run.exit_code == 0, run.stderr
        assert "Unreadable records" in run.stdout
        assert len(run.stderr.splitlines()) == 1
    else:
        assert_bad_input(run, "table 'orders'", "'paid'")


# -- messages: values cut short, counts in agreement -----------------------------------


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (Period.parse, "P" + "1" * 5000 + "X"),
        (Period.parse, "-P" + "1" * 5000 + "Y"),
        (Period.parse, "P1YT" + "1" * 5000 + "H"),
        (Period.parse, ["P1Y"] * 5000),
        (MonthDay.parse, "0" * 5000),
        (MonthDay.parse, "03" * 2500 + "-31"),
    ],
    ids=["period", "negative", "time part", "not text", "month-day", "month-day dashed"],
)
def test_parse_errors_quote_the_text_cut_short(parse: Callable[[Any], object], text: Any) -> None:
    # how long it was, not all of it: "'P111...'... (5002 characters)", "<list of 5000 items>"
    with pytest.raises(
        ValueError, match=r"\.\.\. \(50\d\d characters\)|<list of 5000 items>"
    ) as raised:
        parse(text)
    assert len(str(raised.value)) < 250, raised.value


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('table = "t"\n' + "x" * 5000 + ' = "1"\n', "unknown key 'xxxx"),
        ('table = "t"\ntimezone = "' + "Europe/" * 800 + '"\n', "unknown time zone 'Europe/"),
        ('table = "t"\nzones = {d = "' + "Z" * 5000 + '"}\n', "unknown time zone 'ZZZ"),
        ("table = [" + "1, " * 3000 + "1]\n", "'table' must be text, not <list of 3001 items>"),
        ('table = "' + " " * 5000 + '"\n', "'table' must be text, not ' '... (5000 characters)"),
    ],
    ids=["key", "timezone", "zones", "table a list", "table blank"],
)
def test_config_messages_quote_values_cut_short(tmp_path: Path, body: str, fragment: str) -> None:
    config = tmp_path / "keepfor.toml"
    config.write_text(f'[sources.s]\nurl = "sqlite:///x.db"\n{body}', encoding="utf-8")
    run = invoke("report", "--rules", RULES, "--config", config, "--at", AT)
    line = assert_bad_input(run, str(config), "source 's'", fragment)
    assert len(line) < len(str(config)) + 300, line


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("r1", "the row has 1 value but the header names 3 columns"),
        ("r1,order,2019-01-01,x", "the row has 4 values but the header names 3 columns"),
    ],
)
def test_a_short_row_is_counted_in_words_that_agree(tmp_path: Path, row: str, message: str) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert invoke("db", "init", "--db", url).exit_code == 0
    path = tmp_path / "rows.csv"
    path.write_text(f"key,category,placed_at\nr0,order,2019-01-01\n{row}\n", encoding="utf-8")
    run = invoke("db", "import", path, "--db", url)
    assert run.exit_code == 2
    assert f"keepfor: error: {path}: line 3: {message}" in run.stderr.splitlines()
