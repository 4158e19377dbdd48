"""The model card: what a trained model is for, what it uses, how well it did, when not to use it.

The engine supplies what only its authors know (purpose, method, exclusions,
weaknesses); the toolkit fills in what it measured when it trained the
model (window, data hashes, out-of-time metrics, the band of the market seen
in training) and what the workspace approved (the data-use register). The
card is written next to the model as ``models/<id>.md`` and printed by
``nba-toolkit model card``.
"""

from __future__ import annotations

from typing import Any

from nba_toolkit.core.check_settings import MarketRegimeSettings
from nba_toolkit.core.governance import FeatureUse
from nba_toolkit.core.market import model_bands


def render(sidecar: dict[str, Any], register: dict[str, FeatureUse], *, owner: str = "", contacts: str = "") -> str:
    card = sidecar.get("model_card", {})
    metrics = sidecar.get("metrics", {})
    oot = metrics.get("out_of_time", {})
    window = sidecar.get("training_window", {})
    lines = [
        f"# Model card: {sidecar['model_id']}",
        "",
        f"Engine **{sidecar['engine']}** {sidecar['engine_version']}, trained {sidecar['trained_at']} by "
        f"{sidecar['trained_by']} with nba-toolkit {sidecar['toolkit_version']}.",
        "",
        "## Purpose and intended population",
        "",
        card.get("purpose", "The engine states no purpose."),
        "",
        f"Population: {card.get('population', 'not stated by the engine')}",
        "",
        "## Method",
        "",
        card.get("method", "The engine states no method."),
        "",
        f"Label: opened an investment account within {sidecar.get('label_window_weeks', '?')} weeks of the snapshot.",
        "",
        "## Features",
        "",
        "| feature | in plain words |",
        "|---|---|",
        *[f"| `{name}` | {label} |" for name, label in sidecar.get("features", {}).items()],
        "",
        "## Data used, and its approval",
        "",
        "| data | purpose | source | approved by | on |",
        "|---|---|---|---|---|",
    ]
    for column in sidecar.get("data_columns", []):
        entry = register.get(column)
        if entry is None:
            lines.append(f"| `{column}` | **not in the data-use register** | | | |")
        else:
            approved_by = entry.approved_by or "**not approved**"
            lines.append(f"| `{column}` | {entry.purpose} | {entry.source} | {approved_by} | {entry.approved_on} |")
    lines += ["", "## Data deliberately left out", ""]
    lines += [f"- {item}" for item in card.get("excluded_data", [])] or ["- The engine lists none."]
    lines += [
        "",
        "## Training",
        "",
        f"- Fitted on {_span(window.get('train'))}; validated out of time on {_span(window.get('validation'))}; "
        "the final model was refitted on both.",
        f"- {sidecar.get('rows', 0):,} customer-weeks, {sidecar.get('positives', 0):,} followed by an account "
        "within the label window.",
    ]
    lines += [f"- {line}" for line in sampling_lines(sidecar.get("training_sample"))]
    lines += [f"- {line}" for line in known_until_lines(sidecar.get("outcomes_known_until"))]
    lines += [f"- {line}" for line in imputed_lines(sidecar.get("imputed") or {})]
    for name, data in sidecar.get("data", {}).items():
        lines.append(f"- {name}: `{data['path']}`, {data['rows']:,} rows, SHA-256 `{data['sha256']}`")
    lines += [
        f"- Model file SHA-256 `{sidecar.get('sha256', '')}`; libraries: "
        + ", ".join(f"{k} {v}" for k, v in sorted(sidecar.get("libraries", {}).items())),
        "",
        "## Out-of-time performance",
        "",
    ]
    if oot:
        lines += [f"- {line}" for line in quality_lines(metrics)]
        lines += [
            f"- Brier score {oot['brier']:.4f}.",
            "",
            "Calibration by score decile (validation weeks, pooled):",
            "",
            "| decile | customers | mean score | observed rate |",
            "|---|---|---|---|",
            *[
                f"| {row['decile'] + 1} | {row['customers']:,} | {row['mean_score']:.2%} | {row['conversion_rate']:.2%} |"
                for row in oot.get("calibration", [])
            ],
        ]
        weekly = oot.get("per_week") or []
        if weekly:
            lines += [
                "",
                "Each validation week on its own:",
                "",
                "| week of | customers | conversion | mean score | top | top converts | lift | AUC in the week |",
                "|---|---|---|---|---|---|---|---|",
                *[
                    f"| {w['week']} | {w['customers']:,} | {w['base_rate']:.2%} | {w['mean_score']:.2%} | {w['top']:,} | "
                    f"{w['top_conversion_rate']:.2%} | {_times(w['lift'])} | {_figure(w['auc'])} |"
                    for w in weekly
                ],
            ]
    else:
        lines.append("No out-of-time metrics were recorded.")
    lines += ["", "## Model checks at training", ""]
    checks = sidecar.get("checks") or []
    lines += [
        f"- **{c['check']}** ({c['severity']}, {c['status']}): {c['message']}"
        + (f" Measured: {c['measured']}; threshold: {c['threshold']}." if c.get("measured") is not None else "")
        for c in checks
    ] or ["- None were recorded."]
    lines += ["", "## Known weaknesses", ""]
    lines += [f"- {item}" for item in card.get("weaknesses", [])] or ["- The engine lists none."]
    lines += ["", "## When not to use it", ""]
    lines += [f"- {item}" for item in card.get("do_not_use_when", [])]
    market = MarketRegimeSettings()
    names = market.features or tuple(sidecar.get("market_features") or ())
    for name, band in model_bands(sidecar.get("reference", {}), names, width=market.robust_sd).items():
        lines.append(
            f"- `{name}` outside {band.describe()}: the market's normal band. Outside it people take the wheel "
            "(the weekly run is blocked), also in a market like one the model saw in training."
        )
    lines += [
        "",
        "## Owner and contacts",
        "",
        f"- Owner: {owner or 'not set (add [governance] owner to nba.toml)'}",
        f"- Contacts: {contacts or 'not set (add [governance] contacts to nba.toml)'}",
        "",
    ]
    return "\n".join(lines)


