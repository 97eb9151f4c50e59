"""Sensitivity sweeps: one scenario run over a grid of settings, every point over the same encounters.

``sweep(scenario, logic, vary={"metrics.well_clear": ["do365", "daidalus"], ...}, out_dir=...)``
runs every combination of the varied values (a grid; the first key varies slowest) as a run of its
own, ``out_dir/point_000``, ``point_001``, ... Each point's scenario text is the base text with its
values written in (`encsim.io.overrides.with_overrides`), so the point's run records what it flew.
Only keys outside the encounter-generation tables may vary (`encsim.io.overrides.ENCOUNTER_TABLES`),
and the encounter ids and weights of every point are checked to be the baseline's: every point flies
the same encounters with the same seed, and every per-encounter random stream is keyed by (seed,
encounter id) only (common random numbers), so the points are paired.

The key ``logic`` varies the closed-loop logic itself (then ``logic=`` is not given).

Resumable: ``out_dir/sweep.json`` records the sweep's definition; a rerun with the same definition
keeps the finished points (the runner verifies their chunks and computes nothing) and resumes an
interrupted one like any run; a folder holding another sweep is refused, naming what differs.

Outputs (rewritten from the points on every run): ``sweep.csv`` (and ``sweep.parquet`` when pyarrow
is installed) with, per point, the varied values, the risk ratio and LoWC ratio with their 95 %
intervals, P(NMAC) and P(LoWC) nominal and mitigated, the alert rate (the estimators of
`encsim.metrics.closed_loop_summary`), and the paired difference of both ratios from the baseline
point with its 95 % interval (`encsim.metrics.paired`); ``sweep.html`` plots them. Every output
carries the provenance (scenario sha256, logic, varied keys, encsim version).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..checksums import text_sha256

__all__ = ["SweepResult", "read_sweep_table", "sweep", "sweep_points"]

#: the sweep's definition and provenance, in the output folder
SWEEP_FILE = "sweep.json"
#: the key that varies the closed-loop logic (not a scenario key)
LOGIC_KEY = "logic"
#: summary rows of each point: table column -> `closed_loop_summary` row name
POINT_ROWS = {
    "risk_ratio": "risk ratio (NMAC)",
    "lowc_ratio": "LoWC ratio",
    "p_nmac_nominal": "P(NMAC) nominal",
    "p_nmac_mitigated": "P(NMAC) mitigated",
    "p_lowc_nominal": "P(LoWC) nominal",
    "p_lowc_mitigated": "P(LoWC) mitigated",
    "alert_rate": "alert rate",
}
#: paired differences from the baseline: table column -> event
DIFFERENCES = {"risk_ratio_diff": "nmac", "lowc_ratio_diff": "lowc"}


class SweepDefinitionError(ValueError):
    """The output folder holds a sweep of another definition (scenario, logic, varied keys or values)."""


@dataclass(frozen=True)
class SweepPoint:
    """One combination of the varied values: its run directory, logic and scenario text."""

    index: int
    values: dict
    directory: str
    logic: str
    scenario_text: str


@dataclass(frozen=True)
class SweepResult:
    out_dir: Path
    table: pd.DataFrame
    csv_path: Path
    parquet_path: Path | None
    html_path: Path | None
    points_computed: int
    points_reused: int
    provenance: dict


def _check_vary(vary: dict) -> dict:
    if not isinstance(vary, dict) or not vary:
        raise ValueError(
            "vary: give at least one key with its values, e.g. {'metrics.well_clear': ['do365', 'daidalus']}"
        )
    checked = {}
    for key, values in vary.items():
        if isinstance(values, str) or not hasattr(values, "__iter__"):
            raise ValueError(f"vary[{key!r}] = {values!r}: expected a list of values")
        values = [value.item() if hasattr(value, "item") else value for value in values]
        if not values:
            raise ValueError(f"vary[{key!r}]: no values")
        shown = [json.dumps(value, sort_keys=True) for value in values]
        repeated = sorted({text for text in shown if shown.count(text) > 1})
        if repeated:
            raise ValueError(f"vary[{key!r}]: values repeated ({', '.join(repeated)})")
        checked[key] = values
    return checked


def sweep_points(scenario_text: str, logic: str | None, vary: dict, *, source: str = "scenario") -> list[SweepPoint]:
    """Every point of the grid, validated before anything runs (keys, values, logics).

    Raises
    ------
    encsim.io.scenario.ScenarioError
        For a key that is unknown or would change the encounters, or a value the scenario refuses
        (naming the key, the value and what is expected).
    ValueError
        For a logic both given and varied, or no logic at all (a sweep compares mitigated flights).
    """
    from ..io.overrides import check_override_key, with_overrides
    from .run import _check_logic_name

    vary = _check_vary(vary)
    if LOGIC_KEY in vary:
        if logic:
            raise ValueError(f"logic {logic!r} is given and also varied ({vary[LOGIC_KEY]}): give one or the other")
        for name in vary[LOGIC_KEY]:
            if not isinstance(name, str):
                raise ValueError(f"vary['logic']: {name!r} is not a logic name (reference name or module:object)")
    elif not logic:
        raise ValueError(
            "a sweep needs a logic (--logic, or vary the key 'logic'): its ratios compare mitigated flights"
        )
    for key in vary:
        if key != LOGIC_KEY:
            check_override_key(key)
    for name in vary.get(LOGIC_KEY, [logic]):
        _check_logic_name(name)
    points = []
    for index, combination in enumerate(itertools.product(*vary.values())):
        values = dict(zip(vary, combination))
        overrides = {key: value for key, value in values.items() if key != LOGIC_KEY}
        text = with_overrides(scenario_text, overrides, source=source) if overrides else scenario_text
        points.append(SweepPoint(index, values, f"point_{index:03d}", values.get(LOGIC_KEY, logic), text))
    return points


def _baseline_index(points: list[SweepPoint], vary: dict, baseline: dict | None) -> int:
    """The point whose values are the baseline's (keys not named take their first value)."""
    if not baseline:
        return 0
    unknown = [key for key in baseline if key not in vary]
    if unknown:
        raise ValueError(f"baseline: {', '.join(unknown)} not varied (varied: {', '.join(vary)})")
    wanted = {key: baseline.get(key, values[0]) for key, values in vary.items()}
    for point in points:
        if all(_same_value(point.values[key], value) for key, value in wanted.items()):
            return point.index
    missing = [f"{key} = {value!r} (values: {vary[key]})" for key, value in wanted.items() if value not in vary[key]]
    raise ValueError(f"baseline: no point has {', '.join(missing) or wanted}")


