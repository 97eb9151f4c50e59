"""DAIDALUS-style kinematic guidance bands: direction, horizontal speed, vertical speed and altitude.

`GuidanceBands` computes, step by step, what DAIDALUS v2.0.4 reports for the ownship: per
dimension the bands with their regions (NONE, FAR, MID, NEAR, RECOVERY), the region of the
current value, the resolutions on both sides, the preferred direction, recovery information,
and per intruder the last time to manoeuvre. It keeps the history the display logic needs
(M-of-N of band colours, bands persistence, resolution and preferred-direction persistence), so
feed it every step in order.

Sources of each behaviour: docs/daidalus.md, section "Guidance bands".
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ...units import FPS_PER_FPM, FPS_PER_KT, FT_PER_NM, M_PER_FT, RAD_PER_DEG, STANDARD_GRAVITY_FPS2
from . import _bands as K

#: region orders (DAIDALUS's order of regions: RECOVERY above every conflict region)
NONE, FAR, MID, NEAR, RECOVERY = 0, 1, 2, 3, 4
REGION_NAMES = ("NONE", "FAR", "MID", "NEAR", "RECOVERY")
REGION_ORDER = {name: order for order, name in enumerate(REGION_NAMES)}

DIMENSIONS = ("hdir", "hs", "vs", "alt")


@dataclass(frozen=True)
class BandsSettings:
    """The band, kinematic, recovery and persistence parameters (DO-365 configuration defaults)."""

    lookahead_s: float = 180.0
    hdir_step_deg: float = 1.0
    hs_step_kt: float = 5.0
    vs_step_fpm: float = 100.0
    alt_step_ft: float = 100.0
    min_hs_kt: float = 10.0
    max_hs_kt: float = 700.0
    min_vs_fpm: float = -6000.0
    max_vs_fpm: float = 6000.0
    min_alt_ft: float = 100.0
    max_alt_ft: float = 50000.0
    turn_rate_deg_s: float = 3.0
    horizontal_accel_mps2: float = 2.0
    vertical_accel_g: float = 0.25
    vertical_rate_fpm: float = 500.0
    min_horizontal_recovery_nmi: float = 0.66
    min_vertical_recovery_ft: float = 450.0
    recovery_hdir: bool = True
    recovery_hs: bool = True
    recovery_vs: bool = True
    recovery_alt: bool = True
    ca_bands: bool = True
    ca_factor: float = 0.1
    horizontal_nmac_ft: float = 500.0
    vertical_nmac_ft: float = 100.0
    recovery_stability_time_s: float = 3.0
    hysteresis_time_s: float = 5.0
    persistence_time_s: float = 4.0
    bands_persistence: bool = True
    persistence_preferred_hdir_deg: float = 15.0
    persistence_preferred_hs_kt: float = 100.0
    persistence_preferred_vs_fpm: float = 250.0
    persistence_preferred_alt_ft: float = 250.0
    alerting_m: int = 2
    alerting_n: int = 4
    corrective_region: int = MID

    def kinematics(self) -> np.ndarray:
        """The kernels' kinematic vector (turn rate rad/s, accelerations ft/s^2, vertical rate ft/s, lookahead s)."""
        kin = np.empty(5)
        kin[K.KIN_TURN_RATE] = self.turn_rate_deg_s * RAD_PER_DEG
        kin[K.KIN_HS_ACCEL] = self.horizontal_accel_mps2 / M_PER_FT
        kin[K.KIN_VS_ACCEL] = self.vertical_accel_g * STANDARD_GRAVITY_FPS2
        kin[K.KIN_VERTICAL_RATE] = self.vertical_rate_fpm * FPS_PER_FPM
        kin[K.KIN_LOOKAHEAD] = self.lookahead_s
        return kin


@dataclass(frozen=True)
class AlertLevel:
    """One alert level of an intruder's alerter: its band region, detector and alerting times."""

    region: int
    detector: np.ndarray  # the kernels' detector vector (kind, DTHR, ZTHR, TTHR, TCOA, 4 SUM errors)
    alerting_time_s: float
    early_alerting_time_s: float


@dataclass(frozen=True)
class Traffic:
    """An intruder: straight state in the band frame (ft, ft/s) and its alerter's levels (level 1 first)."""

    name: str
    state: np.ndarray
    levels: tuple[AlertLevel, ...]
    displayed_level: int = 0  # the alert level DAIDALUS last reported for it (keeps the early alerting time)

    def level_for_region(self, region: int) -> int:
        """1-based alert level whose band region is `region`, 0 if none."""
        for i, level in enumerate(self.levels):
            if level.region == region:
                return i + 1
        return 0


def wcv_detector(dthr_ft, zthr_ft, tthr_s, tcoa_s, errors=(0.0, 0.0, 0.0, 0.0)) -> np.ndarray:
    """Detector vector of a WCV_TAUMOD volume (SUM with these fixed errors when any is nonzero)."""
    det = np.zeros(K.DET_SIZE)
    det[:9] = (K.DET_WCV, dthr_ft, zthr_ft, tthr_s, tcoa_s, *errors)
    return det


def sum_detector(dthr_ft, zthr_ft, tthr_s, tcoa_s, own_std, traffic_std, z_scores) -> np.ndarray:
    """Detector vector of WCV_TAUMOD_SUM: errors from the 8 std terms of each aircraft (ft, ft/s) and the z-scores.

    The relative errors are recomputed for every evaluated ownship position (the velocity z-score
    depends on the horizontal range).
    """
    det = np.zeros(K.DET_SIZE)
    det[:5] = (K.DET_WCV_SUM, dthr_ft, zthr_ft, tthr_s, tcoa_s)
    det[9:17] = own_std
    det[17:25] = traffic_std
    det[25:31] = z_scores
    return det


