"""`contacts import`: mailings made outside the toolkit reach the contact history, the cooldown and the story.

Through the command line on the trained sample workspace: a run of the sample
week, a file of another campaign's contacts for some of its eligible
customers, and what every later command makes of them.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.tui.screens.review import other_weeks, other_weeks_text
from nba_toolkit.workspace import Workspace

WEEK = "2026-W47"
#: a day in the sample week, after its snapshot (Monday 2026-11-16)
IN_WEEK = "2026-11-17"


def nba(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--workspace", str(ws.root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def nba_text(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main([*args, "--workspace", str(ws.root)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def run_week(capsys: pytest.CaptureFixture[str], ws: Workspace) -> tuple[str, pl.DataFrame]:
    code, result = nba(capsys, ws, "run", "--week", WEEK)
    assert code == 0, result
    selection = pl.read_parquet(ws.run_dir(result["run_id"]) / "selection.parquet")
    return result["run_id"], selection.with_columns(pl.col("customer_id").cast(pl.String))


def contacts_file(path: Path, rows: list[str], header: str = "RELATION_NO,CONTACT_DATE,CAMPAIGN") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def stored_contacts(ws: Workspace) -> list[tuple]:
    db = sqlite3.connect(ws.ledger.path)
    try:
        return db.execute(
            "SELECT customer_id, contact_date, week, week_start, grp, campaign FROM contacts WHERE run_id IS NULL"
            " AND campaign IS NOT NULL ORDER BY customer_id, contact_date"
        ).fetchall()
    finally:
        db.close()


@pytest.fixture
def first_run(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]):
    """The sample week run once (awaiting approval), and three customers it found eligible but did not select."""
    run_id, selection = run_week(capsys, sample_workspace)
    eligible = selection.filter(pl.col("reason").is_in(["below_threshold", "over_capacity"])).sort("customer_id")
    return sample_workspace, run_id, selection, eligible["customer_id"][:3].to_list()


def test_an_imported_contact_keeps_the_customer_out_of_the_next_run_and_a_replay_still_sees_the_old_history(
    first_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, run_id, before, customers = first_run
    selected = before.filter(pl.col("reason") == "selected_mailed").sort("rank")["customer_id"][0]
    # the file writes one relation number with leading zeros, as another system may: core/ids.py's rule applies
    path = contacts_file(
        tmp_path / "pension-mailing.csv",
        [
            f"000{customers[0]},{IN_WEEK},PENSION-Q4",
            f"{customers[1]},{IN_WEEK},PENSION-Q4",
            f"{customers[1]},{IN_WEEK},PENSION-Q4",  # the same contact twice is one contact
            f"{selected},2026-11-12,SAVINGS",
        ],
    )
    code, result = nba(capsys, ws, "contacts", "import", str(path))
    assert code == 0, result
    assert result["imported"] is True
    assert (result["rows_in_file"], result["contacts_in_file"], result["added"], result["known"]) == (4, 3, 3, 0)
    assert result["campaigns"] == ["PENSION-Q4", "SAVINGS"]
    assert stored_contacts(ws) == sorted(
        [
            (customers[0], IN_WEEK, WEEK, "2026-11-16", "outside", "PENSION-Q4"),
            (customers[1], IN_WEEK, WEEK, "2026-11-16", "outside", "PENSION-Q4"),
            (selected, "2026-11-12", "2026-W46", "2026-11-09", "outside", "SAVINGS"),
        ]
    )

    # the run made before the import is replayed with the history it read, so it is still identical
    code, replayed = nba(capsys, ws, "replay", run_id)
    assert code == 0, replayed
    assert replayed["identical"] is True

    assert main(["withdraw", run_id, "--reason", "another campaign mailed some of them", "--workspace", str(ws.root)]) == 0
    _, after = run_week(capsys, ws)
    reasons = dict(
        after.filter(pl.col("customer_id").is_in([*customers[:2], selected])).select("customer_id", "reason").iter_rows()
    )
    assert reasons == {customers[0]: "excluded_cooldown", customers[1]: "excluded_cooldown", selected: "excluded_cooldown"}
    untouched = after.filter(pl.col("customer_id") == customers[2])["reason"][0]
    assert untouched in ("below_threshold", "over_capacity")  # not in the file: as eligible as before

    code, verified = nba(capsys, ws, "audit", "verify")
    assert code == 0 and verified["ok"], verified


def test_importing_the_same_file_again_changes_nothing_and_says_so(
    first_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, _, _, customers = first_run
    path = contacts_file(tmp_path / "mailing.csv", [f"{c},{IN_WEEK},PENSION-Q4" for c in customers])
    code, first = nba(capsys, ws, "contacts", "import", str(path))
    assert code == 0 and first["added"] == 3
    code, text = nba_text(capsys, ws, "contacts", "import", str(path))
    assert code == 0
    assert "was already imported on" in text and "by test-operator" in text and "nothing was changed" in text
    code, again = nba(capsys, ws, "contacts", "import", str(path))
    assert code == 0 and again["imported"] is False and again["added"] == 0
    assert len(stored_contacts(ws)) == 3

    # a later file that repeats a contact adds only what is new
    later = contacts_file(
        tmp_path / "later.csv", [f"{customers[0]},{IN_WEEK},PENSION-Q4", f"{customers[0]},2026-11-18,PENSION-Q4"]
    )
    code, result = nba(capsys, ws, "contacts", "import", str(later))
    assert code == 0 and (result["added"], result["known"]) == (1, 1)
    assert len(stored_contacts(ws)) == 4

    code, listed = nba(capsys, ws, "contacts", "list")
    assert code == 0
    assert [(i["file"], i["rows_in_file"], i["added"], i["known"], i["imported_by"]) for i in listed["imports"]] == [
        ("later.csv", 2, 1, 1, "test-operator"),
        ("mailing.csv", 3, 3, 0, "test-operator"),
    ]
    assert listed["imports"][1]["sha256"] == first["sha256"]
    code, verified = nba(capsys, ws, "audit", "verify")
    assert code == 0 and verified["ok"], verified


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1000-0002,2026-11-17,PENSION-Q4", "column 'RELATION_NO', row 2: value '1000-0002' is not a relation number"),
        ("10000002,2026-13-17,PENSION-Q4", "column 'CONTACT_DATE', row 2: value '2026-13-17' is not a date"),
        ("10000002,,PENSION-Q4", "column 'CONTACT_DATE', row 2: the contact date is empty"),
        ("10000002,2099-01-05,PENSION-Q4", "column 'CONTACT_DATE', row 2: the contact date is after today"),
        ("10000002,2026-11-17,", "column 'CAMPAIGN', row 2: the campaign is empty"),
    ],
)
def test_a_bad_row_is_refused_naming_file_column_and_row_and_nothing_is_imported(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, message: str
) -> None:
    path = contacts_file(tmp_path / "bad.csv", ["10000001,2026-11-16,PENSION-Q4", row])
    code, result = nba(capsys, sample_workspace, "contacts", "import", str(path))
    assert code == 4, result
    assert str(path) in result["error"] and message in result["error"]
    assert stored_contacts(sample_workspace) == []
    assert nba(capsys, sample_workspace, "contacts", "list")[1]["imports"] == []


def test_a_missing_column_or_campaign(sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_date = contacts_file(tmp_path / "no-date.csv", ["10000001,PENSION-Q4"], header="RELATION_NO,CAMPAIGN")
    code, result = nba(capsys, sample_workspace, "contacts", "import", str(no_date))
    assert code == 4 and str(no_date) in result["error"] and "required column 'contact_date' is missing" in result["error"]

    empty = contacts_file(tmp_path / "empty.csv", [])
    code, result = nba(capsys, sample_workspace, "contacts", "import", str(empty))
    assert code == 4 and str(empty) in result["error"] and "holds no contacts" in result["error"], result

    no_campaign = contacts_file(tmp_path / "no-campaign.csv", ["10000001,2026-11-16"], header="RELATION_NO,CONTACT_DATE")
    code, result = nba(capsys, sample_workspace, "contacts", "import", str(no_campaign))
    assert code == 4 and "column 'campaign' is missing and --campaign does not name the campaign" in result["error"]
    assert stored_contacts(sample_workspace) == []

    code, result = nba(capsys, sample_workspace, "contacts", "import", str(no_campaign), "--campaign", "BRANCH-LETTER")
    assert code == 0, result
    assert stored_contacts(sample_workspace) == [("10000001", "2026-11-16", WEEK, "2026-11-16", "outside", "BRANCH-LETTER")]


def test_the_bank_s_own_names_and_dialect(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Columns mapped in nba.toml, ';' and day-first dates, as the snapshots may be written; a name column is dropped."""
    config = sample_workspace.config_path
    config.write_text(
        config.read_text().replace("[columns]\n", '[columns]\ncontact_date = "DATUM_CONTACT"\ncampaign = "ACTIE"\n', 1)
    )
    path = tmp_path / "acties.csv"
    path.write_bytes("RELATION_NO;DATUM_CONTACT;ACTIE;FULL_NAME\r\n10000001;16-11-2026;Pensioen;Zoë Müller\r\n".encode("cp1252"))
    code, result = nba(capsys, sample_workspace, "contacts", "import", str(path))
    assert code == 0, result
    assert result["dropped_columns"] == ["FULL_NAME"]
    assert stored_contacts(sample_workspace) == [("10000001", "2026-11-16", WEEK, "2026-11-16", "outside", "Pensioen")]
    bad = tmp_path / "acties-bad.csv"
    bad.write_bytes(b"RELATION_NO;DATUM_CONTACT;ACTIE\r\n10000001;16-11-2026;\r\n")
    code, result = nba(capsys, sample_workspace, "contacts", "import", str(bad))
    assert code == 4 and "column 'ACTIE', row 1: the campaign is empty" in result["error"]


