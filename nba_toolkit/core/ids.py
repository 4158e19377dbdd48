"""Relation numbers in one form, wherever they enter the toolkit.

The cooldown, the duplicate check and every override compare relation
numbers. If ``123`` and ``00123`` were different customers, last week's
mailing written with leading zeros would make every one of them eligible
again. So every relation number is brought into one form at the door, by one
rule, before anything compares it:

* surrounding whitespace is removed;
* a relation number of digits only loses its leading zeros (``00123`` is
  ``123``; ``0`` and ``000`` are ``0``) and is kept as a whole number;
* a relation number with letters (``A12``) is kept as text in capitals,
  so ``a12`` and ``A12`` are one customer;
* anything else (signs, decimal points, spaces or punctuation inside, an
  empty value) is not a relation number: the file is bad input, named with
  its column and row.

The contact history keeps relation numbers as text; the text of a whole
number in this form is its digits without leading zeros, so the history and
the snapshot meet in the same form.
"""

from __future__ import annotations

import polars as pl

#: what a relation number may look like before it is brought into form
VALID = r"^[0-9A-Za-z]+$"
_DIGITS = r"^[0-9]+$"
_LEADING_ZEROS = r"^0+(\d)"
RULE = "letters and digits only (leading zeros are ignored), for example 10000136"


def relation_number(value: object) -> str:
    """One relation number as typed by an operator or read from a file, in the form the ledger keeps.

    A value that is not a relation number comes back without surrounding
    whitespace, so a look-up with it finds nobody instead of somebody else.
    """
    text = str(value).strip()
    if not text.isascii() or not text.isalnum():
        return text
    return str(int(text)) if text.isdigit() else text.upper()


def normalised(ids: pl.Series) -> pl.Series:
    """A text column of relation numbers in form: whole numbers when every one is digits only, else text.

    Values must already be stripped and valid (see ``invalid``); digits that do
    not fit a whole number of 64 bits stay text, in the same form.
    """
    digits = ids.str.contains(_DIGITS)
    text = pl.select(pl.when(digits).then(ids.str.replace(_LEADING_ZEROS, "${1}")).otherwise(ids.str.to_uppercase())).to_series()
    if digits.all():
        as_int = text.cast(pl.Int64, strict=False)
        if as_int.null_count() == 0:
            return as_int
    return text


def invalid(ids: pl.Series) -> pl.Series:
    """Where a (stripped) text column holds something that is not a relation number; nulls are not judged here."""
    return ids.is_not_null() & ~ids.str.contains(VALID)
