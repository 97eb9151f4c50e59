"""Results in notebooks: `open_results` for a results file or a run directory.

`Results` holds one run's tables as pandas DataFrames (columns carry their units in their names:
``_ft``, ``_s``, ``_kt``, ``_fps``, ``_rad``; flags and counts have none), its summary with 95 %
intervals, the scenario and the provenance, and ranks the encounters worth a closer look
(`Results.worst`). Files are read by `encsim.io.results_file.read_results`, which never returns
HDF5 fill values as data (a run directory is read through its chunk files).

Usage (needs files on disk, so shown rather than run as a doctest)::

    import encsim

    results = encsim.open_results("out/results.h5")
    results.summary().loc["risk ratio (NMAC)"]
    results.worst(5, by="induced_nmac").encounter_id.tolist()
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["WORST_BY", "Results", "describe_rejections", "open_results"]

#: the rankings of `Results.worst`, and what each one puts first
WORST_BY = {
    "induced_nmac": "NMACs the logic caused (mitigated NMAC without a nominal one), heaviest weight first",
    "unresolved_nmac": "NMACs the logic did not remove (nominal and mitigated), heaviest weight first",
    "latest_alert": "encounters with a nominal loss of well clear, shortest alert lead time first "
    "(lead = nominal LoWC time - first alert time; never alerted first)",
    "min_hmd": "smallest mitigated horizontal miss distance first (nominal HMD without outcomes)",
}

#: what each rejection reason of the encounter generator, the sampler and the flight means
REJECTION_MEANINGS = {
    "vmd_screen": "could not reach the VMD span at tCPA (screened before flying)",
    "below_ground": "an aircraft went below ground before tCPA",
    "vmd": "VMD acceptance test at tCPA",
    "hmd_mismatch": "realised HMD differs from the drawn one",
    "vmd_mismatch": "realised VMD differs from the drawn one",
    "initial_separation": "aircraft too close at the start",
    "filter_ownship": "ownship filter of the scenario",
    "filter_intruder": "intruder filter of the scenario",
    "limits_ownship": "ownship broke the model's track limits",
    "limits_intruder": "intruder broke the model's track limits",
    "initial_speed_below_vertical_rate": "initial airspeed below the vertical rate",
    "empty_initial_column": "empty column of an initial table",
    "empty_transition_column": "empty column of a transition table",
    "altitude": "left the altitude limits",
    "speed": "left the speed limits",
    "vertical_rate": "exceeded the vertical-rate limit",
}


def _rejection_meaning(name: str) -> str:
    """``"fly:altitude"`` -> ``"fly: left the altitude limits"``; unknown reasons get no text."""
    parts = name.split(":")
    known = next((k for k, part in enumerate(parts) if part in REJECTION_MEANINGS), None)
    if known is None:
        return ""
    where = " ".join(parts[:known]).replace("_", " ")
    detail = ":".join(parts[known + 1 :])
    text = REJECTION_MEANINGS[parts[known]] + (f" ({detail})" if detail else "")
    return f"{where}: {text}" if where else text


def describe_rejections(counts: dict, *, indent: str = "  ") -> str:
    """Non-zero rejection counts, largest first, one per line with what the reason means.

    Examples
    --------
    >>> print(describe_rejections({"vmd": 46, "below_ground": 3, "hmd_mismatch": 0}))
      46  vmd           VMD acceptance test at tCPA
       3  below_ground  an aircraft went below ground before tCPA
    """
    shown = sorted(((int(v), str(k)) for k, v in counts.items() if v), key=lambda item: (-item[0], item[1]))
    if not shown:
        return f"{indent}none"
    count_width = max(len(f"{count:,}") for count, _ in shown)
    name_width = min(max(len(name) for _, name in shown), 20)  # a long sampler reason overflows alone
    lines = []
    for count, name in shown:
        lines.append(f"{indent}{count:>{count_width},}  {name:{name_width}s}  {_rejection_meaning(name)}".rstrip())
    return "\n".join(lines)


#: provenance attributes stored as JSON text
_JSON_ATTRIBUTES = {"rejections", "chunk_sha256", "closed_loop", "presets", "arguments", "anchor"}


def _plain(value, key: str = ""):
    """An HDF5 attribute as a plain Python value (JSON attributes decoded, numpy scalars unwrapped)."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if key in _JSON_ATTRIBUTES and isinstance(value, str):
        return json.loads(value)
    return value


