"""Vertical bar charts drawn with block characters, stacked by group.

Drawn by hand rather than with a plotting library: the weekly volumes and
the score histogram need a few bars and a legend, and the UI must start in
well under a second and a half.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

_EIGHTHS = " ▁▂▃▄▅▆▇█"
#: the fill of each series, in legend order, so series differ by pattern too (not by colour alone)
GLYPHS = ("█", "▓", "░", "▒")


@dataclass(frozen=True)
class Bar:
    label: str
    #: (value, style) stacked from the bottom up
    parts: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...] = ()  # (name, style)
    caption: str = ""


class BarChart(Widget):
    """A stacked bar chart; set ``chart`` and it redraws to its size."""

    chart: reactive[Chart | None] = reactive(None, layout=True)

    def render(self) -> Text:
        chart = self.chart
        if chart is None or not chart.bars:
            return Text("nothing to show yet", style="dim")
        return draw(chart, self.size.width, self.size.height)


def draw(chart: Chart, width: int, height: int) -> Text:
    """The chart as lines of text: y axis, bars, labels under them, legend and caption below."""
    footer = 1 + (1 if chart.legend or chart.caption else 0)
    rows = max(height - footer, 1)
    totals = [sum(v for v, _ in bar.parts) for bar in chart.bars]
    top = max(max(totals), 1e-12)
    axis_labels = [_number(top), _number(top / 2), "0"]
    axis = max(len(a) for a in axis_labels) + 1
    n = len(chart.bars)
    column = max(1, (width - axis) // n)
    bar_width = max(1, min(column - 1, 6)) if column > 1 else 1
    glyphs = series_glyphs(chart)
    lines: list[Text] = []
    for row in range(rows - 1, -1, -1):
        line = Text()
        if row == rows - 1:
            line.append(axis_labels[0].rjust(axis - 1) + "┤", style="dim")
        elif row == (rows - 1) // 2 and rows > 4:
            line.append(axis_labels[1].rjust(axis - 1) + "┤", style="dim")
        else:
            line.append(" " * (axis - 1) + "│", style="dim")
        for bar in chart.bars:
            char, style = _cell(bar, row, rows, top)
            if char == _EIGHTHS[-1]:
                char = glyphs.get(_series(style), char)
            line.append(char * bar_width, style=style)
            line.append(" " * (column - bar_width))
        lines.append(line)
    labels = Text(" " * (axis - 1) + "└", style="dim")
    taken = 0
    for i, bar in enumerate(chart.bars):
        start = i * column
        if bar.label and start >= taken:
            text = bar.label[: max(column * 2 - 1, 1)]
            labels.append(" " * (start - taken) + text, style="dim")
            taken = start + len(text) + 1
            labels.append(" ")
    lines.append(labels)
    if chart.legend or chart.caption:
        legend = Text(" " * axis)
        for name, style in chart.legend:
            legend.append(f"{glyphs.get(_series(style), _EIGHTHS[-1])} ", style=style)
            legend.append(f"{name}   ")
        legend.append(chart.caption, style="dim")
        lines.append(legend)
    return Text("\n").join(line[:width] if line.cell_len > width else line for line in lines)


def series_glyphs(chart: Chart) -> dict[str, str]:
    """Each legend entry's fill: full cells of a series are drawn with it; a bar's partly filled top keeps its height."""
    return {_series(style): GLYPHS[i % len(GLYPHS)] for i, (_, style) in enumerate(chart.legend)}


def _series(style: str) -> str:
    """The colour that names a series; a highlighted week adds "bold" to it and stays the same series."""
    return style.split(" ")[0] if style else style


def _cell(bar: Bar, row: int, rows: int, top: float) -> tuple[str, str]:
    """The block character for one cell of a bar, in the style of the part that fills most of it."""
    scale = rows / top
    bottom = 0.0
    filled = 0.0
    style = ""
    best = 0.0
    for value, part_style in bar.parts:
        low, high = bottom * scale, (bottom + value) * scale
        overlap = max(0.0, min(high, row + 1) - max(low, row))
        if overlap > best:
            best, style = overlap, part_style
        filled += overlap
        bottom += value
    eighths = round(filled * 8)
    if eighths == 0 and row == 0 and bottom > 0:
        eighths = 1  # a small but non-zero week still shows
    return _EIGHTHS[min(eighths, 8)], style


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"
