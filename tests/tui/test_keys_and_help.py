"""Keys, help and the words around them, driven with Textual's Pilot the way the operator presses them."""

from __future__ import annotations

import asyncio
from datetime import date

import polars as pl
import pytest
from textual.widgets import Input
from tui_helpers import SAMPLE_TODAY, settle, type_text

from nba_toolkit.cli import main
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.screens.dialogs import ConfirmDialog, ReasonDialog
from nba_toolkit.workspace import Workspace


def _app(ws: Workspace) -> NbaApp:
    return NbaApp(ws.root, today=date(*SAMPLE_TODAY))


async def _into_box(pilot, selector: str) -> Input:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = ""
    await pilot.pause()
    return box


async def _digits_type_in_config_and_escape_asks_before_discarding(ws: Workspace) -> None:
    app = _app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        capacity = await _into_box(pilot, "#selection-capacity")
        await pilot.press("1", "5", "7", "e", "m", "q")
        assert capacity.value == "157emq", "inside a box every key types"
        assert app.current_mode == "config"

        await pilot.press("escape")
        assert app.screen.focused is None, "the first Escape leaves the box"
        assert capacity.value == "157emq" and not isinstance(app.screen, ConfirmDialog)
        await pilot.press("7")
        await settle(pilot)
        assert app.current_mode == "runs", "outside a box a section key navigates"
        await pilot.press("6")
        await settle(pilot)
        assert app.screen.query_one("#selection-capacity", Input).value == "157emq", "coming back keeps the typed value"

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "not saved" in app.screen.text
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.query_one("#selection-capacity", Input).value == "157emq"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert app.screen.query_one("#selection-capacity", Input).value == "2,000"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog), "with nothing typed, Escape has nothing to ask"


def test_digits_type_in_config_and_escape_leaves_the_box_then_asks(sample_workspace: Workspace) -> None:
    asyncio.run(_digits_type_in_config_and_escape_asks_before_discarding(sample_workspace))


async def _digits_type_in_simulation(ws: Workspace) -> None:
    app = _app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        box = await _into_box(pilot, "#simulation-from")
        await type_text(pilot, "2026-W01")
        assert box.value.upper() == "2026-W01"
        assert app.current_mode == "simulation"
        await pilot.press("escape")
        assert app.screen.focused is None and app.current_mode == "simulation"
        await pilot.press("1")
        await settle(pilot)
        assert app.current_mode == "home"


def test_digits_type_in_simulation_and_a_section_key_outside_the_box_navigates(sample_workspace: Workspace) -> None:
    asyncio.run(_digits_type_in_simulation(sample_workspace))


async def _a_typed_reason_is_not_thrown_away_unasked(ws: Workspace, customer: str) -> None:
    app = _app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, customer)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        await type_text(pilot, "asked for no mail")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog), "Escape asks before the typed reason is lost"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        assert app.screen.query_one("#reason", Input).value == "asked for no mail"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, ReasonDialog | ConfirmDialog)


def test_escape_in_the_exclusion_dialog_asks_before_discarding_the_reason(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    assert main(["run", "--week", "2026-W47", "--workspace", str(ws.root)]) == 0
    asyncio.run(_a_typed_reason_is_not_thrown_away_unasked(ws, _first_mailed(ws)))
    assert not Workspace.open(ws.root).ledger.overrides("2026-W47.1")


def _first_mailed(ws: Workspace) -> str:
    selection = pl.read_parquet(ws.run_dir("2026-W47.1") / "selection.parquet")
    return str(selection.filter(pl.col("reason") == "selected_mailed")["customer_id"][0])


def _help_text(app: NbaApp) -> str:
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(app.screen.query_one("#help-keys").content)
    return console.file.getvalue()


async def _help_lists_every_key(ws: Workspace) -> None:
    from textual.binding import Binding

    from nba_toolkit.tui.app import SCREENS
    from nba_toolkit.tui.screens.help import HelpScreen

    app = _app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = _help_text(app)
        for mode, screen in SCREENS.items():
            for binding in Binding.make_bindings(screen.BINDINGS):
                if binding.description:
                    assert binding.description in shown, f"{mode}: {binding.key} {binding.description}"
        assert "Leave the box" in shown and "go to Simulation" in shown
        # at 80x24 the list is longer than the screen: the keys scroll it to its end
        from textual.containers import VerticalScroll

        listing = app.screen.query_one("#help", VerticalScroll)
        assert listing.max_scroll_y > 0 and listing.region.bottom <= 24
        await pilot.press("end")
        await pilot.pause()
        assert listing.scroll_y == listing.max_scroll_y
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen), "? opens the help outside a box"
        await pilot.press("q")
        await pilot.press("6")
        await settle(pilot)
        box = await _into_box(pilot, "#reason")
        await pilot.press("question_mark")
        assert box.value == "?" and not isinstance(app.screen, HelpScreen), "inside a box ? types"


def test_f1_and_question_mark_open_a_help_listing_every_key_of_every_screen(sample_workspace: Workspace) -> None:
    asyncio.run(_help_lists_every_key(sample_workspace))


