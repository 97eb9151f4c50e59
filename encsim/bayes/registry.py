"""The model registry: model names -> upstream URL, sha256, class, scope, capabilities -> a local file.

The registry's editable source is ``models/registry.toml`` at the project root (field meanings in
``models/README.md``); a wheel carries a copy as package data, ``encsim/bayes/_data/registry.toml``,
which is preferred when present. The MIT LL count files themselves are never part of encsim.

A model file is found, in order (`resolve_model_file`):

1. an explicit path: a ``pathlib.Path``, or a string ending in ``.txt`` or containing a path
   separator, naming an existing file;
2. the folder given as ``model_dir=``, else the folder named by ``ENCSIM_MODEL_DIR`` (a relative
   value is resolved against the current directory);
3. the user cache: ``cache_dir=``, else ``ENCSIM_CACHE_DIR``, else ``pooch.os_cache("encsim")``;
4. a download, sha256-verified by pooch, into that cache, from ``url=`` if given, else
   ``ENCSIM_MODEL_URL_BASE`` + ``/`` + file name if that variable is set (a mirror, or a local
   server in the tests), else the registry's pinned upstream URL. Downloads are off with
   ``download=False``, or with ``ENCSIM_OFFLINE`` set (to anything but ``0``/``false``/``no``/
   ``off``) unless ``download=True`` is passed.

Every file found under a registry name is checked against the registry's sha256 (streamed; the
result is remembered per (path, size, mtime), so repeated loads cost a ``stat``).
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
import re
import tomllib
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..checksums import file_sha256

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
    "registry_source",
    "registry_source_path",
    "resolve_model_file",
    "verify_checksum",
]

ENV_MODEL_DIR = "ENCSIM_MODEL_DIR"
ENV_CACHE_DIR = "ENCSIM_CACHE_DIR"
ENV_OFFLINE = "ENCSIM_OFFLINE"
ENV_URL_BASE = "ENCSIM_MODEL_URL_BASE"

FAMILIES = (
    "uncorrelated-conventional",
    "unconventional",
    "correlated",
    "due-regard",
    "haa",
    "terminal-geometry",
)
# "n/a": no transponder-code filter applies (GPS, DFDR, ETMS and terminal data).
TRANSPONDER_FILTERS = ("1200-only", "1200-exclude", "all-codes", "1200-code", "discrete-codes", "n/a")
FLY_CHOICES = ("yes", "vertical-only", "no")
REFERENCES = ("AGL", "MSL")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_FALSE_WORDS = ("", "0", "false", "no", "off")


class ModelNotFoundError(FileNotFoundError):
    """A model file that encsim could not find; the message lists where it looked and how to provide it."""


class UnknownModelError(ModelNotFoundError):
    """A name that is neither an existing file nor a registry model (close matches are suggested)."""


class ChecksumError(ValueError):
    """A model file whose sha256 differs from the registry's (file, expected and actual sums named)."""


class RegistryError(ValueError):
    """An invalid registry file (the entry and field are named)."""


class ModifiedModelWarning(UserWarning):
    """An explicitly given file that carries a registry model's file name but not its checksum."""


@dataclass(frozen=True)
class RegistryEntry:
    """One model of the registry; ``models/README.md`` explains each field.

    Altitudes are in ft, in the reference ``altitude_reference`` ("AGL", or "MSL" for HAA);
    ``altitude_scope_ft[1]`` may be ``inf``. ``layer_edges_ft`` is the altitude layer table in
    force (decisions.md section 2); it is empty for models without a usable altitude layer table
    (correlated and terminal-geometry networks).
    """

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

    @property
    def altitude_lo_ft(self) -> float:
        """Lower end of the documented altitude scope (ft, ``altitude_reference``)."""
        return self.altitude_scope_ft[0]

    @property
    def altitude_hi_ft(self) -> float:
        """Upper end of the documented altitude scope (ft, ``altitude_reference``; may be ``inf``)."""
        return self.altitude_scope_ft[1]


# ------------------------------------------------------------------------------ reading, validation

