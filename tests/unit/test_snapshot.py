"""Loading the weekly snapshot: dialects, types from the whole file, denylist, errors."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nba_toolkit.config import DEFAULT_COLUMNS, DEFAULT_DENYLIST
from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.snapshot import Snapshot, is_denied, load_snapshot
from nba_toolkit.errors import EXIT_BAD_INPUT, BadInput

MAPPING = {"customer_id": "RELATION_NO", "savings_balance": "SAVINGS_BAL", "n_accounts": "NUM_ACCOUNTS"}
#: the other columns these tests' files use, mapped under their own names: only mapped columns are loaded
UNDECLARED = (
    "FUND_CHG_1W", "BAL", "TXT", "N", "D", "MIXED", "CODE", "EMPTY", "OTHER", "SCORE", "SEEN", "APP", "APP_USER",
    "X", "A", "B", "CITY_NOTE", "SEGMENT", "NAMESPACE", "NOTE",
)  # fmt: skip


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def load(path: Path, schema=None, mapping=MAPPING, denylist=DEFAULT_DENYLIST, **kw) -> Snapshot:
    taken = {name.casefold() for name in [*(schema or {}), *kw.get("optional", {}), *mapping, *mapping.values()]}
    mapping = {**{name: name for name in UNDECLARED if name.casefold() not in taken}, **mapping}
    return load_snapshot(path, mapping=mapping, denylist=denylist, schema=schema or {}, **kw)


def csv_text(header: list[str], rows: list[list[object]], sep: str = ";") -> str:
    return "\n".join(sep.join(str(v) for v in r) for r in [header, *rows]) + "\n"


# ----------------------------------------------------------------- happy paths


def test_semicolon_file_with_decimal_commas(tmp_path):
    path = write(
        tmp_path / "s.csv",
        csv_text(
            ["RELATION_NO", "SAVINGS_BAL", "NUM_ACCOUNTS", "FUND_CHG_1W"],
            [[1, "1234,56", 2, "-0,0125"], [2, "0,5", 1, "0,3"], [3, "", 3, "7"]],
        ),
    )
    snap = load(path, {"savings_balance": "float", "n_accounts": "int"})
    assert snap.dialect == {"format": "csv", "delimiter": ";", "decimal": ",", "encoding": "utf-8"}
    assert snap.frame.columns == ["customer_id", "savings_balance", "n_accounts", "FUND_CHG_1W"]
    assert snap.frame["savings_balance"].to_list() == [1234.56, 0.5, None]
    assert snap.frame["FUND_CHG_1W"].dtype == pl.Float64
    assert snap.frame["FUND_CHG_1W"].to_list() == [-0.0125, 0.3, 7.0]
    assert snap.frame["n_accounts"].dtype == pl.Int64
    assert snap.frame["customer_id"].dtype == pl.Int64
    assert snap.rows == 3


def test_comma_and_tab_delimiters(tmp_path):
    rows = [[1, "2.5", "x"], [2, "3", "y"]]
    for name, sep in (("c.csv", ","), ("t.txt", "\t")):
        snap = load(write(tmp_path / name, csv_text(["RELATION_NO", "BAL", "TXT"], rows, sep)))
        assert snap.dialect["delimiter"] == sep
        assert snap.dialect["decimal"] == "."
        assert snap.frame["BAL"].to_list() == [2.5, 3.0]
        assert snap.frame["TXT"].to_list() == ["x", "y"]


def test_cp1252_file_drops_denied_name_and_keeps_accented_text(tmp_path):
    text = csv_text(
        ["RELATION_NO", "FULL_NAME", "SEGMENT"],
        [[1, "Zoë Müller", "Privé"], [2, "Jan Jansen", "Crème brûlée"]],
    )
    path = write(tmp_path / "w.csv", text, encoding="cp1252")
    snap = load(path)
    assert snap.dialect["encoding"] == "cp1252"
    assert snap.dropped_columns == ("FULL_NAME",)
    assert "FULL_NAME" not in snap.frame.columns
    assert snap.frame["SEGMENT"].to_list() == ["Privé", "Crème brûlée"]
    assert not any("Zoë" in str(v) for v in snap.frame.rows())


def test_utf8_with_bom_matches_first_column(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "RELATION_NO;CITY_NOTE;SEGMENT\n7;x;Zoë\n".encode())
    snap = load(path)
    assert snap.dialect["encoding"] == "utf-8-sig"
    assert snap.frame["customer_id"].to_list() == [7]
    assert snap.frame["SEGMENT"].to_list() == ["Zoë"]
    assert snap.dropped_columns == ("CITY_NOTE",)


@pytest.mark.parametrize(("sep", "late"), [(";", "3,5"), (",", "3.5")])
def test_float_type_that_only_shows_after_row_100(tmp_path, sep, late):
    rows = [[i, i % 7] for i in range(1, 121)] + [[121, late], [122, 4]]
    path = write(tmp_path / "late.csv", csv_text(["RELATION_NO", "SCORE"], rows, sep))
    snap = load(path)
    assert snap.frame["SCORE"].dtype == pl.Float64
    assert snap.frame["SCORE"][120] == 3.5
    assert snap.frame["SCORE"][0] == 1.0


def test_whole_file_inference_of_undeclared_columns(tmp_path):
    rows = [[i, i, "2024-05-06", "A", "007", ""] for i in range(1, 150)] + [[150, 150, "2024-05-06", "B", "008", ""]]
    rows[140][3] = "12"
    path = write(tmp_path / "i.csv", csv_text(["RELATION_NO", "N", "D", "MIXED", "CODE", "EMPTY"], rows))
    frame = load(path).frame
    assert frame["N"].dtype == pl.Int64
    assert frame["D"].dtype == pl.Date
    assert frame["MIXED"].dtype == pl.String
    assert frame["CODE"].to_list()[:2] == ["007", "007"], "leading zeros are codes, not numbers"
    assert frame["EMPTY"].null_count() == 150


def test_declared_types_bool_date_str_and_nulls(tmp_path):
    path = write(
        tmp_path / "t.csv",
        csv_text(
            ["RELATION_NO", "APP", "SEEN", "BAND", "N"],
            [
                ["A1", "J", "06-05-2024", "18-25", " 4 "],
                ["A2", "nee", "", "", ""],
                ["A3", "TRUE", "31-12-2023", "65+", "0"],
                ["A4", "0", "01-01-2024", "26-35", "-3"],
            ],
        ),
    )
    schema = {"app": "bool", "seen": "date", "band": "str", "n": "int"}
    mapping = {"customer_id": "RELATION_NO", "app": "APP", "seen": "SEEN", "band": "BAND", "n": "N"}
    frame = load(path, schema, mapping=mapping).frame
    assert frame["customer_id"].to_list() == ["A1", "A2", "A3", "A4"]
    assert frame["app"].to_list() == [True, False, True, False]
    assert frame["seen"].to_list() == [dt.date(2024, 5, 6), None, dt.date(2023, 12, 31), dt.date(2024, 1, 1)]
    assert frame["band"].to_list() == ["18-25", None, "65+", "26-35"]
    assert frame["n"].to_list() == [4, None, 0, -3]


def test_columns_match_case_insensitively_and_canonical_names_work(tmp_path):
    path = write(tmp_path / "m.csv", csv_text(["  relation_no ", "n_accounts"], [[1, 2]]))
    frame = load(path, {"n_accounts": "int"}).frame
    assert frame.columns == ["customer_id", "n_accounts"]
    assert frame.row(0) == (1, 2)


def test_duplicate_ids_are_kept(tmp_path):
    path = write(tmp_path / "d.csv", csv_text(["RELATION_NO", "X"], [[1, "a"], [2, "b"], [1, "c"]]))
    snap = load(path)
    assert snap.frame["customer_id"].to_list() == [1, 2, 1]
    assert snap.rows == 3


def test_ids_lose_their_leading_zeros_so_one_customer_has_one_relation_number(tmp_path):
    path = write(tmp_path / "z.csv", csv_text(["RELATION_NO", "X"], [["0012", 1], [" 13 ", 2], ["000", 3]]))
    assert load(path).frame["customer_id"].to_list() == [12, 13, 0]
    mixed = write(tmp_path / "m.csv", csv_text(["RELATION_NO", "X"], [["0012", 1], ["a7", 2]]))
    assert load(mixed).frame["customer_id"].to_list() == ["12", "A7"]


@pytest.mark.parametrize("bad", ["12.0", "-3", "+3", "1 2", "12/3", "1,2e3"])
def test_what_is_not_a_relation_number_is_bad_input_at_its_row(tmp_path, bad):
    path = write(tmp_path / "b.csv", csv_text(["RELATION_NO", "X"], [["11", 1], [bad, 2]]))
    with pytest.raises(BadInput) as raised:
        load(path)
    assert (raised.value.column, raised.value.row) == ("RELATION_NO", 2)
    # the value never reaches the record (the file's own path may contain it: pytest-3)
    assert bad not in raised.value.recorded.replace(str(path), "")


def test_quoted_fields_with_delimiters_and_line_breaks(tmp_path):
    text = 'RELATION_NO;NOTE;BAL\n1;"a;b";"1,5"\n2;"two\nlines";2\n3;"say ""hi""";3\n'
    frame = load(write(tmp_path / "q.csv", text)).frame
    assert frame["NOTE"].to_list() == ["a;b", "two\nlines", 'say "hi"']
    assert frame["BAL"].to_list() == [1.5, 2.0, 3.0]


