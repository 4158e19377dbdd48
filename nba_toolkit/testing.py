"""The conformance kit: fixtures and assertions that tell a plugin author their plugin keeps the contracts.

It is a pytest plugin (the ``pytest11`` entry point ``nba_toolkit``), so once
nba-toolkit is installed a plugin's own tests can write::

    from nba_toolkit.testing import assert_engine_conforms

    def test_my_engine(nba_sample):
        assert_engine_conforms(MyEngine(), nba_sample)

Every ``assert_*`` raises ``AssertionError`` with a message that names the
object and the broken requirement, and returns nothing else of interest
(``assert_exporter_conforms`` returns the bytes written, to assert more on).
The sample is synthetic and small (2,000 customers, one week), with a label
drawn from a known formula, so fitting takes a second and both classes occur.

pytest imports this module in every test run of every project that has the
toolkit installed, so it imports only pytest and the standard library at
import time; Polars, NumPy and the toolkit's core load when a fixture or an
assertion is first used.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import pytest

if TYPE_CHECKING:
    import polars as pl

    from nba_toolkit.config import Config
    from nba_toolkit.core.checks import CheckContext
    from nba_toolkit.core.rules import RuleContext

#: the week the sample snapshot is dated in (Monday of 2026-W47)
SAMPLE_WEEK = "2026-W47"
SAMPLE_WEEK_START = date(2026, 11, 16)
#: the engine's part of the model card: every field must be filled
MODEL_CARD_FIELDS = ("purpose", "population", "method", "features", "excluded_data", "weaknesses", "do_not_use_when")
COLUMN_TYPES = ("id", "int", "float", "bool", "date", "str")


# --------------------------------------------------------------------- samples


def sample_snapshot(rows: int = 2000, *, seed: int = 0) -> pl.DataFrame:
    """A synthetic week in canonical columns, with a ``label`` column (1 = opened an investment account).

    Columns: every canonical snapshot column of the default mapping, with the
    types the loader gives them. The label follows a logistic formula of
    savings, engagement, products and age, with a base rate near 10%, so an
    engine has something to learn and both classes are present. Add columns
    an engine needs with ``with_columns`` on the result.
    """
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    age_bands = np.array(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"])
    savings = np.round(rng.lognormal(8.7, 1.3, rows) * (rng.random(rows) > 0.04), 2)
    current = np.round(rng.normal(2500, 2000, rows), 2)
    accounts = rng.integers(1, 7, rows)
    app = rng.random(rows) < 0.6
    logins = rng.integers(0, 61, rows)
    products = rng.integers(1, 9, rows)
    age = age_bands[rng.integers(0, 6, rows)]
    engagement = (app + np.minimum(accounts / 4, 1) + np.minimum(logins / 30, 1)) / 3
    log_odds = (
        -2.6
        + 0.9 * (np.log1p(savings) - 8.0) / 2.0
        + 1.3 * (engagement - 0.5)
        + 0.2 * (products - 2)
        + np.where(np.isin(age, ["35-44", "45-54"]), 0.3, 0.0)
    )
    label = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(np.int8)
    return pl.DataFrame(
        {
            "customer_id": np.arange(10_000_000, 10_000_000 + rows, dtype=np.int64),
            "snapshot_date": [SAMPLE_WEEK_START] * rows,
            "savings_balance": savings,
            "current_balance": current,
            "n_accounts": accounts.astype(np.int64),
            "app_installed": app,
            "logins_per_month": logins.astype(np.int64),
            "n_products": products.astype(np.int64),
            "age_band": age,
            "is_investor": np.zeros(rows, dtype=bool),
            "marketing_consent": rng.random(rows) < 0.8,
            "fund_change_1w": np.full(rows, 0.4),
            "fund_change_4w": np.full(rows, 1.9),
            "label": label,
        }
    )


def sample_selection(snapshot: pl.DataFrame, *, seed: int = 0, config: Config | None = None) -> pl.DataFrame:
    """The selection a run would make of ``snapshot`` with random scores: one row per customer, with its reason."""
    import numpy as np
    import polars as pl

    from nba_toolkit.config import Config
    from nba_toolkit.core.selection import Policy, exclusions, select

    policy = Policy.from_config(config or Config())
    contacted = pl.DataFrame(schema={"customer_id": pl.String, "week_start": pl.String})
    customers = snapshot.select("customer_id").with_columns(exclusions(snapshot, contacted).alias("exclusion"))
    scores = np.random.default_rng(seed).uniform(0.0, 0.1, snapshot.height)
    return select(
        customers.with_columns(pl.when(pl.col("exclusion").is_null()).then(pl.Series(scores)).alias("score")),
        policy,
    )


def check_context(snapshot: pl.DataFrame, *, config: Config | None = None, with_selection: bool = True) -> CheckContext:
    """A ``CheckContext`` for the sample week, scored by the default engine, with nobody in the cooldown.

    With ``with_selection`` (the default) it is the output stage's context:
    the selection and the (empty) contact history are filled in. Without, it
    is the input stage's. No model has been trained and there are no earlier
    runs, as in a new workspace.
    """
    import polars as pl

    from nba_toolkit.config import Config
    from nba_toolkit.core.checks import CheckContext
    from nba_toolkit.default_plugins.logistic_engine import LogisticEngine
    from nba_toolkit.jobs.run import CORE_COLUMNS

    config = config or Config()
    return CheckContext(
        week=SAMPLE_WEEK,
        week_start=SAMPLE_WEEK_START,
        week_end=SAMPLE_WEEK_START + timedelta(days=6),
        snapshot=snapshot,
        config=config,
        required_columns={**CORE_COLUMNS, **LogisticEngine().required_columns},
        selection=sample_selection(snapshot, config=config) if with_selection else None,
        engine=LogisticEngine(),
        contacted=pl.DataFrame(schema={"customer_id": pl.String}) if with_selection else None,
        suppressed=pl.Series("customer_id", [], dtype=pl.String) if with_selection else None,
    )


def rule_context(workspace_root: Path, *, config: Config | None = None) -> RuleContext:
    """A ``RuleContext`` for the sample week; ``workspace_root`` is where a rule finds its registers."""
    from nba_toolkit.config import Config
    from nba_toolkit.core.rules import RuleContext

    return RuleContext(
        week=SAMPLE_WEEK,
        week_start=SAMPLE_WEEK_START,
        week_end=SAMPLE_WEEK_START + timedelta(days=6),
        config=config or Config(),
        workspace_root=Path(workspace_root),
    )


def mail_rows(snapshot: pl.DataFrame) -> pl.DataFrame:
    """The rows the core hands a mail exporter for the sample: the mail file's columns only."""
    import polars as pl

    from nba_toolkit.core.export import MAIL_COLUMNS

    selection = sample_selection(snapshot)
    return (
        selection.filter(pl.col("mailed"))
        .select(
            pl.col("customer_id"),
            pl.lit("INVEST-WEEKLY").alias("campaign_code"),
            pl.col("group"),
            pl.lit(SAMPLE_WEEK_START + timedelta(days=2)).alias("export_date"),
        )
        .sort("group", "customer_id")
        .select(MAIL_COLUMNS)
    )


