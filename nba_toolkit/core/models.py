"""Saving and loading fitted models, with a hash check before anything is unpickled.

A joblib file is a pickle, and unpickling can run arbitrary code. So a model
is loaded only if it sits in the workspace's ``models/`` folder, its SHA-256
matches both its metadata sidecar and what the ledger recorded when it was
trained, the ledger's audit chain vouches for that record (so replacing the
file and the ledger row together is found), and it was made with the
scikit-learn version installed now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nba_toolkit.core.files import atomic_write_bytes, sha256_of
from nba_toolkit.errors import BadInput


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import polars
    import sklearn

    return {
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "polars": polars.__version__,
        "joblib": joblib.__version__,
    }


def save_model(model: Any, path: Path, metadata: dict[str, Any]) -> str:
    """Write the model and its sidecar (``<name>.json``); return the model file's SHA-256."""
    import io

    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    sha = sha256_of(path)
    sidecar = {**metadata, "sha256": sha, "libraries": library_versions()}
    atomic_write_bytes(sidecar_path(path), json.dumps(sidecar, indent=2, sort_keys=True).encode())
    return sha


def sidecar_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def read_sidecar(model_path: Path) -> dict[str, Any]:
    try:
        return json.loads(sidecar_path(model_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(
            "the model's metadata sidecar is missing, so its origin cannot be checked",
            file=sidecar_path(model_path),
            hint="Train a new model with `nba-toolkit train`.",
        ) from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"the model's metadata sidecar is damaged ({exc})", file=sidecar_path(model_path)) from None


def load_model(path: Path, *, models_dir: Path, expected_sha256: str) -> Any:
    """Unpickle a model only after every check that it is the one the workspace recorded.

    ``models_dir`` is the workspace's ``models/``; the ledger next to it is
    read (read-only) to check the audit chain, so every caller gets that check.
    """
    import joblib

    path = path.resolve()
    if models_dir.resolve() not in path.parents:
        raise BadInput(
            "refusing to load a model from outside the workspace's models/ folder: a model file can run code when loaded",
            file=path,
        )
    if not path.is_file():
        raise BadInput("the recorded model file is missing", file=path, hint="Train a new model with `nba-toolkit train`.")
    sidecar = read_sidecar(path)
    actual = sha256_of(path)
    if actual != expected_sha256 or sidecar.get("sha256") != expected_sha256:
        raise BadInput(
            "the model file is not the one this workspace trained (its SHA-256 differs from the ledger's "
            "record); it was not loaded, because a changed model file can run code",
            file=path,
            hint="Restore the file from backup or train a new model with `nba-toolkit train`.",
        )
    _chain_vouches(models_dir, expected_sha256)
    trained_with = sidecar.get("libraries", {}).get("scikit-learn")
    installed = library_versions()["scikit-learn"]
    if trained_with != installed:
        raise BadInput(
            f"the model was trained with scikit-learn {trained_with}, but {installed} is installed; "
            "a model may score differently across versions",
            file=path,
            hint="Retrain with `nba-toolkit train`, or install the scikit-learn version it was trained with.",
        )
    return joblib.load(path)


def _chain_vouches(models_dir: Path, sha256: str) -> None:
    """The audit chain of the workspace's ledger must vouch for the model; raises BadInput otherwise."""
    from nba_toolkit.ledger.store import Ledger

    ledger = Ledger.open_read_only(models_dir.parent / "ledger.sqlite")
    try:
        ledger.vouch_for_model(sha256)
    finally:
        ledger.close()
