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
#: degrees in one radian (written as DAIDALUS-style tables use it: 180 / pi).
DEG_PER_RAD = 180.0 / math.pi
#: metres in one foot.
M_PER_FT = 0.3048
#: metres in one international nautical mile.
M_PER_NM = 1852.0
#: feet in one statute mile.
FT_PER_MI = 5280.0
#: arc-minutes in one degree (one nautical mile per arc-minute defines DAIDALUS's earth radius).
ARCMIN_PER_DEG = 60.0
#: gravity of the MIT LL / DEGAS point-mass dynamics, ft/s^2: MIT LL's rounded value, kept for parity with
#: their code (it is not standard gravity: see `STANDARD_GRAVITY_FPS2`).
G_FPS2 = 32.2
#: standard gravity (9.80665 m/s^2, DAIDALUS's [G] unit), ft/s^2.
STANDARD_GRAVITY_FPS2 = 9.80665 / M_PER_FT

#: unit name as DAIDALUS files write it (lower case) -> (quantity, factor to the encsim base unit of that
#: quantity: ft, ft/s, deg, s, deg/s, ft/s^2, 1). The one table behind the .daa and .conf readers.
UNIT_NAMES = {
    "ft": ("length", 1.0),
    "m": ("length", 1.0 / M_PER_FT),
    "km": ("length", 1000.0 / M_PER_FT),
    "nmi": ("length", FT_PER_NM),
    "nm": ("length", FT_PER_NM),
    "mi": ("length", FT_PER_MI),
    "knot": ("speed", FPS_PER_KT),
    "kn": ("speed", FPS_PER_KT),
    "kts": ("speed", FPS_PER_KT),
    "fpm": ("speed", FPS_PER_FPM),
    "ft/min": ("speed", FPS_PER_FPM),
    "ft/s": ("speed", 1.0),
    "fps": ("speed", 1.0),
    "m/s": ("speed", 1.0 / M_PER_FT),
    "kph": ("speed", 1000.0 / M_PER_FT / S_PER_HOUR),
    "km/h": ("speed", 1000.0 / M_PER_FT / S_PER_HOUR),
    "mph": ("speed", FT_PER_MI / S_PER_HOUR),
    "nmi/s": ("speed", FT_PER_NM),
    "m/min": ("speed", 1.0 / M_PER_FT / S_PER_MIN),
    "deg": ("angle", 1.0),
    "rad": ("angle", DEG_PER_RAD),
    "s": ("time", 1.0),
    "sec": ("time", 1.0),
    "min": ("time", S_PER_MIN),
    "h": ("time", S_PER_HOUR),
    "hr": ("time", S_PER_HOUR),
    "deg/s": ("rate", 1.0),
    "rad/s": ("rate", DEG_PER_RAD),
    "ft/s^2": ("accel", 1.0),
    "m/s^2": ("accel", 1.0 / M_PER_FT),
    "g": ("accel", STANDARD_GRAVITY_FPS2),
    "none": ("none", 1.0),
    "unitless": ("none", 1.0),
    "-": ("none", 1.0),
}


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