def _same_value(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or (
        isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool) and a == b
    )


def _definition(base_text: str, logic, vary: dict, points: list[SweepPoint]) -> dict:
    return {
        "scenario_sha256": text_sha256(base_text),
        "logic": logic or "",
        "vary": [[key, values] for key, values in vary.items()],
        "encsim_version": __version__,
        "points": [
            {
                "point": point.index,
                "directory": point.directory,
                "values": point.values,
                "logic": point.logic,
                "scenario_sha256": text_sha256(point.scenario_text),
            }
            for point in points
        ],
    }


def _definition_differences(recorded: dict, current: dict) -> list[str]:
    differences = []
    for field in ("scenario_sha256", "logic", "encsim_version"):
        if recorded.get(field) != current[field]:
            differences.append(f"{field} ({recorded.get(field)!r} recorded, {current[field]!r} now)")
    old, new = dict(map(tuple, recorded.get("vary", []))), dict(map(tuple, current["vary"]))
    if list(old) != list(new):
        differences.append(f"varied keys ({list(old)} recorded, {list(new)} now)")
    for key in new:
        if key in old and json.dumps(old[key]) != json.dumps(new[key]):  # 500 and 500.0 write different texts
            differences.append(f"values of {key} ({old[key]} recorded, {new[key]} now)")
    if not differences and recorded.get("points") != current["points"]:
        differences.append("the points' scenario texts (another version of the override rules?)")
    return differences


