"""Loading the weekly customer snapshot (R-D1..R-D4).

The snapshot is whatever the bank's warehouse extract produced this week: CSV
in any common dialect or Parquet, with the bank's own column names. This module
turns it into one frame with canonical names and dependable types, or refuses
it with an error that names the file, the column and the first bad row, so an
operator can fix the extract instead of reading a traceback.

Two rules shape the code:

* Only the columns a caller asks for and the ones ``[columns]`` maps are read
  (an allowlist); every other column, and every column on the sensitive-data
  denylist, is decided from the header alone and never parsed, so its values
  cannot reach a frame, a log or an error message. Their names are counted in
  ``dropped_columns``: a name the denylist does not know (``KLANTNAAM``,
  ``IBAN_NR``) is dropped all the same.
* Types come from the whole file. Every CSV cell is read as text and converted
  here with vectorised Polars expressions; a type guessed from the first rows
  would turn a ``3,5`` in row 120 into a crash or a silent null.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl

from nba_toolkit.core import ids as relation_numbers
from nba_toolkit.errors import BadInput

ColumnType = Literal["id", "int", "float", "bool", "date", "str"]


@dataclass(frozen=True)
class Snapshot:
    """One loaded snapshot and what the loader decided about it."""

    frame: pl.DataFrame
    path: Path
    sha256: str
    rows: int
    dropped_columns: tuple[str, ...]
    dialect: dict[str, str]


_CSV_SUFFIXES = {".csv", ".txt"}
_DELIMITERS = (";", ",", "\t")
_REGEX_CHAR = {";": ";", ",": ",", "\t": r"\t"}
_DELIMITER_SAMPLE = 1000
_QUOTED = r'"[^"]*"'
_FOUND_LIMIT = 20

# A column counts as "decimal comma" when every value fits _FLOAT_PATTERN[","]
# and at least one has a comma part (_COMMA_DECIMAL). "1.234" is then refused:
# in such a file it may mean one thousand two hundred and thirty-four. A
# declared float column only needs more comma than point decimals
# (_DOT_DECIMAL), so one stray value is reported at its own row instead of
# turning every other value of the file into an error at row 1.
_COMMA_DECIMAL = r"^[+-]?\d+,\d+([eE][+-]?\d+)?$"
_DOT_DECIMAL = r"^[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?$"
_FLOAT_PATTERN = {
    ".": r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$",
    ",": r"^[+-]?\d+(,\d+)?([eE][+-]?\d+)?$",
}
# Numbers with a leading zero (branch "007", an account "0612345") are codes;
# reading them as numbers would change the identifier, so they stay text.
_PLAIN_INT = r"^-?(0|[1-9]\d*)$"
# A relation number already in form (see core/ids.py): no sign, no leading zero.
_PLAIN_ID = r"^(0|[1-9]\d*)$"
_ZERO_PADDED = r"^[+-]?0\d"
_ISO_DATE = "%Y-%m-%d"
_DATE_PATTERN = {
    _ISO_DATE: r"^\d{4}-\d{2}-\d{2}$",
    "%d-%m-%Y": r"^\d{2}-\d{2}-\d{4}$",
    "%d/%m/%Y": r"^\d{2}/\d{2}/\d{4}$",
}
_BOOL_WORDS = {
    **dict.fromkeys(("1", "true", "t", "yes", "y", "j", "ja"), True),
    **dict.fromkeys(("0", "false", "f", "no", "n", "nee"), False),
}
# A column with at most this many distinct values in its first rows may repeat a few values only.
_FEW = 64
_FEW_SAMPLE = 1000
# The yes/no words as extracts write them; any other casing takes the careful way.
_BOOL_AS_WRITTEN = {
    spelling: value for word, value in _BOOL_WORDS.items() for spelling in {word, word.upper(), word.capitalize()}
}
_EXPECTED = {
    "id": f"a relation number ({relation_numbers.RULE})",
    "int": "a whole number",
    "float": "a number",
    "bool": "yes/no (1/0, true/false, y/n, j/n, ja/nee)",
    "date": "a date (YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY, one format per column)",
    "str": "text",
}
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[\W_]+")


# --------------------------------------------------------------------------- api


def load_snapshot(
    path: Path,
    *,
    mapping: Mapping[str, str],
    denylist: Sequence[str],
    schema: Mapping[str, ColumnType],
    optional: Mapping[str, ColumnType] | None = None,
    key: str | None = "customer_id",
) -> Snapshot:
    """Read a snapshot file into canonical columns, or raise ``BadInput``.

    ``mapping`` is canonical name -> the file's column name; ``schema`` lists
    the canonical columns this caller needs and their types. The key is
    needed unless ``key`` is None (a published experiment file, one row per
    customer): when ``schema`` does not declare it, it is loaded as an ``id``.
    ``optional`` lists columns typed the same way when the file has them and
    left out when it does not (an engine's optional inputs).
    """
    path = Path(path)
    wanted: dict[str, ColumnType] = {**(optional or {}), **({key: "id"} if key else {}), **schema}
    _refuse_denied_requests(path, wanted, mapping, denylist)
    may_miss = frozenset(optional or ()) - {key, *schema}
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame, plan, dialect, sha256 = _load_parquet(path, mapping, denylist, wanted, may_miss)
        elif suffix in _CSV_SUFFIXES:
            frame, plan, dialect, sha256 = _load_csv(path, mapping, denylist, wanted, may_miss)
        else:
            raise BadInput(f"unsupported file type '{path.suffix}'", file=path, hint="Use a .csv, .txt or .parquet file.")
    except pl.exceptions.PolarsError as exc:
        # Defensive: every expected failure is reported above with its column and
        # row; anything else still reaches the operator as bad input, not a trace.
        raise BadInput(f"could not be loaded ({type(exc).__name__})", file=path) from None
    # Duplicate keys are a blocking check elsewhere; a row without one is unusable.
    if key:
        _refuse_empty(path, frame[key], plan.file_names[plan.names.index(key)])
    _refuse_non_finite(path, frame, dict(zip(plan.names, plan.file_names)))
    return Snapshot(
        frame=frame,
        path=path,
        sha256=sha256,
        rows=frame.height,
        dropped_columns=plan.dropped,
        dialect=dialect,
    )


def load_history(
    path: Path,
    *,
    mapping: Mapping[str, str],
    denylist: Sequence[str],
    schema: Mapping[str, ColumnType],
    optional: Mapping[str, ColumnType] | None = None,
    last_day: date | None = None,
    key: str | None = "customer_id",
) -> Snapshot:
    """The stacked weekly history, read lazily: only the columns asked for, only the weeks up to ``last_day``.

    Training reads a history of tens of millions of customer-weeks, of which
    it needs a handful of columns and, with ``--until`` or outcomes not yet
    known, not every week. Reading the whole file and filtering afterwards
    held all of it in memory at once; here the column choice and the date
    filter go into the Parquet scan, so what is never used is never read.
    Only the columns ``schema`` and ``optional`` ask for are read, not every
    column ``[columns]`` maps. Values are checked as ``load_snapshot`` checks
    them; a bad value found in the weeks read is reported at its row in the
    file. A history that is not Parquet is loaded whole and filtered.
    """
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        loaded = load_snapshot(path, mapping=mapping, denylist=denylist, schema=schema, optional=optional, key=key)
        if last_day is None:
            return loaded
        frame = loaded.frame.filter(pl.col("snapshot_date") <= last_day)
        return Snapshot(frame, path, loaded.sha256, frame.height, loaded.dropped_columns, loaded.dialect)
    wanted: dict[str, ColumnType] = {**(optional or {}), **({key: "id"} if key else {}), **schema}
    _refuse_denied_requests(path, wanted, mapping, denylist)
    may_miss = frozenset(optional or ()) - {key, *schema}
    sha256 = _file_sha256(path)
    try:
        scan = pl.scan_parquet(path)
        header = list(scan.collect_schema())
        plan = _only_wanted(_plan_columns(path, header, mapping, denylist, wanted, may_miss), wanted)
        scan = scan.select(pl.nth(list(plan.positions)))
        dates = dict(zip(plan.names, plan.file_names)).get("snapshot_date")
        pushed = last_day is not None and dates is not None and scan.collect_schema()[dates] in (pl.Date, pl.Datetime)
        if pushed and dates is not None:  # ``pushed`` implies it; said again for the type checker
            scan = scan.filter(pl.col(dates).cast(pl.Date) <= last_day)
        frame = scan.collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError):
        raise BadInput("is not a readable Parquet file", file=path) from None
    frame.columns = list(plan.names)
    try:
        # column by column, each read column let go once converted: the weeks read are never held twice
        frame = pl.DataFrame(
            [_native_column(path, frame.drop_in_place(n), f, wanted.get(n)) for n, f in zip(plan.names, plan.file_names)]
        )
        if key:
            _refuse_empty(path, frame[key], plan.file_names[plan.names.index(key)])
        _refuse_non_finite(path, frame, dict(zip(plan.names, plan.file_names)))
    except BadInput:
        if pushed:
            # rows of the filtered frame are not rows of the file: the whole file is read to name the right one
            load_snapshot(path, mapping=mapping, denylist=denylist, schema=schema, optional=optional, key=key)
        raise
    if last_day is not None and not pushed:
        frame = frame.filter(pl.col("snapshot_date") <= last_day)
    return Snapshot(frame, path, sha256, frame.height, plan.dropped, {"format": "parquet"})


def is_denied(column: str, denylist: Sequence[str]) -> bool:
    """Whether a column name falls under the sensitive-data denylist (R-D3).

    Names are split into words (``FULL_NAME``, ``Full Name`` and ``FullName``
    all give ``full``, ``name``) and a term matches a run of whole words, so
    ``name`` catches ``FULL_NAME`` but not ``NAMESPACE``. A run also matches
    when its words glued together spell the term, so ``postcode`` catches
    ``POST_CODE`` and ``postal_code`` catches ``POSTALCODE``: a missed
    sensitive column costs more than a wrongly dropped one.
    """
    return name_matches(column, denylist)


def name_matches(column: str, terms: Sequence[str]) -> bool:
    """Whether a column name holds one of ``terms`` as a run of whole words, by the denylist's rule (``is_denied``)."""
    words = _words(column)
    return any(_spells(words, "".join(_words(term))) for term in terms)


def text_kind(values: pl.Series) -> ColumnType:
    """What the loader can read a text column as when asked: ``bool`` (its yes/no words), ``float`` (numbers with
    a decimal point or comma; a code with a leading zero stays text), ``date`` (one of its date formats) or
    ``str``; empty values do not count."""
    v = values.drop_nulls().str.strip_chars()
    v = v.filter(v != "")
    if v.len() == 0:
        return "str"
    if v.str.to_lowercase().is_in(list(_BOOL_WORDS)).all():
        return "bool"
    numbers = v.str.contains(_FLOAT_PATTERN["."]) | v.str.contains(_FLOAT_PATTERN[","])
    if numbers.all() and not v.str.contains(_ZERO_PADDED).any():
        return "float"
    if any(v.str.contains(pattern).all() for pattern in _DATE_PATTERN.values()):
        return "date"
    return "str"


def read_header(path: Path) -> list[str]:
    """The column names of a CSV or Parquet file, from its header alone, or ``BadInput`` naming the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CSV_SUFFIXES and suffix != ".parquet":
        raise BadInput(f"unsupported file type '{path.suffix}'", file=path, hint="Use a .csv, .txt or .parquet file.")
    data, _ = _read_bytes(path)
    if not data:
        raise _empty_file(path)
    if suffix == ".parquet":
        try:
            return list(pl.scan_parquet(io.BytesIO(data)).collect_schema())
        except (pl.exceptions.PolarsError, OSError):
            raise BadInput("is not a readable Parquet file", file=path) from None
    body, _ = _decode(path, data)
    if not body or body.isspace():
        raise _empty_file(path)
    return _record_structure(path, body)[1]


# ---------------------------------------------------------------- names, denylist


def _words(name: str) -> list[str]:
    return [w for w in _NON_ALNUM.split(_CAMEL_BOUNDARY.sub("_", name).lower()) if w]


def _spells(words: list[str], term: str) -> bool:
    """Whether some contiguous run of ``words`` concatenates to ``term``."""
    if not term:
        return False
    for start in range(len(words)):
        run = ""
        for word in words[start:]:
            run += word
            if run == term:
                return True
            if not term.startswith(run):
                break
    return False


def _norm(name: str) -> str:
    return name.strip().casefold()


def _refuse_denied_requests(
    path: Path, wanted: Mapping[str, ColumnType], mapping: Mapping[str, str], denylist: Sequence[str]
) -> None:
    """An engine that asks for a sensitive column is refused, whatever the file holds."""
    for canonical in wanted:
        for name in (canonical, mapping.get(canonical, canonical)):
            if is_denied(name, denylist):
                raise BadInput(
                    f"'{name}' is on the sensitive-data denylist and cannot be used",
                    file=path,
                    column=name,
                    hint="Remove it from the engine's required features or from [privacy] denylist.",
                )


@dataclass(frozen=True)
class _Plan:
    """Which file columns to read (by position) and what to call them."""

    positions: tuple[int, ...]
    file_names: tuple[str, ...]
    names: tuple[str, ...]
    dropped: tuple[str, ...]


def _plan_columns(
    path: Path,
    header: Sequence[str],
    mapping: Mapping[str, str],
    denylist: Sequence[str],
    wanted: Mapping[str, ColumnType],
    may_miss: frozenset[str],
) -> _Plan:
    """Decide from the header alone what to drop, keep and rename: only claimed, non-denied columns are kept."""
    header = [h if h.strip() else f"column_{i + 1}" for i, h in enumerate(header)]
    kept = [i for i, h in enumerate(header) if not is_denied(h, denylist)]
    by_norm: dict[str, int] = {}
    for i in kept:
        if _norm(header[i]) in by_norm:
            raise BadInput(f"the column name '{header[i].strip()}' appears twice in the header", file=path)
        by_norm[_norm(header[i])] = i
    claims = _claims(path, header, mapping, wanted, by_norm, may_miss)
    # The allowlist: only columns the caller asked for or [columns] maps are read.
    kept = [i for i in kept if i in claims and not is_denied(claims[i], denylist)]
    kept_set = set(kept)
    return _Plan(
        positions=tuple(kept),
        file_names=tuple(header[i] for i in kept),
        names=tuple(claims[i] for i in kept),
        dropped=tuple(h for i, h in enumerate(header) if i not in kept_set),
    )


def _claims(
    path: Path,
    header: Sequence[str],
    mapping: Mapping[str, str],
    wanted: Mapping[str, ColumnType],
    by_norm: Mapping[str, int],
    may_miss: frozenset[str],
) -> dict[int, str]:
    """File position -> canonical name, for every canonical name found in the file.

    A wanted name the file lacks is refused, unless it is one it ``may_miss``.
    """
    claims: dict[int, str] = {}
    for canonical in dict.fromkeys([*wanted, *mapping]):
        expected = mapping.get(canonical, canonical)
        position = by_norm.get(_norm(expected), by_norm.get(_norm(canonical)))
        if position is None:
            if canonical in wanted and canonical not in may_miss:
                raise _missing_column(path, header, expected, canonical)
            continue
        if position in claims:
            raise BadInput(
                f"column '{header[position]}' is mapped to both '{claims[position]}' and '{canonical}'",
                file=path,
                hint="Fix [columns] in nba.toml so each file column has one canonical name.",
            )
        claims[position] = canonical
    return claims


def _missing_column(path: Path, header: Sequence[str], expected: str, canonical: str) -> BadInput:
    shown = ", ".join(header[:_FOUND_LIMIT])
    if len(header) > _FOUND_LIMIT:
        shown += f", ... ({len(header) - _FOUND_LIMIT} more)"
    alias = "" if _norm(expected) == _norm(canonical) else f" (canonical name '{canonical}')"
    return BadInput(
        f"required column '{expected}'{alias} is missing; columns found: {shown}",
        file=path,
        column=expected,
        hint=f"Check that [columns] in nba.toml maps '{canonical}' to this file's column name.",
    )


# ------------------------------------------------------------------------ reading


def _read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their SHA-256, which the run records.

    Each loader reads the file itself, so that it can let go of the bytes as
    soon as it has parsed them: at ten million customers they are 650 MB.
    """
    try:
        data = path.read_bytes()
        return data, hashlib.sha256(data).hexdigest()
    except FileNotFoundError:
        raise BadInput("the file does not exist", file=path) from None
    except IsADirectoryError:
        raise BadInput("is a folder, not a file", file=path) from None
    except OSError as exc:
        raise BadInput(f"could not be read ({exc.strerror or exc})", file=path) from None


def _file_sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks: a history of tens of millions of rows is never held as bytes."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 24), b""):
                digest.update(block)
    except FileNotFoundError:
        raise BadInput("the file does not exist", file=path) from None
    except IsADirectoryError:
        raise BadInput("is a folder, not a file", file=path) from None
    except OSError as exc:
        raise BadInput(f"could not be read ({exc.strerror or exc})", file=path) from None
    if path.stat().st_size == 0:
        raise _empty_file(path)
    return digest.hexdigest()


def _only_wanted(plan: _Plan, wanted: Mapping[str, ColumnType]) -> _Plan:
    """The plan without the columns ``[columns]`` maps but this caller does not use: those are not read either."""
    keep = [i for i, name in enumerate(plan.names) if name in wanted]
    return _Plan(
        positions=tuple(plan.positions[i] for i in keep),
        file_names=tuple(plan.file_names[i] for i in keep),
        names=tuple(plan.names[i] for i in keep),
        dropped=plan.dropped + tuple(plan.file_names[i] for i in range(len(plan.names)) if i not in keep),
    )


def _empty_file(path: Path) -> BadInput:
    """Not even a header: nothing says this is a snapshot at all.

    A header without rows does load, as zero customers: it is a snapshot, an
    empty one, and the row-count check stops that run with the operator's advice.
    """
    return BadInput("the file is empty; it has no customer rows", file=path, hint="Check that the extract ran to completion.")


def _load_parquet(
    path: Path,
    mapping: Mapping[str, str],
    denylist: Sequence[str],
    wanted: Mapping[str, ColumnType],
    may_miss: frozenset[str],
) -> tuple[pl.DataFrame, _Plan, dict[str, str], str]:
    data, sha256 = _read_bytes(path)
    if not data:
        raise _empty_file(path)
    try:
        header = list(pl.scan_parquet(io.BytesIO(data)).collect_schema())
        plan = _plan_columns(path, header, mapping, denylist, wanted, may_miss)
        frame = pl.read_parquet(io.BytesIO(data), columns=list(plan.positions))
    except (pl.exceptions.PolarsError, OSError):
        raise BadInput("is not a readable Parquet file", file=path) from None
    del data
    frame.columns = list(plan.names)
    converted = [
        _native_column(path, frame[name], file_name, wanted.get(name)) for name, file_name in zip(plan.names, plan.file_names)
    ]
    return pl.DataFrame(converted), plan, {"format": "parquet"}, sha256


def _load_csv(
    path: Path,
    mapping: Mapping[str, str],
    denylist: Sequence[str],
    wanted: Mapping[str, ColumnType],
    may_miss: frozenset[str],
) -> tuple[pl.DataFrame, _Plan, dict[str, str], str]:
    data, sha256 = _read_bytes(path)
    body, encoding = _decode(path, data)
    del data  # the body is the same bytes, or their UTF-8 re-encoding
    if not body or body.isspace():
        raise _empty_file(path)
    _refuse_lone_carriage_returns(path, body)
    delimiter, header, records, counted = _record_structure(path, body)
    plan = _plan_columns(path, header, mapping, denylist, wanted, may_miss)
    if not counted and len(plan.positions) < len(header):
        # Polars checks the width of the columns it reads only; see _record_structure.
        counts = _line_field_counts(body, delimiter)
        assert counts is not None, "a file without quotes (not counted) has a field count per line"
        _refuse_ragged(path, counts, len(header))
    try:
        frame = pl.read_csv(body, separator=delimiter, has_header=True, infer_schema=False, columns=list(plan.positions))
    except pl.exceptions.PolarsError:
        # A record with more fields than the header; the exact count names its row. A quoted field across
        # lines leaves no count per line, but then every record was counted already (_record_structure).
        counts = _line_field_counts(body, delimiter)
        if counts is not None:
            _refuse_ragged(path, counts, len(header))
        raise BadInput("could not be read as CSV", file=path, hint="Check quoting and line endings.") from None
    del body
    if frame.height != records - 1:
        raise BadInput("could not be read as CSV: its rows are garbled (check the quotes)", file=path)
    frame.columns = list(plan.names)
    frame, decimal = _convert_text(path, frame, dict(zip(plan.names, plan.file_names)), wanted, comma_decimals=delimiter != ",")
    dialect = {"format": "csv", "delimiter": delimiter, "decimal": decimal, "encoding": encoding}
    return frame, plan, dialect, sha256


def _decode(path: Path, data: bytes) -> tuple[bytes, str]:
    """UTF-8 (with or without BOM) else Windows-1252; Polars always gets UTF-8 bytes.

    Empty lines at the end are dropped so that they do not count as
    customers without an id (see _without_blank_end). Plain ASCII, the usual
    extract, reads the same in every encoding and is passed on as it is.
    """
    if b"\x00" in data:
        raise BadInput(
            "is not a text file (it may be an Excel or Parquet file renamed to .csv)",
            file=path,
            hint="Export the snapshot as CSV or save it with a .parquet name.",
        )
    bom = data.startswith(b"\xef\xbb\xbf")
    body = _without_blank_end(data[3:] if bom else data)
    utf8 = "utf-8-sig" if bom else "utf-8"
    if body.isascii():
        return body, utf8
    try:
        body.decode("utf-8")
        return body, utf8
    except UnicodeDecodeError:
        pass
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError:
        raise BadInput("is neither UTF-8 nor Windows-1252 text", file=path) from None
    return text.encode("utf-8"), "cp1252"


def _without_blank_end(body: bytes) -> bytes:
    """The body without empty lines at its end; one final line break stays, which every reader ignores.

    The usual file ends with exactly one line break and is returned as it is:
    stripping it would copy the whole file.
    """
    end = len(body)
    while end and body[end - 1] in b"\r\n":
        end -= 1
    return body if body[end:] in (b"", b"\n", b"\r\n") else body[:end]


def _record_structure(path: Path, body: bytes) -> tuple[str, list[str], int, bool]:
    """The delimiter, the header names, the number of records and whether each record's fields were counted.

    Refuses a record of another width when it counted them. Without quotes, a
    record is a line. When the file holds exactly (header width - 1)
    delimiters per line, no line can have fewer fields unless another has
    more, and Polars refuses a record with more fields than the header while
    reading every column; so the lines need not be counted one by one, which
    is the expensive part, unless some columns are not read (the caller's
    job). Otherwise, and always with quotes, every record's fields are
    counted (see _line_field_counts), in Python's csv module when a quoted
    field spans lines.
    """
    delimiter = _choose_delimiter(pl.Series(_first_lines(body, _DELIMITER_SAMPLE)).str.replace_all(_QUOTED, ""))
    end = body.find(b"\n")
    first_line = (body if end < 0 else body[:end]).decode("utf-8").rstrip("\r")
    header = next(csv.reader([first_line], delimiter=delimiter))
    if b'"' not in body:
        records = body.count(b"\n") + (not body.endswith(b"\n"))
        if body.count(delimiter.encode()) == (len(header) - 1) * records:
            return delimiter, header, records, False
    counts = _line_field_counts(body, delimiter)
    if counts is None:
        header, counts = _csv_module_structure(path, body.decode("utf-8"), delimiter)
    _refuse_ragged(path, counts, len(header))
    return delimiter, header, counts.len(), True


def _refuse_lone_carriage_returns(path: Path, body: bytes) -> None:
    """A line break is LF or CR LF; a CR on its own (old Mac files, a stray one in the header) is refused.

    Readers disagree about a lone CR: one sees a line break, another a
    character in a value, so the file's rows would depend on who reads it.
    """
    if body.count(b"\r") == body.count(b"\r\n"):
        return
    lone = re.search(rb"\r(?!\n)", body)
    assert lone is not None, "more CRs than CR LFs leave a CR on its own"
    position = lone.start()
    line = body.count(b"\n", 0, position)
    raise BadInput(
        "has a carriage return (CR) on its own "
        + ("in the header" if line == 0 else f"in line {line + 1}")
        + "; line breaks must be LF or CR LF",
        file=path,
        hint="Save the extract again with Windows (CR LF) or Unix (LF) line endings.",
    )


def _first_lines(body: bytes, limit: int) -> list[str]:
    """The first ``limit`` lines, without splitting the whole file."""
    end = -1
    for _ in range(limit):
        end = body.find(b"\n", end + 1)
        if end < 0:
            break
    head = body if end < 0 else body[:end]
    return head.decode("utf-8").rstrip("\r\n").split("\n")


def _line_field_counts(body: bytes, delimiter: str) -> pl.Series | None:
    """Every line's field count (the header's first), or None when a quoted field spans lines.

    Lines are split and counted in Polars, which is fast (see _field_counts).
    """
    # NUL never occurs in the text (see _decode), so each line is one field.
    lines = pl.read_csv(
        body,
        separator="\x00",
        quote_char=None,
        has_header=False,
        infer_schema=False,
        empty_string_is_null=False,
        new_columns=["line"],
    ).to_series()
    if b'"' in body:
        quotes = lines.str.count_matches('"', literal=True)
        if (quotes % 2 == 1).any():
            return None
    else:
        quotes = pl.zeros(lines.len(), dtype=pl.UInt32, eager=True)
    return _field_counts(lines, quotes, delimiter)


def _field_counts(lines: pl.Series, quotes: pl.Series, delimiter: str) -> pl.Series:
    """Fields per line: the delimiters outside quoted fields, plus one.

    A quoted field without a delimiter in it (the usual case, even in files
    that quote everything) cannot change the count, and counting those fields
    is much cheaper than blanking them all out. Only lines with a delimiter
    inside quotes are recounted with their quoted parts removed.
    """
    counts = lines.str.count_matches(delimiter, literal=True) + 1
    if quotes.max() == 0:
        return counts
    # Quoted fields are the pairs of consecutive quotes (1st-2nd, 3rd-4th, ...);
    # a match of this pattern is such a pair, so all fields are delimiter-free
    # exactly when there are quotes / 2 matches.
    plain = lines.str.count_matches(f'"[^"{_REGEX_CHAR[delimiter]}]*"')
    holds = (plain != quotes // 2).arg_true()
    if not holds.len():
        return counts
    recount = lines.gather(holds).str.replace_all(_QUOTED, "").str.count_matches(delimiter, literal=True) + 1
    return counts.scatter(holds, recount)


def _choose_delimiter(sample: pl.Series) -> str:
    """The candidate the header uses and the sample rows agree with; ``,`` if none."""
    scores = []
    for delimiter in _DELIMITERS:
        counts = sample.str.count_matches(delimiter, literal=True)
        in_header = counts[0]
        if in_header:
            scores.append(((counts == in_header).mean(), in_header, delimiter))
    return max(scores)[2] if scores else ","


def _csv_module_structure(path: Path, text: str, delimiter: str) -> tuple[list[str], pl.Series]:
    """The slow but exact count, for files with line breaks inside quoted fields.

    A blank line counts as one (empty) field, as it does for Polars.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        counts = [len(header), *(len(record) or 1 for record in reader)]
    except csv.Error as exc:
        raise BadInput(f"could not be read as CSV near line {reader.line_num} ({exc})", file=path) from None
    return header, pl.Series(counts)


def _refuse_ragged(path: Path, counts: pl.Series, width: int) -> None:
    bad = (counts != width).arg_true()
    if bad.len():
        row = int(bad[0])
        raise BadInput(
            f"has {counts[row]} fields but the header has {width}",
            file=path,
            row=row,
            hint="Look for a missing or extra delimiter, an unclosed quote or a blank line.",
        )


# --------------------------------------------------------------------- converting


def _non_empty(text: pl.Expr) -> pl.Expr:
    """An empty value, quoted ("") or not, is a null."""
    return pl.when(text != "").then(text)


def _clean(name: str) -> pl.Expr:
    """Surrounding spaces are noise in typed values (text keeps them)."""
    return _non_empty(pl.col(name).str.strip_chars()).alias(name)


def _convert_text(
    path: Path,
    raw: pl.DataFrame,
    file_names: Mapping[str, str],
    wanted: Mapping[str, ColumnType],
    *,
    comma_decimals: bool,
) -> tuple[pl.DataFrame, str]:
    """Give every text column its type, judged on the whole file.

    Returns the frame and the decimal separator; ``comma_decimals`` says
    whether a decimal comma is possible at all (not when ``,`` delimits).
    """
    quick = _convert_declared(raw, wanted, comma_decimals=comma_decimals)
    if quick is not None:
        return quick
    return _convert_carefully(path, raw, file_names, wanted, comma_decimals=comma_decimals)


def _convert_carefully(
    path: Path,
    raw: pl.DataFrame,
    file_names: Mapping[str, str],
    wanted: Mapping[str, ColumnType],
    *,
    comma_decimals: bool,
) -> tuple[pl.DataFrame, str]:
    """Clean, infer what is not declared, convert, and name the first value that does not convert."""
    # Declared text keeps its raw values, so only the other columns are cleaned.
    cleaned = raw.select(_clean(name) for name in raw.columns if wanted.get(name) != "str")
    decimal = _detect_decimal(cleaned, wanted) if comma_decimals else "."
    inferred = _infer_types(cleaned, [n for n in raw.columns if n not in wanted], decimal)
    types = {name: wanted[name] if name in wanted else inferred[name] for name in raw.columns}
    exprs = _text_exprs(path, cleaned, {n: types[n] for n in cleaned.columns}, file_names, decimal)
    converted = cleaned.select(exprs.values())
    _refuse_bad_values(path, raw, cleaned, converted, types, file_names)
    texts = raw.select(_non_empty(pl.col(n)).alias(n) for n in raw.columns if types[n] == "str")
    columns = [texts[n] if types[n] == "str" else converted[n] for n in raw.columns]
    return pl.DataFrame(columns), decimal


def _convert_declared(
    raw: pl.DataFrame, wanted: Mapping[str, ColumnType], *, comma_decimals: bool
) -> tuple[pl.DataFrame, str] | None:
    """The usual extract's way through _convert_text, in fewer passes; None when it does not apply.

    It applies when every column has a declared type and every value already
    reads as that type as it stands. Such values have no surrounding spaces
    and are not empty, so cleaning would change nothing, and the careful way
    would decide the same decimal separator and convert them the same: this
    way only skips the cleaning and the per-value bookkeeping that the
    careful way needs to find and report a bad value. Anything else (an
    undeclared column, a space, an empty string, a bad value) returns None,
    and the careful way reports it.
    """
    if any(name not in wanted for name in raw.columns):
        return None
    if any(raw[name].null_count() for name in raw.columns if wanted[name] == "id"):
        return None
    # The week's date and the market figures are one value for everyone: such
    # columns are checked and converted once per distinct value.
    repeated = {
        name: distinct
        for name in raw.columns
        if wanted[name] in ("float", "date") and (distinct := _few_distinct(raw[name])) is not None
    }
    parts = [raw.drop(list(repeated)), *(distinct.to_frame() for distinct in repeated.values())]
    decimal = _decimal_of_valid_floats(parts, [n for n in raw.columns if wanted[n] == "float"], comma_decimals=comma_decimals)
    if decimal is None:
        return None
    converted = {}
    for part in parts:
        done = part.select(_declared_expr(pl.col(name), wanted[name], decimal).alias(name) for name in part.columns)
        if done.null_count().row(0) != part.null_count().row(0):
            return None
        converted.update(done.to_dict())
    for name, distinct in repeated.items():
        converted[name] = raw[name].replace_strict(distinct, converted[name], default=None)
    return pl.DataFrame([converted[name] for name in raw.columns]), decimal


def _few_distinct(values: pl.Series) -> pl.Series | None:
    """A column's distinct values (no null) when it has only a few, else None.

    The first rows decide whether counting them all is worth it, so a column
    of many values (balances, ids) costs next to nothing here.
    """
    if values.head(_FEW_SAMPLE).n_unique() > _FEW:
        return None
    distinct = values.unique().drop_nulls()
    return distinct if distinct.len() <= _FEW else None


def _decimal_of_valid_floats(parts: list[pl.DataFrame], floats: list[str], *, comma_decimals: bool) -> str | None:
    """The decimal separator when every float value fits one separator's pattern as it stands, else None.

    When every value fits the decimal-comma pattern, none has a decimal point,
    so _detect_decimal's vote is whether any value has a decimal comma. When
    every value fits the decimal-point pattern, none has a comma: the vote is
    no. Either way the vote comes from the counts computed here. Both are
    properties of the set of values, so ``parts`` may hold a column's
    distinct values instead of the column.
    """

    def fits(part: pl.DataFrame, names: list[str], sep: str) -> bool:
        every = [(pl.col(n).is_null() | pl.col(n).str.contains(_FLOAT_PATTERN[sep])).all() for n in names]
        return part.select(pl.all_horizontal(every)).item()

    columns = [(part, [n for n in floats if n in part.columns]) for part in parts]
    columns = [(part, names) for part, names in columns if names]
    if comma_decimals and all(fits(part, names, ",") for part, names in columns):
        commas = [pl.any_horizontal(pl.col(n).str.contains(",", literal=True).any() for n in names) for _, names in columns]
        return "," if any(part.select(c).item() for (part, _), c in zip(columns, commas)) else "."
    return "." if all(fits(part, names, ".") for part, names in columns) else None


def _declared_expr(v: pl.Expr, kind: ColumnType, decimal: str) -> pl.Expr:
    """A column converted as _text_exprs would, with a null wherever the careful way must look."""
    if kind == "id":
        return pl.when(v.str.contains(_PLAIN_ID)).then(v.cast(pl.Int64, strict=False))
    if kind == "int":
        return v.cast(pl.Int64, strict=False)
    if kind == "float":
        text = v.str.replace(",", ".", literal=True) if decimal == "," else v
        return text.cast(pl.Float64, strict=False)
    if kind == "bool":
        return v.replace_strict(_BOOL_AS_WRITTEN, default=None, return_dtype=pl.Boolean)
    if kind == "date":
        return _date_expr(v, _ISO_DATE)
    return _non_empty(v)


def _detect_decimal(cleaned: pl.DataFrame, wanted: Mapping[str, ColumnType]) -> str:
    """``,`` when some numeric-looking column is written with decimal commas."""
    candidates = [n for n in cleaned.columns if wanted.get(n, "float") == "float"]
    if not candidates:
        return "."
    verdicts = cleaned.select(_comma_vote(pl.col(n), declared=n in wanted).alias(n) for n in candidates)
    return "," if any(verdicts.row(0)) else "."


def _comma_vote(v: pl.Expr, *, declared: bool) -> pl.Expr:
    """Whether one column says the file uses decimal commas (see _COMMA_DECIMAL)."""
    commas = v.str.contains(_COMMA_DECIMAL)
    if declared:
        return commas.sum() > v.str.contains(_DOT_DECIMAL).sum()
    return v.str.contains(_FLOAT_PATTERN[","]).all() & commas.any()


def _infer_types(cleaned: pl.DataFrame, names: list[str], decimal: str) -> dict[str, ColumnType]:
    """int, else float, else ISO date, else str: each step only for what is left."""
    steps: list[tuple[ColumnType, Callable[[pl.Expr], pl.Expr]]] = [
        ("int", lambda v: v.str.contains(_PLAIN_INT) & v.cast(pl.Int64, strict=False).is_not_null()),
        ("float", lambda v: _float_expr(v, decimal).is_not_null() & ~v.str.contains(_ZERO_PADDED)),
        ("date", lambda v: _date_expr(v, _ISO_DATE).is_not_null()),
    ]
    types: dict[str, ColumnType] = {}
    left = [n for n in names if cleaned[n].null_count() < cleaned.height]
    for kind, fits in steps:
        if not left:
            break
        verdict = cleaned.select((pl.col(n).is_null() | fits(pl.col(n))).all().alias(n) for n in left).row(0, named=True)
        types.update({n: kind for n in left if verdict[n]})
        left = [n for n in left if not verdict[n]]
    return {n: types.get(n, "str") for n in names}


def _float_expr(v: pl.Expr, decimal: str) -> pl.Expr:
    text = v.str.replace(",", ".", literal=True) if decimal == "," else v
    return pl.when(v.str.contains(_FLOAT_PATTERN[decimal])).then(text.cast(pl.Float64, strict=False))


def _date_expr(v: pl.Expr, fmt: str) -> pl.Expr:
    return pl.when(v.str.contains(_DATE_PATTERN[fmt])).then(v.str.to_date(fmt, strict=False))


def _text_exprs(
    path: Path,
    cleaned: pl.DataFrame,
    types: Mapping[str, ColumnType],
    file_names: Mapping[str, str],
    decimal: str,
) -> dict[str, pl.Expr]:
    exprs = {}
    for name, kind in types.items():
        v = pl.col(name)
        if kind == "id":
            exprs[name] = _id_expr(path, cleaned[name], file_names[name])
        elif kind == "int":
            exprs[name] = v.cast(pl.Int64, strict=False)
        elif kind == "float":
            exprs[name] = _float_expr(v, decimal)
        elif kind == "bool":
            exprs[name] = v.str.to_lowercase().replace_strict(_BOOL_WORDS, default=None, return_dtype=pl.Boolean)
        elif kind == "date":
            exprs[name] = _date_expr(v, _date_format(cleaned[name]))
        else:
            exprs[name] = v
    return {name: expr.alias(name) for name, expr in exprs.items()}


def _id_expr(path: Path, ids: pl.Series, file_name: str) -> pl.Expr:
    """Relation numbers in their one form (see core/ids.py); the first that is none is refused."""
    _refuse_empty(path, ids, file_name)
    bad = relation_numbers.invalid(ids).arg_true()
    if bad.len():
        index = int(bad[0])
        raise BadInput(
            f"is not {_EXPECTED['id']}",
            file=path,
            column=file_name,
            row=index + 1,
            value=ids[index],
        )
    return pl.lit(relation_numbers.normalised(ids)).alias(ids.name)


def _date_format(dates: pl.Series) -> str:
    """The one format that reads the most values; the rest are reported as bad.

    The formats' shapes exclude each other, so when ISO reads every value no
    other format can read any, and the other two need not be tried.
    """
    frame = dates.to_frame()
    if frame.select(_date_expr(pl.col(dates.name), _ISO_DATE).count()).item() == dates.len() - dates.null_count():
        return _ISO_DATE
    parsed = {fmt: frame.select(_date_expr(pl.col(dates.name), fmt).count()).item() for fmt in _DATE_PATTERN}
    return max(_DATE_PATTERN, key=lambda fmt: parsed[fmt])


def _refuse_bad_values(
    path: Path,
    raw: pl.DataFrame,
    cleaned: pl.DataFrame,
    converted: pl.DataFrame,
    types: Mapping[str, ColumnType],
    file_names: Mapping[str, str],
) -> None:
    """The earliest value, in any converted column, that did not convert to its type."""
    first: tuple[int, str] | None = None
    for name in converted.columns:
        bad = (cleaned[name].is_not_null() & converted[name].is_null()).arg_true()
        if bad.len() and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), name)
    if first is not None:
        index, name = first
        raise BadInput(
            f"is not {_EXPECTED[types[name]]}",
            file=path,
            column=file_names[name],
            row=index + 1,
            value=raw[name][index],
        )


def _refuse_non_finite(path: Path, frame: pl.DataFrame, file_names: Mapping[str, str]) -> None:
    """Infinity and NaN are no amounts: the first one, in any number column, is refused.

    ``1e999`` in a CSV or ``-inf`` in Parquet would otherwise be scored, and a
    model gives an infinite balance a score of 1.
    """
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    if not floats:
        return
    first = frame.select(
        (pl.col(name).is_infinite() | pl.col(name).is_nan()).arg_true().first().alias(name) for name in floats
    ).row(0, named=True)
    found = [(index, name) for name, index in first.items() if index is not None]
    if found:
        index, name = min(found)
        raise BadInput(
            "is not a finite number",
            file=path,
            column=file_names[name],
            row=index + 1,
            value=frame[name][index],
            hint="Infinity and NaN are no amounts; ask the data warehouse team for the real value or an empty cell.",
        )


def _refuse_empty(path: Path, values: pl.Series, file_name: str) -> None:
    empty = values.is_null().arg_true()
    if empty.len():
        raise BadInput(
            "the id is empty; every customer row needs one",
            file=path,
            column=file_name,
            row=int(empty[0]) + 1,
        )


def _native_column(path: Path, values: pl.Series, file_name: str, kind: ColumnType | None) -> pl.Series:
    """Parquet already has types; check and convert only where one was declared."""
    if kind is None:
        return values
    if values.dtype in (pl.String, pl.Categorical, pl.Enum):
        text = values.cast(pl.String).rename(values.name)
        frame, _ = _convert_text(path, text.to_frame(), {values.name: file_name}, {values.name: kind}, comma_decimals=False)
        return frame[values.name]
    converted = _native_cast(values, kind)
    if converted is None:
        raise BadInput(
            f"has type {values.dtype}, which cannot be read as {_EXPECTED[kind]}",
            file=path,
            column=file_name,
            hint="Fix the column's type in the extract or the engine's declared type.",
        )
    bad = (values.is_not_null() & converted.is_null()).arg_true()
    if bad.len():
        index = int(bad[0])
        raise BadInput(f"is not {_EXPECTED[kind]}", file=path, column=file_name, row=index + 1, value=values[index])
    if kind == "id":
        _refuse_empty(path, values, file_name)
        _refuse_negative_ids(path, converted, file_name)
    return converted


def _refuse_negative_ids(path: Path, ids: pl.Series, file_name: str) -> None:
    """A relation number has no sign (see core/ids.py)."""
    negative = (ids < 0).arg_true()
    if negative.len():
        index = int(negative[0])
        raise BadInput(f"is not {_EXPECTED['id']}", file=path, column=file_name, row=index + 1, value=ids[index])


def _native_cast(values: pl.Series, kind: ColumnType) -> pl.Series | None:
    """The typed column, with nulls where a value does not fit; None if the type cannot."""
    dtype = values.dtype
    if kind == "str":
        return values.cast(pl.String)
    if kind in ("id", "int") and dtype.is_integer():
        return values.cast(pl.Int64, strict=False)
    if kind == "int" and dtype.is_float():
        v = pl.col(values.name)
        whole = pl.when(v == v.floor()).then(v).cast(pl.Int64, strict=False)
        return values.to_frame().select(whole).to_series()
    if kind == "float" and dtype.is_numeric():
        return values.cast(pl.Float64)
    if kind == "bool" and dtype == pl.Boolean:
        return values
    if kind == "bool" and dtype.is_integer():
        return values.replace_strict({0: False, 1: True}, default=None, return_dtype=pl.Boolean)
    if kind == "date" and dtype == pl.Date:
        return values
    if kind == "date" and dtype == pl.Datetime:
        return values.dt.date()
    return None
