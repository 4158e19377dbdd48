"""Generate a second synthetic bank whose extract looks nothing like the sample's, with a known truth.

The toolkit promises that a bank can use its own columns without writing Python: map a few,
declare the rest in ``[features]``. This bank proves it. Its warehouse names its columns its
own way (``KLANT_ID``, ``PEILDATUM``), keeps age in years, job, marital status and education as
text, loans as ``J``/``N`` and ``yes``/``no`` flags, counts earlier campaign contacts and writes
999 for "never contacted". It has no balances and no fund index. It also carries what a raw
extract carries and a person must leave out: a contract number (an id), a customer-since date,
the duration of the sales call (recorded after the outcome, so it leaks it), gender and postcode.

Who opens an investment account follows a known weekly logistic hazard of some of these
columns (``TRUE_EFFECTS``); marital status and the days since the last contact have no effect.
``ground_truth.json`` states the coefficients and which feature moves the odds most, so a test
can check what training recovers. Small on purpose (3,000 customers, 30 weeks): a test trains on
it in seconds.

It imports only numpy, polars and the standard library, never ``nba_toolkit``. Same arguments
give the same files.

    python sample_data/other_bank.py --out /tmp/other-bank
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

DEFAULT_CUSTOMERS = 3_000
DEFAULT_WEEKS = 30
DEFAULT_SEED = 20261130
#: the Monday of this week's extract (ISO week 2026-W47); the history is the weeks before it
SNAPSHOT_MONDAY = date(2026, 11, 16)

JOBS = ("admin", "blue-collar", "management", "retired", "self-employed", "services", "student", "technician")
JOB_SHARES = (0.18, 0.20, 0.15, 0.08, 0.06, 0.12, 0.05, 0.16)
MARITAL = ("married", "single", "divorced")
MARITAL_SHARES = (0.58, 0.30, 0.12)
EDUCATION = ("primary", "secondary", "tertiary", "unknown")
EDUCATION_SHARES = (0.15, 0.50, 0.30, 0.05)

# The true weekly hazard: logit(h) = b0 + the effects below + an unobserved effect per customer.
JOB_EFFECT = {
    "admin": 0.1,
    "blue-collar": -0.4,
    "management": 0.4,
    "retired": 0.4,
    "self-employed": 0.2,
    "services": -0.2,
    "student": 0.5,
    "technician": 0.0,
}
EDUCATION_EFFECT = {"primary": -0.9, "secondary": 0.0, "tertiary": 1.1, "unknown": -0.2}
COEF_AGE_PER_YEAR = 0.025  # per year above 40
COEF_HOUSING_LOAN = -0.6
COEF_PERSONAL_LOAN = -0.4
COEF_PREVIOUS_CONTACT = 0.3  # per contact in earlier campaigns
UNOBSERVED_SD = 0.3
TARGET_MEAN_HAZARD = 0.012
INITIAL_INVESTOR_SHARE = 0.08
#: the extract's marker for "never contacted" in DAYS_SINCE_CONTACT
NEVER = 999

#: the extract column behind each effect, for the truth file and for tests
TRUE_EFFECTS = {
    "EDUCATION": EDUCATION_EFFECT,
    "JOB": JOB_EFFECT,
    "AGE_YEARS": COEF_AGE_PER_YEAR,
    "HOUSING_LOAN": COEF_HOUSING_LOAN,
    "PERSONAL_LOAN": COEF_PERSONAL_LOAN,
    "PREV_CONTACTS": COEF_PREVIOUS_CONTACT,
    "MARITAL_STATUS": 0.0,
    "DAYS_SINCE_CONTACT": 0.0,
}


def week_label(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _customers(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Attributes that do not change over the 30 weeks, one entry per customer."""
    previous = np.where(rng.random(n) < 0.25, 1 + rng.poisson(1.2, n), 0)
    return {
        "KLANT_ID": np.sort(rng.choice(9_000_000, n, replace=False)).astype(np.int64) + 1_000_000,
        "CONTRACT_NR": np.char.add("C", rng.choice(900_000_000, n, replace=False).astype(np.int64).astype(str)),
        "CUSTOMER_SINCE": np.datetime64("2000-01-01") + rng.integers(0, 9000, n).astype("timedelta64[D]"),
        "GENDER": np.where(rng.random(n) < 0.5, "F", "M"),
        "POSTCODE": np.char.add(rng.integers(1000, 10_000, n).astype(str), " AB"),
        "AGE_YEARS": rng.integers(18, 81, n),
        "JOB": np.array(JOBS)[rng.choice(len(JOBS), n, p=JOB_SHARES)],
        "MARITAL_STATUS": np.array(MARITAL)[rng.choice(len(MARITAL), n, p=MARITAL_SHARES)],
        "EDUCATION": np.array(EDUCATION)[rng.choice(len(EDUCATION), n, p=EDUCATION_SHARES)],
        "HOUSING_LOAN": rng.random(n) < 0.5,
        "PERSONAL_LOAN": rng.random(n) < 0.2,
        "PREV_CONTACTS": previous,
        "DAYS_SINCE_CONTACT": np.where(previous > 0, rng.integers(1, 366, n), NEVER),
        "consent": rng.random(n) < 0.85,
        "unobserved": rng.normal(0.0, UNOBSERVED_SD, n),
    }