def cylinder_detector(d_ft, h_ft) -> np.ndarray:
    """Detector vector of a cylinder (range < d and |dz| < h)."""
    det = np.zeros(K.DET_SIZE)
    det[:3] = (K.DET_CYLINDER, d_ft, h_ft)
    return det


# --- the value grid of one dimension -------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """Candidate values of one dimension: own + k * step for k = -n_down..n_up (absolute grid for altitude)."""

    dim: int
    own: float  # current value in display units (deg, kt, fpm, ft)
    step: float
    lo: float  # display range
    hi: float
    modulo: float  # 360 for direction, else 0
    n_down: int
    n_up: int
    tstep: float  # manoeuvre seconds per step (kinematic dimensions)

    def values(self) -> np.ndarray:
        if self.dim == K.DIM_ALT:
            return self.lo + self.step * np.arange(self.n_up + 1)
        return self.own + self.step * np.arange(-self.n_down, self.n_up + 1)


def _ceil_steps(span, step):
    return math.ceil(span / step - 1e-9)


def _grid(dim, own_state, settings: BandsSettings, kin) -> _Grid:
    vx, vy, vz = own_state[3], own_state[4], own_state[5]
    if dim == K.DIM_HDIR:
        own = math.degrees(math.atan2(vx, vy)) % 360.0
        step = settings.hdir_step_deg
        n = _ceil_steps(180.0, step)
        if n * step > 180.0 + 1e-9:
            n -= 1
        return _Grid(dim, own, step, 0.0, 360.0, 360.0, n, n, step * RAD_PER_DEG / kin[K.KIN_TURN_RATE])
    if dim == K.DIM_HS:
        own = math.hypot(vx, vy) / FPS_PER_KT
        step = settings.hs_step_kt
        lo, hi = settings.min_hs_kt, settings.max_hs_kt
        tstep = step * FPS_PER_KT / kin[K.KIN_HS_ACCEL]
    elif dim == K.DIM_VS:
        own = vz / FPS_PER_FPM
        step = settings.vs_step_fpm
        lo, hi = settings.min_vs_fpm, settings.max_vs_fpm
        tstep = step * FPS_PER_FPM / kin[K.KIN_VS_ACCEL]
    else:
        own = own_state[2]
        step = settings.alt_step_ft
        lo, hi = settings.min_alt_ft, settings.max_alt_ft
        return _Grid(dim, own, step, lo, hi, 0.0, 0, math.floor((hi - lo) / step) + 1, 1.0)
    return _Grid(dim, own, step, lo, hi, 0.0, _ceil_steps(own - lo, step), _ceil_steps(hi - own, step), tstep)


def _green(grid: _Grid, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments=True) -> np.ndarray:
    """Conflict-free flags over the grid for one intruder and detector."""
    if grid.dim == K.DIM_ALT:
        return K.altitude_green(grid.lo, grid.step, grid.n_up + 1, own, traffic, det, rdet, use_rec, b, t_horizon, kin)
    left = K.kinematic_side_green(
        grid.dim, -1.0, grid.n_down, grid.tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments
    )
    right = K.kinematic_side_green(
        grid.dim, 1.0, grid.n_up, grid.tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments
    )
    return np.concatenate((left[:0:-1], right))


def _any_red(grid: _Grid, own, traffic, det, t_horizon, kin) -> bool:
    if grid.dim == K.DIM_ALT:
        return K.altitude_any_red(grid.lo, grid.step, grid.n_up + 1, own, traffic, det, t_horizon, kin)
    return K.kinematic_side_any_red(
        grid.dim, -1.0, grid.n_down, grid.tstep, own, traffic, det, t_horizon, kin
    ) or K.kinematic_side_any_red(grid.dim, 1.0, grid.n_up, grid.tstep, own, traffic, det, t_horizon, kin)


# --- interval sets ---------------------------------------------------------------------------------------


def _runs(green: np.ndarray):
    """Maximal runs (first, last) of True, each at least two long (an isolated value makes no band)."""
    out = []
    n = len(green)
    i = 0
    while i < n:
        if green[i]:
            j = i
            while j + 1 < n and green[j + 1]:
                j += 1
            if j > i:
                out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def _none_set(grid: _Grid, green: np.ndarray):
    """Conflict-free intervals (absolute values within the display range) of a green grid."""
    values = grid.values()
    out = []
    for i, j in _runs(green):
        lo, hi = values[i], values[j]
        if grid.modulo:
            out.extend(_mod_pieces(lo, hi, grid.modulo))
        else:
            lo, hi = max(lo, grid.lo), min(hi, grid.hi)
            if lo < hi:
                out.append((lo, hi))
    return _union(out)


def _mod_pieces(lo, hi, mod):
    if hi - lo >= mod - 1e-9:
        return [(0.0, mod)]
    a, b = lo % mod, hi % mod
    if abs(a - b) < 1e-9:
        return []
    if a < b:
        return [(a, b)]
    return [(a, mod), (0.0, b)]


def _union(intervals):
    out = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1e-9:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


# --- colour fields: sorted segments (lo, hi, region) covering the display range ---------------------------


