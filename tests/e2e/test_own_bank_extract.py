"""A bank's own extract, end to end, without a line of Python by the analyst.

The other bank (sample_data/other_bank.py) has its own column names and
kinds and no balances; its truth is known. The analyst proposes nba.toml from
the extract, edits it as text, has compliance approve the data, trains both
built-in models, runs, reviews a customer's explanation in the bank's own
feature names, exports and replays: every step through the command line
except the review lookup, which is the screen's own function.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.review import RunReview
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace

#: the labels the analyst's nba.toml gives the features, as every screen shows them
LABELS = {
    "AGE_YEARS": "Age years",
    "JOB": "Job",
    "MARITAL_STATUS": "Marital status",
    "EDUCATION": "Education",
    "HOUSING_LOAN": "Housing loan",
    "PERSONAL_LOAN": "Personal loan",
    "PREV_CONTACTS": "Prev contacts",
    "DAYS_SINCE_CONTACT": "Days since the last contact",
}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def edit(root: Path, change) -> None:
    """The analyst's text edit of nba.toml."""
    path = root / "nba.toml"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def analysts_edits(text: str) -> str:
    """Name the consent column the proposal could not find (and drop the feature it made of it), say no to the
    call duration, and make 999 ("never contacted") a level of its own with a plainer label."""
    text = text.replace('marketing_consent = ""', 'marketing_consent = "MAG_MAILEN"')
    text = re.sub(r"# MAG_MAILEN: .*?\n\n", "", text, flags=re.S)
    text = re.sub(r"\n# CALL_DURATION_SEC: .*", "\n", text, flags=re.S)
    return text.replace(
        'label = "Days since contact"\ncolumn = "DAYS_SINCE_CONTACT"\nkind = "number"',
        'label = "Days since the last contact"\ncolumn = "DAYS_SINCE_CONTACT"\nkind = "number"\nbands = [30, 999]',
    )


