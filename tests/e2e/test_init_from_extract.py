"""`nba-toolkit init DIR --from-extract FILE`: a commented nba.toml proposed from the bank's own extract."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.paths import sample_data_dir
from nba_toolkit.workspace import Workspace

EXPECTED_KINDS = {
    "age_years": "number",
    "job": "category",
    "marital_status": "category",
    "education": "category",
    "housing_loan": "flag",
    "personal_loan": "flag",
    "prev_contacts": "number",
    "days_since_contact": "number",
    "mag_mailen": "flag",
}


def init(capsys: pytest.CaptureFixture[str], root: Path, extract: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["init", str(root), "--from-extract", str(extract)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def config_show(capsys: pytest.CaptureFixture[str], root: Path) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["config", "show", "--workspace", str(root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def as_parquet(extract: Path, folder: Path) -> Path:
    path = folder / "extract.parquet"
    pl.read_csv(extract, separator=";", infer_schema=False).write_parquet(path)
    return path


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_the_proposal_maps_what_it_finds_and_declares_every_other_column(
    other_bank, tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    extract = other_bank.extract if form == "csv" else as_parquet(other_bank.extract, tmp_path)
    code, said = init(capsys, tmp_path / "ws", extract)
    assert code == 0, said
    text = (tmp_path / "ws" / "nba.toml").read_text(encoding="utf-8")
    toml = tomllib.loads(text)

    assert toml["columns"] == {
        "customer_id": "KLANT_ID",
        "snapshot_date": "PEILDATUM",
        "is_investor": "HEEFT_BELEGGING",
        "marketing_consent": "",
    }
    assert {name: table["kind"] for name, table in toml["features"].items()} == EXPECTED_KINDS
    assert toml["features"]["age_years"] == {"label": "Age years", "column": "AGE_YEARS", "kind": "number"}
    assert "JOB: a category with 8 levels" in text and "EDUCATION: a category with 4 levels" in text
    assert re.search(r"DAYS_SINCE_CONTACT: a number\.\n# 999 is its largest value, on \d+% of rows", text)
    # the sensitive columns are named as dropped; the id, the date and the post-outcome value are left for a person
    assert "by the [privacy] denylist: GENDER, POSTCODE." in text
    assert "# CONTRACT_NR: looks like an id" in text and "# [features.contract_nr]" in text
    assert "# CUSTOMER_SINCE: holds dates" in text
    assert "# CALL_DURATION_SEC: its name suggests a value recorded after the outcome" in text
    assert '# [features.call_duration_sec]\n# label = "Call duration sec"' in text
    assert "# REQUIRED: no column was found for marketing_consent" in text
    assert "no column was found for marketing_consent" in said
    # column names and counts only: no customer's value is echoed, neither on screen nor in nba.toml
    first = pl.read_csv(other_bank.extract, separator=";", infer_schema=False).row(0, named=True)
    for column in ("KLANT_ID", "CONTRACT_NR", "POSTCODE", "JOB", "EDUCATION", "CUSTOMER_SINCE"):
        assert first[column] not in said and first[column] not in text, column


def test_a_required_column_left_empty_is_refused_until_the_analyst_names_it(
    other_bank, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    assert init(capsys, root, other_bank.extract)[0] == 0

    code, refused = config_show(capsys, root)
    assert code == 4
    assert "[columns] marketing_consent = '' is empty" in refused["error"]

    path = root / "nba.toml"
    text = path.read_text(encoding="utf-8").replace('marketing_consent = ""', 'marketing_consent = "MAG_MAILEN"')
    path.write_text(re.sub(r"# MAG_MAILEN: .*?\n\n", "", text, flags=re.S), encoding="utf-8")
    code, shown = config_show(capsys, root)
    assert code == 0, shown
    assert shown["columns"]["marketing_consent"] == "MAG_MAILEN"
    assert set(shown["features"]) == set(EXPECTED_KINDS) - {"mag_mailen"}


def test_when_every_needed_column_is_found_the_proposal_loads_as_written(
    other_bank, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = tmp_path / "2026-W47.csv"
    extract.write_text(other_bank.extract.read_text(encoding="utf-8").replace("MAG_MAILEN", "MKT_CONSENT", 1), encoding="utf-8")
    code, said = init(capsys, tmp_path / "ws", extract)
    assert code == 0, said
    assert "REQUIRED" not in (tmp_path / "ws" / "nba.toml").read_text(encoding="utf-8")

    code, shown = config_show(capsys, tmp_path / "ws")
    assert code == 0, shown
    assert shown["columns"]["marketing_consent"] == "MKT_CONSENT"
    assert set(shown["features"]) == set(EXPECTED_KINDS) - {"mag_mailen"}

    # the data-use register lists the columns the proposal reads, none approved yet
    capsys.readouterr()
    assert main(["govern", "list", "--workspace", str(tmp_path / "ws"), "--json"]) == 0
    register = {entry["feature"]: entry for entry in json.loads(capsys.readouterr().out)["features"]}
    assert {"customer_id", "marketing_consent", "AGE_YEARS", "EDUCATION", "DAYS_SINCE_CONTACT"} <= set(register)
    assert not {"CALL_DURATION_SEC", "CONTRACT_NR", "GENDER"} & set(register)
    assert not any(entry["approved_by"] for entry in register.values())


def test_an_extract_with_nothing_to_learn_from_asks_for_a_feature(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extract = tmp_path / "extract.csv"
    rows = [f"{100 + i};2026-11-16;{'J' if i % 3 else 'N'};{'J' if i % 2 else 'N'};C{5000 + i}" for i in range(80)]
    extract.write_text("\n".join(["CUSTOMER_ID;SNAPSHOT_DATE;INVESTOR;CONSENT;CONTRACT_NR", *rows]) + "\n", encoding="utf-8")

    code, said = init(capsys, tmp_path / "ws", extract)
    assert code == 0, said
    assert "no column could be proposed as a feature" in said

    code, refused = config_show(capsys, tmp_path / "ws")
    assert code == 4
    assert "[features] must hold at least one table" in refused["error"]


def test_an_unreadable_extract_creates_no_workspace(other_bank, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extract = tmp_path / "extract.csv"
    lines = other_bank.extract.read_text(encoding="utf-8").splitlines()
    extract.write_text("\n".join([*lines[:5], lines[5] + ";extra", *lines[6:]]) + "\n", encoding="utf-8")

    code, said = init(capsys, tmp_path / "ws", extract)

    assert code == 4
    assert "extract.csv" in said and "row" in said
    assert not (tmp_path / "ws").exists()


def test_the_sample_banks_extract_is_proposed_in_its_own_dialect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cp1252, ';' and decimal comma: balances are numbers with decimals, not ids; a figure the same for every
    customer of the week is left out with the hint that a market figure takes market = true."""
    extract = sample_data_dir() / "snapshots" / "2026-W47.csv"
    code, said = init(capsys, tmp_path / "ws", extract)
    assert code == 0, said

    code, shown = config_show(capsys, tmp_path / "ws")
    assert code == 0, shown
    assert {k: shown["columns"][k] for k in ("customer_id", "snapshot_date", "is_investor", "marketing_consent")} == {
        "customer_id": "RELATION_NO",
        "snapshot_date": "SNAPSHOT_DATE",
        "is_investor": "HAS_INVEST_ACC",
        "marketing_consent": "MKT_CONSENT",
    }
    kinds = {name: table["kind"] for name, table in shown["features"].items()}
    assert kinds == {
        "savings_bal": "number",
        "current_bal": "number",
        "num_accounts": "number",
        "app_user": "flag",
        "ib_logins_m": "number",
        "num_products": "number",
        "age_band": "category",
    }
    text = (tmp_path / "ws" / "nba.toml").read_text(encoding="utf-8")
    assert "# FUND_CHG_1W: is the same for every customer in the extract" in text and "market = true" in text
    assert "by the [privacy] denylist: FULL_NAME, GENDER, POSTCODE." in text
    # a column the default [columns] already maps is read by that name, so the run reads each column once
    assert shown["features"]["savings_bal"]["column"] == "savings_balance"
    config = Workspace.open(tmp_path / "ws").config
    schema = {**CORE_COLUMNS, **config.features.required_columns()}
    loaded = load_snapshot(extract, mapping=config.columns, denylist=config.denylist, schema=schema)
    assert loaded.frame["savings_balance"].dtype == pl.Float64


def test_a_history_marks_the_figures_that_are_the_same_within_each_week_as_market(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = init(capsys, tmp_path / "ws", sample_data_dir() / "history.parquet")
    assert code == 0, said

    code, shown = config_show(capsys, tmp_path / "ws")
    assert code == 0, shown
    market = {name for name, table in shown["features"].items() if table.get("market")}
    assert market == {"fund_chg_1w", "fund_chg_4w"}
