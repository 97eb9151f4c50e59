"""DAIDALUS-exact alerting: parity with DAIDALUS v2.0.4's own outputs, and the kernels against twins.

Parity: every reference CSV in ../shared/data/daidalus/reference (69 files, 21,443 rows with the
H1_SUM ownship-only rows) replayed with `replay_daa` from the same .daa file and configuration:
alert level equal at every step; intervals, geometry and ownship values within the printed
precision (6 decimals: 1e-6 absolute plus 1e-6 relative).
"""

from __future__ import annotations

import math
import random
from collections import deque

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA_DIR

from encsim.avoidance.daidalus import (
    ALL_COLUMNS,
    CORE_COLUMNS,
    OWN_COLUMNS,
    PRESETS,
    _alerting,
    _detection,
    add_band_columns,
    alert_timeline,
    format_reference_csv,
    preset,
    relative_sum_errors,
    replay_daa,
    wcv_taumod_interval,
    wcv_taumod_sum_interval,
)
from encsim.cli import main
from encsim.io.daa_file import read_daa

REFERENCE_DIR = SHARED_DATA_DIR / "daidalus" / "reference"
SCENARIO_DIR = SHARED_DATA_DIR / "daidalus" / "scenarios"
NRC_DIR = SHARED_DATA_DIR / "nrc-intercepts"
CONFIG_PRESET = {"DO_365B_no_SUM": "do365b", "DO_365B_SUM": "do365b-sum", "DO_365A_no_SUM": "do365a"}
REFERENCES = sorted(p.name for p in REFERENCE_DIR.glob("*.csv*")) if REFERENCE_DIR.is_dir() else []
NUMERIC = [c for c in CORE_COLUMNS if c not in ("time_s", "ownship", "traffic", "alerter", "alert_level")]


def scenario_path(name: str):
    if name.startswith("NRC_"):
        return NRC_DIR / f"{name}.daa"
    if name.endswith("_xyz"):
        return SCENARIO_DIR / f"{name[:-4]}.xyz"
    return SCENARIO_DIR / f"{name}.daa"


def replay_reference(reference_name: str):
    scenario, config = reference_name.split(".csv")[0].split("__")
    reference = pd.read_csv(REFERENCE_DIR / reference_name, dtype={"traffic": str})
    return reference, replay_daa(scenario_path(scenario), CONFIG_PRESET[config])


def test_every_reference_is_covered(shared_data_dir):
    assert len(REFERENCES) == 69


@pytest.mark.parametrize("reference_name", REFERENCES)
def test_parity_with_daidalus(shared_data_dir, reference_name):
    reference, got = replay_reference(reference_name)
    assert len(got) == len(reference)
    np.testing.assert_allclose(got["time_s"].to_numpy(float), reference["time_s"].to_numpy(float), rtol=0, atol=1e-9)
    assert list(got["traffic"].fillna("")) == list(reference["traffic"].fillna(""))
    assert np.array_equal(got["alerter"].fillna(-9).to_numpy(float), reference["alerter"].fillna(-9).to_numpy(float))
    expected = reference["alert_level"].fillna(-9).to_numpy(float)
    levels = got["alert_level"].fillna(-9).to_numpy(float)
    wrong = np.flatnonzero(levels != expected)
    assert wrong.size == 0, f"alert level differs at t = {reference['time_s'].iloc[wrong[:5]].tolist()}"
    for column in NUMERIC + OWN_COLUMNS:
        want = reference[column].to_numpy(float)
        have = got[column].to_numpy(float)
        assert np.array_equal(np.isnan(want), np.isnan(have)), f"{column}: empty cells differ"
        ok = ~np.isnan(want)
        np.testing.assert_allclose(have[ok], want[ok], rtol=1e-6, atol=1e-6, err_msg=column)
    for column in ("conflict_MID_s", "conflict_NEAR_s"):
        want = reference[column].astype(object).fillna("").astype(str).to_numpy()
        have = got[column].fillna("").to_numpy()
        assert np.array_equal(want == "", have == ""), f"{column}: empty cells differ"
        for a, b in zip(have[want != ""], want[want != ""], strict=True):
            np.testing.assert_allclose(
                np.array(a.split(":"), float), np.array(b.split(":"), float), rtol=1e-6, atol=1e-6
            )


