"""Generate nba-toolkit's synthetic sample data: weekly snapshots, outcomes and past mailings.

The toolkit must be learnable, checkable and evaluable without a real bank's data, so this
script simulates one: 20,000 customers over 78 weekly warehouse snapshots, the investment
accounts they open, and the mailings a previous engine sent them, with holdout and random
control groups. Because the simulation knows the truth (the hazard formula and the true
uplift of a mailing), ``ground_truth.json`` states what training and evaluation should
recover.

It imports only numpy, polars and the standard library, never ``nba_toolkit``: the data must
not depend on the code it is meant to test. Same arguments give byte-identical files.

    python sample_data/generate.py --out sample_data
    python sample_data/generate.py --out /tmp/big --customers 1000000 --snapshot-only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

DEFAULT_CUSTOMERS = 20_000
DEFAULT_WEEKS = 78
DEFAULT_SEED = 20261116
LAST_SNAPSHOT = date(2026, 11, 16)  # Monday of ISO week 2026-W47

# The warehouse refreshes customer attributes monthly; snapshots in between repeat them.
REFRESH_WEEKS = 4

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_SHARES = (0.10, 0.17, 0.18, 0.19, 0.17, 0.19)
AGE_SAVINGS_SHIFT = (-1.0, -0.45, -0.05, 0.25, 0.45, 0.55)  # log-scale: savings grow with age
AGE_APP_SHARE = (0.85, 0.85, 0.75, 0.60, 0.45, 0.25)

# The true weekly hazard of opening an investment account (see README.md, "The ground truth").
COEF_SAVINGS = 0.9
COEF_CURRENT = 0.3
COEF_ENGAGEMENT = 1.3
COEF_PRODUCTS = 0.2
COEF_FUND_4W = 0.06
COEF_FUND_1W = 0.04
AGE_EFFECT = {"18-24": -0.4, "25-34": 0.0, "35-44": 0.3, "45-54": 0.3, "55-64": 0.0, "65+": -0.4}
MAY_EFFECT = 0.6
UNOBSERVED_SD = 0.5
TARGET_MEAN_HAZARD = 0.0025
INITIAL_INVESTOR_SHARE = 0.10

MAIL_MULTIPLIER = 1.6
MAIL_WEEKS = 4

# The bank's own fund index: a random walk with a crash like March 2020.
FUND_DRIFT = 0.0015
FUND_SD = 0.015
CRASH_WEEKS = ("2026-W10", "2026-W11", "2026-W12", "2026-W13")
CRASH_DEPTH = 0.30
RECOVERY_WEEKS = 12

# The previous engine, whose mailings make the contact history and the control groups.
FIRST_MAILING_WEEK = 8  # 0-based: the 9th snapshot
CAPACITY = 1500
THRESHOLD_QUANTILE = 0.70
RANK_NOISE_SD = 0.5
HOLDOUT_SHARE = 0.10
HOLDOUT_SALT = "history"
RANDOM_CONTROL_PER_WEEK = 75
BASELINE_SAMPLE_SHARE = 0.02
COOLDOWN_WEEKS = 4

FEMALE_FIRST = (
    "Zoë",
    "Anaïs",
    "Chloé",
    "Mariëlle",
    "Hélène",
    "Emma",
    "Sophie",
    "Fenna",
    "Fatima",
    "Ineke",
    "Noor",
    "Saskia",
    "Anouk",
    "Maaike",
    "Inès",
)
MALE_FIRST = (
    "René",
    "Noël",
    "Jörg",
    "Joël",
    "Björn",
    "Daan",
    "Sjoerd",
    "Lars",
    "Mohammed",
    "Ruud",
    "Pieter",
    "Thijs",
    "Sem",
    "Hüseyin",
    "Gaël",
)
LAST_NAMES = (
    "Müller",
    "Janssen",
    "de Vries",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Dijk",
    "Schröder",
    "Öztürk",
    "Çelik",
    "Brouwer",
    "Dekker",
    "Jansen",
    "van der Meer",
    "Lefèvre",
    "Mäkelä",
    "Koç",
)
POSTCODE_LETTERS = np.array(list("ABCDEGHJKLMNPRTVWXZ"))  # Dutch postcodes skip F I O Q U Y; S avoids SA/SD/SS


def week_label(day: date) -> str:
    """ISO week label, e.g. ``2026-W47``: how the bank names a weekly snapshot."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-mixed integer hash, the same everywhere (Python's hash() is not)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def holdout_unit(relation_no: np.ndarray, salt: str = HOLDOUT_SALT) -> np.ndarray:
    """A persistent uniform number in [0, 1) per customer, so holdout membership never changes between weeks."""
    salt_int = np.uint64(int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "little"))
    mixed = _splitmix64(relation_no.astype(np.uint64) ^ salt_int)
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True)
class Market:
    """The bank's fund index per snapshot; the changes are what every customer row carries."""

    dates: list[date]
    level: np.ndarray
    chg_1w: np.ndarray
    chg_4w: np.ndarray
    may: np.ndarray

    @property
    def labels(self) -> list[str]:
        return [week_label(d) for d in self.dates]

    def logit(self) -> np.ndarray:
        """The market's weekly contribution to every customer's hazard logit."""
        return COEF_FUND_4W * self.chg_4w + COEF_FUND_1W * self.chg_1w + MAY_EFFECT * self.may


