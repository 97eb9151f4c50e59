"""The band, kinematic, recovery and persistence parameters of the guidance bands, and the band regions.

Shared by the Python orchestration (`bands`) and its Numba counterpart (`_guidance`), which packs them
into a float vector; `settings_from_config` reads them from a DAIDALUS configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...units import FPS_PER_FPM, FT_PER_NM, M_PER_FT, RAD_PER_DEG, STANDARD_GRAVITY_FPS2
from . import _bands as K

#: region orders (DAIDALUS's order of regions: RECOVERY above every conflict region)
NONE, FAR, MID, NEAR, RECOVERY = 0, 1, 2, 3, 4
REGION_NAMES = ("NONE", "FAR", "MID", "NEAR", "RECOVERY")
REGION_ORDER = {name: order for order, name in enumerate(REGION_NAMES)}


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
