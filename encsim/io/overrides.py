"""Scenario keys set by dotted name (``metrics.well_clear``, ``surveillance.radar.azimuth_limit_deg``).

A sweep (`encsim.runner.sweeps`) runs one scenario many times with some keys changed. Each point's
scenario text is the base text with those keys edited in place (comments and layout kept), so the
point's run records what it really flew, like ``--encounters``/``--seed`` do
(`encsim.io.scenario.with_run_overrides`). The edited text is parsed again and must equal the base
document with exactly the requested values set; it is then validated as any scenario is, so a value
of the wrong type or outside its range is refused naming the key, the value and what is expected.

Keys are generic: any key of the scenario's schema (`encsim.io.scenario.Scenario`) outside the
tables that make the encounters (`ENCOUNTER_TABLES`) may be set; tables added to the schema later
are covered without change here.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
import types
import typing

from pydantic import BaseModel

from .scenario import Scenario, ScenarioError, parse_scenario

__all__ = [
    "ENCOUNTER_TABLES",
    "check_override_key",
    "parse_override_value",
    "set_in_text",
    "toml_literal",
    "with_overrides",
]

#: top-level tables that decide the encounters themselves, and why a sweep may not vary them
ENCOUNTER_TABLES = {
    "ownship": "the ownship's model, presets and filters make the encounters",
    "intruder": "the intruder's model, presets and filters make the encounters",
    "geometry": "the encounter geometry (tCPA, HMD/VMD proposal, duration) makes the encounters",
    "encounter": "the encounter source makes the encounters",
    "run": "the encounter count, seed and ids fix the encounter set (set them for the whole sweep with "
    "--encounters/--seed; chunk_size changes no result)",
}
#: top-level keys that change nothing a run computes
NOT_COMPUTED = {
    "name": "the scenario's name changes no result",
    "description": "the scenario's description changes no result",
    "cluster": "the cluster settings say where chunks run, not what they compute",
}


def parse_override_value(text: str):
    """A value written on the command line: a TOML literal (``60``, ``1.5``, ``true``, ``[1, 2]``,
    ``"daa"``), else the text itself as a string (``do365``).

    Examples
    --------
    >>> parse_override_value("60"), parse_override_value("1.5"), parse_override_value("do365")
    (60, 1.5, 'do365')
    """
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def toml_literal(value) -> str:
    """``value`` written as a TOML literal.

    Examples
    --------
    >>> toml_literal(1.5), toml_literal(True), toml_literal("daa"), toml_literal([1, 2.5])
    ('1.5', 'true', '"daa"', '[1, 2.5]')
    """
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key_text(k)} = {toml_literal(v)}" for k, v in value.items()) + " }"
    raise ScenarioError(f"{value!r} ({type(value).__name__}) cannot be written in a scenario (TOML) file")


def _key_text(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _models_of(annotation) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``Spec``, ``Spec | None``, ``RadarSpec | AdsbSpec``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return [model for arg in typing.get_args(annotation) for model in _models_of(arg)]
    return []


def _is_mapping(annotation) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_mapping(arg) for arg in typing.get_args(annotation))
    return annotation is dict or typing.get_origin(annotation) is dict


def check_override_key(key: str, *, schema: type[BaseModel] = Scenario) -> None:
    """Refuse a dotted key that is not in the scenario schema, or that would change the encounters.

    Raises
    ------
    ScenarioError
        Naming the key and why: unknown (with the keys its table has), a table rather than a value,
        a key of the encounter-generation tables (`ENCOUNTER_TABLES`), or one that changes nothing.

    Examples
    --------
    >>> check_override_key("metrics.well_clear")
    >>> try:
    ...     check_override_key("geometry.tcpa_s")
    ... except ValueError as exc:
    ...     print(str(exc).split(": the")[0])
    geometry.tcpa_s: a sweep cannot vary it
    """
    parts = key.split(".")
    if not key or any(not part for part in parts):
        raise ScenarioError(f"{key!r}: not a dotted scenario key (e.g. metrics.well_clear)")
    if parts[0] in ENCOUNTER_TABLES:
        raise ScenarioError(
            f"{key}: a sweep cannot vary it: {ENCOUNTER_TABLES[parts[0]]}, and every point must fly the same "
            "encounters (a paired comparison)"
        )
    if parts[0] in NOT_COMPUTED:
        raise ScenarioError(f"{key}: nothing to sweep: {NOT_COMPUTED[parts[0]]}")
    models: list[type[BaseModel]] = [schema]  # a table may be one of several models (a union)
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the scenario"
        annotations = [model.model_fields[part].annotation for model in models if part in model.model_fields]
        if not annotations:
            names = dict.fromkeys(name for model in models for name in model.model_fields)
            known = ", ".join(name for name in names if depth or name not in {*ENCOUNTER_TABLES, *NOT_COMPUTED})
            raise ScenarioError(f"{key}: unknown key {part!r} in {where} (its keys: {known})")
        inner = [model for annotation in annotations for model in _models_of(annotation)]
        last = depth == len(parts) - 1
        if not inner:
            if not last and not any(map(_is_mapping, annotations)):
                raise ScenarioError(f"{key}: {'.'.join(parts[: depth + 1])} is a value, not a table")
            return  # a value, or a free-form table whose entries the validation checks
        if last:
            names = ", ".join(dict.fromkeys(name for model in inner for name in model.model_fields))
            raise ScenarioError(f"{key}: is a table ({names}); vary one of its keys")
        models = inner


_HEADER = re.compile(r"^\s*\[(?!\[)\s*([^\]#]+?)\s*\]\s*(#.*)?$")


def _tables(lines: list[str]) -> list[tuple[str, int, int]]:
    """(table name, first line, end line) of the text's regions; the top-level region is named ''."""
    starts = [("", -1)]
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            starts.append((re.sub(r"\s+", "", match.group(1)), i))
    regions = []
    for k, (name, header) in enumerate(starts):
        end = starts[k + 1][1] if k + 1 < len(starts) else len(lines)
        regions.append((name, header + 1, end))
    return regions


