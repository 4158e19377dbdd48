"""The one-line bar at the top: every section with its key, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from nba_toolkit.tui.navigation import SECTIONS


class NavBar(Widget):
    """Shows where the operator is and how to get anywhere else; narrow terminals drop the app name, then the other titles."""

    COMPONENT_CLASSES = {"navbar--key", "navbar--current", "navbar--name"}

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def render(self) -> Text:
        key_style = self.get_component_rich_style("navbar--key")
        current_style = self.get_component_rich_style("navbar--current")
        items = Text(" ")
        for section in SECTIONS:
            if section.mode == self.current:
                items.append(f" {section.key} {section.title} ", style=current_style)
            else:
                items.append(section.key, style=key_style)
                items.append(f" {section.title}")
            items.append(" ")
        name = Text("nba-toolkit ", style=self.get_component_rich_style("navbar--name"))
        if self.size.width >= name.cell_len + items.cell_len:
            return name + items
        if self.size.width >= items.cell_len:
            return items
        # Narrower still (80 columns): the other sections by their key alone.
        keys = Text(" ")
        for section in SECTIONS:
            if section.mode == self.current:
                keys.append(f" {section.key} {section.title} ", style=current_style)
            else:
                keys.append(section.key, style=key_style)
            keys.append(" ")
        return keys
