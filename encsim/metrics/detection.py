"""Well-clear and NMAC detection for straight-line (constant-velocity) states, vectorised.

Definitions (daa-reference 1.2, DO-365 / DAIDALUS WCV_TAUMOD with the TCOA vertical test), with
relative quantities taken as **intruder minus ownship** at the public surface (decisions.md
section 1). DAIDALUS writes s = own - int; the predicates below are symmetric under s -> -s, v -> -v,
so only the sign convention of the reported relative position differs.

The predicates themselves live in `encsim.metrics.predicates` (numpy) and
`encsim.metrics._predicates` (their scalar Numba twins, which the kernels call): horizontal,
r <= DTHR, or closing (s.v < 0) with 0 <= tau_mod <= TTHR and DCPA <= HMD*, where tau_mod =
(DTHR^2 - r^2) / (s.v) and DCPA the horizontal distance at closest approach; vertical, |dz| <=
ZTHR, or (TCOA > 0) converging with time to co-altitude <= TCOA. A loss of well clear needs both.
The NMAC cylinder (500 ft, 100 ft) is a volume with no tau: r < D and |dz| < H.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..units import FT_PER_NM
from . import predicates


@dataclass(frozen=True)
class WellClearVolume:
    """A detection volume: horizontal threshold, vertical threshold, tau_mod threshold, HMD filter."""

    name: str
    dthr_ft: float
    zthr_ft: float
    tthr_s: float
    hmd_ft: float
    tcoa_s: float = 0.0

    def __post_init__(self):
        if self.dthr_ft <= 0 or self.zthr_ft <= 0 or self.tthr_s < 0 or self.hmd_ft < 0 or self.tcoa_s < 0:
            raise ValueError(f"volume {self.name}: thresholds must be positive (tau and TCOA may be 0)")

    def as_array(self) -> np.ndarray:
        """The five numbers kernels take, in this order: DTHR ft, ZTHR ft, TTHR s, HMD* ft, TCOA s."""
        return np.array([self.dthr_ft, self.zthr_ft, self.tthr_s, self.hmd_ft, self.tcoa_s], dtype=np.float64)


#: DO-365 Phase I DWC (corrective and warning levels): 4000 ft, 450 ft, tau_mod 35 s, HMD* 4000 ft
DO365_DWC = WellClearVolume("DO-365 DWC", 4000.0, 450.0, 35.0, 4000.0)
#: DAIDALUS's encoding of the same volume: 0.66 nmi = 4010.24 ft
DAIDALUS_DWC = WellClearVolume("DAIDALUS DWC (0.66 nmi)", 0.66 * FT_PER_NM, 450.0, 35.0, 0.66 * FT_PER_NM)
#: DO-365 Phase I preventive volume (alert level 1): 0.66 nmi, 700 ft, 35 s
DO365_PREVENTIVE = WellClearVolume("DO-365 preventive", 0.66 * FT_PER_NM, 700.0, 35.0, 0.66 * FT_PER_NM)
#: DO-365A/B non-cooperative DWC: 2200 ft, 450 ft, no tau
NONCOOP_DWC = WellClearVolume("non-cooperative DWC", 2200.0, 450.0, 0.0, 2200.0)

#: small-UAS well clear (ASTM F3442/F3442M): 2000 ft horizontal, 250 ft vertical, no time threshold
SMALL_UAS_WC = WellClearVolume("small UAS well clear (ASTM F3442)", 2000.0, 250.0, 0.0, 2000.0)

WELL_CLEAR_PRESETS = {
    "do365": DO365_DWC,
    "daidalus": DAIDALUS_DWC,
    "preventive": DO365_PREVENTIVE,
    "noncoop": NONCOOP_DWC,
    "suas": SMALL_UAS_WC,
}


@dataclass(frozen=True)
class Cylinder:
    """A plain cylinder: horizontal radius and vertical half-height (strict inequalities)."""

    name: str
    radius_ft: float
    half_height_ft: float


NMAC = Cylinder("NMAC", 500.0, 100.0)
#: small-UAS NMAC (sNMAC, ASTM F3442 and the MIT LL small-UAS studies): 50 ft horizontal, 15 ft vertical
SMALL_UAS_NMAC = Cylinder("small UAS NMAC", 50.0, 15.0)

#: the scenario's ``[metrics] nmac`` names
CYLINDER_PRESETS = {"nmac": NMAC, "suas": SMALL_UAS_NMAC}


def well_clear_preset(name: str) -> WellClearVolume:
    try:
        return WELL_CLEAR_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown well-clear preset {name!r}; expected one of {sorted(WELL_CLEAR_PRESETS)}") from None


def _relative(own_pos, own_vel, int_pos, int_vel):
    own_pos, own_vel, int_pos, int_vel = (np.asarray(a, dtype=np.float64) for a in (own_pos, own_vel, int_pos, int_vel))
    return int_pos - own_pos, int_vel - own_vel  # intruder minus ownship, (..., 3): east, north, up


@dataclass(frozen=True)
class Detection:
    """Vectorised detection result (arrays shaped like the inputs without the last axis).

    ``t_in``/``t_out`` bound the predicted violation inside [0, lookahead] (NaN where none);
    ``tcpa_s``/``dcpa_ft`` the horizontal time and distance of closest approach (time clamped to
    [0, lookahead]); ``tau_mod_s`` the modified tau now (NaN when not closing); ``violation_now``.
    """

    t_in: np.ndarray
    t_out: np.ndarray
    tcpa_s: np.ndarray
    dcpa_ft: np.ndarray
    tau_mod_s: np.ndarray
    violation_now: np.ndarray

    @property
    def conflict(self) -> np.ndarray:
        return np.isfinite(self.t_in)


def detect_well_clear(
    own_pos, own_vel, int_pos, int_vel, volume: WellClearVolume = DO365_DWC, lookahead_s: float = 180.0
) -> Detection:
    """Predicted loss-of-well-clear interval for straight-line flight (DAIDALUS-style detection).

    Positions are (east, north, up) in ft, velocities in ft/s, shaped (..., 3); ownship and
    intruder separately (the relative vector is formed inside, intruder minus ownship).

    Examples
    --------
    >>> d = detect_well_clear([0, 0, 1000], [0, 200, 0], [0, 20000, 1000], [0, -200, 0])
    >>> round(float(d.t_in), 2)  # head-on at 400 ft/s: tau_mod reaches 35 s at 15,062 ft
    12.34
    """
    s, v = _relative(own_pos, own_vel, int_pos, int_vel)
    sh, vh = s[..., :2], v[..., :2]
    relative = (s[..., 0], s[..., 1], s[..., 2], v[..., 0], v[..., 1], v[..., 2])
    thresholds = (volume.dthr_ft, volume.zthr_ft, volume.tthr_s, volume.hmd_ft, volume.tcoa_s)
    t_in, t_out = predicates.well_clear_violation_interval_s(*relative, *thresholds, lookahead_s)
    sv = np.sum(sh * vh, axis=-1)
    vv = np.sum(vh * vh, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tcpa = np.clip(np.where(vv > 0, -sv / vv, 0.0), 0.0, lookahead_s)
    dcpa_clamped = np.sqrt(np.sum((sh + vh * tcpa[..., None]) ** 2, axis=-1))
    tau_now = predicates.tau_mod_s(relative[0], relative[1], relative[3], relative[4], volume.dthr_ft)
    return Detection(t_in, t_out, tcpa, dcpa_clamped, tau_now, predicates.well_clear_lost(*relative, *thresholds))


def detect_cylinder(
    own_pos, own_vel, int_pos, int_vel, cylinder: Cylinder = NMAC, lookahead_s: float = 180.0
) -> Detection:
    """Predicted penetration interval of a cylinder (e.g. NMAC) for straight-line flight."""
    volume = WellClearVolume(cylinder.name, cylinder.radius_ft, cylinder.half_height_ft, 0.0, cylinder.radius_ft)
    return detect_well_clear(own_pos, own_vel, int_pos, int_vel, volume, lookahead_s)


def loss_of_well_clear(
    dx_ft, dy_ft, dz_ft, dvx_fps, dvy_fps, dvz_fps, volume: WellClearVolume = DO365_DWC
) -> np.ndarray:
    """The instantaneous LoWC predicate for relative states (any shape, intruder minus ownship).

    `encsim.metrics.predicates.well_clear_lost` with the volume's thresholds (TCOA included).
    """
    thresholds = (volume.dthr_ft, volume.zthr_ft, volume.tthr_s, volume.hmd_ft, volume.tcoa_s)
    return predicates.well_clear_lost(dx_ft, dy_ft, dz_ft, dvx_fps, dvy_fps, dvz_fps, *thresholds)


@dataclass(frozen=True)
class SeparationMetrics:
    """Per-encounter metrics over time series (arrays of length n_encounters)."""

    hmd_ft: np.ndarray
    vmd_ft: np.ndarray
    vmd_signed_ft: np.ndarray
    tca_s: np.ndarray
    nmac: np.ndarray
    lowc: np.ndarray
    t_lowc_entry_s: np.ndarray
    t_lowc_exit_s: np.ndarray
    lowc_duration_s: np.ndarray


def separation_series(own: dict, intruder: dict) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal range and signed vertical separation (intruder minus ownship), ft, per sample.

    ``own``/``intruder`` map ``north_ft``, ``east_ft``, ``up_ft`` to (n, n_samples) arrays.
    """
    horizontal = np.hypot(intruder["east_ft"] - own["east_ft"], intruder["north_ft"] - own["north_ft"])
    return horizontal, intruder["up_ft"] - own["up_ft"]


