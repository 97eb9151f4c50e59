"""DO-365 alerting metrics, SLoWC and encounter classes on hand-built encounters with known answers.

Two kinds of hand-built inputs: small outcome tables whose classes are counted by hand, and
encounters flown through the closed loop with a scripted logic whose level sequence (and so every
first-alert time, episode and level change) is known in advance.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scripted_logic import scripted

from encsim.avoidance.daidalus.logic import alerting_times_s, daidalus_params
from encsim.commands import CommandSchedule
from encsim.dynamics import initial_states_from_sample
from encsim.metrics import closed_loop_summary, weighted_probability
from encsim.metrics.alerting import (
    alert_classes,
    geometry_class,
    intruder_layer,
    weighted_quantiles,
    window_verdict,
)
from encsim.metrics.summary import encounters_needed
from encsim.simulate import OUTCOME_COLUMNS, alerting_times, closed_loop_provenance, simulate_states
from encsim.simulate._kernels import _slowc
from encsim.units import FPS_PER_KT

AT, EAT = alerting_times_s(daidalus_params())


def _table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({c: np.full(n, np.nan) for c in OUTCOME_COLUMNS})
    for name in ("nominal_nmac", "nominal_lowc", "mitigated_nmac", "mitigated_lowc", "alerted"):
        frame[name] = False
    frame["weight"] = 1.0
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_alerting_times_come_from_the_logic_parameters():
    assert AT.tolist() == [55.0, 55.0, 25.0] and EAT.tolist() == [75.0, 75.0, 55.0]  # DO-365B
    at, eat, source = alerting_times(closed_loop_provenance("daa-noncoop"))
    assert at.tolist() == [55.0, 55.0, 25.0] and eat.tolist() == [110.0, 110.0, 90.0] and "daa-noncoop" in source
    at, eat, source = alerting_times(closed_loop_provenance("tcas"))  # no alerting times of its own
    assert eat.tolist() == [75.0, 75.0, 55.0] and "DO-365B" in source


def test_alert_classes_of_a_hand_built_table():
    # t_LoWC, first alert at level >= 1: leads 80 (early), 60 (timely), 55 (timely, edge), 75 (timely,
    # edge), 30 (late), -5 (after LoWC: missed), none (missed); starts inside; no LoWC with an alert
    # (nuisance); no LoWC, no alert
    t_lowc = [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 0.0, np.nan, np.nan]
    first = [20.0, 40.0, 45.0, 25.0, 70.0, 105.0, np.nan, np.nan, 12.0, np.nan]
    lowc = [True] * 8 + [False, False]
    table = _table(
        nominal_t_lowc_s=t_lowc,
        nominal_lowc=lowc,
        open_loop_t_first_alert_l1_s=first,
        open_loop_min_alert_episode_l1_s=[5.0, 3.0, np.nan, 4.0, 10.0, 1.0, np.nan, np.nan, 2.0, np.nan],
    )
    c = alert_classes(table, 1, AT[0], EAT[0])
    assert c["must_alert"].tolist() == [True] * 7 + [False] * 3
    assert c["early"].tolist() == [True] + [False] * 9
    assert c["timely"].tolist() == [False, True, True, True] + [False] * 6
    assert c["late"].tolist() == [False] * 4 + [True] + [False] * 5
    assert c["missed"].tolist() == [False] * 5 + [True, True] + [False] * 3
    assert c["nuisance"].tolist() == [False] * 8 + [True, False]
    # short: an episode under 4 s among alerted encounters (4.0 itself is not short)
    assert c["short"].tolist() == [False, True, False, False, False, True, False, False, True, False]
    # the four classes partition the must-alert encounters
    parts = c[["early", "timely", "late", "missed"]].to_numpy().sum(axis=1)
    assert (parts == c["must_alert"].to_numpy()).all()


def test_summary_rows_are_weighted_shares_of_the_must_alert_encounters():
    rng = np.random.default_rng(5)
    n = 400
    t_lowc = np.where(rng.random(n) < 0.6, 100.0, np.nan)
    lead = rng.choice([80.0, 60.0, 30.0, np.nan], size=n, p=[0.1, 0.5, 0.3, 0.1])
    first = np.where(np.isfinite(t_lowc), t_lowc - lead, np.where(rng.random(n) < 0.3, 10.0, np.nan))
    w = rng.choice([1.0, 3.0], size=n)
    columns = {"nominal_t_lowc_s": t_lowc, "nominal_lowc": np.isfinite(t_lowc), "weight": w}
    for k in (1, 2, 3):
        columns[f"open_loop_t_first_alert_l{k}_s"] = first
        columns[f"open_loop_min_alert_episode_l{k}_s"] = np.full(n, 10.0)
    columns["open_loop_alert_level_changes"] = np.where(np.isfinite(first), 2.0, 0.0)
    columns["nominal_max_slowc"] = columns["mitigated_max_slowc"] = np.zeros(n)
    table = _table(**columns)
    rows = {row.name: row for row in closed_loop_summary(table, alerting_times=(AT, EAT, "test"))}
    must = np.isfinite(t_lowc)
    # written out: weighted share of each class among must-alert encounters, level 1 (AT 55, EAT 75)
    expected = {
        "early": np.sum(w[must] * (lead[must] == 80.0)) / w[must].sum(),
        "timely": np.sum(w[must] * (lead[must] == 60.0)) / w[must].sum(),
        "late": np.sum(w[must] * (lead[must] == 30.0)) / w[must].sum(),
        "missed": np.sum(w[must] * np.isnan(lead[must])) / w[must].sum(),
    }
    for name, value in expected.items():
        assert rows[f"L1 preventive: {name}"].estimate == pytest.approx(value, rel=1e-12), name
    # level 3 (AT 25, EAT 55): a lead of 60 s is early there, 30 s timely
    assert rows["L3 warning: early"].estimate == pytest.approx(expected["early"] + expected["timely"], rel=1e-12)
    nuisance = np.isfinite(first) & ~must
    assert rows["L2 corrective: nuisance"].estimate == pytest.approx(np.sum(w * nuisance) / w.sum(), rel=1e-12)
    assert rows["alert jitter"].estimate == pytest.approx(2.0)
    assert rows["L2 corrective: in window"].estimate == pytest.approx(expected["timely"] + expected["late"])
    assert "meets" in rows["L2 corrective: in window"].detail
    # median lead among must-alert encounters alerted (NaN leads excluded)
    alerted = must & np.isfinite(lead)
    assert rows["L1 preventive: alert to LoWC (s)"].estimate == weighted_quantiles(lead[alerted], w[alerted], [0.5])[0]


def test_window_verdict_reads_the_interval():
    assert window_verdict(0.6, 0.9) == "meets"
    assert window_verdict(0.1, 0.45) == "does not meet"
    assert window_verdict(0.4, 0.7).startswith("undecided")


def test_weighted_quantiles_by_hand():
    values, weights = [5.0, 1.0, 3.0, 2.0], [1.0, 1.0, 1.0, 5.0]  # sorted: 1 (1), 2 (5), 3 (1), 5 (1)
    assert weighted_quantiles(values, weights, [0.1, 0.125, 0.5, 0.75, 0.8, 1.0]).tolist() == [1, 1, 2, 2, 3, 5]


def test_geometry_classes_and_layers_by_their_cut_offs():
    degrees = np.array([0.0, 45.0, 45.1, 90.0, -134.9, 135.0, 180.0, -180.0, 350.0])
    assert geometry_class(np.radians(degrees)).tolist() == [
        "overtaking",
        "overtaking",
        "crossing",
        "crossing",
        "crossing",
        "head-on",
        "head-on",
        "head-on",
        "overtaking",
    ]
    edges = [50, 500, 1200, 3000, 5000]
    assert intruder_layer([10, 50, 499, 500, 4999, 5000, 6000], edges).tolist() == [
        "below 50 ft",
        "50-500 ft",
        "50-500 ft",
        "500-1200 ft",
        "3000-5000 ft",
        "3000-5000 ft",
        "above 5000 ft",
    ]


def test_slowc_of_hand_computed_states():
    wc = np.array([4000.0, 450.0, 35.0, 4000.0])
    own = np.zeros(8)
    # diverging at 0.6 DMOD, co-altitude: S = DMOD, projected HMD = range (t_cpa 0); range and HMD
    # penetrations 0.6 each: FG(0.6, 0.6) = sqrt(0.36 + 0.64 x 0.36) = 0.768375; vertical 0
    intruder = np.array([2400.0, 0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 100.0])
    assert _slowc.py_func(own, intruder, wc) == pytest.approx(100 * (1 - math.sqrt(0.36 + 0.64 * 0.36)), rel=1e-12)
    # the same at ZTHR / 2 above: FG(0.768375, 0.5) = sqrt(0.5904 + 0.4096 x 0.25)
    intruder[2] = 225.0
    assert _slowc.py_func(own, intruder, wc) == pytest.approx(100 * (1 - math.sqrt(0.5904 + 0.4096 * 0.25)))
    intruder[2] = 450.0  # at ZTHR: well clear vertically, severity 0
    assert _slowc.py_func(own, intruder, wc) == 0.0
    # closing head-on at 2,000 ft / s x 35 s away: S from tau_mod, range penetration r / S
    intruder[:] = [8000.0, 0.0, 0.0, -200.0, 0.0, 0.0, math.pi, 200.0]
    s = 0.5 * (math.sqrt((200.0 * 35.0) ** 2 + 4 * 4000.0**2) + 200.0 * 35.0)  # r_dot = -200 ft/s
    assert _slowc.py_func(own, intruder, wc) == pytest.approx(100 * (1 - 8000.0 / s), rel=1e-12)


def _straight_pair(n, separation_ft, vertical_ft):
    """n encounters: ownship north at 120 kt, intruder head-on at 120 kt, 8 NM apart, offset sideways."""
    speed = np.full(n, 120 * FPS_PER_KT)
    own = initial_states_from_sample(speed, 3000.0, 0.0, 0.0, heading_rad=0.0)
    intruder = initial_states_from_sample(
        speed,
        3000.0 + np.asarray(vertical_ft, dtype=float),
        0.0,
        0.0,
        heading_rad=math.pi,
        north_ft=8 * 6076.115,
        east_ft=np.asarray(separation_ft, dtype=float),
    )
    schedule = CommandSchedule.from_lists([[(0, 0, 0, 0)]] * n)
    return own, schedule, intruder, schedule


def test_alerting_columns_of_a_scripted_level_sequence_closed_and_open_loop():
    own, own_schedule, intruder, int_schedule = _straight_pair(1, 20000.0, 0.0)
    # levels by the clock, no guidance: 1 on [10, 12), 2 on [20, 25), 3 on [25, 28), 2 on [28, 30)
    logic = scripted(0.0, (10.0, 12.0, 1.0), (20.0, 25.0, 2.0), (25.0, 28.0, 3.0), (28.0, 30.0, 2.0))
    out = simulate_states(own, own_schedule, intruder, int_schedule, 60.0, logic).iloc[0]
    for prefix in ("", "open_loop_"):  # no guidance: closed and open loop see the same levels
        assert [out[f"{prefix}t_first_alert_l{k}_s"] for k in (1, 2, 3)] == pytest.approx([10.0, 20.0, 25.0])
        # episodes: level >= 1 on [10, 12) and [20, 30); >= 2 on [20, 30); >= 3 on [25, 28)
        assert [out[f"{prefix}min_alert_episode_l{k}_s"] for k in (1, 2, 3)] == pytest.approx([2.0, 10.0, 3.0])
        # 0 -> 1 -> 0 -> 2 -> 3 -> 2 -> 0: six changes
        assert out[f"{prefix}alert_level_changes"] == 6
    assert out["first_alert_level"] == 1 and out["max_alert_level"] == 3


def test_slowc_of_flown_encounters():
    # head-on at HMD 0 and 225 ft apart vertically: at the closest sample range and HMD penetrations
    # vanish, so SLoWC -> 100 (1 - FG(0, 0.5)) = 50; at 5,000 ft HMD (> HMD*) or 500 ft (> ZTHR): 0
    own, own_schedule, intruder, int_schedule = _straight_pair(3, [0.0, 5000.0, 0.0], [225.0, 0.0, 500.0])
    out = simulate_states(own, own_schedule, intruder, int_schedule, 150.0, "unequipped")
    assert out["nominal_max_slowc"].iloc[0] == pytest.approx(50.0, abs=0.01)
    assert out["nominal_max_slowc"].iloc[1] == 0.0 and out["nominal_max_slowc"].iloc[2] == 0.0
    np.testing.assert_array_equal(out["nominal_max_slowc"], out["mitigated_max_slowc"])


def test_the_caution_names_why_lowc_is_always_one():
    # half the encounters start inside the volume: the caution gives the share and the causes
    n = 40
    table = _table(
        nominal_lowc=np.ones(n, dtype=bool),
        mitigated_lowc=np.ones(n, dtype=bool),
        nominal_t_lowc_s=np.where(np.arange(n) < 20, 0.0, 12.0),
        nominal_hmd_ft=np.full(n, 1000.0),
        nominal_vmd_ft=np.full(n, 100.0),
        mitigated_hmd_ft=np.full(n, 1000.0),
    )
    rows = {row.name: row for row in closed_loop_summary(table)}
    notes = " ".join(rows["P(LoWC) nominal"].notes)
    assert "50% of the weight (20 of 40 encounters) starts inside" in notes
    assert "tCPA is too small" in notes and "HMD/VMD proposal too narrow" in notes
    assert "100% of nominal HMDs below 4000 ft" in notes
    assert rows["starts inside WC"].estimate == pytest.approx(0.5)


def test_encounters_needed_for_a_tenth_of_the_ratio():
    # half-widths 0.1 and 0.15 around 0.5: the larger, 0.15, is 0.3 of the ratio: 3^2 = 9 times n
    assert encounters_needed(1000, 0.5, 0.4, 0.65) == pytest.approx(9000.0)
    assert math.isnan(encounters_needed(1000, 0.0, 0.0, 0.3))


def test_no_zero_width_interval_in_the_summary_on_thin_evidence():
    n = 300
    table = _table(
        nominal_lowc=np.arange(n) < 60,
        mitigated_lowc=np.zeros(n, dtype=bool),
        nominal_nmac=np.arange(n) < 3,
        nominal_t_lowc_s=np.where(np.arange(n) < 60, 30.0, np.nan),
        nominal_hmd_ft=np.full(n, 3000.0),
        nominal_vmd_ft=np.full(n, 300.0),
        mitigated_hmd_ft=np.full(n, 3000.0),
    )
    rows = {row.name: row for row in closed_loop_summary(table)}
    for name in ("P(NMAC) mitigated", "P(LoWC) mitigated", "risk ratio (NMAC)", "LoWC ratio"):
        assert rows[name].ci_high > rows[name].ci_low, name
    assert rows["P(LoWC) mitigated"].ci_high == pytest.approx(1 - 0.05 ** (1 / n))
    assert rows["LoWC ratio"].ci_high == pytest.approx((1 - 0.05 ** (1 / n)) / 0.2)
    e = weighted_probability(table["nominal_nmac"].to_numpy(float), np.ones(n))
    assert rows["P(NMAC) nominal"].ci_low == e.ci_low and any("Clopper-Pearson" in x for x in e.notes)
