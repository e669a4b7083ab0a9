"""A source's action settings: every strategy, the safety valve, child rows and the flag
column read from keepfor.toml, and every mistake one line naming file, source and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepfor.actions.settings import ActionSettings, Child, Strategy, StrategyKind
from keepfor.connectors.config import load_config, load_settings
from keepfor.errors import SourceError

HEAD = '[sources.orders]\nurl = "sqlite:///shop.db"\ntable = "orders"\n'


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keepfor.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("spelt", "strategy"),
    [
        ("null", Strategy(StrategyKind.NULL)),
        ("hash", Strategy(StrategyKind.HASH)),
        ("keep", Strategy(StrategyKind.KEEP)),
        ("fixed:(removed)", Strategy(StrategyKind.FIXED, text="(removed)")),
        ("fixed:", Strategy(StrategyKind.FIXED, text="")),
        ("fixed:a:b", Strategy(StrategyKind.FIXED, text="a:b")),
        ("truncate:20", Strategy(StrategyKind.TRUNCATE, length=20)),
    ],
)
def test_every_strategy_reads_and_writes_back(spelt: str, strategy: Strategy) -> None:
    assert Strategy.parse(spelt) == strategy
    assert str(strategy) == spelt


@pytest.mark.parametrize(
    ("spelt", "message"),
    [
        ("nul", "did you mean 'null'?"),
        ("fixed", "fixed:TEXT"),
        ("truncate:0", "truncate:N"),
        ("truncate:x", "truncate:N"),
        ("truncate", "truncate:N"),
        ("hash:sha1", "takes no argument"),
    ],
)
def test_a_bad_strategy_says_what_is_wrong(spelt: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        Strategy.parse(spelt)


def test_a_config_with_every_action_setting(tmp_path: Path) -> None:
    text = (
        "max_disposal_share = 0.05\n"
        '[sources.orders.flag]\ncolumn = "due_at"\n'
        '[sources.orders.anonymise]\nemail = "hash"\nname = "fixed:-"\n'
        '[sources.orders.purge]\nchildren = ["order_lines.order_id", "crm.notes.order"]\n'
        '[keepfor]\naudit_key_file = "secret/audit.key"\n'
    )
    config = load_settings(_config(tmp_path, text))
    (source,) = config.sources
    assert source.kind == "sql"
    assert source.actions == ActionSettings(
        max_disposal_share=0.05,
        flag_column="due_at",
        anonymise={"email": Strategy(StrategyKind.HASH), "name": Strategy.parse("fixed:-")},
        children=(Child("order_lines", "order_id"), Child("crm.notes", "order")),
    )
    # a relative key file is read from the config file's folder
    assert config.audit_key_file == (tmp_path / "secret" / "audit.key").resolve()
    assert source.audit_key_file == config.audit_key_file


def test_the_defaults(tmp_path: Path) -> None:
    (source,) = load_config(_config(tmp_path, ""))
    assert source.actions == ActionSettings()
    assert source.actions.max_disposal_share == 0.2
    assert source.audit_key_file is None


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("max_disposal_share = 1.5\n", ["max_disposal_share", "from 0 to 1"]),
        ("max_disposal_share = true\n", ["max_disposal_share", "True"]),
        ('max_disposal_share = "20%"\n', ["max_disposal_share", "'20%'"]),
        ('[sources.orders.anonymise]\nemail = "hashed"\n', ["anonymise.email", "'hash'"]),
        ("[sources.orders.anonymise]\nemail = 3\n", ["anonymise.email", "must be text"]),
        ('[sources.orders.purge]\nchildren = ["lines"]\n', ["purge.children", "table.column"]),
        ('[sources.orders.purge]\nchild = ["a.b"]\n', ["purge: unknown key 'child'"]),
        ("[sources.orders.flag]\ncolumn = 1\n", ["flag.column"]),
        ('kind = "hubspt"\n', ["unknown kind 'hubspt'"]),
        ('[keepfor]\naudit_key = "k"\n', ["[keepfor]", "'audit_key'", "audit_key_file"]),
    ],
)
def test_every_mistake_is_one_line_naming_file_and_source(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(SourceError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_the_kind_may_be_given(tmp_path: Path) -> None:
    (source,) = load_config(_config(tmp_path, 'kind = "sql"\n'))
    assert source.kind == "sql"
    assert source.mapping is not None
    assert source.mapping.table == "orders"
