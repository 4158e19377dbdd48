"""The example plugins in the repository's plugins/ folder, used as an operator would: copied into a workspace."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "plugins"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def install(ws: Workspace, *names: str) -> None:
    for name in names:
        shutil.copy2(EXAMPLES / name, ws.root / "plugins" / name)


def eligible_customers(ws: Workspace, capsys: pytest.CaptureFixture[str], count: int) -> list[str]:
    """Customers a plain run finds eligible (scored), so a complaint is what keeps them out."""
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    selection = pl.read_parquet(ws.run_dir(run["run_id"]) / "selection.parquet")
    return selection.filter(pl.col("exclusion").is_null())["customer_id"].cast(pl.String).head(count).to_list()


def test_complaint_rule_keeps_recent_complainers_out_with_its_own_reason(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    recent, old = eligible_customers(ws, capsys, 2)
    install(ws, "recent_complaints.py")
    # the register as a warehouse extract would have it: the bank's column name, ';', a date 3 weeks back
    (ws.root / "data" / "complaints.csv").write_text(
        f"RELATION_NO;COMPLAINT_DATE\n{recent};2026-10-27\n{old};2025-06-02\n", encoding="utf-8"
    )
    code, run = cli(capsys, "run", "--again", "--workspace", str(ws.root), "--week", "2026-W47")
    assert code == 0, run
    assert run["counts"]["excluded_rule_recent_complaint"] == 1
    assert sum(run["counts"].values()) == run["rows_in"]
    selection = pl.read_parquet(ws.run_dir(run["run_id"]) / "selection.parquet").with_columns(
        pl.col("customer_id").cast(pl.String)
    )
    reasons = dict(selection.select("customer_id", "reason").iter_rows())
    assert reasons[recent] == "excluded_rule_recent_complaint"
    assert reasons[old] != "excluded_rule_recent_complaint"
    assert selection.filter(pl.col("customer_id") == recent)["score"].item() is None  # never scored


def test_complaint_rule_without_its_register_stops_the_run_and_names_itself(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    install(ws, "recent_complaints.py")
    code, result = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 5
    assert "recent_complaint" in result["error"] and "complaints.csv" in result["error"]
    [record] = ws.ledger.runs()
    assert record.status == "failed"
    assert list(ws.exports_dir.iterdir()) == []
    # switched off, the week runs again
    ws.config_path.write_text(
        ws.config_path.read_text().replace("disabled = []", 'disabled = ["recent_complaints"]'), encoding="utf-8"
    )
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0 and "excluded_rule_recent_complaint" not in run["counts"]


def test_analysis_export_has_everyone_with_features_and_flags_and_is_never_the_mail_file(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    flagged = pl.read_parquet(ws.run_dir(run["run_id"]) / "selection.parquet")["customer_id"][0]
    ws.ledger.add_override(run["run_id"], str(flagged), action="flag", reason="looks odd", by="analyst")

    code, result = cli(capsys, "analysis", run["run_id"], "--workspace", str(ws.root))
    assert code == 0, result
    path = Path(result["path"])
    assert path.parent == ws.root / "analysis" and stat.S_IMODE(path.stat().st_mode) == 0o600
    frame = pl.read_csv(path, separator=";", decimal_comma=True, infer_schema_length=None, encoding="utf8")
    assert frame.height == run["rows_in"] == result["rows"]
    assert {"reason", "score", "savings_balance", "feature_engagement", "operator_action"} <= set(frame.columns)
    assert dict(frame.group_by("reason").len().iter_rows()) == {k: v for k, v in run["counts"].items() if v}
    assert frame.filter(pl.col("customer_id") == flagged)["operator_reason"].item() == "looks odd"
    assert list(ws.exports_dir.iterdir()) == []

    # configured as the mail exporter, it is refused by name and nothing leaves
    ws.config_path.write_text(
        ws.config_path.read_text().replace('exporter = "mail_csv"', 'exporter = "analysis_csv"'), encoding="utf-8"
    )
    code, refused = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 5
    assert "analysis exporter" in refused["error"] and "mail" in refused["error"]
    assert list(ws.exports_dir.iterdir()) == []
    assert Workspace.open(ws.root).ledger.run(run["run_id"]).status == "awaiting_approval"


def test_baseline_engine_trains_and_runs_a_week(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    install(ws, "baseline_rules.py")
    ws.config_path.write_text(
        ws.config_path.read_text().replace('name = "logistic"', 'name = "baseline_rules"'), encoding="utf-8"
    )
    code, trained = cli(capsys, "train", "--workspace", str(ws.root))
    assert code == 0, trained
    assert trained["engine"] == "baseline_rules"
    # a points card ranks worse than the model, but better than chance
    assert 0.55 < trained["metrics"]["out_of_time"]["auc"] < 0.9
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    record = Workspace.open(ws.root).ledger.run(run["run_id"])
    assert (record.engine, record.engine_version) == ("baseline_rules", "1.0.0")
    assert record.plugins["baseline_rules"] == "1.0.0"
