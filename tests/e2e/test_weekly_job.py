"""The weekly job end to end, through the command line, on the sample workspace."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.workspace import Workspace

SNAPSHOT = "2026-W47.csv"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


def test_run_approve_export_and_ledger(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    config = ws.config
    contacts_before = _contacts(ws)

    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    assert run["status"] == "awaiting_approval"
    assert run["week"] == "2026-W47"
    assert sum(run["counts"].values()) == run["rows_in"] == 20_000
    assert set(run["dropped_columns"]) == {"GENDER", "POSTCODE", "FULL_NAME"}
    assert not list(ws.exports_dir.iterdir()), "nothing leaves before approval"

    code, export = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 0, export
    path = Path(export["path"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding=config.export.encoding)
    rows = list(csv.DictReader(text.splitlines(), delimiter=";"))

    # only the allowed columns, at most capacity plus the random control
    assert list(rows[0]) == ["relation_number", "campaign_code", "group", "export_date"]
    assert len(rows) <= config.selection.capacity + round(config.selection.random_control_share * config.selection.capacity)
    groups = {r["group"] for r in rows}
    assert groups == {"model", "random_control"}
    assert len(rows) == run["counts"]["selected_mailed"] + run["counts"]["random_control"] == export["rows"]

    # nobody in cooldown, without consent, or already investing
    snapshot = load_snapshot(
        ws.snapshots_dir / SNAPSHOT, mapping=config.columns, denylist=config.denylist, schema=CORE_COLUMNS
    ).frame
    mailed = snapshot.filter(pl.col("customer_id").cast(pl.String).is_in([r["relation_number"] for r in rows]))
    assert mailed.height == len(rows)
    assert mailed["marketing_consent"].all()
    assert not mailed["is_investor"].any()
    recent = {cid for cid, week_start in contacts_before if week_start >= "2026-10-19"}
    assert recent, "the sample's contact history puts some customers in the cooldown"
    assert not recent & {r["relation_number"] for r in rows}

    # the ledger holds the run with matching counts and the export's SHA-256
    code, runs = cli(capsys, "runs", "--workspace", str(ws.root))
    record = next(r for r in runs["runs"] if r["run_id"] == run["run_id"])
    assert record["status"] == "exported"
    assert record["counts"] == run["counts"]
    assert record["export_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == export["sha256"]
    assert record["snapshot_sha256"] == hashlib.sha256((ws.snapshots_dir / SNAPSHOT).read_bytes()).hexdigest()
    assert record["model_sha256"] and record["config"]["selection"]["capacity"] == config.selection.capacity
    assert record["approved_by"] == "test-operator"
    assert record["plugins"]["nba_toolkit.logistic_engine"]

    # contact history grew by exactly the mailed customers and the holdout (both start a cooldown)
    assert len(_contacts(ws)) == len(contacts_before) + len(rows) + run["counts"]["holdout"]

    # a run is exported once
    code, again = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 2 and "already exported" in again["error"]
    assert len(list(ws.exports_dir.iterdir())) == 1


def test_run_with_approve_exports_in_one_step(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, run = cli(capsys, "run", "--workspace", str(sample_workspace.root), "--approve")
    assert code == 0
    assert run["status"] == "exported"
    assert Path(run["export"]["path"]).is_file()
    # a second run of the same week can be reviewed, but not mailed again
    code, second = cli(capsys, "run", "--workspace", str(sample_workspace.root), "--week", "2026-W47", "--approve")
    assert code == 2 and "already exported" in second["error"]


def test_late_warehouse_load_blocks(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    late = ws.root / "late_2026-W47.csv"
    original = (ws.snapshots_dir / SNAPSHOT).read_bytes()
    late.write_bytes(original.replace(b"2026-11-16", b"2026-11-09"))
    code, result = cli(capsys, "run", "--workspace", str(ws.root), "--snapshot", str(late))
    assert code == 3
    assert result["status"] == "blocked"
    assert any(c["check"] == "freshness" and c["status"] == "fail" for c in result["checks"])
    assert not list(ws.exports_dir.iterdir())
    assert ws.ledger.run(result["run_id"]).status == "blocked"
    alerts = list((ws.root / "outbox").iterdir())
    assert len(alerts) == 1
    assert "freshness" in alerts[0].read_text() and result["run_id"] in alerts[0].read_text()
    # the plain-text face says which check and what to do
    capsys.readouterr()
    assert main(["run", "--workspace", str(ws.root), "--snapshot", str(late)]) == 3
    shown = capsys.readouterr().out
    assert "freshness" in shown and "What to do" in shown
    # a built-in check is named as built in, not by the toolkit's internal module name
    assert "(built in)" in shown and "nba_toolkit." not in shown


def test_crashing_check_plugin_blocks_and_is_named(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    (sample_workspace.root / "plugins" / "fragile.py").write_text(
        "from nba_toolkit.plugin import hookimpl\n"
        "class Fragile:\n"
        "    name = 'fragile_check'\n    stage = 'output'\n    severity = 'info'\n"
        "    description = 'always crashes'\n"
        "    def run(self, context):\n        raise ZeroDivisionError('oops')\n"
        "@hookimpl\ndef nba_register_checks(register):\n    register(Fragile())\n",
        encoding="utf-8",
    )
    code, result = cli(capsys, "run", "--workspace", str(sample_workspace.root))
    assert code == 3
    crashed = [c for c in result["checks"] if c["status"] == "error"]
    assert [c["check"] for c in crashed] == ["fragile_check"]
    assert "fragile" in crashed[0]["message"] and "ZeroDivisionError" in crashed[0]["message"]
    assert not list(sample_workspace.exports_dir.iterdir())


def test_failing_exporter_leaves_no_file_and_no_contacts(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    (ws.root / "plugins" / "halfway.py").write_text(
        "from nba_toolkit.plugin import hookimpl\n"
        "class Halfway:\n    name = 'halfway'\n    extension = 'csv'\n"
        "    def write(self, rows, stream, config):\n"
        "        stream.write(b'relation_number\\n12345\\n')\n        raise OSError('disk full')\n"
        "@hookimpl\ndef nba_register_exporters(register):\n    register(Halfway())\n",
        encoding="utf-8",
    )
    toml = ws.config_path.read_text().replace('exporter = "mail_csv"', 'exporter = "halfway"')
    ws.config_path.write_text(toml)
    contacts_before = _contacts(ws)
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0
    code, result = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 5 and "halfway" in result["error"] and "disk full" in result["error"]
    assert list(ws.exports_dir.iterdir()) == []
    assert _contacts(ws) == contacts_before
    assert Workspace.open(ws.root).ledger.run(run["run_id"]).status == "awaiting_approval"


def test_changed_model_file_is_refused(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    model = next(sample_workspace.models_dir.glob("*.joblib"))
    model.write_bytes(model.read_bytes() + b"\x00")
    code, result = cli(capsys, "run", "--workspace", str(sample_workspace.root))
    assert code == 4
    assert "SHA-256" in result["error"] and model.name in result["error"]
    assert not list(sample_workspace.exports_dir.iterdir())


def test_demo_runs_the_whole_job_headless(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "demo"
    assert main(["demo", "--headless", "--workspace", str(root)]) == 0
    shown = capsys.readouterr().out
    for words in (
        "Trained model",
        "already has an investment account",
        "no marketing consent",
        "contacted within the cooldown",
        "held out",
        "random control",
        "Exported",
        "SHA-256",
    ):
        assert words in shown
    assert len(list((root / "exports").iterdir())) == 1
    # a second demo reuses the workspace and its model, and does not mail the week twice
    assert main(["demo", "--headless", "--workspace", str(root)]) == 0
    shown = capsys.readouterr().out
    assert "Trained model" not in shown and "already run and exported" in shown and "SHA-256" in shown
    assert len(list((root / "exports").iterdir())) == 1


def _contacts(ws: Workspace) -> list[tuple[str, str]]:
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        return sorted(db.execute("SELECT customer_id, week_start FROM contacts"))


def test_exit_codes_are_documented_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for code in ("0  success", "2  usage", "3  blocked", "4  bad input", "5  plugin error"):
        assert code in text


def test_operator_exclusion_is_recorded_and_left_out_of_the_file(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    selection = pl.read_parquet(ws.run_dir(run["run_id"]) / "selection.parquet")
    chosen = str(selection.filter(pl.col("reason") == "selected_mailed")["customer_id"][0])
    ws.ledger.add_override(run["run_id"], chosen, action="exclude", reason="complaint last week", by="analyst")
    code, export = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 0
    mailed = Path(export["path"]).read_text().splitlines()
    assert export["rows"] == run["counts"]["selected_mailed"] + run["counts"]["random_control"] - 1
    assert not any(line.startswith(chosen + ";") for line in mailed)
    assert ws.ledger.overrides(run["run_id"])[0]["reason"] == "complaint last week"
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        contacted = {r[0] for r in db.execute("SELECT customer_id FROM contacts WHERE run_id = ?", (run["run_id"],))}
    assert len(contacted) == export["rows"] + run["counts"]["holdout"] and chosen not in contacted


def test_every_command_has_working_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Help texts are %-formatted by argparse; one stray "95%" once broke `--help` for every command."""
    import argparse

    from nba_toolkit.cli.app import build_parser

    def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        found = [prefix]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += commands(sub, (*prefix, name))
        return found

    every = commands(build_parser())
    assert len(every) > 20
    for command in every:
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0, command
    assert "exit codes" in capsys.readouterr().out


def test_model_from_another_scikit_learn_version_is_a_clear_error(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sidecar says which scikit-learn trained the model; another one installed now stops the run."""
    sidecar = next(sample_workspace.models_dir.glob("*.json"))
    data = json.loads(sidecar.read_text())
    data["libraries"]["scikit-learn"] = "0.24.2"
    sidecar.write_text(json.dumps(data))
    code, result = cli(capsys, "run", "--workspace", str(sample_workspace.root))
    assert code == 4
    assert "trained with scikit-learn 0.24.2" in result["error"] and "Retrain" in result["hint"]
    assert not list(sample_workspace.exports_dir.iterdir())
