"""What enters a run is brought into one form or refused: relation numbers, weeks, numbers, columns, paths.

Each test goes through the command line the way an operator meets it, on a
copy of the trained sample workspace, and looks at what was exported and
recorded afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.review import RunReview, override
from nba_toolkit.errors import BadInput
from nba_toolkit.jobs.run import run_week
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace

SAMPLE = "2026-W47.csv"
SAMPLE_DATE = "2026-11-16"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    """Exit code, the JSON document and everything printed (for tracebacks)."""
    capsys.readouterr()
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "Traceback" not in printed, printed
    return code, (json.loads(captured.out) if captured.out.strip() else {}), printed


def sample_table(ws: Workspace) -> tuple[list[str], list[list[str]]]:
    """The sample week's header and rows, as text."""
    text = (ws.snapshots_dir / SAMPLE).read_bytes().decode("cp1252")
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    return header, rows


def write_table(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


def week_variant(ws: Workspace, name: str, day: str, change=None) -> Path:
    """The sample week moved to another as-of date, each row changed by ``change(header, row)``."""
    header, rows = sample_table(ws)
    at = header.index("SNAPSHOT_DATE")
    for row in rows:
        row[at] = day
        if change:
            change(header, row)
    return write_table(ws.snapshots_dir / name, header, rows)


def exported_ids(ws: Workspace) -> list[str]:
    ids = []
    for path in ws.exports_dir.glob("*.csv"):
        ids += [r["relation_number"] for r in csv.DictReader(path.read_text().splitlines(), delimiter=";")]
    return ids


def contacts_of(ws: Workspace, run_id: str) -> set[str]:
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        return {r[0] for r in db.execute("SELECT customer_id FROM contacts WHERE run_id = ?", (run_id,))}


def export_week(capsys, ws: Workspace, snapshot: Path) -> dict:
    code, run, printed = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(snapshot), "--approve")
    assert code == 0, printed
    return run


# ------------------------------------------------------------------ relation numbers (item 3)


def _zero_padded(header: list[str], row: list[str]) -> None:
    at = header.index("RELATION_NO")
    row[at] = "00" + row[at]


def test_last_weeks_customers_written_with_leading_zeros_stay_in_the_cooldown(sample_workspace, capsys):
    ws = sample_workspace
    first = export_week(capsys, ws, ws.snapshots_dir / SAMPLE)
    cooled = contacts_of(ws, first["run_id"])
    assert len(cooled) > 1000
    padded = week_variant(ws, "2026-W48.csv", "2026-11-23", _zero_padded)

    second = export_week(capsys, ws, padded)

    mailed = exported_ids(ws)  # both weeks' files
    assert len(mailed) == len(set(mailed)), "nobody is in the two mail files twice"
    assert second["counts"]["excluded_cooldown"] >= len(cooled)
    assert not contacts_of(ws, second["run_id"]) & cooled
    assert all(not cid.startswith("0") for cid in contacts_of(ws, second["run_id"])), "contacts are kept in one form"


def test_one_customer_written_two_ways_is_a_duplicate(sample_workspace, capsys):
    ws = sample_workspace
    header, rows = sample_table(ws)
    twice = [*rows, [("000" + v if i == header.index("RELATION_NO") else v) for i, v in enumerate(rows[0])]]
    path = write_table(ws.root / "2026-W47-twice.csv", header, twice)

    code, run, _ = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(path), "--approve")

    assert code == 3
    duplicate = next(c for c in run["checks"] if c["check"] == "duplicate_ids")
    assert duplicate["status"] == "fail"
    assert not list(ws.exports_dir.iterdir())


def test_relation_numbers_in_another_form_than_the_contact_history_block(sample_workspace, capsys):
    """The contact history has customers in the cooldown weeks; a renumbered extract shares none of them."""
    ws = sample_workspace
    export_week(capsys, ws, ws.snapshots_dir / SAMPLE)

    def prefixed(header: list[str], row: list[str]) -> None:
        row[header.index("RELATION_NO")] = "NL" + row[header.index("RELATION_NO")]

    renumbered = week_variant(ws, "2026-W48.csv", "2026-11-23", prefixed)
    before = exported_ids(ws)

    code, run, _ = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(renumbered), "--approve")

    assert code == 3
    overlap = next(c for c in run["checks"] if c["check"] == "contact_overlap")
    assert overlap["status"] == "fail" and float(overlap["measured"]) == 0
    assert exported_ids(ws) == before


