"""The sample workspace's engine as nba.toml declares it: edits to [features] are followed, or refused, end to end."""

from __future__ import annotations

import json
import re

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

AGE_BAND_COLUMN = 'column = "age_band"'


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def edit(ws: Workspace, old: str, new: str) -> None:
    path = ws.root / "nba.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def check(run: dict, name: str) -> dict:
    return next(c for c in run["checks"] if c["check"] == name)


def test_the_sample_nba_toml_declares_the_engine_it_runs(sample_workspace: Workspace) -> None:
    text = (sample_workspace.root / "nba.toml").read_text(encoding="utf-8")
    assert "[features.engagement]" in text and 'kind = "composite"' in text
    assert sample_workspace.config.features.labels["engagement"] == "Engagement (app, accounts, logins)"


def test_a_week_with_new_category_values_warns_and_counts_them(sample_workspace: Workspace, capsys) -> None:
    """Ages written as '70+' this week are not a band the model knows: scored as 'other', counted, a warning."""
    ws = sample_workspace
    path = ws.snapshots_dir / "2026-W47.csv"
    lines = path.read_bytes().decode("cp1252").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(";")
    at = header.index("AGE_BAND")
    changed = 0
    for i in range(1, len(lines)):
        fields = lines[i].split(";")
        if fields[at] == "65+" and changed < 1500:
            fields[at] = "70+"
            changed += 1
            lines[i] = ";".join(fields)
    path.write_bytes("".join(lines).encode("cp1252"))
    # a new value also moves the mix of age bands: here the drift check only warns, to reach the levels check
    with (ws.root / "nba.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[checks.feature_drift]\nseverity = "warn"\n')

    code, run = cli(capsys, "run", "--dry-run", "--workspace", str(ws.root))
    assert code == 0, run
    result = check(run, "category_levels")
    assert result["status"] == "fail" and result["severity"] == "warn", result
    assert "'Age band'" in result["message"] and "'70+'" in result["message"]
    # the changed customers without an investment account are counted, none else
    counted = int(re.search(r"'Age band' ([\d,]+) customers", result["message"]).group(1).replace(",", ""))
    assert 0.5 * changed < counted <= changed


def test_a_week_with_known_category_values_passes(sample_workspace: Workspace, capsys) -> None:
    code, run = cli(capsys, "run", "--dry-run", "--workspace", str(sample_workspace.root))
    assert code == 0, run
    result = check(run, "category_levels")
    assert result["status"] == "pass", result
    assert "Age band 0 (0.0%)" in result["message"]


def test_a_model_trained_on_other_features_refuses_to_score(sample_workspace: Workspace, capsys) -> None:
    """Changing how a feature is computed needs a new model; rewording its label does not."""
    ws = sample_workspace
    edit(ws, 'label = "Savings balance"', 'label = "Savings account balance"')
    code, run = cli(capsys, "run", "--dry-run", "--workspace", str(ws.root))
    assert code == 0, run

    edit(ws, 'column = "n_products"\nkind = "number"', 'column = "n_products"\nkind = "number"\nbands = [2, 4]')
    code, refused = cli(capsys, "run", "--dry-run", "--workspace", str(ws.root))
    assert code == 5, refused
    assert "the features declared in [features] in nba.toml changed since it was trained" in refused["error"]
    assert "Retrain with `nba-toolkit train`" in refused["hint"]


def test_a_category_mapped_from_the_wrong_column_is_refused_at_training(sample_workspace: Workspace, capsys) -> None:
    """Products held are numbers, not age bands: no value matches a band, so training stops instead of a constant."""
    ws = sample_workspace
    edit(ws, AGE_BAND_COLUMN, 'column = "n_products"')
    edit(ws, 'column = "n_products"\nkind = "number"', 'column = "n_products"\nkind = "category"')
    code, refused = cli(capsys, "train", "--workspace", str(ws.root))
    assert code == 4, refused
    assert "none of the training values of 'Age band' (column 'n_products'" in refused["error"]
