"""Encounters: weighted pairs of aircraft at a chosen closest approach, from the scenario's source."""

from .generator import (
    SOURCE_KINDS,
    EncounterError,
    EncounterSet,
    EncounterSource,
    encounter_source,
    generate_encounters,
    kernels_cached,
    relative_speed_normaliser,
    vmd_acceptance,
)

__all__ = [
    "SOURCE_KINDS",
    "EncounterError",
    "EncounterSet",
    "EncounterSource",
    "encounter_source",
    "generate_encounters",
    "kernels_cached",
    "relative_speed_normaliser",
    "vmd_acceptance",
]