_STRING_FIELDS = (
    "file",
    "url",
    "sha256",
    "aircraft_class",
    "family",
    "data_source",
    "transponder",
    "altitude_reference",
    "fly",
    "refusal",
    "report",
    "description",
)
_BOOL_FIELDS = ("noncooperative_surrogate", "deprecated", "sample_tracks", "sample_initial", "encounters")
_LIST_FIELDS = ("altitude_scope_ft", "layer_edges_ft")
_FIELDS = _STRING_FIELDS + _BOOL_FIELDS + _LIST_FIELDS
_MAY_BE_EMPTY = ("refusal",)


def _number(value, *, allow_inf: bool) -> float | None:
    """A TOML number (int or float, not bool), or the strings "inf"/"infinity" when allowed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif allow_inf and isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
        number = math.inf
    else:
        return None
    if math.isnan(number) or (math.isinf(number) and not (allow_inf and number > 0)):
        return None
    return number


def _entry_from_table(name: str, table, where: str) -> RegistryEntry:
    def bad(field: str, message: str) -> RegistryError:
        return RegistryError(f"{where}: model '{name}', field '{field}': {message}")

    if not isinstance(table, dict):
        raise RegistryError(f"{where}: model '{name}': expected a table [models.{name}], found {table!r}")
    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        raise bad(unknown[0], f"unknown field; the known fields are {', '.join(_FIELDS)}")
    for field in _FIELDS:
        if field not in table:
            raise bad(field, "missing")
    for field in _STRING_FIELDS:
        value = table[field]
        if not isinstance(value, str):
            raise bad(field, f"is {value!r}, expected a string")
        if "\n" in value:
            raise bad(field, "must fit on one line")
        if not value.strip() and field not in _MAY_BE_EMPTY:
            raise bad(field, "is empty")
    for field in _BOOL_FIELDS:
        if not isinstance(table[field], bool):
            raise bad(field, f"is {table[field]!r}, expected true or false")
    for field in _LIST_FIELDS:
        if not isinstance(table[field], list):
            raise bad(field, f"is {table[field]!r}, expected a list of numbers (ft)")

    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise RegistryError(f"{where}: model '{name}': a name is letters, digits and underscores (the file stem)")
    if table["file"] != name + ".txt":
        raise bad("file", f"{table['file']!r}: expected '{name}.txt' (the table name is the file stem)")
    url = table["url"]
    if not url.startswith(("https://", "http://")) or not url.endswith("/" + table["file"]):
        raise bad("url", f"{url!r}: expected an http(s) URL ending in /{table['file']}")
    if not _SHA256.fullmatch(table["sha256"]):
        raise bad("sha256", f"{table['sha256']!r} is not 64 lowercase hexadecimal digits")
    for field, allowed in (
        ("family", FAMILIES),
        ("transponder", TRANSPONDER_FILTERS),
        ("altitude_reference", REFERENCES),
        ("fly", FLY_CHOICES),
    ):
        if table[field] not in allowed:
            raise bad(field, f"{table[field]!r}: expected one of {', '.join(allowed)}")

    scope = table["altitude_scope_ft"]
    bounds = [_number(v, allow_inf=i == 1) for i, v in enumerate(scope)]
    if len(scope) != 2 or None in bounds or not 0 <= bounds[0] < bounds[1]:
        raise bad("altitude_scope_ft", f"{scope!r}: expected [low, high] in ft with 0 <= low < high (high may be inf)")
    layers = [_number(v, allow_inf=False) for v in table["layer_edges_ft"]]
    if None in layers or (layers and len(layers) < 2) or any(b <= a for a, b in itertools.pairwise(layers)):
        raise bad(
            "layer_edges_ft", f"{table['layer_edges_ft']!r}: expected at least two increasing finite edges (ft), or []"
        )
    if layers and (layers[0] < bounds[0] or layers[-1] > bounds[1]):
        raise bad("layer_edges_ft", f"{layers} leaves the documented scope {scope} ft {table['altitude_reference']}")
    if not layers and table["family"] not in ("correlated", "terminal-geometry"):
        raise bad("layer_edges_ft", f"is empty, but a {table['family']} model needs an altitude layer table")

    # Capabilities must be coherent, and anything refused must say why.
    if table["sample_tracks"] and not table["sample_initial"]:
        raise bad("sample_initial", "is false but sample_tracks is true (a track starts from the initial network)")
    if table["fly"] != "no" and not table["sample_tracks"]:
        raise bad("fly", f"is {table['fly']!r} but sample_tracks is false (only sampled tracks are flown)")
    if table["encounters"] and table["fly"] != "yes":
        raise bad("encounters", f"is true but fly is {table['fly']!r} (encounters fly both aircraft in 3-D)")
    refused = (
        not table["sample_tracks"] or not table["sample_initial"] or table["fly"] != "yes" or not table["encounters"]
    )
    if refused and not table["refusal"].strip():
        raise bad("refusal", "is empty, but the model refuses something: say why")
    if not refused and table["refusal"].strip():
        raise bad("refusal", "is set, but nothing is refused")

    values = {field: table[field] for field in _STRING_FIELDS + _BOOL_FIELDS}
    return RegistryEntry(
        name=name,
        altitude_scope_ft=(bounds[0], bounds[1]),
        layer_edges_ft=tuple(layers),
        **values,
    )


def parse_registry(text: str, where: str = "registry.toml") -> dict[str, RegistryEntry]:
    """Parse and validate registry TOML text; errors name ``where``, the entry and the field."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{where}: not valid TOML ({exc})") from None
    extra = sorted(set(document) - {"models"})
    if extra:
        raise RegistryError(f"{where}: unexpected top-level key '{extra[0]}' (only [models.NAME] tables belong here)")
    tables = document.get("models")
    if not isinstance(tables, dict) or not tables:
        raise RegistryError(f"{where}: no [models.NAME] tables")
    entries = {name: _entry_from_table(name, table, where) for name, table in tables.items()}
    seen: dict[str, str] = {}
    for name, entry in entries.items():
        if entry.sha256 in seen:
            raise RegistryError(
                f"{where}: model '{name}', field 'sha256': same checksum as model '{seen[entry.sha256]}'"
            )
        seen[entry.sha256] = name
    return entries


