"""Detection on hand-built geometries derived on paper, and time-series metrics against a twin."""

from __future__ import annotations

import math

import numpy as np
import pytest

from encsim.metrics.detection import (
    DO365_DWC,
    NMAC,
    NONCOOP_DWC,
    WellClearVolume,
    detect_cylinder,
    detect_well_clear,
    separation_metrics,
    well_clear_preset,
)

OWN_POS, OWN_VEL = [0.0, 0.0, 1000.0], [0.0, 200.0, 0.0]  # east, north, up; flying north at 200 ft/s


def tau_entry_range(closure_fps, dmod=4000.0, tau=35.0):
    """Range at which tau_mod = (r^2 - D^2) / (r closure) reaches tau (paper: solve r^2 - tau c r - D^2 = 0)."""
    c = tau * closure_fps
    return (c + math.sqrt(c * c + 4 * dmod * dmod)) / 2


@pytest.mark.parametrize("offset_ft", [0.0, 1000.0, 3000.0, 3999.0])
def test_head_on_with_offsets(offset_ft):
    d = detect_well_clear(OWN_POS, OWN_VEL, [offset_ft, 20000.0, 1000.0], [0.0, -200.0, 0.0])
    # along-track closure 400 ft/s; tau_mod uses the full range sqrt(offset^2 + along^2)
    along_entry = math.sqrt(tau_entry_range_offset(offset_ft) ** 2 - offset_ft**2)
    assert float(d.t_in) == pytest.approx((20000 - along_entry) / 400, abs=1e-6)
    assert float(d.t_out) == pytest.approx((20000 + math.sqrt(4000**2 - offset_ft**2)) / 400, abs=1e-6)
    assert float(d.tcpa_s) == pytest.approx(50.0) and float(d.dcpa_ft) == pytest.approx(offset_ft, abs=1e-6)


def tau_entry_range_offset(offset):
    """Range where (r^2 - D^2)/(-s.v) = 35 s with s.v = -along * 400 and along = sqrt(r^2 - offset^2)."""
    # solve r^2 - D^2 = 35 * 400 * sqrt(r^2 - offset^2) by bisection (independent of the code's quadratic)
    lo, hi = 4000.0, 40000.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid**2 - 4000.0**2 - 35 * 400 * math.sqrt(max(mid**2 - offset**2, 0)) < 0:
            lo = mid
        else:
            hi = mid
    return lo


def test_head_on_entry_matches_the_textbook_range():
    d = detect_well_clear(OWN_POS, OWN_VEL, [0.0, 20000.0, 1000.0], [0.0, -200.0, 0.0])
    assert float(d.t_in) == pytest.approx((20000 - tau_entry_range(400.0)) / 400, abs=1e-9)
    assert float(d.tau_mod_s) == pytest.approx((20000**2 - 4000**2) / (20000 * 400))


def test_offset_beyond_the_hmd_filter_is_no_conflict():
    d = detect_well_clear(OWN_POS, OWN_VEL, [4500.0, 20000.0, 1000.0], [0.0, -200.0, 0.0])
    assert not d.conflict
    narrow = WellClearVolume("HMD* 2000", 4000.0, 450.0, 35.0, 2000.0)
    filtered = detect_well_clear(OWN_POS, OWN_VEL, [3000.0, 20000.0, 1000.0], [0.0, -200.0, 0.0], narrow)
    # the tau region is filtered out; only the 4000-ft circle remains
    assert float(filtered.t_in) == pytest.approx((20000 - math.sqrt(4000**2 - 3000**2)) / 400, abs=1e-6)


def test_vertical_only_closure_with_no_horizontal_closure():
    # intruder 200 ft east, same velocity, 2000 ft above and descending at 20 ft/s relative
    d = detect_well_clear(OWN_POS, OWN_VEL, [200.0, 0.0, 3000.0], [0.0, 200.0, -20.0])
    assert float(d.t_in) == pytest.approx((2000 - 450) / 20, abs=1e-9)
    assert float(d.t_out) == pytest.approx((2000 + 450) / 20, abs=1e-9)
    assert not d.violation_now


def test_crossing_with_a_vertical_miss():
    # 90-degree crossing meeting at the same point, but 600 ft above: no LoWC (> 450 ft), no NMAC
    d = detect_well_clear(OWN_POS, OWN_VEL, [10000.0, 10000.0, 1600.0], [-200.0, 0.0, 0.0])
    assert (
        not d.conflict
        and not detect_cylinder(OWN_POS, OWN_VEL, [10000.0, 10000.0, 1600.0], [-200.0, 0.0, 0.0]).conflict
    )
    level = detect_well_clear(OWN_POS, OWN_VEL, [10000.0, 10000.0, 1400.0], [-200.0, 0.0, 0.0])
    assert level.conflict  # 400 ft is inside 450 ft


def test_diverging_inside_dmod():
    d = detect_well_clear(OWN_POS, OWN_VEL, [0.0, -1000.0, 1000.0], [0.0, 100.0, 0.0])  # opening at 100 ft/s
    assert d.violation_now and float(d.t_in) == 0.0
    assert float(d.t_out) == pytest.approx(3000 / 100, abs=1e-9)
    assert math.isnan(float(d.tau_mod_s))


def test_parallel_traffic():
    inside = detect_well_clear(OWN_POS, OWN_VEL, [3000.0, 0.0, 1200.0], OWN_VEL)
    assert float(inside.t_in) == 0.0 and float(inside.t_out) == 180.0
    outside = detect_well_clear(OWN_POS, OWN_VEL, [5000.0, 0.0, 1000.0], OWN_VEL)
    assert not outside.conflict


