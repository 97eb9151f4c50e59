"""Encounter generation from a scenario: the scenario's source (``[encounter] kind``) generates the set.

`generate_encounters` is the one entry the runner, the CLI, the comparisons and the notebooks call;
`encounter_source` builds the source a scenario names (`SOURCE_KINDS`). The contract every source
keeps is in `encsim.encounters.source`, the steps they share in `encsim.encounters.steps`, and the
sources themselves in `encsim.encounters.pairing` (two model-sampled tracks, the default) and
`encsim.encounters.small_uas` (a small-UAS mission ownship against a model intruder).
docs/encounter_sources.md describes each and how to write a new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .pairing import REJECTION_REASONS, UncorrelatedPairing, model_aircraft, refuse_for_encounters
from .recorded_source import RecordedSource
from .small_uas import SmallUasSource
from .source import EncounterError, EncounterSet, EncounterSource
from .steps import relative_speed_normaliser, vmd_acceptance

if TYPE_CHECKING:  # the schema is io's; the generator reads only its fields, so io stays above it
    from ..io.scenario import Scenario

__all__ = [
    "REJECTION_REASONS",
    "SOURCE_KINDS",
    "EncounterError",
    "EncounterSet",
    "EncounterSource",
    "encounter_source",
    "generate_encounters",
    "refuse_for_encounters",
    "relative_speed_normaliser",
    "vmd_acceptance",
]

#: ``[encounter] kind`` -> the source class (the default, ``pairing``, when a scenario has no [encounter])
SOURCE_KINDS: dict[str, type[EncounterSource]] = {
    UncorrelatedPairing.kind: UncorrelatedPairing,
    SmallUasSource.kind: SmallUasSource,
    RecordedSource.kind: RecordedSource,
}

#: the former name of `encsim.encounters.pairing.model_aircraft` (a loaded, checked model side)
_side = model_aircraft


def scenario_kind(scenario: Scenario) -> str:
    """The scenario's source kind (``pairing`` unless its ``[encounter]`` table says otherwise)."""
    encounter = getattr(scenario, "encounter", None)
    return "pairing" if encounter is None else encounter.kind


def encounter_source(scenario: Scenario) -> EncounterSource:
    """The source the scenario names, built (models loaded and checked)."""
    kind = scenario_kind(scenario)
    try:
        source_class = SOURCE_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown encounter kind {kind!r}; expected one of {sorted(SOURCE_KINDS)}") from None
    return source_class(scenario)


def generate_encounters(
    scenario: Scenario, scenario_text: str = "", *, ids=None, keep_trajectories: bool = False, progress=None
) -> EncounterSet:
    """Generate the scenario's encounters (or the given ids), each until accepted, with its source.

    Parameters
    ----------
    scenario : Scenario
        From `encsim.io.scenario.load_scenario`.
    ids : array of int, optional
        Encounter ids (default: the scenario's ``first_id .. first_id + encounters - 1``).
    keep_trajectories : bool
        Keep the placed 10-Hz trajectories in memory (for plots and notebooks).
    progress : callable, optional
        Called with the number of encounters accepted in each round of attempts.

    Raises
    ------
    EncounterError
        If an encounter needs more than ``run.max_attempts`` attempts (reasons counted).
    """
    source = encounter_source(scenario)
    if ids is None:
        ids = np.arange(scenario.run.first_id, scenario.run.first_id + scenario.run.encounters, dtype=np.int64)
    return source.generate(ids, scenario_text=scenario_text, keep_trajectories=keep_trajectories, progress=progress)


def kernels_cached() -> bool | None:
    """Whether Numba's disk cache already holds generation's flight kernel (the one every attempt flies).

    False on a fresh installation, whose first run compiles it; None when this Numba keeps its cache
    index elsewhere (`encsim.dynamics.kernel_cached`).
    """
    from ..dynamics import kernel_cached
    from ._kernels import fly_attempts_kernel

    return kernel_cached(fly_attempts_kernel)
