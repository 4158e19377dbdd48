"""A confirmation longer than the screen: its buttons stay on screen and its last line can be read."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App
from textual.containers import VerticalScroll

from nba_toolkit.tui import app as the_app
from nba_toolkit.tui.screens.dialogs import ConfirmDialog

STATEMENT = "\n".join(f"line {i} of what the export will do" for i in range(1, 61))


class OneDialog(App[bool]):
    CSS_PATH = str(Path(the_app.__file__).with_name(the_app.NbaApp.CSS_PATH))

    def on_mount(self) -> None:
        self.push_screen(ConfirmDialog("Export the week?", STATEMENT), self.exit)


async def _long_statement(size: tuple[int, int]) -> None:
    app = OneDialog()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        for button in ("#yes", "#no"):
            region = dialog.query_one(button).region
            assert region.height == 3 and region.bottom <= size[1], f"{button} is off screen at {size}: {region}"
        body = dialog.query_one(".dialog-body", VerticalScroll)
        assert body.max_scroll_y > 0, "the statement is taller than the dialog: it scrolls"
        await pilot.press(*["pagedown"] * 6)
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y, "the keys reach the statement's last line"
        await pilot.press("y")
        await pilot.pause()
    assert app.return_value is True


def test_a_long_confirmation_keeps_its_buttons_at_80x24() -> None:
    asyncio.run(_long_statement((80, 24)))


def test_a_long_confirmation_keeps_its_buttons_at_160x48() -> None:
    asyncio.run(_long_statement((160, 48)))
