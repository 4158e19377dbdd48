"""The evidence pack: one run, explained for a reviewer who does not have the toolkit.

``nba-toolkit evidence RUN_ID --out DIR`` writes plain files (JSON, Markdown,
TOML-shaped text) that an auditor or a complaint handler can read with any
editor: what went in (file hashes), what decided (engine, model, plugins,
configuration), what was checked, who approved and acknowledged what, what
came out (counts, the export's hash), and the audit chain's state at the
time of writing, so later tampering with the ledger cannot rewrite the
pack. No customer data beyond relation numbers is written; the pack holds
counts, hashes and the relation numbers of operator overrides only, and like
every file with customer data it is readable by its owner only.
``audit.json`` records the chain's head: ``audit verify --anchor DIR`` later
checks that the ledger's chain still contains it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nba_toolkit.core.files import atomic_write_bytes, private_folder, sha256_of
from nba_toolkit.core.governance import as_dict, read_register
from nba_toolkit.core.model_card import render
from nba_toolkit.core.models import read_sidecar
from nba_toolkit.core.recorded_review import recorded_review
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.workspace import Workspace


@dataclass(frozen=True)
class EvidencePack:
    run_id: str
    folder: Path
    files: dict[str, str]  # file name -> SHA-256

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "folder": str(self.folder), "files": self.files}


def write_evidence(workspace: Workspace, run_id: str, out: Path) -> EvidencePack:
    ledger = workspace.ledger
    run = ledger.run(run_id)
    out = Path(out).expanduser()
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; choose a new folder for the evidence pack")
    report = ledger.verify()
    files: dict[str, bytes] = {}

    files["run.json"] = _json(run.to_dict())
    files["checks.json"] = _json([c.__dict__ for c in ledger.check_results(run_id)])
    files["review.json"] = _json(
        {
            "acknowledgements": [
                {"check": check, "by": by, "at": at} for check, (by, at) in ledger.acknowledgements(run_id).items()
            ],
            "overrides": ledger.overrides(run_id),
            "approved_by": run.approved_by,
            "approved_at": run.approved_at,
            "looked_at": recorded_review(ledger, run_id).to_dict(),
            "review_sessions": _review_sessions(ledger.reviews(run_id)),
            "exported_unreviewed": bool(run.unreviewed_export),
        }
    )
    files["configuration.json"] = _json(run.config)
    files["data_use_register.json"] = _json([as_dict(e) for e in read_register(workspace.root).values()])
    files["inputs.json"] = _json(_inputs(workspace, run))
    if run.model_id:
        model = ledger.model(run.model_id)
        if model is not None:
            model_path = workspace.root / model.path
            try:
                files["model_card.md"] = render(read_sidecar(model_path), read_register(workspace.root)).encode()
            except Exception as exc:  # noqa: BLE001 - the pack still says why the card is missing
                files["model_card.md"] = f"The model card could not be made: {exc}\n".encode()
    files["audit.json"] = _json(report.to_dict())
    review = recorded_review(ledger, run_id).sentence()
    if run.unreviewed_export:
        review += "; exported unreviewed ([governance] allow_unreviewed_export)"
    files["README.md"] = _readme(run, review, report.ok).encode()

    private_folder(out)
    hashes = {}
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
        hashes[name] = sha256_of(out / name)
    atomic_write_bytes(out / "manifest.json", _json({"run_id": run_id, "files": hashes}))
    hashes["manifest.json"] = sha256_of(out / "manifest.json")
    return EvidencePack(run_id=run_id, folder=out, files=hashes)


def read_anchor(value: str) -> str:
    """The chain head to verify against: a hash as it is, or read from an evidence pack or a file holding it.

    An evidence pack's ``audit.json`` records the head when the pack was
    written (``last_hash``); a file may also hold just the hash.
    """
    text = value.strip().lower()
    if _is_hash(text):
        return text
    path = Path(value).expanduser()
    if path.is_dir():
        path = path / "audit.json"
    try:
        content = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"the anchor cannot be read ({exc.__class__.__name__}); give a hash or an evidence pack", file=path
        ) from None
    try:
        found = json.loads(content).get("last_hash", "") if content.startswith("{") else content
    except (ValueError, AttributeError):
        found = ""
    if not isinstance(found, str) or not _is_hash(found.strip().lower()):
        raise BadInput("the anchor holds no chain head (a SHA-256 of 64 hex digits, or audit.json's last_hash)", file=path)
    return found.strip().lower()


def _is_hash(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _inputs(workspace: Workspace, run: Any) -> dict[str, Any]:
    """Each recorded input with its recorded hash and whether the file still matches it."""

    def state(path: str | None, recorded: str | None) -> dict[str, Any]:
        if not path:
            return {"path": None, "recorded_sha256": recorded, "now": "not recorded"}
        file = Path(path) if Path(path).is_absolute() else workspace.root / path
        if not file.is_file():
            return {"path": path, "recorded_sha256": recorded, "now": "missing"}
        return {"path": path, "recorded_sha256": recorded, "now": "matches" if sha256_of(file) == recorded else "changed"}

    model = workspace.ledger.model(run.model_id) if run.model_id else None
    return {
        "snapshot": state(run.snapshot_path, run.snapshot_sha256),
        "model": state(model.path if model else None, run.model_sha256),
        "selection": state(run.selection_path, run.selection_sha256),
        "export": state(run.export_path, run.export_sha256),
        "dropped_sensitive_columns": run.dropped_columns,
        "engine": {"name": run.engine, "version": run.engine_version},
        "plugins": run.plugins,
        "toolkit_version": run.toolkit_version,
        "salt": run.salt,
    }


def _review_sessions(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each review session with how much it looked at; the relation numbers opened stay in the ledger."""
    return [
        {
            "by": s["reviewed_by"],
            "how": s["face"],
            "started_at": s["started_at"],
            "ended_at": s["ended_at"],
            "seconds": s["seconds"],
            "customers_opened": len(s["customers"]),
            "pages_seen": len(s["pages"]),
        }
        for s in sessions
    ]


