"""Review that is recorded: what the operator looked at is kept with the run, shown at export and in the evidence
pack, and a weekly run nobody reviewed is exported only when the configuration allows it (and marked so)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.jobs.retention import purge
from nba_toolkit.workspace import Workspace


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def text_of(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def require_review(ws: Workspace) -> None:
    """A real bank's workspace: the sample's allowance of unreviewed exports switched off."""
    toml = ws.config_path.read_text(encoding="utf-8")
    assert "allow_unreviewed_export = true" in toml
    ws.config_path.write_text(toml.replace("allow_unreviewed_export = true", "allow_unreviewed_export = false"), "utf-8")


def run_week(capsys: pytest.CaptureFixture[str], ws: Workspace) -> str:
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    return run["run_id"]


def reviews(ws: Workspace) -> list[tuple]:
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        return db.execute("SELECT run_id, reviewed_by, face, customers, pages FROM reviews ORDER BY id").fetchall()


def a_customer(capsys: pytest.CaptureFixture[str], ws: Workspace, run_id: str) -> str:
    code, review = cli(capsys, "review", run_id, "--top", "1", "--workspace", str(ws.root))
    assert code == 0, review
    return review["customers"][0]["customer_id"]


def test_export_of_a_run_nobody_reviewed_is_refused(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    require_review(ws)
    run_id = run_week(capsys, ws)

    code, out = text_of(capsys, "export", run_id, "--workspace", str(ws.root))
    assert code == 2, out
    assert f"nobody has reviewed run {run_id} yet" in out
    assert "allow_unreviewed_export" in out
    assert not list(ws.exports_dir.iterdir()), "nothing left"

    code, out = text_of(capsys, "run", "--approve", "--again", "--workspace", str(ws.root))
    assert code == 2 and "nobody has reviewed run" in out, "the scheduled path needs the key too"


def test_a_look_from_the_command_line_is_recorded_and_shown_at_export(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    require_review(ws)
    run_id = run_week(capsys, ws)
    customer = a_customer(capsys, ws, run_id)
    code, _ = cli(capsys, "customer", run_id, customer, "--workspace", str(ws.root))
    assert code == 0

    assert reviews(ws) == [
        (run_id, "test-operator", "the command line", "[]", '["all 1"]'),
        (run_id, "test-operator", "the command line", json.dumps([customer]), "[]"),
    ]
    code, export = cli(capsys, "export", run_id, "--workspace", str(ws.root))
    assert code == 0, export
    assert export["review"] == {
        "reviewed": True,
        "reviewers": ["test-operator"],
        "sessions": 2,
        "customers_opened": 1,
        "pages_seen": 1,
        "seconds": 0,
    }
    code, runs = cli(capsys, "runs", "--workspace", str(ws.root))
    assert [r["unreviewed_export"] for r in runs["runs"]] == [None]
    code, out = text_of(capsys, "audit", "verify", "--workspace", str(ws.root))
    assert code == 0, out


def test_the_text_export_says_who_reviewed(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    run_id = run_week(capsys, ws)
    customer = a_customer(capsys, ws, run_id)
    main(["customer", run_id, customer, "--workspace", str(ws.root)])

    code, out = text_of(capsys, "export", run_id, "--workspace", str(ws.root))
    assert code == 0, out
    assert "Reviewed by test-operator: 1 customer opened, 1 page of the list seen, 0 seconds on the list" in out


def test_an_allowed_unreviewed_export_is_marked_in_runs_status_and_evidence(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = sample_workspace  # the sample allows it, as a scheduled job would
    run_id = run_week(capsys, ws)

    code, out = text_of(capsys, "export", run_id, "--workspace", str(ws.root))
    assert code == 0, out
    assert "Marked unreviewed: no review recorded" in out
    code, runs = cli(capsys, "runs", "--workspace", str(ws.root))
    assert [r["unreviewed_export"] for r in runs["runs"]] == [1]
    code, out = text_of(capsys, "runs", "--workspace", str(ws.root))
    assert "(unreviewed)" in out
    code, status = cli(capsys, "status", "--week", "2026-W47", "--workspace", str(ws.root))
    assert "unreviewed" in status["text"], status

    code, _ = cli(capsys, "evidence", run_id, "--out", str(tmp_path / "pack"), "--workspace", str(ws.root))
    assert code == 0
    review = json.loads((tmp_path / "pack" / "review.json").read_text(encoding="utf-8"))
    assert review["exported_unreviewed"] is True
    assert review["looked_at"]["reviewed"] is False
    assert "exported unreviewed" in (tmp_path / "pack" / "README.md").read_text(encoding="utf-8")
    code, out = text_of(capsys, "audit", "verify", "--workspace", str(ws.root))
    assert code == 0, out


def test_the_evidence_pack_counts_what_was_looked_at_without_relation_numbers(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = sample_workspace
    run_id = run_week(capsys, ws)
    customer = a_customer(capsys, ws, run_id)
    main(["customer", run_id, customer, "--workspace", str(ws.root)])

    code, _ = cli(capsys, "evidence", run_id, "--out", str(tmp_path / "pack"), "--workspace", str(ws.root))
    assert code == 0
    text = (tmp_path / "pack" / "review.json").read_text(encoding="utf-8")
    review = json.loads(text)
    assert review["looked_at"]["customers_opened"] == 1
    assert [s["customers_opened"] for s in review["review_sessions"]] == [0, 1]
    assert customer not in text
    assert "Review: reviewed by test-operator" in (tmp_path / "pack" / "README.md").read_text(encoding="utf-8")


def test_a_read_only_look_records_nothing_and_does_not_fail(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_id = run_week(capsys, ws)
    before = reviews(ws)
    code, out = text_of(capsys, "review", run_id, "--read-only", "--workspace", str(ws.root))
    assert code == 0, out
    code, out = text_of(capsys, "customer", run_id, "1", "--read-only", "--workspace", str(ws.root))
    assert code in (0, 4), out
    assert reviews(ws) == before


def test_a_review_row_edited_by_hand_is_found_by_audit_verify(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_id = run_week(capsys, ws)
    a_customer(capsys, ws, run_id)
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        db.execute("UPDATE reviews SET seconds = 3600")
    code, out = text_of(capsys, "audit", "verify", "--workspace", str(ws.root))
    assert code != 0
    assert f"run {run_id} differs from its audit record" in out


def test_a_flag_from_last_week_is_shown_by_the_command_line_review_next_week(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], later_week
) -> None:
    ws = sample_workspace
    run_id = run_week(capsys, ws)
    code, review = cli(capsys, "review", run_id, "--view", "below_threshold", "--top", "1", "--workspace", str(ws.root))
    customer = review["customers"][0]["customer_id"]  # not mailed, so next week's list has them again
    assert main(["flag", run_id, customer, "--reason", "balance jumped overnight", "--workspace", str(ws.root)]) == 0
    assert main(["export", run_id, "--workspace", str(ws.root)]) == 0
    later_week(ws, "2026-W48", "2026-11-23")
    assert main(["run", "--week", "2026-W48", "--workspace", str(ws.root)]) == 0

    code, shown = cli(capsys, "customer", "2026-W48.1", customer, "--workspace", str(ws.root))
    assert code == 0
    assert f"Flagged in run {run_id} (2026-W47) by test-operator" in shown["why"]
    assert "balance jumped overnight" in shown["why"]
    code, review = cli(capsys, "review", "2026-W48.1", "--view", "below_threshold", "--top", "1", "--workspace", str(ws.root))
    assert review["customers"][0]["customer_id"] == customer
    assert review["customers"][0]["override"] == "flagged before"
    code, earlier = cli(capsys, "customer", run_id, customer, "--workspace", str(ws.root))
    assert "Flagged in run" not in earlier["why"], "a week's own flag is not repeated as an earlier one"


def test_retention_removes_the_relation_numbers_a_review_opened(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_id = run_week(capsys, ws)
    main(["customer", run_id, a_customer(capsys, ws, run_id), "--workspace", str(ws.root)])
    assert main(["export", run_id, "--workspace", str(ws.root)]) == 0

    later = datetime.now(UTC) + timedelta(days=ws.config.retention.run_data_days + 1)
    assert purge(ws, now=later).runs == [run_id]

    assert [customers for _, _, _, customers, _ in reviews(ws)] == ["[]", "[]"]
    assert ws.ledger.verify().ok, ws.ledger.verify().problems