def _paint(field_, lo, hi, region, only_raise=True):
    """Colour [lo, hi] with region (raising, or overwriting when only_raise is False)."""
    out = []
    for a, b, r in field_:
        if b <= lo or a >= hi:
            out.append((a, b, r))
            continue
        if a < lo:
            out.append((a, lo, r))
        new = max(r, region) if only_raise else region
        out.append((max(a, lo), min(b, hi), new))
        if b > hi:
            out.append((hi, b, r))
    return _merge(out)


def _merge(field_):
    out = []
    for a, b, r in field_:
        if b - a <= 1e-9:
            continue
        if out and out[-1][2] == r and abs(out[-1][1] - a) <= 1e-9:
            out[-1] = (out[-1][0], b, r)
        else:
            out.append((a, b, r))
    return out


def _complement(none_set, lo, hi):
    out = []
    cur = lo
    for a, b in none_set:
        if a > cur:
            out.append((cur, a))
        cur = max(cur, b)
    if cur < hi:
        out.append((cur, hi))
    return out


def _region_at(field_, x):
    for a, b, r in field_:
        if a - 1e-9 <= x <= b + 1e-9:
            return r
    return -1


def _breakpoints(fields):
    pts = set()
    for f in fields:
        for a, b, _ in f:
            pts.add(round(a, 9))
            pts.add(round(b, 9))
    return sorted(pts)


def m_of_n_field(history, current, m, first_counts_twice):
    """Pointwise M-of-N of region orders: the highest region held (or exceeded) in >= m of the last n fields."""
    fields = [*history, current]
    if first_counts_twice:
        fields = [fields[0], *fields]
    pts = _breakpoints(fields)
    out = []
    for a, b in itertools.pairwise(pts):
        mid = 0.5 * (a + b)
        orders = [_region_at(f, mid) for f in fields]
        shown = -1
        for level in range(max(orders), -1, -1):
            if sum(o >= level for o in orders) >= m:
                shown = level
                break
        out.append((a, b, shown if shown >= 0 else current_region(current, mid)))
    return _merge(out)


def current_region(field_, x):
    return _region_at(field_, x)


# --- per-dimension state ---------------------------------------------------------------------------------


@dataclass
class _DimensionMemory:
    """What one dimension remembers between steps (M-of-N of colours, persistence, resolutions)."""

    last_time: float = math.nan
    raw_history: list = field(default_factory=list)
    steps_since_reset: int = 0
    # bands persistence
    conflict_region: int = -1
    conflict_lo: float = math.nan
    conflict_hi: float = math.nan
    time_of_conflict_region: float = math.nan
    # resolutions and preferred direction
    preferred_up: bool = False
    time_of_dir: float = math.nan
    res_low: float = math.nan
    res_up: float = math.nan
    nfactor_low: int = 0
    nfactor_up: int = 0

    def reset(self):
        self.__init__()


@dataclass
class DimensionBands:
    """One dimension's guidance at one step."""

    own_value: float
    bands: list  # [(lo, hi, region order)]
    region: int
    res_low: float
    res_up: float
    preferred_up: bool
    recovery_time_s: float
    recovery_nfactor: int

    def bands_text(self) -> str:
        return "|".join(f"{_fmt(a)}:{_fmt(b)}:{REGION_NAMES[r]}" for a, b, r in self.bands)


