"""Counts and names in the operator's grammar, shared by the UI and the CLI.

"1 runs" and "random_control" are how code speaks; the operator reads
"1 run" and "random control". tests/unit/test_plain_words.py holds every
face to it.
"""

from __future__ import annotations

from collections.abc import Mapping


def plural(count: object, noun: str, many: str | None = None) -> str:
    """``count`` with ``noun`` in the singular for one, else ``many`` (``noun`` + "s"): "1 run", "1,754 rows"."""
    shown = f"{count:,}" if isinstance(count, int) else str(count)
    return f"{shown} {noun if count == 1 else many or noun + 's'}"


def source_of(plugin: str | None) -> str:
    """Where a check comes from: the toolkit's own checks are "built in", not an internal module name."""
    if not plugin:
        return "from an unknown plugin"
    return "built in" if plugin.split(".")[0] == "nba_toolkit" else f"from plugin {plugin}"


def group_name(group: str) -> str:
    """A mailing group as people say it: "random_control" is the random control group."""
    return group.replace("_", " ")


def column_words(column: str, labels: Mapping[str, str] | None = None) -> str:
    """A column as people say it: its declared label, else its name in words ("n_products": "Number of products")."""
    if labels and column in labels:
        return labels[column]
    words = column.split("_")
    if words[0] == "n" and len(words) > 1:
        words = ["number", "of", *words[1:]]
    text = " ".join(words)
    return text[:1].upper() + text[1:]