def summary_frame(rows) -> pd.DataFrame:
    """Summary rows (dataclasses, e.g. `encsim.metrics.SummaryRow`) as a DataFrame indexed by metric.

    Every field of the rows becomes a column, so fields and rows added to the summary appear
    without changes here; list fields (notes) are joined with ``"; "``, a refused estimate is NaN.
    """
    records = []
    for row in rows:
        record = {}
        for item in dataclasses.fields(row):
            value = getattr(row, item.name)
            if isinstance(value, (list, tuple)):
                value = "; ".join(str(v) for v in value)
            record[item.name] = value
        record["name"] = str(record["name"]).strip()
        if record.get("estimate") is None:
            record["estimate"] = math.nan
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    return frame.set_index("name").rename_axis("metric")


#: largest run whose notebook display computes the summary itself (its bootstrap takes ~0.5 s per 1,000
#: encounters on a loaded 2-core host); larger runs show it once `Results.summary` has been called
_HTML_SUMMARY_MAX_ENCOUNTERS = 10_000


class Results:
    """The outcomes, metadata, summary, scenario and provenance of one run (see `open_results`)."""

    def __init__(self, path, data: dict):
        self.path = Path(path)
        self.kind = data.get("kind", "file")
        self._data = data
        self._summaries: dict = {}

    # ------------------------------------------------------------------ tables
    @property
    def metadata(self) -> pd.DataFrame:
        """One row per encounter: id, weight and its ingredients, geometry, nominal outcome."""
        return self._data["metadata"]

    @property
    def outcomes(self) -> pd.DataFrame | None:
        """One row per encounter, nominal and mitigated (None for a run without a logic)."""
        return self._data.get("outcomes")

    @property
    def has_outcomes(self) -> bool:
        return "outcomes" in self._data

    @property
    def n_encounters(self) -> int:
        return len(self.metadata)

    @property
    def logic(self) -> str:
        """The logic under test ("" for nominal-only results)."""
        return str(self._data.get("logic", ""))

    def table(self) -> pd.DataFrame:
        """Outcomes and metadata side by side, one row per encounter (metadata columns the outcomes
        already hold, such as the weight, once)."""
        if not self.has_outcomes:
            return self.metadata.copy()
        extra = [c for c in self.metadata.columns if c not in self.outcomes.columns]
        return pd.concat([self.outcomes, self.metadata[extra]], axis=1)

    # ------------------------------------------------------------------ provenance
    @property
    def scenario_text(self) -> str:
        return str(self._data["attrs"]["scenario_text"])

    @property
    def scenario(self):
        """The scenario the run followed, parsed (`encsim.io.scenario.Scenario`)."""
        from .io.scenario import parse_scenario

        return parse_scenario(self.scenario_text, source=f"{self.path} (scenario)", check_models=False)

    @property
    def provenance(self) -> dict:
        """Everything recorded about how the results were made: versions, models and their sha256,
        seed, command, rejections, and for a closed loop the logic, its parameters and source sha256."""
        provenance = {key: _plain(value, key) for key, value in self._data["attrs"].items()}
        if self.has_outcomes:
            provenance["logic"] = self.logic
            provenance["closed_loop"] = self._data.get("closed_loop", {})
        return provenance

    @property
    def rejections(self) -> dict[str, int]:
        """Rejected attempts by reason (zeros left out)."""
        return {k: int(v) for k, v in _plain(self._data["attrs"].get("rejections", {}), "rejections").items() if v}

    def states(self, role: str):
        """The stored initial states and command schedule of ``"ownship"`` or ``"intruder"`` (replayable
        with `encsim.fly_commands`); None when the file holds none."""
        if role not in ("ownship", "intruder"):
            raise ValueError(f"role {role!r}: expected 'ownship' or 'intruder'")
        side = self._data.get(role)
        return None if side is None else (side["initial"], side["schedule"])

    def nominal_trajectories(self, encounter_ids=None, *, output_hz: float = 1.0):
        """Ownship and intruder trajectories of the nominal (unmitigated) flights, re-flown with
        `encsim.fly_commands` from the stored initial states and commands.

        Returns ``(ids, ownship, intruder)``: the encounter ids and two `encsim.dynamics.Trajectories`
        with one row per id (local east/north/up in ft, the ownship starting at the origin).
        """
        from .commands import CommandSchedule, InitialStates
        from .dynamics import fly_commands

        if self.states("ownship") is None:
            raise ValueError(f"{self.path}: holds no initial states and commands to replay")
        all_ids = self.metadata["encounter_id"].to_numpy()
        if encounter_ids is None:
            rows = np.arange(all_ids.shape[0])
        else:
            position = pd.Series(np.arange(all_ids.shape[0]), index=all_ids)
            wanted = np.atleast_1d(np.asarray(encounter_ids, dtype=np.int64))
            unknown = sorted(set(wanted.tolist()) - set(all_ids.tolist()))
            if unknown:
                raise KeyError(f"encounter ids {unknown[:10]} are not in {self.path}")
            rows = position.loc[wanted].to_numpy()
        if rows.size == 0:
            raise ValueError("no encounters to fly: give at least one encounter id")
        duration = float(self.scenario.geometry.duration_s)
        flown = []
        for role in ("ownship", "intruder"):
            initial, schedule = self.states(role)
            picked = InitialStates(*(getattr(initial, f)[rows] for f in InitialStates.FIELDS))
            parts = [schedule.rows_of(int(r)) for r in rows]
            counts = [len(p["t_s"]) for p in parts]
            offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            columns = [np.concatenate([p[n] for p in parts]) if parts else np.zeros(0) for n in parts[0]]
            flown.append(fly_commands(picked, CommandSchedule(offsets, *columns), duration, output_hz=output_hz))
        return all_ids[rows], flown[0], flown[1]

    # ------------------------------------------------------------------ statistics
    def summary(self, *, rng=0) -> pd.DataFrame:
        """The summary (`encsim.metrics.closed_loop_summary`) as a DataFrame indexed by metric:
        estimate, 95 % interval (``ci_low``, ``ci_high``), detail and notes. Without outcomes, the
        weighted nominal P(NMAC) and P(LoWC). Bootstrap intervals use ``rng`` (same seed, same table)."""
        key = repr(rng)
        if key not in self._summaries:
            self._summaries[key] = summary_frame(self._summary_rows(rng))
        return self._summaries[key].copy()

    def _summary_rows(self, rng):
        from .metrics import SummaryRow, closed_loop_summary, weighted_probability

        if self.has_outcomes:
            return closed_loop_summary(self.outcomes, rng=rng)
        w = self.metadata["weight"].to_numpy(float)
        rows = []
        for name, column in (("P(NMAC) nominal", "nmac"), ("P(LoWC) nominal", "lowc")):
            e = weighted_probability(self.metadata[column].to_numpy(float), w, rng=rng)
            rows.append(SummaryRow(name, e.probability, e.ci_low, e.ci_high, f"{e.events} events"))
        return rows

    def worst(self, n: int = 10, by: str = "induced_nmac") -> pd.DataFrame:
        """The ``n`` encounters that rank first by ``by`` (one of `WORST_BY`), as rows of `table`.

        ``encounter_id`` names each one for a replay; the ranking key is the first column after it.
        Fewer than ``n`` rows when fewer encounters qualify (e.g. no induced NMAC at all).
        """
        if by not in WORST_BY:
            raise ValueError(f"by={by!r}: expected one of {', '.join(WORST_BY)}")
        if int(n) < 0:
            raise ValueError(f"n={n}: expected a count >= 0")
        if not self.has_outcomes and by != "min_hmd":
            raise ValueError(f"by={by!r} needs closed-loop outcomes; {self.path} has none (run with --logic)")
        table = self.table()
        if by == "min_hmd":
            key = "mitigated_hmd_ft" if self.has_outcomes else "hmd_ft"
            ranked = table.sort_values([key, "weight"], ascending=[True, False], kind="stable")
        elif by in ("induced_nmac", "unresolved_nmac"):
            nominal = table["nominal_nmac"].to_numpy(bool)
            mask = table["mitigated_nmac"].to_numpy(bool) & (~nominal if by == "induced_nmac" else nominal)
            key = "weight"
            ranked = table[mask].sort_values(["weight", "mitigated_hmd_ft"], ascending=[False, True], kind="stable")
        else:
            key = "alert_lead_s"
            lead = table["nominal_t_lowc_s"] - table["t_first_alert_s"]
            table = table.assign(alert_lead_s=lead.where(table["t_first_alert_s"].notna(), -np.inf))
            ranked = table[table["nominal_lowc"].to_numpy(bool)].sort_values(
                ["alert_lead_s", "weight"], ascending=[True, False], kind="stable"
            )
        first = ["encounter_id", key]
        ranked = ranked[first + [c for c in ranked.columns if c not in first]]
        return ranked.head(int(n)).reset_index(drop=True)

    # ------------------------------------------------------------------ display
    def _headline(self) -> list[tuple[str, str]]:
        attrs = self._data["attrs"]
        lines = [
            ("source", f"{self.path} ({self.kind})"),
            ("scenario", str(_plain(attrs.get("scenario_name", "")) or "(unnamed)")),
            ("models", f"{_plain(attrs.get('ownship_model', '?'))} vs {_plain(attrs.get('intruder_model', '?'))}"),
            (
                "encounters",
                f"{self.n_encounters:,} (seed {_plain(attrs.get('seed', '?'))}, acceptance rate "
                f"{float(_plain(attrs.get('acceptance_rate', math.nan))):.4f})",
            ),
        ]
        if self.has_outcomes:
            o = self.outcomes
            lines.append(
                (
                    "logic",
                    f"{self.logic}: NMAC {int(o['nominal_nmac'].sum())} nominal, {int(o['mitigated_nmac'].sum())} "
                    f"mitigated; {int(o['alerted'].sum())} alerted (unweighted counts)",
                )
            )
        else:
            lines.append(("logic", "none (nominal outcomes only)"))
        return lines

    def __repr__(self) -> str:
        body = "\n".join(f"  {name:10s} {text}" for name, text in self._headline())
        return f"<Results\n{body}\n  .outcomes .metadata .summary() .worst(n, by=...) .scenario .provenance>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(name)}</th><td style='text-align:left'>"
            f"{html.escape(text)}</td></tr>"
            for name, text in self._headline()
        )
        if self._summaries or self.n_encounters <= _HTML_SUMMARY_MAX_ENCOUNTERS:
            table = self.summary()[["estimate", "ci_low", "ci_high", "detail"]].to_html(float_format="{:.4g}".format)
            summary = f"<details open><summary>summary (weighted, 95 % intervals)</summary>{table}</details>"
        else:  # the bootstrap takes a while for large runs: computed on request, then shown here too
            summary = "<p>results.summary() computes the table with its bootstrap intervals (then it shows here)</p>"
        return f"<div><strong>encsim Results</strong><table>{rows}</table>{summary}</div>"


def open_results(path, *, verify: bool = True) -> Results:
    """Open the results of a run: a results or encounter file (.h5) or a run directory.

    Parameters
    ----------
    path : path-like
        ``encsim run -o x.h5`` output, ``encsim encounters`` output, a standalone file, a run
        directory (``encsim run -o DIR``) or its ``results.h5``.
    verify : bool
        Check a run directory's chunk files against the sha256 its manifest recorded.

    Returns
    -------
    Results
        ``outcomes`` and ``metadata`` DataFrames, ``summary()``, ``worst(n, by=...)``,
        ``scenario``, ``provenance``.

    Raises
    ------
    encsim.io.results_file.ResultsFileError
        For an incomplete run directory, a joined ``results.h5`` separated from its chunk files,
        or values no real run can hold; never returns fill values as data.
    """
    from .io.results_file import read_results

    return Results(path, read_results(path, verify=verify))