def _fmt(x):
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class GuidanceBands:
    """Step-by-step DAIDALUS-style guidance bands for one ownship (keeps the display history)."""

    def __init__(self, settings: BandsSettings | None = None):
        self.settings = settings or BandsSettings()
        self._kin = self.settings.kinematics()
        self._memory = {d: _DimensionMemory() for d in DIMENSIONS}

    def step(self, time_s: float, own_state, traffic: list[Traffic]) -> dict[str, DimensionBands]:
        """Bands of every dimension at time_s (own_state and traffic states in the band frame, ft and ft/s)."""
        own = np.asarray(own_state, dtype=float)
        out = {}
        for dim_index, name in enumerate(DIMENSIONS):
            out[name] = self._dimension(dim_index, name, time_s, own, traffic)
        return out

    def last_time_to_manoeuvre(self, own_state, ac: Traffic) -> dict[str, float]:
        """Per dimension, the latest time (s from now) at which a manoeuvre still avoids the corrective volume.

        nan when the corrective detector predicts no conflict within the lookahead, -inf when it is
        already too late. Bisection (to 0.5 s) on the time at which both aircraft, flown straight
        until then, are either in violation or have every candidate of the dimension in conflict.
        """
        s = self.settings
        own = np.asarray(own_state, dtype=float)
        level = 0
        for i, spec in enumerate(ac.levels):
            if FAR <= spec.region <= NEAR and spec.region >= s.corrective_region:
                level = i + 1
                break
        out = {name: math.nan for name in DIMENSIONS}
        if level == 0:
            return out
        det = ac.levels[level - 1].detector
        t_in, t_out = K.conflict_interval(det, own, ac.state, 0.0, s.lookahead_s)
        if not (t_in < t_out and not math.isclose(t_in, t_out)):
            return out
        for dim, name in enumerate(DIMENSIONS):
            if t_in == 0.0:
                out[name] = -math.inf
                continue
            red_t, green_t = t_in, 0.0
            pivot = green_t
            while red_t - green_t > 0.5:
                own_p = own.copy()
                own_p[:3] += pivot * own[3:]
                ac_p = ac.state.copy()
                ac_p[:3] += pivot * ac.state[3:]
                if K.violation_now(det, own_p, ac_p) or self._all_red(dim, own_p, ac_p, det):
                    red_t = pivot
                else:
                    green_t = pivot
                pivot = 0.5 * (red_t + green_t)
            out[name] = -math.inf if green_t == 0.0 else green_t
        return out

    def _all_red(self, dim, own, traffic_state, det) -> bool:
        grid = _grid(dim, own, self.settings, self._kin)
        # losses between step times count only with nonzero SUM errors: each choice reproduces the references
        uncertain = det[0] == K.DET_WCV_SUM and bool(np.any(det[9:25] != 0.0))
        green = _green(
            grid, own, traffic_state, det, K_DUMMY, False, 0.0, self.settings.lookahead_s, self._kin, segments=uncertain
        )
        return not green.any()

    # -- one dimension --

    def _aircraft_for_region(self, grid, own, traffic, region):
        """(traffic index, detector, time horizon) of the intruders that colour this region's bands."""
        s = self.settings
        listed = []
        for idx, ac in enumerate(traffic):
            level = ac.level_for_region(region)
            if level == 0:
                continue
            spec = ac.levels[level - 1]
            alerting = min(s.lookahead_s, spec.alerting_time_s)
            if ac.displayed_level == level:
                alerting_for_conflict = min(s.lookahead_s, spec.early_alerting_time_s)
            else:
                alerting_for_conflict = alerting
            t_in, t_out = K.conflict_interval(spec.detector, own, ac.state, 0.0, s.lookahead_s)
            conflict = t_in < t_out and not math.isclose(t_in, t_out)
            if conflict and t_in < alerting_for_conflict:
                listed.append((idx, spec.detector, s.lookahead_s))
            if not (conflict and t_in < alerting) and _any_red(grid, own, ac.state, spec.detector, alerting, self._kin):
                listed.append((idx, spec.detector, alerting))
        return listed

    def _green_of(self, grid, own, traffic, listed, det_override=None, rdet=None, b=0.0):
        n = (grid.n_up + 1) if grid.dim == K.DIM_ALT else grid.n_down + grid.n_up + 1
        green = np.ones(n, dtype=np.bool_)
        dummy = K_DUMMY
        for idx, det, horizon in listed:
            use_det = det if det_override is None else det_override
            if b > horizon:
                # past this intruder's horizon only the recovery cylinder counts, from 0 to the horizon
                if rdet is None:
                    continue
                g = _green(grid, own, traffic[idx].state, rdet, dummy, False, 0.0, horizon, self._kin)
            else:
                g = _green(
                    grid,
                    own,
                    traffic[idx].state,
                    use_det,
                    dummy if rdet is None else rdet,
                    rdet is not None,
                    b,
                    horizon,
                    self._kin,
                )
            green &= g
            if not green.any():
                break
        return green

    def _recovery(self, grid, own, traffic, listed):
        """Recovery bands: (green, recovery time, n-factor); green all False with time -inf if none."""
        s = self.settings
        nmac = cylinder_detector(s.horizontal_nmac_ft, s.vertical_nmac_ft)
        green = self._green_of(grid, own, traffic, listed, det_override=nmac)
        if not green.any():
            return green, -math.inf, 0
        d = s.min_horizontal_recovery_nmi * FT_PER_NM
        h = s.min_vertical_recovery_ft
        nfactor = 0
        factor = 1.0 - s.ca_factor
        t_look = s.lookahead_s
        while d > s.horizontal_nmac_ft or h > s.vertical_nmac_ft:
            cyl = cylinder_detector(d, h)
            green = self._green_of(grid, own, traffic, listed, det_override=cyl)
            solid = not green.any()
            if solid and not s.ca_bands:
                return green, -math.inf, nfactor
            if not solid:
                red_t, green_t = 0.0, t_look + 1.0
                pivot = green_t - 1.0
                while green_t - red_t > 0.5:
                    g = self._green_of(grid, own, traffic, listed, rdet=cyl, b=pivot)
                    if g.any():
                        green_t = pivot
                    else:
                        red_t = pivot
                    pivot = 0.5 * (red_t + green_t)
                rec_time = min(t_look, green_t + s.recovery_stability_time_s) if green_t <= t_look else red_t
                green = self._green_of(grid, own, traffic, listed, rdet=cyl, b=rec_time)
                if green.any():
                    return green, rec_time, nfactor
                if not s.ca_bands:
                    return green, -math.inf, nfactor
            nfactor += 1
            d = max(s.horizontal_nmac_ft, d * factor)
            h = max(s.vertical_nmac_ft, h * factor)
        return np.zeros_like(green), -math.inf, nfactor

    def _raw_colours(self, grid, own, traffic):
        """Raw colour field, recovery flag, recovery time and n-factor (before the display filters)."""
        s = self.settings
        recovery_enabled = (s.recovery_hdir, s.recovery_hs, s.recovery_vs, s.recovery_alt)[grid.dim]
        field_ = [(grid.lo, grid.hi, NONE)]
        rec_time, nfactor, recovery = math.nan, -1, False
        for region in (NEAR, MID, FAR):
            if not any(ac.level_for_region(region) for ac in traffic):
                continue
            listed = self._aircraft_for_region(grid, own, traffic, region)
            green = self._green_of(grid, own, traffic, listed)
            none_set = _none_set(grid, green) if green.any() else []
            for a, b in _complement(none_set, grid.lo, grid.hi):
                field_ = _paint(field_, a, b, region)
            if none_set:
                continue
            if recovery_enabled and region >= s.corrective_region:
                corrective_list = self._aircraft_for_region(grid, own, traffic, s.corrective_region)
                rgreen, rec_time, nfactor = self._recovery(grid, own, traffic, corrective_list)
                rec_set = _none_set(grid, rgreen) if rgreen.any() else []
                if region > s.corrective_region:
                    # the corrective region's colour comes from its recovery set
                    for a, b in _complement(rec_set, grid.lo, grid.hi):
                        field_ = _paint(field_, a, b, s.corrective_region)
                for a, b in rec_set:
                    field_ = _paint(field_, a, b, RECOVERY, only_raise=False)
                recovery = True
            break
        return field_, recovery, rec_time, nfactor

    def _dimension(self, dim, name, time_s, own, traffic):
        s = self.settings
        grid = _grid(dim, own, s, self._kin)
        raw, recovery, rec_time, nfactor = self._raw_colours(grid, own, traffic)
        mem = self._memory[name]
        if math.isnan(mem.last_time) or time_s <= mem.last_time or time_s - mem.last_time > s.hysteresis_time_s:
            mem.reset()
        mem.last_time = time_s
        shown = raw
        if s.hysteresis_time_s > 0 and 0 < s.alerting_m <= s.alerting_n:
            first = len(mem.raw_history) == 0
            shown = m_of_n_field(mem.raw_history[-(s.alerting_n - 1) :], raw, s.alerting_m, first)
            mem.raw_history.append(raw)
            del mem.raw_history[: -(s.alerting_n - 1)]
        val = grid.own % grid.modulo if grid.modulo else grid.own
        shown = self._keep_conflict_band(mem, shown, val)
        # the conflict-free colour is RECOVERY while recovery bands are computed, NONE otherwise
        green_colour = RECOVERY if recovery else NONE
        ranges = _merge([(a, b, green_colour if r in (NONE, RECOVERY) else r) for a, b, r in shown])
        idx = _index_of(ranges, val)
        if not math.isnan(mem.time_of_conflict_region):
            self._remember_conflict_band(mem, ranges, idx, grid.modulo)
        delta = (
            s.persistence_preferred_hdir_deg,
            s.persistence_preferred_hs_kt,
            s.persistence_preferred_vs_fpm,
            s.persistence_preferred_alt_ft,
        )[dim]
        raw_low, raw_up, idx_low, idx_up = _raw_resolutions(ranges, idx, val, grid.modulo, s.corrective_region)
        self._resolution_persistence(mem, ranges, delta, nfactor, val, idx_low, raw_low, idx_up, raw_up, grid.modulo)
        self._preferred_direction(mem, delta, nfactor, val, raw_low, raw_up, grid.modulo)
        region = ranges[idx][2] if 0 <= idx < len(ranges) else -1
        return DimensionBands(grid.own, ranges, region, mem.res_low, mem.res_up, mem.preferred_up, rec_time, nfactor)

    # -- display persistence (sources: docs/daidalus.md) --

    def _keep_conflict_band(self, mem, shown, val):
        """Bands persistence: a conflict band the current value just left is kept for the persistence time."""
        s = self.settings
        if not (s.hysteresis_time_s > 0 and s.persistence_time_s > 0 and s.bands_persistence):
            return shown
        if math.isfinite(mem.conflict_lo) and math.isfinite(mem.conflict_hi):
            current = _region_at(shown, val)
            if current >= 0 and FAR <= mem.conflict_region <= NEAR:
                held = (
                    not math.isnan(mem.time_of_conflict_region)
                    and current < mem.conflict_region
                    and mem.last_time >= mem.time_of_conflict_region
                    and mem.last_time - mem.time_of_conflict_region < s.persistence_time_s
                )
                if held:
                    for a, b in _wrapped(mem.conflict_lo, mem.conflict_hi, self._modulo_of(shown)):
                        shown = _paint(shown, a, b, mem.conflict_region, only_raise=False)
                elif FAR <= current <= NEAR and current > mem.conflict_region:
                    mem.time_of_conflict_region = mem.last_time
        else:
            mem.time_of_conflict_region = mem.last_time
        return shown

    @staticmethod
    def _modulo_of(field_):
        return 360.0 if field_ and field_[0][0] == 0.0 and field_[-1][1] == 360.0 else 0.0

    @staticmethod
    def _remember_conflict_band(mem, ranges, idx, modulo):
        if 0 <= idx < len(ranges) and FAR <= ranges[idx][2] <= NEAR:
            mem.conflict_region = ranges[idx][2]
            lo, hi = ranges[idx][0], ranges[idx][1]
            last = len(ranges) - 1
            if modulo and idx == 0 and ranges[last][2] == ranges[0][2]:
                lo = ranges[last][0]
            if modulo and idx == last and ranges[0][2] == ranges[last][2]:
                hi = ranges[0][1]
            mem.conflict_lo, mem.conflict_hi = lo, hi
        else:
            mem.time_of_conflict_region = math.nan
            mem.conflict_region = -1
            mem.conflict_lo = mem.conflict_hi = math.nan

    def _resolution_persistence(self, mem, ranges, delta, nfactor, val, idx_low, raw_low, idx_up, raw_up, modulo):
        """Keep the previous resolutions while they stay valid, near the new ones or within the persistence time."""
        s = self.settings
        if s.hysteresis_time_s <= 0 or math.isnan(mem.time_of_dir) or mem.last_time <= mem.time_of_dir or delta <= 0:
            mem.res_low, mem.res_up = raw_low, raw_up
            mem.nfactor_low = mem.nfactor_up = nfactor
            mem.time_of_dir = math.nan
            return
        young = mem.last_time - mem.time_of_dir < s.persistence_time_s
        keep_up = (
            math.isfinite(raw_up)
            and math.isfinite(mem.res_up)
            and _to_the_left(val, mem.res_up, modulo)
            and (young or mem.nfactor_up < nfactor or _safe_mod(mem.res_up - raw_up, modulo) < delta)
        )
        idx = _index_of(ranges, mem.res_up) if keep_up else -1
        if not (
            0 <= idx and _contiguous_resolutions(ranges, mem.preferred_up, idx_up, idx, modulo, s.corrective_region)
        ):
            mem.res_up, mem.nfactor_up = raw_up, nfactor
        keep_low = (
            math.isfinite(raw_low)
            and math.isfinite(mem.res_low)
            and _to_the_left(mem.res_low, val, modulo)
            and (young or mem.nfactor_low < nfactor or _safe_mod(raw_low - mem.res_low, modulo) < delta)
        )
        idx = _index_of(ranges, mem.res_low) if keep_low else -1
        if not (
            0 <= idx and _contiguous_resolutions(ranges, mem.preferred_up, idx_low, idx, modulo, s.corrective_region)
        ):
            mem.res_low, mem.nfactor_low = raw_low, nfactor

    def _preferred_direction(self, mem, delta, nfactor, val, low, up, modulo):
        """Preferred side: the nearer resolution, changed only after the persistence time and by more than delta."""
        s = self.settings

        def switch(upward):
            mem.preferred_up, mem.time_of_dir = upward, mem.last_time
            if nfactor <= mem.nfactor_low:
                mem.res_low = low
            if nfactor <= mem.nfactor_up:
                mem.res_up = up

        if not math.isfinite(up) and not math.isfinite(low):
            mem.time_of_dir = math.nan
            mem.preferred_up = False
        elif not math.isfinite(up):
            if mem.preferred_up:
                switch(False)
        elif not math.isfinite(low):
            if not mem.preferred_up:
                switch(True)
        else:
            to_up = _safe_mod(up - val, modulo)
            to_low = _safe_mod(val - low, modulo)
            actual = to_up <= to_low + 1e-12 * max(1.0, abs(to_low))
            if s.hysteresis_time_s <= 0 or math.isnan(mem.time_of_dir) or mem.last_time < mem.time_of_dir or delta <= 0:
                mem.time_of_dir, mem.preferred_up = mem.last_time, actual
            elif mem.last_time - mem.time_of_dir < s.persistence_time_s or abs(to_up - to_low) < delta:
                pass  # persistence prevails
            elif (mem.preferred_up and mem.nfactor_low > mem.nfactor_up) or (
                not mem.preferred_up and mem.nfactor_up > mem.nfactor_low
            ):
                pass  # never switch toward a side that needs a smaller recovery cylinder
            elif mem.preferred_up != actual:
                switch(actual)


