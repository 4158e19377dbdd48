"""Bad snapshots through the command line: a clear message, the documented exit code, nothing exported.

Each case starts from the sample week's real file and breaks one thing, the
way a warehouse extract goes wrong in practice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

SNAPSHOT = "2026-W47.csv"


def _lines(ws: Workspace) -> list[str]:
    return (ws.snapshots_dir / SNAPSHOT).read_bytes().decode("cp1252").split("\r\n")


def _write(path: Path, lines: list[str], encoding: str = "cp1252") -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding))
    return path


def _drop_column(lines: list[str], name: str) -> list[str]:
    index = lines[0].split(";").index(name)
    return [";".join(v for i, v in enumerate(line.split(";")) if i != index) for line in lines if line]


def _set_cell(lines: list[str], row: int, name: str, value: str) -> list[str]:
    index = lines[0].split(";").index(name)
    cells = lines[row].split(";")
    cells[index] = value
    return [*lines[:row], ";".join(cells), *lines[row + 1 :]]


def _run(ws: Workspace, snapshot: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["run", "--workspace", str(ws.root), "--snapshot", str(snapshot), "--approve", "--json"])
    return code, json.loads(capsys.readouterr().out)


CASES: dict[str, tuple[Callable[[list[str]], list[str]], int, list[str]]] = {
    "missing column": (lambda lines: _drop_column(lines, "MKT_CONSENT"), 4, ["MKT_CONSENT"]),
    "wrong type": (lambda lines: _set_cell(lines, 150, "NUM_PRODUCTS", "three"), 4, ["NUM_PRODUCTS", "row 150", "three"]),
    "empty file": (lambda lines: [], 4, ["empty"]),
    "header only": (lambda lines: lines[:1], 3, ["row_count", "no customers at all"]),
    "duplicate ids": (lambda lines: [*lines[:-1], lines[5], ""], 3, ["duplicate_ids"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_snapshot_is_refused_with_its_code(
    case: str, sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    break_it, expected_code, words = CASES[case]
    bad = _write(ws.root / f"bad_{case.replace(' ', '_')}_2026-W47.csv", break_it(_lines(ws)))
    code, result = _run(ws, bad, capsys)
    assert code == expected_code, result
    text = json.dumps(result)
    for word in words:
        assert word.lower() in text.lower(), (word, text)
    assert not list(ws.exports_dir.iterdir()), "nothing may be exported"
    assert all(r.status != "exported" and r.status != "awaiting_approval" for r in ws.ledger.runs())


@pytest.mark.parametrize("variant", ["utf-8 with comma delimiter", "utf-8 with BOM", "parquet", "float after row 100"])
def test_other_dialects_load_and_run(variant: str, sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    lines = [line for line in _lines(ws) if line]
    header = lines[0].split(";")
    if variant == "utf-8 with comma delimiter":
        # decimal points, comma-separated, no sensitive text with commas inside
        converted = [",".join(c.replace(",", ".") for c in line.split(";")) for line in lines]
        path = _write(ws.root / "comma_2026-W47.csv", converted, "utf-8")
    elif variant == "utf-8 with BOM":
        path = ws.root / "bom_2026-W47.csv"
        path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    elif variant == "parquet":
        frame = pl.read_csv(
            "\n".join(lines).encode(),
            separator=";",
            decimal_comma=True,
            infer_schema_length=None,
        )
        path = ws.root / "snap_2026-W47.parquet"
        frame.write_parquet(path)
    else:
        # whole numbers for the first 120 rows of a float column, then a decimal: must load as float
        index = header.index("SAVINGS_BAL")
        fixed = [lines[0]]
        for i, line in enumerate(lines[1:], start=1):
            cells = line.split(";")
            if i <= 120:
                cells[index] = cells[index].split(",")[0]
            fixed.append(";".join(cells))
        path = _write(ws.root / "late_float_2026-W47.csv", fixed)
    code, result = _run(ws, path, capsys)
    assert code == 0, result
    assert result["rows_in"] == len(lines) - 1
    assert result["status"] == "exported"
