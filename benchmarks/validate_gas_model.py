"""Gas-model validation of encounter geometry and weights (mitll-reference 4.9, decisions.md 5).

    python benchmarks/validate_gas_model.py [--encounters 40000]

With UncorVsUncor-like bins (HMD edges +-18,240 ft, VMD edges +-1,500 ft) and the HMD-tolerance and
initial-separation checks off, prints for R = 0.5, 1, 2, 3 NM:

- the weighted P(|sampled HMD| < 500 ft | |sampled HMD| < R) against 500 / R (asserted in the tests);
- the full gas-model figure, weighted P(NMAC | the intruder penetrates the cylinder of radius R and
  half-height 1,000 ft around the ownship at some 10-Hz sample), against (500 / R)(100 / 1000),
  with 99 % intervals (delta method for the ratio estimator).
The full figure also assumes a flat natural VMD density over +-1,000 ft, which holds only
approximately; the output says by how much it deviates, it is not tuned away.
"""

from __future__ import annotations

import argparse

import numpy as np

from encsim.encounters import generate_encounters
from encsim.io.scenario import parse_scenario
from encsim.units import FT_PER_NM

SCENARIO = """
name = "gas_model"
[ownship]
model = "uncor_1200only_fwse_v1p2"
presets = { G = 1, A = 4 }
[intruder]
model = "uncor_1200only_rotorcraft_v1p2"
presets = { G = 1, A = 4 }
[geometry]
tcpa_s = 30
duration_s = 60
hmd_edges_ft = [-18240, -1500, -500, 0, 500, 1500, 18240]
hmd_proportions = [0.6666667, 0.8, 1, 1, 0.8, 0.6666667]
vmd_edges_ft = [-1500, -500, -100, 0, 100, 500, 1500]
vmd_weights = [0.5, 0.6666667, 1, 1, 0.6666667, 0.5]
check_hmd_vmd = false
[run]
encounters = 40000
seed = 2026
"""
RADII_NM = (0.5, 1.0, 2.0, 3.0)


def ratio_with_interval(x, w, z=2.576):
    p = np.sum(w * x) / np.sum(w)
    se = np.sqrt(np.sum((w * (x - p)) ** 2)) / np.sum(w)
    return p, p - z * se, p + z * se


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, default=40_000)
    parser.add_argument("--chunk", type=int, default=2_000)
    args = parser.parse_args()
    scenario = parse_scenario(SCENARIO)
    hmd, weights, nmac = [], [], []
    penetrated = {r: [] for r in RADII_NM}
    for start in range(0, args.encounters, args.chunk):
        ids = np.arange(start, min(start + args.chunk, args.encounters))
        encounters = generate_encounters(scenario, ids=ids, keep_trajectories=True)
        own, intr = encounters.trajectories
        horizontal = np.hypot(intr.north_ft - own.north_ft, intr.east_ft - own.east_ft)
        vertical = np.abs(intr.up_ft - own.up_ft)
        for r in RADII_NM:
            penetrated[r].append(np.any((horizontal < r * FT_PER_NM) & (vertical < 1000.0), axis=1))
        meta = encounters.metadata
        hmd.append(np.abs(meta["hmd_signed_sampled_ft"].to_numpy()))
        weights.append(meta["weight"].to_numpy())
        nmac.append(meta["nmac"].to_numpy())
    hmd, weights, nmac = np.concatenate(hmd), np.concatenate(weights), np.concatenate(nmac).astype(float)
    print(f"{args.encounters:,} encounters (FWSE vs rotorcraft, UncorVsUncor-like bins, HMD check off)")
    print(
        f"{'R (NM)':>7} {'HMD part':>10} {'500/R':>8} {'99 % interval':>22} | "
        f"{'P(NMAC|pen.)':>12} {'gas model':>10} {'99 % interval':>22}"
    )
    for r in RADII_NM:
        radius = r * FT_PER_NM
        inside = hmd < radius
        p_hmd, lo_hmd, hi_hmd = ratio_with_interval((hmd[inside] < 500).astype(float), weights[inside])
        pen = np.concatenate(penetrated[r])
        p_gas, lo_gas, hi_gas = ratio_with_interval(nmac[pen], weights[pen])
        expected = 500 / radius * 0.1
        print(
            f"{r:7.1f} {p_hmd:10.5f} {500 / radius:8.5f} {lo_hmd:10.5f} - {hi_hmd:9.5f} | "
            f"{p_gas:12.5f} {expected:10.5f} "
            f"{lo_gas:10.5f} - {hi_gas:9.5f}"
        )


if __name__ == "__main__":
    main()
