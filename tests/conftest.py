"""Test fixtures. The environment (ENCSIM_MODEL_DIR, offline) is set by the project root's
conftest.py, which also serves the docstring examples under encsim/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ["ENCSIM_MODEL_DIR"]).resolve()

ALL_MODEL_FILES = sorted(MODEL_DIR.glob("*.txt"))
#: the shared read-only data (DAIDALUS references, NRC intercepts): ENCSIM_SHARED_DATA_DIR, else the
#: "data" folder beside the model files' "models" folder (../shared/data for a checkout)
SHARED_DATA_DIR = Path(os.environ.get("ENCSIM_SHARED_DATA_DIR", MODEL_DIR.parents[1] / "data")).resolve()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not MODEL_DIR.is_dir():
        pytest.fail(f"ENCSIM_MODEL_DIR={MODEL_DIR} is not a folder; the MIT LL model files are needed for the tests")
    return MODEL_DIR


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    if not SHARED_DATA_DIR.is_dir():
        pytest.fail(f"{SHARED_DATA_DIR} is not a folder; the shared data (../shared/data) is needed for these tests")
    return SHARED_DATA_DIR


@pytest.fixture(scope="session")
def fwse():
    import encsim

    return encsim.load_model("uncor_1200only_fwse_v1p2")


def small_scenario_text(
    name: str,
    *,
    tcpa_s: int = 30,
    duration_s: int = 60,
    hmd_ft: int = 1000,
    vmd_ft: int = 200,
    encounters: int = 20,
    seed: int = 5,
    chunk_size: int = 10,
) -> str:
    """A small FWSE-vs-rotorcraft scenario (G=1, A=4) with flat HMD/VMD proposals in +-hmd_ft, +-vmd_ft."""
    return f"""
name = "{name}"
[ownship]
model = "uncor_1200only_fwse_v1p2"
presets = {{ G = 1, A = 4 }}
[intruder]
model = "uncor_1200only_rotorcraft_v1p2"
presets = {{ G = 1, A = 4 }}
[geometry]
tcpa_s = {tcpa_s}
duration_s = {duration_s}
hmd_edges_ft = [{-hmd_ft}, 0, {hmd_ft}]
hmd_proportions = [1, 1]
vmd_edges_ft = [{-vmd_ft}, 0, {vmd_ft}]
vmd_weights = [1, 1]
[run]
encounters = {encounters}
seed = {seed}
chunk_size = {chunk_size}
"""
