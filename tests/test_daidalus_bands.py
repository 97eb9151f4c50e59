"""Guidance bands: kernel twins and step-by-step parity with DAIDALUS v2.0.4's reference outputs.

The reference CSVs in ../shared/data/daidalus/reference are read in place. A band list matches when
every band edge of each side lies within one step (1 deg, 5 kt, 100 fpm, 100 ft) of an edge of the
other and the regions agree at every interior point (points more than one step from any edge).

The parity test (marked slow) replays by default `PARITY_SUBSET`: one reference file per feature
(alerters 1-3, SUM, wind, geodetic positions, several intruders, turning and levelling intruders,
10 Hz steps, an NRC intercept), about a minute. ``ENCSIM_FULL_PARITY=1`` replays every reference
file instead (66 files in full, the first 300 steps of the 3 NRC files: about 10 minutes):

    ENCSIM_FULL_PARITY=1 pytest tests/test_daidalus_bands.py -k parity
"""

from __future__ import annotations

import csv
import gzip
import math
import os
from pathlib import Path

import numpy as np
import pytest

from encsim.avoidance.daidalus import _bands as K
from encsim.avoidance.daidalus import bands as B
from encsim.avoidance.daidalus._detection import wcv_taumod_interval

SHARED = Path(os.environ["ENCSIM_MODEL_DIR"]).resolve().parents[1]
DAIDALUS = SHARED / "data" / "daidalus"
NRC = SHARED / "data" / "nrc-intercepts"

UNITS = {"hdir": "deg", "hs": "kt", "vs": "fpm", "alt": "ft"}
STEPS = {"hdir": 1.0, "hs": 5.0, "vs": 100.0, "alt": 100.0}
KIN = B.BandsSettings().kinematics()


# --- plain-Python twins of the kernels ------------------------------------------------------------------


def twin_turn(own, t, omega):
    """Integrate the turn numerically (1 ms midpoint steps) instead of the closed form."""
    x, y, z, vx, vy, vz = own
    n = max(1, round(t / 1e-3))
    dt = t / n
    heading = math.atan2(vx, vy)
    speed = math.hypot(vx, vy)
    for _ in range(n):
        mid = heading + 0.5 * omega * dt
        x += speed * math.sin(mid) * dt
        y += speed * math.cos(mid) * dt
        heading += omega * dt
    return x, y, z + vz * t, speed * math.sin(heading), speed * math.cos(heading), vz


def twin_altitude_from_speed(own, rate, target, accel, t_hold, t, dt=1e-3):
    """Altitude at time t by integrating the kernel's own vertical speed (trapezoid rule)."""
    z = own[2]
    n = round(t / dt)
    prev = K._level_off(own, 0.0, rate, target, accel, t_hold)[5]
    for i in range(1, n + 1):
        vz = K._level_off(own, i * dt, rate, target, accel, t_hold)[5]
        z += 0.5 * (prev + vz) * dt
        prev = vz
    return z


def twin_cylinder_interval(s, v, d, h, t_from, t_to):
    """Brute-force sampling of range < d and |dz| < h."""
    ts = np.linspace(t_from, t_to, 200001)
    x = s[0] + ts * v[0]
    y = s[1] + ts * v[1]
    z = s[2] + ts * v[2]
    inside = (x * x + y * y < d * d) & (np.abs(z) < h)
    if not inside.any():
        return math.inf, -math.inf
    return ts[inside][0], ts[inside][-1]