def make_market(weeks: int, rng: np.random.Generator) -> Market:
    """Random walk in log levels, with the crash and its recovery replacing the drift.

    Four warm-up weeks precede the first snapshot so that its 4-week change exists; the
    level is scaled to 100 at the first snapshot.
    """
    dates = [LAST_SNAPSHOT - timedelta(weeks=weeks - 1 - t) for t in range(-4, weeks)]
    labels = [week_label(d) for d in dates]
    steps = rng.normal(np.log1p(FUND_DRIFT), FUND_SD, len(dates))
    steps[0] = 0.0
    if CRASH_WEEKS[0] in labels:
        start = labels.index(CRASH_WEEKS[0])
        crash = slice(start, start + len(CRASH_WEEKS))
        recovery = slice(crash.stop, crash.stop + RECOVERY_WEEKS)
        steps[crash] += np.log(1 - CRASH_DEPTH) / len(CRASH_WEEKS) - np.log1p(FUND_DRIFT)
        steps[recovery] += -np.log(1 - CRASH_DEPTH) / RECOVERY_WEEKS - np.log1p(FUND_DRIFT)
    level = np.exp(np.cumsum(steps))
    level = 100.0 * level / level[4]
    # "+ 0.0" turns a rounded -0.00 into 0.00.
    chg_1w = np.round(100.0 * (level[4:] / level[3:-1] - 1.0), 2) + 0.0
    chg_4w = np.round(100.0 * (level[4:] / level[:-4] - 1.0), 2) + 0.0
    snapshot_dates = dates[4:]
    may = np.array([d.month == 5 for d in snapshot_dates], dtype=np.float64)
    return Market(snapshot_dates, np.round(level[4:], 2), chg_1w, chg_4w, may)


@dataclass
class Customers:
    """One entry per customer, sorted by relation number; the monthly fields hold the current week's values."""

    relation_no: np.ndarray
    age_band: np.ndarray
    consent: np.ndarray
    unobserved: np.ndarray
    num_accounts: np.ndarray
    num_products: np.ndarray
    login_level: np.ndarray
    app_user: np.ndarray
    savings: np.ndarray
    current: np.ndarray
    logins: np.ndarray

    def refresh(self, rng: np.random.Generator) -> None:
        """The monthly warehouse refresh: balances drift a few %, logins are re-drawn, some install the app."""
        n = self.relation_no.size
        self.savings = np.round(self.savings * np.exp(rng.normal(0.002, 0.04, n)), 2)
        self.current = np.round(self.current * np.exp(rng.normal(0.0, 0.06, n)), 2)
        self.logins = np.minimum(rng.poisson(self.login_level), 60)
        self.app_user = np.maximum(self.app_user, (rng.random(n) < 0.01).astype(np.int64))

    def engagement(self) -> np.ndarray:
        """The analyst's one explainable activity feature: app, accounts and logins, each capped at 1."""
        return (self.app_user + np.minimum(self.num_accounts / 4, 1) + np.minimum(self.logins / 30, 1)) / 3


def make_customers(n: int, rng: np.random.Generator) -> Customers:
    relation_no = np.sort(rng.choice(90_000_000, n, replace=False)).astype(np.int64) + 10_000_000
    age_band = rng.choice(len(AGE_BANDS), n, p=AGE_SHARES)
    savings = np.exp(rng.normal(np.log(6000) + np.take(AGE_SAVINGS_SHIFT, age_band), 1.1))
    savings[rng.random(n) < 0.04] = 0.0  # empty savings accounts exist
    current = np.exp(rng.normal(np.log(1500), 0.9, n))
    overdraft = rng.random(n) < 0.06
    current[overdraft] = -np.minimum(np.exp(rng.normal(np.log(200), 0.8, overdraft.sum())), 2500)
    num_accounts = 1 + rng.binomial(5, 0.22, n)
    login_level = np.exp(rng.normal(np.log(6), 0.9, n))
    return Customers(
        relation_no=relation_no,
        age_band=age_band,
        consent=(rng.random(n) < 0.80).astype(np.int64),
        unobserved=rng.normal(0.0, UNOBSERVED_SD, n),
        num_accounts=num_accounts,
        num_products=np.minimum(num_accounts + rng.binomial(4, 0.25, n), 8),
        login_level=login_level,
        app_user=(rng.random(n) < np.take(AGE_APP_SHARE, age_band)).astype(np.int64),
        savings=np.round(savings, 2),
        current=np.round(current, 2),
        logins=np.minimum(rng.poisson(login_level), 60),
    )


