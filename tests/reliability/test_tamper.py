"""Tampering with the ledger or the model: found, never laundered, never unpickled.

Each test does what someone with the sqlite3 shell and write access to the
workspace could do, then uses the toolkit as an operator would.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.models import load_model, sidecar_path
from nba_toolkit.errors import BadInput
from nba_toolkit.ledger import audit
from nba_toolkit.ledger.store import now
from nba_toolkit.workspace import Workspace


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _shell(root: Path, sql: str, *params: object) -> None:
    """The sqlite3 shell: no toolkit code, no audit record."""
    with sqlite3.connect(root / "ledger.sqlite") as db:
        db.execute(sql, params)


def _audit_rows(root: Path) -> int:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]


def _blocked_run(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> str:
    """A run the volume band stops (at most 10 customers a week may be mailed)."""
    ws.config_path.write_text(ws.config_path.read_text().replace("max = 2500", "max = 10"))
    code, blocked = _cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 3, blocked
    return blocked["run_id"]


def test_a_blocked_run_edited_to_awaiting_approval_is_not_exported_or_laundered(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    root = ws.root
    run_id = _blocked_run(ws, capsys)
    ws.close()
    _shell(root, "UPDATE runs SET status = 'awaiting_approval' WHERE run_id = ?", run_id)
    _shell(root, "UPDATE check_results SET status = 'pass' WHERE run_id = ?", run_id)
    before = _audit_rows(root)

    code, refused = _cli(capsys, "export", run_id, "--workspace", str(root))
    assert code == 4, refused
    assert "changed outside the toolkit" in refused["error"] and "audit verify" in refused["hint"]
    assert list((root / "exports").iterdir()) == []
    assert _audit_rows(root) == before, "nothing was appended to the chain"

    # the edit is still reported, not laundered into an intact chain
    code, report = _cli(capsys, "audit", "verify", "--workspace", str(root))
    assert code == 4 and any(run_id in p and "status" in p for p in report["problems"]), report


def test_a_write_over_an_edited_run_is_refused_and_rolled_back(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writes that do not verify the whole ledger first (an override on the review screen) refuse too."""
    ws = sample_workspace
    root = ws.root
    code, run = _cli(capsys, "run", "--workspace", str(root))
    assert code == 0
    ws.close()
    _shell(root, "UPDATE runs SET rows_in = rows_in - 1 WHERE run_id = ?", run["run_id"])
    before = _audit_rows(root)

    ledger = Workspace.open(root).ledger
    with pytest.raises(BadInput, match="changed outside the toolkit.*rows_in") as refused:
        ledger.add_override(run["run_id"], "123", action="exclude", reason="complained", by="analyst")
    assert refused.value.exit_code == 4 and "audit verify" in (refused.value.hint or "")
    assert _audit_rows(root) == before
    assert ledger.overrides(run["run_id"]) == [], "the transaction was rolled back"


