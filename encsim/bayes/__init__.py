"""MIT LL model files: reading, validation, writing, the registry and exact probabilities."""

from __future__ import annotations

import os
from pathlib import Path

from ..checksums import file_sha256
from .model import EncounterModel
from .model_file import ModelFileContents, ModelFileError, read_model_file, write_model_file

__all__ = [
    "EncounterModel",
    "ModelFileContents",
    "ModelFileError",
    "load_model",
    "read_model_file",
    "write_model_file",
]

_LOADED: dict[tuple, EncounterModel] = {}
#: user model files (no registry entry) loaded by path this session, by the name they were given
#: (the file's stem): later look-ups by that name (reports, plots) find the same file
_USER_PATHS: dict[str, Path] = {}


def load_model(name_or_path: str | os.PathLike, *, model_dir=None, download: bool | None = None) -> EncounterModel:
    """Load and validate an encounter model by registry name or by path.

    Parameters
    ----------
    name_or_path : str or path-like
        A registry name such as ``"uncor_1200only_fwse_v1p2"`` or the path of a model file.
    model_dir : path-like, optional
        Folder to look in first (otherwise ``ENCSIM_MODEL_DIR``, then the user cache).
    download : bool, optional
        Allow downloading a registry model from its upstream URL (checksum-verified, cached).
        Default: allowed unless ``ENCSIM_OFFLINE=1``.

    Raises
    ------
    ModelNotFoundError
        Saying where encsim looked and how to provide the file.
    ModelFileError
        For a file that fails validation (naming the file, section and problem).

    Examples
    --------
    >>> import encsim
    >>> model = encsim.load_model("uncor_1200only_fwse_v1p2")
    >>> model.labels
    ('G', 'A', 'L', 'v', '\\\\dot v', '\\\\dot h', '\\\\dot \\\\psi')
    """
    from .catalogue import UnknownModelError
    from .locate import resolve_model_file

    try:
        path, entry = resolve_model_file(name_or_path, model_dir=model_dir, download=download)
    except UnknownModelError:
        if str(name_or_path) not in _USER_PATHS:
            raise
        path, entry = _USER_PATHS[str(name_or_path)], None
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _LOADED:
        contents = read_model_file(path, source=path.name)
        name = entry.name if entry is not None else path.stem
        _LOADED[key] = EncounterModel(name=name, contents=contents, sha256=file_sha256(path), path=path, entry=entry)
    if entry is None:
        _USER_PATHS[_LOADED[key].name] = path
    return _LOADED[key]
