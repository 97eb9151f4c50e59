"""check_logic: the reference logics pass; broken user logics fail with clear messages."""

from __future__ import annotations

import numpy as np
import pytest

from encsim.avoidance import (
    LogicContractError,
    check_logic,
    daidalus_logic,
    daidalus_params,
    tcas,
    tcas_params,
    unequipped,
)


def test_reference_logics_pass_and_alert_where_expected():
    levels = check_logic(daidalus_logic, daidalus_params())
    assert levels["head-on, co-altitude"] >= 2 and levels["far away"] == 0
    tcas_levels = check_logic(tcas, tcas_params())
    assert tcas_levels["head-on, co-altitude"] == 2 and tcas_levels["far away"] == 0
    assert set(check_logic(unequipped).values()) == {0}


def python_logic(t_s, own, intruder, memory, params, advisory):
    """A plain Python logic: climb at 25 ft/s when the intruder is within 2 NM."""
    advisory[:] = 0.0
    if np.hypot(*(intruder[:2] - own[:2])) < 12_000:
        advisory[0], advisory[1], advisory[2] = 2.0, 1.0, 25.0


def test_a_plain_python_logic_passes():
    assert check_logic(python_logic)["head-on, co-altitude"] == 2


def test_broken_logics_are_named_and_explained():
    def wrong_signature(t_s, own, intruder):
        return 0

    with pytest.raises(LogicContractError, match=r"calling logic\(t_s, own\[18\]"):
        check_logic(wrong_signature)

    def nan_advisory(t_s, own, intruder, memory, params, advisory):
        advisory[:] = np.nan

    with pytest.raises(LogicContractError, match="non-finite advisory"):
        check_logic(nan_advisory)

    def feet_per_minute(t_s, own, intruder, memory, params, advisory):
        advisory[:] = 0.0
        advisory[0], advisory[1], advisory[2] = 2.0, 1.0, 1500.0

    with pytest.raises(LogicContractError, match="ft/s"):
        check_logic(feet_per_minute)

    calls = {"n": 0}

    def hidden_state(t_s, own, intruder, memory, params, advisory):
        calls["n"] += 1
        advisory[:] = 0.0
        advisory[0] = 1.0 if calls["n"] > 61 else 0.0

    with pytest.raises(LogicContractError, match="not deterministic"):
        check_logic(hidden_state)

    def moves_the_aircraft(t_s, own, intruder, memory, params, advisory):
        own[2] += 100.0

    with pytest.raises(LogicContractError, match="modified the aircraft states"):
        check_logic(moves_the_aircraft)

    def level_seven(t_s, own, intruder, memory, params, advisory):
        advisory[:] = 0.0
        advisory[0] = 7.0

    with pytest.raises(LogicContractError, match="alert level 7.0"):
        check_logic(level_seven)
