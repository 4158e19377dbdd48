"""`nba-toolkit outcomes import`: validated like any input, stored in the ledger, idempotent."""

from __future__ import annotations

import json

import pytest

from nba_toolkit.cli import main


def cli(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_importing_the_same_file_twice_changes_nothing(sample_workspace, capsys):
    path = sample_workspace.outcomes_path
    code, first = cli(capsys, "outcomes", "import", str(path), "--workspace", str(sample_workspace.root))
    assert code == 0, first
    assert (first["added"], first["updated"], first["unchanged"]) == (3763, 0, 0)
    assert (first["first_opened"], first["last_opened"]) == ("2025-05-26", "2026-11-15")
    code, second = cli(capsys, "outcomes", "import", str(path), "--workspace", str(sample_workspace.root))
    assert code == 0
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 0, 3763)
    assert second["sha256"] == first["sha256"]
    assert len(sample_workspace.ledger.outcomes()) == 3763


def test_a_later_file_adds_and_corrects(sample_workspace, capsys, tmp_path):
    lines = sample_workspace.outcomes_path.read_text().splitlines()
    early = tmp_path / "early.csv"
    early.write_text("\n".join(lines[:101]) + "\n")
    assert cli(capsys, "outcomes", "import", str(early), "--workspace", str(sample_workspace.root))[1]["added"] == 100
    customer, day, amount = lines[5].split(",")
    lines[5] = f"{customer},{day},{float(amount) + 10:.0f}"
    later = tmp_path / "later.csv"
    later.write_text("\n".join(lines[:201]) + "\n")
    code, result = cli(capsys, "outcomes", "import", str(later), "--workspace", str(sample_workspace.root))
    assert code == 0
    assert (result["added"], result["updated"], result["unchanged"]) == (100, 1, 99)
    stored = {(c, d): a for c, d, a in sample_workspace.ledger.outcomes()}
    assert stored[(customer, day)] == float(amount) + 10


def test_bank_names_dialect_and_denylist(sample_workspace, capsys, tmp_path):
    """A warehouse file with its own names (mapped in nba.toml), ';' and decimal commas; a name column is dropped."""
    config = sample_workspace.config_path
    config.write_text(
        config.read_text().replace("[columns]\n", '[columns]\nopened_date = "DATUM_OPENING"\ninvested_amount = "BEDRAG"\n', 1)
    )
    path = tmp_path / "openings.csv"
    path.write_bytes(
        "RELATION_NO;DATUM_OPENING;BEDRAG;FULL_NAME\r\n10000001;02-11-2026;1250,50;Zoë Müller\r\n10000002;03-11-2026;100;René\r\n"
        "10000002;03-11-2026;50,25;René\r\n".encode("cp1252")
    )
    code, result = cli(capsys, "outcomes", "import", str(path), "--workspace", str(sample_workspace.root))
    assert code == 0, result
    assert result["dropped_columns"] == ["FULL_NAME"]
    assert result["rows_in_file"] == 3 and result["outcomes_in_file"] == 2  # two openings on one day are one outcome
    assert sorted(sample_workspace.ledger.outcomes()) == [("10000001", "2026-11-02", 1250.5), ("10000002", "2026-11-03", 150.25)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("10000001,2026-11-02,-5", "column 'INVESTED_AMOUNT', row 2: the invested amount is negative"),
        ("10000001,,100", "column 'OPENED_DATE', row 2: the opening date is empty"),
        ("10000001,2026-11-02,", "column 'INVESTED_AMOUNT', row 2: the invested amount is empty"),
        ("10000001,2026-13-02,100", "column 'OPENED_DATE', row 2"),
    ],
)
def test_bad_rows_are_refused_naming_column_and_row(sample_workspace, capsys, tmp_path, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"RELATION_NO,OPENED_DATE,INVESTED_AMOUNT\n10000009,2026-11-01,10\n{row}\n")
    code, result = cli(capsys, "outcomes", "import", str(path), "--workspace", str(sample_workspace.root))
    assert code == 4
    assert message in result["error"]
    assert sample_workspace.ledger.outcomes() == []


def test_a_missing_file_or_column(sample_workspace, capsys, tmp_path):
    code, result = cli(capsys, "outcomes", "import", str(tmp_path / "nope.csv"), "--workspace", str(sample_workspace.root))
    assert code == 4 and "does not exist" in result["error"]
    path = tmp_path / "short.csv"
    path.write_text("RELATION_NO,OPENED_DATE\n1,2026-01-01\n")
    code, result = cli(capsys, "outcomes", "import", str(path), "--workspace", str(sample_workspace.root))
    assert code == 4 and "invested_amount" in result["error"]


def test_the_human_message(sample_workspace, capsys):
    capsys.readouterr()
    assert main(["outcomes", "import", str(sample_workspace.outcomes_path), "--workspace", str(sample_workspace.root)]) == 0
    assert "3,763 account openings" in capsys.readouterr().out