def test_quoted_delimiters_on_single_lines(tmp_path):
    text = 'RELATION_NO;NOTE;TAG\n"1";"a;b";"x"\n"2";"say ""a;b""";"y"\n"3";"";"z"\n'
    frame = load(write(tmp_path / "q.csv", text)).frame
    assert frame["customer_id"].to_list() == [1, 2, 3]
    assert frame["NOTE"].to_list() == ["a;b", 'say "a;b"', None]
    ragged = write(tmp_path / "r.csv", text + '4;"p;q";"w";"extra"\n')
    with pytest.raises(BadInput) as err:
        load(ragged)
    assert err.value.row == 4
    assert "has 4 fields" in str(err.value)


def test_a_stray_quote_after_a_field_across_lines_is_bad_input_not_a_crash(tmp_path):
    # The csv module reads a"b as text, Polars refuses it; with a quoted line break there is no count per line.
    text = 'RELATION_NO;NOTE\n1;"two\nlines"\n2;a"b\n'
    with pytest.raises(BadInput) as err:
        load(write(tmp_path / "q.csv", text), schema={"NOTE": "str"})
    assert "could not be read as CSV" in str(err.value)


@pytest.mark.parametrize("end", [b"", b"\n", b"\r\n", b"\r\n\r\n\r\n", b"\n\n", b"\r", b"\n\r\n"])
def test_trailing_blank_lines_and_crlf_are_fine(tmp_path, end):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"RELATION_NO;BAL\r\n1;1,5\r\n2;2" + end)
    snap = load(path)
    assert snap.frame["BAL"].to_list() == [1.5, 2.0]
    assert snap.rows == 2


