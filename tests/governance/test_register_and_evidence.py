"""The data-use register, the model card and the evidence pack, on the sample workspace."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.governance import read_register, unapproved
from nba_toolkit.workspace import Workspace, init_workspace


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_new_workspace_lists_every_data_use_unapproved(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    register = read_register(ws.root)
    assert {"savings_balance", "marketing_consent", "customer_id"} <= set(register)
    assert unapproved(ws.root, ["savings_balance", "age_band"]) == ["savings_balance", "age_band"]
    assert all(entry.purpose for entry in register.values())


def test_approval_is_written_and_recorded_in_the_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = init_workspace(tmp_path / "ws")
    code, result = _json(
        capsys,
        "govern",
        "approve",
        "savings_balance",
        "--by",
        "C. Compliance",
        "--source",
        "DWH savings mart",
        "--workspace",
        str(ws.root),
    )
    assert code == 0
    assert result["after"]["approved_by"] == "C. Compliance" and result["before"]["approved_by"] == ""
    assert unapproved(ws.root, ["savings_balance", "age_band"]) == ["age_band"]
    change = ws.ledger.config_changes()[0]
    assert change["key"] == "data_use.savings_balance" and change["new_value"]["source"] == "DWH savings mart"
    assert ws.ledger.verify().ok
    code, listing = _json(capsys, "govern", "list", "--workspace", str(ws.root))
    approved = {f["feature"] for f in listing["features"] if f["approved_by"]}
    assert approved == {"savings_balance"}


def test_model_card_is_filled_with_measured_facts(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, card = _json(capsys, "model", "card", "--workspace", str(sample_workspace.root))
    assert code == 0
    text = card["markdown"]
    for heading in (
        "## Purpose",
        "## Features",
        "## Data used",
        "## Data deliberately left out",
        "## Training",
        "## Out-of-time performance",
        "## Known weaknesses",
        "## When not to use it",
    ):
        assert heading in text
    assert "AUC 0." in text and "Calibration by score decile" in text
    assert "gender" in text and "postcode" in text
    assert "`fund_change_4w` outside" in text
    model = next(sample_workspace.models_dir.glob("*.joblib"))
    assert hashlib.sha256(model.read_bytes()).hexdigest() in text


def test_evidence_pack_describes_an_exported_run(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, run = _json(capsys, "run", "--approve", "--workspace", str(ws.root))
    assert code == 0
    out = tmp_path / "evidence"
    code, pack = _json(capsys, "evidence", run["run_id"], "--out", str(out), "--workspace", str(ws.root))
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    for name, sha in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == sha
    inputs = json.loads((out / "inputs.json").read_text())
    assert inputs["snapshot"]["now"] == inputs["export"]["now"] == inputs["model"]["now"] == "matches"
    assert json.loads((out / "audit.json").read_text())["ok"] is True
    assert "## Out-of-time performance" in (out / "model_card.md").read_text()
    readme = (out / "README.md").read_text()
    assert run["run_id"] in readme and "exported" in readme
    # a second pack into the same folder is refused rather than mixed
    code, again = _json(capsys, "evidence", run["run_id"], "--out", str(out), "--workspace", str(ws.root))
    assert code == 2 and "not empty" in again["error"]


def test_unapproved_data_blocks_the_run_until_approved(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    register = (ws.root / "governance.toml").read_text(encoding="utf-8")
    start = register.index("[features.logins_per_month]")
    end = register.index("[features.", start + 1)
    block = register[start:end]
    withdrawn = "\n".join(
        line.split("=")[0] + '= ""' if line.startswith(("approved_by", "approved_on")) else line for line in block.splitlines()
    )
    (ws.root / "governance.toml").write_text(register.replace(block, withdrawn + "\n"), encoding="utf-8")

    code, blocked = _json(capsys, "run", "--workspace", str(ws.root))
    assert code == 3
    [result] = [c for c in blocked["checks"] if c["check"] == "data_use"]
    assert result["status"] == "fail" and "logins_per_month" in result["message"]
    assert ws.ledger.run(blocked["run_id"]).status == "blocked"
    assert ws.ledger.run(blocked["run_id"]).selection_path is None, "nothing was scored"

    code, _ = _json(capsys, "govern", "approve", "logins_per_month", "--by", "C. Compliance", "--workspace", str(ws.root))
    assert code == 0
    code, run = _json(capsys, "run", "--workspace", str(ws.root))
    assert code == 0 and run["status"] == "awaiting_approval"
    assert any(c["check"] == "data_use" and c["status"] == "pass" for c in run["checks"])
    assert any(change["key"] == "data_use.logins_per_month" for change in ws.ledger.config_changes())
