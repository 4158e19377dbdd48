"""[checks.<name>] and [notify.smtp] in nba.toml, and how run_checks applies them."""

from __future__ import annotations

import pytest
from check_frames import context, snapshot

from nba_toolkit.config import parse_config
from nba_toolkit.core.check_settings import BUILTIN_SETTINGS
from nba_toolkit.core.checks import CheckResult, blocking, run_checks
from nba_toolkit.errors import BadInput


class Failing:
    name = "always_fails"
    stage = "input"
    severity = "block"
    description = "fails, to see what the settings do with it"

    def run(self, context):
        return CheckResult(check=self.name, stage=self.stage, severity=self.severity, passed=False, message="found something", action="look")


class Crashing(Failing):
    name = "always_crashes"

    def run(self, context):
        raise RuntimeError("cannot look")


def test_defaults_cover_every_builtin_check_and_keep_the_volume_band() -> None:
    config = parse_config({"checks": {"volume_band": {"min": 10, "max": 3000}}})
    assert config.checks.volume_band.min == 10 and config.checks.volume_band.max == 3000
    assert set(config.checks.by_name) == set(BUILTIN_SETTINGS)
    shown = config.to_dict()
    assert shown["checks"]["feature_drift"] == {"severity": "", "enabled": True, "reason": "", "warn_psi": 0.1, "block_psi": 0.25}
    assert shown["checks"]["value_ranges"]["min"]["savings_balance"] == 0.0
    assert shown["notify"]["smtp"]["from"] == "" and "sender" not in shown["notify"]["smtp"]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"checks": {"volume_band": {"mx": 5}}}, "unknown key 'mx' in [checks.volume_band]; known keys: enabled, max, min"),
        ({"checks": {"volume_bnad": {"max": 5}}}, "'volume_bnad' is not a built-in check"),
        ({"checks": {"schema": {"severity": "fatal"}}}, "[checks.schema] severity must be one of block, warn, info"),
        ({"checks": {"schema": {"enabled": False}}}, "[checks.schema] enabled = false needs a reason"),
        ({"checks": {"score_drift": {"warn_psi": 0.5, "block_psi": 0.2}}}, "block_psi must be at least warn_psi"),
        ({"checks": {"unit_jump": {"factor": 0.5}}}, "[checks.unit_jump] factor must be more than 1"),
        ({"checks": {"value_ranges": {"min": {"savings_balance": "zero"}}}}, "must map column names to numbers"),
        ({"checks": {"volume_band": 5}}, "[checks] holds one table per check"),
        ({"notify": {"smtp": {"host": "mail", "from": "a@b", "to": ["c@d"], "password": "x"}}}, "must not hold the password"),
        ({"notify": {"smtp": {"host": "mail"}}}, "needs a 'from' address and at least one 'to' address"),
        ({"notify": {"smtp": {"host": "mail", "from": "a@b", "to": "c@d", "username": "u"}}}, "no password_env"),
        ({"notify": {"pager": {}}}, "unknown key 'pager' in [notify]"),
    ],
)
def test_mistakes_are_refused_plainly(raw: dict, words: str) -> None:
    with pytest.raises(BadInput) as refused:
        parse_config(raw)
    assert words in refused.value.message


def test_severity_override_and_switch_off() -> None:
    frame = snapshot(50)
    checks = [(Failing(), "mine"), (Crashing(), "mine")]
    plain = run_checks(checks, "input", context(frame))
    assert [r.status for r in plain] == ["fail", "error"] and len(blocking(plain)) == 2

    toml = {"checks": {"always_fails": {"severity": "warn"}, "always_crashes": {"severity": "info"}}}
    relaxed = run_checks(checks, "input", context(frame, toml=toml))
    assert relaxed[0].severity == "warn" and relaxed[0].needs_acknowledgement and not relaxed[0].blocks
    assert relaxed[1].blocks, "a crash blocks whatever severity the check was given"

    off = {"checks": {"always_fails": {"enabled": False, "reason": "known false alarm, ticket 12"}}}
    skipped = run_checks(checks[:1], "input", context(frame, toml=off))
    assert [(r.status, r.plugin) for r in skipped] == [("skipped", "mine")]
    assert "known false alarm, ticket 12" in skipped[0].message and not skipped[0].blocks
    assert skipped[0].to_dict()["status"] == "skipped"


def test_a_table_for_a_check_that_is_not_loaded_is_reported_once() -> None:
    toml = {"checks": {"no_complaints": {"severity": "block"}}}
    found = run_checks([(Failing(), "mine")], "input", context(snapshot(50), toml=toml))
    missing = [r for r in found if r.check == "no_complaints"]
    assert len(missing) == 1 and missing[0].needs_acknowledgement
    assert not [r for r in run_checks([], "output", context(snapshot(50), toml=toml)) if r.check == "no_complaints"]
