"""The fallback list from the Run screen: f asks for the size (the weekly capacity to start with), then draws it."""

from __future__ import annotations

import asyncio
from datetime import date

from textual.widgets import Input
from tui_helpers import SAMPLE_TODAY, settle, text_of, type_text

from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.screens.dialogs import SizeDialog
from nba_toolkit.workspace import Workspace


async def _draw_from_the_run_screen(workspace: Workspace) -> None:
    app = NbaApp(workspace.root, today=date(*SAMPLE_TODAY))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, SizeDialog)
        size = app.screen.query_one("#size", Input)
        assert size.value == str(workspace.config.selection.capacity)
        size.value = ""
        await type_text(pilot, "0")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SizeDialog), "a size of 0 is refused; the dialog stays"
        size.value = ""
        await type_text(pilot, "300")
        await pilot.press("enter")
        await settle(pilot)
        result = text_of(app, "#run-result")
        assert "Fallback list 2026-W47.1 for 2026-W47 is ready for review" in result
        assert "(300 asked for)" in result
        assert text_of(app, "#name-2").strip() == "Draw at random" and not app.screen.query_one("#stage-5").display

        # Home says the week waits on a fallback list; the palette's entry opens the same question on Run
        await pilot.press("1")
        await settle(pilot)
        home = text_of(app, "#home-status")
        assert "fallback list 2026-W47.1" in home and "2026-W47.1 (fallback)" in home
        app.go_and_do("run", "fallback")
        await settle(pilot)
        assert isinstance(app.screen, SizeDialog)
        await pilot.press("escape")
        await settle(pilot)
    record = workspace.ledger.run("2026-W47.1")
    assert record.kind == "fallback" and record.capacity == 300
    assert record.counts["random_control"] == 300 and record.model_id is None
    assert [r.run_id for r in workspace.ledger.runs()] == ["2026-W47.1"]


def test_the_run_screen_draws_a_fallback_list_of_the_size_typed(sample_workspace: Workspace) -> None:
    asyncio.run(_draw_from_the_run_screen(sample_workspace))
