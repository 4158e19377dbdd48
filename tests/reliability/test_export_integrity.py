"""The mail file under crashes, broken exporters, tampering and hostile configuration.

Crashes are real: ``nba-toolkit run --approve`` in its own process, killed
with SIGKILL at each named write point (core/files.py CRASH_POINTS), then the
next command settles what it left and the workspace's invariants are checked.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from export_workspace import WEEK, contacts_of_run, mail_files, nba, rows_in_file, workspace_invariants

from nba_toolkit.cli import main
from nba_toolkit.core.files import CRASH_POINTS
from nba_toolkit.workspace import Workspace

#: what the week looks like once the next command settled a kill at each point
AFTER_KILL = {
    "run.begun": "failed",
    "run.selection_written": "failed",
    "run.finished": "awaiting_approval",
    "export.reserved": "awaiting_approval",
    "export.written": "awaiting_approval",
    "export.renamed": "exported",
    "export.recorded": "exported",
}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def ledger_rows(root: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return db.execute(sql, args).fetchall()


def test_every_crash_point_is_covered() -> None:
    assert set(AFTER_KILL) == set(CRASH_POINTS)


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_kill_at_each_write_point_is_settled_and_the_week_is_mailed_once(sample_workspace: Workspace, point: str) -> None:
    root = sample_workspace.root
    sample_workspace.close()
    code, _ = nba(root, "run", "--week", WEEK, "--approve", NBA_TOOLKIT_CRASH_AT=point)
    assert code == -9
    left = [p for p in (root / "exports").iterdir()]
    if point == "export.written":
        [temp] = left
        assert temp.name.startswith(".") and temp.name.endswith(".tmp")
    elif point == "export.renamed":
        [unrecorded] = left  # complete, but the ledger does not know it yet
        assert ledger_rows(root, "SELECT status FROM runs") == [("awaiting_approval",)]

    code, listed = nba(root, "runs")  # any command opening the workspace settles what the kill left
    assert code == 0
    [run] = listed["runs"]
    assert run["status"] == AFTER_KILL[point], run
    assert workspace_invariants(root) == []
    notes = " ".join(p.name for p in (root / "outbox").iterdir())
    if point in ("export.reserved", "export.written"):
        assert "-rolled-back.eml" in notes
    if point == "export.written":
        assert "-workspace-cleaned.eml" in notes
    if point == "export.renamed":
        assert "-recovered.eml" in notes
        assert mail_files(root) == [unrecorded] and rows_in_file(unrecorded) == contacts_of_run(root, run["run_id"])

    if run["status"] == "failed":
        code, retried = nba(root, "run", "--week", WEEK, "--approve")
        assert code == 0 and retried["status"] == "exported", retried
    elif run["status"] == "awaiting_approval":
        code, retried = nba(root, "export", run["run_id"])
        assert code == 0, retried
    else:
        code, retried = nba(root, "export", run["run_id"])
        assert code == 2 and "already exported" in retried["error"], retried
        code, again = nba(root, "run", "--week", WEEK, "--approve")
        assert code == 2 and "a week is mailed once" in again["error"], again
    assert len(mail_files(root)) == 1
    assert workspace_invariants(root) == []


def test_audit_verify_and_replay_name_every_mail_file_that_does_not_match_the_ledger(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace.root
    code, run = cli(capsys, "run", "--approve", "--workspace", str(ws))
    assert code == 0
    mail = Path(run["export"]["path"])
    code, report = cli(capsys, "audit", "verify", "--workspace", str(ws))
    assert code == 0 and report["ok"], report

    stray = ws / "exports" / "INVEST-WEEKLY_2026-W47_by-hand.csv"
    stray.write_bytes(mail.read_bytes())
    code, report = cli(capsys, "audit", "verify", "--workspace", str(ws))
    assert code == 4 and report["problems"] == [
        f"exports/{stray.name} has no record in the ledger: no export wrote it, or its record is gone"
    ]
    stray.unlink()

    mail.write_bytes(mail.read_bytes() + b"123456;INVEST-WEEKLY;model;2026-11-20\r\n")
    code, report = cli(capsys, "audit", "verify", "--workspace", str(ws))
    assert code == 4 and len(report["problems"]) == 1 and "was changed after the export" in report["problems"][0]
    code, replayed = cli(capsys, "replay", run["run_id"], "--workspace", str(ws))
    assert code == 4 and not replayed["identical"] and "was changed after the export" in replayed["mail_file"]

    mail.unlink()
    code, report = cli(capsys, "audit", "verify", "--workspace", str(ws))
    assert code == 4 and len(report["problems"]) == 1 and "is missing from exports/" in report["problems"][0]
    code, replayed = cli(capsys, "replay", run["run_id"], "--workspace", str(ws))
    assert code == 4 and "is missing from exports/" in replayed["mail_file"]


#: exporters that do not write what they were given, and what the read-back must say about each
BROKEN_EXPORTERS = {
    "returns_bytes": (
        "        return rows.write_csv(separator=';').encode()\n",
        "the file is empty",
    ),
    "too_few_rows": (
        "        stream.write(_csv(rows.head(10), config))\n",
        "it holds 10 rows for",
    ),
    "wrong_ids": (
        "        stream.write(_csv(rows.with_columns(pl.col('customer_id').cast(pl.String) + '0'), config))\n",
        "relation number(s) given are not in it",
    ),
    "stray_file": (
        "        import os, pathlib\n"
        "        mine = pathlib.Path(os.readlink(f'/proc/self/fd/{stream.fileno()}'))\n"
        "        mine.with_name('copy_for_me.csv').write_bytes(_csv(rows, config))\n"
        "        stream.write(_csv(rows, config))\n",
        "wrote files of its own into exports/ (copy_for_me.csv)",
    ),
}

_PLUGIN = """\
import polars as pl
from nba_toolkit.plugin import hookimpl