def _check_folder(out_dir: Path, definition: dict) -> None:
    path = out_dir / SWEEP_FILE
    if not path.exists():
        stray = [p.name for p in out_dir.iterdir() if p.name != "run.lock"] if out_dir.is_dir() else []
        if stray:
            raise SweepDefinitionError(
                f"{out_dir} is not empty and holds no {SWEEP_FILE} ({', '.join(sorted(stray)[:5])}): "
                "a sweep writes into a new or empty folder, or continues its own"
            )
        return
    try:
        recorded = json.loads(path.read_text())["definition"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SweepDefinitionError(
            f"{path}: not a readable sweep definition ({exc}); restore it or use another folder"
        ) from None
    differences = _definition_differences(recorded, definition)
    if differences:
        raise SweepDefinitionError(
            f"{out_dir} holds another sweep ({'; '.join(differences)} differ): its points cannot be mixed with "
            "this sweep's; use another folder (or restore what changed)"
        )


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".partial")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_point_scenario(out_dir: Path, point: SweepPoint) -> Path:
    directory = out_dir / point.directory
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "scenario.toml"
    if path.exists() and path.read_text(encoding="utf-8") == point.scenario_text:
        return path
    _write_atomically(path, lambda tmp: tmp.write_text(point.scenario_text, encoding="utf-8"))
    return path


def _outcomes_of(data: dict) -> dict:
    """What the table needs of a point (outcomes, encounter ids and weights); states and commands are dropped."""
    return {"outcomes": data["outcomes"], "metadata": data["metadata"][["encounter_id", "weight"]].copy()}


def _check_paired(point_data: list[dict], points: list[SweepPoint]) -> None:
    """Every point flies the encounters of point 0: same ids, same weights (else nothing is compared)."""
    first = point_data[0]["metadata"]
    ids, weights = first["encounter_id"].to_numpy(), first["weight"].to_numpy(float)
    for data, point in zip(point_data[1:], points[1:]):
        meta = data["metadata"]
        same = len(meta) == len(ids) and np.array_equal(meta["encounter_id"].to_numpy(), ids)
        if not (same and np.array_equal(meta["weight"].to_numpy(float), weights)):
            raise ValueError(
                f"{point.directory} ({point.values}) does not fly the encounters of {points[0].directory}: their "
                "encounter ids or weights differ, so a varied key changes the encounters; the points cannot be "
                "compared pairwise"
            )


def _point_row(point: SweepPoint, outcomes: pd.DataFrame, rng) -> dict:
    from ..metrics import closed_loop_summary

    rows = {row.name.strip(): row for row in closed_loop_summary(outcomes, rng=rng)}
    record: dict = {}
    notes = []
    for column, name in POINT_ROWS.items():
        row = rows.get(name)
        value = np.nan if row is None or row.estimate is None else row.estimate
        record[column] = value
        record[f"{column}_ci_low"] = np.nan if row is None or row.estimate is None else row.ci_low
        record[f"{column}_ci_high"] = np.nan if row is None or row.estimate is None else row.ci_high
        if row is not None and row.estimate is None and column.endswith("ratio"):
            notes.append(f"{name}: {row.detail}")
        if row is not None and column.endswith("ratio"):
            notes += [f"{name}: {note}" for note in row.notes]
    record["notes"] = notes
    return record


def _differences(baseline: pd.DataFrame, outcomes: pd.DataFrame, *, n_boot: int, rng, is_baseline: bool) -> dict:
    from ..metrics.paired import risk_ratio_difference

    record: dict = {}
    notes = []
    w = outcomes["weight"].to_numpy(float)
    for column, event in DIFFERENCES.items():
        if is_baseline:
            record |= {column: 0.0, f"{column}_ci_low": 0.0, f"{column}_ci_high": 0.0}
            continue
        try:
            estimate = risk_ratio_difference(
                baseline[f"nominal_{event}"].to_numpy(float),
                baseline[f"mitigated_{event}"].to_numpy(float),
                outcomes[f"nominal_{event}"].to_numpy(float),
                outcomes[f"mitigated_{event}"].to_numpy(float),
                w,
                n_boot=n_boot,
                rng=rng,
            )
        except ValueError as exc:
            record |= {column: np.nan, f"{column}_ci_low": np.nan, f"{column}_ci_high": np.nan}
            notes.append(f"{column}: {exc}")
            continue
        record |= {
            column: estimate.difference,
            f"{column}_ci_low": estimate.ci_low,
            f"{column}_ci_high": estimate.ci_high,
        }
        notes += _thin_difference(event, baseline, outcomes, column)
    record["notes"] = notes
    return record


