"""Every shipped scenario's encounters and outcomes are bit-identical to the recorded fingerprints.

Refactors (house rules, encounter-source seam, single run path) must not move a single bit
(decisions.md section 10). A deliberate change re-records with ``python tests/pinned_outcomes.py --write``.
"""

import json

import pytest
from pinned_outcomes import LOGICS, PINS, ROOT, fingerprints

SCENARIOS = sorted(path.name for path in (ROOT / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_outcomes_are_bit_identical_to_the_pins(name):
    pins = json.loads(PINS.read_text())
    assert name in pins, f"{name} has no pinned fingerprints: record them with python tests/pinned_outcomes.py --write"
    got = fingerprints(ROOT / "scenarios" / name, logics=[logic for logic in LOGICS if logic in pins[name]])
    assert got == pins[name]
