"""Customer data stays private: owner-only files, no per-customer values in the audit chain, an anchor outside it.

Also: an auditor who may only read the workspace can still verify its ledger.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.jobs.retention import purge
from nba_toolkit.ledger import audit
from nba_toolkit.workspace import Workspace

REASON = "Complained by phone on 0612345678, asked for no more mail"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _audit_text(root: Path) -> str:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return "\n".join(r[0] for r in db.execute("SELECT content FROM audit"))


def _reviewed_run(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, list[str]]:
    """A run with an operator's override; returns its id, the overridden customer and the checks' affected samples."""
    code, run = _cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0
    ledger = Workspace.open(ws.root).ledger
    selection = pl.read_parquet(ws.run_dir(run["run_id"]) / "selection.parquet")
    customer = str(selection.filter(pl.col("mailed"))["customer_id"][0])
    ledger.add_override(run["run_id"], customer, action="exclude", reason=REASON, by="analyst")
    samples = [s for c in ledger.check_results(run["run_id"]) for s in c.affected_sample]
    return run["run_id"], customer, samples


def test_the_chain_holds_digests_not_relation_numbers_or_reasons(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_id, customer, _ = _reviewed_run(ws, capsys)
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        samples = [
            value
            for (text,) in db.execute("SELECT affected_sample FROM check_results WHERE run_id = ?", (run_id,))
            for value in json.loads(text)
        ]
    contents = _audit_text(ws.root)
    assert REASON not in contents and f'"{customer}"' not in contents
    for value in samples:
        assert f'"{value}"' not in contents, f"the affected sample {value} is in the audit chain"

    later = datetime.now(UTC) + timedelta(days=ws.config.retention.run_data_days + 1)
    assert purge(Workspace.open(ws.root), now=later).runs == [run_id]
    fresh = Workspace.open(ws.root)
    assert fresh.ledger.overrides(run_id) == [] and fresh.ledger.verify().ok
    assert REASON not in _audit_text(ws.root), "the purged reason survives in an older audit record"


def test_a_ledger_written_with_raw_values_in_its_chain_still_verifies(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ledgers from before the digests hold raw overrides and samples in their records; they verify unchanged."""
    ws = sample_workspace
    run_id, customer, _ = _reviewed_run(ws, capsys)
    ws.close()
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        db.row_factory = sqlite3.Row
        old_form = _old_form(db)
        _rewrite_chain(db, old_form)
    assert REASON in _audit_text(ws.root), "the old form keeps the raw reason, as older ledgers do"
    code, report = _cli(capsys, "audit", "verify", "--workspace", str(ws.root))
    assert code == 0 and report["ok"], report

    # and a change after it is still found
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        db.execute("UPDATE overrides SET reason = 'no reason' WHERE run_id = ?", (run_id,))
    code, report = _cli(capsys, "audit", "verify", "--workspace", str(ws.root))
    assert code == 4 and any("overrides" in p for p in report["problems"]), report


def _old_form(db: sqlite3.Connection) -> dict[int, str]:
    """Each run record's content as the toolkit wrote it before digests: raw override rows and sample text."""
    changed = {}
    for seq, subject in db.execute("SELECT seq, subject FROM audit WHERE kind = 'run'").fetchall():
        content = json.loads(db.execute("SELECT content FROM audit WHERE seq = ?", (seq,)).fetchone()[0])
        overrides = db.execute(
            "SELECT customer_id, action, reason, made_by, made_at FROM overrides WHERE run_id = ? ORDER BY id", (subject,)
        ).fetchall()
        samples = [r[0] for r in db.execute("SELECT affected_sample FROM check_results WHERE run_id = ? ORDER BY id", (subject,))]
        if content["overrides"]["rows"] == len(overrides):
            content["overrides"] = [dict(r) for r in overrides]
        if len(samples) == len(content["checks"]):
            for check, sample in zip(content["checks"], samples):
                check["affected_sample"] = sample
        changed[seq] = audit.canonical(content)
    return changed


