"""The conformance kit: every built-in and example plugin passes it, and it catches what it promises to catch."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from nba_toolkit.default_plugins.logistic_engine import LogisticEngine
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.testing import (
    assert_analysis_exporter_conforms,
    assert_check_conforms,
    assert_engine_conforms,
    assert_exporter_conforms,
    assert_rule_conforms,
    check_context,
    mail_rows,
    rule_context,
    sample_snapshot,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "plugins"
GBM_SOURCE = EXAMPLES / "nba-engine-gbm" / "src"


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return sample_snapshot()


@pytest.fixture(scope="module")
def examples():
    return load_plugins([EXAMPLES], entry_points_enabled=False, strict=True)


@pytest.fixture(scope="module")
def builtins():
    return load_plugins(entry_points_enabled=False, strict=True)


def test_builtin_engines_conform(builtins, sample: pl.DataFrame) -> None:
    for entry in builtins.engines.values():
        assert_engine_conforms(entry.obj, sample)


def test_builtin_checks_conform(builtins, sample: pl.DataFrame) -> None:
    contexts = {
        "input": check_context(sample, with_selection=False),
        "output": check_context(sample),
    }
    checked = [c.obj for c in builtins.checks.values() if c.obj.stage in contexts]
    assert len(checked) >= 5
    for check in checked:
        assert_check_conforms(check, contexts[check.stage])


def test_builtin_exporter_conforms(builtins) -> None:
    assert_exporter_conforms(builtins.exporters["mail_csv"].obj)


def test_example_engines_conform(examples, sample: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_engine_conforms(examples.engines["baseline_rules"].obj, sample)
    monkeypatch.syspath_prepend(str(GBM_SOURCE))
    from nba_engine_gbm import GbmEngine

    assert_engine_conforms(GbmEngine, sample)


def test_example_rule_conforms(examples, sample: pl.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "complaints.csv").write_text(
        "RELATION_NO;COMPLAINT_DATE\n10000005;2026-11-02\n10000006;2026-01-05\n", encoding="utf-8"
    )
    rule = examples.rules["recent_complaint"].obj
    context = rule_context(tmp_path)
    assert_rule_conforms(rule, sample, context)
    # the recent complaint counts, the one from January does not
    excluded = sample.filter(rule.apply(sample, context))["customer_id"].to_list()
    assert excluded == [10000005]


def test_builtin_analysis_exporter_conforms(builtins, sample: pl.DataFrame) -> None:
    data = assert_analysis_exporter_conforms(builtins.analysis_exporters["analysis_csv"].obj, mail_rows(sample))
    assert data.startswith("\ufeff".encode()) and b";" in data


def test_the_gbm_wheel_declares_its_entry_point() -> None:
    project = tomllib.loads((EXAMPLES / "nba-engine-gbm" / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["nba_toolkit"] == {"gbm": "nba_engine_gbm"}


# -- the kit catches broken plugins ------------------------------------------------------


class Wobbly(LogisticEngine):
    """Scores differ on every fit: training is not deterministic."""

    def fit(self, features, label, *, seed):
        return super().fit(features, label, seed=int(np.random.default_rng().integers(1_000_000)))

    def score(self, model, features):
        return np.clip(super().score(model, features) + np.random.default_rng().normal(0, 1e-3, features.height), 0, 1)


class Overconfident(LogisticEngine):
    def score(self, model, features):
        return super().score(model, features) * 2


class Nosy(LogisticEngine):
    required_columns = {**LogisticEngine().required_columns, "postcode": "str"}


class Misexplained(LogisticEngine):
    def explain(self, model, features):
        return super().explain(model, features).drop("age_band")


class Cardless(LogisticEngine):
    def model_card(self):
        return {**super().model_card(), "weaknesses": []}


class EmptyHanded(LogisticEngine):
    def score(self, model, features):
        return super().score(model, features) if features.height else None


@pytest.mark.parametrize(
    ("engine", "complaint"),
    [
        (Wobbly, "deterministic"),
        (Overconfident, "outside 0 to 1"),
        (Nosy, "sensitive-data denylist"),
        (Misexplained, "one per feature"),
        (Cardless, "'weaknesses' is missing or empty"),
        (EmptyHanded, "no customers"),
    ],
)
def test_the_kit_catches_a_broken_engine(engine: type, complaint: str, sample: pl.DataFrame) -> None:
    with pytest.raises(AssertionError, match=complaint):
        assert_engine_conforms(engine, sample.with_columns(postcode=pl.lit("1017 AB")))


def test_the_kit_catches_a_broken_check_exporter_and_rule(sample: pl.DataFrame, tmp_path: Path) -> None:
    from nba_toolkit.core.checks import CheckResult

    class Mute:
        name, stage, severity, description = "mute", "output", "warn", "Says nothing useful."

        def run(self, context):
            return CheckResult(check="mute", stage="output", severity="warn", passed=False, message="Bad.")

    with pytest.raises(AssertionError, match="what to do"):
        assert_check_conforms(Mute(), check_context(sample))

    class Leaky:
        name, extension = "leaky", "csv"

        def write(self, rows, stream, config):
            stream.write(rows.with_columns(score=pl.lit(0.5)).write_csv(separator=config.delimiter).encode())

    with pytest.raises(AssertionError, match="exactly"):
        assert_exporter_conforms(Leaky())

    class Closing:
        name, extension = "closing", "csv"

        def write(self, rows, stream, config):
            stream.write(b"x")
            stream.close()

    with pytest.raises(AssertionError, match="must not close"):
        assert_exporter_conforms(Closing())

    class Shouting:
        name, description = "shouting", "Returns reasons that cannot be codes."

        def apply(self, snapshot, context):
            return pl.Series(["NOT A CODE"] * snapshot.height)

    with pytest.raises(AssertionError, match="sub-reason"):
        assert_rule_conforms(Shouting(), sample, rule_context(tmp_path))


def test_the_kit_is_a_light_pytest_plugin() -> None:
    """pytest loads it in every run of every project with the toolkit installed: it must not pull in the heavy libraries."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["pytest11"] == {"nba_toolkit": "nba_toolkit.testing"}
    heavy = "('polars', 'numpy', 'sklearn', 'textual', 'rich')"
    probe = f"import sys, nba_toolkit.testing; print(sorted(m for m in {heavy} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert loaded.stdout.strip() == "[]"