@dataclass(frozen=True)
class Scaling:
    """Fixed z-score constants (from the first snapshot), so the hazard is an exact function of the columns."""

    savings_mean: float
    savings_sd: float
    current_mean: float
    current_sd: float

    @classmethod
    def of(cls, c: Customers) -> Scaling:
        s, k = np.log1p(c.savings), np.log1p(np.maximum(c.current, 0))
        return cls(float(s.mean()), float(s.std()), float(k.mean()), float(k.std()))

    def z_savings(self, c: Customers) -> np.ndarray:
        return (np.log1p(c.savings) - self.savings_mean) / self.savings_sd


def customer_logit(c: Customers, scaling: Scaling) -> np.ndarray:
    """The hazard logit without intercept and market: the observed features plus the unobserved effect."""
    z_current = (np.log1p(np.maximum(c.current, 0)) - scaling.current_mean) / scaling.current_sd
    age = np.take([AGE_EFFECT[band] for band in AGE_BANDS], c.age_band)
    return (
        COEF_SAVINGS * scaling.z_savings(c)
        + COEF_CURRENT * z_current
        + COEF_ENGAGEMENT * (c.engagement() - 0.5)
        + COEF_PRODUCTS * (c.num_products - 2)
        + age
        + c.unobserved
    )


def _solve_shift(logit: np.ndarray, target: float) -> float:
    """The constant that makes mean(sigmoid(logit + constant)) equal target, by bisection (the mean is monotone)."""
    return _bisect(lambda shift: float(_sigmoid(logit + shift).mean()), target)