def _safe_mod(x, modulo):
    return x % modulo if modulo else x


def _to_the_left(a, b, modulo):
    """a is at or before b (within half a turn counter-clockwise of b for directions)."""
    if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9):
        return True
    if not modulo:
        return a < b
    # strictly less than half a turn: a value exactly opposite is on neither side
    return (b - a) % modulo < modulo / 2.0 - 1e-9


def _is_conflict_at_or_above(region, corrective):
    return FAR <= region <= NEAR and region >= corrective


def _index_of(ranges, x):
    """Index of the range holding x; on a shared edge, the less severe range (conflict-free ones are closed)."""
    best, best_order = -1, 99
    for i, (a, b, r) in enumerate(ranges):
        if a - 1e-9 <= x <= b + 1e-9:
            order = 0 if r in (NONE, RECOVERY) else r
            if order < best_order:
                best, best_order = i, order
    if best < 0 and ranges and x in (0.0, 360.0) and ranges[-1][1] == 360.0:
        return 0
    return best


def _raw_resolutions(ranges, idx, val, modulo, corrective):
    """Nearest conflict-free edges on each side of a current value in a corrective-or-worse band.

    nan when the current value is not in such a band; -inf/inf when a side has none (for directions,
    none within half a turn).
    """
    if not (0 <= idx < len(ranges) and _is_conflict_at_or_above(ranges[idx][2], corrective)):
        return math.nan, math.nan, idx, idx
    last = len(ranges) - 1
    low, idx_low = -math.inf, idx
    while idx_low >= 0 and _is_conflict_at_or_above(ranges[idx_low][2], corrective):
        if _to_the_left(ranges[idx_low][0], val, modulo):
            idx_low = last if (idx_low == 0 and modulo) else idx_low - 1
        else:
            idx_low = -1
        if idx_low == idx:
            idx_low = -1
    if idx_low >= 0:
        low = 0.0 if (idx_low == last and modulo) else ranges[idx_low][1]
    up, idx_up = math.inf, idx
    while idx_up <= last and _is_conflict_at_or_above(ranges[idx_up][2], corrective):
        if _to_the_left(val, ranges[idx_up][1], modulo):
            idx_up = 0 if (idx_up == last and modulo) else idx_up + 1
        else:
            idx_up = last + 1
        if idx_up == idx:
            idx_up = last + 1
    if idx_up <= last:
        up = ranges[idx_up][0]
    return low, up, idx_low, idx_up