def _readme(run: Any, review: str, chain_ok: bool) -> str:
    mailed = run.counts.get("selected_mailed", 0) + run.counts.get("random_control", 0)
    return "\n".join(
        [
            f"# Evidence for run {run.run_id} ({run.week})",
            "",
            f"Status: {run.status}. Started {run.started_at} by {run.operator}; "
            + (f"approved by {run.approved_by} at {run.approved_at}." if run.approved_by else "not approved."),
            f"Customers in the snapshot: {run.rows_in or 0:,}; mailed: {mailed:,}; held out: {run.counts.get('holdout', 0):,}.",
            f"Review: {review}.",
            *(
                [
                    f"A fallback list: {run.counts.get('random_control', 0):,} eligible customers drawn at random "
                    f"({run.capacity or 0:,} asked for); no model decided this run, so the pack has no model card."
                ]
                if run.kind == "fallback"
                else []
            ),
            f"Audit chain when this pack was written: {'intact' if chain_ok else 'BROKEN (see audit.json)'}.",
            "",
            "| file | what it holds |",
            "|---|---|",
            "| run.json | the ledger's record of the run: hashes, engine, model, configuration, counts, approval |",
            "| inputs.json | every input and output file with its recorded SHA-256 and whether it still matches |",
            "| checks.json | every check result: severity, status, message, measured value, threshold, advice |",
            "| review.json | acknowledged warnings, operator overrides, what the reviewers looked at, approval |",
            "| configuration.json | the configuration the run used |",
            "| data_use_register.json | which data was approved for which purpose, by whom |",
            *(
                []
                if run.kind == "fallback"
                else ["| model_card.md | the model's card: purpose, data, performance, weaknesses, when not to use it |"]
            ),
            "| audit.json | the ledger's audit chain: intact or not, and its last hash |",
            "| manifest.json | the SHA-256 of every file in this folder |",
            "",
        ]
    )


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n").encode("utf-8")
