"""One replayed encounter on one page: flights, separations, alerts, guidance and the pilot's response.

`draw_replay` takes an `encsim.replays.Replay` (``encsim.replay(results, id)``) and draws it
with matplotlib (Agg) for ``encsim show``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..units import FT_PER_NM

_OWN, _INTRUDER = "tab:blue", "tab:red"
#: line style of each arm: the nominal flight dashed, the mitigated one solid
_ARM_STYLE = {"nominal": "--", "mitigated": "-"}


def _arm(frame, arm: str):
    return frame[frame["arm"] == arm]


def _flights(plan, profile, steps) -> None:
    """Plan (east/north, NM) and profile (altitude vs time) of both aircraft in both arms."""
    for arm, style in _ARM_STYLE.items():
        flown = _arm(steps, arm)
        plan.plot(
            flown.own_east_ft / FT_PER_NM,
            flown.own_north_ft / FT_PER_NM,
            style,
            color=_OWN,
            lw=1.3,
            label=f"ownship, {arm}",
        )
        profile.plot(flown.t_s, flown.own_up_ft, style, color=_OWN, lw=1.3, label=f"ownship, {arm}")
    # the intruder flies its stored commands in both arms: one line
    flown = _arm(steps, "nominal")
    plan.plot(
        flown.intruder_east_ft / FT_PER_NM,
        flown.intruder_north_ft / FT_PER_NM,
        color=_INTRUDER,
        lw=1.3,
        label="intruder (both arms)",
    )
    profile.plot(flown.t_s, flown.intruder_up_ft, color=_INTRUDER, lw=1.3, label="intruder (both arms)")
    start = flown.iloc[0]
    for prefix, colour in (("own", _OWN), ("intruder", _INTRUDER)):
        plan.plot(start[f"{prefix}_east_ft"] / FT_PER_NM, start[f"{prefix}_north_ft"] / FT_PER_NM, "o", color=colour)
    for arm in _ARM_STYLE:  # the closest approach of each arm
        flown = _arm(steps, arm)
        k = int(np.argmin(flown.horizontal_separation_ft.to_numpy()))
        at = flown.iloc[k]
        plan.plot(
            [at.own_east_ft / FT_PER_NM, at.intruder_east_ft / FT_PER_NM],
            [at.own_north_ft / FT_PER_NM, at.intruder_north_ft / FT_PER_NM],
            "k" + (":" if arm == "nominal" else "-"),
            lw=0.8,
        )
    plan.set(xlabel="east (NM)", ylabel="north (NM)", title="plan view (dots: start; black: closest approach)")
    plan.set_aspect("equal", adjustable="datalim")
    plan.legend(fontsize=8, loc="best")
    profile.set(xlabel="time (s)", ylabel="altitude (ft)", title="altitude profile")
    profile.legend(fontsize=8, loc="best")


def _separations(horizontal, vertical, steps, nmac_ft, well_clear) -> None:
    """Horizontal and vertical separation against time, with the NMAC cylinder and the well-clear thresholds."""
    for arm, style in _ARM_STYLE.items():
        flown = _arm(steps, arm)
        horizontal.plot(flown.t_s, flown.horizontal_separation_ft, style, color="k", lw=1.2, label=arm)
        vertical.plot(flown.t_s, flown.vertical_separation_ft, style, color="k", lw=1.2, label=arm)
    horizontal.axhline(nmac_ft[0], color="tab:red", lw=1, label=f"NMAC radius {nmac_ft[0]:g} ft")
    horizontal.axhline(
        well_clear.dthr_ft,
        color="tab:orange",
        lw=1,
        label=f"well clear DMOD {well_clear.dthr_ft:g} ft ({well_clear.name})",
    )
    horizontal.set_yscale("symlog", linthresh=1000.0)  # linear near the NMAC radius, logarithmic far out
    top = max(float(steps["horizontal_separation_ft"].max()), well_clear.dthr_ft) * 1.2
    horizontal.set_ylim(0.0, top)
    ticks = [t for t in (0, 250, 500, 750, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000) if t <= top]
    horizontal.set_yticks(ticks, [f"{t:,}" for t in ticks])
    horizontal.set(xlabel="time (s)", ylabel="horizontal separation (ft)", title="horizontal separation")
    for sign in (1, -1):
        vertical.axhline(
            sign * nmac_ft[1], color="tab:red", lw=1, label=f"NMAC ±{nmac_ft[1]:g} ft" if sign > 0 else None
        )
        vertical.axhline(
            sign * well_clear.zthr_ft,
            color="tab:orange",
            lw=1,
            label=f"well clear ZTHR ±{well_clear.zthr_ft:g} ft" if sign > 0 else None,
        )
    vertical.set(xlabel="time (s)", ylabel="intruder above ownship (ft)", title="vertical separation")
    for axis in (horizontal, vertical):
        axis.legend(fontsize=8, loc="best")


def _alerts(axis, decisions) -> None:
    """The alert level at each decision, both arms (the nominal arm: the logic run open loop)."""
    for arm, width, alpha in (("nominal", 3.0, 0.45), ("mitigated", 1.3, 1.0)):  # nominal wide, beneath
        said = _arm(decisions, arm)
        axis.step(said.t_s, said.alert_level, where="post", lw=width, alpha=alpha, label=arm)
    axis.set_yticks([0, 1, 2, 3], ["0 none", "1 preventive / TA", "2 corrective / RA", "3 warning"])
    axis.set_ylim(-0.2, 3.3)
    axis.set(xlabel="time (s)", ylabel="alert level", title="alert level (nominal: the logic run open loop)")
    axis.legend(fontsize=8, loc="upper left")


def _keep_readable(axis, min_span) -> None:
    """Widen the y axis to at least ``min_span`` about its middle (a flat trace keeps a readable scale)."""
    low, high = axis.get_ylim()
    if high - low < min_span:
        middle = (high + low) / 2
        axis.set_ylim(middle - min_span / 2, middle + min_span / 2)


def _vertical_response(axis, steps, decisions) -> None:
    """The vertical guidance of the mitigated arm, what the pilot flew to and what the ownship did."""
    said, flown = _arm(decisions, "mitigated"), _arm(steps, "mitigated")
    axis.step(said.t_s, said.target_vertical_rate_fpm, where="post", color="tab:purple", lw=2, alpha=0.6)
    axis.plot([], [], color="tab:purple", lw=2, alpha=0.6, label="guidance: target vertical rate")
    axis.plot(flown.t_s, flown.flown_target_vertical_rate_fpm, color="tab:green", lw=1, label="target the pilot flies")
    axis.plot(flown.t_s, flown.commanded_vertical_rate_fpm, ":", color="k", lw=1, label="commanded")
    axis.plot(flown.t_s, flown.own_vertical_rate_fpm, color=_OWN, lw=1.2, label="flown (mitigated)")
    nominal = _arm(steps, "nominal")
    axis.plot(nominal.t_s, nominal.own_vertical_rate_fpm, "--", color=_OWN, lw=0.8, label="flown (nominal)")
    _keep_readable(axis, 200.0)  # level flight: not a scale of 1e-16 ft/min rounding noise
    note = "none in this encounter"
    senses = said[said.vertical_sense != 0]
    if len(senses):
        first = senses.iloc[0]
        note = f"first: {'climb' if first.vertical_sense > 0 else 'descend'} at {first.t_s:g} s"
    elif (said.vertical_mode > 0).any():
        note = "level off"
    axis.set(
        xlabel="time (s)", ylabel="vertical rate (ft/min)", title=f"vertical guidance ({note}) and the pilot's response"
    )
    axis.legend(fontsize=8, loc="best")


def _relative_heading_deg(heading_deg, initial_deg):
    """Heading relative to the ownship's initial one, in [-180, 180) deg (no jump at north)."""
    return (np.asarray(heading_deg, dtype=float) - initial_deg + 180.0) % 360.0 - 180.0


