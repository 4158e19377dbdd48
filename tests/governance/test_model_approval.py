"""A model mails nobody before acceptance runs and a recorded sign-off, by a second person if asked."""

from __future__ import annotations

import json

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_acceptance_run_then_four_eyes_approval_then_weekly_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sample_workspace
    toml = ws.config_path.read_text()
    toml = toml.replace("require_model_approval = false", "require_model_approval = true")
    toml = toml.replace("four_eyes = false", "four_eyes = true")
    ws.config_path.write_text(toml)
    root = str(ws.root)

    code, refused = _json(capsys, "run", "--workspace", root)
    assert code == 2 and "not approved" in refused["error"] and "--dry-run" in refused["hint"]
    assert Workspace.open(ws.root).ledger.runs() == [], "a refused run leaves no record"

    code, early = _json(capsys, "model", "approve", "--by", "Second Person", "--workspace", root)
    assert code == 2 and "0 acceptance run" in early["error"]

    code, dry = _json(capsys, "run", "--dry-run", "--workspace", root)
    assert code == 0 and dry["status"] == "awaiting_approval"
    assert dry["kind"] == "acceptance" and Workspace.open(ws.root).ledger.run(dry["run_id"]).kind == "acceptance"
    code, export = _json(capsys, "export", dry["run_id"], "--workspace", root)
    assert code == 2 and "never be exported" in export["error"]

    trainer = Workspace.open(ws.root).ledger.active_model("logistic").trained_by
    monkeypatch.setenv("NBA_TOOLKIT_USER", trainer)
    code, same_person = _json(capsys, "model", "approve", "--by", trainer.upper(), "--workspace", root)
    assert code == 2 and "four eyes" in same_person["error"]
    # --by is a note, not an identity: the trainer cannot sign off as someone else
    code, forged = _json(capsys, "model", "approve", "--by", "C. Compliance", "--workspace", root)
    assert code == 2 and "four eyes" in forged["error"]

    monkeypatch.setenv("NBA_TOOLKIT_USER", "second-person")
    # the sample model warns of a period key: nobody signs it off without acknowledging that, by name, with a note
    code, unread = _json(capsys, "model", "approve", "--by", "Second Person", "--workspace", root)
    assert code == 2 and "nobody acknowledged: period_key" in unread["error"]
    assert '--acknowledge period_key "why it is acceptable"' in unread["hint"]
    code, wrong = _json(capsys, "model", "approve", "--acknowledge", "auc_gap", "fine", "--workspace", root)
    assert code == 2 and "auc_gap is not a warning" in wrong["error"]
    reason = "the fund changes add nothing within a week; the market regime check guards them"
    code, approved = _json(
        capsys, "model", "approve", "--by", "Second Person", "--acknowledge", "period_key", reason, "--workspace", root
    )
    assert code == 0 and approved["approved_by"] == "second-person" and approved["note"] == "Second Person"
    assert approved["acknowledged"] == {"period_key": reason}
    assert {c["check"] for c in approved["checks"]} == {
        "ranking_floor",
        "period_key",
        "single_feature_auc",
        "out_of_time_auc",
        "auc_gap",
    }
    code, weekly = _json(capsys, "run", "--approve", "--workspace", root)
    assert code == 0 and weekly["status"] == "exported"

    ledger = Workspace.open(ws.root).ledger
    assert ledger.model(approved["model_id"]).approved_by == "second-person"
    assert [r.kind for r in sorted(ledger.runs(), key=lambda r: r.run_id)] == ["acceptance", "weekly"]
    assert ledger.verify().ok

    code, again = _json(capsys, "model", "approve", "--by", "Third Person", "--workspace", root)
    assert code == 2 and "already approved by second-person" in again["error"]
    assert ledger.model(approved["model_id"]).approval_acknowledged == {"period_key": reason}


def test_whoever_signs_off_sees_every_model_check(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """The plain approval prints each model check before it refuses or records anything; so does the card."""
    capsys.readouterr()
    assert main(["model", "approve", "--workspace", str(sample_workspace.root)]) == 2
    printed = capsys.readouterr().out
    assert "Model checks at training (5):" in printed
    for name in ("ranking_floor", "period_key", "single_feature_auc", "out_of_time_auc", "auc_gap"):
        assert name in printed
    card = next(sample_workspace.models_dir.glob("*.md")).read_text()
    assert "## Model checks at training" in card
    assert "**period_key** (warn, fail)" in card and "**ranking_floor** (block, pass)" in card


def test_model_card_file_is_written_at_training_with_the_owner(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    card = next(sample_workspace.models_dir.glob("*.md")).read_text()
    assert "## Data used, and its approval" in card and "`savings_balance`" in card
    toml = sample_workspace.config_path.read_text().replace('owner = ""', 'owner = "Marketing intelligence, A. Analyst"')
    sample_workspace.config_path.write_text(toml)
    code, printed = _json(capsys, "model", "card", "--workspace", str(sample_workspace.root))
    assert code == 0 and "Owner: Marketing intelligence, A. Analyst" in printed["markdown"]
    assert "not in the data-use register" not in printed["markdown"]