def _split_comment(rest: str) -> tuple[str, str]:
    """A line's value text and its trailing comment (a '#' inside a string is no comment)."""
    for match in re.finditer("#", rest):
        try:
            tomllib.loads(f"value = {rest[: match.start()]}")
        except tomllib.TOMLDecodeError:
            continue
        return rest[: match.start()], rest[match.start() :]
    return rest, ""


def _edit(lines: list[str], parts: list[str], literal: str) -> list[str]:
    """The lines with the key set: its line replaced, or a line added to the deepest table that holds it."""
    regions = _tables(lines)
    for split in range(len(parts) - 1, -1, -1):
        table, dotted = ".".join(parts[:split]), parts[split:]
        pattern = re.compile(r"^(\s*" + r"\s*\.\s*".join(map(re.escape, dotted)) + r"\s*=\s*)(.*?)(\s*)$")
        for name, first, end in regions:
            if name != table:
                continue
            for i in range(first, end):
                match = pattern.match(lines[i].rstrip("\n"))
                if match:
                    _, comment = _split_comment(match.group(2))
                    gap = "  " if comment else ""
                    return [*lines[:i], f"{match.group(1)}{literal}{gap}{comment}\n", *lines[i + 1 :]]
    for split in range(len(parts) - 1, 0, -1):  # a table of the key's path with a header: add the line there
        table = ".".join(parts[:split])
        for name, first, _ in regions:
            if name == table:
                return [*lines[:first], f"{'.'.join(parts[split:])} = {literal}\n", *lines[first:]]
    if len(parts) == 1:  # a top-level key: before the first table
        first_header = regions[1][1] - 1 if len(regions) > 1 else len(lines)
        return [*lines[:first_header], f"{parts[0]} = {literal}\n", *lines[first_header:]]
    tail = [] if not lines or lines[-1].endswith("\n") else ["\n"]
    return [*lines, *tail, "\n", f"[{'.'.join(parts[:-1])}]\n", f"{parts[-1]} = {literal}\n"]


def _set(document: dict, parts: list[str], value) -> None:
    for part in parts[:-1]:
        document = document.setdefault(part, {})
    document[parts[-1]] = value


def set_in_text(text: str, overrides: dict, *, source: str = "scenario") -> str:
    """TOML text with each dotted key set to its value, edited in place (no schema check).

    The key's line is replaced (its comment kept), or a line is added to the deepest table of the
    key's path that has a ``[header]``, or a new table is appended. The result must parse to the
    original document with exactly these values set, else `ScenarioError`.

    Examples
    --------
    >>> print(set_in_text("[pilot]  # R6\\nmodel = 'r6'\\n", {"pilot.delay_s": 2.5, "pilot.model": "standard"}), end="")
    [pilot]  # R6
    delay_s = 2.5
    model = "standard"
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML ({exc})") from None
    lines = text.splitlines(keepends=True)
    for key, value in overrides.items():
        parts = key.split(".")
        _set(document, parts, value)
        literal = toml_literal(value)
        lines = _edit(lines, parts, literal)
        try:
            edited = tomllib.loads("".join(lines))
        except tomllib.TOMLDecodeError:
            edited = None
        if edited != document:
            raise ScenarioError(
                f"{source}: cannot set {key} = {literal} in the scenario text (is it written as an inline "
                "table, or across lines?): write its table as a [section] with one key per line"
            )
    return "".join(lines)


def with_overrides(text: str, overrides: dict, *, source: str = "scenario") -> str:
    """The scenario text with each dotted key of ``overrides`` set to its value (`set_in_text`), validated.

    Raises
    ------
    ScenarioError
        For a key `check_override_key` refuses, a text where the key cannot be edited in place (it
        is written as an inline table: write it as a ``[table]``), or a scenario that does not
        validate with the value (the message names the key, the value and what is expected).
    """
    for key in overrides:
        check_override_key(key)
    result = set_in_text(text, overrides, source=source)
    shown = ", ".join(f"{key} = {toml_literal(value)}" for key, value in overrides.items())
    parse_scenario(result, source=f"{source} with {shown}", check_models=False)
    return result