# -------------------------------------------------------------------- fixtures


@pytest.fixture
def nba_sample() -> pl.DataFrame:
    """A synthetic week of 2,000 customers in canonical columns, with a ``label`` column."""
    return sample_snapshot()


@pytest.fixture
def nba_check_context(nba_sample: pl.DataFrame) -> CheckContext:
    """A check context for the sample week, selection included."""
    return check_context(nba_sample)


@pytest.fixture
def nba_rule_context(tmp_path: Path) -> RuleContext:
    """A rule context whose workspace folder is this test's ``tmp_path``."""
    return rule_context(tmp_path)


@pytest.fixture
def nba_mail_rows(nba_sample: pl.DataFrame) -> pl.DataFrame:
    """The mail file's rows for the sample week."""
    return mail_rows(nba_sample)


# ------------------------------------------------------------------ assertions


def assert_engine_conforms(engine: Any, sample: pl.DataFrame, *, seed: int = 0, denylist: Iterable[str] | None = None) -> None:
    """The engine keeps the contract of ``nba_toolkit.core.engine.Engine`` on ``sample``.

    ``engine`` may be the class (it is then built without arguments).
    ``sample`` needs every column the engine requires and a ``label`` column
    with both classes. Checked: the attributes and their types; no required
    column or feature on the denylist (the default one unless given);
    features with ``customer_id`` and one column per ``feature_labels`` key,
    one row per input row; the same scores from two fits with the same seed
    and after a joblib round trip; every score a finite probability; an empty
    frame scored and explained as empty; explanations with exactly one
    finite column per feature and one row per customer; every model-card
    field filled.
    """
    import joblib
    import numpy as np
    import polars as pl

    from nba_toolkit.config import DEFAULT_DENYLIST
    from nba_toolkit.core.engine import ENGINE_ATTRIBUTES, ENGINE_METHODS, imputation_problems
    from nba_toolkit.core.snapshot import is_denied

    if isinstance(engine, type):
        engine = engine()
    who = f"engine '{getattr(engine, 'name', type(engine).__name__)}'"
    for attr in ENGINE_ATTRIBUTES:
        _require(hasattr(engine, attr), f"{who} has no attribute '{attr}'")
    for method in ENGINE_METHODS:
        _require(callable(getattr(engine, method, None)), f"{who} has no method '{method}'")
    _require(_text(engine.name), f"{who}: 'name' must be non-empty text")
    _require(_text(engine.version), f"{who}: 'version' must be non-empty text, e.g. '1.0.0'")
    _require(isinstance(engine.required_columns, Mapping), f"{who}: 'required_columns' must map column -> type")
    for column, kind in engine.required_columns.items():
        _require(kind in COLUMN_TYPES, f"{who}: required column '{column}' has type {kind!r}; use one of {COLUMN_TYPES}")
    _require(
        isinstance(getattr(engine, "optional_columns", None) or {}, Mapping),
        f"{who}: 'optional_columns' must map column -> stand-in",
    )
    problems = imputation_problems(engine)
    _require(not problems, f"{who}: " + "; ".join(problems))
    _require(
        isinstance(engine.feature_labels, Mapping) and len(engine.feature_labels) > 0,
        f"{who}: 'feature_labels' must map each feature to plain words",
    )
    for feature, label in engine.feature_labels.items():
        _require(_text(label), f"{who}: feature '{feature}' needs a label in plain words")
    denied = list(DEFAULT_DENYLIST if denylist is None else denylist)
    for name in [*engine.required_columns, *engine.feature_labels]:
        _require(not is_denied(name, denied), f"{who} uses '{name}', which is on the sensitive-data denylist")
    missing = [c for c in [*engine.required_columns, "label"] if c not in sample.columns]
    _require(
        not missing,
        f"the sample lacks {', '.join(missing)}, which {who} needs; add the columns to the sample "
        "(sample_snapshot().with_columns(...))",
    )
    _require(sample["label"].n_unique() == 2, "the sample's label must hold both classes (0 and 1)")

    lazy = engine.features(sample.lazy())
    _require(isinstance(lazy, pl.LazyFrame), f"{who}: features() must return a polars LazyFrame")
    features = lazy.collect()
    expected = ["customer_id", *engine.feature_labels]
    absent = [c for c in expected if c not in features.columns]
    _require(not absent, f"{who}: features() lacks the columns {absent}")
    _require(features.height == sample.height, f"{who}: features() returned {features.height} rows for {sample.height}")
    _require(
        features["customer_id"].cast(pl.String).equals(sample["customer_id"].cast(pl.String)),
        f"{who}: features() must keep the customers and their order",
    )

    label = sample["label"].to_numpy()
    model = engine.fit(features, label, seed=seed)
    scores = np.asarray(engine.score(model, features), dtype=np.float64)
    _require(scores.shape == (sample.height,), f"{who}: score() returned shape {scores.shape} for {sample.height} rows")
    _require(bool(np.all(np.isfinite(scores))), f"{who}: score() returned NaN or infinite values")
    _require(
        bool(np.all((scores >= 0) & (scores <= 1))),
        f"{who}: score() returned values outside 0 to 1 (from {scores.min()} to {scores.max()})",
    )
    again = np.asarray(engine.score(engine.fit(features, label, seed=seed), features), dtype=np.float64)
    _require(
        np.array_equal(scores, again), f"{who}: two fits with the same seed score differently; training must be deterministic"
    )
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    reloaded = np.asarray(engine.score(joblib.load(buffer), features), dtype=np.float64)
    _require(np.array_equal(scores, reloaded), f"{who}: the model scores differently after saving and loading with joblib")

    explained = engine.explain(model, features)
    _require_explanation(who, explained, engine.feature_labels, sample.height)
    empty = engine.features(sample.head(0).lazy()).collect()
    empty_scores = np.asarray(engine.score(model, empty))
    _require(empty_scores.shape == (0,), f"{who}: score() of no customers must return an empty array, got {empty_scores.shape}")
    _require_explanation(who + " (no customers)", engine.explain(model, empty), engine.feature_labels, 0)

    card = engine.model_card()
    _require(isinstance(card, Mapping), f"{who}: model_card() must return a dict")
    for key in MODEL_CARD_FIELDS:
        value = card.get(key)
        _require(
            value is not None and (len(value) > 0 if isinstance(value, str | list | tuple | Mapping) else True),
            f"{who}: the model card's '{key}' is missing or empty",
        )
        if isinstance(value, str):
            _require(value.strip() != "", f"{who}: the model card's '{key}' is blank")
    _require(
        set(card["features"]) == set(engine.feature_labels),
        f"{who}: the model card's 'features' must describe exactly the features in feature_labels",
    )


