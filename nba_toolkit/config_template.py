"""The commented nba.toml that ``init`` writes, made from the declared keys (``config.declared_keys``).

Every ``key = value`` line carries its default and, as a comment, its
meaning, both taken from the key's declaration in config.py, so the file a
new workspace starts with cannot drift from what the toolkit accepts. The
tables that map names (``[columns]``, ``[features]``, ``[privacy]``) are
written from their defaults the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nba_toolkit.config import DEFAULT_COLUMNS, DEFAULT_DENYLIST, MAPPED_TABLES, Key, declared_keys
from nba_toolkit.core.check_settings import SecondSourceSettings, VolumeBandSettings
from nba_toolkit.core.features import DEFAULT_FEATURES

#: the column the comments start in, so a file reads as a table
_COMMENT_COLUMN = 32

_HEADER = """\
# nba-toolkit workspace configuration. Every key is optional; the values
# below are the defaults. See docs/operator-guide.md for what each one does.
# Advice from the field: change selection settings rarely (about every 3
# months at most), or the effect of the mailing can no longer be evaluated.
"""

_FEATURES_NOTE = """\
# The engine's features: what it reads from the extract and how (docs/operator-guide.md,
# "Using your bank's own columns"). Edit, then retrain: a model trained on other features
# refuses to score. kind: number, category, flag or composite; column: a name [columns]
# maps, or the extract's own column name; transform = "log" is log(1 + value); a stand_in
# makes an input optional (a week without it is scored with it and marked degraded);
# market = true: the same for everyone in a week, watched by the market regime check.
"""

_CHECKS_NOTE = """\
# Every check has a [checks.<name>] table (all checks, keys and defaults: docs/checks.md):
#   severity = "warn"             # block, warn or info instead of the check's own
#   enabled = false               # only with reason = "why"; every run records it as skipped
# for example [checks.feature_drift] warn_psi = 0.1, block_psi = 0.25
"""


#: the band a new workspace starts with: the default capacity plus its random control, with room to spare
_TEMPLATE_MAX_MAILED = 2500


def _volume_band() -> str:
    band = VolumeBandSettings()
    lines = [
        "[checks.volume_band]",
        commented(f"min = {band.min}", "fewest customers a week may mail"),
        commented(f"max = {_TEMPLATE_MAX_MAILED}", "most customers a week may mail; without max: capacity plus random control"),
    ]
    return "\n".join(lines) + "\n"


#: the sample's second source of the market figures: the fund index file the sample workspace holds
SAMPLE_SECOND_SOURCE = {
    "file": "data/fund_index.csv",
    "week_column": "WEEK",
    "columns": {"fund_change_1w": "CHG_1W_PCT", "fund_change_4w": "CHG_4W_PCT"},
}


def _second_source() -> str:
    """The market figures' second source, commented out: the sample's fund index file, for a bank to adapt.

    Not switched on even in the sample: its fund index file ends with the sample's week, and every later
    week would block for want of a row.
    """
    lines = [
        "",
        "# Compare the week's market figures with a second source (docs/checks.md, market_second_source);",
        "# without a file they are taken from the extract alone. The sample's fund index file, for example:",
        "# [checks.market_second_source]",
        *(f"# {key} = {toml_value(value)}" for key, value in SAMPLE_SECOND_SOURCE.items()),
        f"# tolerance = {toml_value(SecondSourceSettings().tolerance)}",
    ]
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """A value as TOML writes it: JSON's strings, numbers and lists are TOML's too."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def commented(line: str, meaning: str) -> str:
    return f"{line:<{_COMMENT_COLUMN - 1}} # {meaning}" if meaning else line


