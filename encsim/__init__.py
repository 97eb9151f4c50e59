"""encsim: Monte Carlo simulation of mid-air encounters with the MIT LL encounter models.

The public API is imported lazily so that ``import encsim`` does no work (no Numba compilation,
no file access) until a function is used.
"""

from __future__ import annotations

import importlib
import os

# Numba's parallel kernels run on GNU OpenMP, whose idle threads spin (busy-wait) after each
# parallel region by default. Between two kernels the generator runs Python for milliseconds, so
# the spinning threads only burn cores; on a loaded host they also delay the next region's start by
# a scheduler time slice (measured: a small parallel copy kernel 11.5 ms per call spinning, 0.14 ms
# passive, with seven other processes on two cores). Passive waiting changes no result. Set before
# libgomp is loaded (the first parallel kernel call); a value the user chose is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

_LAZY = {
    "load_model": "encsim.bayes",
    "EncounterModel": "encsim.bayes",
    "ModelFileError": "encsim.bayes",
    "sample_tracks": "encsim.sampling",
    "sample_initial": "encsim.sampling",
    "fly_commands": "encsim.dynamics",
    "fly": "encsim.tracks",
    "fly_chunks": "encsim.tracks",
    "generate_encounters": "encsim.encounters",
    "load_scenario": "encsim.io.scenario",
    "simulate": "encsim.simulate",
    "check_logic": "encsim.avoidance",
    "compare_models": "encsim.compare",
    "train_model": "encsim.train",
    "run_scenario": "encsim.runner",
    "sweep": "encsim.runner",
    "CommandSchedule": "encsim.commands",
    "InitialStates": "encsim.commands",
    "open_results": "encsim.results",
    "Results": "encsim.results",
    "replay": "encsim.replays",
    "Replay": "encsim.replays",
    "plot_encounter": "encsim.io.plots",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'encsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API (imported lazily) and the subpackages loaded so far, for ``dir(encsim)`` and completion."""
    loaded = [
        name
        for name, value in globals().items()
        if getattr(value, "__name__", "").startswith("encsim.") and not name.startswith("_")
    ]
    return sorted({*__all__, *loaded})
