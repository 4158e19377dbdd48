"""The quick conversion of a clean extract gives exactly what the careful one gives.

The loader converts the usual extract (every column declared, every value
already in shape) in fewer passes, and falls back to the careful conversion
for anything else. These properties pin the two together: whenever the quick
way answers, the careful way answers the same, with the same decimal
separator; and whenever the careful way refuses a value, the quick way does
not answer at all.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_toolkit.core import snapshot
from nba_toolkit.errors import BadInput

#: values of every shape the careful way treats specially: spaces, empties, other casings,
#: the other decimal separator, thousands separators, codes with leading zeros, words
TOKENS = {
    "id": ["1", "42", "1000023", "007", " 5", "A12", "", "-3", "+3", None],
    "int": ["0", "3", "-2", "12", " 4", "4 ", "1,0", "1.0", "x", "", None],
    "float": ["1,5", "-0,25", "17886,50", "3", "1e3", "1,5e3", "1.5", "1.234", ".5", ",5", "5,", "inf", "nan", " 2,5", "", None],
    "bool": ["1", "0", "true", "False", "TRUE", "j", "Ja", "NEE", "y", "tRuE", " 1", "2", "", None],
    "date": ["2026-11-16", "2026-11-17", "16-11-2026", "2026-1-5", " 2026-11-16", "2026-13-01", "", None],
    "str": ["55-64", "65+", "", " a ", None],
}
KINDS = list(TOKENS)


@st.composite
def extracts(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, str]]:
    """A few declared text columns, each mostly in one clean shape with a chance of odd values."""
    rows = draw(st.integers(min_value=0, max_value=12))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
    odd_one = draw(st.integers(min_value=0, max_value=len(kinds)))  # at most one column with odd values
    columns, wanted = {}, {}
    for i, kind in enumerate(kinds):
        values = draw(st.lists(st.sampled_from(TOKENS[kind][:3]), min_size=rows, max_size=rows))
        if i == odd_one and rows:
            for _ in range(draw(st.integers(min_value=1, max_value=2))):
                values[draw(st.integers(min_value=0, max_value=rows - 1))] = draw(st.sampled_from(TOKENS[kind][3:]))
        columns[f"c{i}"] = pl.Series(values, dtype=pl.String)
        wanted[f"c{i}"] = kind
    return pl.DataFrame(columns, schema={name: pl.String for name in columns}), wanted


@settings(max_examples=400, deadline=None)
@given(extract=extracts(), comma_decimals=st.booleans(), few=st.sampled_from([0, 2, snapshot._FEW]))
def test_the_quick_way_answers_only_what_the_careful_way_answers(
    extract: tuple[pl.DataFrame, dict[str, str]], comma_decimals: bool, few: int
) -> None:
    """``few`` sends the float and date columns through the whole-column and the distinct-value ways."""
    raw, wanted = extract
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snapshot, "_FEW", few)
        quick = snapshot._convert_declared(raw, wanted, comma_decimals=comma_decimals)
    try:
        careful = snapshot._convert_carefully(
            Path("x.csv"), raw, dict(zip(raw.columns, raw.columns)), wanted, comma_decimals=comma_decimals
        )
    except BadInput:
        assert quick is None
        return
    if quick is not None:
        assert quick[1] == careful[1]
        assert quick[0].schema == careful[0].schema
        assert quick[0].equals(careful[0])


@pytest.mark.parametrize(
    ("values", "comma_decimals", "decimal"),
    [(["1,5", "2"], True, ","), (["1.5", "2"], True, "."), (["1.5", "2"], False, "."), (["2", "3"], True, ".")],
)
def test_a_clean_extract_takes_the_quick_way(values: list[str], comma_decimals: bool, decimal: str) -> None:
    """The usual extract must not fall back, or the loader is slow for nothing."""
    raw = pl.DataFrame({"id": ["1", "2"], "x": values, "on": ["1", "0"], "day": ["2026-11-16"] * 2})
    quick = snapshot._convert_declared(
        raw, {"id": "id", "x": "float", "on": "bool", "day": "date"}, comma_decimals=comma_decimals
    )
    assert quick is not None and quick[1] == decimal
