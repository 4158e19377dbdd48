"""Model: the active model's card and its training metrics, as recorded in the model's sidecar, and every model trained."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from nba_toolkit.core.model_card import imputed_lines, known_until_lines, quality_lines
from nba_toolkit.tui.screens.base import SectionScreen
from nba_toolkit.words import plural

if TYPE_CHECKING:
    from nba_toolkit.jobs.models import ModelEntry


class ModelScreen(SectionScreen):
    SECTION = "model"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="model-body"):
            yield Static("Loading the model card…", id="model-card")
            yield Static("", id="model-calibration")
            yield Static("", id="model-list")

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="model", name="model")
    def load(self) -> dict[str, Any] | None:
        from nba_toolkit.core.review import model_sidecar
        from nba_toolkit.jobs.models import model_list

        with self.session.workspace() as workspace:
            record = workspace.ledger.active_model(workspace.config.engine.name)
            if record is None:
                return None
            return {
                **model_sidecar(workspace.root, record.path),
                "model_id": record.model_id,
                "path": record.path,
                "every_model": model_list(workspace, today=self.session.today),
            }

    def job_done(self, name: str, result: Any) -> None:
        if name != "model":
            return
        card = self.query_one("#model-card", Static)
        if result is None:
            card.update(Text("No model is trained for the configured engine. Train one with `nba-toolkit train`.", style="red"))
            return
        card.update(card_text(result))
        self.query_one("#model-calibration", Static).update(calibration_table(result))
        self.query_one("#model-list", Static).update(models_table(result["every_model"]))


def card_text(sidecar: dict[str, Any]) -> Text:
    text = Text()
    text.append(f"Model {sidecar['model_id']}", style="bold")
    text.append(f"  · engine {sidecar.get('engine', '?')} {sidecar.get('engine_version', '')}\n", style="dim")
    window = sidecar.get("training_window", {})
    text.append(
        f"Trained {str(sidecar.get('trained_at', '?'))[:16].replace('T', ' ')} by {sidecar.get('trained_by', '?')} on "
        f"{' to '.join(window.get('train', []))}; validated out of time on {' to '.join(window.get('validation', []))}.\n"
    )
    if "rows" in sidecar:
        text.append(
            f"{sidecar['rows']:,} customer-weeks, {sidecar.get('positives', 0):,} followed by an investment account "
            f"within {plural(sidecar.get('label_window_weeks', '?'), 'week')}.\n"
        )
    for line in known_until_lines(sidecar.get("outcomes_known_until")):
        text.append(f"{line}\n")
    for line in imputed_lines(sidecar.get("imputed") or {}):
        text.append(f"{line}\n", style="yellow")
    metrics = sidecar.get("metrics", {})
    oot = metrics.get("out_of_time", {})
    if oot:
        text.append("\nHow well it ranks (out of time, on weeks it never saw)\n", style="bold underline")
        for line in quality_lines(metrics):
            text.append(f"  {line}\n")
    checks = sidecar.get("checks") or []
    if checks:
        text.append("\nModel checks at training\n", style="bold underline")
        for check in checks:
            mark = "ok" if check["status"] == "pass" else check["status"]
            style = "green" if check["status"] == "pass" else ("bold red" if check["severity"] == "block" else "yellow")
            text.append(f"  {mark:<5}", style=style)
            text.append(f" {check['check']} ({check['severity']}): {check['message']}\n")
    card = sidecar.get("model_card", {})
    for key, title in (("purpose", "Purpose"), ("population", "Population"), ("method", "Method")):
        if card.get(key):
            text.append(f"\n{title}\n", style="bold underline")
            text.append(f"  {card[key]}\n")
    features = sidecar.get("features") or card.get("features") or {}
    if features:
        text.append("\nFeatures\n", style="bold underline")
        for label in features.values():
            text.append(f"  • {label}\n")
    for key, title in (
        ("excluded_data", "Data left out on purpose"),
        ("weaknesses", "Weaknesses"),
        ("do_not_use_when", "Do not use when"),
    ):
        if card.get(key):
            text.append(f"\n{title}\n", style="bold underline")
            for item in card[key]:
                text.append(f"  • {item}\n")
    text.append(f"\nFile {sidecar.get('path', '?')}, SHA-256 {sidecar.get('sha256', '?')}\n", style="dim")
    return text


def calibration_table(sidecar: dict[str, Any]) -> Table | Text:
    rows = sidecar.get("metrics", {}).get("out_of_time", {}).get("calibration", [])
    if not rows:
        return Text("")
    table = Table(title="Calibration: does a score of x% convert x% of the time?", title_justify="left", box=None)
    for column in ("score decile", "customers", "mean score", "converted"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row.get("decile", 0) + 1),
            f"{row.get('customers', 0):,}",
            f"{row.get('mean_score', 0):.2%}",
            f"{row.get('conversion_rate', 0):.2%}",
        )
    return table


def models_table(entries: list[ModelEntry]) -> Table:
    """Every model trained, newest first, so a challenger and the models replaced are seen beside the active one."""
    table = Table(title="Every model, newest first (figures out of time)", title_justify="left", box=None)
    for column in ("model", "trained", "validated", "AUC", "lift", "state"):
        table.add_column(column, justify="right" if column in ("AUC", "lift") else "left")
    for e in entries:
        table.add_row(
            e.model_id,
            e.trained_at[:10],
            " to ".join(e.validation_weeks) if e.validation_weeks else "unknown",
            "n/a" if e.auc_within_week is None else f"{e.auc_within_week:.3f}",
            "n/a" if e.lift_at_capacity is None else f"{e.lift_at_capacity:.2f}",
            Text(e.state, style="bold" if e.active else ("yellow" if e.challenger else "dim")),
        )
    return table
