"""`evaluate --from-csv`: a mailing from a file, checked against numbers worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nba_toolkit.cli import main

# 10 mailed (group A): 9 converted, amounts 100/200/300 three times each and one 0.
# 10 not mailed (group B): 3 converted, amounts 100, 200, 300 and seven 0.
# 3 rows of group X, which the comparison must leave out and count.
MAILED = [(1, 100), (1, 200), (1, 300)] * 3 + [(0, 0)]
NOT_MAILED = [(1, 100), (1, 200), (1, 300)] + [(0, 0)] * 7


def small_file(path: Path, *, delimiter: str = ",", decimal: str = ".") -> Path:
    lines = [delimiter.join(["RELATION_NO", "GRP", "CONV", "AMT"])]
    rows = [("A", c, a) for c, a in MAILED] + [("B", c, a) for c, a in NOT_MAILED] + [("X", 1, 50)] * 3
    for i, (group, converted, amount) in enumerate(rows):
        lines.append(delimiter.join([str(10000001 + i), group, str(converted), f"{amount:.2f}".replace(".", decimal)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def evaluate(capsys, path: Path, *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "--from-csv",
            str(path),
            "--group-col",
            "GRP",
            "--treatment",
            "A",
            "--control",
            "B",
            "--outcome",
            "CONV",
            *extra,
            "--json",
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_rates_uplift_and_interval_by_hand(tmp_path, capsys):
    code, result = evaluate(capsys, small_file(tmp_path / "mailing.csv"), "--value", "AMT")
    assert code == 0, result
    assert result["treatment"] == {"group": "A", "n": 10, "conversions": 9, "rate": 0.9, "value_per_head": 180.0}
    assert result["control"] == {"group": "B", "n": 10, "conversions": 3, "rate": 0.3, "value_per_head": 60.0}
    # 9/10 - 3/10 = 0.6; Newcombe's hybrid score interval from the Wilson intervals
    # 9/10: (0.5958, 0.9821) and 3/10: (0.1078, 0.6032):
    # low = 0.6 - sqrt((0.9 - 0.5958)^2 + (0.6032 - 0.3)^2) = 0.1705
    # high = 0.6 + sqrt((0.9821 - 0.9)^2 + (0.3 - 0.1078)^2) = 0.8090
    uplift = result["uplift"]
    assert uplift["estimate"] == pytest.approx(0.6)
    assert (round(uplift["ci_low"], 4), round(uplift["ci_high"], 4)) == (0.1705, 0.8090)
    assert "Newcombe" in uplift["method"]
    # amounts: means 180 and 60, variances 96000/9 and 104000/9;
    # se = sqrt(96000/90 + 104000/90) = 47.1405; Welch df = 17.97, t(0.975, 17.97) = 2.1012; 120 -/+ 99.05
    value = result["value_uplift"]
    assert value["estimate"] == pytest.approx(120.0)
    assert (value["ci_low"], value["ci_high"]) == pytest.approx((20.95, 219.05), abs=0.01)
    assert result["ignored_rows"] == 3
    assert result["ignored_groups"] == {"X": 3}


def test_without_a_value_column_there_is_no_value(tmp_path, capsys):
    code, result = evaluate(capsys, small_file(tmp_path / "mailing.csv"))
    assert code == 0
    assert "value_per_head" not in result["treatment"]
    assert "value_uplift" not in result


def test_the_file_is_read_like_any_input(tmp_path, capsys):
    """Semicolons and decimal commas, as the warehouse writes them, give the same answer."""
    code, result = evaluate(capsys, small_file(tmp_path / "mailing.csv", delimiter=";", decimal=","), "--value", "AMT")
    assert code == 0, result
    assert result["value_uplift"]["estimate"] == pytest.approx(120.0)
    assert result["uplift"]["estimate"] == pytest.approx(0.6)


def test_a_count_outcome_gets_a_difference_of_means(tmp_path, capsys):
    path = tmp_path / "counts.csv"
    rows = (
        ["RELATION_NO,GRP,ACCOUNTS"]
        + [f"{i},A,{n}" for i, n in enumerate([2, 0, 1, 3])]
        + [f"{10 + i},B,{n}" for i, n in enumerate([0, 1, 0])]
    )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "--from-csv",
            str(path),
            "--group-col",
            "GRP",
            "--treatment",
            "A",
            "--control",
            "B",
            "--outcome",
            "ACCOUNTS",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["outcome"]["kind"] == "count"
    assert result["treatment"]["conversions"] == 6
    assert result["treatment"]["rate"] == pytest.approx(1.5)
    assert result["uplift"]["estimate"] == pytest.approx(1.5 - 1 / 3)
    assert "Welch" in result["uplift"]["method"]


def test_other_values_are_refused_with_the_row(tmp_path, capsys):
    path = small_file(tmp_path / "mailing.csv")
    text = path.read_text().splitlines()
    text[4] = text[4].replace(",A,1,", ",A,0.5,")
    path.write_text("\n".join(text) + "\n")
    code, result = evaluate(capsys, path)
    assert code == 4
    assert "column 'CONV', row 4" in result["error"]
    assert "not 0/1 or a count" in result["error"]


def test_an_unknown_group_names_the_values_found(tmp_path, capsys):
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "--from-csv",
            str(small_file(tmp_path / "m.csv")),
            "--group-col",
            "GRP",
            "--treatment",
            "A",
            "--control",
            "holdout",
            "--outcome",
            "CONV",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 2
    assert "'holdout'" in result["error"] and "'B' (10)" in result["error"]


def test_missing_options_and_columns(tmp_path, capsys):
    path = small_file(tmp_path / "m.csv")
    capsys.readouterr()
    assert main(["evaluate", "--from-csv", str(path), "--group-col", "GRP", "--json"]) == 2
    assert "--treatment" in json.loads(capsys.readouterr().out)["error"]
    code, result = evaluate(capsys, path, "--value", "AMOUNT")
    assert code == 4
    assert "'AMOUNT'" in result["error"]
    code, result = evaluate(capsys, path, "--id-col", "CUSTOMER")
    assert code == 4 and "'CUSTOMER'" in result["error"]


def test_the_human_summary(tmp_path, capsys):
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "--from-csv",
            str(small_file(tmp_path / "m.csv")),
            "--group-col",
            "GRP",
            "--treatment",
            "A",
            "--control",
            "B",
            "--outcome",
            "CONV",
            "--value",
            "AMT",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "+60.00 percentage points (95% interval +17.05 to +80.90)" in text
    assert "3 rows of other groups were left out" in text


def test_a_published_experiment_without_customer_ids_is_one_customer_per_row(tmp_path, capsys):
    """Public e-mail experiments are shared without ids: each row is a customer, and the figures are the same."""
    with_ids = small_file(tmp_path / "with_ids.csv")
    lines = with_ids.read_text(encoding="utf-8").splitlines()
    without = tmp_path / "published.csv"
    without.write_text("\n".join(line.split(",", 1)[1] for line in lines) + "\n", encoding="utf-8")
    code, published = evaluate(capsys, without, "--value", "AMT")
    assert code == 0, published
    _, recorded = evaluate(capsys, with_ids, "--value", "AMT")
    for key in ("treatment", "control", "uplift", "value_uplift", "ignored_rows"):
        assert published[key] == recorded[key], key
    # an id column named on purpose must still be there
    code, result = evaluate(capsys, without, "--id-col", "RELATION_NO")
    assert code == 4 and "'RELATION_NO'" in result["error"]