def test_reference_cells_written_as_daidalus_writes_them(shared_data_dir):
    reference_name = "P16__DO_365B_no_SUM.csv"
    text = format_reference_csv(replay_reference(reference_name)[1])
    ours = [line.split(",")[:23] for line in text.splitlines()]
    theirs = [line.split(",")[:23] for line in (REFERENCE_DIR / reference_name).read_text().splitlines()]
    assert ours[0] == theirs[0]
    same = sum(a == b for a, b in zip(ours[1:], theirs[1:], strict=True))
    assert same >= len(theirs) - 3  # a last-digit rounding difference may remain, never a format one


def test_nrc_timeline_as_the_readme_states(shared_data_dir):
    table = replay_daa(NRC_DIR / "NRC_Intercept3.daa", "do365b")
    assert alert_timeline(table) == {"C-FPTP": "0@325374.2 2@325405.4 3@325435.9 0@325514.6"}


@pytest.mark.parametrize("path", sorted(NRC_DIR.glob("*.daa")) if NRC_DIR.is_dir() else [], ids=lambda p: p.stem)
def test_every_nrc_intercept_replays(shared_data_dir, path):
    table = replay_daa(path, "do365b")
    assert len(table) == len(read_daa(path).steps())
    assert set(table["alert_level"].astype(int)) <= {0, 1, 2, 3}


def test_out_of_range_alerter_gives_level_minus_one(shared_data_dir):
    table = replay_daa(SCENARIO_DIR / "P06.daa", "do365a")  # alerter 3, but DO_365A has two alerters
    assert (table["alerter"] == 3).all()
    assert (table["alert_level"] == -1).all()
    assert table["L1_t_in_s"].isna().all()


