"""The sample-data generator and the shipped sample set: reproducible, in the bank's dialect, consistent."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path

import polars as pl
import pytest

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
SNAPSHOT_WEEK = "2026-W47"
SENSITIVE = ("FULL_NAME", "GENDER", "POSTCODE")


@pytest.fixture(scope="module")
def generator():
    """``sample_data/generate.py``, imported from its path: sample_data is data, not a package."""
    spec = importlib.util.spec_from_file_location("nba_sample_data_generate", SAMPLE_DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ the generator


def test_same_arguments_give_byte_identical_files(generator, tmp_path):
    first = generator.generate(tmp_path / "a", customers=2000, weeks=20)
    second = generator.generate(tmp_path / "b", customers=2000, weeks=20)

    a, b = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert "history.parquet" in a and f"snapshots/{SNAPSHOT_WEEK}.csv" in a
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []
    assert first == second == json.loads(a["ground_truth.json"])


def test_another_seed_gives_other_data(generator, tmp_path):
    generator.generate(tmp_path / "a", customers=2000, weeks=20)
    generator.generate(tmp_path / "b", customers=2000, weeks=20, seed=7)

    assert (tmp_path / "a" / "history.parquet").read_bytes() != (tmp_path / "b" / "history.parquet").read_bytes()


def test_snapshot_only_writes_just_this_weeks_parquet_without_sensitive_columns(generator, tmp_path):
    truth = generator.generate(tmp_path, customers=3000, weeks=20, snapshot_only=True)

    assert sorted(files_of(tmp_path)) == ["ground_truth.json", f"snapshots/{SNAPSHOT_WEEK}.parquet"]
    snapshot = pl.read_parquet(tmp_path / "snapshots" / f"{SNAPSHOT_WEEK}.parquet")
    assert snapshot.height == 3000 and snapshot["RELATION_NO"].is_unique().all()
    assert not set(SENSITIVE) & set(snapshot.columns)
    assert truth["mode"] == "snapshot_only" and "past_mailings" not in truth


@pytest.mark.parametrize("customers, weeks", [(2000, 12), (999, 20)])
def test_too_small_for_the_mailings_is_refused(generator, tmp_path, customers, weeks):
    with pytest.raises(ValueError, match="need at least 1,000 customers and 13 weeks"):
        generator.generate(tmp_path, customers=customers, weeks=weeks)


# ------------------------------------------------------------------ the shipped set


@pytest.mark.parametrize(
    "name",
    [
        "history.parquet",
        f"snapshots/{SNAPSHOT_WEEK}.csv",
        "outcomes.csv",
        "past_mailings.csv",
        "fund_index.csv",
        "ground_truth.json",
        "README.md",
        "scenarios/README.md",
        f"scenarios/late_load_{SNAPSHOT_WEEK}.parquet",
        f"scenarios/market_crash_{SNAPSHOT_WEEK}.parquet",
        f"scenarios/unit_change_{SNAPSHOT_WEEK}.parquet",
    ],
)
def test_shipped_file_exists(name):
    assert (SAMPLE_DATA / name).is_file(), f"missing sample_data/{name}; regenerate: see sample_data/README.md"


def test_shipped_snapshot_is_a_cp1252_extract_with_sensitive_columns():
    raw = (SAMPLE_DATA / "snapshots" / f"{SNAPSHOT_WEEK}.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the accented names are single cp1252 bytes, not UTF-8
    text = raw.decode("cp1252")

    header, first_row = text.split("\r\n")[:2]
    assert set(SENSITIVE) <= set(header.split(";"))
    assert "ë" in text and "ü" in text
    assert "\n" not in text.replace("\r\n", "")
    savings = first_row.split(";")[header.split(";").index("SAVINGS_BAL")]
    assert "," in savings and "." not in savings


def test_shipped_history_is_consecutive_mondays_ending_the_week_before_the_snapshot():
    snapshot = pl.read_csv(
        SAMPLE_DATA / "snapshots" / f"{SNAPSHOT_WEEK}.csv",
        separator=";",
        decimal_comma=True,
        encoding="cp1252",
        try_parse_dates=True,
    )
    history = pl.read_parquet(SAMPLE_DATA / "history.parquet")
    weeks = history["SNAPSHOT_DATE"].unique().sort().to_list()

    assert snapshot["SNAPSHOT_DATE"].unique().to_list() == [dt.date.fromisocalendar(2026, 47, 1)]
    assert all(day.weekday() == 0 for day in weeks)
    assert all(later - earlier == dt.timedelta(weeks=1) for earlier, later in zip(weeks, weeks[1:]))
    assert weeks[-1] == snapshot["SNAPSHOT_DATE"][0] - dt.timedelta(weeks=1)
    assert len(weeks) == 77
    assert history.equals(history.sort("RELATION_NO", "SNAPSHOT_DATE"))
    assert not set(SENSITIVE) & set(history.columns)


def test_shipped_ground_truth_states_a_positive_true_uplift_for_the_model_group():
    truth = json.loads((SAMPLE_DATA / "ground_truth.json").read_text(encoding="utf-8"))
    model = truth["past_mailings"]["model"]

    assert truth["last_week"] == SNAPSHOT_WEEK
    assert model["true_uplift"] > 0
    assert model["true_uplift"] == pytest.approx(
        model["true_conversion_if_mailed"] - model["true_conversion_if_not_mailed"], abs=1e-5
    )
    assert truth["past_mailings"]["random_control"]["true_uplift"] > 0
