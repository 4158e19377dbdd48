"""Small modal questions: confirm something that cannot be undone, or ask for a reason."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no, with the full statement of what will happen; Enter/y confirms, Escape/n cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
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
            yield Static(self.text, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning" if self.warning else "primary")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


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


class SizeDialog(ModalScreen[int | None]):
    """Asks how many customers a list should have, starting from a default; Enter starts, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, text: str, *, default: int) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.text, classes="dialog-text", markup=False)
            yield Input(value=str(self.default), placeholder="customers", id="size")
            yield Static("Enter starts · Escape cancels", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text.isdigit() or int(text) < 1:
            self.notify("The size is a whole number of 1 or more customers.", severity="warning")
            return
        self.dismiss(int(text))

    def action_cancel(self) -> None:
        self.dismiss(None)
