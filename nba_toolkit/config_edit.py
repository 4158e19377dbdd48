"""Changing the operator's settings in ``nba.toml`` without losing its comments or layout (R-G5).

``nba.toml`` is the operator's file: it carries comments that explain each
key, and people read its history in backups. So a change from the screens
rewrites only the value of the one ``key = value`` line inside its
``[section]``, keeps the comment after it in the same column, and leaves
every other byte alone. The result is parsed and validated with the same
rules as every command before it replaces the file (atomically), and each
change is recorded in the ledger with who made it, when, and the old and new
value.

Selection settings change the experiment the control groups measure: the
effect of a setting can only be evaluated after about three months of
mailings with it. :func:`recent_change_warning` says so when settings change
again within 90 days of the last change.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from nba_toolkit.config import Config, parse_config
from nba_toolkit.config_history import remember
from nba_toolkit.core.files import atomic_write_bytes
from nba_toolkit.errors import BadInput, UsageError

if TYPE_CHECKING:
    from nba_toolkit.workspace import Workspace

#: how long settings should stay unchanged so the weeks since can be evaluated
SETTLE_DAYS = 90


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    kind: str  # count | share | text | switch
    label: str
    help: str

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


#: the settings an operator may change from the screens, in the order they are shown
SETTINGS = {
    s.name: s
    for s in (
        Setting("selection", "capacity", "count", "Capacity", "most selected by the model in a week"),
        Setting("selection", "threshold", "share", "Threshold", "lowest score worth a mail, e.g. 1.5%"),
        Setting("selection", "cooldown_weeks", "count", "Cooldown (weeks)", "no new mail within this many weeks"),
        Setting("selection", "holdout_share", "share", "Holdout share", "selected but not mailed, e.g. 10%"),
        Setting("selection", "random_control_share", "share", "Random-control share", "mailed at random, share of capacity"),
        Setting("campaign", "code", "text", "Campaign code", "written into every row of the file"),
        Setting("engine", "enabled", "switch", "Weekly run", "off: no run starts until switched on"),
    )
}

#: changing these changes who is selected, so the control groups measure something else from then on
EVALUATED = frozenset(name for name in SETTINGS if name.startswith("selection."))


@dataclass(frozen=True)
class Change:
    key: str
    old: Any
    new: Any


def current_value(config: Config, name: str) -> Any:
    setting = SETTINGS[name]
    return getattr(getattr(config, setting.section), setting.key)


def show_value(name: str, value: Any) -> str:
    """A value as the operator reads and types it: 2,000 · 1.5% · on."""
    kind = SETTINGS[name].kind
    if kind == "count":
        return f"{value:,}"
    if kind == "share":
        return f"{round(value * 100, 6):g}%"
    if kind == "switch":
        return "on" if value else "off"
    return str(value)


def read_value(name: str, text: str) -> Any:
    """What the operator typed, as the value nba.toml needs; a plain message when it cannot be one."""
    setting = SETTINGS[name]
    raw = text.strip()
    if setting.kind == "count":
        cleaned = raw.replace(",", "").replace("_", "").replace(" ", "")
        if not re.fullmatch(r"\d+", cleaned):
            raise UsageError(f"{setting.label} must be a whole number of 0 or more, such as 2000; got '{raw}'")
        return int(cleaned)
    if setting.kind == "share":
        percent = raw.endswith("%")
        number = raw.rstrip("%").strip().replace(",", ".")
        try:
            value = float(number)
        except ValueError:
            raise UsageError(f"{setting.label} must be a share such as 10% or 0.10; got '{raw}'") from None
        return value / 100 if percent else value
    if setting.kind == "switch":
        words = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}
        if raw.lower() not in words:
            raise UsageError(f"{setting.label} is on or off; got '{raw}'")
        return words[raw.lower()]
    if not raw:
        raise UsageError(f"{setting.label} must not be empty")
    return raw


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    raise TypeError(f"cannot write {type(value).__name__} into nba.toml")


_SECTION = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_\-]+)(?P<eq>\s*=\s*)(?P<rest>.*)$")


def edit_toml(text: str, changes: Mapping[str, Any]) -> str:
    """Set ``section.key`` values in TOML text, touching only the lines that hold them.

    A key that is not in the file yet is added after the last key of its
    section; a section that is missing is added at the end. The result is
    parsed again and must hold exactly the new values, so a layout this
    editor does not understand (a dotted key, an inline table) is refused
    instead of being written wrongly.
    """
    lines = text.splitlines(keepends=True)
    for name, value in changes.items():
        section, key = name.rsplit(".", 1)
        lines = _set_line(lines, section, key, toml_literal(value))
    result = "".join(lines)
    try:
        parsed = tomllib.loads(result)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"the change could not be made safely ({exc}); edit the file by hand", file="nba.toml") from None
    for name, value in changes.items():
        section, key = name.rsplit(".", 1)
        table: Any = parsed
        for part in section.split("."):
            table = table.get(part, {}) if isinstance(table, dict) else {}
        if not isinstance(table, dict) or table.get(key) != value:
            raise BadInput(f"{name} is set in a way this editor cannot change safely; edit the file by hand", file="nba.toml")
    return result


def _set_line(lines: list[str], section: str, key: str, literal: str) -> list[str]:
    current = ""
    last_in_section: int | None = None
    header_at: int | None = None
    for index, line in enumerate(lines):
        found = _SECTION.match(line)
        if found and not line.lstrip().startswith("[["):
            current = found.group(1)
            if current == section:
                header_at = index
            continue
        if current != section:
            continue
        assignment = _ASSIGNMENT.match(line.rstrip("\r\n"))
        if assignment is None:
            continue
        last_in_section = index
        if assignment.group("key") != key:
            continue
        ending = line[len(line.rstrip("\r\n")) :]
        value, comment, comment_at = _split_value(assignment.group("rest"))
        if value.startswith(("[", "{", '"""', "'''")):
            raise BadInput(f"[{section}] {key} holds more than a simple value; edit the file by hand", file="nba.toml")
        head = assignment.group("indent") + key + assignment.group("eq")
        new = head + literal
        if comment:
            # keep the comment in its column, as the operator aligned it
            new += " " * max(1, len(head) + comment_at - len(new)) + comment
        updated = list(lines)
        updated[index] = new + ending
        return updated
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if header_at is None:
        tail = list(lines)
        if tail and not tail[-1].endswith(("\n", "\r")):
            tail[-1] += newline
        return [*tail, newline, f"[{section}]{newline}", f"{key} = {literal}{newline}"]
    at = (last_in_section if last_in_section is not None else header_at) + 1
    return [*lines[:at], f"{key} = {literal}{newline}", *lines[at:]]