def _bisect(mean_of: Callable[[float], float], target: float) -> float:
    low, high = -30.0, 30.0
    for _ in range(60):
        mid = (low + high) / 2
        if mean_of(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _solve_intercept(customer_part: np.ndarray, market_logit: np.ndarray, target: float) -> float:
    """b0 such that the mean weekly hazard among those still non-investors is ``target``.

    ``customer_part`` are non-investors at the first snapshot, ``market_logit`` the weeks with
    outcomes. Weighting each week by who has not opened yet matters: the likeliest openers
    leave the non-investors first, so an unweighted calibration lands about 10% low.
    """

    def mean_hazard(b0: float) -> float:
        hazard = _sigmoid(b0 + customer_part[None, :] + market_logit[:, None])
        still_open = np.cumprod(np.vstack([np.ones_like(customer_part), 1 - hazard[:-1]]), axis=0)
        return float((still_open * hazard).sum() / still_open.sum())

    return _bisect(mean_hazard, target)


@dataclass(frozen=True)
class Start:
    """What is fixed before the weekly loop: market, intercept, and the customers (at week 0 until refreshed)."""

    customers: Customers
    market: Market
    scaling: Scaling
    initial_investor: np.ndarray
    b0: float


def start(customers: int, weeks: int, streams: list[np.random.Generator]) -> Start:
    """Draw customers and market, then calibrate.

    Wealthier customers are likelier to invest already. b0 is calibrated on at most 5,000
    evenly spaced week-0 non-investors, enough for the mean and fast at any scale.
    """
    c = make_customers(customers, streams[0])
    market = make_market(weeks, streams[1])
    scaling = Scaling.of(c)
    z_savings = scaling.z_savings(c)
    initial_investor = streams[0].random(customers) < _sigmoid(
        COEF_SAVINGS * z_savings + _solve_shift(COEF_SAVINGS * z_savings, INITIAL_INVESTOR_SHARE)
    )
    non_investors = customer_logit(c, scaling)[~initial_investor]
    sample = non_investors[:: max(1, non_investors.size // 5_000)]
    b0 = _solve_intercept(sample, market.logit()[: max(weeks - 1, 1)], TARGET_MEAN_HAZARD)
    return Start(c, market, scaling, initial_investor, b0)


def weekly_logits(s: Start, rng: np.random.Generator) -> Iterator[tuple[int, np.ndarray]]:
    """Yield each week's index and base hazard logit, refreshing ``s.customers`` in place monthly.

    While a week is being handled, ``s.customers`` holds that week's attribute values.
    """
    market_logit = s.market.logit()
    for t in range(len(s.market.dates)):
        if t % REFRESH_WEEKS == 0:
            if t:
                s.customers.refresh(rng)
            customer_part = s.b0 + customer_logit(s.customers, s.scaling)
        yield t, customer_part + market_logit[t]


GROUPS = ("model", "holdout", "random_control", "eligible_not_selected")


@dataclass(frozen=True)
class History:
    """The full simulation: weekly attributes, base hazards, openings and the contact log."""

    start: Start
    weekly: dict[str, np.ndarray]  # (weeks, customers) per monthly-changing column
    hazard: np.ndarray  # (weeks, customers) base weekly hazard, as if still a non-investor
    opened_week: np.ndarray  # week index of opening, -1 if none
    opened_date: np.ndarray
    invested: np.ndarray
    log_week: np.ndarray  # the contact log: one entry per customer per week logged in a group
    log_customer: np.ndarray
    log_group: np.ndarray  # index into GROUPS
    threshold: float

    @property
    def investor_from(self) -> np.ndarray:
        """The first week whose snapshot shows HAS_INVEST_ACC = 1; the number of weeks if never."""
        never = self.hazard.shape[0]
        opened_next = np.where(self.opened_week >= 0, self.opened_week + 1, never)
        return np.where(self.start.initial_investor, 0, opened_next)


def simulate(customers: int, weeks: int, streams: list[np.random.Generator]) -> History:
    """Run the weeks: first the customers' attributes and hazards, then mailings and openings.

    Attributes do not depend on outcomes, so they are simulated first; the true 4-week
    conversion probabilities of a mailing need the hazards of the weeks after it.
    """
    s = start(customers, weeks, streams)
    c, market = s.customers, s.market
    weekly = {
        name: np.empty((weeks, customers), dtype=dtype)
        for name, dtype in (("savings", np.float64), ("current", np.float64), ("app_user", np.int64), ("logins", np.int64))
    }
    logit = np.empty((weeks, customers))
    for t, week_logit in weekly_logits(s, streams[0]):
        logit[t] = week_logit
        for name in weekly:
            weekly[name][t] = getattr(c, name)
    hazard = _sigmoid(logit)

    outcomes, mail_rng = streams[2], streams[3]
    unit = holdout_unit(c.relation_no)
    neutral = COEF_FUND_4W * 100 * ((1 + FUND_DRIFT) ** 4 - 1) + COEF_FUND_1W * 100 * FUND_DRIFT
    investor = s.initial_investor.copy()
    cooldown_until = np.full(customers, -1)
    mailed_until = np.full(customers, -1)
    opened_week = np.full(customers, -1)
    opened_date = np.zeros(customers, dtype="datetime64[D]")
    invested = np.zeros(customers, dtype=np.int64)
    log: list[tuple[int, np.ndarray, int]] = []
    threshold = np.nan
    for t in range(weeks - 1):
        # The last mailing's 4-week window ends with the last history week, so every window is complete.
        if FIRST_MAILING_WEEK <= t <= weeks - 1 - MAIL_WEEKS:
            eligible = np.flatnonzero(~investor & (c.consent == 1) & (cooldown_until < t))
            noise = np.exp(mail_rng.normal(0.0, RANK_NOISE_SD, eligible.size))
            if np.isnan(threshold):  # a fixed cut-off, from a normal market, so bad weeks mail fewer
                neutral_hazard = _sigmoid(logit[t, eligible] - market.logit()[t] + neutral)
                threshold = float(np.quantile(neutral_hazard * noise, THRESHOLD_QUANTILE))
            noisy = hazard[t, eligible] * noise
            ranked = np.argsort(-noisy, kind="stable")
            selected = eligible[ranked[: min(CAPACITY, int((noisy > threshold).sum()))]]
            rest = np.setdiff1d(eligible, selected)
            random_control = np.sort(mail_rng.choice(rest, min(RANDOM_CONTROL_PER_WEEK, rest.size), replace=False))
            rest = np.setdiff1d(rest, random_control)
            baseline = rest[mail_rng.random(rest.size) < BASELINE_SAMPLE_SHARE]
            held = unit[selected] < HOLDOUT_SHARE
            for group, members in (
                ("model", selected[~held]),
                ("holdout", selected[held]),
                ("random_control", random_control),
                ("eligible_not_selected", baseline),
            ):
                log.append((t, members, GROUPS.index(group)))
                # Everyone logged sits out the next weeks, holdout included, so each logged row's
                # 4-week window is free of other mailings and the groups stay comparable.
                cooldown_until[members] = t + COOLDOWN_WEEKS
            mailed_until[selected[~held]] = t + MAIL_WEEKS - 1
            mailed_until[random_control] = t + MAIL_WEEKS - 1
        effective = np.minimum(hazard[t] * np.where(mailed_until >= t, MAIL_MULTIPLIER, 1.0), 1.0)
        opens = np.flatnonzero(~investor & (outcomes.random(customers) < effective))
        opened_week[opens] = t
        opened_date[opens] = np.datetime64(market.dates[t]) + outcomes.integers(0, 7, opens.size)
        amount = 0.2 * weekly["savings"][t, opens] * np.exp(outcomes.normal(0.0, 0.6, opens.size))
        invested[opens] = np.maximum(100, np.round(amount / 10) * 10).astype(np.int64)
        investor[opens] = True
    return History(
        s,
        weekly,
        hazard,
        opened_week,
        opened_date,
        invested,
        log_week=np.concatenate([np.full(members.size, t) for t, members, _ in log]),
        log_customer=np.concatenate([members for _, members, _ in log]),
        log_group=np.concatenate([np.full(members.size, group) for _, members, group in log]),
        threshold=threshold,
    )


def _snapshot_frame(s: Start, week: int, weekly: dict[str, np.ndarray], investor: np.ndarray) -> pl.DataFrame:
    """One week's snapshot in the bank's column names, one row per customer."""
    c, market = s.customers, s.market
    n = c.relation_no.size
    return pl.DataFrame(
        {
            "RELATION_NO": c.relation_no,
            "SNAPSHOT_DATE": pl.Series(np.full(n, np.datetime64(market.dates[week]))).cast(pl.Date),
            "SAVINGS_BAL": weekly["savings"],
            "CURRENT_BAL": weekly["current"],
            "NUM_ACCOUNTS": c.num_accounts,
            "APP_USER": weekly["app_user"],
            "IB_LOGINS_M": weekly["logins"],
            "NUM_PRODUCTS": c.num_products,
            "AGE_BAND": np.array(AGE_BANDS)[c.age_band],
            "HAS_INVEST_ACC": investor.astype(np.int64),
            "MKT_CONSENT": c.consent,
            "FUND_CHG_1W": np.full(n, market.chg_1w[week]),
            "FUND_CHG_4W": np.full(n, market.chg_4w[week]),
        }
    )


def _history_frame(h: History) -> pl.DataFrame:
    """All snapshots but the last, customer-major so the file is sorted by RELATION_NO then SNAPSHOT_DATE."""
    s = h.start
    c, market = s.customers, s.market
    weeks = len(market.dates) - 1
    has_invest = np.arange(weeks)[:, None] >= h.investor_from[None, :]

    def per_customer(matrix: np.ndarray) -> np.ndarray:
        return matrix[:weeks].T.ravel()

    def repeat(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, weeks)

    def tile(values) -> np.ndarray:
        return np.tile(np.asarray(values)[:weeks], c.relation_no.size)

    return pl.DataFrame(
        {
            "RELATION_NO": repeat(c.relation_no),
            "SNAPSHOT_DATE": pl.Series(tile(np.array(market.dates, dtype="datetime64[D]"))).cast(pl.Date),
            "SAVINGS_BAL": per_customer(h.weekly["savings"]),
            "CURRENT_BAL": per_customer(h.weekly["current"]),
            "NUM_ACCOUNTS": repeat(c.num_accounts),
            "APP_USER": per_customer(h.weekly["app_user"]),
            "IB_LOGINS_M": per_customer(h.weekly["logins"]),
            "NUM_PRODUCTS": repeat(c.num_products),
            "AGE_BAND": repeat(np.array(AGE_BANDS)[c.age_band]),
            "HAS_INVEST_ACC": per_customer(has_invest).astype(np.int64),
            "MKT_CONSENT": repeat(c.consent),
            "FUND_CHG_1W": tile(market.chg_1w),
            "FUND_CHG_4W": tile(market.chg_4w),
        }
    )


def _with_sensitive(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Add what a raw warehouse extract carries and the toolkit must drop on load: name, gender, postcode."""
    n = frame.height
    female = rng.random(n) < 0.5
    first = np.where(
        female,
        np.array(FEMALE_FIRST)[rng.integers(0, len(FEMALE_FIRST), n)],
        np.array(MALE_FIRST)[rng.integers(0, len(MALE_FIRST), n)],
    )
    last = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    digits = rng.integers(1000, 10_000, n).astype(str)
    letters = POSTCODE_LETTERS[rng.integers(0, POSTCODE_LETTERS.size, (n, 2))]
    return frame.select(
        "RELATION_NO",
        pl.Series("FULL_NAME", np.char.add(np.char.add(first, " "), last)),
        pl.Series("GENDER", np.where(female, "F", "M")),
        pl.Series("POSTCODE", np.char.add(np.char.add(digits, " "), np.char.add(letters[:, 0], letters[:, 1]))),
        pl.exclude("RELATION_NO"),
    )


def write_bank_csv(frame: pl.DataFrame, path: Path) -> None:
    """The dialect of the bank's extracts: ';', decimal comma, cp1252, CRLF."""
    text = frame.write_csv(separator=";", decimal_comma=True, float_precision=2, line_terminator="\r\n")
    path.write_bytes(text.encode("cp1252"))


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """zstd level 19 makes the history a fifth smaller than the default level; statistics would add nothing."""
    frame.write_parquet(path, compression="zstd", compression_level=19, statistics=False)


def _write_utf8_csv(frame: pl.DataFrame, path: Path) -> None:
    path.write_text(frame.write_csv(float_precision=2), encoding="utf-8", newline="")


def _write_scenarios(snapshot: pl.DataFrame, out: Path, label: str) -> None:
    """One fault per file, each something the input checks must catch before scoring."""
    previous_monday = snapshot["SNAPSHOT_DATE"][0] - timedelta(weeks=1)
    scenarios = {
        f"late_load_{label}.parquet": (
            snapshot.with_columns(pl.lit(previous_monday).alias("SNAPSHOT_DATE")),
            f"the {label} file, but every SNAPSHOT_DATE is the previous week's Monday ({previous_monday}): "
            "the warehouse loaded late; the run must not go ahead.",
        ),
        f"market_crash_{label}.parquet": (
            snapshot.with_columns(pl.lit(-12.5).alias("FUND_CHG_1W"), pl.lit(-31.0).alias("FUND_CHG_4W")),
            "FUND_CHG_1W -12.5 and FUND_CHG_4W -31.0: the market left its normal band; a human must take the wheel.",
        ),
        f"unit_change_{label}.parquet": (
            snapshot.with_columns((pl.col("SAVINGS_BAL", "CURRENT_BAL") * 100).round().cast(pl.Int64)),
            "SAVINGS_BAL and CURRENT_BAL in cents instead of euros: a unit change the unit and drift checks must block.",
        ),
        f"duplicate_ids_{label}.parquet": (
            pl.concat([snapshot, snapshot.head(25)]),
            "the first 25 customers appear twice (a warehouse join gone wrong): the duplicate_ids check blocks and lists them.",
        ),
        f"empty_extract_{label}.parquet": (
            snapshot.head(0),
            "the columns, but not a single customer row (the extract stopped early): the row_count check blocks.",
        ),
    }
    folder = out / "scenarios"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Scenario snapshots",
        "",
        f"Copies of `snapshots/{label}.csv` as Parquet (kept small; the sensitive columns are left out), "
        "each with one fault for the input checks. Written by `generate.py`.",
        "",
    ]
    for name, (frame, why) in scenarios.items():
        _write_parquet(frame.drop("GENDER", "POSTCODE", "FULL_NAME"), folder / name)
        lines.append(f"- `{name}`: {why}")
    (folder / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _r(x: float, digits: int = 6) -> float:
    return round(float(x), digits)


def _truth(s: Start, seed: int, weeks: int, snapshot_only: bool) -> dict:
    """The parts of the truth that hold in both modes: calendar, hazard, mail effect, market."""
    c, market = s.customers, s.market
    labels = market.labels
    crash = [w for w in CRASH_WEEKS if w in labels]
    return {
        "seed": seed,
        "mode": "snapshot_only" if snapshot_only else "full",
        "sizes": {"customers": int(c.relation_no.size), "weeks": weeks},
        "first_week": labels[0],
        "last_week": labels[-1],
        "first_snapshot_date": market.dates[0].isoformat(),
        "last_snapshot_date": market.dates[-1].isoformat(),
        "hazard": {
            "formula": (
                "logit(h) = b0 + 0.9*z(log1p(SAVINGS_BAL)) + 0.3*z(log1p(max(CURRENT_BAL,0))) "
                "+ 1.3*(engagement-0.5) + 0.2*(NUM_PRODUCTS-2) + age_effect[AGE_BAND] "
                "+ 0.06*FUND_CHG_4W + 0.04*FUND_CHG_1W + 0.6*may_week + unobserved"
            ),
            "engagement": "(APP_USER + min(NUM_ACCOUNTS/4, 1) + min(IB_LOGINS_M/30, 1)) / 3",
            "b0": _r(s.b0),
            "coefficients": {
                "z_log1p_savings": COEF_SAVINGS,
                "z_log1p_current_positive": COEF_CURRENT,
                "engagement_minus_half": COEF_ENGAGEMENT,
                "num_products_minus_2": COEF_PRODUCTS,
                "fund_chg_4w": COEF_FUND_4W,
                "fund_chg_1w": COEF_FUND_1W,
            },
            "age_effect": AGE_EFFECT,
            "z_scaling": {
                "log1p_savings": {"mean": _r(s.scaling.savings_mean), "sd": _r(s.scaling.savings_sd)},
                "log1p_current_positive": {"mean": _r(s.scaling.current_mean), "sd": _r(s.scaling.current_sd)},
            },
            "may_effect": MAY_EFFECT,
            "may_weeks": [w for w, m in zip(labels, market.may) if m],
            "unobserved_effect_sd": UNOBSERVED_SD,
            "target_mean_weekly_hazard": TARGET_MEAN_HAZARD,
            "initial_investor_share": _r(s.initial_investor.mean(), 4),
        },
        "mailing_effect": {
            "hazard_multiplier": MAIL_MULTIPLIER,
            "duration_weeks": MAIL_WEEKS,
            "applies": "from the mailing's snapshot week through the 3 weeks after it",
        },
        "market": {
            "weekly_drift_pct": FUND_DRIFT * 100,
            "weekly_sd_pct": FUND_SD * 100,
            "crash_weeks": list(CRASH_WEEKS),
            "crash_weeks_in_calendar": crash,
            "crash_depth": CRASH_DEPTH,
            "recovery_weeks": RECOVERY_WEEKS,
            "crash_fall_pct": (_r(market.chg_4w[labels.index(crash[-1])], 2) if len(crash) == len(CRASH_WEEKS) else None),
        },
    }


def _group_truth(h: History, converted: np.ndarray, invested: np.ndarray) -> dict:
    """Per group: observed results and the true 4-week conversion probability with and without a mailing."""
    window = h.log_week[:, None] + np.arange(MAIL_WEEKS)[None, :]
    base = h.hazard[window, h.log_customer[:, None]]
    if_not_mailed = 1 - np.prod(1 - base, axis=1)
    if_mailed = 1 - np.prod(1 - np.minimum(MAIL_MULTIPLIER * base, 1), axis=1)
    groups = {}
    for code, group in enumerate(GROUPS):
        rows = h.log_group == code
        groups[group] = {
            "n": int(rows.sum()),
            "mailed": group in ("model", "random_control"),
            "observed_conversion_rate": _r(converted[rows].mean()),
            "observed_invested_per_row": _r(invested[rows].mean(), 2),
            "true_conversion_if_mailed": _r(if_mailed[rows].mean()),
            "true_conversion_if_not_mailed": _r(if_not_mailed[rows].mean()),
            "true_uplift": _r((if_mailed[rows] - if_not_mailed[rows]).mean()),
        }
    return groups


def _write_full(out: Path, seed: int, customers: int, weeks: int, streams: list[np.random.Generator]) -> dict:
    """Simulate every week and write the whole sample set."""
    h = simulate(customers, weeks, streams)
    s = h.start
    market, c = s.market, s.customers
    labels = market.labels
    last = weeks - 1

    _write_parquet(_history_frame(h), out / "history.parquet")

    snapshot = _snapshot_frame(s, last, {k: v[last] for k, v in h.weekly.items()}, h.investor_from <= last)
    snapshot = _with_sensitive(snapshot, streams[4])
    (out / "snapshots").mkdir(parents=True, exist_ok=True)
    write_bank_csv(snapshot, out / "snapshots" / f"{labels[last]}.csv")
    _write_scenarios(snapshot, out, labels[last])

    opened = np.flatnonzero(h.opened_week >= 0)
    outcomes = pl.DataFrame(
        {
            "RELATION_NO": c.relation_no[opened],
            "OPENED_DATE": pl.Series(h.opened_date[opened]).cast(pl.Date),
            "INVESTED_AMOUNT": h.invested[opened],
        }
    ).sort("OPENED_DATE", "RELATION_NO")
    _write_utf8_csv(outcomes, out / "outcomes.csv")

    opened_week = h.opened_week[h.log_customer]
    converted = (opened_week >= h.log_week) & (opened_week < h.log_week + MAIL_WEEKS)
    invested = np.where(converted, h.invested[h.log_customer], 0)
    mailed = np.isin(h.log_group, [GROUPS.index("model"), GROUPS.index("random_control")])
    mailings = pl.DataFrame(
        {
            "RELATION_NO": c.relation_no[h.log_customer],
            "WEEK": np.array(labels)[h.log_week],
            "SNAPSHOT_DATE": pl.Series(np.array(market.dates, dtype="datetime64[D]")[h.log_week]).cast(pl.Date),
            "GROUP": np.array(GROUPS)[h.log_group],
            "MAILED": mailed.astype(np.int64),
            "CONVERTED_4W": converted.astype(np.int64),
            "INVESTED_4W": invested,
        }
    ).sort("SNAPSHOT_DATE", "RELATION_NO")
    _write_utf8_csv(mailings, out / "past_mailings.csv")

    _write_utf8_csv(
        pl.DataFrame(
            {
                "WEEK": labels,
                "DATE": pl.Series(market.dates, dtype=pl.Date),
                "INDEX_LEVEL": market.level,
                "CHG_1W_PCT": market.chg_1w,
                "CHG_4W_PCT": market.chg_4w,
            }
        ),
        out / "fund_index.csv",
    )

    truth = _truth(s, seed, weeks, snapshot_only=False)
    truth["sizes"].update(
        {"history_rows": customers * last, "outcomes": int(opened.size), "past_mailing_rows": int(h.log_week.size)}
    )
    # The realised base hazard among non-investors, over the weeks whose outcomes are known.
    at_risk = np.arange(last)[:, None] < h.investor_from[None, :]
    truth["hazard"]["achieved_mean_weekly_hazard"] = _r(h.hazard[:last][at_risk].mean())
    truth["past_mailings"] = _past_mailings_truth(h, converted, invested, mailed)
    return truth


def _past_mailings_truth(h: History, converted: np.ndarray, invested: np.ndarray, mailed: np.ndarray) -> dict:
    labels = h.start.market.labels
    mail_weeks = np.unique(h.log_week)
    mailed_per_week = np.bincount(h.log_week[mailed], minlength=len(labels))[mail_weeks]
    groups = _group_truth(h, converted, invested)
    return {
        "first_week": labels[mail_weeks[0]],
        "last_week": labels[mail_weeks[-1]],
        "rules": {
            "eligible": "HAS_INVEST_ACC = 0, MKT_CONSENT = 1, not logged in any group in the previous 4 weeks",
            "selection": (
                f"noisy hazard = true hazard * lognormal(0, {RANK_NOISE_SD}); above a fixed threshold "
                f"(the {THRESHOLD_QUANTILE:.0%} quantile of the first mailing week's eligible under a "
                f"normal market); top {CAPACITY} by noisy hazard"
            ),
            "threshold": _r(h.threshold, 8),
            "capacity": CAPACITY,
            "holdout": (
                f"selected with splitmix64(RELATION_NO xor sha256('{HOLDOUT_SALT}')[:8] little-endian) "
                f">> 11, times 2**-53, below {HOLDOUT_SHARE}: not mailed"
            ),
            "random_control_per_week": RANDOM_CONTROL_PER_WEEK,
            "eligible_not_selected_sample_share": BASELINE_SAMPLE_SHARE,
            "cooldown_weeks": COOLDOWN_WEEKS,
            "last_mailing": "its 4-week window ends with the last history week, so every window is complete",
        },
        "mailed_per_week": {labels[w]: int(n) for w, n in zip(mail_weeks, mailed_per_week)},
        "conversions_in_history": int((h.opened_week >= 0).sum()),
        **groups,
        "model_vs_holdout": {
            "observed_uplift": _r(groups["model"]["observed_conversion_rate"] - groups["holdout"]["observed_conversion_rate"]),
            "true_uplift": groups["model"]["true_uplift"],
        },
        "random_control_vs_eligible_not_selected": {
            "observed_uplift": _r(
                groups["random_control"]["observed_conversion_rate"] - groups["eligible_not_selected"]["observed_conversion_rate"]
            ),
            "true_uplift": groups["random_control"]["true_uplift"],
        },
    }


def _write_snapshot_only(out: Path, seed: int, customers: int, weeks: int, streams: list[np.random.Generator]) -> dict:
    """Only the last week's snapshot, for benchmarks at scale: no per-week matrices are kept.

    HAS_INVEST_ACC is drawn from each customer's probability of having opened by now under
    the true hazards, without mailings; the other columns match a full run of the same arguments.
    """
    s = start(customers, weeks, streams)
    c, market = s.customers, s.market
    log_survival = np.zeros(customers)
    for t, logit in weekly_logits(s, streams[0]):
        if t < weeks - 1:
            log_survival += np.log1p(-_sigmoid(logit))
    investor = s.initial_investor | (streams[2].random(customers) < -np.expm1(log_survival))
    weekly = {"savings": c.savings, "current": c.current, "app_user": c.app_user, "logins": c.logins}
    (out / "snapshots").mkdir(parents=True, exist_ok=True)
    _write_parquet(_snapshot_frame(s, weeks - 1, weekly, investor), out / "snapshots" / f"{market.labels[-1]}.parquet")
    return _truth(s, seed, weeks, snapshot_only=True)


def generate(
    out: Path,
    customers: int = DEFAULT_CUSTOMERS,
    weeks: int = DEFAULT_WEEKS,
    seed: int = DEFAULT_SEED,
    snapshot_only: bool = False,
) -> dict:
    """Write the sample set to ``out`` and return the ground truth (also written as ground_truth.json)."""
    # A full run needs a mailing week with a complete 4-week window, and enough customers for every group.
    minimum_customers, minimum_weeks = (1, 1) if snapshot_only else (1000, FIRST_MAILING_WEEK + MAIL_WEEKS + 1)
    if customers < minimum_customers or weeks < minimum_weeks:
        raise ValueError(
            f"need at least {minimum_customers:,} customers and {minimum_weeks} weeks, got {customers:,} and {weeks}"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # Independent streams, so e.g. the customers' attributes do not depend on how outcomes were drawn.
    streams = np.random.default_rng(seed).spawn(5)  # customers, market, outcomes, mailings, identities
    write = _write_snapshot_only if snapshot_only else _write_full
    truth = write(out, seed, customers, weeks, streams)
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write to (created if missing)")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--weeks", type=int, default=DEFAULT_WEEKS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--snapshot-only",
        action="store_true",
        help="write only the last week's snapshot as Parquet (for benchmarks) and ground_truth.json",
    )
    args = parser.parse_args(argv)
    began = time.perf_counter()
    truth = generate(args.out, args.customers, args.weeks, args.seed, args.snapshot_only)
    print(
        f"wrote {truth['sizes']['customers']:,} customers, {truth['first_week']}..{truth['last_week']} "
        f"to {args.out} in {time.perf_counter() - began:.1f} s"
    )


if __name__ == "__main__":
    main()