def test_the_sample_week_passes_the_contact_overlap(sample_workspace, capsys):
    code, run, printed = cli(capsys, "run", "--workspace", str(sample_workspace.root))
    assert code == 0, printed
    overlap = next(c for c in run["checks"] if c["check"] == "contact_overlap")
    assert overlap["status"] == "pass", overlap


def test_an_override_typed_with_leading_zeros_is_recorded_for_the_customer(sample_workspace, capsys):
    ws = sample_workspace
    code, run, printed = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, printed
    registry = load_plugins(ws.plugin_folders(), entry_points_enabled=False)
    review = RunReview.open(ws, registry, run["run_id"])
    customer = str(review.selection.filter(pl.col("mailed"))["customer_id"][0])

    decision = override(ws, review, " 00" + customer, action="exclude", reason="asked not to be mailed", by="test")

    assert decision.found and decision.customer_id == customer
    assert [o["customer_id"] for o in ws.ledger.overrides(run["run_id"])] == [customer]


# ------------------------------------------------------------------------- weeks (item 5)


def test_a_week_after_the_current_one_is_refused(sample_workspace, capsys):
    ws = sample_workspace
    future = week_variant(ws, "2099-W01.csv", "2098-12-29")

    code, result, printed = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(future), "--approve")

    assert code == 4, printed
    assert "after the current week" in printed
    assert not list(ws.exports_dir.iterdir())
    assert not ws.ledger.runs(), "a refused week leaves no run behind"


def test_a_week_long_before_the_last_exported_one_is_refused(sample_workspace, capsys):
    ws = sample_workspace
    export_week(capsys, ws, ws.snapshots_dir / SAMPLE)
    old = week_variant(ws, "2026-W30.csv", "2026-07-20")

    code, _, printed = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(old), "--approve")

    assert code == 4, printed
    assert "before 2026-W47" in printed and "max_weeks_back" in printed
    assert len(list(ws.exports_dir.iterdir())) == 1


def test_which_week_has_come_follows_the_given_today(sample_workspace):
    registry = load_plugins(sample_workspace.plugin_folders(), entry_points_enabled=False)
    with pytest.raises(BadInput, match="after the current week 2026-W44"):
        run_week(sample_workspace, registry, today=date(2026, 10, 28))
    assert run_week(sample_workspace, registry, today=date(2026, 11, 16)).status == "awaiting_approval"


def test_contacts_recorded_for_a_later_week_do_not_hold_customers_back(sample_workspace, capsys):
    """A future week exported before this fix left contacts behind; only the run's own cooldown counts."""
    ws = sample_workspace
    header, rows = sample_table(ws)
    already = {cid for cid, _ in ws.ledger.contacted_since(date(2026, 10, 19))}  # the sample's own cooldown
    ids = [row[header.index("RELATION_NO")] for row in rows if row[header.index("RELATION_NO")] not in already][:400]
    future = [(cid, "2099-01-05", "2099-W02", "2099-01-05", "model") for cid in ids]
    in_cooldown = [(cid, "2026-11-09", "2026-W46", "2026-11-09", "model") for cid in ids[200:]]
    ws.ledger.import_contacts([*future, *in_cooldown], source="an export of a future week")

    code, run, printed = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, printed

    reasons = dict(
        pl.read_parquet(ws.root / ws.ledger.run(run["run_id"]).selection_path)
        .select(pl.col("customer_id").cast(pl.String), "reason")
        .iter_rows()
    )
    assert not any(reasons[cid] == "excluded_cooldown" for cid in ids[:200]), "a 2099 contact is no cooldown in 2026-W47"
    excluded_before = ("excluded_investor", "excluded_no_consent")  # the first reason wins
    assert all(reasons[cid] == "excluded_cooldown" for cid in ids[200:] if reasons[cid] not in excluded_before)


# ----------------------------------------------------------------- absurd numbers (item 7)


