"""The model catalogue: the registry of model names -> upstream URL, sha256, class, scope, capabilities.

The registry's editable source is ``models/registry.toml`` at the project root (field meanings in
``models/README.md``); a wheel carries a copy as package data, ``encsim/bayes/_data/registry.toml``,
which is preferred when present. The MIT LL count files themselves are never part of encsim.
Finding, verifying and downloading a model's file is `encsim.bayes.locate`'s job.
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = [
    "FAMILIES",
    "FLY_CHOICES",
    "REFERENCES",
    "TRANSPONDER_FILTERS",
    "ModelNotFoundError",
    "RegistryEntry",
    "RegistryError",
    "UnknownModelError",
    "get_entry",
    "load_registry",
    "parse_registry",
    "registry_source",
    "registry_source_path",
]

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


class ModelNotFoundError(FileNotFoundError):
    """A model file that encsim could not find; the message lists where it looked and how to provide it."""


class UnknownModelError(ModelNotFoundError):
    """A name that is neither an existing file nor a registry model (close matches are suggested)."""


class RegistryError(ValueError):
    """An invalid registry file (the entry and field are named)."""


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
    >>> from encsim.bayes.catalogue import load_registry
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
    >>> from encsim.bayes.catalogue import get_entry
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