def _packaged_registry():
    """The package-data copy of an installed wheel (a Traversable), or None."""
    try:
        packaged = resources.files(__package__).joinpath("_data", "registry.toml")
        return packaged if packaged.is_file() else None
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return None


def _source_registry() -> Path:
    """The editable source, ``models/registry.toml``, two levels above this package."""
    return Path(__file__).resolve().parents[2] / "models" / "registry.toml"


def registry_source() -> str:
    """Where the registry in use comes from: the package data of a wheel, else the source tree."""
    packaged = _packaged_registry()
    if packaged is not None:
        return f"{packaged} (package data)"
    return str(_source_registry())


def registry_source_path() -> Path | None:
    """The registry file in use as a filesystem path (None if missing or inside a zip archive)."""
    packaged = _packaged_registry()
    if packaged is not None:
        path = Path(str(packaged))
        return path if path.is_file() else None
    source = _source_registry()
    return source if source.is_file() else None


@lru_cache(maxsize=1)
def _default_registry() -> dict[str, RegistryEntry]:
    packaged = _packaged_registry()
    if packaged is not None:
        return parse_registry(packaged.read_text(encoding="utf-8"), f"{packaged} (package data)")
    source = _source_registry()
    if not source.is_file():
        raise RegistryError(
            f"encsim's model registry is missing: neither package data encsim/bayes/_data/registry.toml "
            f"nor the source tree's {source} exists; reinstall encsim"
        )
    return parse_registry(source.read_text(encoding="utf-8"), str(source))


@lru_cache(maxsize=8)
def _registry_at(path: str, size: int, mtime_ns: int) -> dict[str, RegistryEntry]:
    return parse_registry(Path(path).read_text(encoding="utf-8"), path)


