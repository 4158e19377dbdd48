"""Evaluation: did the exported runs work? Conversion per group and the uplift with its 95% interval.

The numbers are :func:`nba_toolkit.jobs.evaluate.evaluate_workspace`, the
same as ``nba-toolkit evaluate``, computed in a thread worker. Without
exported runs or outcomes the screen says so in words instead of showing an
empty table.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from nba_toolkit.tui.screens.base import SectionScreen
from nba_toolkit.tui.widgets.intervals import IntervalPlot, IntervalRow
from nba_toolkit.words import plural

GROUP_TEXT = {
    "mailed_by_model": "mailed by the model",
    "holdout": "held out",
    "random_control": "mailed at random",
    "eligible_not_selected": "eligible, not selected",
}

MEANING = (
    "What the interval means: had these weeks been mailed again and again, intervals made this way would "
    "hold the true effect 95 times in 100. One that crosses the zero line means these runs cannot tell the "
    "effect from chance; more weeks of holdout narrow it."
)


def pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def points(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.2f} percentage points"


def money(value: float | None) -> str:
    return "n/a" if value is None else f"{'-' if value < 0 else ''}€{abs(value):,.2f}"


def span(data: dict[str, Any], show: Any) -> str:
    if data["estimate"] is None:
        return "n/a"
    if data["ci_low"] is None:
        return f"{show(data['estimate'])} (no interval)"
    return f"{show(data['estimate'])} (95%: {show(data['ci_low'])} to {show(data['ci_high'])})"


class EvaluationScreen(SectionScreen):
    SECTION = "evaluation"
    BINDINGS = [Binding("r", "reload", "Refresh")]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="evaluation-body"):
            yield Static("Evaluating the exported runs…", id="evaluation-summary")
            yield Static("", id="evaluation-groups")
            yield Static("", classes="section-title", id="evaluation-uplift-title")
            yield IntervalPlot(id="evaluation-uplift")
            yield Static("", id="evaluation-money")
            yield Static("", classes="section-title", id="evaluation-runs-title")
            yield IntervalPlot(id="evaluation-runs")
            yield Static("", id="evaluation-planner")

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="evaluation", name="evaluation")
    def load(self) -> dict[str, Any] | str:
        """The evaluation as ``evaluate --json`` has it, or a sentence saying why there is none."""
        from nba_toolkit.errors import UsageError
        from nba_toolkit.jobs.evaluate import evaluate_workspace, exported_runs, workspace_outcomes

        with self.session.workspace() as workspace:
            if not exported_runs(workspace):
                return (
                    "There are no exported runs yet, so there is nothing to evaluate. "
                    "Run a week, approve it and export it (2 Run, 5 Export); evaluate it once its weeks of outcomes are in."
                )
            try:
                workspace_outcomes(workspace)
            except UsageError:
                return (
                    "There are no outcomes to evaluate against. Import the warehouse's account openings with "
                    "`nba-toolkit outcomes import FILE`, then press r."
                )
            window = workspace.config.engine.label_window_weeks
            return evaluate_workspace(workspace, window_weeks=window).to_dict()

    def job_done(self, name: str, result: Any) -> None:
        if name != "evaluation":
            return
        if isinstance(result, str):
            self.show_nothing(result)
            return
        self.show(result)

    def show_nothing(self, sentence: str) -> None:
        self.query_one("#evaluation-summary", Static).update(Text(sentence, style="yellow"))
        for widget in ("#evaluation-groups", "#evaluation-money", "#evaluation-planner"):
            self.query_one(widget, Static).update("")
        for widget in ("#evaluation-uplift-title", "#evaluation-runs-title"):
            self.query_one(widget, Static).update("")
        self.query_one("#evaluation-uplift", IntervalPlot).rows = ()
        self.query_one("#evaluation-runs", IntervalPlot).rows = ()

    def show(self, data: dict[str, Any]) -> None:
        pooled = data["pooled"]
        summary = Text()
        runs = len(data["runs"])
        summary.append(plural(runs, "exported run"), style="bold")
        summary.append(
            f", conversions within {plural(data['window_weeks'], 'week')} of each run's week; outcomes known until "
            f"{data['outcomes_known_until']} ({data['outcomes']}).\n"
        )
        if data["open_runs"]:
            summary.append(f"Still open, left out of the totals: {', '.join(data['open_runs'])}.\n", style="dim")
        if not pooled["runs"]:
            summary.append(
                "No run has a complete window yet, so there are no totals. Import newer outcomes and press r.",
                style="yellow",
            )
            self.query_one("#evaluation-summary", Static).update(summary)
            return
        summary.append(
            f"Pooled over {plural(len(pooled['runs']), 'complete run')}; {plural(pooled['contacted'], 'customer')} contacted."
        )
        held = pooled["holdout_share"]
        if not held["plausible"]:
            summary.append(
                f"\nCaution: {pct(held['share'], 1)} of the selected were held out where the policy holds out "
                f"{pct(held['expected_share'], 1)}; read the model's uplift with care (docs/evaluation.md).",
                style="yellow",
            )
        self.query_one("#evaluation-summary", Static).update(summary)

        groups = Table(box=None, padding=(0, 1), title="Per group", title_justify="left", title_style="bold")
        for column in ("group", "customers", "converted", "rate", "invested per head"):
            groups.add_column(column, justify="left" if column == "group" else "right")
        for key, label in GROUP_TEXT.items():
            g = pooled["groups"][key]
            groups.add_row(label, f"{g['n']:,}", f"{g['conversions']:,}", pct(g["rate"]), money(g["value_per_head"]))
        self.query_one("#evaluation-groups", Static).update(groups)

        model, random = pooled["model_uplift"], pooled["random_uplift"]
        title = "Uplift in conversion rate, in percentage points, with its 95% interval"
        self.query_one("#evaluation-uplift-title", Static).update(title)
        self.query_one("#evaluation-uplift", IntervalPlot).rows = (
            _row("model vs held out", model["uplift"]),
            _row("random vs not selected", random["uplift"]),
        )
        effect = Text()
        effect.append("The model's mailing: ", style="bold")
        effect.append(
            f"{span(model['incremental_conversions'], lambda v: f'{v:+,.0f}')} extra accounts and "
            f"{span(model['incremental_value'], money)} extra invested over {model['mailed']:,} mailed; "
            f"per mailed customer {span(model['value_uplift'], money)}.\n"
        )
        effect.append(MEANING, style="dim")
        self.query_one("#evaluation-money", Static).update(effect)

        complete = [r for r in data["runs"] if r["complete"]]
        self.query_one("#evaluation-runs-title", Static).update("The model's uplift per run, in percentage points")
        self.query_one("#evaluation-runs", IntervalPlot).rows = tuple(
            _row(r["run_id"], r["model_uplift"]["uplift"]) for r in complete
        )
        self.query_one("#evaluation-planner", Static).update(planner_text(data["planner"]))


def _row(label: str, data: dict[str, Any]) -> IntervalRow:
    return IntervalRow(label, data["estimate"], data["ci_low"], data["ci_high"])


def planner_text(planner: dict[str, Any] | None) -> Text:
    text = Text()
    if not planner:
        return text
    text.append("Planner: ", style="bold")
    text.append(
        f"with about {planner['selected_per_week']:,.0f} selected and {pct(planner['holdout_share'], 0)} held out a week, "
        f"{plural(planner['weeks_evaluated'], 'week')} can show an uplift of {points(planner['detectable_uplift'])} or more"
    )
    plan = planner["plan"]
    if plan:
        text.append(f"; the observed {points(plan['uplift'])} needs {plural(plan['weeks_needed'], 'week')} of holdout")
    text.append(".")
    return text
