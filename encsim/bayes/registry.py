"""The model registry under its former name: the catalogue (`encsim.bayes.catalogue`: which models
exist, with URL, sha256, class, scope and capabilities) and file location (`encsim.bayes.locate`:
an explicit path, ``ENCSIM_MODEL_DIR``, the user cache, a download) re-exported, so that
``from encsim.bayes.registry import load_registry`` and the like keep working.
"""

from __future__ import annotations

from ..checksums import file_sha256
from .catalogue import (
    FAMILIES,
    FLY_CHOICES,
    REFERENCES,
    TRANSPONDER_FILTERS,
    ModelNotFoundError,
    RegistryEntry,
    RegistryError,
    UnknownModelError,
    get_entry,
    load_registry,
    parse_registry,
    registry_source,
    registry_source_path,
)
from .locate import (
    ChecksumError,
    ModifiedModelWarning,
    default_cache_dir,
    downloads_allowed,
    resolve_model_file,
    verify_checksum,
)

__all__ = [
    "FAMILIES",
    "FLY_CHOICES",
    "REFERENCES",
    "TRANSPONDER_FILTERS",
    "ChecksumError",
    "ModelNotFoundError",
    "ModifiedModelWarning",
    "RegistryEntry",
    "RegistryError",
    "UnknownModelError",
    "default_cache_dir",
    "downloads_allowed",
    "file_sha256",
    "get_entry",
    "load_registry",
    "parse_registry",
    "registry_source",
    "registry_source_path",
    "resolve_model_file",
    "verify_checksum",
]
