"""Start-up imports only what the command needs (issue 19): the closed loop does not load the
.daa reader, the DAIDALUS replay tables or the plain-Python bands, and finding a cached model
file does not load pooch and requests."""

import os
import subprocess
import sys
from pathlib import Path

import pooch

from encsim.bayes.locate import default_cache_dir

ROOT = Path(__file__).resolve().parent.parent
NOT_AT_START_UP = (
    "encsim.io.daa_file",
    "encsim.avoidance.daidalus.replay",
    "encsim.avoidance.daidalus.bands",
    "encsim.avoidance.daidalus.detection",
    "pooch",
    "requests",
)


def _loaded_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ENCSIM_CACHE_DIR", None)
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    return set(
        subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
    )


def test_the_closed_loop_and_the_model_cache_load_nothing_they_do_not_use():
    loaded = _loaded_after(
        "import encsim.avoidance, encsim.simulate, encsim.runner\n"
        "from encsim.bayes.locate import default_cache_dir\n"
        "default_cache_dir()"
    )
    assert "encsim.avoidance.daidalus.logic" in loaded and "encsim.simulate._kernels" in loaded
    assert not loaded & set(NOT_AT_START_UP)


def test_the_daidalus_package_still_offers_everything_it_lists():
    import encsim.avoidance.daidalus as daidalus

    missing = [name for name in daidalus.__all__ if not hasattr(daidalus, name)]
    assert not missing
    from encsim.avoidance.daidalus import DaaReplayError, replay_daa
    from encsim.io.daa_file import DaaFileError

    assert DaaFileError in DaaReplayError and callable(replay_daa)


def test_the_default_model_cache_is_pooch_s_own(monkeypatch):
    monkeypatch.delenv("ENCSIM_CACHE_DIR", raising=False)
    assert default_cache_dir() == Path(pooch.os_cache("encsim"))
