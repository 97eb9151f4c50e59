"""Unit conversions, in one place.

The MIT LL model files mix knots, ft/min and deg/s; encsim converts once, at the edge, to the
units the dynamics use (ft, ft/s, rad, rad/s, ft/s^2). Names say the units.
"""

from __future__ import annotations

import math

#: feet in one international nautical mile (1852 m / 0.3048 m).
FT_PER_NM = 6076.115485564304
#: ft/s in one knot (the MIT LL code rounds this to `FPS_PER_KT_MITLL`).
FPS_PER_KT = FT_PER_NM / 3600.0
#: knots in one ft/s.
KT_PER_FPS = 1.0 / FPS_PER_KT
#: ft/s in one knot as the MIT LL code writes it (its speed limits use this rounded value).
FPS_PER_KT_MITLL = 1.68780972
#: the MIT LL speed rule's knot factor: airspeed (kt) x this > |vertical rate| (ft/min) / 60 (the reference's constant).
SPEED_RULE_FPS_PER_KT = 1.68781
#: seconds in one minute and in one hour.
S_PER_MIN = 60.0
S_PER_HOUR = 3600.0
#: ft/min in one ft/s: ``rate_fpm / FPM_PER_FPS`` is ft/s.
FPM_PER_FPS = S_PER_MIN
#: ft/s in one ft/min.
FPS_PER_FPM = 1.0 / FPM_PER_FPS
#: radians in one degree.
RAD_PER_DEG = math.pi / 180.0
#: metres in one foot.
M_PER_FT = 0.3048
#: standard gravity used by the MIT LL / DEGAS point-mass dynamics, ft/s^2.
G_FPS2 = 32.2


def kt_to_fps(speed_kt):
    """Knots to ft/s (also kt/s to ft/s^2)."""
    return speed_kt * FPS_PER_KT


def fps_to_kt(speed_fps):
    """ft/s to knots."""
    return speed_fps * KT_PER_FPS


def fpm_to_fps(rate_fpm):
    """ft/min to ft/s."""
    return rate_fpm * FPS_PER_FPM


def deg_to_rad(angle_deg):
    """Degrees (or deg/s) to radians (or rad/s)."""
    return angle_deg * RAD_PER_DEG


def rad_to_deg(angle_rad):
    """Radians (or rad/s) to degrees (or deg/s)."""
    return angle_rad / RAD_PER_DEG