def customer_logit(c: dict[str, np.ndarray]) -> np.ndarray:
    """The hazard logit without the intercept: exactly ``TRUE_EFFECTS`` plus the unobserved effect."""
    return (
        np.vectorize(EDUCATION_EFFECT.get)(c["EDUCATION"])
        + np.vectorize(JOB_EFFECT.get)(c["JOB"])
        + COEF_AGE_PER_YEAR * (c["AGE_YEARS"] - 40)
        + COEF_HOUSING_LOAN * c["HOUSING_LOAN"]
        + COEF_PERSONAL_LOAN * c["PERSONAL_LOAN"]
        + COEF_PREVIOUS_CONTACT * c["PREV_CONTACTS"]
        + c["unobserved"]
    )


def _intercept(logit: np.ndarray) -> float:
    """b0 such that the mean weekly hazard of the customers is ``TARGET_MEAN_HAZARD`` (bisection)."""
    low, high = -30.0, 30.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if _sigmoid(logit + mid).mean() < TARGET_MEAN_HAZARD else (low, mid)
    return (low + high) / 2


def _spread(c: dict[str, np.ndarray]) -> dict[str, float]:
    """How far each column moves the log-odds across customers (its contribution's standard deviation)."""
    parts = {
        "EDUCATION": np.vectorize(EDUCATION_EFFECT.get)(c["EDUCATION"]),
        "JOB": np.vectorize(JOB_EFFECT.get)(c["JOB"]),
        "AGE_YEARS": COEF_AGE_PER_YEAR * c["AGE_YEARS"],
        "HOUSING_LOAN": COEF_HOUSING_LOAN * c["HOUSING_LOAN"],
        "PERSONAL_LOAN": COEF_PERSONAL_LOAN * c["PERSONAL_LOAN"],
        "PREV_CONTACTS": COEF_PREVIOUS_CONTACT * c["PREV_CONTACTS"],
    }
    return {column: round(float(np.std(values)), 4) for column, values in parts.items()}


def _flag(values: np.ndarray, yes: str, no: str) -> np.ndarray:
    return np.where(values, yes, no)


def _week_frame(c: dict[str, np.ndarray], monday: date, investor: np.ndarray, duration: np.ndarray) -> pl.DataFrame:
    """One week in the bank's column names: its flags as J/N and yes/no, as its warehouse writes them."""
    n = c["KLANT_ID"].size
    return pl.DataFrame(
        {
            "KLANT_ID": c["KLANT_ID"],
            "PEILDATUM": pl.Series([monday] * n, dtype=pl.Date),
            "CONTRACT_NR": c["CONTRACT_NR"],
            "CUSTOMER_SINCE": pl.Series(c["CUSTOMER_SINCE"]).cast(pl.Date),
            "GENDER": c["GENDER"],
            "POSTCODE": c["POSTCODE"],
            "AGE_YEARS": c["AGE_YEARS"],
            "JOB": c["JOB"],
            "MARITAL_STATUS": c["MARITAL_STATUS"],
            "EDUCATION": c["EDUCATION"],
            "HOUSING_LOAN": _flag(c["HOUSING_LOAN"], "J", "N"),
            "PERSONAL_LOAN": _flag(c["PERSONAL_LOAN"], "yes", "no"),
            "PREV_CONTACTS": c["PREV_CONTACTS"],
            "DAYS_SINCE_CONTACT": c["DAYS_SINCE_CONTACT"],
            "HEEFT_BELEGGING": _flag(investor, "J", "N"),
            "MAG_MAILEN": _flag(c["consent"], "J", "N"),
            "CALL_DURATION_SEC": duration,
        }
    )


