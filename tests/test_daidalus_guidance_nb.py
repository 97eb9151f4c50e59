"""The Numba guidance orchestration (`_guidance`) against its plain-Python twin (`bands.GuidanceBands`).

Step by step over the shared DAIDALUS reference scenarios (read in place), both engines of
`bands.band_table` must give the same table: bands, regions, resolutions, preferred direction,
recovery time and n-factor, last time to manoeuvre. Fed with the reference's alert levels, so the
early alerting time of a displayed level is exercised as in the parity test. By default a
representative subset runs (`EQUALITY_SUBSET`); ``ENCSIM_FULL_PARITY=1`` runs every reference file
(NRC files: their first 300 steps). The parity figures against the reference CSVs follow: the
parity test of tests/test_daidalus_bands.py drives `band_table`, whose default engine is this one.
"""

from __future__ import annotations

import csv
import gzip
import math

import numpy as np
import pytest
from numba import njit
from test_daidalus_bands import DAIDALUS, FULL_PARITY, NRC_STEPS, _reference_files, _scenario_path

from encsim.avoidance import interface as I
from encsim.avoidance.daidalus import _guidance as G
from encsim.avoidance.daidalus import bands as B

#: reference file -> steps replayed (None: all) for the default run: one file per feature
EQUALITY_SUBSET = {
    "P03__DO_365B_no_SUM.csv": None,  # recovery bands, n-factor, resolution persistence
    "P04__DO_365B_no_SUM.csv": None,  # speed recovery bands
    "P10__DO_365A_no_SUM.csv": None,  # two intruders, two alerters
    "P11__DO_365B_no_SUM.csv": 120,  # three intruders, alerters 1, 3, 1
    "P08__DO_365B_SUM.csv": 80,  # SUM detectors
    "P12__DO_365B_no_SUM.csv": None,  # a turning intruder: direction resolutions
    "P15__DO_365B_no_SUM.csv": 100,  # wind
    "H1_SUM__DO_365B_SUM.csv": 60,  # geodetic, SUM, traffic appearing at 27 s
    "P14__DO_365B_no_SUM.csv": 150,  # 10 Hz steps
}


def _load(reference_name, max_steps):
    from encsim.avoidance.daidalus.config import read_daidalus_config
    from encsim.io.daa_file import DaaFile, read_daa

    base = reference_name.split(".csv")[0]
    scenario, conf = base.split("__")
    cfg = read_daidalus_config(DAIDALUS / "configurations" / (conf + ".conf"))
    daa = read_daa(_scenario_path(scenario))
    if max_steps is not None:
        times = sorted(daa.rows["time_s"].unique())[:max_steps]
        daa = DaaFile(**{**daa.__dict__, "rows": daa.rows[daa.rows["time_s"].isin(times)].reset_index(drop=True)})
    opener = gzip.open if reference_name.endswith(".gz") else open
    with opener(DAIDALUS / "reference" / reference_name, "rt") as f:
        by_key = {(round(float(r["time_s"]), 6), r["traffic"]): r["alert_level"] for r in csv.DictReader(f)}
    keys = [(round(step.time_s, 6), name) for step in daa.steps() for name in (step.traffic_names or ("",))]
    levels = [int(by_key[k]) if by_key.get(k) else 0 for k in keys]
    return daa, cfg, levels


def _cases():
    files = _reference_files()
    if FULL_PARITY:
        return [(name, NRC_STEPS if name.startswith("NRC") else None) for name in files]
    return [(name, steps) for name, steps in EQUALITY_SUBSET.items() if name in files]


def _assert_same_tables(numba_table, python_table, label):
    assert list(numba_table.columns) == list(python_table.columns)
    assert len(numba_table) == len(python_table)
    for column in python_table.columns:
        a, b = numba_table[column].to_numpy(), python_table[column].to_numpy()
        if a.dtype.kind == "f":
            same = np.array_equal(a, b, equal_nan=True)
        else:
            same = list(a) == list(b)
        if not same:
            row = next(i for i in range(len(a)) if not (a[i] == b[i] or (a[i] != a[i] and b[i] != b[i])))
            pytest.fail(f"{label}: {column} differs first at row {row}: numba {a[row]!r}, python {b[row]!r}")


