"""A first nba.toml from the bank's own extract (``nba-toolkit init DIR --from-extract FILE``).

The analyst should edit a proposal, not write a configuration from nothing.
The extract is read once, by the snapshot loader (so the same dialects,
types and denylist apply as in a weekly run), and every column gets a verdict:

* the four columns the selection needs (``customer_id``, ``snapshot_date``,
  ``is_investor``, ``marketing_consent``) are matched by name and checked by
  their values; one that is not found is written as an empty value marked
  REQUIRED, which the toolkit refuses to read until the analyst names the
  column;
* a column on the denylist is listed as dropped and never read;
* every other column is proposed as a feature of the kind its values show
  (number, category with its number of levels, flag), or written commented
  out, with the reason, when it looks like an id, a date or a value recorded
  after the outcome (a call's duration, a response): a person decides.

Nothing but column names and counts is echoed: no customer's value appears
in the proposal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from nba_toolkit.config import DEFAULT_COLUMNS
from nba_toolkit.core.features import MAX_LEVELS, MIN_LEVEL_ROWS
from nba_toolkit.core.scalars import number
from nba_toolkit.core.snapshot import is_denied, load_snapshot, name_matches, read_header, text_kind

#: name patterns (whole words, as the denylist matches them) of the columns the selection needs
CORE_PATTERNS = {
    "customer_id": (
        "customer_id",
        "customer_no",
        "customer_number",
        "cust_id",
        "client_id",
        "relation_no",
        "relation_number",
        "relatienummer",
        "relatie_nr",
        "klant_id",
        "klantnummer",
        "klant_nr",
    ),
    "snapshot_date": ("snapshot_date", "snapshot", "peildatum", "as_of_date", "report_date", "extract_date"),
    "is_investor": ("investor", "invest", "has_investment", "belegger", "belegging", "beleggen"),
    "marketing_consent": ("consent", "marketing_consent", "opt_in", "optin", "toestemming"),
}
#: the kind of value each needed column must hold
CORE_KINDS = {
    "customer_id": ("id", "number"),
    "snapshot_date": ("date",),
    "is_investor": ("flag",),
    "marketing_consent": ("flag",),
}
CORE_MEANINGS = {
    "customer_id": "the relation number, the one id that goes into the mail file",
    "snapshot_date": "the date of the extract (one date per week)",
    "is_investor": "yes when the customer already has an investment account",
    "marketing_consent": "yes when the customer agreed to receive marketing",
}
#: words in a name that suggest a value recorded after the outcome it would predict
AFTER_OUTCOME = ("duration", "outcome", "result", "response", "responded", "after", "converted", "conversion", "target")
#: words in a name that suggest an identifier
ID_WORDS = ("id", "nr", "no", "number", "nummer", "key")
#: a column whose values differ on at least this share of rows looks like an id
ID_SHARE = 0.9
#: a number whose largest value is one of these, on this share of rows or more, may use it to mean "never" or "unknown"
MARKERS = (99, 999, 9999, 99999)
MARKER_SHARE = 0.05


@dataclass(frozen=True)
class ColumnVerdict:
    """What the proposal makes of one extract column."""

    column: str
    #: number, category, flag, date, id or text (the first three can be features)
    kind: str
    #: categories: how many different values the extract holds
    levels: int = 0
    #: why a person must decide before it becomes a feature; empty when it is proposed as one
    doubt: str = ""
    #: something the analyst should look at (a marker value such as 999)
    note: str = ""
    #: the same for every customer within each week of a history: a market figure (``market = true``)
    market: bool = False


@dataclass(frozen=True)
class Proposal:
    extract: Path
    rows: int
    #: each needed column -> the extract column found for it, or None
    needed: dict[str, str | None]
    #: columns the denylist drops, never read
    dropped: tuple[str, ...]
    #: every other column, in the extract's order
    columns: tuple[ColumnVerdict, ...]
    #: extract column -> the canonical name the default ``[columns]`` already gives it (the sample bank's names)
    known: dict[str, str] = field(default_factory=dict)

    def reads(self, column: str) -> str:
        """The name a feature reads the column by: its canonical name when ``[columns]`` maps it, else its own."""
        return self.known.get(column, column)

    @property
    def missing(self) -> list[str]:
        """The needed columns no extract column was found for: the analyst must name them."""
        return [canonical for canonical, column in self.needed.items() if column is None]

    def columns_block(self) -> str:
        """The ``[columns]`` table nba.toml gets in place of the sample's."""
        return columns_block(self)

    def features_block(self) -> str:
        """The ``[features]`` tables nba.toml gets in place of the sample's."""
        return features_block(self)

    @property
    def complete(self) -> bool:
        """Whether the proposed nba.toml loads as written: every needed column found, and at least one feature."""
        return not self.missing and any(not c.doubt for c in self.columns)

    def data_uses(self) -> list[str]:
        """The rows a new data-use register lists: the needed columns, then every column proposed as a feature."""
        return [*self.needed, *(self.reads(c.column) for c in self.columns if not c.doubt)]


