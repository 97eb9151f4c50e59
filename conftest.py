"""Set-up for every test and docstring example (``pytest`` collects ``tests/`` and ``encsim/``).

The MIT LL model files come from ENCSIM_MODEL_DIR; `.ci/run` exports an absolute one, and when it
is unset (plain `pytest` from a checkout) the shared copies beside the project are used:
../shared/models/mitll. Nothing is ever downloaded. Plots render off screen.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent

os.environ.setdefault("ENCSIM_MODEL_DIR", str(PROJECT_ROOT.parent / "shared" / "models" / "mitll"))
os.environ["ENCSIM_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