def _split_value(rest: str) -> tuple[str, str, int]:
    """The value text, the trailing comment (with its ``#``) and where it starts, in the part after ``=``."""
    quote: str | None = None
    escaped = False
    for i, char in enumerate(rest):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return rest[:i].rstrip(), rest[i:].rstrip(), i
    return rest.rstrip(), "", len(rest)


def apply_changes(workspace: Workspace, changes: Mapping[str, Any], *, by: str, reason: str | None = None) -> list[Change]:
    """Validate, write nba.toml atomically and record each change; returns what actually changed.

    Values equal to the current ones are left out. If the ledger cannot
    record the change, the file is put back as it was: nba.toml and its
    history never disagree.
    """
    for name in changes:
        if name not in SETTINGS:
            raise UsageError(f"'{name}' cannot be changed from here; known settings: {', '.join(SETTINGS)}")
    workspace.ledger.refuse_changes()  # before nba.toml is touched, not after
    path = workspace.config_path
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    before = _parse(text, path)
    changed = {name: value for name, value in changes.items() if current_value(before, name) != value}
    if not changed:
        return []
    new_text = edit_toml(text, changed)
    _parse(new_text, path)
    atomic_write_bytes(path, new_text.encode("utf-8"), mode=path.stat().st_mode & 0o777)
    done = [Change(name, current_value(before, name), value) for name, value in changed.items()]
    try:
        for change in done:
            workspace.ledger.record_config_change(change.key, change.old, change.new, by=by, reason=reason)
    except BaseException:
        atomic_write_bytes(path, raw, mode=path.stat().st_mode & 0o777)
        raise
    remember(workspace)
    workspace.__dict__.pop("config", None)  # the cached configuration is stale now
    return done


def _parse(text: str, path: Any) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"not valid TOML ({exc})", file=path) from None
    return parse_config(raw, source=path)


def recent_change_warning(history: list[dict[str, Any]], names: Iterable[str], *, today: date | None = None) -> str | None:
    """The warning to show before changing ``names`` again within 90 days of the last selection change.

    ``history`` is the ledger's ``config_changes()`` (newest first).
    """
    if not set(names) & EVALUATED:
        return None
    last = next((c for c in history if c["key"] in EVALUATED), None)
    if last is None:
        return None
    when = datetime.fromisoformat(last["changed_at"]).astimezone(UTC).date()
    days = ((today or date.today()) - when).days
    if days >= SETTLE_DAYS:
        return None
    return (
        f"The selection settings were last changed {days} day{'s' if days != 1 else ''} ago ({when}, "
        f"{last['key']} by {last['changed_by']}). Changing them again within {SETTLE_DAYS} days means the "
        "results of the weeks since can no longer be evaluated against the control groups: each setting "
        "needs about three months of mailings before its effect can be measured."
    )
