"""The second synthetic bank: reproducible, unlike the sample in its columns, and true to its stated truth."""

from __future__ import annotations

import polars as pl
from other_bank_files import other_bank_generator

SAMPLE_COLUMNS = {"RELATION_NO", "SAVINGS_BAL", "CURRENT_BAL", "AGE_BAND", "FUND_CHG_1W", "FUND_CHG_4W"}


def test_same_arguments_give_the_same_files(tmp_path) -> None:
    generator = other_bank_generator()
    first = generator.generate(tmp_path / "a", customers=1000, weeks=12)
    second = generator.generate(tmp_path / "b", customers=1000, weeks=12)

    names = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert [str(n) for n in names] == ["ground_truth.json", "history.parquet", "outcomes.csv", "snapshots/2026-W47.csv"]
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)
    assert first == second


def test_its_columns_are_the_banks_own_and_its_truth_holds(other_bank) -> None:
    history = pl.read_parquet(other_bank.folder / "history.parquet")
    header = (other_bank.extract.read_text(encoding="utf-8").splitlines()[0]).split(";")

    assert not SAMPLE_COLUMNS & set(header)
    assert {"GENDER", "POSTCODE"} <= set(header) and not {"GENDER", "POSTCODE"} & set(history.columns)
    assert set(history["HOUSING_LOAN"].unique()) == {"J", "N"}
    assert set(history["PERSONAL_LOAN"].unique()) == {"yes", "no"}
    assert history["JOB"].n_unique() == 8
    never = history.filter(pl.col("PREV_CONTACTS") == 0)["DAYS_SINCE_CONTACT"].unique().to_list()
    assert never == [other_bank.truth["never_contacted"]]
    # the strongest true effect is the one the spread names, and every column without an effect is listed
    spread = other_bank.truth["log_odds_spread"]
    assert other_bank.truth["strongest"] == max(spread, key=spread.get) == "EDUCATION"
    assert set(other_bank.truth["no_effect"]) == {"MARITAL_STATUS", "DAYS_SINCE_CONTACT"}


def test_the_call_duration_leaks_the_outcome(other_bank) -> None:
    """Recorded after the outcome: long calls are the ones followed by an account within 4 weeks."""
    history = pl.read_parquet(other_bank.folder / "history.parquet")
    outcomes = pl.read_csv(other_bank.folder / "outcomes.csv", try_parse_dates=True)
    joined = history.join(outcomes, on="KLANT_ID", how="left").with_columns(
        ((pl.col("OPENED_DATE") >= pl.col("PEILDATUM")) & (pl.col("OPENED_DATE") < pl.col("PEILDATUM") + pl.duration(weeks=4)))
        .fill_null(False)
        .alias("converts")
    )
    means = dict(joined.group_by("converts").agg(pl.col("CALL_DURATION_SEC").mean()).iter_rows())
    assert means[True] > means[False] + 300