def _contiguous_resolutions(ranges, upward, idx_from, idx_to, modulo, corrective):
    """Are the ranges from idx_from to idx_to (walking up or down) all conflict-free or below corrective?"""
    idx = idx_from
    n = len(ranges)
    while idx != idx_to and 0 <= idx < n and not _is_conflict_at_or_above(ranges[idx][2], corrective):
        if upward:
            idx += 1
            if modulo and idx == n:
                idx = 0
        else:
            idx -= 1
            if modulo and idx == -1:
                idx = n - 1
    return 0 <= idx < n and not _is_conflict_at_or_above(ranges[idx][2], corrective)


def _wrapped(lo, hi, modulo):
    if modulo and lo > hi:
        return [(lo, modulo), (0.0, hi)]
    return [(lo, hi)]


K_DUMMY = cylinder_detector(0.0, 0.0)


# --- from a DAIDALUS configuration and a .daa step ----------------------------------------------------------


def settings_from_config(cfg) -> BandsSettings:
    """`BandsSettings` from an `encsim.avoidance.daidalus.config.DaidalusConfig`."""
    p = cfg.params  # attributes with unit-suffixed names (DaidalusParameters)
    return BandsSettings(
        lookahead_s=p.lookahead_time_s,
        hdir_step_deg=p.step_hdir_deg,
        hs_step_kt=p.step_hs_kt,
        vs_step_fpm=p.step_vs_fpm,
        alt_step_ft=p.step_alt_ft,
        min_hs_kt=p.min_hs_kt,
        max_hs_kt=p.max_hs_kt,
        min_vs_fpm=p.min_vs_fpm,
        max_vs_fpm=p.max_vs_fpm,
        min_alt_ft=p.min_alt_ft,
        max_alt_ft=p.max_alt_ft,
        turn_rate_deg_s=p.turn_rate_dps,
        horizontal_accel_mps2=p.horizontal_accel_fps2 * M_PER_FT,
        vertical_accel_g=p.vertical_accel_fps2 / STANDARD_GRAVITY_FPS2,
        vertical_rate_fpm=p.vertical_rate_fpm,
        min_horizontal_recovery_nmi=p.min_horizontal_recovery_ft / FT_PER_NM,
        min_vertical_recovery_ft=p.min_vertical_recovery_ft,
        recovery_hdir=p.recovery_hdir,
        recovery_hs=p.recovery_hs,
        recovery_vs=p.recovery_vs,
        recovery_alt=p.recovery_alt,
        ca_bands=p.ca_bands,
        ca_factor=p.ca_factor,
        horizontal_nmac_ft=p.horizontal_nmac_ft,
        vertical_nmac_ft=p.vertical_nmac_ft,
        recovery_stability_time_s=p.recovery_stability_time_s,
        hysteresis_time_s=p.hysteresis_time_s,
        persistence_time_s=p.persistence_time_s,
        bands_persistence=p.bands_persistence,
        persistence_preferred_hdir_deg=p.persistence_preferred_hdir_deg,
        persistence_preferred_hs_kt=p.persistence_preferred_hs_kt,
        persistence_preferred_vs_fpm=p.persistence_preferred_vs_fpm,
        persistence_preferred_alt_ft=p.persistence_preferred_alt_ft,
        alerting_m=p.alerting_m,
        alerting_n=p.alerting_n,
        corrective_region=REGION_ORDER[p.corrective_region],
    )


