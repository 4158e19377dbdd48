"""Helpers for the plugin tests: the docs' code blocks, and writing plugin files (imported by the tests)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins"
_BLOCK = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def code_blocks(page: str) -> list[tuple[str, dict[str, str], str]]:
    """(language, attributes such as file=... or example=..., code) of every fenced block on a docs page."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [(language, dict(re.findall(r"(\w+)=(\S+)", info)), code) for language, info, code in _BLOCK.findall(text)]


def write_files(page: str, root: Path) -> list[Path]:
    """Write every ``file=...`` block of a page under ``root``, as the page tells the reader to."""
    written = []
    for _language, attributes, code in code_blocks(page):
        if "file" in attributes:
            path = root / attributes["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code, encoding="utf-8")
            written.append(path)
    return written


def write_plugin(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