def imputed_lines(imputed: dict[str, Any]) -> list[str]:
    """Each optional input filled in at training, with its share of the training rows, for the card and the CLI.

    The model learned nothing from those rows' own values: a stand-in is the
    same for everyone it fills.
    """
    lines = []
    for column, d in imputed.items():
        where = "not in the history" if d["missing_from_file"] else "empty in the history"
        how = "the median of the training rows" if d["how"] == "median" else "the engine's stand-in"
        lines.append(
            f"{column} missing for {_share(d['share'])} of training rows ({where}), filled with {d['value']} ({how}); "
            "the model learned nothing from those rows' own values."
        )
    return lines


def _share(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"


def sampling_lines(sample: dict[str, Any] | None) -> list[str]:
    """What a sampled training fitted on, and what that means for the figures (core/sampling.py); none when unsampled."""
    if not sample:
        return []
    return [
        f"Fitted on a sample of {sample['drawn']:,} of the {sample['rows']:,} customer-weeks (more than "
        f"[engine] training_sample_rows, {sample['limit']:,}): every one of the {sample['positives']:,} followed by an "
        f"account, and {sample['negatives_rate']:.2%} of the others in each week, drawn at random with seed "
        f"{sample['seed']}; each of those counted for the rows of its week left out, so the probabilities are the "
        "history's. The out-of-time figures below are measured on every customer of the validation weeks.",
    ]


def known_until_lines(known: dict[str, Any] | None) -> list[str]:
    """Up to when the outcomes counted as known; a model trained before this was recorded says nothing."""
    if not known:
        return []
    return [
        f"Outcomes known until {known['date']} ({known['source']}): the {known['weeks_left_out']} newest "
        "history weeks, whose label window ends later, were left out rather than labelled as no account opened."
    ]


def quality_lines(metrics: dict[str, Any]) -> list[str]:
    """The validation figures in plain words, each next to its references, for the card, the CLI and the Model screen.

    Older models recorded only the pooled figures; they are shown as such.
    """
    oot = metrics.get("out_of_time") or {}
    if not oot:
        return ["No out-of-time figures were recorded."]
    references = metrics.get("references") or {}
    within = oot.get("auc_within_week")
    lines = []
    if within is not None:
        compared = _beside(references, "auc_within_week", _figure)
        lines.append(
            f"Within a validation week the model ranks customers at AUC {within:.3f}"
            + (f" ({'; '.join(compared)})" if compared else "")
            + f". Pooled over weeks {oot['auc']:.3f}; on the training weeks {_figure(metrics.get('in_time_auc_within_week'))}"
            " within a week. 0.5 is guessing, 1.0 is perfect."
        )
    else:
        lines.append(
            f"AUC {oot['auc']:.3f} pooled over the validation weeks (in time {_figure(metrics.get('in_time_auc'))}). "
            "0.5 is guessing, 1.0 is perfect."
        )
    lift = oot.get("lift_at_capacity")
    if lift is None:
        lines.append("Lift at capacity could not be measured (no conversions in the validation weeks).")
    elif "per_week" not in oot:
        lines.append(
            f"The validation weeks' tops together converted {lift:.2f} times as often as average (pooled over weeks, "
            "a figure that flatters any model when week sizes differ; retrain for the weekly figure)."
        )
    else:
        spread = oot.get("lift_at_capacity_range")
        compared = _beside(references, "lift_at_capacity", _times)
        lines.append(
            f"The top of each week, up to the capacity, converts {lift:.2f} times as often as that week's average"
            + (f" (weeks from {spread[0]:.2f} to {spread[1]:.2f})" if spread else "")
            + (f"; {'; '.join(compared)}" if compared else "")
            + "."
        )
    lines.append(f"Mean score {oot['mean_score']:.2%} against {oot['base_rate']:.2%} observed.")
    return lines


def _beside(references: dict[str, Any], figure: str, shown: Any) -> list[str]:
    """The same figure of the reference rankings: a random one and the best single feature."""
    random, single = references.get("random") or {}, references.get("single_feature") or {}
    compared = [f"a random ranking {shown(random.get(figure))}"] if random else []
    if single:
        compared.append(f"{single['feature']} alone {shown(single.get(figure))}")
    return compared


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _span(weeks: list[str] | None) -> str:
    return f"{weeks[0]} to {weeks[1]}" if weeks else "unknown weeks"