def twin_side_green(dim, direction, max_k, tstep, own, traffic, det, t_horizon, kin):
    """Candidate loop written plainly (no recovery cylinder, B = 0), on the detection kernel.

    Loss of separation during the manoeuvre: inside the volume at a step time or entering it on the
    straight segment to the next step; the first such step makes it and every later candidate red.
    """
    lookahead = kin[K.KIN_LOOKAHEAD]

    turned = [tuple(own)]  # the integrated turn at the step times, each continued from the previous one

    def state(k):
        if dim != K.DIM_HDIR:
            return K.manoeuvre_state.py_func(dim, direction, k * tstep, own, kin)
        while len(turned) <= k:
            turned.append(twin_turn(turned[-1], tstep, direction * kin[K.KIN_TURN_RATE]))
        return turned[k]

    def interval(s, v, t0, t1):
        return wcv_taumod_interval.py_func(*s, *v, det[1], det[2], det[3], det[4], t0, t1)

    first_bad = max_k + 1
    for k in range(0, min(int(lookahead / tstep), max_k) + 1):
        t = k * tstep
        if t >= lookahead:
            break
        st = state(k)
        s = [st[i] - (traffic[i] + traffic[i + 3] * t) for i in range(3)]
        v = [st[i + 3] - traffic[i + 3] for i in range(3)]
        # inside the volume now, or entering it before the next step on the straight segment
        t_in, t_out = interval(s, v, 0.0, min(tstep, lookahead - t))
        if t_in <= t_out and (t_in == 0.0 or (t_in < t_out and not math.isclose(t_in, t_out, rel_tol=1e-12))):
            first_bad = k
            break
    green = np.zeros(max_k + 1, bool)
    for k in range(first_bad):
        t = k * tstep
        st = state(k)
        s = [st[i] - st[i + 3] * t - traffic[i] for i in range(3)]
        v = [st[i + 3] - traffic[i + 3] for i in range(3)]
        t_end = min(lookahead, t_horizon + t)
        if t > t_end:
            green[k] = True
            continue
        t_in, t_out = interval(s, v, t, t_end)
        green[k] = not (t_in < t_out and not math.isclose(t_in, t_out, rel_tol=1e-12))
    return green


RNG = np.random.default_rng(20261206)


def random_state(rng):
    heading = rng.uniform(0, 2 * math.pi)
    speed = rng.uniform(100, 400)
    return np.array(
        [
            rng.uniform(-20000.0, 20000.0),
            rng.uniform(-20000.0, 20000.0),
            rng.uniform(3000, 9000),
            speed * math.sin(heading),
            speed * math.cos(heading),
            rng.uniform(-30, 30),
        ]
    )


