"""Every broken or odd variant of the sample week ends as it must through ``run --approve``.

The corpus comes from scripts/bad_snapshots.py. Each file is run on its own
copy of the trained sample workspace: a refused or blocked file leaves
nothing in exports/, an accepted one a mail file with only eligible
customers (consent, no investment account, not contacted in the cooldown,
nobody twice), and nothing ever prints a traceback. The tally of outcomes is
printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.ids import relation_number

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bad_snapshots.py"
MINIMUM_CORPUS = 60


def _corpus_module():
    """scripts/bad_snapshots.py, imported once (scripts/ is no package)."""
    if "bad_snapshots" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bad_snapshots", SCRIPT)
        sys.modules["bad_snapshots"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["bad_snapshots"])
    return sys.modules["bad_snapshots"]


@pytest.fixture(scope="module")
def corpus(trained_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, int, str]]:
    folder = tmp_path_factory.mktemp("corpus")
    return _corpus_module().write_corpus(trained_sample / "data" / "snapshots" / "2026-W47.csv", folder)


def eligible(workspace: Path) -> set[str]:
    """Who may be mailed in the sample week: consent, no investment account, no contact in the cooldown."""
    bad_snapshots = _corpus_module()
    header, rows = bad_snapshots.read_sample(workspace / "data" / "snapshots" / "2026-W47.csv")
    at = {name: header.index(name) for name in ("RELATION_NO", "MKT_CONSENT", "HAS_INVEST_ACC")}
    with sqlite3.connect(workspace / "ledger.sqlite") as db:
        cooled = {r[0] for r in db.execute("SELECT customer_id FROM contacts WHERE week_start >= '2026-10-19'")}
    return {
        relation_number(row[at["RELATION_NO"]])
        for row in rows
        if row[at["MKT_CONSENT"]] == "1" and row[at["HAS_INVEST_ACC"]] == "0"
    } - cooled


def outcome(capsys: pytest.CaptureFixture[str], workspace: Path, snapshot: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["run", "--workspace", str(workspace), "--snapshot", str(snapshot), "--approve"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def mailed(workspace: Path) -> list[str]:
    ids = []
    for path in (workspace / "exports").iterdir():
        ids += [row["relation_number"] for row in csv.DictReader(path.read_text().splitlines(), delimiter=";")]
    return ids


def test_the_corpus_is_large_and_its_files_distinct(corpus):
    """A few variants share their bytes and differ in the name (the week it says); the rest are all different."""
    assert len({path.name for path, _, _ in corpus}) == len(corpus)
    assert len({(path.suffix, path.read_bytes()) for path, _, _ in corpus}) >= MINIMUM_CORPUS


def test_every_bad_snapshot_ends_as_expected(corpus, trained_sample, tmp_path, capsys):
    allowed = eligible(trained_sample)
    tally: Counter[int] = Counter()
    wrong = []
    for index, (snapshot, expected, about) in enumerate(corpus):
        workspace = tmp_path / f"ws{index}"
        shutil.copytree(trained_sample, workspace)
        code, printed = outcome(capsys, workspace, snapshot)
        tally[code] += 1
        exported = mailed(workspace)
        problems = []
        if code != expected:
            problems.append(f"exit {code}, expected {expected}")
        if "Traceback" in printed or "unexpected error" in printed:
            problems.append("a traceback or unexpected error")
        if code == 0:
            if not exported or set(exported) - allowed or len(exported) != len(set(exported)):
                problems.append(f"{len(set(exported) - allowed)} ineligible or repeated customers in the mail file")
        elif exported:
            problems.append("a mail file although the run did not succeed")
        if problems:
            wrong.append(f"{snapshot.name} ({about}): {'; '.join(problems)}\n    {' '.join(printed.split())[:300]}")
        shutil.rmtree(workspace)
    with capsys.disabled():
        print(f"\nbad snapshot corpus: {len(corpus)} files; " + ", ".join(f"exit {c}: {n}" for c, n in sorted(tally.items())))
    assert not wrong, "\n".join(wrong)