def test_optional_columns_are_typed_when_present_and_may_be_missing(tmp_path):
    path = write(tmp_path / "o.csv", csv_text(["RELATION_NO", "APP_USER", "SAVINGS_BAL"], [[1, 1, "1,5"], [2, 0, "2"]]))
    mapping = {**MAPPING, "app_installed": "APP_USER", "logins_per_month": "IB_LOGINS_M"}
    optional = {"app_installed": "bool", "logins_per_month": "int"}
    snap = load(path, {"savings_balance": "float"}, mapping=mapping, optional=optional)
    assert snap.frame["app_installed"].to_list() == [True, False]
    assert "logins_per_month" not in snap.frame.columns
    with pytest.raises(BadInput, match="required column 'SAVINGS_BAL'"):
        load(
            write(tmp_path / "m.csv", csv_text(["RELATION_NO", "APP_USER"], [[1, 1]])),
            {"savings_balance": "float"},
            mapping=mapping,
            optional=optional,
        )


def test_sha256_is_of_the_file_bytes(tmp_path):
    path = write(tmp_path / "h.csv", csv_text(["RELATION_NO"], [[1], [2]]))
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load(path).sha256 == expected
    assert sha256_of(path) == expected


# -------------------------------------------------------------------- parquet


def test_parquet_round_trip(tmp_path):
    source = pl.DataFrame(
        {
            "RELATION_NO": [10, 11, 12],
            "SAVINGS_BAL": [1.5, None, 3.25],
            "NUM_ACCOUNTS": pl.Series([1, 2, 3], dtype=pl.Int32),
            "POSTCODE": ["1234AB", "5678CD", "9999ZZ"],
            "SEGMENT": ["a", "b", "c"],
        }
    )
    path = tmp_path / "s.parquet"
    source.write_parquet(path)
    snap = load(path, {"savings_balance": "float", "n_accounts": "int"})
    assert snap.dialect == {"format": "parquet"}
    assert snap.dropped_columns == ("POSTCODE",)
    assert snap.frame.columns == ["customer_id", "savings_balance", "n_accounts", "SEGMENT"]
    assert snap.frame["n_accounts"].dtype == pl.Int64
    assert snap.frame["savings_balance"].to_list() == [1.5, None, 3.25]
    assert snap.frame["customer_id"].to_list() == [10, 11, 12]
    assert snap.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_string_column_declared_int_reports_first_bad_row(tmp_path):
    values = [str(i) for i in range(60)]
    values[41] = "n/a"
    path = tmp_path / "w.parquet"
    pl.DataFrame({"RELATION_NO": range(60), "NUM_ACCOUNTS": values}).write_parquet(path)
    with pytest.raises(BadInput) as err:
        load(path, {"n_accounts": "int"})
    assert err.value.column == "NUM_ACCOUNTS"
    assert err.value.row == 42
    assert "'n/a'" in str(err.value)


