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
