"""The model registry: names -> upstream URL, sha256, class, scope, capabilities -> a local file.

The registry's source is ``models/registry.toml`` at the project root; a wheel carries a copy as
package data (``encsim/bayes/_data/registry.toml``). A model file is found, in order:

1. an explicit path;
2. the folder given as ``model_dir`` or by ``ENCSIM_MODEL_DIR`` (relative: against the current
   directory);
3. the user cache (``ENCSIM_CACHE_DIR``, default ``pooch.os_cache("encsim")``);
4. a download from the registry URL (or ``ENCSIM_MODEL_URL_BASE`` + file name), sha256-verified,
   into the cache, unless downloads are off (``download=False`` or ``ENCSIM_OFFLINE=1``).

Every file found under a registry name is checked against the registry's sha256.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

ENV_MODEL_DIR = "ENCSIM_MODEL_DIR"
ENV_CACHE_DIR = "ENCSIM_CACHE_DIR"
ENV_OFFLINE = "ENCSIM_OFFLINE"
ENV_URL_BASE = "ENCSIM_MODEL_URL_BASE"

FLY_CHOICES = ("yes", "vertical-only", "no")
REFERENCES = ("AGL", "MSL")


class ModelNotFoundError(FileNotFoundError):
    """A model file that encsim could not find; the message lists where it looked."""


class ChecksumError(ValueError):
    """A model file whose sha256 differs from the registry's."""


class RegistryError(ValueError):
    """An invalid registry file (entry and field named)."""


@dataclass(frozen=True)
class RegistryEntry:
    """One model of the registry (see models/README.md for the meaning of each field)."""

    name: str
    file: str
    url: str
    sha256: str
    aircraft_class: str
    family: str
    data_source: str
    transponder: str
    altitude_scope_ft: tuple[float, float]
    altitude_reference: str
    layer_edges_ft: tuple[float, ...]
    noncooperative_surrogate: bool
    deprecated: bool
    sample_tracks: bool
    sample_initial: bool
    fly: str
    encounters: bool
    refusal: str
    report: str
    description: str


_FIELD_TYPES = {
    "file": str,
    "url": str,
    "sha256": str,
    "aircraft_class": str,
    "family": str,
    "data_source": str,
    "transponder": str,
    "altitude_scope_ft": list,
    "altitude_reference": str,
    "layer_edges_ft": list,
    "noncooperative_surrogate": bool,
    "deprecated": bool,
    "sample_tracks": bool,
    "sample_initial": bool,
    "fly": str,
    "encounters": bool,
    "refusal": str,
    "report": str,
    "description": str,
}


def registry_source_path() -> Path | None:
    """The registry file in use: package data of an installed wheel, else the source tree's."""
    packaged = resources.files("encsim.bayes").joinpath("_data", "registry.toml")
    if packaged.is_file():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[2] / "models" / "registry.toml"
    return source if source.is_file() else None


