"""A run directory's manifest: which chunk files make the run, with their sha256 and identity.

The runner writes it (encsim/runner/run.py); readers of run directories (`encsim.open_results`,
report, merge) read it through `read_manifest`, which checks its shape before anything trusts it.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["MANIFEST", "read_manifest"]

#: the manifest's file name inside a run directory
MANIFEST = "manifest.json"


def read_manifest(run_dir) -> dict:
    """A run directory's manifest, checked: ValueError naming the file and the fault otherwise."""
    path = Path(run_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not a readable manifest ({exc}); it is rewritten atomically, so it was edited "
            "or damaged: restore it, or start the run in a new folder"
        ) from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    n_chunks, chunks = manifest.get("n_chunks"), manifest.get("chunks")
    if not isinstance(n_chunks, int) or n_chunks < 1:
        raise ValueError(f"{path}: n_chunks = {n_chunks!r}, expected a whole number >= 1")
    if not isinstance(chunks, dict) or not all(
        isinstance(e, dict) and {"file", "sha256"} <= set(e) for e in chunks.values()
    ):
        raise ValueError(f"{path}: chunks must map chunk numbers to entries with file and sha256")
    return manifest
