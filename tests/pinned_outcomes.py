"""Fingerprints of every shipped scenario's encounters and outcomes, to prove refactors change nothing.

``python tests/pinned_outcomes.py --write`` records them in ``tests/data/pinned_outcomes.json``
(``--write NAME.toml ...`` records only those scenarios, e.g. a newly shipped one, keeping the rest);
``tests/test_pinned_outcomes.py`` recomputes and compares. Re-record only in a commit whose message
says which behaviour changed on purpose (decisions.md section 10: "nothing moves by accident").
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PINS = Path(__file__).resolve().parent / "data" / "pinned_outcomes.json"
#: a few encounters per scenario (ids 0..N-1 of the scenario's seed) keep the test fast yet cover
#: every code path the generator and the closed loop take on these scenarios
ENCOUNTERS_PER_SCENARIO = 40
LOGICS = ("unequipped", "daa", "daa-vertical", "daa-both", "daa-noncoop", "daa-sum", "daa-a", "tcas")


def _digest(frame) -> str:
    """sha256 over column names, dtypes and raw bytes (bit-exact; NaN patterns included)."""
    digest = hashlib.sha256()
    for column in frame.columns:
        values = np.ascontiguousarray(frame[column].to_numpy())
        digest.update(f"{column}:{values.dtype.str};".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def fingerprints(scenario_path: Path, logics=LOGICS) -> dict:
    from encsim.encounters import generate_encounters
    from encsim.io.scenario import load_scenario
    from encsim.simulate import simulate

    scenario, text = load_scenario(scenario_path)
    ids = np.arange(scenario.run.first_id, scenario.run.first_id + ENCOUNTERS_PER_SCENARIO, dtype=np.int64)
    encounters = generate_encounters(scenario, text, ids=ids)
    result = {"encounters": _digest(encounters.metadata)}
    for logic in logics:
        result[logic] = _digest(simulate(encounters, logic))
    return result


def all_fingerprints() -> dict:
    return {path.name: fingerprints(path) for path in sorted((ROOT / "scenarios").glob("*.toml"))}


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        sys.exit("usage: python tests/pinned_outcomes.py --write [SCENARIO.toml ...]")
    PINS.parent.mkdir(exist_ok=True)
    names = sys.argv[2:]
    if names:  # only these scenarios; every other pin stays as recorded
        pins = json.loads(PINS.read_text())
        pins.update({name: fingerprints(ROOT / "scenarios" / name) for name in names})
    else:
        pins = all_fingerprints()
    PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print(f"wrote {PINS}" + (f" ({', '.join(names)})" if names else ""))
