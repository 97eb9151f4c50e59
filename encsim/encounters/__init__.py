"""Encounters: two independently sampled tracks paired at a chosen closest approach, with weights."""

from .generator import EncounterError, EncounterSet, generate_encounters, relative_speed_normaliser, vmd_acceptance

__all__ = ["EncounterError", "EncounterSet", "generate_encounters", "relative_speed_normaliser", "vmd_acceptance"]
