"""Reference-logic records: every table is built from them, unknown ids are errors, parameter lengths checked."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numba import njit

from encsim.avoidance import (
    ADVISORY_SIZE,
    MEMORY_SIZE,
    REFERENCE_LOGICS,
    LogicSpecError,
    daidalus_logic,
    resolve_logic,
    tcas,
)
from encsim.avoidance.interface import LEGACY_ADVISORY_SIZE, clear_guidance
from encsim.avoidance.reference_logics import (
    RECORDS,
    REFERENCE_LOGIC_IDS,
    ReferenceLogic,
    record_of,
    reference_logic_id,
)
from encsim.commands import CommandSchedule
from encsim.dynamics import DynamicLimits, initial_states_from_sample
from encsim.metrics import DO365_DWC
from encsim.simulate import _kernels, simulate_states


def test_the_name_and_id_tables_are_built_from_the_records():
    names = {name for record in RECORDS for name in record.presets}
    assert set(REFERENCE_LOGICS) == names
    assert {"unequipped", "daa", "daa-daidalus", "daa-noncoop", "daa-vertical", "daa-both", "tcas"} <= names
    assert {"daa-sum", "daa-a"} <= names
    assert len({record.logic_id for record in RECORDS}) == len(RECORDS)
    for record in RECORDS:
        assert REFERENCE_LOGIC_IDS[record.function] == record.logic_id
        for name, factory in record.presets.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # daa-daidalus, an alias of daa
                function, params = resolve_logic(name)
                made = factory()
            assert function is record.function
            if record.n_params is not None:  # every preset gives the length the logic reads
                assert made.shape == (record.n_params,) == params.shape, name
    assert _kernels.REFERENCE_LOGIC_IDS is REFERENCE_LOGIC_IDS  # the kernel uses the same table


def test_an_unknown_logic_is_refused_before_the_kernel():
    @njit
    def other(t_s, own, intruder, memory, params, advisory):
        advisory[:] = 0.0

    with pytest.raises(ValueError, match="is not a reference logic"):
        reference_logic_id(other)
    assert record_of(other) is None
    assert record_of(daidalus_logic.py_func) is record_of(daidalus_logic) is RECORDS[1]


def _call(dispatch, logic_id):
    advisory = np.full(ADVISORY_SIZE, -1.0)
    own = np.array([0.0, 0.0, 3000.0, 200.0, 0.0, 0.0, 0.0, 200.0])
    dispatch(logic_id, 0.0, own, own.copy(), np.zeros(MEMORY_SIZE), np.zeros(1), advisory)
    return advisory


def test_the_kernel_dispatch_is_built_from_the_records_and_an_unknown_id_gives_nan():
    @njit
    def climbs(t_s, own, intruder, memory, params, advisory):
        for k in range(advisory.shape[0]):
            advisory[k] = 0.0
        advisory[0] = 2.0

    records = (*RECORDS, ReferenceLogic(7, climbs, None, {"climbs": lambda: np.zeros(1)}))
    dispatch = _kernels._reference_dispatch(records)
    assert _call(dispatch, 7)[0] == 2.0  # a new record is reachable by its id, with no other edit
    unequipped_advisory = _call(dispatch, 0)
    expected = np.full(ADVISORY_SIZE, -1.0)  # the guidance blocks: untouched band slots
    expected[:LEGACY_ADVISORY_SIZE] = 0.0
    clear_guidance(expected)  # no guidance computed in any dimension
    np.testing.assert_array_equal(unequipped_advisory, expected)  # unequipped
    for unknown in (3, 6, 8, -1):  # never unequipped: NaN, which marks the run faulty
        assert np.isnan(_call(dispatch, unknown)).all(), unknown
    # the cached kernel's closure holds the records' key, so a changed table is a new cache entry
    assert _kernels._registry_key(records) != _kernels._registry_key(RECORDS)
    assert _kernels._registry_key(RECORDS) == _kernels._registry_key(RECORDS)


def test_the_disk_cached_kernel_marks_every_encounter_faulty_for_an_unknown_id():
    from encsim.simulate import _flight

    own = initial_states_from_sample([200.0], [3000.0], [0.0], [0.0], heading_rad=0.0)
    intruder = initial_states_from_sample([200.0], [3000.0], [0.0], [0.0], heading_rad=math.pi, north_ft=[16000.0])
    straight = CommandSchedule.from_lists([[(0, 0, 0, 0)]])
    known = simulate_states(own, straight, intruder, straight, 10.0, "unequipped")
    assert np.isfinite(known["mitigated_hmd_ft"]).all()
    limits = DynamicLimits().as_array(1)
    from encsim.simulate import _settings, pilot_config, surveillance_config

    # the run's settings and the reference surveillance and pilot models as simulate builds them
    settings, models = _settings(10.0, pilot_config(), 1.0, DO365_DWC, (500.0, 100.0), surveillance_config(), 0)
    out = np.zeros((1, len(_kernels.OUTCOME_COLUMNS)))
    _kernels.reference_closed_loop_kernel(
        np.int64(99),
        np.zeros(1),
        *models,
        _flight(own, straight, limits),
        _flight(intruder, straight, limits),
        settings,
        np.zeros(1, dtype=np.int64),
        _kernels.Outputs(out, np.zeros((1, 3))),
    )
    assert np.isnan(out).all()


def test_resolve_logic_refuses_a_parameter_array_of_the_wrong_length():
    daa = daidalus_logic
    n_daa = next(record.n_params for record in RECORDS if record.function is daa)
    with pytest.raises(LogicSpecError, match=rf"daidalus_logic expects {n_daa} parameters, got 3"):
        resolve_logic((daa, np.zeros(3)))
    with pytest.raises(LogicSpecError, match=rf"tcas expects \d+ parameters, got {n_daa}"):
        resolve_logic((tcas, REFERENCE_LOGICS["daa"][1]()))  # daa's parameters handed to tcas
    with pytest.raises(LogicSpecError, match="daidalus_logic expects"):
        resolve_logic((daa.py_func, np.zeros(n_daa + 1)))  # the plain Python twin reads the same array
    with pytest.raises(LogicSpecError, match="1-d array"):
        resolve_logic((daa, np.zeros((5, 7))))
    assert resolve_logic((daa, REFERENCE_LOGICS["daa"][1]()))[1].shape == (n_daa,)
