"""Home reminds the operator to retrain once the active model is older than [engine] retrain_after_days."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from tui_helpers import settle, text_of

from nba_toolkit.tui.app import NbaApp
from nba_toolkit.workspace import Workspace


def test_home_shows_the_reminder(sample_workspace: Workspace) -> None:
    async def home(today: date) -> str:
        app = NbaApp(sample_workspace.root, today=today)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            return text_of(app, "#home-status")

    assert "time to retrain" not in asyncio.run(home(date.today()))
    assert "time to retrain" in asyncio.run(home(date.today() + timedelta(days=200)))


def test_the_model_screen_lists_a_challenger_beside_the_active_model(sample_workspace: Workspace) -> None:
    from nba_toolkit.cli import main

    assert main(["train", "--challenger", "--workspace", str(sample_workspace.root)]) == 0
    [challenger] = [m for m in sample_workspace.ledger.models() if m.challenger]

    async def model_screen() -> str:
        app = NbaApp(sample_workspace.root)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("9")
            await settle(pilot)
            return text_of(app, "#model-list")

    shown = asyncio.run(model_screen())
    assert challenger.model_id in shown and "challenger" in shown and "active" in shown
