"""Review: the run's counts and scores, and any customer with their values and why they were (not) selected.

The customer table shows one page of about a hundred rows at a time, read
from the run's selection in Polars, so a million scored customers scroll as
fast as twenty thousand. The detail panel explains the highlighted (or
looked-up) customer from the run's own snapshot and model, and lists what
the other runs decided about them (their story across weeks).
"""

from __future__ import annotations

import threading
from datetime import date
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Select, Static, TabbedContent, TabPane

from nba_toolkit.tui.screens.base import SectionScreen, degraded_text
from nba_toolkit.tui.screens.dialogs import ReasonDialog
from nba_toolkit.tui.screens.home import volume_chart
from nba_toolkit.tui.widgets.barchart import Bar, BarChart, Chart
from nba_toolkit.tui.widgets.textbox import TextBox

if TYPE_CHECKING:
    from nba_toolkit.core.recorded_review import ReviewSession
    from nba_toolkit.core.review import Decision, Explanation, Histogram, Page, ReviewSummary, RunReview
    from nba_toolkit.jobs.story import Mailing, RunEntry
    from nba_toolkit.workspace import Workspace

#: reasons in a word or two, for the table
SHORT_REASON = {
    "selected_mailed": "mailed",
    "holdout": "held out",
    "random_control": "random ctl",
    "below_threshold": "below thr.",
    "over_capacity": "over cap.",
    "excluded_investor": "investor",
    "excluded_no_consent": "no consent",
    "excluded_cooldown": "cooldown",
    "not_drawn": "not drawn",
}
REASON_STYLE = {"selected_mailed": "green", "holdout": "cyan", "random_control": "orange1"}
VIEW_CHOICES = (
    ("Everyone", "all"),
    ("Mailed", "mailed"),
    ("Selected", "selected"),
    ("Held out", "holdout"),
    ("Random control", "random_control"),
    ("Over capacity", "over_capacity"),
    ("Below threshold", "below_threshold"),
    ("Excluded", "excluded"),
    ("Marked by you", "overridden"),
)
#: how often a review in progress brings its ledger row up to date (it is written when the screen is left too)
LOOK_SAVE_SECONDS = 30.0