def test_parquet_type_that_cannot_be_converted(tmp_path):
    path = tmp_path / "f.parquet"
    pl.DataFrame({"RELATION_NO": [1, 2], "NUM_ACCOUNTS": [1.0, 2.5]}).write_parquet(path)
    with pytest.raises(BadInput) as err:
        load(path, {"n_accounts": "int"})
    assert (err.value.column, err.value.row) == ("NUM_ACCOUNTS", 2)
    with pytest.raises(BadInput, match="cannot be read as a date"):
        load(path, {"n_accounts": "date"})


def test_garbled_parquet(tmp_path):
    path = tmp_path / "g.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(BadInput, match="not a readable Parquet file"):
        load(path)


# ------------------------------------------------------------------- denylist


@pytest.mark.parametrize(
    ("column", "denied"),
    [
        ("FULL_NAME", True),
        ("CUST_POSTCODE", True),
        ("POSTAL CODE", True),
        ("postal-code", True),
        ("NAMESPACE", False),
        ("FullName", True),
        ("POST_CODE", True),
        ("DateOfBirth", True),
        ("GENDER", True),
        ("RELATION_NO", False),
        ("SNAPSHOT_DATE", False),
        ("NUM_ACCOUNTS", False),
        ("CAPACITY", False),
    ],
)
def test_is_denied(column, denied):
    assert is_denied(column, DEFAULT_DENYLIST) is denied


def test_no_default_column_is_denied():
    for canonical, bank in DEFAULT_COLUMNS.items():
        assert not is_denied(canonical, DEFAULT_DENYLIST)
        assert not is_denied(bank, DEFAULT_DENYLIST)


def test_dropped_columns_are_recorded_in_file_order(tmp_path):
    header = ["GENDER", "RELATION_NO", "Street Address", "NAMESPACE", "zip", "BAL"]
    path = write(tmp_path / "p.csv", csv_text(header, [["F", 1, "Dorpsstraat 1", "ns", "1234", 5]]))
    snap = load(path)
    assert snap.dropped_columns == ("GENDER", "Street Address", "zip")
    assert snap.frame.columns == ["customer_id", "NAMESPACE", "BAL"]


def test_column_mapped_to_a_denied_canonical_name_is_dropped(tmp_path):
    path = write(tmp_path / "c.csv", csv_text(["RELATION_NO", "PC4"], [[1, "1234"]]))
    snap = load(path, mapping={**MAPPING, "postcode": "PC4"})
    assert snap.dropped_columns == ("PC4",)


@pytest.mark.parametrize(("schema", "mapping"), [({"postcode": "str"}, MAPPING), ({"pc": "str"}, {"pc": "POSTCODE"})])
def test_required_denied_column_is_refused(tmp_path, schema, mapping):
    path = write(tmp_path / "r.csv", csv_text(["RELATION_NO", "POSTCODE"], [[1, "1234AB"]]))
    with pytest.raises(BadInput, match="sensitive-data denylist and cannot be used"):
        load(path, schema, mapping=mapping)


# --------------------------------------------------------------------- errors


def test_missing_column_names_file_column_and_found_columns(tmp_path):
    path = write(tmp_path / "m.csv", csv_text(["RELATION_NO", "OTHER"], [[1, 2]]))
    with pytest.raises(BadInput) as err:
        load(path, {"savings_balance": "float"})
    message = str(err.value)
    assert err.value.exit_code == EXIT_BAD_INPUT
    assert err.value.file == str(path)
    assert err.value.column == "SAVINGS_BAL"
    assert "savings_balance" in message
    assert "columns found: RELATION_NO, OTHER" in message


