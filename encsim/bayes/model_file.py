"""Read, validate and write MIT LL encounter-model parameter files (ASCII).

The format (mitll-reference section 1): sections introduced by ``# name`` header lines, holding the
labels, adjacency matrix ``G`` (row = parent, column = child), bin counts ``r`` and the count
tables ``N`` of an initial Bayesian network and, optionally, of a two-slice transition network,
followed by one line of bin edges (or ``*`` for a categorical variable) per initial variable and
one within-bin resample rate per initial variable.

Count tables: variable ``i`` with parents ``p1 < ... < pk`` has an ``(r_i, q_i)`` table,
``q_i = prod r_p``, written column-major, the column of parent values ``(x_p1, ..., x_pk)``
(0-based) being ``sum_m x_pm * prod_{l<m} r_pl`` (first parent fastest).

Every check names the file, the section and what is wrong (:class:`ModelFileError`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INITIAL_SECTIONS = ("labels_initial", "G_initial", "r_initial", "N_initial")
TRANSITION_SECTIONS = ("labels_transition", "G_transition", "r_transition", "N_transition")
TAIL_SECTIONS = ("boundaries", "resample_rates")
KNOWN_SECTIONS = INITIAL_SECTIONS + TRANSITION_SECTIONS + TAIL_SECTIONS
REQUIRED_SECTIONS = INITIAL_SECTIONS + TAIL_SECTIONS

_QUOTED_LABEL = re.compile(r'"([^"]*)"')
_TIME_SUFFIX = re.compile(r"\s*\((t|t\+1)\)\s*$")


class ModelFileError(ValueError):
    """A model file that cannot be used, with the file, the section and the reason."""

    def __init__(self, source: str, section: str | None, message: str):
        self.source = source
        self.section = section
        self.reason = message
        where = f"{source}, section '{section}'" if section else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class NetworkTables:
    """One Bayesian network as written in a file.

    ``tables[i]`` is the ``(r_i, q_i)`` int64 count table of variable ``i``, or ``None`` for the
    time-t variables of a transition network (they have no table).
    """

    labels: tuple[str, ...]
    graph: np.ndarray  # (n, n) bool, graph[parent, child]
    r: np.ndarray  # (n,) int64
    tables: tuple[np.ndarray | None, ...]

    @property
    def n(self) -> int:
        return len(self.labels)

    def parents(self, i: int) -> np.ndarray:
        """Parents of variable ``i`` in ascending index order (the order of the column index)."""
        return np.flatnonzero(self.graph[:, i])


@dataclass(frozen=True)
class ModelFileContents:
    """Everything a model file holds, validated, before any derived structure."""

    source: str
    initial: NetworkTables
    transition: NetworkTables | None
    boundaries: tuple[np.ndarray | None, ...]  # None for categorical ('*') variables
    resample_rates: np.ndarray
    quirks: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# reading


def read_model_file(path: str | os.PathLike, *, source: str | None = None) -> ModelFileContents:
    """Read and validate one MIT LL model parameter file.

    Parameters
    ----------
    path : path-like
        The ASCII file.
    source : str, optional
        Name used in error messages (defaults to the path).

    Raises
    ------
    ModelFileError
        Naming the file, the section and what is wrong.

    Examples
    --------
    >>> from encsim.bayes.locate import resolve_model_file
    >>> path, _ = resolve_model_file("uncor_1200only_fwse_v1p2")
    >>> contents = read_model_file(path)
    >>> contents.initial.labels[:3]
    ('G', 'A', 'L')
    """
    path = Path(path)
    source = source or str(path)
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise ModelFileError(source, None, f"not an ASCII file ({exc})") from None
    return parse_model_text(text, source=source)


def parse_model_text(text: str, *, source: str = "<text>") -> ModelFileContents:
    """Parse and validate the text of a model file (see :func:`read_model_file`)."""
    sections = _split_sections(text, source)
    missing = [name for name in REQUIRED_SECTIONS if name not in sections]
    if missing:
        raise ModelFileError(source, missing[0], f"missing section(s) {', '.join(missing)}")
    present_transition = [name for name in TRANSITION_SECTIONS if name in sections]
    if present_transition and len(present_transition) != len(TRANSITION_SECTIONS):
        absent = [name for name in TRANSITION_SECTIONS if name not in sections]
        raise ModelFileError(
            source, absent[0], f"transition network incomplete: has {present_transition}, lacks {absent}"
        )

    initial = _parse_network(sections, "initial", source, time_t_count=0)
    transition = None
    if present_transition:
        transition = _parse_network(sections, "transition", source, time_t_count=initial.n, initial_r=initial.r)
        _check_transition_matches_initial(initial, transition, source)

    boundaries = _parse_boundaries(sections["boundaries"], initial, source)
    rates = _parse_resample_rates(sections["resample_rates"], initial.n, source)
    quirks = tuple(_find_quirks(initial))
    return ModelFileContents(source, initial, transition, boundaries, rates, quirks)


def _split_sections(text: str, source: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if line.startswith("#"):
            name = line[1:].strip()
            if name not in KNOWN_SECTIONS:
                raise ModelFileError(
                    source,
                    name,
                    f"unknown section header at line {line_number}; expected one of {list(KNOWN_SECTIONS)}",
                )
            if name in sections:
                raise ModelFileError(source, name, f"section appears twice (again at line {line_number})")
            current = sections[name] = []
        elif not line:
            continue
        elif current is None:
            raise ModelFileError(source, None, f"data before the first section header at line {line_number}")
        else:
            current.append(line)
    return sections


def parse_labels(lines: list[str], source: str, section: str) -> tuple[str, ...]:
    if len(lines) != 1:
        raise ModelFileError(source, section, f"expected 1 line of labels, found {len(lines)}")
    quoted = _QUOTED_LABEL.findall(lines[0])
    labels = quoted if quoted else [token.strip() for token in lines[0].split(",") if token.strip()]
    if not labels:
        raise ModelFileError(source, section, "no labels")
    if len(set(labels)) != len(labels):
        raise ModelFileError(source, section, f"duplicate labels in {labels}")
    return tuple(labels)


def _parse_int_tokens(tokens: list[str], source: str, section: str, what: str) -> np.ndarray:
    try:
        joined = "".join(tokens)
        if "_" in joined or not joined.isascii():  # int() would take '1_000' and non-ASCII digits
            raise ValueError(joined)
        values = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        for position, token in enumerate(tokens):
            if not re.fullmatch(r"[+-]?[0-9]+", token):
                raise ModelFileError(
                    source, section, f"{what}: token {position + 1} is {token!r}, expected a non-negative integer"
                ) from None
        raise ModelFileError(source, section, f"{what}: integer out of range") from None
    negative = np.flatnonzero(values < 0)
    if negative.size:
        position = int(negative[0])
        raise ModelFileError(
            source, section, f"{what}: token {position + 1} is {values[position]}, expected a non-negative integer"
        )
    return values


def _parse_network(sections: dict, suffix: str, source: str, *, time_t_count: int, initial_r=None) -> NetworkTables:
    labels = parse_labels(sections[f"labels_{suffix}"], source, f"labels_{suffix}")
    n = len(labels)

    g_section = f"G_{suffix}"
    g_lines = sections[g_section]
    if len(g_lines) != n:
        raise ModelFileError(source, g_section, f"expected {n} rows (one per label), found {len(g_lines)}")
    rows = []
    for row_number, line in enumerate(g_lines, start=1):
        tokens = line.split()
        if len(tokens) != n:
            raise ModelFileError(source, g_section, f"row {row_number} has {len(tokens)} entries, expected {n}")
        if any(token not in ("0", "1") for token in tokens):
            raise ModelFileError(source, g_section, f"row {row_number} holds {tokens}; entries must be 0 or 1")
        rows.append([token == "1" for token in tokens])
    graph = np.array(rows, dtype=bool).reshape(n, n)
    if np.any(np.diag(graph)):
        variable = int(np.flatnonzero(np.diag(graph))[0])
        raise ModelFileError(source, g_section, f"variable {labels[variable]!r} is its own parent")
    if time_t_count and np.any(graph[:, :time_t_count]):
        parent, child = np.argwhere(graph[:, :time_t_count])[0]
        raise ModelFileError(
            source, g_section, f"edge {labels[parent]!r} -> {labels[child]!r} points into a time-t variable"
        )
    cycle = find_cycle(graph)
    if cycle:
        raise ModelFileError(source, g_section, "graph is cyclic: " + " -> ".join(labels[i] for i in cycle))

    r_section = f"r_{suffix}"
    if len(sections[r_section]) != 1:
        raise ModelFileError(source, r_section, f"expected 1 line, found {len(sections[r_section])}")
    r = _parse_int_tokens(sections[r_section][0].split(), source, r_section, "bin counts")
    if r.shape[0] != n:
        raise ModelFileError(source, r_section, f"has {r.shape[0]} entries, expected {n} (one per label)")
    if np.any(r < 1):
        raise ModelFileError(source, r_section, f"every variable needs at least one bin, got {r.tolist()}")
    if initial_r is not None and not np.array_equal(r[: initial_r.shape[0]], initial_r):
        # checked before the counts, whose expected length depends on r
        raise ModelFileError(
            source,
            r_section,
            f"first {initial_r.shape[0]} entries {r[: initial_r.shape[0]].tolist()} differ from "
            f"r_initial {initial_r.tolist()}",
        )
    if initial_r is not None:
        stems = {strip_time_suffix(label)[0]: i for i, label in enumerate(labels[: initial_r.shape[0]])}
        for j in range(initial_r.shape[0], n):
            partner = stems.get(strip_time_suffix(labels[j])[0])
            if partner is not None and r[j] != r[partner]:
                raise ModelFileError(
                    source, r_section, f"{labels[j]!r} has {r[j]} bins but {labels[partner]!r} has {r[partner]}"
                )

    n_section = f"N_{suffix}"
    tokens = [token for line in sections[n_section] for token in line.split()]
    with_tables = range(time_t_count, n)
    sizes = [int(r[i]) * int(np.prod(r[np.flatnonzero(graph[:, i])], dtype=np.int64)) for i in with_tables]
    if len(tokens) != sum(sizes):
        raise ModelFileError(
            source,
            n_section,
            f"has {len(tokens)} counts, but the graph and r imply {sum(sizes)} "
            f"(sum over variables of r_i x prod of parents' r)",
        )
    counts = _parse_int_tokens(tokens, source, n_section, "count")
    tables: list[np.ndarray | None] = [None] * time_t_count
    start = 0
    for i, size in zip(with_tables, sizes):
        block = counts[start : start + size]
        _check_count_table(block, labels[i], source, n_section, start)
        tables.append(block.reshape((int(r[i]), size // int(r[i])), order="F"))
        start += size
    return NetworkTables(labels, graph, r, tuple(tables))


#: counts above this are not exactly representable as float64, and sums of them overflow int64 soon after
MAX_COUNT = 2**53


def _check_count_table(block: np.ndarray, label: str, source: str, section: str, offset: int) -> None:
    """Refuse a table that gives its variable no probability at all, or counts the sampler cannot sum exactly."""
    if block.size and not block.any():
        raise ModelFileError(
            source,
            section,
            f"the count table of variable {label!r} (counts {offset + 1}-{offset + block.size}) is all zero: "
            "the model gives every value of it probability 0",
        )
    too_large = np.flatnonzero(block > MAX_COUNT)
    if too_large.size:
        k = int(too_large[0])
        raise ModelFileError(
            source,
            section,
            f"count {offset + k + 1} (variable {label!r}) is {int(block[k])}, beyond 2^53 = {MAX_COUNT}: "
            "sums of such counts are not exact (and overflow); rescale the counts",
        )
    total = int(block.sum(dtype=object))  # Python integers: an int64 sum could itself overflow
    if total > MAX_COUNT:
        raise ModelFileError(
            source,
            section,
            f"the counts of variable {label!r} sum to {total}, beyond 2^53 = {MAX_COUNT}: sums of them are not "
            "exact (and overflow); rescale the counts",
        )


def find_cycle(graph: np.ndarray) -> list[int]:
    """A list of variable indices forming a cycle (closed: first == last), or [] if acyclic."""
    n = graph.shape[0]
    state = [0] * n  # 0 new, 1 on stack, 2 done
    stack_path: list[int] = []

    def visit(node: int) -> list[int]:
        state[node] = 1
        stack_path.append(node)
        for child in np.flatnonzero(graph[node]):
            child = int(child)
            if state[child] == 1:
                return stack_path[stack_path.index(child) :] + [child]
            if state[child] == 0:
                found = visit(child)
                if found:
                    return found
        stack_path.pop()
        state[node] = 2
        return []

    for start in range(n):
        if state[start] == 0:
            found = visit(start)
            if found:
                return found
    return []


def strip_time_suffix(label: str) -> tuple[str, str | None]:
    """``'\\dot h(t+1)'`` -> ``('\\dot h', 't+1')``; a label without suffix gives ``(label, None)``."""
    match = _TIME_SUFFIX.search(label)
    if not match:
        return label.strip(), None
    return label[: match.start()].strip(), match.group(1)


def _check_transition_matches_initial(initial: NetworkTables, transition: NetworkTables, source: str) -> None:
    n0 = initial.n
    if transition.n <= n0:
        raise ModelFileError(
            source,
            "labels_transition",
            f"has {transition.n} labels; expected the {n0} initial ones plus the (t+1) ones",
        )
    for i in range(n0):
        stem, _ = strip_time_suffix(transition.labels[i])
        if stem != initial.labels[i]:
            raise ModelFileError(
                source,
                "labels_transition",
                f"label {i + 1} is {transition.labels[i]!r}, expected initial label {initial.labels[i]!r} "
                "(with '(t)' if dynamic)",
            )
    stems_t = {strip_time_suffix(label)[0]: i for i, label in enumerate(transition.labels[:n0])}
    for j in range(n0, transition.n):
        stem, suffix = strip_time_suffix(transition.labels[j])
        if suffix != "t+1":
            raise ModelFileError(
                source, "labels_transition", f"label {j + 1} is {transition.labels[j]!r}, expected a '(t+1)' variable"
            )
        partner = stems_t.get(stem)
        if partner is None or strip_time_suffix(transition.labels[partner])[1] != "t":
            raise ModelFileError(
                source,
                "labels_transition",
                f"{transition.labels[j]!r} has no matching '(t)' variable among the first {n0}",
            )


def _float_token(token: str) -> float:
    """float(), refusing what Python accepts but the format does not ('1_0', non-ASCII digits)."""
    if "_" in token or not token.isascii():
        raise ValueError(token)
    return float(token)


def _parse_boundaries(lines: list[str], initial: NetworkTables, source: str) -> tuple[np.ndarray | None, ...]:
    n = initial.n
    if len(lines) != n:
        raise ModelFileError(source, "boundaries", f"expected {n} lines (one per initial variable), found {len(lines)}")
    boundaries: list[np.ndarray | None] = []
    for i, line in enumerate(lines):
        label = initial.labels[i]
        if line.strip() == "*":
            boundaries.append(None)
            continue
        try:
            edges = np.array([_float_token(token) for token in line.split()], dtype=np.float64)
        except ValueError:
            raise ModelFileError(
                source, "boundaries", f"line {i + 1} ({label!r}) is {line!r}: not '*' or numbers"
            ) from None
        expected = int(initial.r[i]) + 1
        if edges.shape[0] != expected:
            raise ModelFileError(
                source,
                "boundaries",
                f"line {i + 1} ({label!r}) has {edges.shape[0]} edges, expected r + 1 = {expected}",
            )
        if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise ModelFileError(
                source, "boundaries", f"line {i + 1} ({label!r}) edges {edges.tolist()} are not strictly increasing"
            )
        boundaries.append(edges)
    return tuple(boundaries)


def _parse_resample_rates(lines: list[str], n: int, source: str) -> np.ndarray:
    tokens = [token for line in lines for token in line.split()]
    if len(tokens) != n:
        raise ModelFileError(source, "resample_rates", f"has {len(tokens)} entries, expected {n}")
    try:
        rates = np.array([_float_token(token) for token in tokens], dtype=np.float64)
    except ValueError:
        raise ModelFileError(source, "resample_rates", f"entries {tokens} are not all numbers") from None
    outside = np.flatnonzero(~((rates >= 0.0) & (rates <= 1.0)))
    if outside.size:
        k = int(outside[0])
        raise ModelFileError(source, "resample_rates", f"entry {k + 1} is {tokens[k]}, outside [0, 1]")
    return rates


def _find_quirks(initial: NetworkTables) -> list[str]:
    """Real oddities that do not stop the file from being used; reported by `models verify`."""
    quirks = []
    totals = [int(table.sum()) for table in initial.tables if table is not None]
    if len(set(totals)) > 1:
        per_variable = ", ".join(f"{label}={total}" for label, total in zip(initial.labels, totals))
        quirks.append(
            "initial count tables have different totals (" + per_variable + "): they are not marginals of one "
            "joint count array, so chain-rule marginals differ from marginals summed from a single table"
        )
    return quirks


# --------------------------------------------------------------------------------------------
# writing


def _format_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _format_labels(labels: tuple[str, ...]) -> str:
    return ", ".join(f'"{label}"' for label in labels) + " "


def _network_lines(network: NetworkTables, suffix: str) -> list[str]:
    lines = [f"# labels_{suffix}", _format_labels(network.labels), f"# G_{suffix}"]
    lines += [" ".join("1" if entry else "0" for entry in row) + " " for row in network.graph]
    lines += [f"# r_{suffix}", " ".join(str(int(v)) for v in network.r) + " ", f"# N_{suffix}"]
    counts = [table.ravel(order="F") for table in network.tables if table is not None]
    flat = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    lines.append(" ".join(map(str, flat.tolist())) + " ")
    return lines


def format_model_text(contents: ModelFileContents) -> str:
    """The ASCII text of a model, in the MIT LL section order (see :func:`write_model_file`)."""
    lines = _network_lines(contents.initial, "initial")
    if contents.transition is not None:
        lines += _network_lines(contents.transition, "transition")
    lines.append("# boundaries")
    for edges in contents.boundaries:
        lines.append("*" if edges is None else " ".join(_format_number(v) for v in edges) + " ")
    lines.append("# resample_rates")
    lines.append(" ".join(_format_number(v) for v in contents.resample_rates) + " ")
    return "\n".join(lines) + "\n"


def write_model_file(contents: ModelFileContents, path: str | os.PathLike) -> Path:
    """Write a model in the MIT LL ASCII format; reading it back gives identical arrays."""
    path = Path(path)
    path.write_text(format_model_text(contents), encoding="ascii")
    return path
