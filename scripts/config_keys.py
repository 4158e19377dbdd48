"""Write the configuration key table of docs/operator-guide.md from the keys declared in nba_toolkit/config.py.

Run after adding or changing a key; tests/unit/test_config_keys.py fails while the table is out of date.
"""

from __future__ import annotations

import re
from pathlib import Path

from nba_toolkit.config_template import key_table

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "operator-guide.md"
BLOCK = re.compile(r"(<!-- config-keys:start[^\n]*-->\n).*?(\n<!-- config-keys:end -->)", re.S)


def main() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    GUIDE.write_text(BLOCK.sub(lambda m: m.group(1) + key_table() + m.group(2), text), encoding="utf-8")


if __name__ == "__main__":
    main()