def assert_check_conforms(check: Any, context: CheckContext | None = None) -> None:
    """The check keeps the contract of ``nba_toolkit.core.checks.Check`` on ``context``.

    ``context`` defaults to the sample week with its selection. Checked: the
    attributes, a known stage and severity, a description; ``run`` returns
    results exactly as the toolkit's check runner requires them
    (``nba_toolkit.core.checks.validated_results``: at least one
    ``CheckResult`` of this check and stage, a known lower-case severity,
    True or False in ``passed``, a plain message and, when it did not pass,
    what to do); the same results from a second run on the same context. A
    check that fails here counts as crashed in every run, and blocks it.
    """
    from nba_toolkit.core.checks import SEVERITIES, STAGES, MalformedResult, validated_results

    who = f"check '{getattr(check, 'name', type(check).__name__)}'"
    _require(_text(getattr(check, "name", None)), f"{who}: 'name' must be non-empty text")
    _require(getattr(check, "stage", None) in STAGES, f"{who}: 'stage' must be one of {STAGES}")
    _require(getattr(check, "severity", None) in SEVERITIES, f"{who}: 'severity' must be one of {SEVERITIES}")
    _require(_text(getattr(check, "description", None)), f"{who}: 'description' must say in plain words what it checks")
    _require(callable(getattr(check, "run", None)), f"{who} has no method 'run'")
    context = context or check_context(sample_snapshot())
    try:
        results = validated_results(check, check.run(context))
    except MalformedResult as exc:
        raise AssertionError(f"{who}: {exc}") from None
    _require(_results(check.run(context)) == results, f"{who}: two runs on the same context gave different results")


