"""The week's market figures against a second source: agree, disagree, or cannot be compared (which blocks too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from check_frames import context, snapshot

from nba_toolkit.cli import main
from nba_toolkit.default_plugins.input_checks import SecondSourceCheck
from nba_toolkit.workspace import Workspace

CHECK = SecondSourceCheck()


def _settings(file: Path, **more: object) -> dict:
    table = {"file": str(file), "week_column": "Week", "columns": {"fund_change_1w": "Fund 1w", "fund_change_4w": "Fund 4w"}}
    return {"checks": {"market_second_source": {**table, **more}}}


def _source(tmp_path: Path, rows: str, *, separator: str = ";") -> Path:
    path = tmp_path / "index.csv"
    path.write_text(separator.join(["Week", "Fund 1w", "Fund 4w"]) + "\n" + rows, encoding="utf-8")
    return path


def test_not_compared_without_a_second_source_says_so() -> None:
    found = CHECK.run(context(snapshot()))
    assert found.passed and found.severity == "info" and found.message.startswith("Not measured")


def test_a_bank_file_with_decimal_commas_and_other_names_agrees(tmp_path: Path) -> None:
    """Not the sample's file: semicolons, decimal commas, its own column names, other weeks around it."""
    source = _source(tmp_path, "2026-W46;0,37;3,13\n2026-W47;0,16;2,69\n2026-W48;-1,02;1,50\n")
    found = CHECK.run(context(snapshot(), toml=_settings(source, separator=";")))
    assert found.passed and found.severity == "block", found.message
    assert "fund_change_1w 0.16 (0.16 there)" in found.message and found.measured == pytest.approx(0.0)


def test_a_figure_that_differs_blocks_and_names_it(tmp_path: Path) -> None:
    source = _source(tmp_path, "2026-W47;0,61;2,69\n")
    frame = snapshot(n=500)
    found = CHECK.run(context(frame, toml=_settings(source, separator=";")))
    assert found.blocks
    assert "'fund_change_1w' is 0.16 in the extract and 0.61" in found.message and "fund_change_4w" not in found.message
    assert found.measured == pytest.approx(0.45) and found.affected_count == 500
    assert found.action


def test_within_the_tolerance_agrees(tmp_path: Path) -> None:
    source = _source(tmp_path, "2026-W47;0,20;2,69\n")
    assert CHECK.run(context(snapshot(), toml=_settings(source, separator=";", tolerance=0.05))).passed
    assert CHECK.run(context(snapshot(), toml=_settings(source, separator=";", tolerance=0.01))).blocks


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ("2026-W46;0,37;3,13\n", "has no row for 2026-W47 in column 'Week'"),
        ("2026-W47;n/a;2,69\n", "column 'Fund 1w', line 2: 'n/a' is not a number"),
        ("2026-W47;0,16;2,69\n2026-W47;0,17;2,69\n", "2 rows for 2026-W47 that disagree in column 'Fund 1w'"),
    ],
)
def test_a_second_source_that_cannot_answer_blocks(tmp_path: Path, rows: str, said: str) -> None:
    source = _source(tmp_path, rows)
    found = CHECK.run(context(snapshot(), toml=_settings(source, separator=";")))
    assert found.blocks and said in found.message, found.message
    assert str(source) in found.message


def test_a_missing_file_or_column_blocks(tmp_path: Path) -> None:
    missing = CHECK.run(context(snapshot(), toml=_settings(tmp_path / "gone.csv")))
    assert missing.blocks and "gone.csv does not exist" in missing.message
    source = _source(tmp_path, "2026-W47,0.16,2.69\n", separator=",")
    table = _settings(source)
    table["checks"]["market_second_source"]["columns"] = {"fund_change_1w": "CHG_1W"}
    found = CHECK.run(context(snapshot(), toml=table))
    assert found.blocks and "has no column 'CHG_1W'" in found.message


def test_the_sample_week_is_compared_and_a_wrong_feed_stops_it(sample_workspace: Workspace, capsys) -> None:
    """The table nba.toml shows commented out, switched on: a provider's wrong figure blocks the week."""
    ws = sample_workspace
    toml = ws.config_path.read_text(encoding="utf-8")
    commented = toml[toml.index("# [checks.market_second_source]") :].split("\n\n")[0]
    switched_on = "\n".join(line.removeprefix("# ") for line in commented.splitlines())
    ws.config_path.write_text(toml.replace(commented, switched_on), encoding="utf-8")
    assert main(["train", "--workspace", str(ws.root), "--json"]) == 0
    capsys.readouterr()
    index = ws.root / "data" / "fund_index.csv"
    good = index.read_text(encoding="utf-8")
    assert "2026-W47,2026-11-16,116.77,0.16,2.69" in good
    index.write_text(good.replace("2026-W47,2026-11-16,116.77,0.16,2.69", "2026-W47,2026-11-16,116.77,1.60,2.69"))
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 3
    result = json.loads(capsys.readouterr().out)
    found = next(c for c in result["checks"] if c["check"] == "market_second_source")
    assert found["status"] == "fail" and "0.16 in the extract and 1.60 in data/fund_index.csv" in found["message"]
    assert not list(ws.exports_dir.iterdir())
    index.write_text(good, encoding="utf-8")
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    found = next(c for c in result["checks"] if c["check"] == "market_second_source")
    assert found["status"] == "pass" and "agree with data/fund_index.csv for 2026-W47" in found["message"]
