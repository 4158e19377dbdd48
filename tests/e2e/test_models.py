"""Every model trained, listed with its weeks and figures; the reminder to retrain once the active one is old."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_every_model_is_listed_newest_first_with_its_weeks_and_figures(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(sample_workspace.root)
    code, first = cli(capsys, "model", "list", "--workspace", ws)
    assert code == 0 and len(first["models"]) == 1
    assert main(["train", "--workspace", ws, "--known-until", "2026-10-12", "--json"]) == 0
    code, listed = cli(capsys, "model", "list", "--workspace", ws)
    newest, older = listed["models"]
    assert older["model_id"] == first["models"][0]["model_id"]
    assert newest["active"] and newest["state"] == "active"  # the sample workspace needs no sign-off
    assert not older["active"] and older["state"] == "replaced"
    # the model trained on less history validated on earlier weeks
    assert newest["validation_weeks"][1] < older["validation_weeks"][1]
    for entry in (newest, older):
        assert entry["train_weeks"][0] < entry["train_weeks"][1] < entry["validation_weeks"][0]
        assert 0.5 < entry["auc_within_week"] < 1 and entry["lift_at_capacity"] > 1
        assert entry["age_days"] == 0
    capsys.readouterr()
    assert main(["model", "list", "--workspace", ws]) == 0
    shown = capsys.readouterr().out
    assert newest["model_id"] in shown and "replaced" in shown and "out of time" in shown


def test_no_model_yet_is_said_plainly(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "ws")]) == 0
    capsys.readouterr()
    assert main(["model", "list", "--workspace", str(tmp_path / "ws")]) == 0
    assert "No model trained yet" in capsys.readouterr().out


def test_status_reminds_to_retrain_once_the_model_is_old(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(sample_workspace.root)
    code, now = cli(capsys, "status", "--workspace", ws)
    assert code == 0 and now["model"]["retrain_due"] is False
    trained = date.fromisoformat(now["model"]["trained_at"][:10])
    later = trained + timedelta(days=120)
    week = f"{later.isocalendar().year}-W{later.isocalendar().week:02d}"
    code, old = cli(capsys, "status", "--workspace", ws, "--week", week)
    assert old["model"]["retrain_due"] is True and old["model"]["age_days"] >= 114
    capsys.readouterr()
    main(["status", "--workspace", ws, "--week", week])
    assert "time to retrain" in capsys.readouterr().out.replace("\n", " ")
    toml = sample_workspace.config_path.read_text(encoding="utf-8")
    sample_workspace.config_path.write_text(toml.replace("retrain_after_days = 91", "retrain_after_days = 0"), encoding="utf-8")
    code, off = cli(capsys, "status", "--workspace", ws, "--week", week)
    assert off["model"]["retrain_due"] is False, "0 switches the reminder off"


def test_the_list_says_whether_the_active_model_awaits_its_approval(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(sample_workspace.root)
    toml = sample_workspace.config_path.read_text(encoding="utf-8")
    assert "require_model_approval = false" in toml
    sample_workspace.config_path.write_text(
        toml.replace("require_model_approval = false", "require_model_approval = true"), encoding="utf-8"
    )
    code, listed = cli(capsys, "model", "list", "--workspace", ws)
    assert listed["models"][0]["state"] == "active, awaiting approval"
    assert main(["run", "--dry-run", "--workspace", ws]) == 0
    assert main(["model", "approve", "--workspace", ws, "--acknowledge", "period_key", "the market guard watches"]) == 0
    code, listed = cli(capsys, "model", "list", "--workspace", ws)
    assert listed["models"][0]["state"].startswith("active, approved by ")


def test_a_challenger_is_compared_on_the_same_weeks_and_promoted_on_record(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(sample_workspace.root)
    # the active model trained on the history known in early August; the challenger on all of it, validated on later weeks
    assert main(["train", "--workspace", ws, "--known-until", "2026-08-10", "--json"]) == 0
    code, trained = cli(capsys, "train", "--challenger", "--workspace", ws)
    assert code == 0 and trained["challenger"] and trained["promoted"]
    challenger = trained["model_id"]
    code, listed = cli(capsys, "model", "list", "--workspace", ws)
    states = {m["model_id"]: m["state"] for m in listed["models"]}
    active = next(m for m in listed["models"] if m["active"])
    assert states[challenger] == "challenger" and active["model_id"] != challenger
    code, run = cli(capsys, "run", "--dry-run", "--workspace", ws)
    assert code == 0 and sample_workspace.ledger.run(run["run_id"]).model_id == active["model_id"], "the active model scores"

    code, compared = cli(capsys, "model", "compare", active["model_id"], challenger, "--workspace", ws)
    assert code == 0
    older, newer = compared["models"]
    recorded = next(m for m in listed["models"] if m["model_id"] == challenger)
    assert tuple(compared["weeks"]) == tuple(recorded["validation_weeks"])
    # the challenger's figures are those of its out-of-time fit; the active model is scored on the same customers
    assert newer["auc_within_week"] == recorded["auc_within_week"] and newer["weeks_seen_in_training"] == 0
    assert older["weeks_seen_in_training"] == 0 and 0.5 < older["auc_within_week"] < 1
    assert older["auc_within_week"] != newer["auc_within_week"]
    assert older["auc_interval"][0] < older["auc_within_week"] < older["auc_interval"][1]
    assert "Not a fair comparison" not in compared["verdict"]
    capsys.readouterr()
    assert main(["model", "compare", active["model_id"], challenger, "--workspace", ws]) == 0
    shown = capsys.readouterr().out
    assert challenger in shown and "AUC within week" in shown and compared["verdict"][:30] in shown.replace("\n", " ")

    code, promoted = cli(capsys, "model", "promote", challenger, "--reason", "ranks better on the same weeks", "--workspace", ws)
    assert code == 0 and promoted["active"] and promoted["state"] == "active"
    assert promoted["promoted_by"] and promoted["promotion_reason"] == "ranks better on the same weeks"
    code, listed = cli(capsys, "model", "list", "--workspace", ws)
    assert {m["model_id"]: m["state"] for m in listed["models"]}[active["model_id"]] == "replaced"
    assert main(["audit", "verify", "--workspace", ws]) == 0, "the promotion is in the audit chain"
    code, run = cli(capsys, "run", "--dry-run", "--again", "--workspace", ws)
    assert code == 0 and sample_workspace.ledger.run(run["run_id"]).model_id == challenger
    assert main(["model", "promote", challenger, "--reason", "again", "--workspace", ws]) == 2


def test_a_comparison_on_weeks_one_model_trained_on_gives_no_verdict(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample's model saw every labelled week; a challenger validated on earlier weeks cannot be judged against it."""
    ws = str(sample_workspace.root)
    active = sample_workspace.ledger.active_model("logistic")
    assert active is not None
    code, trained = cli(capsys, "train", "--challenger", "--known-until", "2026-08-31", "--workspace", ws)
    assert code == 0
    code, compared = cli(capsys, "model", "compare", trained["model_id"], active.model_id, "--workspace", ws)
    assert code == 0
    seen = {m["model_id"]: m["weeks_seen_in_training"] for m in compared["models"]}
    assert seen[active.model_id] == compared["week_count"] > 0 and seen[trained["model_id"]] == 0
    assert compared["verdict"].startswith("Not a fair comparison")
    assert main(["model", "compare", active.model_id, active.model_id, "--workspace", ws]) == 2
    assert main(["model", "compare", active.model_id, "no-such-model", "--workspace", ws]) == 2


def test_a_challenger_needs_an_active_model(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "ws")]) == 0
    assert main(["train", "--challenger", "--workspace", str(tmp_path / "ws")]) == 2
    assert "Train the first model without --challenger" in capsys.readouterr().err.replace("\n", " ")