def assert_rule_conforms(rule: Any, sample: pl.DataFrame, context: RuleContext) -> None:
    """The rule keeps the contract of ``nba_toolkit.core.rules.Rule`` on ``sample``.

    Checked: a name that can be part of a reason code, a description, any
    ``required_columns`` present in the sample; ``apply`` returns one Boolean
    or short-text value per row (the toolkit turns it into reason codes
    without complaint), the same twice, and an empty answer for no customers.
    """
    import polars as pl

    from nba_toolkit.core.rules import CODE_PATTERN, apply_rules
    from nba_toolkit.errors import PluginError

    who = f"rule '{getattr(rule, 'name', type(rule).__name__)}'"
    _require(
        isinstance(getattr(rule, "name", None), str) and bool(CODE_PATTERN.match(rule.name)),
        f"{who}: 'name' must be lower-case letters, digits and _ (it becomes a reason code)",
    )
    _require(_text(getattr(rule, "description", None)), f"{who}: 'description' must say in plain words whom it keeps out")
    _require(callable(getattr(rule, "apply", None)), f"{who} has no method 'apply'")
    needed = dict(getattr(rule, "required_columns", None) or {})
    missing = [c for c in needed if c not in sample.columns]
    _require(not missing, f"the sample lacks {', '.join(missing)}, which {who} needs")
    verdict = rule.apply(sample, context)
    _require(isinstance(verdict, pl.Series), f"{who}: apply() must return a polars Series, got {type(verdict).__name__}")
    _require(verdict.len() == sample.height, f"{who}: apply() returned {verdict.len()} values for {sample.height} rows")
    _require(rule.apply(sample, context).equals(verdict), f"{who}: two calls on the same snapshot disagree")
    nobody = pl.Series("exclusion", [None] * sample.height, dtype=pl.String)
    try:
        apply_rules([(rule, "conformance")], sample, nobody, context)
    except PluginError as exc:
        raise AssertionError(f"{who}: {exc.message}") from exc
    _require(rule.apply(sample.head(0), context).len() == 0, f"{who}: apply() on no customers must return no values")