class ReviewScreen(SectionScreen):
    SECTION = "review"
    BINDINGS = [
        Binding("s", "tab('summary')", "Summary", show=False),  # the tab titles show s and t
        Binding("t", "tab('customers')", "Table", show=False),
        Binding("slash", "lookup", "Find"),
        Binding("n", "page(1)", "Pages", key_display="n/b"),
        Binding("b", "page(-1)", "Previous page", show=False),
        Binding("d", "why", "Why", tooltip="the highlighted customer's values and explanation, and back to the table"),
        Binding("x", "override('exclude')", "Exclude"),
        Binding("X", "override('standing')", "Exclude for good"),
        Binding("f", "override('flag')", "Flag"),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]

    def __init__(self) -> None:
        super().__init__()
        self.review: RunReview | None = None
        self.page_data: Page | None = None
        self.page_offset = 0
        self.view = "all"
        self.customer: str | None = None
        self._detail_timer: Timer | None = None
        self.decision: Decision | None = None
        #: what the operator looks at on this run, recorded with it (core/recorded_review.py)
        self.look: ReviewSession | None = None
        self._look_lock = threading.Lock()

    def compose_body(self) -> ComposeResult:
        yield Static("Loading the run…", id="review-title")
        with TabbedContent(initial="summary", id="review-tabs"):
            with TabPane("Summary (s)", id="summary"):
                with VerticalScroll(id="summary-body"):
                    yield Static("", id="summary-counts")
                    yield Static("Scores of the eligible customers", classes="section-title")
                    yield BarChart(id="score-histogram")
                    yield Static("This week against recent weeks", classes="section-title")
                    yield BarChart(id="review-volumes")
            with TabPane("Customers (t)", id="customers"):
                with Horizontal(id="customer-bar"):
                    yield TextBox(placeholder="Relation no., Enter", id="lookup")
                    yield Select(VIEW_CHOICES, value="all", allow_blank=False, id="view")
                    yield Label("", id="page-info")
                with Horizontal(id="customer-main"):
                    yield DataTable(id="customers-table", cursor_type="row", zebra_stripes=True)
                    with VerticalScroll(id="customer-detail"):
                        yield Static("Highlight a customer, or type a relation number above.", id="detail-text")

    def reload(self) -> None:
        self.open_run()

    # -- what the operator looked at ---------------------------------------------

    def on_mount(self) -> None:
        self.set_interval(LOOK_SAVE_SECONDS, self._save_look_now)

    def on_screen_resume(self) -> None:
        if self.look is not None:
            self.look.shown()
        super().on_screen_resume()

    def on_screen_suspend(self) -> None:
        """Leaving the screen ends the stretch on the list and writes the session's row.

        Written here, before the next screen loads, so the Export screen it
        leads to reads the review just made (one small row, not a job).
        """
        self._end_stretch()

    def on_unmount(self) -> None:
        """The app is closing: write what was looked at before the process ends."""
        self._end_stretch()

    def _end_stretch(self) -> None:
        if self.look is None:
            return
        self.look.hidden()
        try:
            self._write_look(self.look)
        except Exception as problem:  # noqa: BLE001 - a ledger that cannot be written is a notice, never a crash
            self.nba.report(problem)

    def _follow_run(self, run_id: str) -> None:
        """A review session belongs to one run: another run shown ends it and begins the next."""
        from nba_toolkit.core.recorded_review import SCREEN, start
        from nba_toolkit.workspace import operator_name

        if self.look is not None and self.look.run_id == run_id:
            return
        if self.look is not None:
            self._end_stretch()
        self.look = start(run_id, by=operator_name(), face=SCREEN)
        if self.app.screen is self:
            self.look.shown()

    def _save_look_now(self) -> None:
        if self.look is not None and self.app.screen is self:
            self.save_look(self.look)

    @work(thread=True, exit_on_error=False, group="look", name="look")
    def save_look(self, look: ReviewSession) -> None:
        self._write_look(look)

    def _write_look(self, look: ReviewSession) -> None:
        """One row per session, brought up to date by each write; read-only records nothing."""
        from nba_toolkit.core.recorded_review import save

        with self._look_lock, self.session.workspace() as workspace:
            save(workspace.ledger, look)

    def _page_seen(self) -> None:
        """The table's page counts as seen while the Customers tab shows it."""
        from nba_toolkit.core.review import PAGE_SIZE

        page = self.page_data
        showing = self.query_one("#review-tabs", TabbedContent).active == "customers"
        if self.look is not None and page is not None and page.rows and showing:
            self.look.page_seen(self.view, page.offset // PAGE_SIZE + 1)

    # -- jobs ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="open", name="open")
    def open_run(self) -> tuple[RunReview, ReviewSummary] | None:
        """The run and its summary, painted at once; the customer table's page follows in its own worker."""
        from nba_toolkit.core.review import RunReview

        with self.session.workspace() as workspace:
            run_id = self.session.run_to_show(workspace)
            if run_id is None:
                return None
            review = self.review
            if review is None or review.run.run_id != run_id:
                review = RunReview.open(workspace, self.session.registry(workspace), run_id)
                self.page_offset = 0
            else:
                review.refresh(workspace)
            return review, review.summary(workspace)

    @work(thread=True, exclusive=True, exit_on_error=False, group="page", name="page")
    def load_page(self, review: RunReview, offset: int, view: str) -> Page:
        return review.page(offset, view=view)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail", name="detail")
    def load_detail(
        self, review: RunReview, customer_id: str
    ) -> tuple[Decision, Explanation, list[RunEntry | Mailing] | str, dict[str, Any] | None]:
        from nba_toolkit.core.review import standing_exclusion

        decision = review.decision(customer_id)
        if not decision.found:
            return decision, review.explain(customer_id), [], None
        with self.session.workspace() as workspace:
            standing = standing_exclusion(workspace.ledger, decision.customer_id, self.session.today or date.today())
            others = other_weeks(workspace, decision.customer_id, review.run.run_id)
            return decision, review.explain(customer_id), others, standing

    @work(thread=True, exclusive=True, exit_on_error=False, group="override", name="override")
    def save_override(
        self, review: RunReview, customer_id: str, action: str, reason: str, standing: bool = False
    ) -> tuple[Decision, ReviewSummary]:
        from nba_toolkit.core.review import override
        from nba_toolkit.workspace import operator_name

        with self.session.workspace() as workspace:
            decision = override(
                workspace, review, customer_id, action=action, reason=reason, by=operator_name(), standing=standing
            )
            return decision, review.summary(workspace)

    def job_done(self, name: str, result: Any) -> None:
        if name == "open":
            if result is None:
                self.query_one("#review-title", Static).update(
                    "No run awaits review. Start one on 2 Run (7 Runs opens any past run)."
                )
                return
            self.review, summary = result
            self._follow_run(self.review.run.run_id)
            self.show_summary(summary)
            self.load_page(self.review, self.page_offset, self.view)
        elif name == "page":
            self.show_page(result)
        elif name == "detail":
            self.show_detail(*result)
        elif name == "override":
            decision, summary = result
            verb = "excluded from the mail file" if any(o["action"] == "exclude" for o in decision.overrides) else "flagged"
            self.notify(f"Relation number {decision.customer_id} is {verb}; recorded in the ledger.")
            self.show_summary(summary)
            if self.review is not None:
                self.load_page(self.review, self.page_offset, self.view)
                self.load_detail(self.review, decision.customer_id)

    def job_failed(self, name: str, error: BaseException) -> None:
        from nba_toolkit.tui.errors import describe

        if name == "open":
            self.review = None
            self.query_one("#review-title", Static).update(
                Text(f"This run cannot be reviewed: {describe(error)[1]}", style="red")
            )
        elif name == "detail":
            self.query_one("#detail-text", Static).update(
                Text(f"Relation number {self.customer}: the lookup failed; {describe(error)[1]}", style="red")
            )

    # -- summary ---------------------------------------------------------------

    def show_summary(self, summary: ReviewSummary) -> None:
        title = Text()
        title.append(f"Run {summary.run_id} · {summary.week} · {summary.status.replace('_', ' ')}", style="bold")
        if not summary.editable:
            title.append("  (read only: only a run awaiting approval can change)", style="dim")
        if summary.degraded:
            title.append("\n")
            title.append(degraded_text(summary.degraded))
        self.query_one("#review-title", Static).update(title)
        self.query_one("#summary-counts", Static).update(counts_table(summary))
        self.query_one("#score-histogram", BarChart).chart = histogram_chart(summary.histogram)
        volumes = summary.recent
        this_week = {g: [n] for g, n in summary.mailed.items()}
        groups = {g: volumes.groups.get(g, [0] * len(volumes.weeks)) + this_week.get(g, [0]) for g in summary.mailed}
        from nba_toolkit.core.review import WeeklyVolumes

        combined = WeeklyVolumes(weeks=[*volumes.weeks, summary.week], groups=groups)
        self.query_one("#review-volumes", BarChart).chart = volume_chart(combined, highlight=summary.week)

    # -- the customer table ----------------------------------------------------

    def show_page(self, page: Page) -> None:
        self.page_data = page
        self.page_offset = page.offset
        table = self.query_one("#customers-table", DataTable)
        table.clear(columns=True)
        scores = ["—" if row["score"] is None else f"{row['score']:.2%}" for row in page.rows]
        reasons = [SHORT_REASON.get(row["reason"], row["reason"]) for row in page.rows]
        marks = [row["override"] for row in page.rows]

        def width(header: str, cells: list[str]) -> int:
            # as wide as the widest cell of the page: on a narrow terminal a score must keep its %
            return max([len(header), *map(len, cells)])

        table.add_column("Relation no", key="id")
        table.add_column("Score", key="score", width=width("Score", scores))
        table.add_column("Reason", key="reason", width=width("Reason", reasons))
        table.add_column("Mark", key="mark", width=width("Mark", marks))
        labels = list(page.feature_labels.values())
        for label in labels:
            table.add_column(label, key=label)
        for row, score, reason, mark in zip(page.rows, scores, reasons, marks):
            table.add_row(
                row["customer_id"],
                Text(score, justify="right"),
                Text(reason, style=REASON_STYLE.get(row["reason"], "")),
                Text(mark, style="bold red" if mark == "excluded" else "yellow"),
                *(Text(row["features"].get(label, ""), justify="right") for label in labels),
                key=row["customer_id"],
            )
        ids = [row["customer_id"] for row in page.rows]
        if self.customer in ids:
            table.move_cursor(row=ids.index(self.customer), animate=False)
        if page.total:
            last = page.offset + len(page.rows)
            info = f"{page.offset + 1:,}–{last:,} of {page.total:,}"
        else:
            info = "nobody in this view"
        self.query_one("#page-info", Label).update(info)
        self._page_seen()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "customers-table" or event.row_key is None or event.row_key.value is None:
            return
        if not event.data_table.has_focus:
            return  # the table was refilled, not moved by the operator: keep the customer shown
        self.customer = event.row_key.value
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(0.15, self._explain_current)

    def _explain_current(self) -> None:
        if self.review is not None and self.customer:
            self.load_detail(self.review, self.customer)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "customers-table":
            self.action_why()

    def action_why(self) -> None:
        """Enter or d reads the explanation, d goes back to the table: at 80x24 without a round of Tabs."""
        if self.query_one("#review-tabs", TabbedContent).active != "customers":
            self.action_tab("customers")
            return
        detail = self.query_one("#customer-detail", VerticalScroll)
        if detail.has_focus:
            self.query_one("#customers-table", DataTable).focus()
        else:
            detail.focus()

    def on_descendant_focus(self) -> None:
        """While the explanation has the focus it gets most of a narrow screen; the table keeps a few rows."""
        self.set_class(self.focused is self.query_one("#customer-detail"), "-reading")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "view" and isinstance(event.value, str) and event.value != self.view:
            self.view = event.value
            if self.review is not None:
                self.load_page(self.review, 0, self.view)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "lookup" and event.value.strip() and self.review is not None:
            self.customer = event.value.strip()
            self.load_detail(self.review, self.customer)
            self.set_focus(None)  # x and f act on this customer now, not typed into the box

    def action_tab(self, tab: str) -> None:
        self.query_one("#review-tabs", TabbedContent).active = tab
        self.query_one("#customers-table" if tab == "customers" else "#summary-body").focus()
        self._page_seen()
        if tab == "customers" and self.customer is None and self.page_data and self.page_data.rows and self.review:
            self.customer = self.page_data.rows[0]["customer_id"]
            self.load_detail(self.review, self.customer)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._page_seen()

    def action_lookup(self) -> None:
        self.action_tab("customers")
        self.query_one("#lookup", Input).focus()

    def action_page(self, step: int) -> None:
        if self.review is None or self.page_data is None:
            return
        from nba_toolkit.core.review import PAGE_SIZE

        offset = self.page_offset + step * PAGE_SIZE
        if offset < 0 or offset >= self.page_data.total:
            self.notify("No more pages that way.")
            return
        self.load_page(self.review, offset, self.view)

    # -- one customer ------------------------------------------------------------

    def show_detail(
        self,
        decision: Decision,
        explanation: Explanation,
        others: list[RunEntry | Mailing] | str,
        standing: dict[str, Any] | None,
    ) -> None:
        self.decision = decision
        if decision.found and self.look is not None:
            self.look.opened(decision.customer_id)
        text = detail_text(decision, explanation, standing)
        text.append_text(other_weeks_text(others))
        self.query_one("#detail-text", Static).update(text)
        detail = self.query_one("#customer-detail", VerticalScroll)
        if self.focused is None:
            self.call_after_refresh(lambda: detail.focus() if detail.allow_focus() else None)

    def action_override(self, action: str) -> None:
        review = self.review
        if review is None:
            return
        if not review.editable:
            self.notify(
                f"Run {review.run.run_id} is {review.run.status.replace('_', ' ')}: it can no longer change.", severity="warning"
            )
            return
        customer = self.customer
        if not customer:
            self.notify("Highlight or look up a customer first.", severity="warning")
            return
        known = review.decision(customer)
        if not known.found:
            self.notify(known.why, severity="warning")  # before any reason is typed, not after
            return
        what = {"exclude": "Exclude from the mail file", "standing": "Exclude for good", "flag": "Flag as suspicious"}[action]
        text = (
            f"{what}: relation number {customer} in run {review.run.run_id}. "
            + {
                "exclude": "They are left out of this run's file only; the reason is recorded in the ledger. "
                "Next week they can be selected again (X excludes for good).",
                "standing": "They are left out of this run's file and of every later run, with this reason, until "
                "someone lifts it (nba-toolkit lift); recorded in the ledger.",
                "flag": "The flag and its reason are recorded in the ledger; the customer stays in the selection.",
            }[action]
        )

        def answered(reason: str | None) -> None:
            if reason:
                if action == "standing":
                    self.save_override(review, customer, "exclude", reason, standing=True)
                else:
                    self.save_override(review, customer, action, reason)

        self.app.push_screen(ReasonDialog(what, text, placeholder="Reason (required), then Enter"), answered)


def counts_table(summary: ReviewSummary) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold", expand=False)
    table.add_column("Customers by reason")
    table.add_column("", justify="right")
    for reason, text, n in summary.counts:
        table.add_row(Text(text, style=REASON_STYLE.get(reason, "")), f"{n:,}")
    table.add_row(Text("In the snapshot", style="bold"), Text(f"{summary.rows_in:,}", style="bold"))
    mailed = sum(summary.mailed.values())
    groups = ", ".join(f"{n:,} {g.replace('_', ' ')}" for g, n in summary.mailed.items())
    table.add_row(Text("In the mail file", style="bold"), Text(f"{mailed:,}", style="bold"))
    table.add_row(Text(f"  {groups}", style="dim"), "")
    if summary.operator_excluded or summary.flagged:
        table.add_row(
            Text(f"  excluded by the operator: {summary.operator_excluded:,}, flagged: {summary.flagged:,}", style="yellow"), ""
        )
    if summary.kind != "fallback":
        table.add_row(Text("Expected conversions among the mailed (sum of their scores)"), f"{summary.expected_conversions:,.1f}")
    table.add_row(Text(summary.how_chosen(), style="dim"), "")
    return table


def histogram_chart(histogram: Histogram) -> Chart:
    """Scored customers per score band; bands at or above the threshold in the selection's colour."""
    bars = []
    n = len(histogram.counts)
    step = max(1, n // 5)
    for i, count in enumerate(histogram.counts):
        low = histogram.edges[i]
        above = low >= histogram.threshold or histogram.edges[i + 1] > histogram.threshold >= low
        label = f"{low:.1%}" if i % step == 0 else ""
        bars.append(Bar(label=label, parts=((float(count), "green" if above else "grey50"),)))
    return Chart(
        bars=tuple(bars),
        legend=(("below the threshold", "grey50"), (f"at or above {histogram.threshold:.2%}", "green")),
        caption=f"last band: {histogram.edges[-2]:.1%} and up",
    )


def detail_text(decision: Decision, explanation: Explanation, standing: dict[str, Any] | None = None) -> Text:
    text = Text()
    text.append(f"Relation number {decision.customer_id}\n", style="bold")
    if not decision.found:
        text.append(decision.why, style="yellow")
        return text
    text.append(decision.reason_text, style="bold " + REASON_STYLE.get(decision.reason or "", ""))
    text.append(f"  ({'mailed' if decision.mailed else 'not mailed'}{', group ' + decision.group if decision.group else ''})\n")
    text.append(decision.why + "\n")
    if standing:
        text.append_text(standing_text(standing))
    text.append("\n")
    if explanation.values:
        text.append("The customer's values\n", style="bold underline")
        width = max(len(label) for label, _ in explanation.values)
        for label, shown in explanation.values:
            text.append(f"{label.ljust(width)}  {shown}\n")
        text.append("\n")
    if explanation.contributions:
        text.append("What moves the score (+ up, - down), against the average customer\n", style="bold underline")
        width = max(len(label) for label, _ in explanation.contributions)
        biggest = max(abs(v) for _, v in explanation.contributions) or 1.0
        for label, value in explanation.contributions:
            blocks = "█" * max(1, round(8 * abs(value) / biggest)) if value else ""
            text.append(f"{label.ljust(width)}  {value:+.2f} ")
            text.append(blocks + "\n", style="green" if value > 0 else "red")
        if explanation.recomputed_score is not None and decision.score is not None:
            same = abs(explanation.recomputed_score - decision.score) < 1e-9
            text.append(
                f"\nRecomputed from the run's snapshot and model: {explanation.recomputed_score:.2%} "
                + ("(the same as the run)" if same else f"(the run recorded {decision.score:.2%}: they differ!)"),
                style="dim" if same else "bold red",
            )
    if explanation.problem:
        text.append(explanation.problem, style="yellow")
    return text


def standing_text(standing: dict[str, Any]) -> Text:
    """Who kept the customer out of every run, since when and why: the words `nba-toolkit customer` prints."""
    until = f" until {standing['until']}" if standing["until"] else " for good"
    text = Text()
    text.append(f"Kept out of every run{until}", style="bold yellow")
    text.append(f" by {standing['made_by']} on {standing['made_at'][:10]}: {standing['reason']}\n")
    return text


def other_weeks(workspace: Workspace, customer_id: str, run_id: str) -> list[RunEntry | Mailing] | str:
    """What the other runs decided about the customer and the campaigns outside the toolkit that mailed them,
    oldest week first, or why that cannot be shown."""
    from nba_toolkit.core.weeks import parse_week
    from nba_toolkit.errors import NbaError
    from nba_toolkit.jobs.story import customer_story

    try:
        story = customer_story(workspace, customer_id)
    except NbaError as problem:
        return problem.message
    runs: list[RunEntry | Mailing] = [entry for entry in story.runs if entry.run_id != run_id]
    campaigns: list[RunEntry | Mailing] = [m for m in story.mailings if m.run_id is None and m.campaign is not None]
    return sorted(runs + campaigns, key=lambda item: parse_week(item.week))


def other_weeks_text(others: list[RunEntry | Mailing] | str) -> Text:
    """The customer's other runs and outside campaigns, one line each; nothing when this run is the only one."""
    from nba_toolkit.jobs.story import Mailing

    text = Text()
    if isinstance(others, str):
        text.append(f"\n\nOther weeks cannot be shown: {others}", style="yellow")
        return text
    if not others:
        return text
    text.append("\n\nOther weeks (nba-toolkit customer-history)\n", style="bold underline")
    for entry in others:
        if isinstance(entry, Mailing):
            text.append(f"{entry.week}  mailed outside the toolkit on {entry.contact_date} by campaign {entry.campaign}\n")
            continue
        if entry.purged:
            decision = "customer data purged (retention)"
        else:
            score = "" if entry.score is None else f" {entry.score:.2%}"
            mailed = ", in the mail file" if entry.in_mail_file else ""
            decision = f"{SHORT_REASON.get(entry.reason or '', entry.reason_text)}{score}{mailed}{marked(entry)}"
        text.append(f"{entry.week}  {entry.run_id}  {decision}\n")
    return text


def marked(entry: RunEntry) -> str:
    """What the operator did to the customer in that run: selected for the mail file is not mailed once excluded."""
    actions = {o["action"] for o in entry.overrides}
    return "".join(
        mark for action, mark in (("exclude", ", excluded by the operator"), ("flag", ", flagged")) if action in actions
    )