def test_missing_column_list_is_truncated(tmp_path):
    header = ["RELATION_NO", *(f"C{i}" for i in range(40))]
    path = write(tmp_path / "wide.csv", csv_text(header, [[1, *range(40)]]))
    with pytest.raises(BadInput, match=r"C18, \.\.\. \(21 more\)"):
        load(path, {"n_accounts": "int"})


def test_wrong_type_in_declared_int_column_names_row_150(tmp_path):
    rows = [[i, i % 5] for i in range(1, 201)]
    rows[149][1] = "1,5"
    rows[170][1] = "x"
    path = write(tmp_path / "bad.csv", csv_text(["RELATION_NO", "NUM_ACCOUNTS"], rows))
    with pytest.raises(BadInput) as err:
        load(path, {"n_accounts": "int"})
    assert err.value.column == "NUM_ACCOUNTS"
    assert err.value.row == 150
    assert "row 150" in str(err.value) and "'1,5'" in str(err.value)


@pytest.mark.parametrize("bad", ["n/a", "1.234", "inf"])
def test_only_bad_float_value_in_row_150000_is_named(tmp_path, bad):
    """A late bad value must be found in a bank-style file (';', decimal comma),
    including the ones a lenient number parser would take: '1.234' in a
    decimal-comma file and 'inf'."""
    rows = [[i, f"{i % 997},{i % 100:02d}"] for i in range(1, 200_001)]
    rows[149_999][1] = bad
    path = write(tmp_path / "late_bad.csv", csv_text(["RELATION_NO", "SAVINGS_BAL"], rows))
    with pytest.raises(BadInput) as err:
        load(path, {"savings_balance": "float"})
    assert (err.value.column, err.value.row) == ("SAVINGS_BAL", 150_000)
    assert f"'{bad}'" in str(err.value)


def test_bad_date_and_bool_values_are_reported(tmp_path):
    mapping = {"customer_id": "RELATION_NO", "seen": "SEEN", "app": "APP"}
    rows = [[1, "2024-05-06", "j"], [2, "2024-02-30", "j"]]
    path = write(tmp_path / "d.csv", csv_text(["RELATION_NO", "SEEN", "APP"], rows))
    with pytest.raises(BadInput) as err:
        load(path, {"seen": "date"}, mapping=mapping)
    assert (err.value.column, err.value.row) == ("SEEN", 2)
    path = write(tmp_path / "b.csv", csv_text(["RELATION_NO", "APP"], [[1, "ja"], [2, "misschien"]]))
    with pytest.raises(BadInput) as err:
        load(path, {"app": "bool"}, mapping=mapping)
    assert (err.value.column, err.value.row) == ("APP", 2)


def test_empty_key_names_first_row(tmp_path):
    path = write(tmp_path / "k.csv", csv_text(["RELATION_NO", "X"], [[1, 1], ["", 2], [3, 3], ["", 4]]))
    with pytest.raises(BadInput) as err:
        load(path)
    assert (err.value.column, err.value.row) == ("RELATION_NO", 2)


@pytest.mark.parametrize("content", [b"", b"\r\n", b" \n\n"])
def test_an_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(BadInput, match="the file is empty"):
        load(path)


@pytest.mark.parametrize("content", [b"RELATION_NO;SAVINGS_BAL;SEEN\n", b"RELATION_NO;SAVINGS_BAL;SEEN"])
def test_a_header_without_rows_loads_as_zero_customers_with_their_types(tmp_path, content):
    """An empty extract is a snapshot of nobody: the row-count check stops its run, not the loader."""
    path = tmp_path / "h.csv"
    path.write_bytes(content)
    snap = load(path, {"savings_balance": "float", "seen": "date"})
    assert snap.rows == 0
    assert snap.frame.schema == pl.Schema({"customer_id": pl.Int64, "savings_balance": pl.Float64, "seen": pl.Date})


def test_a_parquet_file_without_rows_loads_as_zero_customers(tmp_path):
    path = tmp_path / "e.parquet"
    pl.DataFrame({"RELATION_NO": pl.Series([], dtype=pl.Int64), "SAVINGS_BAL": pl.Series([], dtype=pl.Int32)}).write_parquet(path)
    snap = load(path, {"savings_balance": "float"})
    assert snap.rows == 0 and snap.frame.schema["savings_balance"] == pl.Float64


def test_an_empty_parquet_file_is_refused(tmp_path):
    path = tmp_path / "e.parquet"
    path.write_bytes(b"")
    with pytest.raises(BadInput, match="the file is empty"):
        load(path)