def _thin_difference(event: str, baseline: pd.DataFrame, outcomes: pd.DataFrame, column: str) -> list[str]:
    """A caution when either ratio rests on few events: resamples then repeat or drop the same few."""
    from ..metrics import MIN_EVENTS

    counts = {
        f"{run} {kind}": int(np.count_nonzero(frame[f"{kind}_{event}"].to_numpy(float) == 1))
        for run, frame in (("baseline", baseline), ("point", outcomes))
        for kind in ("nominal", "mitigated")
    }
    few = {name: count for name, count in counts.items() if count < MIN_EVENTS}
    if not few:
        return []
    shown = ", ".join(f"{count} {name}" for name, count in few.items())
    return [
        f"{column}: thin evidence ({shown} {event.upper()} events): the bootstrap interval understates the uncertainty"
    ]


def _table(points, point_data, vary, baseline_index, n_boot, rng) -> pd.DataFrame:
    from ..io.overrides import toml_literal

    records = []
    base_outcomes = point_data[baseline_index]["outcomes"]
    for point, data in zip(points, point_data):
        outcomes = data["outcomes"]
        record = {"point": point.index, "directory": point.directory}
        record |= {key: point.values[key] for key in vary}
        record |= {"baseline": point.index == baseline_index, "encounters": len(outcomes)}
        stats = _point_row(point, outcomes, rng)
        differences = _differences(
            base_outcomes, outcomes, n_boot=n_boot, rng=rng, is_baseline=point.index == baseline_index
        )
        notes = stats.pop("notes") + differences.pop("notes")
        records.append(record | stats | differences | {"notes": "; ".join(notes)})
    table = pd.DataFrame.from_records(records)
    for key, values in vary.items():  # one type per column (CSV and Parquet)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if not numeric and not all(isinstance(v, str) for v in values) and not all(isinstance(v, bool) for v in values):
            table[key] = [v if isinstance(v, str) else toml_literal(v) for v in table[key]]
    return table


def read_sweep_table(path) -> tuple[pd.DataFrame, dict]:
    """A sweep's ``sweep.csv``: the table and the provenance written in its leading ``#`` lines."""
    path = Path(path)
    header = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            header.append(line)
    provenance = json.loads("".join(line[1:].strip() for line in header[1:])) if len(header) > 1 else {}
    return pd.read_csv(path, skiprows=len(header)), provenance


def _write_csv(table: pd.DataFrame, provenance: dict, path: Path) -> None:
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write("# encsim sweep table; provenance (JSON) on the following # lines\n")
            for line in json.dumps(provenance, indent=1, sort_keys=True).splitlines():
                handle.write(f"# {line}\n")
            table.to_csv(handle, index=False)

    _write_atomically(path, write)


def _write_parquet(table: pd.DataFrame, provenance: dict, path: Path) -> Path | None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # optional: pip install 'encsim[parquet]'
        return None
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = dict(arrow.schema.metadata or {}) | {b"encsim_sweep": json.dumps(provenance, sort_keys=True).encode()}
    _write_atomically(path, lambda tmp: pq.write_table(arrow.replace_schema_metadata(metadata), tmp))
    return path


def _provenance(base_text, scenario_name, logic, vary, points, baseline_index, n_boot, rng, n_encounters, seed) -> dict:
    return {
        "kind": "encsim sweep",
        "encsim_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "scenario_name": scenario_name,
        "scenario_sha256": text_sha256(base_text),
        "logic": logic or f"varied: {', '.join(vary[LOGIC_KEY])}",
        "varied_keys": list(vary),
        "vary": {key: values for key, values in vary.items()},
        "baseline": points[baseline_index].values,
        "baseline_point": points[baseline_index].directory,
        "encounters": n_encounters,
        "seed": seed,
        "bootstrap_resamples": n_boot,
        "bootstrap_seed": rng,
        "points": [
            {
                "directory": p.directory,
                "values": p.values,
                "logic": p.logic,
                "scenario_sha256": text_sha256(p.scenario_text),
            }
            for p in points
        ],
    }


