"""Horizontal interval plots in block characters: an estimate with its 95% interval, on one scale with zero.

Drawn by hand like the bar chart: a few rows (the model's mailing, mailing
at random, each run) must be comparable at a glance, so every row shares one
scale, zero is always on it, and the numbers are printed beside the plot.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


@dataclass(frozen=True)
class IntervalRow:
    label: str
    estimate: float | None
    low: float | None
    high: float | None


class IntervalPlot(Widget):
    """Set ``rows`` and it redraws to its width; its height is one line per row plus the scale."""

    rows: reactive[tuple[IntervalRow, ...]] = reactive((), layout=True)

    def render(self) -> Text:
        if not self.rows:
            return Text("")
        return interval_plot(list(self.rows), self.size.width)

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001
        return len(self.rows) + 1 if self.rows else 1


def interval_plot(rows: list[IntervalRow], width: int, *, unit: float = 100.0, suffix: str = "") -> Text:
    """One line per row: label, the plot (━ the interval, ● the estimate, │ zero), then the numbers.

    ``unit`` scales the numbers printed (100 shows a difference in rates in
    percentage points, which the title says).
    """
    label_width = max((len(r.label) for r in rows), default=0) + 1
    numbers = [_numbers(r, unit, suffix) for r in rows]
    numbers_width = max((len(n) for n in numbers), default=0) + 1
    plot_width = max(width - label_width - numbers_width, 11)
    values = [v for r in rows for v in (r.estimate, r.low, r.high) if v is not None] + [0.0]
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 1.0 / unit, high + 1.0 / unit
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad

    def column(value: float) -> int:
        return min(plot_width - 1, max(0, round((value - low) / (high - low) * (plot_width - 1))))

    zero = column(0.0)
    out = Text()
    for index, (row, shown) in enumerate(zip(rows, numbers, strict=True)):
        cells = [("─", "dim")] * plot_width
        colour = "white"
        if row.estimate is not None and row.low is not None and row.high is not None:
            colour = "green" if row.low > 0 else ("red" if row.high < 0 else "yellow")
            for c in range(column(row.low), column(row.high) + 1):
                cells[c] = ("━", colour)
        cells[zero] = ("│", "bold")  # zero stays visible, inside an interval too
        if row.estimate is not None:
            cells[column(row.estimate)] = ("●", f"bold {colour}")
        out.append(row.label.ljust(label_width))
        for char, style in cells:
            out.append(char, style=style)
        out.append(" " + shown)
        if index < len(rows) - 1:
            out.append("\n")
    scale = Text("\n" + " " * label_width)
    left, right = f"{low * unit:+.2f}", f"{high * unit:+.2f}{suffix}"
    scale.append(left.ljust(plot_width - len(right)) + right, style="dim")
    return out + scale


def _numbers(row: IntervalRow, unit: float, suffix: str) -> str:
    if row.estimate is None:
        return "n/a"
    if row.low is None or row.high is None:
        return f"{row.estimate * unit:+.2f}{suffix} (no interval)"
    return f"{row.estimate * unit:+.2f}{suffix} [{row.low * unit:+.2f}, {row.high * unit:+.2f}]"