def test_nmac_cylinder_and_presets():
    d = detect_cylinder(OWN_POS, OWN_VEL, [0.0, 20000.0, 1050.0], [0.0, -200.0, 0.0], NMAC)
    assert float(d.t_in) == pytest.approx((20000 - 500) / 400) and float(d.t_out) == pytest.approx((20000 + 500) / 400)
    noncoop = detect_well_clear(OWN_POS, OWN_VEL, [0.0, 20000.0, 1000.0], [0.0, -200.0, 0.0], NONCOOP_DWC)
    assert float(noncoop.t_in) == pytest.approx((20000 - 2200) / 400)  # no tau
    assert well_clear_preset("daidalus").dthr_ft == pytest.approx(4010.24, abs=0.01)
    with pytest.raises(ValueError, match="unknown well-clear preset"):
        well_clear_preset("phase3")


def test_vectorised_over_batches():
    rng = np.random.default_rng(3)
    own = np.column_stack([np.zeros(50), np.zeros(50), np.full(50, 1000.0)])
    intr = np.column_stack([rng.uniform(-5000, 5000, 50), rng.uniform(5000, 30000, 50), rng.uniform(500, 1500, 50)])
    d = detect_well_clear(own, np.tile(OWN_VEL, (50, 1)), intr, np.tile([0.0, -200.0, 0.0], (50, 1)))
    for k in range(50):
        single = detect_well_clear(own[k], OWN_VEL, intr[k], [0.0, -200.0, 0.0])
        assert np.isnan(single.t_in) == np.isnan(d.t_in[k])
        if not np.isnan(single.t_in):
            assert single.t_in == pytest.approx(d.t_in[k])


def twin_metrics(t, own, intr, volume=DO365_DWC):
    """Plain loops over samples of one encounter."""
    best, tca, nmac, lowc_times = math.inf, 0, False, []
    for k in range(len(t)):
        dx, dy, dz = (
            intr["east_ft"][k] - own["east_ft"][k],
            intr["north_ft"][k] - own["north_ft"][k],
            intr["up_ft"][k] - own["up_ft"][k],
        )
        r = math.hypot(dx, dy)
        if r < best:
            best, tca = r, k
        nmac |= r < 500 and abs(dz) < 100
        vo = [
            own["speed_fps"][k] * math.cos(own["pitch_rad"][k]) * f(own["heading_rad"][k]) for f in (math.sin, math.cos)
        ]
        vi = [
            intr["speed_fps"][k] * math.cos(intr["pitch_rad"][k]) * f(intr["heading_rad"][k])
            for f in (math.sin, math.cos)
        ]
        dvx, dvy = vi[0] - vo[0], vi[1] - vo[1]
        sv = dx * dvx + dy * dvy
        horizontal = r <= volume.dthr_ft
        if sv < 0:
            tau = (volume.dthr_ft**2 - r**2) / sv
            dcpa = math.sqrt(max(r**2 - sv**2 / (dvx**2 + dvy**2), 0))
            horizontal |= 0 <= tau <= volume.tthr_s and dcpa <= volume.hmd_ft
        if horizontal and abs(dz) <= volume.zthr_ft:
            lowc_times.append(t[k])
    dz_tca = intr["up_ft"][tca] - own["up_ft"][tca]
    return best, dz_tca, t[tca], nmac, lowc_times


def test_time_series_metrics_agree_with_plain_loops():
    rng = np.random.default_rng(9)
    t = np.arange(0, 60.01, 0.1)
    n = 30
    own = {
        "east_ft": np.zeros((n, t.size)),
        "north_ft": 200.0 * t[None, :].repeat(n, 0),
        "up_ft": np.full((n, t.size), 1000.0),
        "speed_fps": np.full((n, t.size), 200.0),
        "heading_rad": np.zeros((n, t.size)),
        "pitch_rad": np.zeros((n, t.size)),
    }
    offsets = rng.uniform(-1500, 1500, n)
    heights = rng.uniform(-100, 500, n)
    intr = {
        "east_ft": offsets[:, None] + 0 * t,
        "north_ft": 12000.0 - 150.0 * t[None, :].repeat(n, 0),
        "up_ft": 1000.0 + heights[:, None] - 5.0 * t,
        "speed_fps": np.full((n, t.size), 150.0),
        "heading_rad": np.full((n, t.size), math.pi),
        "pitch_rad": np.full((n, t.size), math.asin(-5 / 150)),
    }
    metrics = separation_metrics(t, own, intr)
    for k in range(n):
        hmd, vmd_signed, tca, nmac, lowc_times = twin_metrics(
            t, {a: b[k] for a, b in own.items()}, {a: b[k] for a, b in intr.items()}
        )
        assert metrics.hmd_ft[k] == pytest.approx(hmd) and metrics.vmd_signed_ft[k] == pytest.approx(vmd_signed)
        assert metrics.tca_s[k] == pytest.approx(tca) and bool(metrics.nmac[k]) == nmac
        assert bool(metrics.lowc[k]) == bool(lowc_times)
        if lowc_times:
            assert metrics.t_lowc_entry_s[k] == pytest.approx(lowc_times[0])
            assert metrics.lowc_duration_s[k] == pytest.approx(0.1 * len(lowc_times))
    assert metrics.nmac.any() and (~metrics.nmac).any() and metrics.lowc.any()