@pytest.mark.slow
@pytest.mark.parametrize(("reference_name", "max_steps"), _cases())
def test_numba_orchestration_equals_the_python_twin_step_by_step(reference_name, max_steps):
    daa, cfg, levels = _load(reference_name, max_steps)
    numba_table = B.band_table(daa, cfg, levels, engine="numba")
    python_table = B.band_table(daa, cfg, levels, engine="python")
    _assert_same_tables(numba_table, python_table, reference_name)


def test_equality_subset_names_existing_reference_files():
    missing = sorted(set(EQUALITY_SUBSET) - set(_reference_files()))
    assert not missing or not _reference_files(), missing


# --- the published interface ---------------------------------------------------------------------------------


def test_packed_settings_hold_the_configuration():
    s = B.BandsSettings()
    v = G.pack_band_settings(s)
    assert v.shape == (G.BAND_SETTINGS_SIZE,)
    assert v[G.S_LOOKAHEAD] == 180.0
    assert list(v[G.S_STEP : G.S_STEP + 4]) == [1.0, 5.0, 100.0, 100.0]
    assert list(v[G.S_PREFERRED_DELTA : G.S_PREFERRED_DELTA + 4]) == [15.0, 100.0, 250.0, 250.0]
    np.testing.assert_array_equal(v[G.S_KIN : G.S_KIN + 5], s.kinematics())
    assert (v[G.S_ALERTING_M], v[G.S_ALERTING_N], v[G.S_CORRECTIVE_REGION]) == (2, 4, B.MID)


def test_packed_settings_refuse_an_m_of_n_window_larger_than_the_memory():
    with pytest.raises(ValueError, match="alerting_n"):
        G.pack_band_settings(B.BandsSettings(alerting_m=2, alerting_n=G.MAX_HISTORY + 2))


def test_the_advisory_bands_fit_in_the_output():
    assert G.GUIDANCE_MAX_BANDS >= I.MAX_BANDS
    assert G.GUIDANCE_OUT_SIZE == G.O_BANDS + 3 * G.GUIDANCE_MAX_BANDS
    assert G.GUIDANCE_MEMORY_SIZE == G.M_HISTORY + G.MAX_HISTORY * G.FIELD_SIZE


def _head_on_traffic():
    """Ownship north at 200 ft/s, 5000 ft; an intruder 6 nmi ahead coming south, 100 ft above."""
    own = np.array([0.0, 0.0, 5000.0, 0.0, 200.0, 0.0])
    intruder = np.array([300.0, 6 * 6076.1, 5100.0, 0.0, -200.0, 0.0])
    cfg_levels = []
    for region, tthr, alerting, early in ((B.NONE, 35, 55, 75), (B.MID, 35, 55, 75), (B.NEAR, 35, 25, 55)):
        det = B.wcv_detector(4010.24, 450.0 if region != B.NONE else 700.0, tthr, 0.0)
        cfg_levels.append(B.AlertLevel(region, det, alerting, early))
    return own, B.Traffic("intruder", intruder, tuple(cfg_levels))


@njit(cache=False)
def _closed_loop_like(dim, times, own0, intruder0, levels, band_settings, memory, outs):
    """What a closed-loop logic does: both fly straight, guidance of one dimension at every decision."""
    own = np.empty(6)
    intruder = np.empty((1, 6))
    for i in range(len(times)):
        for k in range(6):
            own[k] = own0[k]
            intruder[0, k] = intruder0[k]
        for k in range(3):
            own[k] += times[i] * own0[3 + k]
            intruder[0, k] += times[i] * intruder0[3 + k]
        G.dimension_guidance(dim, times[i], own, intruder, levels, 1, band_settings, memory, outs[i])