def _entry_from_table(name: str, table: dict, where: str) -> RegistryEntry:
    def bad(field: str, message: str) -> RegistryError:
        return RegistryError(f"{where}: model '{name}', field '{field}': {message}")

    unknown = sorted(set(table) - set(_FIELD_TYPES))
    if unknown:
        raise bad(unknown[0], f"unknown field; known fields: {sorted(_FIELD_TYPES)}")
    for field, kind in _FIELD_TYPES.items():
        if field not in table:
            raise bad(field, "missing")
        if not isinstance(table[field], kind):
            raise bad(field, f"is {table[field]!r}, expected {kind.__name__}")
    if len(table["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in table["sha256"]):
        raise bad("sha256", f"{table['sha256']!r} is not 64 lowercase hex digits")
    scope = table["altitude_scope_ft"]
    if len(scope) != 2 or not all(isinstance(v, (int, float)) for v in scope) or not scope[0] < scope[1]:
        raise bad("altitude_scope_ft", f"{scope!r}: expected [low, high] with low < high (high may be inf)")
    layers = table["layer_edges_ft"]
    if layers and (not all(isinstance(v, (int, float)) for v in layers) or any(b <= a for a, b in zip(layers, layers[1:]))):
        raise bad("layer_edges_ft", f"{layers!r}: expected increasing numbers (ft)")
    if table["altitude_reference"] not in REFERENCES:
        raise bad("altitude_reference", f"{table['altitude_reference']!r}: expected one of {REFERENCES}")
    if table["fly"] not in FLY_CHOICES:
        raise bad("fly", f"{table['fly']!r}: expected one of {FLY_CHOICES}")
    values = dict(table)
    values["altitude_scope_ft"] = (float(scope[0]), float(scope[1]))
    values["layer_edges_ft"] = tuple(float(v) for v in layers)
    return RegistryEntry(name=name, **values)


@lru_cache(maxsize=4)
def _load_registry_from(path: str) -> dict[str, RegistryEntry]:
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML ({exc})") from None
    tables = document.get("models")
    if not isinstance(tables, dict) or not tables:
        raise RegistryError(f"{path}: no [models.NAME] tables")
    return {name: _entry_from_table(name, table, path) for name, table in tables.items()}


def load_registry(path: str | os.PathLike | None = None) -> dict[str, RegistryEntry]:
    """All registry entries by name (cached)."""
    source = Path(path) if path is not None else registry_source_path()
    if source is None:
        raise RegistryError("encsim's model registry (registry.toml) is missing from this installation")
    return _load_registry_from(str(source))


def get_entry(name: str) -> RegistryEntry:
    """The registry entry of ``name`` (a file name with .txt is accepted too)."""
    registry = load_registry()
    key = name[:-4] if name.endswith(".txt") else name
    if key in registry:
        return registry[key]
    close = difflib.get_close_matches(key, registry, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `encsim models list` shows them all"
    raise ModelNotFoundError(f"'{name}' is neither a model file nor a registry model{hint}")


# ------------------------------------------------------------------------------------------ files

_VERIFIED: dict[tuple, str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _VERIFIED[key] = digest.hexdigest()
    return _VERIFIED[key]


def verify_checksum(path: Path, entry: RegistryEntry) -> None:
    actual = file_sha256(path)
    if actual != entry.sha256:
        raise ChecksumError(
            f"{path}: sha256 {actual} differs from the registry's {entry.sha256} for model '{entry.name}'; "
            "the file is corrupted or a different version: replace it with the upstream file"
        )


def cache_dir() -> Path:
    configured = os.environ.get(ENV_CACHE_DIR)
    if configured:
        return Path(configured).expanduser().resolve()
    import pooch

    return Path(pooch.os_cache("encsim"))


def downloads_allowed(download: bool | None) -> bool:
    if download is not None:
        return download
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("1", "true", "yes")


def _looks_like_path(value) -> bool:
    text = str(value)
    return isinstance(value, os.PathLike) or text.endswith(".txt") or os.sep in text or "/" in text


def _entry_for_file(path: Path) -> RegistryEntry | None:
    """The registry entry of an explicitly given file: by checksum, so a renamed copy is known too."""
    digest = file_sha256(path)
    for entry in load_registry().values():
        if entry.sha256 == digest:
            return entry
    return None


def resolve_model_file(name_or_path, *, model_dir=None, download: bool | None = None) -> tuple[Path, RegistryEntry | None]:
    """Find the file of a model by path or registry name (see the module docstring for the order).

    Returns the path and the registry entry (``None`` for a file that is not a registry model).

    Raises
    ------
    ModelNotFoundError
        Listing every place looked and how to provide the file.
    ChecksumError
        For a local or downloaded file whose sha256 differs from the registry's.
    """
    if _looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return path.resolve(), _entry_for_file(path)
        if str(name_or_path).endswith(".txt") and os.sep not in str(name_or_path) and "/" not in str(name_or_path):
            pass  # a bare file name: look it up as a registry name below
        else:
            raise ModelNotFoundError(f"model file {path} does not exist")
    entry = get_entry(str(name_or_path))
    looked: list[str] = []

    folder = model_dir if model_dir is not None else os.environ.get(ENV_MODEL_DIR)
    if folder:
        folder_path = Path(folder).expanduser()
        folder_path = folder_path if folder_path.is_absolute() else Path.cwd() / folder_path
        source = "model_dir" if model_dir is not None else f"{ENV_MODEL_DIR}={folder}"
        if not folder_path.is_dir():
            looked.append(f"{folder_path} ({source}: no such folder)")
        else:
            candidate = folder_path / entry.file
            if candidate.is_file():
                verify_checksum(candidate, entry)
                return candidate.resolve(), entry
            looked.append(f"{candidate} ({source})")
    else:
        looked.append(f"{ENV_MODEL_DIR} (not set)")

    cache = cache_dir()
    cached = cache / entry.file
    if cached.is_file():
        verify_checksum(cached, entry)
        return cached.resolve(), entry
    looked.append(f"{cached} (user cache)")

    url = _download_url(entry)
    if downloads_allowed(download):
        try:
            return _download(entry, url, cache), entry
        except OSError as exc:  # network failure: say everything that was tried
            looked.append(f"{url} (download failed: {exc})")
    else:
        looked.append(f"{url} (download switched off by {'download=False' if download is False else ENV_OFFLINE + '=1'})")
    raise ModelNotFoundError(
        f"model '{entry.name}' ({entry.file}) not found. Looked in:\n  - "
        + "\n  - ".join(looked)
        + f"\nProvide it by setting {ENV_MODEL_DIR} to a folder holding {entry.file}, by allowing downloads "
        f"(unset {ENV_OFFLINE}), or by passing the file's path."
    )


def _download_url(entry: RegistryEntry) -> str:
    base = os.environ.get(ENV_URL_BASE)
    return base.rstrip("/") + "/" + entry.file if base else entry.url


def _download(entry: RegistryEntry, url: str, cache: Path) -> Path:
    import pooch

    cache.mkdir(parents=True, exist_ok=True)
    try:
        fetched = pooch.retrieve(url, known_hash=f"sha256:{entry.sha256}", fname=entry.file, path=cache, progressbar=False)
    except ValueError as exc:  # pooch reports a hash mismatch as ValueError and deletes the file
        raise ChecksumError(f"download of model '{entry.name}' from {url} failed its sha256 check: {exc}") from None
    except Exception as exc:  # requests' errors are not all OSError: normalise them
        raise OSError(f"{type(exc).__name__}: {exc}") from None
    return Path(fetched).resolve()