def test_an_infinite_balance_in_a_csv_is_bad_input_at_its_row(sample_workspace, capsys):
    ws = sample_workspace
    header, rows = sample_table(ws)
    rows[41][header.index("CURRENT_BAL")] = "1e999"
    path = write_table(ws.root / "2026-W47-inf.csv", header, rows)

    code, _, printed = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(path), "--approve")

    assert code == 4
    assert "column 'CURRENT_BAL', row 42" in printed and "finite" in printed
    assert not list(ws.exports_dir.iterdir())


@pytest.mark.parametrize("bad", [float("-inf"), float("nan")])
def test_non_finite_values_in_parquet_are_bad_input(sample_workspace, capsys, bad):
    ws = sample_workspace
    frame = pl.read_csv(ws.snapshots_dir / SAMPLE, separator=";", encoding="cp1252", decimal_comma=True)
    frame = frame.with_columns(frame["SAVINGS_BAL"].cast(pl.Float64).scatter(7, bad))
    path = ws.root / "2026-W47.parquet"
    frame.write_parquet(path)

    code, _, printed = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(path), "--approve")

    assert code == 4
    assert "column 'SAVINGS_BAL', row 8" in printed
    assert not list(ws.exports_dir.iterdir())


def test_absurd_balances_block_the_run_before_anything_is_scored(sample_workspace, capsys):
    ws = sample_workspace
    header, rows = sample_table(ws)
    for row in rows[::50]:  # 2% of the customers
        row[header.index("CURRENT_BAL")] = "1e300"
    path = write_table(ws.root / "2026-W47-absurd.csv", header, rows)

    code, run, printed = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(path), "--approve")

    assert code == 3, printed
    ranges = next(c for c in run["checks"] if c["check"] == "value_ranges")
    assert ranges["status"] == "fail" and "current_balance" in ranges["message"]
    scored = [row for row in rows[::50] if row[header.index("HAS_INVEST_ACC")] == "0"]  # investors are never scored
    assert ranges["affected_count"] == len(scored)
    assert not list(ws.exports_dir.iterdir())


# ------------------------------------------------------------------ personal data (item 17)

PERSONAL = {
    "KLANTNAAM": "Wilhelmina Zonderland",
    "GESLACHT": "V",
    "EMAIL": "w.zonderland@example.nl",
    "IBAN_NR": "NL91ABNA0417164300",
}


def test_columns_nobody_asked_for_are_not_loaded_nor_in_the_analysis_file(sample_workspace, capsys):
    ws = sample_workspace
    header, rows = sample_table(ws)
    extended = write_table(ws.snapshots_dir / SAMPLE, [*header, *PERSONAL], [[*row, *PERSONAL.values()] for row in rows])

    code, run, printed = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(extended))
    assert code == 0, printed
    assert set(PERSONAL) <= set(run["dropped_columns"]), "dropped and counted at the door"
    code, analysis, printed = cli(capsys, "analysis", run["run_id"], "--workspace", str(ws.root))
    assert code == 0, printed

    written = Path(analysis["path"]).read_text(encoding="utf-8")
    assert not set(PERSONAL) & set(analysis["columns"])
    assert not any(value in written for value in PERSONAL.values())


def test_a_mis_mapped_text_column_never_puts_its_values_in_the_ledger_or_an_alert(sample_workspace, capsys):
    ws = sample_workspace
    header, rows = sample_table(ws)
    write_table(ws.snapshots_dir / SAMPLE, [*header, "KLANTNAAM"], [[*row, PERSONAL["KLANTNAAM"]] for row in rows])
    toml = ws.root / "nba.toml"
    toml.write_text(toml.read_text().replace('current_balance = "CURRENT_BAL"', 'current_balance = "KLANTNAAM"'))

    code, _, printed = cli(capsys, "run", "--workspace", str(ws.root))

    assert code == 4
    assert "column 'KLANTNAAM', row 1" in printed, "the operator is told where"
    [run] = ws.ledger.runs()
    assert run.status == "failed" and "column 'KLANTNAAM', row 1" in (run.error or "")
    stored = [ws.root / "ledger.sqlite", *(p for p in ws.root.glob("ledger.sqlite*")), *(ws.root / "outbox").rglob("*")]
    assert any(p.is_file() for p in (ws.root / "outbox").rglob("*")), "an alert was written"
    surname = b"Zonderland"
    assert not [p for p in stored if p.is_file() and surname in p.read_bytes()]