def propose(path: Path, denylist: Sequence[str]) -> Proposal:
    """Read the extract once and judge every column; ``BadInput`` (naming file, column, row) when it cannot be read."""
    header = read_header(path)
    readable = [name for name in header if not is_denied(name, denylist)]
    snapshot = load_snapshot(path, mapping={name: name for name in readable}, denylist=denylist, schema={}, key=None)
    frame = snapshot.frame
    verdicts = {name: _judge(name, frame[name]) for name in readable}
    needed = {canonical: _find(canonical, verdicts) for canonical in CORE_PATTERNS}
    taken = {column for column in needed.values() if column}
    if needed["snapshot_date"]:
        verdicts.update(_market_figures(frame, needed["snapshot_date"], verdicts))
    columns = tuple(verdicts[name] for name in readable if name not in taken)
    return Proposal(
        extract=Path(path),
        rows=frame.height,
        needed=needed,
        dropped=tuple(name for name in header if is_denied(name, denylist)),
        columns=columns,
        known=_known_names([c.column for c in columns]),
    )


def _known_names(columns: list[str]) -> dict[str, str]:
    """Columns the default ``[columns]`` maps already: a feature must read them by that canonical name, or the
    loader would see one column claimed twice."""
    by_file_name = {file_name.casefold(): canonical for canonical, file_name in DEFAULT_COLUMNS.items()}
    return {column: by_file_name[column.casefold()] for column in columns if column.casefold() in by_file_name}


def _judge(name: str, values: pl.Series) -> ColumnVerdict:
    kind = _kind(values)
    present = values.drop_nulls()
    distinct = present.n_unique()
    whole = kind == "text" or (kind == "number" and bool((_numbers(present) % 1 == 0).all()))
    looks_like_id = (name_matches(name, ID_WORDS) and distinct > MAX_LEVELS) or (
        whole and present.len() > MAX_LEVELS and distinct >= ID_SHARE * present.len()
    )
    if looks_like_id:
        return ColumnVerdict(name, "id", doubt="looks like an id (a different value on almost every row); an id ranks nobody")
    if kind == "date":
        return ColumnVerdict(name, "date", doubt="holds dates; a feature is a number, a category or a flag, not a date")
    if kind == "text":
        return ColumnVerdict(
            name,
            "text",
            levels=distinct,
            doubt=f"has {distinct:,} different values: free text or a code, not a category (at most {MAX_LEVELS} levels)",
        )
    if distinct < 2:
        return ColumnVerdict(
            name,
            kind,
            levels=distinct,
            doubt="is the same for every customer in the extract, so it ranks nobody; if it is a market figure that "
            "changes from week to week (the bank's fund index), declare it with market = true",
        )
    doubt = ""
    if name_matches(name, AFTER_OUTCOME):
        doubt = (
            "its name suggests a value recorded after the outcome (a call's duration, a response): such a value "
            "makes a model look good in training and fail in use. Keep it only if it is known on the snapshot date"
        )
    note = _marker(_numbers(values)) if kind == "number" else ""
    return ColumnVerdict(name, kind, levels=distinct if kind == "category" else 0, doubt=doubt, note=note)


def _kind(values: pl.Series) -> str:
    """number, flag, category, date or text, from what the loader read and what the values are."""
    dtype = values.dtype
    present = values.drop_nulls()
    if dtype == pl.Boolean:
        return "flag"
    if dtype.is_numeric():
        return "flag" if present.len() and present.cast(pl.Float64).is_in([0.0, 1.0]).all() else "number"
    if dtype in (pl.Date, pl.Datetime):
        return "date"
    read_as = text_kind(values.cast(pl.String))
    if read_as != "str":
        return {"bool": "flag", "float": "number", "date": "date"}[read_as]
    return "category" if present.n_unique() <= MAX_LEVELS else "text"


def _numbers(values: pl.Series) -> pl.Series:
    """A number column as numbers, also when a Parquet file holds it as text (``text_kind`` said it reads as one)."""
    if values.dtype.is_numeric():
        return values
    return values.str.strip_chars().str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


def _market_figures(frame: pl.DataFrame, week: str, verdicts: dict[str, ColumnVerdict]) -> dict[str, ColumnVerdict]:
    """Numbers the same for every customer within each week, but not across weeks (in a history): market figures."""
    numbers = [name for name, v in verdicts.items() if v.kind == "number" and not v.doubt]
    if not numbers or frame[week].n_unique() < 2:
        return {}
    within = frame.group_by(week).agg(pl.col(numbers).n_unique()).select(pl.col(numbers).max()).row(0, named=True)
    return {name: replace(verdicts[name], market=True) for name in numbers if within[name] == 1}


