"""A text box that the operator can always leave with Escape.

Inside a box every key types, digits and section letters included (a
capacity of 1,500 must be typeable). Escape leaves the box, so the next key
reaches the screen again: a section key navigates, and a second Escape does
what the screen binds to it (discard edits, cancel a simulation).
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class TextBox(Input):
    BINDINGS = [Binding("escape", "leave", "Leave the box")]

    def action_leave(self) -> None:
        self.screen.set_focus(None)
