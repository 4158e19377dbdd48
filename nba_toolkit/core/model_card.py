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

from nba_toolkit.core.governance import FeatureUse

MARKET_FEATURES = ("fund_change_1w", "fund_change_4w")


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
        lift = oot.get("lift_at_capacity")
        lines += [
            f"- AUC {oot['auc']:.3f} on the validation weeks (in time, on the training weeks: "
            f"{metrics.get('in_time_auc', float('nan')):.3f}). 0.5 is guessing, 1.0 is perfect.",
            f"- The top of each week, up to the capacity, converted {lift:.1f} times as often as average "
            f"({oot['conversion_rate_at_capacity']:.2%} against {oot['base_rate']:.2%})."
            if lift
            else "- Lift at capacity could not be measured (no conversions in the validation weeks).",
            f"- Mean score {oot['mean_score']:.2%} against {oot['base_rate']:.2%} observed; Brier score {oot['brier']:.4f}.",
            "",
            "Calibration by score decile (validation weeks):",
            "",
            "| decile | customers | mean score | observed rate |",
            "|---|---|---|---|",
            *[
                f"| {row['decile'] + 1} | {row['customers']:,} | {row['mean_score']:.2%} | {row['conversion_rate']:.2%} |"
                for row in oot.get("calibration", [])
            ],
        ]
    else:
        lines.append("No out-of-time metrics were recorded.")
    lines += ["", "## Known weaknesses", ""]
    lines += [f"- {item}" for item in card.get("weaknesses", [])] or ["- The engine lists none."]
    lines += ["", "## When not to use it", ""]
    lines += [f"- {item}" for item in card.get("do_not_use_when", [])]
    reference = sidecar.get("reference", {})
    for name in MARKET_FEATURES:
        if name in reference and "min" in reference[name]:
            lines.append(
                f"- `{name}` outside {reference[name]['min']:.2f} to {reference[name]['max']:.2f}: the band seen "
                "in training. Outside it the model extrapolates."
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


def _span(weeks: list[str] | None) -> str:
    return f"{weeks[0]} to {weeks[1]}" if weeks else "unknown weeks"