def _rewrite_chain(db: sqlite3.Connection, contents: dict[int, str]) -> None:
    """Recompute every link after replacing some records' content: what the toolkit would have written."""
    prev = audit.GENESIS
    for seq, content in db.execute("SELECT seq, content FROM audit ORDER BY seq").fetchall():
        text = contents.get(seq, content)
        digest = audit.sha256_text(text)
        link = audit.chain_hash(prev, digest)
        db.execute(
            "UPDATE audit SET content = ?, content_sha256 = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (text, digest, prev, link, seq),
        )
        prev = link


# -- one mode policy ---------------------------------------------------------------


def test_every_file_with_customer_data_is_owner_only(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = sample_workspace
    code, run = _cli(capsys, "run", "--approve", "--workspace", str(ws.root))
    assert code == 0
    folder = ws.run_dir(run["run_id"])
    code, _ = _cli(capsys, "evidence", run["run_id"], "--out", str(tmp_path / "pack"), "--workspace", str(ws.root))
    assert code == 0
    # the analysis file is written the same way (0600; tests/plugins/test_examples.py shows it)

    private = [folder / "selection.parquet", folder / "profile.json", ws.root / "ledger.sqlite"]
    private += sorted((tmp_path / "pack").iterdir())
    private += sorted((ws.root / "exports").iterdir())
    for path in private:
        assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"
    for path in (folder, tmp_path / "pack"):
        assert _mode(path) == 0o700, f"{path} is {oct(_mode(path))}"

    # SQLite's companions take the ledger's mode while it is open
    ledger = Workspace.open(ws.root).ledger
    ledger.record_config_change("selection.capacity", 2000, 2000, by="analyst")
    for suffix in ("-wal", "-shm"):
        assert _mode(ws.root / f"ledger.sqlite{suffix}") == 0o600


def test_a_ledger_created_before_the_policy_is_made_owner_only(sample_workspace: Workspace) -> None:
    ws = sample_workspace
    ws.close()
    os.chmod(ws.root / "ledger.sqlite", 0o644)
    assert Workspace.open(ws.root).ledger.runs() == []
    assert _mode(ws.root / "ledger.sqlite") == 0o600


# -- an anchor outside the ledger -------------------------------------------------


def test_a_rewritten_or_truncated_chain_is_found_against_the_evidence_pack(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = sample_workspace
    root = ws.root
    code, run = _cli(capsys, "run", "--approve", "--workspace", str(root))
    assert code == 0
    pack = tmp_path / "pack"
    assert _cli(capsys, "evidence", run["run_id"], "--out", str(pack), "--workspace", str(root))[0] == 0
    head = json.loads((pack / "audit.json").read_text())["last_hash"]
    code, report = _cli(capsys, "audit", "verify", "--anchor", str(pack), "--workspace", str(root))
    assert code == 0 and report["ok"]
    code, _ = _cli(capsys, "run", "--workspace", str(root))
    assert code == 0
    code, report = _cli(capsys, "audit", "verify", "--anchor", head, "--workspace", str(root))
    assert code == 0, "later records do not break the anchor"
    ws.close()

    # rewritten: the exported run's row edited and every link after it recomputed, consistently
    rewritten = tmp_path / "rewritten"
    shutil.copytree(root, rewritten)
    with sqlite3.connect(rewritten / "ledger.sqlite") as db:
        db.row_factory = sqlite3.Row
        db.execute("UPDATE runs SET export_rows = 1 WHERE run_id = ?", (run["run_id"],))
        seq = db.execute("SELECT MAX(seq) FROM audit WHERE kind = 'run' AND subject = ?", (run["run_id"],)).fetchone()[0]
        _rewrite_chain(db, {seq: audit.canonical(audit.run_content(db, run["run_id"]))})
    code, report = _cli(capsys, "audit", "verify", "--workspace", str(rewritten))
    assert code == 0, "a consistent rewrite is invisible without an anchor"
    code, report = _cli(capsys, "audit", "verify", "--anchor", str(pack / "audit.json"), "--workspace", str(rewritten))
    assert code == 4 and any(head in p and "rewritten" in p for p in report["problems"]), report

    # truncated: the last records removed (what deleting the newest run and its records leaves)
    truncated = tmp_path / "truncated"
    shutil.copytree(root, truncated)
    with sqlite3.connect(truncated / "ledger.sqlite") as db:
        anchored = db.execute("SELECT seq FROM audit WHERE hash = ?", (head,)).fetchone()[0]
        db.execute("DELETE FROM audit WHERE seq >= ?", (anchored,))
    code, report = _cli(capsys, "audit", "verify", "--anchor", head, "--workspace", str(truncated))
    assert code == 4 and any(head in p for p in report["problems"]), report


def test_an_anchor_that_is_not_a_chain_head_is_bad_input(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "note.txt").write_text("not a hash\n")
    for anchor in (str(tmp_path / "note.txt"), str(tmp_path / "missing.json"), "abc123"):
        code, refused = _cli(capsys, "audit", "verify", "--anchor", anchor, "--workspace", str(sample_workspace.root))
        assert code == 4 and "anchor" in refused["error"], refused


# -- a read-only auditor ------------------------------------------------------------


def _as_reader_only() -> list[str]:
    """A command prefix that runs as a user who may read the workspace but not write it, or skip."""
    if os.geteuid() != 0:
        return []  # an ordinary user: the file modes below already hold
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is missing: no way to run as an unprivileged user here")
    try:
        import pwd

        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no user 'nobody' to run as")
    prefix = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    reach = subprocess.run([*prefix, sys.executable, "-c", "import nba_toolkit"], capture_output=True, cwd="/")
    if reach.returncode != 0:
        pytest.skip("the user 'nobody' cannot read this Python environment (it lies in a folder only its owner may enter)")
    return prefix


def test_an_auditor_who_can_only_read_the_workspace_can_verify_it(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _as_reader_only()
    code, _ = _cli(capsys, "run", "--approve", "--workspace", str(sample_workspace.root))
    assert code == 0
    sample_workspace.close()
    base = Path(tempfile.mkdtemp(prefix="nba-readonly-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)  # the unprivileged user must be able to reach the copy
        root = base / "ws"
        shutil.copytree(sample_workspace.root, root)
        for path in [root, *root.rglob("*")]:
            if prefix:
                os.chown(path, int(prefix[1].split("=")[1]), int(prefix[2].split("=")[1]))
            os.chmod(path, 0o500 if path.is_dir() else 0o400)
        before = sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*"))

        result = subprocess.run(
            [*prefix, sys.executable, "-m", "nba_toolkit.cli", "audit", "verify", "--workspace", str(root), "--json"],
            capture_output=True,
            text=True,
            cwd="/",
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(base), "NBA_TOOLKIT_USER": "auditor"},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["ok"]
        assert sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*")) == before, "verify wrote"
    finally:
        for path in [base, *base.rglob("*")]:
            os.chmod(path, 0o700)
        shutil.rmtree(base, ignore_errors=True)


def test_purge_removes_the_raw_extract_only_old_runs_read(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, run = _cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0
    extract = Path(run["snapshot"])
    others = sorted(p for p in ws.snapshots_dir.iterdir() if p != extract)
    assert extract.is_file() and extract.parent == ws.snapshots_dir

    later = datetime.now(UTC) + timedelta(days=ws.config.retention.run_data_days + 1)
    report = purge(Workspace.open(ws.root), now=later)
    assert report.runs == [run["run_id"]] and report.extracts == [f"data/snapshots/{extract.name}"]
    assert not extract.exists()
    assert sorted(p for p in ws.snapshots_dir.iterdir()) == others, "extracts no run read are left alone"
    assert Workspace.open(ws.root).ledger.verify().ok
