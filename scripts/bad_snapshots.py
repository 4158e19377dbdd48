#!/usr/bin/env python3
"""Write a corpus of broken and odd variants of the sample week's snapshot, each with the outcome it must have.

Every variant is the sample week (``data/snapshots/2026-W47.csv`` in the
sample workspace) changed in one way an extract can go wrong or merely look
different: encodings, delimiters, line endings, quoting, missing or renamed
columns, odd values, Parquet instead of CSV. ``nba-toolkit run --snapshot FILE
--approve`` must end each one as expected:

* ``0``: the same customers in another dress; the week is exported, and only
  eligible customers are in the mail file;
* ``3``: a check blocks the run (the file reads, its content is wrong);
* ``4``: bad input, refused at the door with the file (and where it can, the
  column and row) named.

Nothing else, never a traceback. tests/reliability/test_bad_snapshot_corpus.py
runs the corpus; to look at the files by hand:

    python scripts/bad_snapshots.py SAMPLE_WEEK.csv OUT_FOLDER
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXPORTED, BLOCKED, BAD_INPUT = 0, 3, 4
SAMPLE_ENCODING = "cp1252"
WEEK = "2026-W47"

#: header and rows of the sample week, as text
Table = tuple[list[str], list[list[str]]]


@dataclass(frozen=True)
class Variant:
    name: str
    suffix: str
    expected: int
    #: what is odd about it, in a few words
    about: str
    build: Callable[[Table], bytes]
    #: the week the file's name says (None: no week in the name, the data says which week it is)
    week: str | None = WEEK

    @property
    def file_name(self) -> str:
        return f"{self.week}-{self.name}{self.suffix}" if self.week else f"snapshot-{self.name}{self.suffix}"


# ------------------------------------------------------------------ building blocks


def read_sample(path: Path) -> Table:
    header, *rows = list(csv.reader(io.StringIO(path.read_bytes().decode(SAMPLE_ENCODING)), delimiter=";"))
    return header, rows


def text(
    table: Table, *, delimiter: str = ";", quoting: int = csv.QUOTE_MINIMAL, newline: str = "\n", encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=newline).writerows([table[0], *table[1]])
    return buffer.getvalue().encode(encoding)


def copy(table: Table) -> Table:
    return list(table[0]), [list(row) for row in table[1]]


def changed(table: Table, column: str, change: Callable[[int, str], str]) -> Table:
    """Each value of ``column`` replaced by ``change(row index, value)``."""
    header, rows = copy(table)
    at = header.index(column)
    for index, row in enumerate(rows):
        row[at] = change(index, row[at])
    return header, rows


def every(step: int, new: str) -> Callable[[int, str], str]:
    return lambda index, value: new if index % step == 0 else value


def at_row(row: int, new: str) -> Callable[[int, str], str]:
    return lambda index, value: new if index == row else value


def without(table: Table, column: str) -> Table:
    header, rows = copy(table)
    at = header.index(column)
    return [h for i, h in enumerate(header) if i != at], [[v for i, v in enumerate(r) if i != at] for r in rows]


def renamed(table: Table, old: str, new: str) -> Table:
    header, rows = copy(table)
    header[header.index(old)] = new
    return header, rows


def with_column(table: Table, name: str, value: Callable[[int], str]) -> Table:
    header, rows = copy(table)
    return [*header, name], [[*row, value(i)] for i, row in enumerate(rows)]


def decimal_point(table: Table) -> Table:
    """Decimal commas written as points (for files delimited by commas)."""
    header, rows = copy(table)
    numbers = [header.index(c) for c in ("SAVINGS_BAL", "CURRENT_BAL", "FUND_CHG_1W", "FUND_CHG_4W")]
    for row in rows:
        for at in numbers:
            row[at] = row[at].replace(",", ".")
    return header, rows


def booleans(words: tuple[str, str]) -> Callable[[Table], Table]:
    def change(table: Table) -> Table:
        for column in ("HAS_INVEST_ACC", "MKT_CONSENT", "APP_USER"):
            table = changed(table, column, lambda _, v: words[0] if v == "1" else words[1])
        return table

    return change


def parquet(table: Table, **overrides: object) -> bytes:
    """The sample as Parquet with its natural types; ``overrides`` replace whole columns."""
    import polars as pl

    frame = pl.read_csv(text(table), separator=";", decimal_comma=True, infer_schema_length=None)
    frame = frame.with_columns(pl.col("SNAPSHOT_DATE").str.to_date())
    if overrides:
        frame = frame.with_columns(pl.Series(name, values) for name, values in overrides.items())
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def floats_with(table: Table, column: str, value: float, rows: int = 3) -> list[float]:
    """The column as numbers, with ``value`` in a few rows."""
    at = table[0].index(column)
    numbers = [float(row[at].replace(",", ".")) for row in table[1]]
    for index in range(rows):
        numbers[index * 7] = value
    return numbers


def flags(table: Table, column: str) -> list[bool]:
    at = table[0].index(column)
    return [row[at] == "1" for row in table[1]]


# ------------------------------------------------------------------------ variants


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _variants() -> list[Variant]:
    v = Variant
    return [
        # the same customers in another dress: exported
        v("as-is", ".csv", EXPORTED, "the sample as it is (Windows-1252)", lambda t: text(t, encoding=SAMPLE_ENCODING)),
        v("utf8", ".csv", EXPORTED, "UTF-8 instead of Windows-1252", lambda t: text(t, encoding="utf-8")),
        v("utf8-bom", ".csv", EXPORTED, "UTF-8 with a byte order mark", lambda t: text(t, encoding="utf-8-sig")),
        v(
            "bom-tab-crlf",
            ".txt",
            EXPORTED,
            "byte order mark, tabs and Windows line endings together",
            lambda t: text(t, delimiter="\t", newline="\r\n", encoding="utf-8-sig"),
        ),
        v("comma", ".csv", EXPORTED, "comma-delimited, decimal points", lambda t: text(decimal_point(t), delimiter=",")),
        v("tab", ".txt", EXPORTED, "tab-delimited", lambda t: text(t, delimiter="\t")),
        v("crlf", ".csv", EXPORTED, "Windows line endings", lambda t: text(t, newline="\r\n")),
        v("quoted", ".csv", EXPORTED, "every field quoted", lambda t: text(t, quoting=csv.QUOTE_ALL)),
        v(
            "quoted-newlines",
            ".csv",
            EXPORTED,
            "a free-text column with delimiters and line breaks in quotes",
            lambda t: text(with_column(t, "NOTE", lambda i: f"line one; part {i}\nline two")),
        ),
        v("trailing-blank-lines", ".csv", EXPORTED, "blank lines at the end", lambda t: text(t) + b"\n\n\n"),
        v("no-final-newline", ".csv", EXPORTED, "no line break after the last row", lambda t: text(t).rstrip(b"\n")),
        v("reordered", ".csv", EXPORTED, "columns in another order", lambda t: text(_reversed(t))),
        v("lowercase-header", ".csv", EXPORTED, "column names in lower case", lambda t: text(([h.lower() for h in t[0]], t[1]))),
        v("padded-values", ".csv", EXPORTED, "spaces around numbers and flags", lambda t: text(_padded(t))),
        v("bool-yn", ".csv", EXPORTED, "flags as Y/N", lambda t: text(booleans(("Y", "N"))(t))),
        v("bool-janee", ".csv", EXPORTED, "flags as ja/nee", lambda t: text(booleans(("ja", "nee"))(t))),
        v("bool-truefalse", ".csv", EXPORTED, "flags as TRUE/FALSE", lambda t: text(booleans(("TRUE", "FALSE"))(t))),
        v(
            "date-dmy",
            ".csv",
            EXPORTED,
            "dates as DD-MM-YYYY",
            lambda t: text(changed(t, "SNAPSHOT_DATE", lambda _, d: _dmy(d, "-"))),
        ),
        v(
            "date-dmy-slash",
            ".csv",
            EXPORTED,
            "dates as DD/MM/YYYY",
            lambda t: text(changed(t, "SNAPSHOT_DATE", lambda _, d: _dmy(d, "/"))),
        ),
        v(
            "leading-zero-ids",
            ".csv",
            EXPORTED,
            "relation numbers padded with zeros",
            lambda t: text(changed(t, "RELATION_NO", lambda _, i: i.zfill(12))),
        ),
        v(
            "spaced-ids",
            ".csv",
            EXPORTED,
            "relation numbers with spaces around",
            lambda t: text(changed(t, "RELATION_NO", lambda _, i: f" {i} ")),
        ),
        v(
            "extra-personal-columns",
            ".csv",
            EXPORTED,
            "KLANTNAAM, EMAIL, IBAN_NR, GESLACHT the denylist does not know",
            lambda t: text(_personal(t)),
        ),
        v(
            "fewer-rows",
            ".csv",
            EXPORTED,
            "every tenth customer missing",
            lambda t: text((t[0], [r for i, r in enumerate(t[1]) if i % 10])),
        ),
        v("parquet", ".parquet", EXPORTED, "Parquet with its own types", parquet),
        v(
            "parquet-booleans",
            ".parquet",
            EXPORTED,
            "Parquet with the flags as true/false",
            lambda t: parquet(t, **{c: flags(t, c) for c in ("HAS_INVEST_ACC", "MKT_CONSENT", "APP_USER")}),
        ),
        v(
            "parquet-string-ids",
            ".parquet",
            EXPORTED,
            "Parquet with relation numbers as zero-padded text",
            lambda t: parquet(t, RELATION_NO=[row[0].zfill(10) for row in t[1]]),
        ),
        # the file reads, but a check must stop the week
        v("header-only", ".csv", BLOCKED, "the header and no customers", lambda t: text((t[0], []))),
        v(
            "half-the-rows",
            ".csv",
            BLOCKED,
            "only half the customers: half of those in the cooldown are missing",
            lambda t: text((t[0], t[1][::2])),
        ),
        v("future-in-the-name", ".csv", BLOCKED, "named for this week, dated 2099", lambda t: text(_dated(t, "2099-01-05"))),
        v("duplicate-rows", ".csv", BLOCKED, "some customers twice", lambda t: text((t[0], t[1] + t[1][:30]))),
        v(
            "duplicate-ids-two-ways",
            ".csv",
            BLOCKED,
            "one customer as 123 and as 00123",
            lambda t: text((t[0], [*t[1], ["00" + t[1][0][0], *t[1][0][1:]]])),
        ),
        v("stale-date", ".csv", BLOCKED, "dated the week before", lambda t: text(_dated(t, "2026-11-09"))),
        v(
            "negative-balances",
            ".csv",
            BLOCKED,
            "negative savings balances",
            lambda t: text(changed(t, "SAVINGS_BAL", every(10, "-500,00"))),
        ),
        v(
            "huge-balances",
            ".csv",
            BLOCKED,
            "current balances of 1e300 for 2%",
            lambda t: text(changed(t, "CURRENT_BAL", every(50, "1e300"))),
        ),
        v("empty-consent", ".csv", BLOCKED, "consent empty for a third", lambda t: text(changed(t, "MKT_CONSENT", every(3, "")))),
        v(
            "empty-balances",
            ".csv",
            BLOCKED,
            "savings balance empty for a third",
            lambda t: text(changed(t, "SAVINGS_BAL", every(3, ""))),
        ),
        v(
            "empty-dates",
            ".csv",
            BLOCKED,
            "as-of date empty in some rows",
            lambda t: text(changed(t, "SNAPSHOT_DATE", every(5, ""))),
        ),
        v(
            "market-crash",
            ".csv",
            BLOCKED,
            "a fund index change never seen in training",
            lambda t: text(changed(t, "FUND_CHG_1W", lambda *_: "-45,00")),
        ),
        v(
            "renumbered",
            ".csv",
            BLOCKED,
            "relation numbers with a prefix the contact history never saw",
            lambda t: text(changed(t, "RELATION_NO", lambda _, i: "NL" + i)),
        ),
        v(
            "cents",
            ".csv",
            BLOCKED,
            "balances in cents instead of euros",
            lambda t: text(_times(t, ("SAVINGS_BAL", "CURRENT_BAL"), 100)),
        ),
        # bad input: refused at the door
        v("empty", ".csv", BAD_INPUT, "an empty file", lambda t: b""),
        v("whitespace", ".csv", BAD_INPUT, "only spaces and line breaks", lambda t: b"  \n \n\n"),
        v("garbage", ".csv", BAD_INPUT, "random bytes", lambda t: random.Random(7).randbytes(4096)),
        v("utf16", ".csv", BAD_INPUT, "UTF-16 text", lambda t: text(t, encoding="utf-16")),
        v("not-text", ".csv", BAD_INPUT, "Latin-1 control bytes that are no Windows-1252", lambda t: text(t) + b"1;\x81\x8d\n"),
        v("cr-only", ".csv", BAD_INPUT, "old Mac line endings", lambda t: text(t, newline="\r")),
        v(
            "cr-in-header",
            ".csv",
            BAD_INPUT,
            "a carriage return inside the header",
            lambda t: text(t).replace(b";SNAPSHOT_DATE", b"\r;SNAPSHOT_DATE", 1),
        ),
        v("mixed-line-endings", ".csv", BAD_INPUT, "LF, CR LF and a lone CR", lambda t: _mixed_newlines(text(t))),
        v(
            "short-row",
            ".csv",
            BAD_INPUT,
            "a row with a field missing",
            lambda t: _row_edit(text(t), 100, lambda r: r.rsplit(b";", 1)[0]),
        ),
        v("long-row", ".csv", BAD_INPUT, "a row with a field too many", lambda t: _row_edit(text(t), 100, lambda r: r + b";1")),
        v(
            "short-and-long",
            ".csv",
            BAD_INPUT,
            "one row short, another long",
            lambda t: _row_edit(_row_edit(text(t), 5, lambda r: r.rsplit(b";", 1)[0]), 9, lambda r: r + b";1"),
        ),
        v("truncated", ".csv", BAD_INPUT, "the last line cut off mid-row", lambda t: text(t)[:-40]),
        v(
            "unclosed-quote",
            ".csv",
            BAD_INPUT,
            "a quote that never closes",
            lambda t: _row_edit(text(t), 50, lambda r: r.replace(b";", b';"', 1)),
        ),
        v("no-id-column", ".csv", BAD_INPUT, "the relation number column is missing", lambda t: text(without(t, "RELATION_NO"))),
        v("no-consent-column", ".csv", BAD_INPUT, "the consent column is missing", lambda t: text(without(t, "MKT_CONSENT"))),
        v(
            "renamed-id-column",
            ".csv",
            BAD_INPUT,
            "RELATION_NO renamed KLANTNR",
            lambda t: text(renamed(t, "RELATION_NO", "KLANTNR")),
        ),
        v("duplicated-column", ".csv", BAD_INPUT, "SAVINGS_BAL twice", lambda t: text(renamed(t, "CURRENT_BAL", "SAVINGS_BAL"))),
        v(
            "float-ids",
            ".csv",
            BAD_INPUT,
            "relation numbers written as 10000136.0",
            lambda t: text(changed(t, "RELATION_NO", lambda _, i: i + ".0")),
        ),
        v(
            "scientific-ids",
            ".csv",
            BAD_INPUT,
            "relation numbers as a spreadsheet writes big numbers",
            lambda t: text(changed(t, "RELATION_NO", every(9, "1,00001E+07"))),
        ),
        v(
            "negative-ids",
            ".csv",
            BAD_INPUT,
            "a negative relation number",
            lambda t: text(changed(t, "RELATION_NO", at_row(10, "-10000136"))),
        ),
        v(
            "empty-id",
            ".csv",
            BAD_INPUT,
            "a row without relation number",
            lambda t: text(changed(t, "RELATION_NO", at_row(17, ""))),
        ),
        v(
            "infinite-balance",
            ".csv",
            BAD_INPUT,
            "1e999 as a balance",
            lambda t: text(changed(t, "CURRENT_BAL", at_row(3, "1e999"))),
        ),
        v("nan-balance", ".csv", BAD_INPUT, "NaN as a balance", lambda t: text(changed(t, "SAVINGS_BAL", at_row(3, "NaN")))),
        v(
            "text-in-number",
            ".csv",
            BAD_INPUT,
            "a word where a count belongs",
            lambda t: text(changed(t, "NUM_ACCOUNTS", at_row(25, "twee"))),
        ),
        v(
            "maybe-consent",
            ".csv",
            BAD_INPUT,
            "consent 'misschien'",
            lambda t: text(changed(t, "MKT_CONSENT", at_row(8, "misschien"))),
        ),
        v(
            "impossible-date",
            ".csv",
            BAD_INPUT,
            "2026-13-45",
            lambda t: text(changed(t, "SNAPSHOT_DATE", at_row(12, "2026-13-45"))),
        ),
        v(
            "mixed-date-formats",
            ".csv",
            BAD_INPUT,
            "ISO and DD/MM/YYYY in one column",
            lambda t: text(changed(t, "SNAPSHOT_DATE", every(4, "16/11/2026"))),
        ),
        v(
            "thousands-separators",
            ".csv",
            BAD_INPUT,
            "balances like 1.234,56",
            lambda t: text(changed(t, "SAVINGS_BAL", every(6, "1.234,56"))),
        ),
        v("future", ".csv", BAD_INPUT, "dated in 2099, no week in the name", lambda t: text(_dated(t, "2099-01-05")), week=None),
        v("future-week", ".csv", BAD_INPUT, "for the week 2099-W02", lambda t: text(_dated(t, "2099-01-05")), week="2099-W02"),
        v("xlsx", ".xlsx", BAD_INPUT, "a spreadsheet file", lambda t: b"PK\x03\x04" + bytes(200)),
        v("parquet-as-csv", ".csv", BAD_INPUT, "Parquet bytes under a .csv name", parquet),
        v("parquet-truncated", ".parquet", BAD_INPUT, "a Parquet file cut in half", lambda t: parquet(t)[: len(parquet(t)) // 2]),
        v("parquet-empty", ".parquet", BAD_INPUT, "an empty .parquet file", lambda t: b""),
        v(
            "parquet-inf",
            ".parquet",
            BAD_INPUT,
            "-inf as a balance",
            lambda t: parquet(t, SAVINGS_BAL=floats_with(t, "SAVINGS_BAL", float("-inf"))),
        ),
        v(
            "parquet-nan",
            ".parquet",
            BAD_INPUT,
            "NaN as a balance",
            lambda t: parquet(t, CURRENT_BAL=floats_with(t, "CURRENT_BAL", float("nan"))),
        ),
        v(
            "parquet-float-ids",
            ".parquet",
            BAD_INPUT,
            "relation numbers as floats",
            lambda t: parquet(t, RELATION_NO=[float(r[0]) for r in t[1]]),
        ),
        v(
            "parquet-text-balance",
            ".parquet",
            BAD_INPUT,
            "a balance column of words",
            lambda t: parquet(t, SAVINGS_BAL=["veel"] * len(t[1])),
        ),
        v(
            "parquet-no-consent",
            ".parquet",
            BAD_INPUT,
            "the consent column is missing",
            lambda t: parquet(without(t, "MKT_CONSENT")),
        ),
    ]


def _dated(table: Table, day: str) -> Table:
    return changed(table, "SNAPSHOT_DATE", lambda *_: day)


def _reversed(table: Table) -> Table:
    header, rows = table
    return header[::-1], [row[::-1] for row in rows]


def _padded(table: Table) -> Table:
    for column in ("SAVINGS_BAL", "NUM_ACCOUNTS", "MKT_CONSENT", "HAS_INVEST_ACC"):
        table = changed(table, column, lambda _, v: f"  {v} ")
    return table


def _dmy(iso: str, sep: str) -> str:
    year, month, day = iso.split("-")
    return sep.join((day, month, year))


def _personal(table: Table) -> Table:
    for name, value in (
        ("KLANTNAAM", lambda i: f"Klant {i} van Dijk"),
        ("EMAIL", lambda i: f"klant{i}@example.nl"),
        ("IBAN_NR", lambda i: f"NL{i % 97:02d}BANK{i:010d}"),
        ("GESLACHT", lambda i: "MV"[i % 2]),
    ):
        table = with_column(table, name, value)
    return table


def _times(table: Table, columns: tuple[str, ...], factor: int) -> Table:
    for column in columns:
        table = changed(table, column, lambda _, v: f"{float(v.replace(',', '.')) * factor:.2f}".replace(".", ","))
    return table


def _row_edit(data: bytes, row: int, edit: Callable[[bytes], bytes]) -> bytes:
    lines = _lines(data)
    lines[row] = edit(lines[row])
    return b"\n".join(lines)


def _mixed_newlines(data: bytes) -> bytes:
    lines = _lines(data)
    ends = [b"\n", b"\r\n", b"\r"]
    return b"".join(line + ends[i % 3] for i, line in enumerate(lines[:-1]))


# ----------------------------------------------------------------------------- api


def write_corpus(sample: Path, folder: Path) -> list[tuple[Path, int, str]]:
    """Write every variant of ``sample`` into ``folder``: (file, expected exit code, what is odd about it)."""
    table = read_sample(Path(sample))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for variant in _variants():
        path = folder / variant.file_name
        path.write_bytes(variant.build(copy(table)))
        written.append((path, variant.expected, variant.about))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sample", type=Path, help="the sample week's snapshot (data/snapshots/2026-W47.csv)")
    parser.add_argument("folder", type=Path, help="where to write the corpus")
    args = parser.parse_args(argv)
    written = write_corpus(args.sample, args.folder)
    manifest = [{"file": path.name, "expected_exit": expected, "about": about} for path, expected, about in written]
    (args.folder / "expected.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{len(written)} files in {args.folder}; expected outcomes in expected.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