def assert_exporter_conforms(exporter: Any, rows: pl.DataFrame | None = None, config: Any = None) -> bytes:
    """The mail exporter keeps the contract of ``nba_toolkit.core.export.Exporter``; returns the bytes written.

    ``rows`` default to the sample week's mail rows; ``config`` to the
    default ``[export]``. Checked: a name and a plain extension; ``write``
    puts bytes on the stream, leaves it open (the core syncs and renames
    it), writes the same bytes twice; for a ``csv`` extension, the file has
    exactly the configured headers (no other column), one line per row and
    every relation number. Leaving no partial file when ``write`` fails is
    the core's job, not the exporter's.
    """
    import polars as pl

    from nba_toolkit.config import ExportConfig

    config = config or ExportConfig()
    rows = mail_rows(sample_snapshot()) if rows is None else rows
    who = f"exporter '{getattr(exporter, 'name', type(exporter).__name__)}'"
    data = _written(who, exporter, rows, config)
    if exporter.extension.lower() == "csv":
        text = data.decode(config.encoding).lstrip("\ufeff")
        written = pl.read_csv(io.StringIO(text), separator=config.delimiter, infer_schema=False)
        allowed = list(config.headers.values())
        _require(
            written.columns == allowed,
            f"{who}: the file has the columns {written.columns}; a mail file has exactly {allowed}",
        )
        _require(written.height == rows.height, f"{who}: wrote {written.height} rows for {rows.height}")
        ids = written[config.headers["customer_id"]].to_list()
        _require(
            sorted(ids) == sorted(rows["customer_id"].cast(pl.String).to_list()),
            f"{who}: the relation numbers written are not the ones given",
        )
    return data


def assert_analysis_exporter_conforms(exporter: Any, rows: pl.DataFrame, config: Any = None) -> bytes:
    """The analysis exporter writes ``rows`` as bytes, leaves the stream open, and writes the same bytes twice."""
    from nba_toolkit.config import ExportConfig

    who = f"analysis exporter '{getattr(exporter, 'name', type(exporter).__name__)}'"
    return _written(who, exporter, rows, config or ExportConfig())


# --------------------------------------------------------------------- helpers


def _written(who: str, exporter: Any, rows: pl.DataFrame, config: Any) -> bytes:
    _require(_text(getattr(exporter, "name", None)), f"{who}: 'name' must be non-empty text")
    extension = getattr(exporter, "extension", None)
    _require(
        _text(extension) and extension.isalnum(),
        f"{who}: 'extension' must be letters or digits without the dot, e.g. 'csv'",
    )
    _require(callable(getattr(exporter, "write", None)), f"{who} has no method 'write'")
    outputs = []
    for _ in range(2):
        stream = io.BytesIO()
        exporter.write(rows, stream, config)
        _require(not stream.closed, f"{who}: write() must not close the stream; the core syncs and renames the file")
        outputs.append(stream.getvalue())
    _require(len(outputs[0]) > 0, f"{who}: write() wrote nothing")
    _require(outputs[0] == outputs[1], f"{who}: two writes of the same rows gave different bytes")
    return outputs[0]


def _require_explanation(who: str, explained: Any, feature_labels: Mapping[str, str], rows: int) -> None:
    import numpy as np
    import polars as pl

    _require(isinstance(explained, pl.DataFrame), f"{who}: explain() must return a polars DataFrame")
    _require(
        sorted(explained.columns) == sorted(feature_labels),
        f"{who}: explain() has the columns {explained.columns}; it needs exactly one per feature: {list(feature_labels)}",
    )
    _require(explained.height == rows, f"{who}: explain() returned {explained.height} rows for {rows}")
    if rows:
        values = explained.select(pl.all().cast(pl.Float64)).to_numpy()
        _require(bool(np.all(np.isfinite(values))), f"{who}: explain() returned missing or infinite contributions")


def _results(outcome: Any) -> list[Any]:
    from nba_toolkit.core.checks import CheckResult

    return [outcome] if isinstance(outcome, CheckResult) else list(outcome)


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value.strip() != ""


def _require(condition: bool, message: str) -> None:
    """An explicit raise, so the kit also works under ``python -O`` and outside pytest's assertion rewriting."""
    if not condition:
        raise AssertionError(message)


__all__ = [
    "MODEL_CARD_FIELDS",
    "assert_analysis_exporter_conforms",
    "assert_check_conforms",
    "assert_engine_conforms",
    "assert_exporter_conforms",
    "assert_rule_conforms",
    "check_context",
    "mail_rows",
    "rule_context",
    "sample_selection",
    "sample_snapshot",
]