@pytest.mark.parametrize("dim", range(4))
def test_a_njit_caller_gets_the_twins_guidance_at_every_decision(dim):
    """One intruder, 1 Hz decisions from a zero memory, called from inside another njit function."""
    own0, traffic = _head_on_traffic()
    settings = B.BandsSettings()
    bs = G.pack_band_settings(settings)
    states, levels, _n = G.pack_traffic_levels([traffic])
    times = np.arange(0.0, 90.0)
    outs = np.zeros((len(times), G.GUIDANCE_OUT_SIZE))
    _closed_loop_like(dim, times, own0, states[0], levels, bs, np.zeros(G.GUIDANCE_MEMORY_SIZE), outs)
    twin = B.GuidanceBands(settings)
    name = B.DIMENSIONS[dim]
    saw_conflict = False
    for i, t in enumerate(times):
        own = own0.copy()
        own[:3] += t * own0[3:]
        moved = B.Traffic(traffic.name, traffic.state + np.r_[t * traffic.state[3:], 0, 0, 0], traffic.levels)
        want = twin.step(t, own, [moved])[name]
        got = outs[i]
        n_bands = int(got[G.O_N_BANDS])
        bands = [tuple(got[G.O_BANDS + 3 * k : G.O_BANDS + 3 * k + 3]) for k in range(n_bands)]
        assert bands == [(a, b, float(r)) for a, b, r in want.bands], t
        assert got[G.O_OWN_VALUE] == want.own_value
        assert int(got[G.O_REGION]) == want.region
        np.testing.assert_array_equal(got[[G.O_RES_LOW, G.O_RES_UP]], [want.res_low, want.res_up])
        assert bool(got[G.O_PREFERRED_UP]) == want.preferred_up
        expected_preferred = (
            0 if math.isnan(want.res_low) and math.isnan(want.res_up) else (1 if want.preferred_up else -1)
        )
        assert got[G.O_PREFERRED] == expected_preferred
        np.testing.assert_array_equal(got[G.O_REC_TIME], want.recovery_time_s)
        assert int(got[G.O_NFACTOR]) == want.recovery_nfactor
        saw_conflict |= not math.isnan(want.res_low)
    assert saw_conflict, "the encounter must reach a corrective conflict in every dimension"


def test_an_earlier_time_or_a_gap_restarts_the_history():
    """A decision not after the previous one (a new run) gives what a fresh twin gives."""
    own, traffic = _head_on_traffic()
    bs = G.pack_band_settings(B.BandsSettings())
    states, levels, n = G.pack_traffic_levels([traffic])
    memory = np.zeros(G.GUIDANCE_MEMORY_SIZE)
    out = np.zeros(G.GUIDANCE_OUT_SIZE)
    for t in (0.0, 1.0, 2.0):
        G.dimension_guidance(G.DIM_VS, t, own, states, levels, n, bs, memory, out)
    restarted = out.copy()
    G.dimension_guidance(G.DIM_VS, 0.5, own, states, levels, n, bs, memory, restarted)
    fresh = np.zeros(G.GUIDANCE_OUT_SIZE)
    G.dimension_guidance(G.DIM_VS, 0.5, own, states, levels, n, bs, np.zeros(G.GUIDANCE_MEMORY_SIZE), fresh)
    np.testing.assert_array_equal(restarted, fresh)


def test_no_traffic_gives_one_conflict_free_band_per_dimension():
    own = np.array([0.0, 0.0, 5000.0, 0.0, 200.0, 0.0])
    bs = G.pack_band_settings(B.BandsSettings())
    states, levels, n = G.pack_traffic_levels([])
    memory = np.zeros(4 * G.GUIDANCE_MEMORY_SIZE)
    out = np.zeros((4, G.GUIDANCE_OUT_SIZE))
    G.guidance_step(0.0, own, states, levels, n, bs, memory, out)
    ranges = [(0.0, 360.0), (10.0, 700.0), (-6000.0, 6000.0), (100.0, 50000.0)]
    for dim, (lo, hi) in enumerate(ranges):
        assert out[dim, G.O_N_BANDS] == 1
        assert list(out[dim, G.O_BANDS : G.O_BANDS + 3]) == [lo, hi, B.NONE]
        assert out[dim, G.O_REGION] == B.NONE and out[dim, G.O_PREFERRED] == 0
        assert math.isnan(out[dim, G.O_RES_LOW]) and math.isnan(out[dim, G.O_REC_TIME])


def test_last_time_to_manoeuvre_equals_the_twin():
    own0, traffic = _head_on_traffic()
    settings = B.BandsSettings()
    bs = G.pack_band_settings(settings)
    states, levels, _ = G.pack_traffic_levels([traffic])
    twin = B.GuidanceBands(settings)
    finite = 0
    for t in (0.0, 20.0, 40.0, 60.0, 80.0):
        own = own0.copy()
        own[:3] += t * own0[3:]
        state = states[0] + np.r_[t * states[0, 3:], 0, 0, 0]
        moved = B.Traffic(traffic.name, state, traffic.levels)
        want = twin.last_time_to_manoeuvre(own, moved)
        for dim, name in enumerate(B.DIMENSIONS):
            got = G.last_time_to_manoeuvre(dim, own, state, levels[0], bs)
            assert got == want[name] or (math.isnan(got) and math.isnan(want[name])), (t, name)
            finite += math.isfinite(got)
    assert finite > 0