def generate(out: Path, customers: int = DEFAULT_CUSTOMERS, weeks: int = DEFAULT_WEEKS, seed: int = DEFAULT_SEED) -> dict:
    """Write history.parquet, outcomes.csv, snapshots/<week>.csv and ground_truth.json to ``out``; return the truth.

    Each week every customer without an investment account opens one with
    the true hazard, on a random day of that week, and holds it from the next
    week's snapshot on. The call duration of a week is long when the
    customer opens an account within 4 weeks of it: it was recorded after
    the outcome, which is why it must not be a feature.
    """
    out = Path(out)
    (out / "snapshots").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    c = _customers(customers, rng)
    logit = customer_logit(c)
    b0 = _intercept(logit)
    hazard = _sigmoid(b0 + logit)
    mondays = [SNAPSHOT_MONDAY - timedelta(weeks=weeks - t) for t in range(weeks)]
    investor = rng.random(customers) < INITIAL_INVESTOR_SHARE
    opened_week = np.full(customers, -1)
    opened_day = np.empty(customers, dtype="datetime64[D]")
    for t, monday in enumerate(mondays):
        opens = ~investor & (opened_week < 0) & (rng.random(customers) < hazard)
        opened_week[opens] = t
        opened_day[opens] = np.datetime64(monday) + rng.integers(0, 7, int(opens.sum())).astype("timedelta64[D]")
    frames = []
    for t, monday in enumerate(mondays):
        holds = investor | ((opened_week >= 0) & (opened_week < t))
        converts_soon = (opened_week >= t) & (opened_week < t + 4)
        duration = np.round(rng.lognormal(np.log(120), 0.5, customers) + 400 * converts_soon).astype(np.int64)
        frames.append(_week_frame(c, monday, holds, duration))
    history = pl.concat(frames).drop("GENDER", "POSTCODE").sort("KLANT_ID", "PEILDATUM")
    history.write_parquet(out / "history.parquet")
    opened = opened_week >= 0
    pl.DataFrame(
        {
            "KLANT_ID": c["KLANT_ID"][opened],
            "OPENED_DATE": pl.Series(opened_day[opened]).cast(pl.Date),
            "INVESTED_AMOUNT": np.round(rng.lognormal(np.log(2500), 0.8, int(opened.sum())), 2),
        }
    ).sort("OPENED_DATE", "KLANT_ID").write_csv(out / "outcomes.csv")
    this_week = investor | opened
    duration = np.round(rng.lognormal(np.log(120), 0.5, customers)).astype(np.int64)
    snapshot = _week_frame(c, SNAPSHOT_MONDAY, this_week, duration)
    path = out / "snapshots" / f"{week_label(SNAPSHOT_MONDAY)}.csv"
    path.write_text(snapshot.write_csv(separator=";", date_format="%d-%m-%Y"), encoding="utf-8")
    spread = _spread(c)
    truth = {
        "seed": seed,
        "sizes": {"customers": customers, "weeks": weeks},
        "history_weeks": [week_label(mondays[0]), week_label(mondays[-1])],
        "snapshot_week": week_label(SNAPSHOT_MONDAY),
        "hazard": {
            "formula": "logit(h) = b0 + education_effect[EDUCATION] + job_effect[JOB] + 0.025*(AGE_YEARS-40) "
            "- 0.6*HOUSING_LOAN - 0.4*PERSONAL_LOAN + 0.3*PREV_CONTACTS + unobserved",
            "b0": round(b0, 6),
            "effects": TRUE_EFFECTS,
            "unobserved_effect_sd": UNOBSERVED_SD,
            "target_mean_weekly_hazard": TARGET_MEAN_HAZARD,
        },
        "log_odds_spread": spread,
        "strongest": max(spread, key=spread.get),
        "no_effect": [column for column, effect in TRUE_EFFECTS.items() if effect == 0.0],
        "never_contacted": NEVER,
        "leaks_the_outcome": ["CALL_DURATION_SEC"],
        "conversions": int(opened.sum()),
    }
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write to (created if missing)")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--weeks", type=int, default=DEFAULT_WEEKS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    truth = generate(args.out, args.customers, args.weeks, args.seed)
    print(f"wrote {args.customers:,} customers, {truth['history_weeks'][0]}..{truth['snapshot_week']} to {args.out}")


if __name__ == "__main__":
    main()
