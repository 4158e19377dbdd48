"""The exporter contract, the mail file's fixed content, and the check of what an exporter wrote.

The mail program receives relation numbers and campaign fields only: no
scores, no features, no personal data. The core decides which rows and
columns go out; an exporter only decides how they are written (dialect,
encoding, headers). The core writes through a temporary file with mode 0600
and renames it into place, so a failing exporter leaves no partial file.

An exporter's word is not taken for what it wrote: before the file is
renamed into place, :func:`read_back` reads it in the configured dialect and
compares header, rows, relation numbers and every field with the rows it was
given. A file a spreadsheet would run code from is never written: no cell
may start with a character that makes Excel or LibreOffice evaluate it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    import polars as pl

    from nba_toolkit.config import ExportConfig

#: the only columns a mail file may carry, in order
MAIL_COLUMNS = ("customer_id", "campaign_code", "group", "export_date")

#: a cell starting with one of these is a formula to a spreadsheet (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: a file extension an exporter may declare: letters and digits only, so it cannot leave exports/
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,16}")


@runtime_checkable
class Exporter(Protocol):
    name: str
    #: file extension without the dot, e.g. "csv"
    extension: str

    def write(self, rows: pl.DataFrame, stream: BinaryIO, config: ExportConfig) -> None:
        """Write ``rows`` (the columns of ``MAIL_COLUMNS``) to ``stream`` as bytes."""
        ...


def executes_in_spreadsheet(cell: str) -> bool:
    """Whether a spreadsheet opening the file would evaluate this cell as a formula."""
    return cell.startswith(FORMULA_STARTS)


def safe_extension(extension: Any) -> bool:
    return isinstance(extension, str) and _EXTENSION.fullmatch(extension) is not None


def file_dialect(exporter: Any, config: ExportConfig) -> tuple[str, int]:
    """The delimiter the exporter writes and how many lines follow the rows (a trailer).

    An exporter writes the ``[export]`` delimiter unless it declares its own
    ``delimiter``; ``trailer_lines`` (default 0) are lines after the rows that
    are not rows, such as a count the mail program checks.
    """
    delimiter = getattr(exporter, "delimiter", None) or config.delimiter
    trailer = getattr(exporter, "trailer_lines", 0)
    return delimiter, trailer if isinstance(trailer, int) and trailer >= 0 else 0


def read_back(data: bytes, rows: pl.DataFrame, config: ExportConfig, *, delimiter: str, trailer_lines: int = 0) -> list[str]:
    """What differs between the written bytes and ``rows``; empty when the file holds exactly them.

    The file must decode in the configured encoding (a UTF-8 byte-order mark
    is allowed), start with the configured header names in the
    ``MAIL_COLUMNS`` order, and hold each given row once (in any order)
    with every field as given, dates as YYYY-MM-DD. The messages give counts,
    never relation numbers, because they are recorded.
    """
    try:
        text = data.decode(config.encoding).lstrip("\ufeff")
    except (UnicodeDecodeError, LookupError):
        return [f"the file is not readable as {config.encoding}"]
    if not text.strip():
        return [f"the file is empty ({len(data)} bytes) for {rows.height} rows"]
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    while lines and not any(lines[-1]):
        lines.pop()
    header, body = lines[0], lines[1 : len(lines) - trailer_lines]
    problems = []
    expected_header = [config.headers[c] for c in MAIL_COLUMNS]
    if header != expected_header:
        problems.append(f"the header is {delimiter.join(header)!r}, expected {delimiter.join(expected_header)!r}")
    if any(executes_in_spreadsheet(cell) for line in lines for cell in line):
        problems.append("a cell starts with = + - @ or a tab, which a spreadsheet would run as a formula")
    wrong_width = sum(1 for line in body if len(line) != len(MAIL_COLUMNS))
    if wrong_width:
        problems.append(f"{wrong_width} line(s) do not have the {len(MAIL_COLUMNS)} fields of a mail row")
    problems += _row_differences([tuple(line) for line in body if len(line) == len(MAIL_COLUMNS)], rows)
    return problems


def _row_differences(written: list[tuple[str, ...]], rows: pl.DataFrame) -> list[str]:
    import polars as pl

    expected = [tuple(r) for r in rows.select(pl.col(c).cast(pl.String) for c in MAIL_COLUMNS).fill_null("").iter_rows()]
    problems = []
    if len(written) != len(expected):
        problems.append(f"it holds {len(written)} rows for {len(expected)}")
    given_ids, written_ids = Counter(r[0] for r in expected), Counter(r[0] for r in written)
    missing = sum((given_ids - written_ids).values())
    unexpected = sum((written_ids - given_ids).values())
    if missing:
        problems.append(f"{missing} relation number(s) given are not in it")
    if unexpected:
        problems.append(f"{unexpected} relation number(s) in it were not given (or are repeated)")
    if not missing and not unexpected:
        changed = sum((Counter(written) - Counter(expected)).values())
        if changed:
            problems.append(f"{changed} row(s) have another campaign code, group or date than given")
    return problems