def test_cli_writes_the_reference_columns(shared_data_dir, tmp_path):
    out = tmp_path / "p05.csv"
    args = ["daa", str(SCENARIO_DIR / "P05.daa"), "--config", "do365b", "--no-bands", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Intruder: 0@0 3@48 0@101" in result.output
    written = pd.read_csv(out)
    reference = pd.read_csv(REFERENCE_DIR / "P05__DO_365B_no_SUM.csv")
    assert list(written.columns) == list(reference.columns)
    assert (written["alert_level"] == reference["alert_level"]).all()
    assert written["hdir_bands_deg"].isna().all() and written["ltm_hdir_s"].isna().all()  # --no-bands: left empty


def test_cli_refuses_a_bad_configuration(shared_data_dir, tmp_path):
    conf = tmp_path / "bad.conf"
    text = PRESETS["do365b"][0]
    conf.write_text(text + "frobnicate = 3\n")
    line = len(text.splitlines()) + 1
    result = CliRunner().invoke(main, ["daa", str(SCENARIO_DIR / "P05.daa"), "--config", str(conf), "-o", "x.csv"])
    assert result.exit_code != 0
    assert f"line {line}" in result.output and "frobnicate" in result.output


# --- the detection kernel against a plain-Python twin -------------------------------------------


def violates(s, v, t, dthr, zthr, tthr, tcoa):
    """Plain-Python WCV_TAUMOD predicate at time t (straight lines), from DO-365's definition."""
    x, y, z = (s[i] + t * v[i] for i in range(3))
    r2 = x * x + y * y
    sdotv = x * v[0] + y * v[1]
    vv = v[0] ** 2 + v[1] ** 2
    if r2 <= dthr * dthr:
        horizontal = True
    else:
        hmd = math.sqrt(r2 - sdotv * sdotv / vv) if vv > 0 else math.sqrt(r2)
        horizontal = sdotv < 0 and hmd <= dthr and (dthr * dthr - r2) / sdotv <= tthr
    vertical = abs(z) <= zthr or (v[2] != 0 and z * v[2] < 0 and -z / v[2] <= tcoa)
    return horizontal and vertical


def twin_interval(s, v, dthr, zthr, tthr, tcoa, horizon):
    """Violation interval by scanning the predicate every 0.05 s and bisecting each edge."""
    times = np.linspace(0.0, horizon, int(horizon * 20) + 1)
    inside = [violates(s, v, t, dthr, zthr, tthr, tcoa) for t in times]
    if not any(inside):
        return math.inf, -math.inf
    first = inside.index(True)
    last = len(inside) - 1 - inside[::-1].index(True)

    def edge(lo, hi, entering):
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if violates(s, v, mid, dthr, zthr, tthr, tcoa) == entering:
                hi = mid
            else:
                lo = mid
        return hi if entering else lo

    t_in = 0.0 if first == 0 else edge(times[first - 1], times[first], True)
    t_out = horizon if last == len(times) - 1 else edge(times[last], times[last + 1], False)
    return t_in, t_out


def random_geometries(count, seed, dthr_ft=4010.0):
    rng = random.Random(seed)
    for _ in range(count):
        bearing = rng.uniform(0, 2 * math.pi)
        rng_ft = rng.uniform(2000, 60000)
        s = [rng_ft * math.sin(bearing), rng_ft * math.cos(bearing), rng.uniform(-900, 900)]
        closing = rng.uniform(100, 900)
        miss = rng.uniform(-1.2, 1.2) * dthr_ft / rng_ft
        v = [
            -s[0] / rng_ft * closing + miss * s[1] / rng_ft * closing,
            -s[1] / rng_ft * closing - miss * s[0] / rng_ft * closing,
        ]
        v.append(rng.uniform(-40, 40))
        yield s, v


@pytest.mark.parametrize("volume", [(4010.24, 450.0, 35.0, 0.0), (1500.0, 450.0, 0.0, 0.0), (2200.0, 700.0, 0.0, 20.0)])
def test_wcv_taumod_interval_matches_its_twin(volume):
    dthr, zthr, tthr, tcoa = volume
    compared = 0
    for s, v in random_geometries(80, seed=int(dthr), dthr_ft=dthr):
        t_in, t_out = wcv_taumod_interval(*s, *v, dthr, zthr, tthr, tcoa, 0.0, 180.0)
        w_in, w_out = twin_interval(s, v, dthr, zthr, tthr, tcoa, 180.0)
        if math.isinf(w_in) or w_out - w_in < 0.1:  # the scan may miss a very short interval
            assert math.isinf(t_in) or t_out - t_in < 0.11
            continue
        compared += 1
        assert t_in == pytest.approx(w_in, abs=1e-6)
        assert t_out == pytest.approx(w_out, abs=1e-6)
    assert compared >= 10


def test_wcv_taumod_kernel_equals_its_python_execution():
    for s, v in random_geometries(50, seed=3):
        args = (*s, *v, 4010.24, 450.0, 35.0, 0.0, 0.0, 180.0)
        assert _detection.wcv_taumod_interval(*args) == _detection.wcv_taumod_interval.py_func(*args)
        errors = (300.0, 30.0, 5.0, 2.0)
        compiled = _detection.wcv_taumod_sum_interval(*args, *errors)
        assert compiled == pytest.approx(_detection.wcv_taumod_sum_interval.py_func(*args, *errors), rel=1e-14)


def test_sum_interval_contains_the_nominal_one_and_grows_with_the_errors():
    for s, v in random_geometries(80, seed=11):
        args = (*s, *v, 4010.24, 450.0, 35.0, 0.0, 0.0, 180.0)
        assert wcv_taumod_sum_interval(*args, 0.0, 0.0, 0.0, 0.0) == wcv_taumod_interval(*args)
        n_in, n_out = wcv_taumod_interval(*args)
        small = wcv_taumod_sum_interval(*args, 100.0, 20.0, 2.0, 1.0)
        large = wcv_taumod_sum_interval(*args, 600.0, 60.0, 10.0, 3.0)
        if n_in < n_out:
            assert small[0] <= n_in + 1e-9 and small[1] >= n_out - 1e-9
        if small[0] < small[1]:
            assert large[0] <= small[0] + 1e-9 and large[1] >= small[1] - 1e-9


def test_detection_refuses_bad_input():
    with pytest.raises(ValueError, match="sx_ft"):
        wcv_taumod_interval(math.nan, 0, 0, 1, 0, 0, 4000, 450, 35, 0, 0, 180)
    with pytest.raises(ValueError, match="t_from_s"):
        wcv_taumod_interval(0, 0, 0, 1, 0, 0, 4000, 450, 35, 0, 10, 5)
    with pytest.raises(ValueError, match="s_err_ft"):
        wcv_taumod_sum_interval(0, 0, 0, 1, 0, 0, 4000, 450, 35, 0, 0, 180, -1, 0, 0, 0)


# --- the alerting kernel against a plain-Python twin --------------------------------------------


def twin_alert_levels(times, t_in, t_out, alerting, early, m, n, hysteresis, persistence):
    """Plain-Python alerting as docs/daidalus.md describes it (deque window, explicit state)."""
    shown = []
    window = None
    last = {"time": None, "value": -1, "raised": None}
    for i, t in enumerate(times):
        raw = 0
        for k in range(t_in.shape[1], 0, -1):
            limit = alerting[i, k - 1]
            if last["time"] is not None and last["time"] < t and last["value"] == k:
                limit = early[i, k - 1]
            a, b = t_in[i, k - 1], t_out[i, k - 1]
            if (a == 0 or _detection._almost_less(a, limit)) and _detection._almost_less(a, b):
                raw = k
                break
        if last["time"] is None or t <= last["time"] or t - last["time"] > hysteresis:
            window = deque([raw] * m + [-1] * (n - m), maxlen=n)
            last.update(value=-1, raised=None)
        window.append(raw)
        candidate = max((lv for lv in range(0, max(window) + 1) if sum(w >= lv for w in window) >= m), default=-1)
        hold = last["raised"] is not None and last["value"] > 0 and candidate < last["value"]
        hold = hold and 0 <= t - last["raised"] < persistence
        if not hold:
            if candidate > 0 and candidate > last["value"]:
                last["raised"] = t
            last["value"] = max(0, candidate)
        last["time"] = t
        shown.append(last["value"])
    return shown


def test_alert_levels_match_their_twin():
    rng = np.random.default_rng(7)
    for trial in range(40):
        steps = 120
        dt = 0.1 if trial % 2 else 1.0
        times = np.cumsum(np.where(rng.random(steps) < 0.03, 7.0, dt))  # a few gaps longer than 5 s
        t_in = np.where(rng.random((steps, 3)) < 0.5, rng.uniform(0, 80, (steps, 3)), np.inf)
        t_in[:, 1:] = np.maximum(t_in[:, 1:], t_in[:, :1])  # severe volumes inside milder ones
        t_out = np.where(np.isfinite(t_in), t_in + rng.uniform(0, 40, (steps, 3)), -np.inf)
        alerting = np.tile([55.0, 55.0, 25.0], (steps, 1))
        early = np.tile([75.0, 75.0, 55.0], (steps, 1))
        valid = np.ones(steps, dtype=bool)
        shown, _ = _alerting.alert_levels(times, t_in, t_out, alerting, early, valid, 2, 4, 5.0, 4.0)
        assert list(shown) == twin_alert_levels(times, t_in, t_out, alerting, early, 2, 4, 5.0, 4.0)


def one_level(t_in_values, alerting=55.0, early=75.0):
    steps = len(t_in_values)
    t_in = np.array(t_in_values, dtype=float).reshape(steps, 1)
    t_out = np.where(np.isfinite(t_in), t_in + 30.0, -np.inf)
    times = np.arange(steps, dtype=float)
    return _alerting.alert_levels(
        times,
        t_in,
        t_out,
        np.full((steps, 1), alerting),
        np.full((steps, 1), early),
        np.ones(steps, bool),
        2,
        4,
        5.0,
        4.0,
    )[0]


def test_onset_lags_one_step_and_the_alert_ends_two_steps_late():
    inf = math.inf
    assert list(one_level([inf, inf, 50.0, 49.0, 48.0, 47.0, 46.0, inf, inf, inf, inf])) == [
        0,
        0,
        0,
        1,
        1,
        1,
        1,
        1,
        1,
        0,
        0,
    ]


def test_a_time_equal_to_the_alerting_time_does_not_count():
    inf = math.inf
    assert list(one_level([inf, 55.0, 55.0, 55.0])) == [0, 0, 0, 0]
    assert list(one_level([inf, 55.0 * (1 - 1e-13), 55.0 * (1 - 1e-13)])) == [0, 0, 0]  # within the tolerance
    assert list(one_level([inf, 54.99, 54.99])) == [0, 0, 1]


def test_early_alerting_time_keeps_a_shown_level_but_never_raises_one():
    inf = math.inf
    assert list(one_level([inf, 60.0, 60.0, 60.0])) == [0, 0, 0, 0]
    assert list(one_level([inf, 50.0, 50.0, 60.0, 70.0, 74.0, 80.0, 80.0, 80.0])) == [0, 0, 1, 1, 1, 1, 1, 1, 0]


def test_presets_are_consistent():
    b = preset("do365b")
    assert [a.name for a in b.alerters] == ["DWC_Phase_I", "DWC_Phase_II", "DWC_Non_Coop"]
    assert b.alerters[0].levels[0].dthr_ft == pytest.approx(4010.2362, abs=1e-4)
    assert [level.region for level in b.alerters[0].levels] == ["NONE", "MID", "NEAR"]
    assert preset("do365b-sum").alerters[0].levels[0].sum


def test_relative_sum_errors_match_an_eigenvalue_twin():
    rng = np.random.default_rng(5)
    z = preset("do365b-sum").z_scores
    for _ in range(50):
        own, intruder = rng.uniform(0, 200, 8), rng.uniform(0, 200, 8)
        own[2] *= rng.choice([-1, 1])
        range_ft = rng.uniform(0, 60000)

        def largest_std(x, y, xy):
            cov = math.copysign(xy * xy, xy)
            return math.sqrt(max(np.linalg.eigvalsh([[x * x, cov], [cov, y * y]])))

        s_err = z[0] * (largest_std(*own[:3]) + largest_std(*intruder[:3]))
        reduced = max(range_ft - s_err, 0.0)
        z_vel = z[1] if reduced >= z[3] else z[2] + (z[1] - z[2]) * reduced / z[3]
        expected = (
            s_err,
            z[4] * (own[3] + intruder[3]),
            z_vel * (largest_std(*own[4:7]) + largest_std(*intruder[4:7])),
            z[5] * (own[7] + intruder[7]),
        )
        assert relative_sum_errors(own, intruder, range_ft, z) == pytest.approx(expected, rel=1e-9)


def test_band_columns_join_the_replay_table(shared_data_dir):
    table = replay_daa(SCENARIO_DIR / "P01.daa", "do365b")
    bands = pd.DataFrame({"hdir_region": ["NONE"] * len(table), "hdir_bands_deg": ["0:360:NONE"] * len(table)})
    joined = add_band_columns(table, bands)
    assert (joined["hdir_bands_deg"] == "0:360:NONE").all() and table["hdir_bands_deg"].isna().all()
    line = format_reference_csv(joined).splitlines()[1].split(",")
    assert line[ALL_COLUMNS.index("hdir_bands_deg")] == "0:360:NONE"
    with pytest.raises(ValueError, match="not band columns"):
        add_band_columns(table, pd.DataFrame({"alert_level": [0] * len(table)}))