def approve_every_data_use(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, register = cli(capsys, "govern", "list", "--workspace", str(root))
    assert code == 0, register
    for entry in register["features"]:
        code, approved = cli(
            capsys,
            "govern",
            "approve",
            entry["feature"],
            "--by",
            "C. Officer (compliance)",
            "--purpose",
            entry["purpose"] or f"Rank customers by {entry['feature']}",
            "--known-by-snapshot",
            "yes",
            "--workspace",
            str(root),
        )
        assert code == 0, approved


def explanation_spread(root: Path, run_id: str, every: int = 25) -> dict[str, float]:
    """Per feature label, how much its contribution varies over every ``every``-th scored customer of the run.

    The spread, not the mean size: a contribution is measured against a
    reference customer (the average one, or the most common level), and a
    feature moves the scores by how much it varies between customers.
    """
    workspace = Workspace.open(root)
    try:
        review = RunReview.open(workspace, load_plugins(workspace.plugin_folders(), entry_points_enabled=False), run_id)
        page = review.page(0, limit=100_000)
        scored = [row["customer_id"] for row in page.rows if row["score"] is not None][::every]
        parts: dict[str, list[float]] = {}
        for customer in scored:
            explanation = review.explain(customer)
            assert explanation.problem is None, explanation.problem
            assert {label for label, _ in explanation.values} == set(LABELS.values())
            for label, part in explanation.contributions:
                parts.setdefault(label, []).append(part)
    finally:
        workspace.close()
    assert set(parts) == set(LABELS.values())
    return {label: float(np.std(values)) for label, values in parts.items()}


def assert_truth_recovered(training: dict, spread: dict[str, float], truth: dict) -> None:
    """Ranks well above chance within a week; the strongest true effect is among the features whose
    explanations vary most, and a column without any effect varies far less than it."""
    assert training["promoted"], training["checks"]
    assert training["metrics"]["out_of_time"]["auc_within_week"] > 0.65
    ranked = sorted(spread, key=spread.get, reverse=True)
    strongest = LABELS[truth["strongest"]]
    assert strongest in ranked[:2], spread
    assert spread[LABELS["MARITAL_STATUS"]] < spread[strongest] / 3, spread


def test_the_banks_own_extract_from_proposal_to_mail_file_and_replay(
    other_bank, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    capsys.readouterr()
    assert main(["init", str(root), "--from-extract", str(other_bank.extract)]) == 0
    edit(root, analysts_edits)
    for name in ("history.parquet", "outcomes.csv"):
        shutil.copy2(other_bank.folder / name, root / "data" / name)
    shutil.copy2(other_bank.extract, root / "data" / "snapshots" / other_bank.extract.name)
    code, shown = cli(capsys, "config", "show", "--workspace", str(root))
    assert code == 0, shown
    assert {table["label"] for table in shown["features"].values()} == set(LABELS.values())

    # training refuses data compliance has not confirmed as known on the snapshot date
    code, refused = cli(capsys, "train", "--workspace", str(root))
    assert code == 2 and "known on the snapshot date" in refused["error"]
    approve_every_data_use(capsys, root)
    # the analyst tries the other model kind on a copy, so each model's runs are compared with its own
    boosted = tmp_path / "ws-boosting"
    shutil.copytree(root, boosted)

    # the logistic regression: train, try it on this week's data, sign it off, run, review, export, replay
    code, logistic = cli(capsys, "train", "--workspace", str(root))
    assert code == 0, logistic
    code, acceptance = cli(capsys, "run", "--dry-run", "--workspace", str(root))
    assert code == 0, acceptance
    code, approved = cli(capsys, "model", "approve", "--workspace", str(root))
    assert code == 0, approved
    code, run = cli(capsys, "run", "--workspace", str(root))
    assert code == 0, run
    assert run["status"] == "awaiting_approval"
    assert set(run["dropped_columns"]) >= {"GENDER", "POSTCODE", "CALL_DURATION_SEC", "CONTRACT_NR"}
    assert_truth_recovered(logistic, explanation_spread(root, run["run_id"]), other_bank.truth)

    # nobody has reviewed the list yet: this workspace, unlike the sample, exports only a reviewed run
    code, refused = cli(capsys, "export", run["run_id"], "--workspace", str(root))
    assert code == 2 and "review" in refused["error"], refused
    code, listed = cli(capsys, "review", run["run_id"], "--top", "5", "--workspace", str(root))
    assert code == 0, listed
    code, looked = cli(capsys, "customer", run["run_id"], listed["customers"][0]["customer_id"], "--workspace", str(root))
    assert code == 0, looked
    shown = json.dumps(looked, ensure_ascii=False)
    assert all(label in shown for label in LABELS.values()), "the customer is explained in the bank's own words"
    code, export = cli(capsys, "export", run["run_id"], "--workspace", str(root))
    assert code == 0, export
    with Path(export["path"]).open(encoding="utf-8", newline="") as mail_file:
        rows = list(csv.DictReader(mail_file, delimiter=";"))
    assert len(rows) == export["rows"] == run["counts"]["selected_mailed"] + run["counts"]["random_control"] > 0
    assert list(rows[0]) == ["relation_number", "campaign_code", "group", "export_date"]
    code, replay = cli(capsys, "replay", run["run_id"], "--workspace", str(root))
    assert code == 0, replay
    assert replay["identical"] and replay["export_identical"]

    # rewording a label keeps the model; an edit of what a feature computes refuses it until retrained
    edit(root, lambda text: text.replace('label = "Age years"', 'label = "Age in years"'))
    code, reworded = cli(capsys, "run", "--dry-run", "--workspace", str(root))
    assert code == 0, reworded
    edit(root, lambda text: text.replace('label = "Age in years"', 'label = "Age in years"\nclip = [18, 90]'))
    code, refused = cli(capsys, "run", "--dry-run", "--workspace", str(root))
    assert code == 5 and "changed since it was trained" in refused["error"]
    edit(root, lambda text: text.replace('label = "Age in years"\nclip = [18, 90]', 'label = "Age years"'))

    # the gradient-boosting model on the same declared features, explained in the same names
    edit(boosted, lambda text: text.replace('name = "logistic"', 'name = "gradient_boosting"', 1))
    code, boosting = cli(capsys, "train", "--workspace", str(boosted))
    assert code == 0, boosting
    code, acceptance = cli(capsys, "run", "--dry-run", "--workspace", str(boosted))
    assert code == 0, acceptance
    assert_truth_recovered(boosting, explanation_spread(boosted, acceptance["run_id"]), other_bank.truth)
    code, replay = cli(capsys, "replay", acceptance["run_id"], "--workspace", str(boosted))
    assert code == 0, replay
    assert replay["identical"]