def separation_metrics(
    t_s, own: dict, intruder: dict, *, cylinder: Cylinder = NMAC, volume: WellClearVolume = DO365_DWC
) -> SeparationMetrics:
    """HMD, VMD, TCA, NMAC and LoWC of encounter batches from sampled trajectories.

    ``own`` and ``intruder`` map ``north_ft``, ``east_ft``, ``up_ft``, ``speed_fps``, ``heading_rad``,
    ``pitch_rad`` to (n, n_samples) arrays. HMD is the minimum horizontal range over the samples, TCA
    its time, VMD the vertical separation there (signed: intruder minus ownship); NMAC any sample
    with range < R and |dz| < H; LoWC any sample where the instantaneous predicate holds, with the
    first entry and exit times and the total time in violation.
    """
    from ._kernels import Samples, SeparationOutputs, separation_kernel

    t_s = np.asarray(t_s, dtype=np.float64)
    n = own["north_ft"].shape[0]
    out = SeparationOutputs(
        *(np.empty(n) for _ in range(3)),
        *(np.empty(n, dtype=np.bool_) for _ in range(2)),
        *(np.empty(n) for _ in range(3)),
    )
    own_samples, intruder_samples = (
        Samples(*(np.ascontiguousarray(side[name], dtype=np.float64) for name in Samples._fields))
        for side in (own, intruder)
    )
    cylinder_ft = np.array([cylinder.radius_ft, cylinder.half_height_ft])
    separation_kernel(t_s, own_samples, intruder_samples, cylinder_ft, volume.as_array(), out)
    hmd, vmd_signed, tca, nmac, lowc, entry, exit_, duration = out
    return SeparationMetrics(
        hmd_ft=hmd,
        vmd_ft=np.abs(vmd_signed),
        vmd_signed_ft=vmd_signed,
        tca_s=tca,
        nmac=nmac,
        lowc=lowc,
        t_lowc_entry_s=entry,
        t_lowc_exit_s=exit_,
        lowc_duration_s=duration,
    )