@pytest.mark.parametrize("seed", range(20))
def test_turn_kernel_matches_integrated_turn(seed):
    rng = np.random.default_rng(seed)
    own = random_state(rng)
    t = rng.uniform(0, 120)
    omega = rng.choice([-1, 1]) * math.radians(3.0)
    np.testing.assert_allclose(K._turn(own, t, omega), twin_turn(own, t, omega), rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("seed", range(20))
def test_speed_and_vertical_speed_kernels(seed):
    rng = np.random.default_rng(100 + seed)
    own = random_state(rng)
    a = rng.uniform(-8, 8)
    gs = math.hypot(own[3], own[4])
    t = rng.uniform(0, min(60.0, 0.9 * gs / abs(a)))  # the band range keeps the speed positive
    x, y, z, vx, vy, vz = K._speed_change(own, t, a)
    assert math.isclose(math.hypot(vx, vy), gs + a * t, rel_tol=1e-12)
    assert math.isclose(math.hypot(x - own[0], y - own[1]), abs(gs * t + 0.5 * a * t * t), rel_tol=1e-9)
    x, y, z, vx, vy, vz = K._vertical_speed_change(own, t, a)
    assert math.isclose(z, own[2] + own[5] * t + 0.5 * a * t * t, rel_tol=1e-12)
    assert math.isclose(vz, own[5] + a * t, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_level_off_kernel_is_a_consistent_bang_coast_bang_profile(seed):
    rng = np.random.default_rng(200 + seed)
    z0 = rng.uniform(2000, 8000)
    vz0 = rng.uniform(-15, 15)
    target = z0 + rng.uniform(-2000, 2000)
    rate, accel = KIN[K.KIN_VERTICAL_RATE], KIN[K.KIN_VS_ACCEL]
    t1, t2, t3, _, _ = K.level_off_times(z0, vz0, rate, target, accel)
    assert 0.0 <= t1 <= t2 + 1e-9 <= t3 + 2e-9
    own = np.array([0, 0, z0, 100.0, 0, vz0])
    ts = np.linspace(0.0, t3, 400)
    vz = np.array([K._level_off(own, t, rate, target, accel, t3 + 1.0)[5] for t in ts])
    # accelerations within +-accel, speeds within max(rate, |vz0|), at rest on the target at the end
    assert np.all(np.abs(np.diff(vz)) <= accel * (ts[1] - ts[0]) * (1 + 1e-9) + 1e-9)
    assert np.all(np.abs(vz) <= max(rate, abs(vz0)) + 1e-9)
    assert K._level_off(own, t3, rate, target, accel, t3 + 1.0)[2] == pytest.approx(target, abs=1e-6)
    assert abs(K._level_off(own, t3, rate, target, accel, t3 + 1.0)[5]) < 1e-6
    for t in (0.3 * t3, 0.7 * t3):
        z = K._level_off(own, t, rate, target, accel, t3 + 1.0)[2]
        assert z == pytest.approx(twin_altitude_from_speed(own, rate, target, accel, t3 + 1.0, t), abs=0.05)


@pytest.mark.parametrize("seed", range(20))
def test_cylinder_interval_matches_sampling(seed):
    rng = np.random.default_rng(300 + seed)
    s = [rng.uniform(-8000, 8000), rng.uniform(-8000, 8000), rng.uniform(-600, 600)]
    v = [rng.uniform(-300, 300), rng.uniform(-300, 300), rng.uniform(-20, 20)]
    got = K._cylinder_interval(*s, *v, 2000.0, 300.0, 0.0, 100.0)
    want = twin_cylinder_interval(s, v, 2000.0, 300.0, 0.0, 100.0)
    if math.isinf(want[0]):
        assert got[0] > got[1] or got[1] - got[0] < 1e-3
    else:
        np.testing.assert_allclose(got, want, atol=2e-3)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("dim", [K.DIM_HDIR, K.DIM_HS, K.DIM_VS])
def test_kinematic_side_kernel_matches_plain_loop(seed, dim):
    rng = np.random.default_rng(400 + seed)
    own = np.array([0.0, 0.0, 5000.0, 0.0, 200.0, 0.0])
    bearing = rng.uniform(-0.6, 0.6)
    dist = rng.uniform(8000, 25000)
    traffic = np.array(
        [
            dist * math.sin(bearing),
            dist * math.cos(bearing),
            5000 + rng.uniform(-300, 300),
            rng.uniform(-150, 150),
            -rng.uniform(100, 300),
            rng.uniform(-5, 5),
        ]
    )
    det = B.wcv_detector(4010.24, 450.0, 35.0, 0.0)
    tstep = {K.DIM_HDIR: 1 / 3, K.DIM_HS: 1.2861, K.DIM_VS: 0.2072}[dim]
    max_k = {K.DIM_HDIR: 180, K.DIM_HS: 90, K.DIM_VS: 60}[dim]  # the DO-365 band ranges
    for direction in (-1.0, 1.0):
        got = K.kinematic_side_green(dim, direction, max_k, tstep, own, traffic, det, det, False, 0.0, 180.0, KIN)
        want = twin_side_green(dim, direction, max_k, tstep, own, traffic, det, 180.0, KIN)
        # the integrated turn differs from the closed form in the last digits: allow one candidate at an edge
        assert np.sum(got != want) <= 1


# --- parity with the reference outputs --------------------------------------------------------------------


def parse_bands(cell):
    if not cell:
        return []
    return [(float(a), float(b), r) for a, b, r in (x.split(":") for x in cell.split("|"))]


def _edges(bands):
    return sorted({e for a, b, _ in bands for e in (a, b)})


def _region_at(bands, x):
    for a, b, r in bands:
        if a <= x <= b:
            return r
    return None


def bands_match(mine, ref, step, modulo=0.0):
    """Edges within one step of each other and equal regions at interior points."""
    tol = step * 1.0001

    def dist(x, e):
        d = abs(x - e)
        return min(d, modulo - d) if modulo else d

    em, er = _edges(mine), _edges(ref)
    if not all(any(dist(x, e) <= tol for e in em) for x in er):
        return False
    if not all(any(dist(x, e) <= tol for e in er) for x in em):
        return False
    every = em + er
    lo, hi = ref[0][0], ref[-1][1]
    for x in np.arange(lo, hi + 1e-9, step / 4):
        if all(dist(x, e) > tol for e in every) and _region_at(mine, x) != _region_at(ref, x):
            return False
    return True


def _reference_files():
    if not DAIDALUS.is_dir():
        return []
    return sorted(p.name for p in (DAIDALUS / "reference").glob("*.csv*"))


def _scenario_path(scenario):
    if scenario.endswith("_xyz"):
        return DAIDALUS / "scenarios" / (scenario[: -len("_xyz")] + ".xyz")
    path = DAIDALUS / "scenarios" / (scenario + ".daa")
    return path if path.exists() else NRC / (scenario + ".daa")


def _same_value(mine, ref_text, tol, modulo=0.0):
    ref = float(ref_text) if ref_text else math.nan  # empty cells: steps without traffic
    if math.isnan(mine) or math.isnan(ref):
        return math.isnan(mine) and math.isnan(ref)
    if math.isinf(mine) or math.isinf(ref):
        return mine == ref
    d = abs(mine - ref)
    return min(d, modulo - d) <= tol if modulo else d <= tol


def band_checks(mine, ref) -> dict[str, bool]:
    """Per band column of one row, whether encsim's value (`mine`, numbers as floats) agrees with the reference row."""
    checks = {}
    for d, unit in UNITS.items():
        modulo = 360.0 if d == "hdir" else 0.0
        up, low = B._SIDES[d]
        checks |= {
            f"{d}_bands": bands_match(
                parse_bands(mine[f"{d}_bands_{unit}"]), parse_bands(ref[f"{d}_bands_{unit}"]), STEPS[d], modulo
            ),
            f"{d}_region": mine[f"{d}_region"] == ref[f"{d}_region"],
            f"{d}_res": _same_value(mine[f"{d}_res_{up}_{unit}"], ref[f"{d}_res_{up}_{unit}"], STEPS[d], modulo)
            and _same_value(mine[f"{d}_res_{low}_{unit}"], ref[f"{d}_res_{low}_{unit}"], STEPS[d], modulo),
            f"{d}_pref": mine[f"{d}_pref"] == ref[f"{d}_pref"],
            f"{d}_rec_time": _same_value(mine[f"{d}_rec_time_s"], ref[f"{d}_rec_time_s"], 0.5),
            f"{d}_rec_nfactor": int(mine[f"{d}_rec_nfactor"]) == int(ref[f"{d}_rec_nfactor"]),
            f"ltm_{d}": _same_value(mine[f"ltm_{d}_s"], ref[f"ltm_{d}_s"], 0.5),
        }
    return checks


def replay_bands(reference_name, max_steps=None):
    """Replay one reference scenario through `bands.band_table`; per-column match counts and row count."""
    from encsim.avoidance.daidalus.config import read_daidalus_config
    from encsim.io.daa_file import DaaFile, read_daa

    base = reference_name.split(".csv")[0]
    scenario, conf = base.split("__")
    cfg = read_daidalus_config(DAIDALUS / "configurations" / (conf + ".conf"))
    daa = read_daa(_scenario_path(scenario))
    opener = gzip.open if reference_name.endswith(".gz") else open
    with opener(DAIDALUS / "reference" / reference_name, "rt") as f:
        by_key = {(round(float(r["time_s"]), 6), r["traffic"]): r for r in csv.DictReader(f)}
    if max_steps is not None:
        times = sorted(daa.rows["time_s"].unique())[:max_steps]
        daa = DaaFile(**{**daa.__dict__, "rows": daa.rows[daa.rows["time_s"].isin(times)].reset_index(drop=True)})
    keys = [(round(step.time_s, 6), name) for step in daa.steps() for name in (step.traffic_names or ("",))]
    levels = [int(by_key[k]["alert_level"]) if k in by_key and by_key[k]["alert_level"] else 0 for k in keys]
    table = B.band_table(daa, cfg, levels)
    counts: dict[str, int] = {}
    n = 0
    for key, mine in zip(keys, table.itertuples(index=False), strict=True):
        ref = by_key.get(key)
        if ref is None:
            continue
        n += 1
        for column, ok in band_checks(mine._asdict(), ref).items():
            counts[column] = counts.get(column, 0) + bool(ok)
    return counts, n


#: per column, the lowest fraction of matching rows measured in any one reference file (66 files plus the first
#: 300 steps of the 3 NRC files; 17,827 rows), rounded down to 3 decimals: 1.0 where every row matches, so any
#: regression there fails. Over all rows every column matches at 0.998 or better (docs/daidalus.md, "Guidance
#: bands", parity); the last gaps are described there (H1_SUM direction resolutions, 2 NRC speed rows, 1 P16 row).
FLOORS = {
    "alt_bands": 1.0,
    "alt_pref": 1.0,
    "alt_rec_nfactor": 1.0,
    "alt_rec_time": 1.0,
    "alt_region": 1.0,
    "alt_res": 1.0,
    "hdir_bands": 1.0,
    "hdir_pref": 1.0,
    "hdir_rec_nfactor": 1.0,
    "hdir_rec_time": 1.0,
    "hdir_region": 1.0,
    "hdir_res": 0.956,
    "hs_bands": 1.0,
    "hs_pref": 1.0,
    "hs_rec_nfactor": 1.0,
    "hs_rec_time": 1.0,
    "hs_region": 0.993,
    "hs_res": 0.993,
    "ltm_alt": 1.0,
    "ltm_hdir": 1.0,
    "ltm_hs": 1.0,
    "ltm_vs": 0.994,
    "vs_bands": 1.0,
    "vs_pref": 1.0,
    "vs_rec_nfactor": 1.0,
    "vs_rec_time": 1.0,
    "vs_region": 1.0,
    "vs_res": 1.0,
}


def _floor(column):
    return FLOORS[column]


def _assert_parity(reference_name, max_steps=None):
    counts, n = replay_bands(reference_name, max_steps)
    assert n > 0
    low = {k: round(v / n, 4) for k, v in counts.items() if v / n < _floor(k)}
    assert not low, f"{reference_name}: parity below the floor {low}"


#: ENCSIM_FULL_PARITY=1: every reference file (NRC files: first 300 steps), else `PARITY_SUBSET`
FULL_PARITY = os.environ.get("ENCSIM_FULL_PARITY", "") not in ("", "0")
#: NRC reference files are replayed up to this many steps (they are hours long at 10 Hz)
NRC_STEPS = 300
#: the default parity set: reference file -> (steps replayed, None = all; what it exercises). Each
#: feature once, about a minute in all; P05 (alerter 2) under DO_365B_no_SUM is compared in full by
#: `test_cli_daa_writes_the_reference_csv_with_its_band_columns`.
PARITY_SUBSET = {
    "P03__DO_365B_no_SUM.csv": (None, "alerter 1; recovery bands, recovery time and n-factor"),
    "P05__DO_365B_SUM.csv": (None, "alerter 2 (Phase II) under the SUM configuration"),
    "P06__DO_365B_no_SUM.csv": (None, "alerter 3 (non-cooperative)"),
    "P08__DO_365B_SUM.csv": (None, "SUM detectors with asymmetric position errors"),
    "P10__DO_365A_no_SUM.csv": (None, "two intruders, two alerters; the DO-365A configuration"),
    "P12__DO_365B_no_SUM.csv": (None, "an intruder turning into conflict"),
    "P13__DO_365B_no_SUM.csv": (None, "an intruder levelling off"),
    "P14__DO_365B_no_SUM.csv": (300, "10 Hz steps (the first 30 s)"),
    "P15__DO_365B_no_SUM.csv": (None, "wind: bands in heading and airspeed"),
    "H1_SUM__DO_365B_SUM.csv": (None, "geodetic positions with SUM errors"),
    "C1_0_120_W__DO_365B_no_SUM.csv": (None, "geodetic positions with wind"),
    "NRC_Intercept53__DO_365B_no_SUM.csv.gz": (100, "a recorded NRC intercept (first 100 steps)"),
}


def _parity_cases():
    files = _reference_files()
    if FULL_PARITY:
        return [(name, NRC_STEPS if name.startswith("NRC") else None) for name in files]
    return [(name, steps) for name, (steps, _) in PARITY_SUBSET.items() if name in files]


@pytest.mark.slow
@pytest.mark.parametrize(("reference_name", "max_steps"), _parity_cases())
def test_bands_parity_per_reference_file(reference_name, max_steps):
    _assert_parity(reference_name, max_steps)


def test_parity_subset_names_existing_reference_files():
    missing = sorted(set(PARITY_SUBSET) - set(_reference_files()))
    assert not missing or not _reference_files(), f"PARITY_SUBSET names files that are not references: {missing}"


def _typed_band_cells(row: dict) -> dict:
    """A written CSV row's band cells as `band_table` gives them: numbers as floats (empty = nan), text kept."""
    text_columns = {c for c in B.BAND_TABLE_COLUMNS if c.endswith(("_region", "_pref")) or "_bands_" in c}
    return {c: row[c] if c in text_columns else float(row[c] or "nan") for c in B.BAND_TABLE_COLUMNS}


def test_cli_daa_writes_the_reference_csv_with_its_band_columns(tmp_path):
    """`encsim daa` on P05 (DO_365B_no_SUM): non-band cells as the reference writes them, band cells within a step."""
    from click.testing import CliRunner

    from encsim.cli import main

    out = tmp_path / "p05.csv"
    args = ["daa", str(DAIDALUS / "scenarios" / "P05.daa"), "--config", "do365b", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    reference = DAIDALUS / "reference" / "P05__DO_365B_no_SUM.csv"
    assert out.read_text().splitlines()[0] == reference.read_text().splitlines()[0]
    ours, theirs = list(csv.DictReader(out.open())), list(csv.DictReader(reference.open()))
    assert len(ours) == len(theirs) == 151
    counts: dict[str, int] = {}
    for mine, ref in zip(ours, theirs, strict=True):
        core = [c for c in ref if c not in B.BAND_TABLE_COLUMNS]
        assert [mine[c] for c in core] == [ref[c] for c in core], f"t = {ref['time_s']}"
        for column, ok in band_checks(_typed_band_cells(mine), ref).items():
            counts[column] = counts.get(column, 0) + ok
    # every band column agrees on every row
    assert {c: n for c, n in counts.items() if n < len(theirs)} == {}


def test_level_one_only_encounter_has_the_documented_peripheral_altitude_bands():
    """P01 at t = 0 (README 'Observed behaviour'): NEAR 4400-5100 and MID 5100-5300 before any alert."""
    counts, n = replay_bands("P01__DO_365B_no_SUM.csv", max_steps=3)
    assert n == 3
    assert all(v == n for v in counts.values()), counts


def test_guidance_resolutions_recovery_and_ltm_on_a_short_window_of_a_recovery_encounter():
    """P03 up to its recovery (t = 0-69 s): each band column and last time to manoeuvre match at >= 90 % of steps."""
    counts, n = replay_bands("P03__DO_365B_no_SUM.csv", max_steps=70)
    assert n == 70
    low = {k: v for k, v in counts.items() if v < 0.9 * n}
    assert not low, low


@pytest.mark.parametrize("seed", range(15))
def test_sum_violation_now_is_a_conflict_starting_now(seed):
    """SUM 'violation now' twin: the SUM interval over the next second is a conflict starting at 0."""
    from encsim.avoidance.daidalus._detection import relative_sum_errors, wcv_taumod_sum_interval

    rng = np.random.default_rng(500 + seed)
    own = random_state(rng)
    traffic = own + np.array([rng.uniform(-2e4, 2e4), rng.uniform(-2e4, 2e4), rng.uniform(-900, 900), 0, 0, 0])
    traffic[3:] = [rng.uniform(-300, 300), rng.uniform(-300, 300), rng.uniform(-20, 20)]
    own_std = rng.uniform(0, 100, 8)
    traffic_std = rng.uniform(0, 300, 8)
    z = np.array([1.5, 0.5, 1.0, 30380.6, 0.75, 1.5])
    det = B.sum_detector(4010.24, 450.0, 35.0, 0.0, own_std, traffic_std, z)
    rel = own - traffic
    errors = relative_sum_errors.py_func(own_std, traffic_std, math.hypot(rel[0], rel[1]), z)
    t_in, t_out = wcv_taumod_sum_interval.py_func(*rel, 4010.24, 450.0, 35.0, 0.0, 0.0, 1.0, *errors)
    want = t_in < t_out and not math.isclose(t_in, t_out, rel_tol=1e-11) and abs(t_in) < 1e-12
    assert K.violation_now(det, own, traffic) == want


@pytest.mark.parametrize("seed", range(15))
def test_sum_loss_at_a_step_time_is_predicted_from_the_origin(seed):
    """SUM loss twin: at step time t, a conflict over [t, t + 1] that starts at t, predicted from the straight-line
    origin of the manoeuvred state (position errors grow with the velocity error, so this is not the state at t
    checked over [0, 1]); without errors, simply inside the volume at t."""
    from encsim.avoidance.daidalus._detection import relative_sum_errors, wcv_taumod_sum_interval

    rng = np.random.default_rng(700 + seed)
    own = random_state(rng)
    traffic = own + np.array([rng.uniform(-2e4, 2e4), rng.uniform(-2e4, 2e4), rng.uniform(-900, 900), 0, 0, 0])
    traffic[3:] = [rng.uniform(-300, 300), rng.uniform(-300, 300), rng.uniform(-20, 20)]
    t = rng.uniform(0, 60)
    z = np.array([1.5, 0.5, 1.0, 30380.6, 0.75, 1.5])
    det = B.sum_detector(4010.24, 450.0, 35.0, 0.0, rng.uniform(0, 100, 8), rng.uniform(0, 300, 8), z)
    x, y, zz = own[:3] + t * own[3:]
    origin = own - traffic  # the ownship's straight-line origin relative to the traffic now
    errors = relative_sum_errors.py_func(det[9:17], det[17:25], math.hypot(origin[0], origin[1]), z)
    t_in, t_out = wcv_taumod_sum_interval.py_func(*origin, 4010.24, 450.0, 35.0, 0.0, t, t + 1.0, *errors)
    want = t_in < t_out and not math.isclose(t_in, t_out, rel_tol=1e-11) and math.isclose(t_in, t, abs_tol=1e-12)
    assert K._loss_at(det, x, y, zz, *own[3:], traffic, t, 180.0) == want
    plain = B.wcv_detector(4010.24, 450.0, 35.0, 0.0)
    rel_t = own - traffic + np.r_[t * (own[3:] - traffic[3:]), 0, 0, 0]
    inside = math.hypot(rel_t[0], rel_t[1]) <= 4010.24 and abs(rel_t[2]) <= 450.0
    if inside:
        assert K._loss_at(plain, x, y, zz, *own[3:], traffic, t, 180.0)