def sweep(
    scenario,
    logic: str | None = None,
    vary: dict | None = None,
    out_dir=None,
    *,
    executor=None,
    baseline: dict | None = None,
    encounters: int | None = None,
    seed: int | None = None,
    n_boot: int = 1000,
    bootstrap_seed: int = 0,
    progress=None,
    on_reused=None,
    chunk_time_limit_s: float | None = None,
    on_stale_lock=None,
    stop_after_points: int | None = None,
    html: bool = True,
) -> SweepResult:
    """Run every combination of ``vary`` over the same encounters; write the table and the page.

    Parameters
    ----------
    scenario : path
        The scenario TOML of the sweep (kept as provenance; every point's text is it with the
        point's values written in).
    logic : str, optional
        The closed-loop logic by name (as `run_scenario`); omit it to vary ``"logic"`` instead.
    vary : dict
        Dotted scenario key (or ``"logic"``) -> list of values; every combination is a point.
        Keys of the encounter-generation tables are refused (`encsim.io.overrides.ENCOUNTER_TABLES`).
    out_dir : path
        The sweep's folder (created); each point runs in ``out_dir/point_NNN``.
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        Where the points' chunks are computed (as `run_scenario`).
    baseline : dict, optional
        Values of the baseline point (keys not named take their first value); default: the first
        combination. The paired differences are from this point.
    encounters, seed : int, optional
        Override the scenario's ``[run]`` values for the whole sweep (written into its text).
    n_boot, bootstrap_seed : int
        Resamples and seed of the paired differences' bootstrap (and of every interval).
    progress, on_reused, chunk_time_limit_s, on_stale_lock
        As `run_scenario`, for each point.
    stop_after_points : int, optional
        Stop (as if interrupted) after running this many points, for tests of resumption.
    html : bool
        Also write ``sweep.html`` (figures need matplotlib).

    Returns
    -------
    SweepResult
        The table (one row per point) and the paths written.

    Raises
    ------
    SweepDefinitionError
        For a folder holding another sweep (naming what differs), or a non-empty folder that is no sweep.
    encsim.io.scenario.ScenarioError
        For a key or value the scenario refuses, before anything runs.
    """
    from ..io.results_file import read_results
    from ..io.scenario import load_scenario, parse_scenario, with_run_overrides
    from .lock import locked
    from .run import run_scenario

    if vary is None or out_dir is None:
        raise TypeError("sweep needs vary= (the keys and their values) and out_dir= (the sweep's folder)")
    source = str(scenario)
    base, base_text = load_scenario(scenario)
    if encounters is not None or seed is not None:
        base_text = with_run_overrides(base_text, encounters=encounters, seed=seed, source=source)
        base = parse_scenario(base_text, source=source)
    vary = _check_vary(vary)
    points = sweep_points(base_text, logic, vary, source=source)
    baseline_index = _baseline_index(points, vary, baseline)
    out_dir = Path(out_dir).absolute()
    definition = _definition(base_text, logic, vary, points)
    computed = reused = 0
    with locked(out_dir, on_stale=on_stale_lock):
        _check_folder(out_dir, definition)
        provenance = _provenance(
            base_text, base.name, logic, vary, points, baseline_index, n_boot, bootstrap_seed,
            base.run.encounters, base.run.seed,
        )  # fmt: skip
        record = {"definition": definition, "provenance": provenance, "scenario_text": base_text}
        _write_atomically(out_dir / SWEEP_FILE, lambda tmp: tmp.write_text(json.dumps(record, indent=1)))
        for point in points:
            if stop_after_points is not None and computed >= stop_after_points:
                raise KeyboardInterrupt(f"stopped after {computed} points (stop_after_points)")
            path = _write_point_scenario(out_dir, point)
            run_dir = out_dir / point.directory
            result = run_scenario(
                path,
                run_dir,
                logic=point.logic,
                executor=executor,
                resume=(run_dir / "manifest.json").exists(),
                progress=progress,
                on_reused=on_reused,
                chunk_time_limit_s=chunk_time_limit_s,
                on_stale_lock=on_stale_lock,
            )
            if result.chunks_computed:
                computed += 1
            else:
                reused += 1
        point_data = [_outcomes_of(read_results(out_dir / point.directory)) for point in points]
        _check_paired(point_data, points)
        table = _table(points, point_data, vary, baseline_index, n_boot, bootstrap_seed)
        csv_path = out_dir / "sweep.csv"
        _write_csv(table, provenance, csv_path)
        parquet_path = _write_parquet(table, provenance, out_dir / "sweep.parquet")
        html_path = None
        if html:
            from ..io.sweep_report import render_sweep_page

            page = render_sweep_page(table, provenance, base_text)
            html_path = out_dir / "sweep.html"
            _write_atomically(html_path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return SweepResult(out_dir, table, csv_path, parquet_path, html_path, computed, reused, provenance)
