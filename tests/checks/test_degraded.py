"""Degraded runs: optional engine inputs are filled in as declared and counted; critical ones never are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.degraded import critical_inputs, impute, loading_schema
from nba_toolkit.core.engine import imputation_problems
from nba_toolkit.default_plugins.logistic_engine import LogisticEngine
from nba_toolkit.errors import BadInput, PluginError
from nba_toolkit.paths import sample_data_dir
from nba_toolkit.workspace import Workspace

WEEK = "2026-W47"


def sample_extract() -> pl.DataFrame:
    """The sample week's extract as text, so edits keep its dialect (``;``, decimal commas)."""
    return pl.read_csv(sample_data_dir() / "snapshots" / f"{WEEK}.csv", separator=";", infer_schema=False, encoding="utf8-lossy")


def write_extract(frame: pl.DataFrame, folder: Path) -> Path:
    path = folder / f"{WEEK}.csv"
    frame.write_csv(path, separator=";")
    return path


def blank(frame: pl.DataFrame, column: str, rows: int) -> pl.DataFrame:
    """The first ``rows`` values of ``column`` emptied, as a warehouse extract would leave them."""
    index = pl.int_range(pl.len())
    return frame.with_columns(pl.when(index >= rows).then(pl.col(column)).alias(column))


def run(capsys: pytest.CaptureFixture[str], ws: Workspace, path: Path, *, json_mode: bool) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["run", "--again", "--workspace", str(ws.root), "--snapshot", str(path), *(["--json"] if json_mode else [])])
    return code, capsys.readouterr().out