@pytest.mark.parametrize(
    ("text", "row", "fields"),
    [
        ("RELATION_NO;A;B\n1;2;3\n2;3\n3;4;5\n", 2, 2),
        ("RELATION_NO;A;B\n1;2;3\n2;3;4\n3;4;5;6\n", 3, 4),
        ("RELATION_NO;A;B\n1;2;3\n\n3;4;5\n", 2, 1),
        ('RELATION_NO;A;B\n1;"x\ny";3\n2;3\n', 2, 2),
        # one field short and one too many: the delimiters add up to the header's width, the rows do not
        ("RELATION_NO;A;B\n1;2;3\n2;3\n3;4;5\n4;5;6;7\n", 2, 2),
        ("RELATION_NO;A;B\n1;2;3\n2;3;4;5\n3;4\n", 2, 4),
    ],
)
def test_ragged_rows_are_named(tmp_path, text, row, fields):
    path = write(tmp_path / "r.csv", text)
    with pytest.raises(BadInput) as err:
        load(path)
    assert err.value.row == row
    assert f"has {fields} fields but the header has 3" in str(err.value)


def test_missing_file_and_folder_and_unknown_type(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        load(tmp_path / "nope.csv")
    with pytest.raises(BadInput, match="folder"):
        load(tmp_path)
    with pytest.raises(BadInput, match="unsupported file type"):
        load(write(tmp_path / "x.xlsx", "RELATION_NO\n1\n"))


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "b.csv"
    pl.DataFrame({"RELATION_NO": [1]}).write_parquet(path)
    with pytest.raises(BadInput, match="not a text file"):
        load(path)


def test_undecodable_text(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes(b"RELATION_NO;X\n1;\x81\x8d\n")
    with pytest.raises(BadInput, match="neither UTF-8 nor Windows-1252"):
        load(path)


def test_ambiguous_header(tmp_path):
    path = write(tmp_path / "a.csv", csv_text(["RELATION_NO", "X", "x "], [[1, 2, 3]]))
    with pytest.raises(BadInput, match="appears twice"):
        load(path)
    path = write(tmp_path / "b.csv", csv_text(["RELATION_NO", "customer_id"], [[1, 2]]))
    assert load(path).frame.columns == ["customer_id"], "the mapped column is the key; the other one is not loaded"


def test_only_declared_and_mapped_columns_are_loaded(tmp_path):
    """Personal data under a name the denylist does not know is dropped all the same, and its name recorded."""
    header = ["RELATION_NO", "KLANTNAAM", "SAVINGS_BAL", "EMAIL", "IBAN_NR", "GESLACHT"]
    path = write(tmp_path / "k.csv", csv_text(header, [[1, "Jan de Vries", "1,5", "jan@example.nl", "NL00BANK01", "M"]]))
    snap = load_snapshot(path, mapping=MAPPING, denylist=DEFAULT_DENYLIST, schema={"savings_balance": "float"})
    assert snap.frame.columns == ["customer_id", "savings_balance"]
    assert snap.dropped_columns == ("KLANTNAAM", "EMAIL", "IBAN_NR", "GESLACHT")


# ------------------------------------------------------------------- property

_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
_text = st.text(alphabet=st.sampled_from(list("abcXYZ019 ;,.\"'-éü\n")), min_size=1, max_size=12).filter(
    lambda s: s.strip() != ""
)
_rows = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(-(2**62), 2**62)), st.one_of(st.none(), _finite), _text),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows)
def test_property_csv_dialects_round_trip(tmp_path, rows):
    frame = pl.DataFrame(
        {
            "id": range(1, len(rows) + 1),
            "i": [r[0] for r in rows],
            "f": [r[1] for r in rows],
            "s": [r[2] for r in rows],
        },
        schema={"id": pl.Int64, "i": pl.Int64, "f": pl.Float64, "s": pl.String},
    )
    schema = {"i": "int", "f": "float", "s": "str"}
    for name, options in (("semi.csv", {"separator": ";", "decimal_comma": True}), ("comma.csv", {})):
        path = tmp_path / name
        frame.write_csv(path, **options)
        loaded = load_snapshot(path, mapping={}, denylist=DEFAULT_DENYLIST, schema=schema, key="id").frame
        assert loaded["id"].to_list() == frame["id"].to_list()
        assert loaded["i"].to_list() == frame["i"].to_list()
        assert loaded["f"].to_list() == frame["f"].to_list()
        assert loaded["s"].to_list() == frame["s"].to_list()