def _csv(rows, config):
    text = rows.rename(dict(config.headers)).write_csv(separator=config.delimiter)
    return text.encode(config.encoding)


class Broken:
    name = "{name}"
    extension = "csv"

    def write(self, rows, stream, config):
{body}

@hookimpl
def nba_register_exporters(register):
    register(Broken())
"""


def use_exporter(root: Path, name: str) -> None:
    toml = root / "nba.toml"
    text = toml.read_text(encoding="utf-8")
    current = text.split('exporter = "', 1)[1].split('"', 1)[0]
    toml.write_text(text.replace(f'exporter = "{current}"', f'exporter = "{name}"'), encoding="utf-8")


def test_an_exporter_that_does_not_write_its_rows_fails_the_export_and_nothing_is_recorded(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace.root
    code, run = cli(capsys, "run", "--workspace", str(ws))
    assert code == 0
    contacts_before = ledger_rows(ws, "SELECT COUNT(*) FROM contacts")
    for name, (body, said) in BROKEN_EXPORTERS.items():
        (ws / "plugins" / f"{name}.py").write_text(_PLUGIN.format(name=name, body=body), encoding="utf-8")
        use_exporter(ws, name)
        code, failed = cli(capsys, "export", run["run_id"], "--workspace", str(ws))
        assert code == 5, failed
        assert f"the exporter '{name}'" in failed["error"] and said in failed["error"], failed
        assert list((ws / "exports").iterdir()) == []
        assert ledger_rows(ws, "SELECT COUNT(*) FROM contacts") == contacts_before
        assert ledger_rows(ws, "SELECT status FROM runs WHERE run_id = ?", run["run_id"]) == [("awaiting_approval",)]
    use_exporter(ws, "mail_csv")
    code, exported = cli(capsys, "export", run["run_id"], "--workspace", str(ws))
    assert code == 0, exported
    assert workspace_invariants(ws) == []


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('code = "INVEST-WEEKLY"', 'code = "../../escaped/INVEST"', "[campaign] code"),
        ('code = "INVEST-WEEKLY"', 'code = "=HYPERLINK(1)"', "[campaign] code"),
        ('customer_id = "relation_number"', "customer_id = \"=cmd|' /C calc'!A0\"", "[export.headers] customer_id"),
        ('group = "group"', 'group = "@SUM(1)"', "[export.headers] group"),
    ],
)
def test_a_campaign_code_or_header_that_could_escape_or_execute_is_refused_when_the_config_is_read(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], old: str, new: str, named: str
) -> None:
    ws = sample_workspace.root
    toml = ws / "nba.toml"
    assert old in toml.read_text(encoding="utf-8")
    toml.write_text(toml.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    code, refused = cli(capsys, "run", "--approve", "--workspace", str(ws))
    assert code == 4 and named in refused["error"], refused
    assert list((ws / "exports").iterdir()) == []
    assert not (ws.parent / "escaped").exists() and not (ws.parent.parent / "escaped").exists()


def test_an_exporter_extension_that_would_leave_exports_is_refused(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace.root
    plugin = _PLUGIN.format(name="escaping", body="        stream.write(_csv(rows, config))\n").replace(
        'extension = "csv"', 'extension = "csv/../../../escaped"'
    )
    (ws / "plugins" / "escaping.py").write_text(plugin, encoding="utf-8")
    use_exporter(ws, "escaping")
    code, run = cli(capsys, "run", "--workspace", str(ws))
    assert code == 0
    code, refused = cli(capsys, "export", run["run_id"], "--workspace", str(ws))
    assert code == 5 and "'escaping'" in refused["error"] and "extension" in refused["error"], refused
    assert list((ws / "exports").iterdir()) == []
    assert not any(ws.parent.rglob("escaped*"))
    use_exporter(ws, "mail_csv")
    code, exported = cli(capsys, "export", run["run_id"], "--workspace", str(ws))
    assert code == 0, exported


def test_a_ledger_from_before_schema_2_keeps_its_exports_and_still_mails_a_week_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba_toolkit.errors import UsageError
    from nba_toolkit.ledger import store

    path = tmp_path / "ledger.sqlite"
    monkeypatch.setattr(store, "SCHEMA_VERSION", 1)
    old = store.Ledger.open(path)
    recorded = {"week": WEEK, "operator": "o", "toolkit_version": "0", "config": {}, "plugins": {}, "salt": "s"}
    exported = old.begin_run(**recorded)
    old.finish_run(exported, status="awaiting_approval")
    waiting = old.begin_run(**recorded, again=True)
    old.finish_run(waiting, status="awaiting_approval")
    with old.transaction() as db:  # as schema 1's export left an exported run: awaiting approval, then exported
        db.execute(
            "UPDATE runs SET status = 'exported', export_path = 'exports/x.csv', export_sha256 = ?, export_rows = 3,"
            " exported_at = ? WHERE run_id = ?",
            ("0" * 64, store.now(), exported),
        )
        old._audit_run(db, exported)
    old.close()
    monkeypatch.undo()

    ledger = store.Ledger.open(path)
    assert ledger.verify().ok, ledger.verify().problems
    assert [(a.run_id, a.state, a.path) for a in ledger.export_attempts()] == [(exported, "exported", "exports/x.csv")]
    with pytest.raises(UsageError, match="a week is mailed once"):
        ledger.reserve_export(waiting, path="exports/y.csv", export_date=date(2026, 11, 20), by="o")


def test_relation_numbers_a_spreadsheet_would_run_never_reach_the_mail_file(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace.root
    snapshot = ws / "data" / "snapshots" / f"{WEEK}.csv"
    header, *rows = snapshot.read_text(encoding="cp1252").splitlines()
    rows = [f"={row}" if i % 3 == 0 else row for i, row in enumerate(rows)]
    snapshot.write_text("\n".join([header, *rows]) + "\n", encoding="cp1252")
    contacts_before = ledger_rows(ws, "SELECT COUNT(*) FROM contacts")
    code, refused = cli(capsys, "run", "--approve", "--week", WEEK, "--workspace", str(ws))
    assert code == 4, refused  # refused as bad input, at the door or at the latest before the file is written
    assert list((ws / "exports").iterdir()) == []
    assert ledger_rows(ws, "SELECT COUNT(*) FROM contacts") == contacts_before