async def _palette(pilot, command: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await type_text(pilot, command)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await settle(pilot)


async def _the_palette_runs_the_week_and_finds_a_customer(ws: Workspace) -> None:
    from tui_helpers import text_of

    app = _app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await _palette(pilot, "Run the week")
        assert app.current_mode == "run"
        assert "Run 2026-W47.1 for 2026-W47 is ready for review" in text_of(app, "#run-result")
        await _palette(pilot, "Approve and export")
        assert isinstance(app.screen, ConfirmDialog) and "Approve and export" in app.screen.title_text
        await pilot.press("n")
        await _palette(pilot, "Find a customer")
        assert app.current_mode == "review"
        assert app.screen.focused is app.screen.query_one("#lookup", Input)


def test_the_palette_runs_the_week_approves_and_finds_a_customer(sample_workspace: Workspace) -> None:
    asyncio.run(_the_palette_runs_the_week_and_finds_a_customer(sample_workspace))
    assert [r.run_id for r in Workspace.open(sample_workspace.root).ledger.runs()] == ["2026-W47.1"]


async def _navigation_names_at_80_columns(ws: Workspace) -> None:
    from nba_toolkit.tui.navigation import SECTIONS
    from nba_toolkit.tui.widgets.navbar import NavBar

    app = _app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for section in SECTIONS:
            await pilot.press(section.key)
            await settle(pilot)
            bar = app.screen.query_one(NavBar).render().plain
            assert len(bar) <= 80, bar
            for other in SECTIONS:
                assert f"{other.key}{other.short or other.title}" in bar.replace(" ", ""), (section.mode, bar)


def test_the_navigation_bar_names_every_section_at_80_columns(sample_workspace: Workspace) -> None:
    asyncio.run(_navigation_names_at_80_columns(sample_workspace))


def test_chart_series_differ_by_glyph_as_well_as_colour() -> None:
    from nba_toolkit.tui.widgets.barchart import Bar, Chart, draw

    legend = (("model", "blue"), ("random control", "orange1"), ("holdout", "grey62"))
    chart = Chart(bars=(Bar("W1", ((3.0, "blue"), (3.0, "orange1"), (3.0, "grey62"))),), legend=legend)
    lines = draw(chart, 80, 12).plain.splitlines()
    legend_line = lines[-1]
    glyphs = [legend_line[legend_line.index(name) - 2] for name, _ in legend]
    assert len(set(glyphs)) == 3, legend_line
    bar_cells = [line[line.index("│") + 1 if "│" in line else line.index("┤") + 1] for line in lines[:-2]]
    assert set(glyphs) <= set(bar_cells), "each series fills its part of the bar with its own glyph"


async def _set_theme(ws: Workspace, theme: str | None) -> str:
    app = _app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        if theme is not None:
            app.theme = theme
            await pilot.pause()
        return app.theme


def test_the_chosen_theme_is_remembered_across_launches(sample_workspace: Workspace) -> None:
    first = asyncio.run(_set_theme(sample_workspace, None))
    assert first != "nord"
    asyncio.run(_set_theme(sample_workspace, "nord"))
    assert asyncio.run(_set_theme(sample_workspace, None)) == "nord"


async def _review_at_80x24(ws: Workspace) -> None:
    from textual.widgets import DataTable, Label

    from nba_toolkit.core.review import Page

    app = _app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#customers-table", DataTable)
        detail = screen.query_one("#customer-detail")
        assert table.scrollable_content_region.height - table.header_height >= 9, "at least nine customers in view"

        await pilot.press("d")
        await pilot.pause()
        assert screen.focused is detail and detail.size.height >= 12, "d opens the explanation at full size"
        await pilot.press("d")
        await pilot.pause()
        assert screen.focused is table
        await pilot.press("enter")
        await pilot.pause()
        assert screen.focused is detail, "Enter on a row reads its explanation"

        page = screen.page_data
        screen.show_page(Page(2_999_900, 3_000_000, page.view, page.rows, page.feature_labels))
        await pilot.pause()
        label = screen.query_one("#page-info", Label)
        text = str(label.render())
        assert text.startswith("2,999,901") and text.endswith("of 3,000,000")
        assert label.content_region.width >= len(text), "the page label is never cut"

        title = screen.query_one("#review-title")
        assert title.size.height == 1, "the run's title fits one line"

        await pilot.press("slash")
        await type_text(pilot, "99999999")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert not isinstance(app.screen, ReasonDialog), "no reason is asked for a customer who is not in the run"


def test_review_at_80x24_shows_more_rows_and_the_explanation_is_one_key_away(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--week", "2026-W47", "--workspace", str(sample_workspace.root)]) == 0
    asyncio.run(_review_at_80x24(sample_workspace))
    assert not Workspace.open(sample_workspace.root).ledger.overrides("2026-W47.1")


async def _calibration_deciles(ws: Workspace) -> str:
    from tui_helpers import text_of

    app = _app(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("9")
        await settle(pilot)
        return text_of(app, "#model-calibration")


def test_calibration_deciles_are_numbered_1_to_10_on_screen_and_on_the_card(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    shown = asyncio.run(_calibration_deciles(sample_workspace))
    on_screen = [int(m) for m in re.findall(r"^\s*(\d+)\s+[\d,]+\s", shown, flags=re.MULTILINE)]
    assert on_screen == list(range(1, 11)), shown
    assert main(["model", "card", "--workspace", str(sample_workspace.root)]) == 0
    card = capsys.readouterr().out
    assert [int(m) for m in re.findall(r"^\| (\d+) \|", card, flags=re.MULTILINE)] == list(range(1, 11))