def band_frame_states(step):
    """Ownship and traffic states of a `encsim.io.daa_file.DaaStep` in the band frame.

    With wind (heading/airspeed on the ownship row) the ownship velocity is its air velocity and
    the wind is removed from every traffic velocity too: the relative motion is unchanged and the
    direction and speed bands are in heading and airspeed.
    """
    own = np.array(step.own, dtype=float)
    traffic = np.array(step.traffic, dtype=float).reshape(-1, 6)
    air = np.asarray(step.own_air_fps, dtype=float)
    if np.all(np.isfinite(air)):
        wind = own[3:5] - air
        own[3:5] = air
        traffic[:, 3:5] -= wind
    return own, traffic


def traffic_for_step(step, cfg, displayed_levels: dict | None = None) -> list[Traffic]:
    """`Traffic` of a .daa step under a configuration (alerter per intruder; SUM errors for SUM detectors)."""
    displayed_levels = displayed_levels or {}
    _, traffic = band_frame_states(step)
    out = []
    for i, name in enumerate(step.traffic_names):
        alerter = cfg.alerter(int(step.traffic_alerter[i]))
        if alerter is None:
            continue
        levels = []
        for level in alerter.levels:
            if level.sum:
                det = sum_detector(
                    level.dthr_ft,
                    level.zthr_ft,
                    level.tthr_s,
                    level.tcoa_s,
                    np.asarray(step.own_std, float),
                    np.asarray(step.traffic_std[i], float),
                    np.asarray(cfg.z_scores, float),
                )
            else:
                det = wcv_detector(level.dthr_ft, level.zthr_ft, level.tthr_s, level.tcoa_s)
            levels.append(
                AlertLevel(
                    REGION_ORDER.get(level.region, NONE), det, level.alerting_time_s, level.early_alerting_time_s
                )
            )
        out.append(Traffic(name, traffic[i], tuple(levels), int(displayed_levels.get(name, 0))))
    return out


#: the reference CSV's band columns filled here (conflict_MID_s/conflict_NEAR_s come from detection alone)
_SIDES = {"hdir": ("right", "left"), "hs": ("up", "down"), "vs": ("up", "down"), "alt": ("up", "down")}
_UNITS = {"hdir": "deg", "hs": "kt", "vs": "fpm", "alt": "ft"}
BAND_TABLE_COLUMNS = [f"ltm_{d}_s" for d in DIMENSIONS] + [
    col
    for d in DIMENSIONS
    for col in (
        f"{d}_region",
        f"{d}_bands_{_UNITS[d]}",
        f"{d}_res_{_SIDES[d][0]}_{_UNITS[d]}",
        f"{d}_res_{_SIDES[d][1]}_{_UNITS[d]}",
        f"{d}_pref",
        f"{d}_rec_time_s",
        f"{d}_rec_nfactor",
    )
]