def config_template(
    *,
    salt: str,
    require_model_approval: bool = True,
    allow_unreviewed_export: bool = False,
    columns: str | None = None,
    features: str | None = None,
) -> str:
    """The nba.toml of a new workspace: every declared key at its default, with its meaning.

    ``columns`` and ``features`` replace the sample bank's tables (``init --from-extract`` proposes its own).
    """
    keys: dict[str, list[Key]] = {}
    for key in declared_keys():
        keys.setdefault(key.section, []).append(key)
    given = {
        ("campaign", "salt"): salt,
        ("governance", "require_model_approval"): require_model_approval,
        ("governance", "allow_unreviewed_export"): allow_unreviewed_export,
    }
    parts = [_HEADER]
    for section in ("campaign", "selection", "engine"):
        parts.append(_table(section, keys[section], given))
    parts.append(columns or _columns())
    parts.append(features or _FEATURES_NOTE + _features())
    parts.append(_privacy())
    parts.append(_table("export", keys["export"], given))
    parts.append(_CHECKS_NOTE + _volume_band() + _second_source())
    parts.append(_smtp(keys["notify.smtp"]))
    for section in ("governance", "retention", "monitoring", "plugins"):
        parts.append(_table(section, keys[section], given))
    return "\n".join(parts)


def _table(section: str, keys: list[Key], given: Mapping[tuple[str, str], Any]) -> str:
    lines = [f"[{section}]"]
    subtables = []
    for key in keys:
        value = given.get((section, key.key), key.default)
        if isinstance(value, Mapping):
            subtables.append(_mapping(f"{section}.{key.key}", value, key.meaning))
        elif value is None:
            # not set by default: shown commented out with an example, for the operator to switch on
            lines.append(commented(f"# {key.key} = {toml_value(key.example)}", key.meaning))
        else:
            lines.append(commented(f"{key.key} = {toml_value(value)}", key.meaning))
    return "\n".join([*lines, *subtables]) + "\n"


def _mapping(name: str, values: Mapping[str, Any], meaning: str) -> str:
    return "\n".join([f"\n[{name}]", f"# {meaning}", *(f"{k} = {toml_value(v)}" for k, v in values.items())])


def _columns() -> str:
    return _mapping("columns", DEFAULT_COLUMNS, "canonical name = the column name in the bank's extract").lstrip() + "\n"


def _features() -> str:
    tables = []
    for name, table in DEFAULT_FEATURES.items():
        lines = [f"[features.{name}]"]
        for key, value in table.items():
            if key == "parts":
                lines.append("parts = [")
                lines += [f"    {toml_value(part)}," for part in value]
                lines.append("]")
            else:
                lines.append(f"{key} = {toml_value(value)}")
        tables.append("\n".join(lines))
    return "\n\n".join(tables) + "\n"


def _privacy() -> str:
    return (
        "[privacy]\n# columns dropped on load and never used; matched on whole words of the name\n"
        f"denylist = {toml_value(DEFAULT_DENYLIST)}\n"
    )


def _smtp(keys: list[Key]) -> str:
    """Alerts by mail are off until a host is given: the table is written commented out."""
    examples = {
        "host": "smtp.bank.example",
        "from": "nba-toolkit@bank.example",
        "to": ["analyst@bank.example"],
        "username": "nba",
        "password_env": "NBA_SMTP_PASSWORD",
    }
    lines = ["# Alerts always go to outbox/; also by mail when [notify.smtp] has a host:", "# [notify.smtp]"]
    for key in keys:
        lines.append("# " + commented(f"{key.key} = {toml_value(examples.get(key.key, key.default))}", key.meaning))
    return "\n".join(lines) + "\n"


def key_table() -> str:
    """The key table of docs/operator-guide.md (between its config-keys markers), from the same declarations."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{_doc_name(k)}` | {_doc_default(k)} | {k.meaning} |" for k in [*declared_keys(), *MAPPED_TABLES]]
    return "\n".join(rows)


def _doc_name(key: Key) -> str:
    if not key.key:
        return f"[{key.section}]"
    return f"[{key.section}.{key.key}]" if key.key.startswith("<") else key.name


def _doc_default(key: Key) -> str:
    if key.default_text:
        return key.default_text
    if key.default == "":
        return "empty"
    return f"`{key.default if isinstance(key.default, str) else toml_value(key.default)}`"
