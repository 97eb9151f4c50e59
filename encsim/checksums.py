"""sha256 of files and texts: the one helper for model files, chunk files and provenance.

Imports only the standard library, so every layer may use it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

__all__ = ["file_sha256", "text_sha256"]

_BLOCK_BYTES = 1 << 20
_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGESTS_LOCK = threading.Lock()


def file_sha256(path: str | os.PathLike, *, remember: bool = True) -> str:
    """sha256 (hex) of a file, streamed in 1 MiB blocks and remembered per (path, size, mtime).

    Remembering makes repeated loads of a model cost a ``stat``; a file rewritten in place gets a
    new mtime, so it is hashed again. Integrity checks (chunk and results files) pass
    ``remember=False``: a file damaged with its size and mtime kept must still be caught.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "a.txt"
    ...     _ = path.write_bytes(b"abc")
    ...     file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _DIGESTS_LOCK:
        known = _DIGESTS.get(key) if remember else None
    if known is not None:
        return known
    digest = hashlib.sha256()
    with open(resolved, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _DIGESTS_LOCK:
        _DIGESTS[key] = value
    return value


def text_sha256(text: str) -> str:
    """sha256 (hex) of a text's UTF-8 bytes (e.g. a scenario file's text, for provenance).

    Examples
    --------
    >>> text_sha256("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(text.encode()).hexdigest()