def drift_as_warning(ws: Workspace) -> None:
    """A stand-in for a whole column moves a feature far from training; the operator chose to treat that as a warning."""
    with (ws.root / "nba.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[checks.feature_drift]\nseverity = "warn"\n')


# ------------------------------------------------------------------ whole runs


def test_the_sample_week_is_not_degraded(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    path = sample_data_dir() / "snapshots" / f"{WEEK}.csv"
    code, out = run(capsys, sample_workspace, path, json_mode=True)
    result = json.loads(out)
    assert code == 0 and result["status"] == "awaiting_approval"
    assert result["degraded"] == {}
    assert sample_workspace.ledger.run(result["run_id"]).degraded == {}
    assert any(c["check"] == "critical_inputs" and c["status"] == "pass" for c in result["checks"])
    code, out = run(capsys, sample_workspace, path, json_mode=False)
    assert code == 0 and "Degraded" not in out


def test_missing_optional_column_runs_degraded(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    drift_as_warning(ws)
    path = write_extract(sample_extract().drop("IB_LOGINS_M"), tmp_path)
    code, out = run(capsys, ws, path, json_mode=True)
    result = json.loads(out)
    assert code == 0 and result["status"] == "awaiting_approval"
    expected = {"missing_from_file": True, "imputed_rows": 20_000, "value": 6, "how": "declared"}
    assert result["degraded"] == {"logins_per_month": expected}
    assert ws.ledger.run(result["run_id"]).degraded == {"logins_per_month": expected}

    code, out = run(capsys, ws, path, json_mode=False)
    text = " ".join(out.split())
    assert code == 0 and "Degraded run" in text
    assert "logins_per_month was missing from the snapshot for 20,000 customers and set to 6" in text
    assert "(the engine's declared default)" in text


def test_empty_optional_values_are_filled_and_counted(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    path = write_extract(blank(sample_extract(), "APP_USER", 700), tmp_path)
    code, out = run(capsys, ws, path, json_mode=True)
    result = json.loads(out)
    assert code == 0, result
    expected = {"app_installed": {"missing_from_file": False, "imputed_rows": 700, "value": True, "how": "declared"}}
    assert result["degraded"] == expected
    record = ws.ledger.run(result["run_id"])
    assert record.degraded == expected
    assert not any(c.status == "fail" for c in ws.ledger.check_results(result["run_id"]) if c.check_name == "null_rate")


def test_missing_critical_column_is_refused_by_name(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_extract(sample_extract().drop("SAVINGS_BAL"), tmp_path)
    code, out = run(capsys, sample_workspace, path, json_mode=True)
    result = json.loads(out)
    assert code == 4
    assert "SAVINGS_BAL" in result["error"] and "savings_balance" in result["error"]
    assert not list(sample_workspace.exports_dir.iterdir())


def test_empty_critical_values_block_the_run(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    path = write_extract(blank(sample_extract(), "CURRENT_BAL", 3), tmp_path)
    code, out = run(capsys, ws, path, json_mode=True)
    result = json.loads(out)
    assert code == 3
    run_id = ws.ledger.runs()[0].run_id
    assert ws.ledger.run(run_id).status == "blocked"
    stored = {c.check_name: c for c in ws.ledger.check_results(run_id)}
    assert stored["critical_inputs"].status == "fail"
    assert "'current_balance' (empty for 3 customers)" in stored["critical_inputs"].message
    assert stored["critical_inputs"].affected_count == 3
    assert "critical_inputs" in result["error"]
    assert not list(ws.exports_dir.iterdir())


# ------------------------------------------------------------------ the pieces


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "savings_balance": [10.0, 20.0, None, 40.0],
            "logins_per_month": [2, None, 8, 30],
        }
    )


class Engine:
    name = "tiny"
    required_columns = {"savings_balance": "float", "logins_per_month": "int"}
    optional_columns = {"logins_per_month": "median"}


def test_median_stand_in_comes_from_this_snapshot() -> None:
    filled, degraded = impute(frame(), Engine(), path=Path("week.csv"))
    assert filled["logins_per_month"].to_list() == [2, 8, 8, 30]
    assert degraded == {"logins_per_month": {"missing_from_file": False, "imputed_rows": 1, "value": 8, "how": "median"}}


def test_median_of_nothing_is_bad_input() -> None:
    with pytest.raises(BadInput, match="logins_per_month"):
        impute(frame().drop("logins_per_month"), Engine(), path=Path("week.csv"))


def test_optional_columns_are_not_required_from_the_file() -> None:
    required = {"customer_id": "id", **LogisticEngine().required_columns}
    must, may = loading_schema(required, LogisticEngine())
    assert "logins_per_month" not in must and "app_installed" not in must
    assert must["savings_balance"] == "float"
    assert may == {"logins_per_month": "float", "app_installed": "bool"}


def test_critical_check_passes_without_empty_critical_values() -> None:
    assert critical_inputs(frame().drop_nulls("savings_balance"), Engine()).passed
    failed = critical_inputs(frame(), Engine())
    assert not failed.passed and failed.severity == "block" and failed.affected_sample == (3,)


@pytest.mark.parametrize(
    ("optional", "problem"),
    [
        ({"postcode": 0}, "not in required_columns"),
        ({"logins_per_month": "many"}, "not a int value"),
        ({"logins_per_month": True}, "not a int value"),
        ({"savings_balance": 1.5, "logins_per_month": 0}, None),
    ],
)
def test_declarations_are_validated(optional: dict, problem: str | None) -> None:
    engine = Engine()
    engine.optional_columns = optional
    found = imputation_problems(engine)
    assert (problem is None and not found) or (problem is not None and problem in found[0])


def test_a_wrong_declaration_is_a_plugin_error() -> None:
    engine = Engine()
    engine.optional_columns = {"age": 3}
    with pytest.raises(PluginError, match="'age' is not in required_columns"):
        impute(frame(), engine, path=Path("week.csv"))


def test_default_engine_refuses_empty_critical_features() -> None:
    engine = LogisticEngine()
    features = pl.DataFrame(
        {name: [1.0, None] for name in ("savings_balance", "current_balance", "engagement", "products_held")}
        | {"fund_change_1w": [0.1, 0.1], "fund_change_4w": [0.2, 0.2], "age_band": ["25-34", "25-34"]}
    )
    with pytest.raises(BadInput, match="'Savings balance' is empty for 1 customers"):
        engine.fit(features, np.array([0, 1]), seed=0)
