"""Test set-up: find the shared MIT LL model files and never touch the network.

`.ci/run` exports an absolute ENCSIM_MODEL_DIR; when it is unset (plain `pytest` from a checkout)
the same folder is used: ../shared/models/mitll next to the project root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_DIR = PROJECT_ROOT.parent / "shared" / "models" / "mitll"

os.environ.setdefault("ENCSIM_MODEL_DIR", str(DEFAULT_MODEL_DIR))
os.environ["ENCSIM_OFFLINE"] = "1"
MODEL_DIR = Path(os.environ["ENCSIM_MODEL_DIR"]).resolve()

ALL_MODEL_FILES = sorted(MODEL_DIR.glob("*.txt"))


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not MODEL_DIR.is_dir():
        pytest.fail(f"ENCSIM_MODEL_DIR={MODEL_DIR} is not a folder; the MIT LL model files are needed for the tests")
    return MODEL_DIR


@pytest.fixture(scope="session")
def fwse():
    import encsim

    return encsim.load_model("uncor_1200only_fwse_v1p2")