def _marker(values: pl.Series) -> str:
    """A note when a number's largest value looks like a code for "never" or "unknown" (999 days)."""
    if values.drop_nulls().len() == 0:
        return ""
    top = values.max()
    share = number((values == top).mean())
    if top in MARKERS and share >= MARKER_SHARE:
        return (
            f"{top:g} is its largest value, on {share:.0%} of rows: if it means 'never' or 'unknown', cut the "
            f"number into bands (bands = [...]) so {top:g} becomes a level of its own instead of a very large number"
        )
    return ""


def _find(canonical: str, verdicts: dict[str, ColumnVerdict]) -> str | None:
    """The first column whose name fits the needed column and whose values are of its kind."""
    for name, verdict in verdicts.items():
        if name_matches(name, CORE_PATTERNS[canonical]) and verdict.kind in CORE_KINDS[canonical]:
            return name
    return None


# ------------------------------------------------------------------ writing


def columns_block(proposal: Proposal) -> str:
    """The ``[columns]`` table: the needed columns found, an empty REQUIRED value for each one that was not."""
    lines = [
        "[columns]",
        f"# Proposed from {proposal.extract.name} ({proposal.rows:,} rows) by `nba-toolkit init --from-extract`.",
        "# canonical name = the column name in the bank's extract",
    ]
    for canonical, column in proposal.needed.items():
        if column is None:
            lines.append(
                f"# REQUIRED: no column was found for {canonical} ({CORE_MEANINGS[canonical]}); name it here, "
                "and delete the feature below that reads it, if there is one."
            )
            lines.append(f'{canonical} = ""')
        else:
            lines.append(f"{canonical} = {_text(column)}   # {CORE_MEANINGS[canonical]}")
    for column, canonical in proposal.known.items():
        lines.append(f"{canonical} = {_text(column)}   # read by a feature below")
    if proposal.dropped:
        lines.append(
            f"# Dropped on load and never read, by the [privacy] denylist: {', '.join(proposal.dropped)}. "
            "Other columns an engine does not read are not read either."
        )
    return "\n".join(lines) + "\n"


def features_block(proposal: Proposal) -> str:
    """One ``[features.<name>]`` table per column, the doubtful ones commented out with the reason."""
    lines = [
        "# The engine's features, one table per column, as proposed from the extract (kinds from its values).",
        "# Check each one: the label is what every screen, check and model card shows; remove what should not",
        "# be used. More keys (docs/operator-guide.md, 'Using your bank's own columns'): transform = \"log\",",
        "# clip = [low, high], bands = [cut, ...], levels = [...], stand_in = VALUE (makes the input optional),",
        '# purpose = "why this data is used", market = true, and kind = "composite" with parts = [...].',
        "# Compliance approves each column before training (nba-toolkit govern approve COLUMN ...).",
        "# After any change here, train again: a model trained on other features refuses to score.",
    ]
    if not any(not c.doubt for c in proposal.columns):
        # an empty table is refused on load; without one, the toolkit would use the sample bank's features
        lines += ["# REQUIRED: no column could be proposed as a feature; declare at least one [features.<name>].", "[features]"]
    names: set[str] = set()
    for verdict in proposal.columns:
        name = _feature_name(verdict.column, names)
        names.add(name)
        lines.append("")
        lines += _feature_lines(name, verdict, proposal.reads(verdict.column))
    return "\n".join(lines) + "\n"


def _feature_lines(name: str, verdict: ColumnVerdict, reads: str) -> list[str]:
    if verdict.kind == "date":
        return [f"# {verdict.column}: {verdict.doubt}. Left out; if it matters, put a number derived from it in the extract."]
    kind = {"id": "category", "text": "category"}.get(verdict.kind, verdict.kind)
    about = {
        "number": "a number",
        "flag": "a flag (yes/no)",
        "category": f"a category with {verdict.levels:,} levels in the extract; a level in fewer than "
        f"{MIN_LEVEL_ROWS} training rows is scored as 'other'",
    }
    table = [
        f"[features.{name}]",
        f"label = {_text(_label(verdict.column))}",
        f"column = {_text(reads)}",
        f'kind = "{kind}"',
    ]
    if verdict.doubt:
        return [f"# {verdict.column}: {verdict.doubt}. Left out for you to decide:", *(f"# {line}" for line in table)]
    notes = [f"# {verdict.column}: {about[verdict.kind]}."]
    if verdict.note:
        notes.append(f"# {verdict.note}.")
    if verdict.market:
        notes.append("# The same for every customer within each week: a market figure, watched by the market regime check.")
        table.append("market = true")
    return [*notes, *table]


def _feature_name(column: str, taken: set[str]) -> str:
    """A TOML bare key from the column name (``AGE_YEARS`` -> ``age_years``), different from the ones taken."""
    base = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_") or "column"
    if base in ("customer_id", "label", "snapshot_date"):
        base += "_feature"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _label(column: str) -> str:
    """A first plain label from the column name (``AGE_YEARS`` -> ``Age years``), for the analyst to improve."""
    words = [w for w in re.split(r"[\W_]+", column) if w]
    return " ".join(words).capitalize() if words else column


def _text(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)