def _horizontal_response(axis, steps, decisions) -> None:
    """The heading guidance of the mitigated arm against the ownship's heading (from its initial heading)."""
    said, flown, nominal = _arm(decisions, "mitigated"), _arm(steps, "mitigated"), _arm(steps, "nominal")
    initial = float(nominal.own_heading_deg.iloc[0])

    def relative(values):
        return _relative_heading_deg(values, initial)

    axis.plot(
        said.t_s, relative(said.target_heading_deg), ".", color="tab:purple", ms=4, label="guidance: target heading"
    )
    axis.plot(
        flown.t_s, relative(flown.flown_target_heading_deg), color="tab:green", lw=1, label="target the pilot flies"
    )
    axis.plot(flown.t_s, relative(flown.own_heading_deg), color=_OWN, lw=1.2, label="flown (mitigated)")
    axis.plot(nominal.t_s, relative(nominal.own_heading_deg), "--", color=_OWN, lw=0.8, label="flown (nominal)")
    _keep_readable(axis, 20.0)  # a straight flight: not a scale of rounding noise
    note = "" if (said.horizontal_mode > 0).any() else " (none in this encounter)"
    axis.set(
        xlabel="time (s)",
        ylabel=f"heading change from {initial:.0f} deg (deg, + right)",
        title=f"heading guidance{note} and the pilot's response",
    )
    axis.legend(fontsize=8, loc="best")


def _title(replay) -> str:
    o = replay.outcome

    def flags(arm: str) -> str:
        nmac, lowc = bool(o[f"{arm}_nmac"]), bool(o[f"{arm}_lowc"])
        return ", ".join(name for name, hit in (("NMAC", nmac), ("LoWC", lowc)) if hit) or "no NMAC or LoWC"

    alert = f"first alert at {o['t_first_alert_s']:g} s" if o["alerted"] else "no alert"
    return (
        f"encounter {replay.encounter_id} with logic {replay.logic} (weight {replay.weight:.3g}): "
        f"HMD {o['nominal_hmd_ft']:.0f} ft nominal ({flags('nominal')}), {o['mitigated_hmd_ft']:.0f} ft mitigated "
        f"({flags('mitigated')}); {alert}"
    )


def draw_replay(replay):
    """The figure of a replayed encounter (an `encsim.replays.Replay`): seven panels in four rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layout = [["plan", "profile"], ["horizontal", "vertical"], ["alert", "alert"], ["vertical_rate", "heading"]]
    figure, axes = plt.subplot_mosaic(
        layout, figsize=(14, 17), constrained_layout=True, height_ratios=[1.4, 1.0, 0.6, 1.0]
    )
    steps, decisions = replay.steps, replay.decisions
    _flights(axes["plan"], axes["profile"], steps)
    _separations(axes["horizontal"], axes["vertical"], steps, replay.nmac_ft, replay.well_clear)
    _alerts(axes["alert"], decisions)
    _vertical_response(axes["vertical_rate"], steps, decisions)
    _horizontal_response(axes["heading"], steps, decisions)
    for axis in axes.values():
        axis.grid(alpha=0.3)
    figure.suptitle(_title(replay) + "\nownship solid: mitigated, dashed: nominal", fontsize=11)
    return figure


def save_replay(replay, output) -> Path:
    """Draw ``replay`` (`draw_replay`) into the PNG file ``output``; returns its path."""
    import matplotlib.pyplot as plt

    figure = draw_replay(replay)
    output = Path(output)
    figure.savefig(output, dpi=100)
    plt.close(figure)
    return output