def test_the_customer_history_shows_the_imported_campaign(first_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws, run_id, _, customers = first_run
    path = contacts_file(tmp_path / "mailing.csv", [f"{customers[0]},{IN_WEEK},PENSION-Q4"])
    assert nba(capsys, ws, "contacts", "import", str(path))[0] == 0
    code, text = nba_text(capsys, ws, "customer-history", customers[0])
    assert code == 0, text
    assert f"Mailed outside the toolkit on {IN_WEEK} ({WEEK}) by campaign PENSION-Q4" in text
    code, story = nba(capsys, ws, "customer-history", customers[0])
    outside = [m for m in story["mailings"] if m["campaign"]]
    assert [(m["contact_date"], m["week"], m["group"], m["campaign"], m["run_id"]) for m in outside] == [
        (IN_WEEK, WEEK, "outside", "PENSION-Q4", None)
    ]
    # the Review screen's customer panel, under "Other weeks"
    panel = other_weeks_text(other_weeks(ws, customers[0], run_id)).plain
    assert f"{WEEK}  mailed outside the toolkit on {IN_WEEK} by campaign PENSION-Q4" in panel


def test_a_campaign_or_an_import_record_changed_by_hand_is_found_by_verify(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = contacts_file(tmp_path / "mailing.csv", ["10000001,2026-11-16,PENSION-Q4"])
    assert nba(capsys, sample_workspace, "contacts", "import", str(path))[0] == 0
    for edit, problem in (
        ("UPDATE contacts SET campaign = 'OTHER' WHERE campaign = 'PENSION-Q4'", "the contacts imported from 'contacts import"),
        ("UPDATE contact_imports SET imported_by = 'someone else'", "contacts import #1 differs from its audit record"),
    ):
        db = sqlite3.connect(sample_workspace.ledger.path)
        db.execute(edit)
        db.commit()
        db.close()
        code, verified = nba(capsys, sample_workspace, "audit", "verify")
        assert code == 4 and any(problem in p for p in verified["problems"]), verified
        # a later import records only its own contacts: the edit is not laundered, verify still finds it
        again = contacts_file(tmp_path / f"again-{len(edit)}.csv", [f"1000000{len(edit) % 7 + 2},2026-11-16,PENSION-Q4"])
        assert nba(capsys, sample_workspace, "contacts", "import", str(again))[0] == 0
        code, verified = nba(capsys, sample_workspace, "audit", "verify")
        assert code == 4 and any(problem in p for p in verified["problems"]), verified
    # and a run, which needs an intact ledger, is refused
    code, refused = nba(capsys, sample_workspace, "run", "--week", WEEK)
    assert code == 4 and "changed outside the toolkit" in refused["error"], refused


def test_the_installed_command_imports_and_the_ledger_verifies(sample_workspace: Workspace, tmp_path: Path) -> None:
    """The console script in a process of its own, as an operator runs it."""
    path = contacts_file(tmp_path / "mailing.csv", ["10000001,2026-11-16,PENSION-Q4", "10000002,2026-11-16,PENSION-Q4"])
    script = shutil.which("nba-toolkit", path=str(Path(sys.executable).parent))
    assert script, "the nba-toolkit console script is not installed next to this Python"
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [script, "contacts", "import", str(path), "--workspace", str(sample_workspace.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 contacts from 2026-11-16 to 2026-11-16 (PENSION-Q4): 2 new" in done.stdout
    verified = subprocess.run(
        [script, "audit", "verify", "--workspace", str(sample_workspace.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
