"""DAIDALUS-exact DO-365 alerting: DAIDALUS v2.0.4's alert levels, violation intervals and geometry.

- `read_daidalus_config` / `preset` / `load_config`: DAIDALUS ``.conf`` files and the presets
  ``do365b`` (DO_365B_no_SUM), ``do365b-sum`` (DO_365B_SUM), ``do365a`` (DO_365A_no_SUM).
- `wcv_taumod_interval` / `wcv_taumod_sum_interval`: the well-clear violation interval of a
  straight-line relative state (s, v = own - intruder), plain or with sensor uncertainty.
- `replay_daa`: a .daa encounter (`encsim.io.daa_file`) replayed step by step, one row per step
  per traffic aircraft with the reference CSVs' columns; `format_reference_csv` writes them as
  DAIDALUS's batch output does; `add_band_columns` is where guidance bands join the table.

The closed-loop ``daa`` reference logic is `encsim.avoidance.daidalus.logic` (``daidalus_logic``,
``daidalus_params``, the presets ``DAA_PRESETS``): the same detection and alerting kernels, and the
guidance bands of `_guidance`, for one intruder per decision.

See docs/daidalus.md for what comes from which source and the parity figures.
"""

import importlib

# Imported on first use, so that the closed loop, which needs only the `logic` module's kernels,
# does not load the .daa reader, the replay tables (pandas) and the plain-Python bands at start-up.
_LAZY = {
    **dict.fromkeys(
        (
            "PRESETS",
            "Alerter",
            "AlertLevel",
            "DaidalusConfig",
            "DaidalusConfigError",
            "load_config",
            "preset",
            "read_daidalus_config",
        ),
        "encsim.avoidance.daidalus.config",
    ),
    **dict.fromkeys(
        ("relative_sum_errors", "wcv_taumod_interval", "wcv_taumod_sum_interval"),
        "encsim.avoidance.daidalus.detection",
    ),
    **dict.fromkeys(
        (
            "ALL_COLUMNS",
            "BAND_COLUMNS",
            "CORE_COLUMNS",
            "OWN_COLUMNS",
            "add_band_columns",
            "alert_timeline",
            "format_reference_csv",
            "relative_geometry",
            "replay_daa",
        ),
        "encsim.avoidance.daidalus.replay",
    ),
}


def __getattr__(name: str):
    if name == "DaaFileError":
        from ...io.daa_file import DaaFileError

        return DaaFileError
    if name == "DaaReplayError":  # what replaying a .daa file with a configuration can raise
        return (__getattr__("DaaFileError"), __getattr__("DaidalusConfigError"))
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ALL_COLUMNS",
    "BAND_COLUMNS",
    "CORE_COLUMNS",
    "OWN_COLUMNS",
    "PRESETS",
    "AlertLevel",
    "Alerter",
    "DaaFileError",
    "DaaReplayError",
    "DaidalusConfig",
    "DaidalusConfigError",
    "add_band_columns",
    "alert_timeline",
    "format_reference_csv",
    "load_config",
    "preset",
    "read_daidalus_config",
    "relative_geometry",
    "relative_sum_errors",
    "replay_daa",
    "wcv_taumod_interval",
    "wcv_taumod_sum_interval",
]
