"""The sample-size planner (R-V6): weeks of holdout to detect an uplift."""

from __future__ import annotations

import json
import math

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.planner import detectable_uplift, plan_holdout
from nba_toolkit.errors import UsageError

Z_ALPHA, Z_BETA = 1.959964, 0.841621  # two-sided 5%, power 80%


def test_equal_groups_match_the_textbook_figure():
    """10% against 15% with equal groups needs 686 per group (normal approximation, no continuity correction)."""
    plan = plan_holdout(capacity=200, holdout_share=0.5, baseline=0.10, uplift=0.05)
    assert plan.holdout_needed == plan.mailed_needed == 686
    assert plan.weeks_needed == 7  # 100 held out a week


def test_the_weekly_mailing_by_hand():
    # 2,000 selected, 10% held out: 200 held out and 1,800 mailed a week, k = 9; baseline 1.7%, uplift 1 point
    p0, p1, k = 0.017, 0.027, 9
    pooled = (p0 + k * p1) / (1 + k)
    n = (
        Z_ALPHA * math.sqrt(pooled * (1 - pooled) * (1 + 1 / k)) + Z_BETA * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1) / k)
    ) ** 2 / 0.01**2
    plan = plan_holdout(capacity=2000, holdout_share=0.10, baseline=0.017, uplift=0.01)
    assert plan.holdout_needed == math.ceil(n) == 1996
    assert plan.mailed_needed == math.ceil(1996 * 9)
    assert plan.weeks_needed == 10


def test_the_detectable_uplift_is_the_inverse():
    for weeks in (4, 13, 52):
        uplift = detectable_uplift(capacity=2000, holdout_share=0.10, baseline=0.017, weeks=weeks)
        assert plan_holdout(capacity=2000, holdout_share=0.10, baseline=0.017, uplift=uplift).weeks_needed == weeks
        assert plan_holdout(capacity=2000, holdout_share=0.10, baseline=0.017, uplift=uplift * 0.95).weeks_needed > weeks
    assert detectable_uplift(capacity=2000, holdout_share=0.10, baseline=0.017, weeks=0) is None


@pytest.mark.parametrize(
    "arguments",
    [
        {"capacity": 0, "holdout_share": 0.1, "baseline": 0.02, "uplift": 0.01},
        {"capacity": 100, "holdout_share": 1.0, "baseline": 0.02, "uplift": 0.01},
        {"capacity": 100, "holdout_share": 0.1, "baseline": 0.0, "uplift": 0.01},
        {"capacity": 100, "holdout_share": 0.1, "baseline": 0.02, "uplift": 0.0},
        {"capacity": 100, "holdout_share": 0.1, "baseline": 0.5, "uplift": 0.6},
    ],
)
def test_impossible_plans_are_usage_errors(arguments):
    with pytest.raises(UsageError):
        plan_holdout(**arguments)


def test_the_plan_command(capsys):
    capsys.readouterr()
    code = main(["plan", "--capacity", "2000", "--holdout-share", "0.1", "--baseline", "0.017", "--uplift", "0.01", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["weeks_needed"] == 10
    assert set(result["detectable_uplift_after"]) == {"4", "13", "26", "52"}
    assert main(["plan", "--capacity", "2000", "--holdout-share", "0.1", "--baseline", "0.017", "--uplift", "0.01"]) == 0
    assert "10 weeks" in capsys.readouterr().out
    assert main(["plan", "--capacity", "2000", "--holdout-share", "2", "--baseline", "0.017", "--uplift", "0.01", "--json"]) == 2