# -------------------------------------------------------------------- exit codes (item 19)


@pytest.mark.parametrize(
    ("name", "body", "where"),
    [
        ("cr-only", "RELATION_NO;X\r1;2\r3;4\r", "in the header"),
        ("cr-in-header", "RELATION_NO\r;X\n1;2\n", "in the header"),
        ("cr-in-a-row", "RELATION_NO;X\n1;2\n3\r;4\n", "in line 3"),
    ],
)
def test_a_lone_carriage_return_is_bad_input(sample_workspace, capsys, name, body, where):
    path = sample_workspace.root / f"2026-W47-{name}.csv"
    path.write_bytes(body.encode())
    code, _, printed = cli(capsys, "run", "--workspace", str(sample_workspace.root), "--snapshot", str(path))
    assert code == 4, printed
    assert "carriage return" in printed and where in printed


def test_an_absurd_cooldown_is_refused_by_the_configuration_with_its_key_and_value(sample_workspace, capsys):
    toml = sample_workspace.root / "nba.toml"
    toml.write_text(toml.read_text().replace("cooldown_weeks = 4", "cooldown_weeks = 1000000"))
    code, _, printed = cli(capsys, "run", "--workspace", str(sample_workspace.root))
    assert code == 4, printed
    assert "cooldown_weeks = 1000000" in printed


@pytest.mark.parametrize("where", ["file", "/proc/nba-workspace"])
def test_init_where_no_workspace_can_be_is_a_usage_error(tmp_path, capsys, where):
    target = tmp_path / "a-file" if where == "file" else Path(where)
    if where == "file":
        target.write_text("not a folder")
    capsys.readouterr()
    code = main(["init", str(target)])
    printed = " ".join("".join(capsys.readouterr()).split())  # the terminal wraps long lines
    assert code == 2, printed
    assert "Traceback" not in printed and "unexpected" not in printed
    assert ("is a file" if where == "file" else "could not be created") in printed


def test_a_folder_given_as_the_snapshot_is_named_a_folder(sample_workspace, capsys):
    code, _, printed = cli(capsys, "run", "--workspace", str(sample_workspace.root), "--snapshot", str(sample_workspace.root))
    assert code == 4
    assert "is a folder" in printed and "does not exist" not in printed


def test_a_full_disk_is_a_clear_message_and_leaves_nothing_half_written(trained_sample, tmp_path, capsys):
    """A real full disk: the workspace on a small tmpfs that the run's files do not fit on."""
    mount = tmp_path / "small"
    mount.mkdir()
    page = 4096  # tmpfs gives every file whole pages
    used = sum(-(-p.stat().st_size // page) * page for p in trained_sample.rglob("*") if p.is_file())
    size = used + 64 * 1024  # the copy fits; the run's selection file does not
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("needs permission to mount a small tmpfs")
    try:
        root = mount / "ws"
        shutil.copytree(trained_sample, root)
        code, _, printed = cli(capsys, "run", "--workspace", str(root), "--approve")
        assert code == 2, printed
        assert "no space left on the disk" in printed
        assert not list((root / "exports").iterdir())
        assert not [p for p in root.rglob("*.tmp")], "no temporary file is left behind"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_contacts_an_older_ledger_kept_with_leading_zeros_still_count(sample_workspace, capsys):
    """Relation numbers recorded before the one form existed are brought into it when the cooldown reads them."""
    ws = sample_workspace
    already = {cid for cid, _ in ws.ledger.contacted_since(date(2026, 10, 19))}
    header, rows = sample_table(ws)
    ids = [row[header.index("RELATION_NO")] for row in rows if row[header.index("RELATION_NO")] not in already][:300]
    ws.ledger.import_contacts([("000" + cid, "2026-11-09", "2026-W46", "2026-11-09", "model") for cid in ids], source="older")

    code, run, printed = cli(capsys, "run", "--workspace", str(ws.root), "--approve")
    assert code == 0, printed

    assert not set(exported_ids(ws)) & set(ids)
