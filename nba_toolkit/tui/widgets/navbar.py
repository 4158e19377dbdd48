"""The one-line bar at the top: every section with its key, the current one highlighted."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widget import Widget

from nba_toolkit.tui.navigation import SECTIONS, Section


class NavBar(Widget):
    """Shows where the operator is and how to get anywhere else, by name at every width from 80 columns.

    Wide terminals show the app name and each section as "key Title"; narrower
    ones drop the name, then write each section as its key against a short
    title ("6Config", the key in its own colour). Only below 80 columns do
    the other sections shrink to their key.
    """

    COMPONENT_CLASSES = {"navbar--key", "navbar--current", "navbar--name"}

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def render(self) -> Text:
        name = Text("nba-toolkit ", style=self.get_component_rich_style("navbar--name"))
        full = Text(" ") + self.items(lambda s: f" {s.title}", gap=" ", current_pad=" ")
        for line in (name + full, full, self.items(lambda s: s.short or s.title, gap=" ")):
            if self.size.width >= line.cell_len:
                return line
        return Text(" ") + self.items(lambda s: "", gap=" ", current_pad=" ")

    def items(self, title: Callable[[Section], str], *, gap: str, current_pad: str = "") -> Text:
        """Every section as key and ``title(section)``; the current one always with its name."""
        key_style = self.get_component_rich_style("navbar--key")
        current_style = self.get_component_rich_style("navbar--current")
        text = Text()
        for section in SECTIONS:
            if section.mode == self.current:
                shown = title(section) or f" {section.title}"
                text.append(f"{current_pad}{section.key}{shown}{current_pad}", style=current_style)
            else:
                text.append(section.key, style=key_style)
                text.append(title(section))
            text.append(gap)
        text.rstrip()
        return text