def load_registry(path: str | os.PathLike | None = None) -> dict[str, RegistryEntry]:
    """All registry entries by name, validated (cached; each call returns a fresh dict).

    Parameters
    ----------
    path : path-like, optional
        Read this registry file instead of encsim's own (package data of an installed wheel,
        else ``models/registry.toml`` of the source tree).

    Raises
    ------
    RegistryError
        Naming the file, the entry and the field at fault.

    Examples
    --------
    >>> from encsim.bayes.registry import load_registry
    >>> entry = load_registry()["uncor_1200only_fwse_v1p2"]
    >>> entry.layer_edges_ft, entry.altitude_reference
    ((50.0, 500.0, 1200.0, 3000.0, 5000.0), 'AGL')
    """
    if path is None:
        return dict(_default_registry())
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise RegistryError(f"registry file {resolved} does not exist")
    stat = resolved.stat()
    return dict(_registry_at(str(resolved), stat.st_size, stat.st_mtime_ns))


def get_entry(name: str) -> RegistryEntry:
    """The registry entry of model ``name`` (its file name, with ``.txt``, is accepted too).

    Raises
    ------
    UnknownModelError
        For an unknown name, listing close matches.

    Examples
    --------
    >>> from encsim.bayes.registry import get_entry
    >>> get_entry("balloon_v1.txt").fly
    'vertical-only'
    """
    registry = _default_registry()
    key = str(name)
    key = key[:-4] if key.endswith(".txt") else key
    if key in registry:
        return registry[key]
    close = difflib.get_close_matches(key, list(registry), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `encsim models list` shows the registry's models"
    raise UnknownModelError(f"'{name}' is neither an existing model file nor a registry model{hint}")


# ------------------------------------------------------------------------------------ checksums


def verify_checksum(path: str | os.PathLike, entry: RegistryEntry, *, hint: str = "") -> None:
    """Raise `ChecksumError` (file, expected and actual sums) unless ``path`` has ``entry``'s sha256."""
    actual = file_sha256(path)
    if actual != entry.sha256:
        raise ChecksumError(
            f"model file {Path(path).resolve()} (registry model '{entry.name}') fails its checksum: "
            f"expected sha256 {entry.sha256}, actual sha256 {actual}. The file is corrupted or a different "
            f"version; {hint or 'replace it with the upstream file ' + entry.url}"
        )


# ------------------------------------------------------------------------------------ resolution


def default_cache_dir() -> Path:
    """The user cache of model files: ``ENCSIM_CACHE_DIR`` (relative: against the current
    directory), else ``pooch.os_cache("encsim")``."""
    configured = os.environ.get(ENV_CACHE_DIR, "").strip()
    if configured:
        return _absolute(configured)
    import pooch

    return Path(pooch.os_cache("encsim"))


def downloads_allowed(download: bool | None = None) -> bool:
    """``download`` if given, else True unless ``ENCSIM_OFFLINE`` is set to a true-ish value."""
    if download is not None:
        return bool(download)
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in _FALSE_WORDS


def _absolute(folder: str | os.PathLike) -> Path:
    path = Path(folder).expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def _is_path_like(value) -> bool:
    if isinstance(value, os.PathLike):
        return True
    text = str(value)
    return text.endswith(".txt") or _has_separator(text)


def _has_separator(text: str) -> bool:
    return any(s in text for s in (os.sep, os.altsep, "/") if s)


def _entry_for_file(path: Path) -> RegistryEntry | None:
    """The registry entry of an explicitly given file: by checksum (a renamed copy is known too),
    else by file name, with a `ModifiedModelWarning` (the entry's scope, layer table and refusals
    then apply to a file that is not the registry's)."""
    registry = _default_registry()
    digest = file_sha256(path)
    for entry in registry.values():
        if entry.sha256 == digest:
            return entry
    for entry in registry.values():
        if entry.file == path.name:
            warnings.warn(
                f"{path} has the file name of registry model '{entry.name}' but sha256 {digest}, not the "
                f"registry's {entry.sha256}: using the entry's scope, layer table and capabilities with a "
                "modified file",
                ModifiedModelWarning,
                stacklevel=3,
            )
            return entry
    return None


def _download_url(entry: RegistryEntry, url: str | None) -> str:
    if url:
        return url
    base = os.environ.get(ENV_URL_BASE, "").strip()
    return base.rstrip("/") + "/" + entry.file if base else entry.url


def resolve_model_file(
    name_or_path: str | os.PathLike,
    *,
    model_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool | None = None,
    url: str | None = None,
) -> tuple[Path, RegistryEntry | None]:
    """Find the file of a model given by registry name or by path.

    Parameters
    ----------
    name_or_path : str or path-like
        A registry name (``"uncor_1200only_fwse_v1p2"``; the file name ``"...v1p2.txt"`` works too)
        or the path of a model file (a ``Path``, or a string ending in ``.txt`` or containing a
        path separator).
    model_dir : path-like, optional
        Folder to look in instead of ``ENCSIM_MODEL_DIR`` (relative: against the current directory).
    cache_dir : path-like, optional
        User cache instead of ``ENCSIM_CACHE_DIR`` / ``pooch.os_cache("encsim")``.
    download : bool, optional
        Allow (True) or forbid (False) downloading a missing registry model; default: allowed
        unless ``ENCSIM_OFFLINE`` is set.
    url : str, optional
        Download from this URL instead of ``ENCSIM_MODEL_URL_BASE``/file or the registry's URL
        (a mirror); the registry's sha256 is still enforced.

    Returns
    -------
    (pathlib.Path, RegistryEntry or None)
        The absolute path and the registry entry (None for an explicit file that matches no
        registry model by checksum or file name).

    Raises
    ------
    ModelNotFoundError
        Listing every place looked, with paths, and how to provide the file.
    UnknownModelError
        For a name that is neither an existing file nor a registry model.
    ChecksumError
        For a local, cached or downloaded file whose sha256 differs from the registry's.

    Examples
    --------
    >>> from encsim.bayes.registry import resolve_model_file
    >>> path, entry = resolve_model_file("uncor_1200only_fwse_v1p2")  # doctest: +SKIP
    >>> entry.sha256 == "a40e47d0cd0735055017f572036bba4fa30cc44b54a5eda256416d891b465786"  # doctest: +SKIP
    True
    """
    # 1. an explicit path
    if _is_path_like(name_or_path):
        path = _absolute(name_or_path)
        if path.is_file():
            resolved = path.resolve()
            return resolved, _entry_for_file(resolved)
        if isinstance(name_or_path, os.PathLike) or _has_separator(str(name_or_path)):
            given = os.fspath(name_or_path)
            relative = (
                "" if Path(given).expanduser().is_absolute() else f" (relative to the current directory {Path.cwd()})"
            )
            raise ModelNotFoundError(
                f"model file {path} does not exist{relative}. Pass the path of an existing model file, "
                f"or a registry name such as 'uncor_1200only_fwse_v1p2' (`encsim models list`)."
            )
        # a bare file name such as "glider_v1.txt" that is not in the current directory: a registry name
    entry = get_entry(str(name_or_path))
    looked: list[str] = []
    if isinstance(name_or_path, str) and name_or_path.endswith(".txt"):
        looked.append(f"{Path.cwd() / name_or_path}  (as a path relative to the current directory): not there")

    # 2. the model folder
    if model_dir is not None:
        folder_value, source = os.fspath(model_dir), "model_dir"
    else:
        folder_value, source = os.environ.get(ENV_MODEL_DIR, "").strip(), ENV_MODEL_DIR
    missing_folder = ""
    if folder_value:
        folder = _absolute(folder_value)
        label = f"{source}={folder_value}"
        if not folder.is_dir():
            looked.append(f"{folder}  ({label}): no such folder")
            missing_folder = f"{label} names {folder}, which is not a folder"
        else:
            candidate = folder / entry.file
            if candidate.is_file():
                verify_checksum(candidate, entry, hint=f"replace it with the upstream file {entry.url}")
                return candidate.resolve(), entry
            looked.append(f"{candidate}  ({label}): not there")
    else:
        looked.append(f"{ENV_MODEL_DIR}: not set")

    # 3. the user cache
    if cache_dir is not None:
        cache, cache_label = _absolute(cache_dir), "cache_dir"
    else:
        configured = os.environ.get(ENV_CACHE_DIR, "").strip()
        cache, cache_label = default_cache_dir(), (f"{ENV_CACHE_DIR}={configured}" if configured else "user cache")
    cached = cache / entry.file
    allowed = downloads_allowed(download)
    if cached.is_file():
        if file_sha256(cached) == entry.sha256:
            _warn_missing_folder(missing_folder, cached)
            return cached.resolve(), entry
        if not allowed:
            verify_checksum(cached, entry, hint="delete it, or allow downloads to replace it with a verified copy")
        looked.append(
            f"{cached}  ({cache_label}): stale or corrupted copy (sha256 {file_sha256(cached)}), "
            "to be replaced by a download"
        )
    else:
        looked.append(f"{cached}  ({cache_label}): not there")

    # 4. a download into the cache
    source_url = _download_url(entry, url)
    if allowed:
        try:
            fetched = _download(entry, source_url, cache)
        except ChecksumError:
            raise
        except Exception as exc:  # network or file-system failure: report every place tried
            looked.append(f"{source_url}: download failed, {type(exc).__name__}: {exc}")
            raise _not_found(entry, looked, download_failed=True) from exc
        _warn_missing_folder(missing_folder, fetched)
        return fetched, entry
    if download is False:
        looked.append(f"{source_url}: download switched off by download=False")
    else:
        looked.append(f"{source_url}: download switched off by {ENV_OFFLINE}={os.environ.get(ENV_OFFLINE, '')}")
    raise _not_found(entry, looked)


def _warn_missing_folder(problem: str, used: Path) -> None:
    """A misconfigured model folder hidden by a cached or downloaded copy is worth a warning."""
    if problem:
        warnings.warn(f"{problem}; using {used} instead", UserWarning, stacklevel=3)


def _not_found(entry: RegistryEntry, looked: list[str], *, download_failed: bool = False) -> ModelNotFoundError:
    places = "\n".join(f"  {i}. {place}" for i, place in enumerate(looked, 1))
    fetch = (
        "or retry when the download source is reachable"
        if download_failed
        else f"or allow downloads (download=True, or unset {ENV_OFFLINE}) to fetch it from {entry.url}"
    )
    return ModelNotFoundError(
        f"model '{entry.name}' ({entry.file}) not found. Looked in:\n{places}\n"
        f"Provide it: set {ENV_MODEL_DIR} to a folder holding {entry.file} (sha256 {entry.sha256}), "
        f"{fetch}, or pass the file's path."
    )


def _download(entry: RegistryEntry, url: str, cache: Path) -> Path:
    """Fetch ``url`` into ``cache`` with pooch: written to a temporary file, checked against the
    registry's sha256, and only then moved into place (a mismatching download is deleted)."""
    import pooch

    cache.mkdir(parents=True, exist_ok=True)
    try:
        fetched = pooch.retrieve(
            url,
            known_hash=f"sha256:{entry.sha256}",
            fname=entry.file,
            path=cache,
            progressbar=False,
        )
    except ValueError as exc:
        message = str(exc)
        if "hash" not in message.lower():
            raise OSError(message) from exc
        got = re.search(r"got ([0-9a-fA-F]{64})", message)
        actual = got.group(1).lower() if got else "unknown (see below)"
        raise ChecksumError(
            f"download of model '{entry.name}' from {url} fails its checksum: expected sha256 {entry.sha256}, "
            f"actual sha256 {actual}; the download was deleted and nothing was cached ({message})"
        ) from None
    path = Path(fetched).resolve()
    verify_checksum(path, entry)  # pooch checked it; this also remembers the digest
    return path
