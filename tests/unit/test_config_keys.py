"""Every nba.toml key is declared once (nba_toolkit/config.py); validation, the template, ``config show``
and the docs' key table all come from that declaration.

A key added to a configuration table shows up in all four without another
edit, except the docs, whose table ``scripts/config_keys.py`` rewrites; the
last test fails until it has.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from nba_toolkit import config as config_module
from nba_toolkit.cli import main
from nba_toolkit.config import Key, declared_keys, parse_config, setting
from nba_toolkit.config_template import config_template, key_table
from nba_toolkit.errors import BadInput
from nba_toolkit.workspace import init_workspace

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"
KEYS = declared_keys()


def _raw(key: Key, value: object) -> dict:
    section, _, sub = key.section.partition(".")
    table = {key.key: value}
    return {section: {sub: table} if sub else table}


def _wrong(value: object) -> object:
    """A value of another type than the key's default."""
    return {"a": 1} if isinstance(value, (str, tuple, list)) else "not-a-number" if not isinstance(value, dict) else 3


@pytest.mark.parametrize("key", KEYS, ids=[k.name for k in KEYS])
def test_each_key_is_validated_written_shown_and_documented(key: Key, tmp_path: Path, capsys) -> None:
    template = tomllib.loads(config_template(salt="s"))
    written = template[key.section.partition(".")[0]] if "." not in key.section else None
    if key.default is None:
        # not set by default: written commented out with an example
        assert re.search(rf"^# {re.escape(key.key)} = ", config_template(salt="s"), re.M), key.name
    elif written is not None:
        assert key.key in written, f"{key.name} is missing from the template"
        assert written[key.key] == (list(key.default) if isinstance(key.default, tuple) else key.default) or key.key == "salt"
    else:
        # alerts by mail are off by default: the table is written commented out, with every key
        assert re.search(rf"^# {re.escape(key.key)} = ", config_template(salt="s"), re.M), key.name

    with pytest.raises(BadInput, match=re.escape(key.key)):
        parse_config(_raw(key, _wrong(key.default)))

    workspace = init_workspace(tmp_path / "ws")
    workspace.close()
    capsys.readouterr()
    assert main(["config", "show", "--workspace", str(tmp_path / "ws")]) == 0
    shown = capsys.readouterr().out
    if isinstance(key.default, dict):
        assert f"[{key.section}.{key.key}]\n# {key.meaning}" in shown, key.name
    elif key.default is None:
        assert re.search(rf"^# {re.escape(key.key)} is not set .*# {re.escape(key.meaning[:40])}", shown, re.M), key.name
    else:
        assert re.search(rf"^{re.escape(key.key)} = .*# {re.escape(key.meaning[:40])}", shown, re.M), key.name

    assert f"| `{key.name}` |" in key_table()


def test_a_new_key_is_validated_and_written_from_its_declaration_alone(monkeypatch) -> None:
    """Adding a key to a table is the one edit: the parser accepts and types it, the template writes it."""

    @dataclass(frozen=True)
    class Retention(config_module.RetentionConfig):
        evidence_days: int = setting(3650, "how long evidence packs are kept")

    monkeypatch.setitem(config_module._TABLES, "retention", Retention)
    assert "evidence_days" in {f.name for f in fields(Retention)}
    assert parse_config({"retention": {"evidence_days": 10}}).retention.evidence_days == 10
    with pytest.raises(BadInput, match="evidence_days must be a whole number"):
        parse_config({"retention": {"evidence_days": "ten"}})
    assert "evidence_days = 3650" in config_template(salt="s")
    assert "| `[retention] evidence_days` | `3650` | how long evidence packs are kept |" in key_table()


def test_the_docs_key_table_is_the_declared_one() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    block = re.search(r"<!-- config-keys:start[^\n]*-->\n(.*?)\n<!-- config-keys:end -->", text, re.S)
    assert block, "docs/operator-guide.md lost its config-keys markers"
    assert block.group(1) == key_table(), "run `python scripts/config_keys.py` to rewrite the table"
