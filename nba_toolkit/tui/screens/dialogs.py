"""Small modal questions: confirm something that cannot be undone, or ask for a reason."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

#: rows of a dialog that are not its text: border 2, padding 2, title and its margin 2, buttons 3
FRAME_ROWS = 9


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no, with the full statement of what will happen; Enter/y confirms, Escape/n cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
        Binding("down", "scroll_text(1)", "Scroll down", show=False),
        Binding("up", "scroll_text(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_text(10)", "Page down", show=False),
        Binding("pageup", "scroll_text(-10)", "Page up", show=False),
    ]

    def __init__(self, title: str, text: str, *, yes: str = "Yes", warning: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.yes = yes
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog" + (" -warning" if self.warning else "")):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body", can_focus=False):
                yield Static(self.text, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning" if self.warning else "primary")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_resize(self, event: events.Resize) -> None:
        """A statement longer than the screen scrolls, so the buttons below it never leave the screen.

        The dialog may take 90% of the screen's height; its frame (border and
        padding), the title and the buttons take ``FRAME_ROWS`` of that.
        """
        self.query_one(".dialog-body").styles.max_height = max(3, int(event.size.height * 0.9) - FRAME_ROWS)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_scroll_text(self, rows: int) -> None:
        body = self.query_one(".dialog-body", VerticalScroll)
        body.scroll_to(y=body.scroll_y + rows, animate=False)


class ReasonDialog(ModalScreen[str | None]):
    """Asks for a reason (or an optional note); Enter saves, Escape cancels (asking first when something was typed)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel (asks first when a reason is typed)")]

    def __init__(self, title: str, text: str, *, placeholder: str, required: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.placeholder = placeholder
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.text, classes="dialog-text", markup=False)
            yield Input(placeholder=self.placeholder, id="reason")
            yield Static("Enter saves · Escape cancels", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.notify("A reason is needed, so the next person understands it.", severity="warning")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        if not self.query_one("#reason", Input).value.strip():
            self.dismiss(None)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmDialog("Discard the reason?", "What you typed is not saved. Throw it away?", yes="Discard"), answered
        )
