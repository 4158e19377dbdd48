"""The data-use register (R-G4): which data the engine may use, for what, approved by whom.

Compliance signs off each piece of customer data before an engine may score
with it. The register is ``governance.toml`` in the workspace, readable and
diffable by people who never open the toolkit::

    [features.savings_balance]
    source = "Data warehouse, savings accounts"
    purpose = "Customers with savings can consider investing"
    approved_by = "J. Jansen (compliance)"
    approved_on = "2026-11-24"
    known_by_snapshot = true

A feature without ``approved_by`` and ``approved_on`` is not approved.
``known_by_snapshot`` says whether the value is known on the snapshot date,
before the outcome it is meant to predict: no data check can tell that a
value was recorded only afterwards (a call's duration), the people who
register the data can, and training refuses a feature they have not
confirmed. The
toolkit rewrites this file only through ``approve`` (atomically), and every
approval is also recorded in the ledger's audited configuration history.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from nba_toolkit.core.features import DEFAULT_DECLARATION
from nba_toolkit.core.files import atomic_write_bytes
from nba_toolkit.errors import BadInput

FILE_NAME = "governance.toml"

HEADER = """\
# Data-use register: each piece of customer data an engine may use, why, and who approved it.
# A feature without approved_by and approved_on is not approved, and no run will score with it.
# Approve with: nba-toolkit govern approve FEATURE --by "NAME" [--source TEXT] [--purpose TEXT]
# known_by_snapshot = true confirms the value is known on the snapshot date, before the outcome;
# training refuses a feature without it (nba-toolkit govern approve FEATURE --known-by-snapshot yes).
"""

#: what the selection itself reads, with a plain purpose; the engine's inputs take theirs from [features]
CORE_PURPOSES = {
    "customer_id": "Identify the customer in the mail file and the contact history (relation number only)",
    "snapshot_date": "Check that the snapshot belongs to the week being run",
    "is_investor": "Exclude customers who already invest",
    "marketing_consent": "Mail only customers who consented to marketing",
}
#: what the default engine and the selection read, for a new register
DEFAULT_PURPOSES = {**CORE_PURPOSES, **DEFAULT_DECLARATION.purposes()}


@dataclass(frozen=True)
class FeatureUse:
    feature: str
    source: str = ""
    purpose: str = ""
    approved_by: str = ""
    approved_on: str = ""
    #: the value is known on the snapshot date, before the outcome (None: nobody said yet)
    known_by_snapshot: bool | None = None

    @property
    def approved(self) -> bool:
        return bool(self.approved_by.strip() and self.approved_on.strip())


def read_register(root: Path) -> dict[str, FeatureUse]:
    """The register, or an empty one when the workspace has none yet."""
    path = root / FILE_NAME
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"not valid TOML ({exc})", file=path) from None
    unknown = set(raw) - {"features"}
    if unknown:
        raise BadInput(f"unknown section(s) {', '.join(sorted(unknown))}; only [features.NAME]", file=path)
    register = {}
    for name, entry in raw.get("features", {}).items():
        if not isinstance(entry, dict):
            raise BadInput(f"[features.{name}] must be a table", file=path)
        extra = set(entry) - {"source", "purpose", "approved_by", "approved_on", "known_by_snapshot"}
        if extra:
            raise BadInput(f"unknown key(s) {', '.join(sorted(extra))} in [features.{name}]", file=path)
        known = entry.get("known_by_snapshot")
        if known is not None and not isinstance(known, bool):
            raise BadInput(f"[features.{name}] known_by_snapshot must be true or false, not {known!r}", file=path)
        texts = {k: str(v) for k, v in entry.items() if k != "known_by_snapshot"}
        register[name] = FeatureUse(feature=name, known_by_snapshot=known, **texts)
    return register


def write_register(root: Path, register: dict[str, FeatureUse]) -> None:
    lines = [HEADER]
    for name in sorted(register):
        entry = register[name]
        lines.append(f"[features.{name}]")
        for key in ("source", "purpose", "approved_by", "approved_on"):
            lines.append(f"{key} = {json.dumps(getattr(entry, key), ensure_ascii=False)}")
        if entry.known_by_snapshot is not None:
            lines.append(f"known_by_snapshot = {'true' if entry.known_by_snapshot else 'false'}")
        lines.append("")
    atomic_write_bytes(root / FILE_NAME, "\n".join(lines).encode("utf-8"))


def new_register(
    features: list[str], *, approved_by: str = "", source: str = "", purposes: Mapping[str, str] | None = None
) -> dict[str, FeatureUse]:
    """A register listing ``features`` with their ``purposes`` (the defaults' when not given); approved, and
    known by the snapshot date, only when ``approved_by`` is given (the sample, whose data is synthetic and
    made that way)."""
    today = date.today().isoformat() if approved_by else ""
    purposes = DEFAULT_PURPOSES if purposes is None else purposes
    return {
        name: FeatureUse(
            feature=name,
            source=source,
            purpose=purposes.get(name, ""),
            approved_by=approved_by,
            approved_on=today,
            known_by_snapshot=True if approved_by else None,
        )
        for name in features
    }


def approve(
    root: Path,
    feature: str,
    *,
    by: str,
    source: str | None = None,
    purpose: str | None = None,
    known_by_snapshot: bool | None = None,
) -> tuple[FeatureUse | None, FeatureUse]:
    """Record an approval in the register; returns the entry before and after."""
    if not by.strip():
        raise BadInput("an approval needs the approver's name (--by)")
    register = read_register(root)
    before = register.get(feature)
    base = before or FeatureUse(feature=feature, purpose=DEFAULT_PURPOSES.get(feature, ""))
    after = FeatureUse(
        feature=feature,
        source=source if source is not None else base.source,
        purpose=purpose if purpose is not None else base.purpose,
        approved_by=by.strip(),
        approved_on=date.today().isoformat(),
        known_by_snapshot=known_by_snapshot if known_by_snapshot is not None else base.known_by_snapshot,
    )
    if not after.purpose.strip():
        raise BadInput(f"'{feature}' needs a purpose before it can be approved (--purpose)")
    register[feature] = after
    write_register(root, register)
    return before, after


def unapproved(root: Path, features: list[str]) -> list[str]:
    """The features in ``features`` that the register does not approve, in the given order."""
    register = read_register(root)
    return [name for name in features if not (name in register and register[name].approved)]


def not_known_in_time(root: Path, features: list[str]) -> list[str]:
    """The features in ``features`` the register does not confirm as known on the snapshot date, in order."""
    register = read_register(root)
    return [name for name in features if not (name in register and register[name].known_by_snapshot is True)]


def as_dict(entry: FeatureUse | None) -> dict[str, str | bool | None] | None:
    return None if entry is None else asdict(entry)
