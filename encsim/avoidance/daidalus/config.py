"""DAIDALUS configurations: read ``.conf`` files (``key = value [unit]``) and the DO-365 presets.

`read_daidalus_config` parses a DAIDALUS v2.0.4 configuration file into a frozen `DaidalusConfig`
(global parameters with unit-suffixed names in encsim units, plus the alerters, each a tuple of
`AlertLevel`). Unknown keys, malformed lines, unknown or mismatched units and unsupported detectors
are refused with the file, line and key named.

Named presets (`preset`): ``do365b`` (DO_365B_no_SUM), ``do365b-sum`` (DO_365B_SUM) and
``do365a`` (DO_365A_no_SUM). They are written here as configuration text from DO-365's tables (the
values DAIDALUS ships for them) and parsed like any file, so `DaidalusConfig.text` is a
DAIDALUS-readable file and `DaidalusConfig.sha256` identifies it in provenance.

A value written without a unit is taken in DAIDALUS's internal units (m, m/s, m/s^2, rad, s).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from ...checksums import text_sha256
from ...units import DEG_PER_RAD, FPM_PER_FPS, FPS_PER_FPM, FPS_PER_KT, M_PER_FT, UNIT_NAMES

# quantity -> (encsim unit suffix, factor from internal DAIDALUS SI units to encsim units)
_QUANTITIES = {
    "time": ("s", 1.0),
    "length": ("ft", 1.0 / M_PER_FT),
    "angle": ("deg", DEG_PER_RAD),
    "hspeed": ("kt", 1.0 / M_PER_FT / FPS_PER_KT),
    "vspeed": ("fpm", FPM_PER_FPS / M_PER_FT),
    "rate": ("dps", DEG_PER_RAD),
    "accel": ("fps2", 1.0 / M_PER_FT),
    "none": ("", 1.0),
}

# DAIDALUS key -> quantity (number), or a Python type for flags, integers and words
_GLOBAL_KEYS = {
    "lookahead_time": "time",
    "left_hdir": "angle",
    "right_hdir": "angle",
    "min_airspeed": "hspeed",
    "min_hs": "hspeed",
    "max_hs": "hspeed",
    "min_vs": "vspeed",
    "max_vs": "vspeed",
    "min_alt": "length",
    "max_alt": "length",
    "below_relative_hs": "hspeed",
    "above_relative_hs": "hspeed",
    "below_relative_vs": "vspeed",
    "above_relative_vs": "vspeed",
    "below_relative_alt": "length",
    "above_relative_alt": "length",
    "step_hdir": "angle",
    "step_hs": "hspeed",
    "step_vs": "vspeed",
    "step_alt": "length",
    "horizontal_accel": "accel",
    "vertical_accel": "accel",
    "turn_rate": "rate",
    "bank_angle": "angle",
    "vertical_rate": "vspeed",
    "min_horizontal_recovery": "length",
    "min_vertical_recovery": "length",
    "recovery_hdir": bool,
    "recovery_hs": bool,
    "recovery_vs": bool,
    "recovery_alt": bool,
    "ca_bands": bool,
    "ca_factor": "none",
    "horizontal_nmac": "length",
    "vertical_nmac": "length",
    "recovery_stability_time": "time",
    "hysteresis_time": "time",
    "persistence_time": "time",
    "bands_persistence": bool,
    "persistence_preferred_hdir": "angle",
    "persistence_preferred_hs": "hspeed",
    "persistence_preferred_vs": "vspeed",
    "persistence_preferred_alt": "length",
    "alerting_m": int,
    "alerting_n": int,
    "conflict_crit": bool,
    "recovery_crit": bool,
    "h_pos_z_score": "none",
    "h_vel_z_score_min": "none",
    "h_vel_z_score_max": "none",
    "h_vel_z_distance": "length",
    "v_pos_z_score": "none",
    "v_vel_z_score": "none",
    "contour_thr": "angle",
    "dta_logic": int,
    "dta_latitude": "angle",
    "dta_longitude": "angle",
    "dta_radius": "length",
    "dta_height": "length",
    "dta_alerter": int,
    "hdir_bands_below_min_as": int,
    "ownship_centric_alerting": bool,
    "bands_add_time_to_maneuver": bool,
    "corrective_region": str,
}
_REGIONS = ("NONE", "FAR", "MID", "NEAR")
#: supported detector classes -> encsim detector name
_DETECTORS = {
    "gov.nasa.larcfm.accord.wcv_taumod": "WCV_TAUMOD",
    "gov.nasa.larcfm.accord.wcv_taumod_sum": "WCV_TAUMOD_SUM",
}
_LEVEL_FIELDS = {
    "region": str,
    "alerting_time": "time",
    "early_alerting_time": "time",
    "spread_hdir": "angle",
    "spread_hs": "hspeed",
    "spread_vs": "vspeed",
    "spread_alt": "length",
    "detector": str,
}
_DETECTOR_FIELDS = {"wcv_dthr": "length", "wcv_zthr": "length", "wcv_tthr": "time", "wcv_tcoa": "time"}


def _field_name(key: str, kind) -> str:
    if isinstance(kind, str) and kind != "none":
        return f"{key}_{_QUANTITIES[kind][0]}"
    return key


class DaidalusConfigError(ValueError):
    """A configuration that cannot be read: the message names the file, line and key."""


@dataclasses.dataclass(frozen=True)
class AlertLevel:
    """One alert level of an alerter: its bands region, detector volume and alerting times."""

    region: str
    detector: str
    dthr_ft: float
    zthr_ft: float
    tthr_s: float
    tcoa_s: float
    alerting_time_s: float
    early_alerting_time_s: float
    spread_hdir_deg: float = 0.0
    spread_hs_kt: float = 0.0
    spread_vs_fpm: float = 0.0
    spread_alt_ft: float = 0.0

    @property
    def sum(self) -> bool:
        """True for the sensor-uncertainty-mitigation detector WCV_TAUMOD_SUM."""
        return self.detector == "WCV_TAUMOD_SUM"


@dataclasses.dataclass(frozen=True)
class Alerter:
    """A named alerter: alert levels 1..n, least to most severe."""

    name: str
    levels: tuple[AlertLevel, ...]

    def corrective_level(self, corrective_region: str) -> int:
        """Level whose region is the corrective region or more severe (1-based; 0 if none)."""
        rank = _REGIONS.index(corrective_region)
        for k, level in enumerate(self.levels, start=1):
            if level.region in _REGIONS and _REGIONS.index(level.region) >= rank:
                return k
        return 0


_GLOBAL_FIELDS = [(_field_name(k, kind), kind) for k, kind in _GLOBAL_KEYS.items()]

#: the global parameters, one frozen field per DAIDALUS key, named with its encsim unit
DaidalusParameters = dataclasses.make_dataclass(
    "DaidalusParameters",
    [(name, kind if isinstance(kind, type) else float) for name, kind in _GLOBAL_FIELDS],
    frozen=True,
)
DaidalusParameters.__module__ = __name__
DaidalusParameters.__doc__ = "DAIDALUS global parameters in encsim units (names carry the unit)."


@dataclasses.dataclass(frozen=True)
class DaidalusConfig:
    """A DAIDALUS configuration: global parameters (encsim units, unit-suffixed names) and alerters.

    The global parameters are attributes of ``params`` and, for convenience, of the configuration
    itself (``config.lookahead_time_s``).

    ``text`` is the configuration text it was read from (for provenance: `sha256`); it does not
    take part in equality.
    """

    params: DaidalusParameters
    alerters: tuple[Alerter, ...]
    text: str = dataclasses.field(default="", compare=False, repr=False)
    source: str = dataclasses.field(default="", compare=False)

    def __getattr__(self, name):
        params = self.__dict__.get("params")
        if params is not None and not name.startswith("_") and hasattr(params, name):
            return getattr(params, name)
        raise AttributeError(name)

    def __hash__(self):
        return hash(self.sha256)

    @property
    def sha256(self) -> str:
        return text_sha256(self.text)

    def alerter(self, index: int) -> Alerter | None:
        """Alerter by its 1-based index (the .daa ``alerter`` column); None when out of range."""
        if 1 <= index <= len(self.alerters):
            return self.alerters[index - 1]
        return None

    @property
    def z_scores(self) -> tuple[float, float, float, float, float, float]:
        """(h_pos, h_vel_min, h_vel_max, h_vel_distance_ft, v_pos, v_vel) for the SUM detector."""
        p = self.params
        return (
            p.h_pos_z_score,
            p.h_vel_z_score_min,
            p.h_vel_z_score_max,
            p.h_vel_z_distance_ft,
            p.v_pos_z_score,
            p.v_vel_z_score,
        )


_LINE = re.compile(r"^\s*([^=\s]+)\s*=\s*(.*?)\s*$")
_VALUE_UNIT = re.compile(r"^(.*?)\s*\[([^\]]*)\]\s*$")


def _fail(source, line_no, key, message) -> DaidalusConfigError:
    where = f"{source}, line {line_no}" if line_no else source
    return DaidalusConfigError(f"{where}: key {key!r}: {message}" if key else f"{where}: {message}")


def _convert(source, line_no, key, raw: str, kind):
    match = _VALUE_UNIT.match(raw)
    value_text, unit = (match.group(1), match.group(2).strip().lower()) if match else (raw, None)
    if kind is bool:
        if value_text.lower() not in ("true", "false"):
            raise _fail(source, line_no, key, f"{value_text!r} is not true or false")
        return value_text.lower() == "true"
    if kind is int:
        try:
            return int(value_text)
        except ValueError:
            raise _fail(source, line_no, key, f"{value_text!r} is not an integer") from None
    if kind is str:
        return value_text
    try:
        value = float(value_text)
    except ValueError:
        raise _fail(source, line_no, key, f"{value_text!r} is not a number") from None
    suffix, si_factor = _QUANTITIES[kind]
    if unit is None:
        return value * si_factor
    if unit not in UNIT_NAMES:
        raise _fail(source, line_no, key, f"unknown unit [{unit}]")
    quantity, factor = UNIT_NAMES[unit]
    if kind == "hspeed" and quantity == "speed":
        return value if factor == FPS_PER_KT else value * factor / FPS_PER_KT  # knots exactly, no round trip
    if kind == "vspeed" and quantity == "speed":
        return value if factor == FPS_PER_FPM else value * factor * FPM_PER_FPS  # ft/min exactly
    if quantity == kind:
        return value * factor
    raise _fail(source, line_no, key, f"unit [{unit}] is not a unit of {kind} (expected e.g. [{suffix or 'unitless'}])")


def _split_lines(source, text):
    entries = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.match(line)
        if not match:
            raise _fail(source, line_no, None, f"malformed line {line!r}: expected 'key = value [unit]'")
        entries.append((line_no, match.group(1), match.group(2)))
    return entries


def read_daidalus_config(path_or_text, *, source: str | None = None) -> DaidalusConfig:
    """Parse a DAIDALUS ``.conf`` file (a path, or the text itself if it holds a newline).

    Raises
    ------
    DaidalusConfigError
        Unknown or malformed keys, bad values or units, unsupported detectors, incomplete alert
        levels; the message names the file, line and key.
    """
    if isinstance(path_or_text, Path) or (isinstance(path_or_text, str) and "\n" not in path_or_text):
        path = Path(path_or_text)
        try:
            text = path.read_text()
        except OSError as err:
            raise DaidalusConfigError(f"{path}: cannot read the configuration ({err.strerror})") from err
        source = source or str(path)
    else:
        text = str(path_or_text)
        source = source or "<text>"
    entries = _split_lines(source, text)
    alerter_names = _alerter_names(source, entries)
    params: dict = {}
    levels: dict[str, dict[int, dict]] = {name: {} for name in alerter_names}
    detectors: dict[str, dict[str, dict]] = {name: {} for name in alerter_names}
    global_keys = {k.lower(): k for k in _GLOBAL_KEYS}
    for line_no, key, raw in entries:
        lower = key.lower()
        if lower == "alerters":
            continue
        if lower in global_keys:
            canon = global_keys[lower]
            kind = _GLOBAL_KEYS[canon]
            params[_field_name(canon, kind)] = _convert(source, line_no, key, raw, kind)
            continue
        if not _alerter_entry(source, line_no, key, raw, alerter_names, levels, detectors):
            raise _fail(source, line_no, key, "unknown key (not a DAIDALUS v2.0.4 parameter of this encsim reader)")
    missing = [name for name, _ in _GLOBAL_FIELDS if name not in params]
    if missing:
        raise _fail(source, None, None, f"missing parameter(s): {', '.join(missing)}")
    if params["corrective_region"].upper() not in _REGIONS:
        raise _fail(source, None, "corrective_region", f"{params['corrective_region']!r} is not one of {_REGIONS}")
    params["corrective_region"] = params["corrective_region"].upper()
    alerters = tuple(_build_alerter(source, name, levels[name], detectors[name]) for name in alerter_names)
    return DaidalusConfig(params=DaidalusParameters(**params), alerters=alerters, text=text, source=source)


def _alerter_names(source, entries) -> list[str]:
    for line_no, key, raw in entries:
        if key.lower() == "alerters":
            names = [n.strip() for n in raw.split(",") if n.strip()]
            if not names:
                raise _fail(source, line_no, key, "no alerter names")
            return names
    raise _fail(source, None, "alerters", "missing: the configuration names no alerters")


def _alerter_entry(source, line_no, key, raw, alerter_names, levels, detectors) -> bool:
    lower = key.lower()
    for name in alerter_names:
        prefix = name.lower() + "_"
        if not lower.startswith(prefix):
            continue
        rest = lower[len(prefix) :]
        match = re.fullmatch(r"alert_(\d+)_(\w+)", rest)
        if match and match.group(2) in _LEVEL_FIELDS:
            kind = _LEVEL_FIELDS[match.group(2)]
            value = _convert(source, line_no, key, raw, kind)
            levels[name].setdefault(int(match.group(1)), {"_line": line_no})[match.group(2)] = value
            return True
        match = re.fullmatch(r"(\w+?)_(wcv_dthr|wcv_zthr|wcv_tthr|wcv_tcoa)", rest)
        if match:
            value = _convert(source, line_no, key, raw, _DETECTOR_FIELDS[match.group(2)])
            detectors[name].setdefault(match.group(1), {"_line": line_no})[match.group(2)] = value
            return True
        match = re.fullmatch(r"load_core_detection_(\w+)", rest)
        if match:
            cls = raw.strip().lower()
            if cls not in _DETECTORS:
                raise _fail(
                    source, line_no, key, f"detector {raw.strip()!r} is not supported (WCV_TAUMOD, WCV_TAUMOD_SUM)"
                )
            detectors[name].setdefault(match.group(1), {"_line": line_no})["class"] = _DETECTORS[cls]
            return True
    return False


def _build_alerter(source, name, levels, detectors) -> Alerter:
    if not levels:
        raise _fail(source, None, name, "alerter has no alert levels")
    numbers = sorted(levels)
    if numbers != list(range(1, len(numbers) + 1)):
        raise _fail(source, None, name, f"alert levels {numbers} are not 1..n")
    built = []
    for k in numbers:
        spec = levels[k]
        need = [f for f in ("region", "alerting_time", "early_alerting_time", "detector") if f not in spec]
        if need:
            raise _fail(source, spec["_line"], f"{name}_alert_{k}", f"missing {', '.join(need)}")
        det_id = spec["detector"].lower()
        det = detectors.get(det_id)
        if det is None:
            raise _fail(source, spec["_line"], f"{name}_alert_{k}_detector", f"unknown detector {spec['detector']!r}")
        need = [f for f in ("class", *_DETECTOR_FIELDS) if f not in det]
        if need:
            raise _fail(source, det["_line"], f"{name}_det_{spec['detector']}", f"missing {', '.join(need)}")
        region = spec["region"].upper()
        if region not in _REGIONS:
            raise _fail(
                source, spec["_line"], f"{name}_alert_{k}_region", f"{spec['region']!r} is not one of {_REGIONS}"
            )
        built.append(
            AlertLevel(
                region=region,
                detector=det["class"],
                dthr_ft=det["wcv_dthr"],
                zthr_ft=det["wcv_zthr"],
                tthr_s=det["wcv_tthr"],
                tcoa_s=det["wcv_tcoa"],
                alerting_time_s=spec["alerting_time"],
                early_alerting_time_s=spec["early_alerting_time"],
                spread_hdir_deg=spec.get("spread_hdir", 0.0),
                spread_hs_kt=spec.get("spread_hs", 0.0),
                spread_vs_fpm=spec.get("spread_vs", 0.0),
                spread_alt_ft=spec.get("spread_alt", 0.0),
            )
        )
    return Alerter(name=name, levels=tuple(built))


# --- DO-365 presets --------------------------------------------------------------------------

#: parameters shared by the DO-365A/B configurations (DO-365 Appendix values, as DAIDALUS ships them)
_DO365_GLOBAL = """\
lookahead_time = 180.0 [s]
left_hdir = 180.0 [deg]
right_hdir = 180.0 [deg]
min_airspeed = 10.0 [knot]
min_hs = 10.0 [knot]
max_hs = 700.0 [knot]
min_vs = -6000.0 [fpm]
max_vs = 6000.0 [fpm]
min_alt = 100.0 [ft]
max_alt = 50000.0 [ft]
below_relative_hs = 0.0 [knot]
above_relative_hs = 0.0 [knot]
below_relative_vs = 0.0 [fpm]
above_relative_vs = 0.0 [fpm]
below_relative_alt = 0.0 [ft]
above_relative_alt = 0.0 [ft]
step_hdir = 1.0 [deg]
step_hs = 5.0 [knot]
step_vs = 100.0 [fpm]
step_alt = 100.0 [ft]
horizontal_accel = 2.0 [m/s^2]
vertical_accel = 0.25 [G]
turn_rate = 3.0 [deg/s]
bank_angle = 0.0 [deg]
vertical_rate = 500.0 [fpm]
min_horizontal_recovery = 0.66 [nmi]
min_vertical_recovery = 450.0 [ft]
recovery_hdir = true
recovery_hs = true
recovery_vs = true
recovery_alt = true
ca_bands = true
ca_factor = 0.1
horizontal_nmac = 500.0 [ft]
vertical_nmac = 100.0 [ft]
recovery_stability_time = 3.0 [s]
hysteresis_time = 5.0 [s]
persistence_time = 4.0 [s]
bands_persistence = true
persistence_preferred_hdir = 15.0 [deg]
persistence_preferred_hs = 100.0 [knot]
persistence_preferred_vs = 250.0 [fpm]
persistence_preferred_alt = 250.0 [ft]
alerting_m = 2
alerting_n = 4
conflict_crit = false
recovery_crit = false
h_pos_z_score = 1.5
h_vel_z_score_min = 0.5
h_vel_z_score_max = 1.0
h_vel_z_distance = 5.0 [nmi]
v_pos_z_score = 0.75
v_vel_z_score = 1.5
contour_thr = 180.0 [deg]
dta_logic = 0
dta_latitude = 0.0 [deg]
dta_longitude = 0.0 [deg]
dta_radius = 4.2 [nmi]
dta_height = 2000.0 [ft]
dta_alerter = 2
hdir_bands_below_min_as = 0
ownship_centric_alerting = false
bands_add_time_to_maneuver = false
corrective_region = MID
"""

_REGION_OF_LEVEL = ("NONE", "MID", "NEAR")
# DO-365 volumes: (DTHR, ZTHR per level, TTHR); alerting / early alerting times per level
_PHASE_I = ("0.66 [nmi]", ("700.0", "450.0", "450.0"), "35.0")
_PHASE_II = ("1500.0 [ft]", ("450.0", "450.0", "450.0"), "0.0")
_NON_COOP = ("2200.0 [ft]", ("450.0", "450.0", "450.0"), "0.0")
_TIMES_NO_SUM = {
    "DWC_Phase_I": ((55, 75), (55, 75), (25, 55)),
    "DWC_Phase_II": ((45, 75), (45, 75), (45, 75)),
    "DWC_Non_Coop": ((55, 110), (55, 110), (25, 90)),
}
_TIMES_SUM = {
    "DWC_Phase_I": ((50, 75), (50, 75), (25, 55)),
    "DWC_Phase_II": ((40, 75), (40, 75), (40, 75)),
    "DWC_Non_Coop": ((50, 110), (50, 110), (20, 90)),
}
_VOLUMES = {"DWC_Phase_I": _PHASE_I, "DWC_Phase_II": _PHASE_II, "DWC_Non_Coop": _NON_COOP}


def _alerter_text(base: str, sum_detector: bool, volume=None) -> str:
    name = base + ("_SUM" if sum_detector else "")
    dthr, zthrs, tthr = volume or _VOLUMES[base]
    times = (_TIMES_SUM if sum_detector else _TIMES_NO_SUM)[base]
    detector_class = "gov.nasa.larcfm.ACCoRD.WCV_TAUMOD" + ("_SUM" if sum_detector else "")
    lines = []
    for k in (1, 2, 3):
        alerting, early = times[k - 1]
        lines += [
            f"{name}_alert_{k}_region = {_REGION_OF_LEVEL[k - 1]}",
            f"{name}_alert_{k}_alerting_time = {alerting:.1f} [s]",
            f"{name}_alert_{k}_early_alerting_time = {early:.1f} [s]",
            f"{name}_alert_{k}_spread_hdir = 0.0 [deg]",
            f"{name}_alert_{k}_spread_hs = 0.0 [knot]",
            f"{name}_alert_{k}_spread_vs = 0.0 [fpm]",
            f"{name}_alert_{k}_spread_alt = 0.0 [ft]",
            f"{name}_alert_{k}_detector = det_{k}",
            f"{name}_det_{k}_WCV_DTHR = {dthr}",
            f"{name}_det_{k}_WCV_ZTHR = {zthrs[k - 1]} [ft]",
            f"{name}_det_{k}_WCV_TTHR = {tthr} [s]",
            f"{name}_det_{k}_WCV_TCOA = 0.0 [s]",
            f"{name}_load_core_detection_det_{k} = {detector_class}",
        ]
    return "\n".join(lines) + "\n"


def _preset_text(title: str, bases: tuple[str, ...], sum_detector: bool, volume=None, replace=()) -> str:
    names = [b + ("_SUM" if sum_detector else "") for b in bases]
    text = f"# encsim preset {title} (DAIDALUS v2.0.4 configuration format)\n" + _DO365_GLOBAL
    for old, new in replace:
        text = text.replace(old, new)
    text += "alerters = " + ",".join(names) + "\n"
    return text + "".join(_alerter_text(b, sum_detector, volume) for b in bases)


# small-UAS DAA (issue 20): the DO-365B structure (its three alerters, levels, regions and alerting
# times) with every detector at the ASTM F3442 small-UAS well clear, 2000 ft / 250 ft / TTHR 0, and
# the recovery volume and NMAC cylinder of a small UAS (judgement: DO-365B recovers to its well
# clear, 0.66 nmi / 450 ft, so this one recovers to 2000 ft / 250 ft; NMAC the sNMAC, 50 ft / 15 ft)
_SUA_VOLUME = ("2000.0 [ft]", ("250.0", "250.0", "250.0"), "0.0")
_SUA_GLOBAL = (
    ("min_horizontal_recovery = 0.66 [nmi]", "min_horizontal_recovery = 2000.0 [ft]"),
    ("min_vertical_recovery = 450.0 [ft]", "min_vertical_recovery = 250.0 [ft]"),
    ("horizontal_nmac = 500.0 [ft]", "horizontal_nmac = 50.0 [ft]"),
    ("vertical_nmac = 100.0 [ft]", "vertical_nmac = 15.0 [ft]"),
)


_ALL = ("DWC_Phase_I", "DWC_Phase_II", "DWC_Non_Coop")
#: preset name -> (configuration text, the DAIDALUS file it equals, or None for encsim's own)
PRESETS = {
    "do365b": (_preset_text("do365b = DO_365B_no_SUM", _ALL, False), "DO_365B_no_SUM.conf"),
    "do365b-sum": (_preset_text("do365b-sum = DO_365B_SUM", _ALL, True), "DO_365B_SUM.conf"),
    "do365a": (_preset_text("do365a = DO_365A_no_SUM", _ALL[:2], False), "DO_365A_no_SUM.conf"),
    # no DAIDALUS file: encsim's own (see _SUA_VOLUME)
    "sua": (_preset_text("sua = small-UAS DAA", _ALL, False, _SUA_VOLUME, _SUA_GLOBAL), None),
}


def preset(name: str) -> DaidalusConfig:
    """A named configuration: ``do365b``, ``do365b-sum``, ``do365a`` or ``sua`` (small-UAS DAA)."""
    if name not in PRESETS:
        raise KeyError(f"unknown DAIDALUS preset {name!r}; expected one of {sorted(PRESETS)}")
    return read_daidalus_config(PRESETS[name][0], source=f"preset:{name}")


def load_config(spec) -> DaidalusConfig:
    """A configuration from a preset name, a .conf path, or a `DaidalusConfig` (returned as is)."""
    if isinstance(spec, DaidalusConfig):
        return spec
    if isinstance(spec, str) and spec in PRESETS:
        return preset(spec)
    return read_daidalus_config(spec)
