"""Finding a model's file: an explicit path, the model folder, the user cache or a download, checksum-verified.

Which models exist, and their files' names, URLs and sha256, is the catalogue's (`encsim.bayes.catalogue`).

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

import os
import re
import warnings
from pathlib import Path

from ..checksums import file_sha256
from .catalogue import ModelNotFoundError, RegistryEntry, get_entry, load_registry

__all__ = [
    "ENV_CACHE_DIR",
    "ENV_MODEL_DIR",
    "ENV_OFFLINE",
    "ENV_URL_BASE",
    "ChecksumError",
    "ModifiedModelWarning",
    "default_cache_dir",
    "downloads_allowed",
    "resolve_model_file",
    "verify_checksum",
]

ENV_MODEL_DIR = "ENCSIM_MODEL_DIR"
ENV_CACHE_DIR = "ENCSIM_CACHE_DIR"
ENV_OFFLINE = "ENCSIM_OFFLINE"
ENV_URL_BASE = "ENCSIM_MODEL_URL_BASE"

_FALSE_WORDS = ("", "0", "false", "no", "off")


class ChecksumError(ValueError):
    """A model file whose sha256 differs from the registry's (file, expected and actual sums named)."""


class ModifiedModelWarning(UserWarning):
    """An explicitly given file that carries a registry model's file name but not its checksum."""


def verify_checksum(path: str | os.PathLike, entry: RegistryEntry, *, hint: str = "") -> None:
    """Raise `ChecksumError` (file, expected and actual sums) unless ``path`` has ``entry``'s sha256."""
    actual = file_sha256(path)
    if actual != entry.sha256:
        raise ChecksumError(
            f"model file {Path(path).resolve()} (registry model '{entry.name}') fails its checksum: "
            f"expected sha256 {entry.sha256}, actual sha256 {actual}. The file is corrupted or a different "
            f"version; {hint or 'replace it with the upstream file ' + entry.url}"
        )


def default_cache_dir() -> Path:
    """The user cache of model files: ``ENCSIM_CACHE_DIR`` (relative: against the current
    directory), else ``pooch.os_cache("encsim")``."""
    configured = os.environ.get(ENV_CACHE_DIR, "").strip()
    if configured:
        return _absolute(configured)
    # pooch's own os_cache("encsim") is this folder; platformdirs alone spares a run that finds its
    # models in the cache importing pooch and requests (about 0.1 s of start-up)
    import platformdirs

    return Path(platformdirs.user_cache_dir("encsim"))


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
    registry = load_registry()
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
    >>> from encsim.bayes.locate import resolve_model_file
    >>> path, entry = resolve_model_file("uncor_1200only_fwse_v1p2")
    >>> entry.sha256 == "a40e47d0cd0735055017f572036bba4fa30cc44b54a5eda256416d891b465786"
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