def test_verify_rejects_a_status_change_the_toolkit_never_makes(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even a consistently chained record (the old laundering) of blocked -> awaiting_approval is named."""
    ws = sample_workspace
    root = ws.root
    run_id = _blocked_run(ws, capsys)
    ws.close()
    with sqlite3.connect(root / "ledger.sqlite") as db:
        db.execute("UPDATE runs SET status = 'awaiting_approval' WHERE run_id = ?", (run_id,))
        # what the toolkit's append did before it guarded the row: chain the edited row as it is
        audit.append(db, "run", run_id, audit.run_content(_rows(db), run_id), now())

    code, report = _cli(capsys, "audit", "verify", "--workspace", str(root))
    assert code == 4
    assert any(f"run {run_id} went from blocked to awaiting_approval" in p for p in report["problems"]), report


def _rows(db: sqlite3.Connection) -> sqlite3.Connection:
    db.row_factory = sqlite3.Row
    return db


def test_run_and_export_refuse_a_ledger_that_fails_verification(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    root = ws.root
    code, first = _cli(capsys, "run", "--approve", "--workspace", str(root))
    assert code == 0
    code, second = _cli(capsys, "run", "--workspace", str(root))
    assert code == 0
    ws.close()
    _shell(root, "UPDATE runs SET export_rows = export_rows + 1 WHERE run_id = ?", first["run_id"])
    runs_before = len(Workspace.open(root).ledger.runs())

    code, refused_run = _cli(capsys, "run", "--workspace", str(root))
    assert code == 4 and "export_rows" in refused_run["error"] and "audit verify" in refused_run["hint"], refused_run
    assert len(Workspace.open(root).ledger.runs()) == runs_before, "no run was started"

    exports_before = sorted(p.name for p in (root / "exports").iterdir())
    code, refused_export = _cli(capsys, "export", second["run_id"], "--workspace", str(root))
    assert code == 4 and "changed outside the toolkit" in refused_export["error"], refused_export
    assert sorted(p.name for p in (root / "exports").iterdir()) == exports_before
    assert Workspace.open(root).ledger.run(second["run_id"]).status == "awaiting_approval"


# -- a malicious model ---------------------------------------------------------


class _Marker:
    """A pickle that creates a file when it is loaded: the proof that it was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _replace_model_and_its_row(ws: Workspace, marker: Path) -> Path:
    """Swap the active model for a malicious pickle and make the file, the sidecar and the models row agree."""
    record = ws.ledger.active_model("logistic")
    path = ws.root / record.path
    path.write_bytes(pickle.dumps(_Marker(marker)))
    sha = sha256_of(path)
    sidecar = json.loads(sidecar_path(path).read_text())
    sidecar_path(path).write_text(json.dumps({**sidecar, "sha256": sha}))
    ws.close()
    _shell(ws.root, "UPDATE models SET sha256 = ? WHERE model_id = ?", sha, record.model_id)
    return path


def test_a_replaced_model_with_a_forged_ledger_row_is_never_unpickled(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = sample_workspace
    marker = tmp_path / "unpickled"
    path = _replace_model_and_its_row(ws, marker)
    root = ws.root

    code, refused = _cli(capsys, "run", "--workspace", str(root))
    assert code == 4, refused
    code, whatif = _cli(capsys, "whatif", "--shift", "fund_change_4w=+5", "--workspace", str(root))
    assert code == 4 and "model" in whatif["error"], whatif
    assert not marker.exists(), "the malicious model was unpickled"

    # the one load path every caller (run, replay, what-if, simulate, the UI) goes through
    fresh = Workspace.open(root)
    record = fresh.ledger.active_model("logistic")
    with pytest.raises(BadInput, match="changed outside the toolkit"):
        load_model(path, models_dir=fresh.models_dir, expected_sha256=record.sha256)
    assert not marker.exists(), "the malicious model was unpickled"


# -- a deleted ledger ----------------------------------------------------------


def test_a_deleted_ledger_is_not_recreated_beside_earlier_runs(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    root = ws.root
    code, _ = _cli(capsys, "run", "--approve", "--workspace", str(root))
    assert code == 0
    ws.close()
    for name in ("ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"):
        (root / name).unlink(missing_ok=True)

    for command in (["audit", "verify"], ["run"], ["runs"]):
        code, refused = _cli(capsys, *command, "--workspace", str(root))
        assert code == 4, (command, refused)
        assert "ledger is missing" in refused["error"] and "backup" in refused["hint"], refused
        assert not (root / "ledger.sqlite").exists(), f"`{' '.join(command)}` created a new ledger"


# -- hand edits and forged sign-offs ---------------------------------------------


def test_an_approval_typed_into_governance_toml_is_recorded_as_a_hand_edit(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    register = ws.root / "governance.toml"
    text = register.read_text()
    start = text.index("[features.savings_balance]")
    line = next(part for part in text[start:].splitlines() if part.startswith("approved_by"))
    register.write_text(text[:start] + text[start:].replace(line, 'approved_by = "C. Compliance"', 1))

    code, _ = _cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0
    changes = Workspace.open(ws.root).ledger.config_changes()
    hand = [c for c in changes if c["key"] == "data_use.savings_balance"]
    assert len(hand) == 1, changes
    assert hand[0]["changed_by"] == "unknown (governance.toml edited by hand)"
    assert hand[0]["new_value"]["approved_by"] == "C. Compliance" and hand[0]["old_value"]["approved_by"] != "C. Compliance"
    assert hand[0]["reason"] == "noticed by test-operator"

    # through the toolkit: recorded once, by name, and not again as a hand edit
    code, _ = _cli(capsys, "govern", "approve", "n_products", "--by", "J. Jansen", "--workspace", str(ws.root))
    assert code == 0
    code, _ = _cli(capsys, "run", "--again", "--workspace", str(ws.root))
    assert code == 0
    changes = Workspace.open(ws.root).ledger.config_changes()
    assert [c["changed_by"] for c in changes if c["key"] == "data_use.n_products"] == ["test-operator"]
    assert Workspace.open(ws.root).ledger.verify().ok


def test_a_configuration_state_added_by_hand_cannot_hide_an_edit_of_nba_toml(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    root = ws.root
    ws.config_path.write_text(ws.config_path.read_text().replace("cooldown_weeks = 4", "cooldown_weeks = 1"))
    edited = json.loads(json.dumps(ws.config.to_dict(), sort_keys=True))
    ws.close()
    _shell(
        root,
        "INSERT INTO config_state (recorded_at, sha256, config) VALUES (?, ?, ?)",
        now(),
        sha256_of(root / "nba.toml"),
        json.dumps(edited, sort_keys=True),
    )

    code, refused = _cli(capsys, "run", "--workspace", str(root))
    assert code == 4 and "configuration files" in refused["error"] and "no audit record" in refused["error"], refused
    assert Workspace.open(root).ledger.runs() == []


def test_a_profile_changed_after_its_run_is_reported_and_not_the_yardstick(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, first = _cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0
    profile = ws.run_dir(first["run_id"]) / "profile.json"
    assert Workspace.open(ws.root).ledger.run(first["run_id"]).profile_sha256 == sha256_of(profile)
    # next week's yardstick in other units: a thousand times smaller, so this week's data looks like a unit change
    stats = json.loads(profile.read_text())
    for column in stats.values():
        column["median"] = column["median"] / 1000 if column["median"] else column["median"]
        column["p99"] = column["p99"] / 1000 if column["p99"] else column["p99"]
    profile.write_text(json.dumps(stats))

    code, second = _cli(capsys, "run", "--again", "--workspace", str(ws.root))
    assert code == 0, second
    unit = next(c for c in second["checks"] if c["check"] == "unit_jump")
    assert f"profile of run {first['run_id']} was changed after the run" in unit["message"], unit
