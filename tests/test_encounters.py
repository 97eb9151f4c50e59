"""Encounter generation: addressability, exact replay, geometry draws, weights, gas-model test."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import PROJECT_ROOT
from scipy.integrate import quad

from encsim.dynamics import fly_commands
from encsim.encounters import _kernels, generate_encounters, relative_speed_normaliser, vmd_acceptance
from encsim.io.scenario import ScenarioError, load_scenario, parse_scenario
from encsim.units import FT_PER_NM

SCENARIOS = PROJECT_ROOT / "scenarios"


@pytest.fixture(scope="module")
def fwse_rotorcraft():
    scenario, text = load_scenario(SCENARIOS / "fwse_vs_rotorcraft.toml")
    return scenario, text, generate_encounters(scenario, text, ids=np.arange(300), keep_trajectories=True)


def test_every_shipped_scenario_validates():
    names = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert names == [
        "daa_fwse_vs_1200code_v2p1",
        "daa_fwse_vs_fwse",
        "daa_fwse_vs_rotorcraft",
        "fwme_vs_fwme",
        "fwse_vs_fwse",
        "fwse_vs_rotorcraft",
        "fwse_vs_rotorcraft_below_500ft",
        "rotorcraft_vs_rotorcraft",
        "suas_survey_vs_1200code",
        "uncor_1200code_v2p1_above_500ft",
    ]
    for path in SCENARIOS.glob("*.toml"):
        load_scenario(path)


def test_encounters_are_addressable_by_id(fwse_rotorcraft):
    scenario, text, full = fwse_rotorcraft
    subset = generate_encounters(scenario, text, ids=np.array([5, 77, 250]))
    rows = full.metadata.set_index("encounter_id").loc[[5, 77, 250]]
    np.testing.assert_array_equal(subset.metadata["weight"], rows["weight"])
    np.testing.assert_array_equal(subset.metadata["hmd_ft"], rows["hmd_ft"])
    np.testing.assert_array_equal(subset.metadata["attempts"], rows["attempts"])


def test_placed_encounters_replay_exactly_from_initial_states_and_commands(fwse_rotorcraft):
    scenario, _, encounters = fwse_rotorcraft
    own_placed, int_placed = encounters.trajectories
    for initial, sample, placed in (
        (encounters.own_initial, encounters.ownship, own_placed),
        (encounters.int_initial, encounters.intruder, int_placed),
    ):
        replay = fly_commands(initial, sample.schedule, scenario.geometry.duration_s)
        np.testing.assert_allclose(replay.north_ft, placed.north_ft, atol=1e-6)
        np.testing.assert_allclose(replay.east_ft, placed.east_ft, atol=1e-6)
        np.testing.assert_allclose(replay.up_ft, placed.up_ft, atol=1e-6)


def test_geometry_at_cpa(fwse_rotorcraft):
    scenario, _, encounters = fwse_rotorcraft
    meta = encounters.metadata
    own, intr = encounters.trajectories
    k = scenario.geometry.tcpa_s * 10
    # ownship heads north at tCPA; the intruder flies the drawn heading; it sits at the signed HMD
    np.testing.assert_allclose(np.mod(own.heading_rad[:, k] + np.pi, 2 * np.pi) - np.pi, 0.0, atol=1e-9)
    np.testing.assert_allclose(
        np.mod(intr.heading_rad[:, k] - meta["int_heading_tcpa_rad"] + np.pi, 2 * np.pi) - np.pi, 0.0, atol=1e-9
    )
    range_at_tcpa = np.hypot(intr.north_ft[:, k] - own.north_ft[:, k], intr.east_ft[:, k] - own.east_ft[:, k])
    np.testing.assert_allclose(range_at_tcpa, np.abs(meta["hmd_signed_sampled_ft"]), rtol=1e-9, atol=1e-6)
    assert np.all(np.abs(meta["hmd_ft"] - np.abs(meta["hmd_signed_sampled_ft"])) < 500)
    assert np.all(np.abs(meta["vmd_signed_sampled_ft"]) < 300)
    np.testing.assert_allclose(own.north_ft[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(meta["own_alt_tcpa_ft"], own.up_ft[:, k], atol=1e-9)
    rows = np.arange(len(meta))
    k_tca = np.rint(meta["tca_s"].to_numpy() * 10).astype(int)  # the realised closest approach
    np.testing.assert_allclose(meta["int_alt_tca_ft"], intr.up_ft[rows, k_tca], atol=1e-9)
    np.testing.assert_allclose(meta["own_speed_tca_kt"], own.speed_fps[rows, k_tca] * 3600 / 6076.115, rtol=1e-6)
    range_at_tca = np.hypot(
        intr.north_ft[rows, k_tca] - own.north_ft[rows, k_tca], intr.east_ft[rows, k_tca] - own.east_ft[rows, k_tca]
    )
    assert np.all(range_at_tca <= range_at_tcpa + 1e-6)  # no 10-Hz sample is closer than the TCA's
    assert encounters.rejections["vmd_screen"] > 0 and encounters.rejections["vmd"] > 0
    assert 0 < encounters.acceptance_rate < 1


def test_weights_multiply_their_stored_ingredients(fwse_rotorcraft):
    _, _, encounters = fwse_rotorcraft
    meta = encounters.metadata
    np.testing.assert_allclose(
        meta["weight"], meta["weight_normaliser"] * meta["weight_hmd"] * meta["weight_vmd"], rtol=1e-12
    )
    recomputed = relative_speed_normaliser(
        meta["own_hspeed_tcpa_fps"].to_numpy(),
        meta["int_hspeed_tcpa_fps"].to_numpy(),
        meta["own_hdot_tcpa_fps"].to_numpy(),
        meta["int_hdot_tcpa_fps"].to_numpy(),
    )
    np.testing.assert_allclose(meta["weight_normaliser"], recomputed, rtol=1e-12)
    np.testing.assert_allclose(meta["weight_vmd"], 1 / vmd_acceptance([1, 1, 5, 5, 1, 1])[meta["vmd_bin"] - 1])


@pytest.mark.parametrize(
    "v1,v2,dh,reference_low",
    [(150.0, 100.0, 0.0, True), (200.0, 200.0, 10.0, False), (50.0, 300.0, 25.0, True), (0.0, 120.0, 5.0, False)],
)
def test_relative_speed_normaliser_is_the_integral_and_the_reference_form_is_not(v1, v2, dh, reference_low):
    exact, _ = quad(
        lambda psi: math.sqrt((v2 * math.cos(psi) - v1) ** 2 + (v2 * math.sin(psi)) ** 2 + dh**2),
        0,
        2 * math.pi,
        limit=200,
    )
    correct = float(relative_speed_normaliser(np.array([v1]), np.array([v2]), np.array([0.0]), np.array([dh]))[0])
    assert correct == pytest.approx(exact, rel=1e-9)
    reference = float(
        relative_speed_normaliser(np.array([v1]), np.array([v2]), np.array([0.0]), np.array([dh]), "reference")[0]
    )
    if reference_low:  # exact only when a speed is 0 or the speeds are (nearly) equal
        assert reference < correct * 0.99  # up to 8.5 % too small
    assert reference >= 0.915 * correct


def test_heading_density_is_proportional_to_relative_speed_and_hmd_follows_the_proposal():
    n = 200_000
    v_own, v_int, dh = 150.0, 100.0, 0.0
    out = {
        "vmd_bin": np.empty(n, np.int64),
        "accepted": np.empty(n, np.bool_),
        "psi": np.zeros(n),
        "hmd": np.zeros(n),
        "hmd_bin": np.zeros(n, np.int64),
    }
    hmd_edges = np.array([-2000.0, -1000, -500, 0, 500, 1000, 2000])
    proportions = np.array([1.0, 1, 5, 5, 1, 1])
    _kernels.geometry_kernel(
        _kernels.Attempts(
            np.uint64(3),
            np.arange(n, dtype=np.uint64),
            np.zeros(n, np.uint64),
            np.zeros(n),
            np.full(n, v_own),
            np.full(n, v_int),
            np.zeros(n),
            np.full(n, dh),
        ),
        _kernels.Proposal(
            np.array([-300.0, 300.0]), np.array([1.0]), hmd_edges, np.cumsum(proportions) / proportions.sum()
        ),
        _kernels.GeometryOutputs(out["vmd_bin"], out["accepted"], out["psi"], out["hmd"], out["hmd_bin"]),
    )
    assert out["accepted"].all()
    edges = np.linspace(-math.pi, math.pi, 13)
    speed = lambda psi: math.sqrt((v_int * math.cos(psi) - v_own) ** 2 + (v_int * math.sin(psi)) ** 2)  # noqa: E731
    total = quad(speed, -math.pi, math.pi)[0]
    exact = np.array([quad(speed, a, b)[0] / total for a, b in itertools.pairwise(edges)])
    freq = np.histogram(out["psi"], edges)[0] / n
    assert np.all(np.abs(freq - exact) <= 5 * np.sqrt(exact * (1 - exact) / n))
    hmd_freq = np.histogram(out["hmd"], hmd_edges)[0] / n
    expected = proportions / proportions.sum()
    assert np.all(np.abs(hmd_freq - expected) <= 5 * np.sqrt(expected * (1 - expected) / n))


def test_scenario_errors_name_the_key_the_value_and_what_is_allowed():
    text = (SCENARIOS / "fwse_vs_rotorcraft.toml").read_text()
    with pytest.raises(ScenarioError, match=r"geometry: tcpa_s = 90 must satisfy 0 <= tcpa_s <= duration_s = 60"):
        parse_scenario(text.replace("tcpa_s = 30", "tcpa_s = 90"))
    with pytest.raises(ScenarioError, match=r"geometry.hmd_edges_ft = .*must increase strictly"):
        parse_scenario(text.replace("hmd_edges_ft = [-2000, -1000", "hmd_edges_ft = [-1000, -2000"))
    with pytest.raises(ScenarioError, match=r"geometry.vmd_weights = .*non-negative"):
        parse_scenario(text.replace("vmd_weights = [1, 1, 5", "vmd_weights = [-1, 1, 5"))
    with pytest.raises(ScenarioError, match=r"ownship.colour = 'red': unknown key"):
        parse_scenario(text.replace("[ownship]\n", '[ownship]\ncolour = "red"\n'))
    with pytest.raises(ScenarioError, match="did you mean uncor_1200only_fwse_v1p2"):
        parse_scenario(text.replace('model = "uncor_1200only_fwse_v1p2"', 'model = "uncor_1200only_fwse_v1p3"'))
    with pytest.raises(ScenarioError, match="encounters refused"):
        parse_scenario(text.replace('model = "uncor_1200only_fwse_v1p2"', 'model = "skydiving_v1"'))
    with pytest.raises(ScenarioError, match=r"layer 1 is \[500.0, 50.0\]"):
        parse_scenario(
            text.replace(
                "presets = { G = 1, A = 4 }\n\n[intruder]",
                "presets = { G = 1, A = 4 }\nlayers_ft = [[500, 50]]\n\n[intruder]",
                1,
            )
        )
    with pytest.raises(ScenarioError, match="run.encounters = 0"):
        parse_scenario(text.replace("encounters = 10000", "encounters = 0"))
    from conftest import MODEL_DIR

    for refused in ("skydiving_v1", "terminal_v3_radar_encounter_model"):  # by path too: the registry knows the file
        path = (MODEL_DIR / f"{refused}.txt").as_posix()
        with pytest.raises(ScenarioError, match=f"intruder.model = '{path}': model {refused}: encounters refused"):
            parse_scenario(text.replace('model = "uncor_1200only_rotorcraft_v1p2"', f'model = "{path}"'))
    from encsim import load_model
    from encsim.encounters.generator import refuse_for_encounters

    with pytest.raises(ValueError, match="encounters refused"):
        refuse_for_encounters(load_model("balloon_v1"))
    assert "max_hmd_ft" not in text
    with pytest.raises(ScenarioError, match=r"hmd_edges_ft reach -2000 ft, outside the target .*\[-1500, 1500\] ft"):
        parse_scenario(text.replace("[geometry]\n", "[geometry]\nmax_hmd_ft = 1500\n", 1))


GAS_SCENARIO = """
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
encounters = 4000
seed = 11
"""


@pytest.mark.slow
def test_gas_model_hmd_part():
    """Weighted P(|sampled HMD| < 500 | |sampled HMD| < R) = 500 / R (decisions.md section 5)."""
    scenario = parse_scenario(GAS_SCENARIO)
    meta = generate_encounters(scenario).metadata
    hmd = np.abs(meta["hmd_signed_sampled_ft"].to_numpy())
    w = meta["weight"].to_numpy()
    for r_nm in (0.5, 1.0, 2.0, 3.0):
        radius = r_nm * FT_PER_NM
        inside = hmd < radius
        x, wi = (hmd[inside] < 500).astype(float), w[inside]
        p = np.sum(wi * x) / np.sum(wi)
        # ratio estimator's standard error (delta method); 99 % two-sided
        se = np.sqrt(np.sum((wi * (x - p)) ** 2)) / np.sum(wi)
        assert abs(p - 500 / radius) <= 2.576 * se + 1e-12, (r_nm, p, 500 / radius, se)


def test_sampler_redraws_inside_encounter_attempts_are_counted_exactly():
    """decisions 3: empty-column and initial-rule redraws are counted per variable in every run;
    recounted here by sampling again every attempt the generator made (the accepted one included)."""
    from encsim.encounters.generator import _side
    from encsim.random import seed_to_uint64
    from encsim.sampling import sample_track_ids

    scenario, text = load_scenario(SCENARIOS / "fwse_vs_rotorcraft.toml")
    encounters = generate_encounters(scenario, text, ids=np.arange(2000))
    meta = encounters.metadata
    ids = np.repeat(meta["encounter_id"].to_numpy(), meta["attempts"].to_numpy()).astype(np.uint64)
    attempts = np.concatenate([np.arange(a) for a in meta["attempts"].to_numpy()]).astype(np.uint64)
    accepted = attempts == np.repeat(meta["attempts"].to_numpy() - 1, meta["attempts"].to_numpy())
    n, in_accepted_attempts = ids.shape[0], 0
    for sub_stream, (side, spec) in enumerate((("ownship", scenario.ownship), ("intruder", scenario.intruder))):
        aircraft = _side(spec)
        per_track = []
        again = sample_track_ids(
            aircraft.model,
            ids,
            seed=seed_to_uint64(scenario.run.seed),
            duration_s=scenario.geometry.duration_s,
            start=aircraft.presets or None,
            layers_ft=aircraft.layers,
            sub_streams=np.full(n, sub_stream),
            attempts=attempts,
            rejects_per_track=per_track,
        )
        for reason, count in again.rejections.items():
            assert encounters.rejections[f"{side}_sampler:{reason}"] == count, (side, reason)
        in_accepted_attempts += int(per_track[0][1][accepted].sum())
    assert sum(v for k, v in encounters.rejections.items() if "sampler:" in k) > 0  # the case has some,
    assert in_accepted_attempts > 0  # and some inside accepted attempts, which count too