def band_table(daa, cfg, alert_levels=None, progress=None, engine: str = "numba"):
    """Band columns of a replay, one row per step per traffic aircraft (one row for a step without traffic).

    Parameters
    ----------
    daa : encsim.io.daa_file.DaaFile
        The encounter (first aircraft = ownship).
    cfg : DaidalusConfig
        The configuration (alerters, band and kinematic parameters).
    alert_levels : sequence of int, optional
        The alert level of each output row as DAIDALUS reports it (the replay table's
        ``alert_level``): a level reported at the previous step keeps its early alerting time for
        the choice of the aircraft that colour the bands. Without it every level counts as new.
    progress : callable, optional
        Called as ``progress(steps_done, steps_total)`` after each step.
    engine : {"numba", "python"}
        ``numba`` (default): the compiled orchestration of `_guidance`; ``python``: `GuidanceBands`,
        its plain-Python twin. Both give the same table.

    Returns
    -------
    pandas.DataFrame
        Columns `BAND_TABLE_COLUMNS`: bands as ``lo:hi:REGION|...``, regions by name, resolutions
        (nan without conflict, +-inf when a side has none), preferred direction by name, recovery
        time (nan when not computed) and n-factor (-1 when not computed), last time to manoeuvre.
    """
    import pandas as pd

    if engine not in ("numba", "python"):
        raise ValueError(f"band_table: engine must be 'numba' or 'python', got {engine!r}")
    settings = settings_from_config(cfg)
    guidance = GuidanceBands(settings) if engine == "python" else _CompiledGuidance(settings)
    displayed: dict[str, int] = {}
    records = []
    row = 0
    steps = daa.steps()
    for step_index, step in enumerate(steps):
        own, _ = band_frame_states(step)
        traffic = traffic_for_step(step, cfg, displayed)
        out = guidance.step(step.time_s, own, traffic)
        common = {}
        for d in DIMENSIONS:
            b = out[d]
            up_name, low_name = _SIDES[d]
            common[f"{d}_region"] = REGION_NAMES[b.region] if b.region >= 0 else "UNKNOWN"
            common[f"{d}_bands_{_UNITS[d]}"] = b.bands_text()
            common[f"{d}_res_{up_name}_{_UNITS[d]}"] = b.res_up
            common[f"{d}_res_{low_name}_{_UNITS[d]}"] = b.res_low
            common[f"{d}_pref"] = up_name if b.preferred_up else low_name
            common[f"{d}_rec_time_s"] = b.recovery_time_s
            common[f"{d}_rec_nfactor"] = b.recovery_nfactor
        by_name = {ac.name: ac for ac in traffic}
        names = step.traffic_names or (None,)
        for name in names:
            ltm = {d: math.nan for d in DIMENSIONS}
            if name in by_name:
                ltm = guidance.last_time_to_manoeuvre(own, by_name[name])
            records.append({**{f"ltm_{d}_s": ltm[d] for d in DIMENSIONS}, **common})
            if name is not None and alert_levels is not None:
                displayed[name] = int(alert_levels[row])
            row += 1
        if progress is not None:
            progress(step_index + 1, len(steps))
    return pd.DataFrame.from_records(records, columns=BAND_TABLE_COLUMNS)


class _CompiledGuidance:
    """`GuidanceBands`'s interface over the Numba orchestration (`_guidance`): what `band_table` uses by default."""

    def __init__(self, settings: BandsSettings):
        from . import _guidance as G

        self._G = G
        self._settings = G.pack_band_settings(settings)
        self._memory = np.zeros(len(DIMENSIONS) * G.GUIDANCE_MEMORY_SIZE)
        self._out = np.zeros((len(DIMENSIONS), G.GUIDANCE_OUT_SIZE))

    def step(self, time_s: float, own_state, traffic: list[Traffic]) -> dict[str, DimensionBands]:
        G = self._G
        states, levels, n = G.pack_traffic_levels(traffic)
        own = np.asarray(own_state, dtype=float)
        G.guidance_step(float(time_s), own, states, levels, n, self._settings, self._memory, self._out)
        result = {}
        for d, name in enumerate(DIMENSIONS):
            o = self._out[d]
            nb = int(o[G.O_N_BANDS])
            bands = [
                (float(o[G.O_BANDS + 3 * k]), float(o[G.O_BANDS + 3 * k + 1]), int(o[G.O_BANDS + 3 * k + 2]))
                for k in range(nb)
            ]
            result[name] = DimensionBands(
                float(o[G.O_OWN_VALUE]),
                bands,
                int(o[G.O_REGION]),
                float(o[G.O_RES_LOW]),
                float(o[G.O_RES_UP]),
                bool(o[G.O_PREFERRED_UP]),
                float(o[G.O_REC_TIME]),
                int(o[G.O_NFACTOR]),
            )
        return result

    def last_time_to_manoeuvre(self, own_state, ac: Traffic) -> dict[str, float]:
        G = self._G
        states, levels, _ = G.pack_traffic_levels([ac])
        own = np.asarray(own_state, dtype=float)
        return {
            name: float(G.last_time_to_manoeuvre(d, own, states[0], levels[0], self._settings))
            for d, name in enumerate(DIMENSIONS)
        }
