"""Standards' numbers are named once: the DAA presets come from the named volumes, unit factors from units.py."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import numpy as np
import pytest

import encsim
from encsim import units
from encsim.avoidance.daidalus import _logic as L
from encsim.avoidance.daidalus.config import load_config
from encsim.avoidance.daidalus.logic import DAA_PRESETS, daidalus_params
from encsim.metrics.detection import DAIDALUS_DWC, NONCOOP_DWC, SMALL_UAS_WC

PACKAGE = Path(encsim.__file__).resolve().parent


@pytest.mark.parametrize("name", sorted(DAA_PRESETS))
def test_daa_parameters_are_built_from_the_named_configuration(name):
    """Each DAA preset's levels are its DAIDALUS configuration's (written once, from DO-365's tables), and the
    corrective volume is the named DWC volume of the metrics (0.66 nmi cooperative, 2200 ft non-cooperative)."""
    preset = DAA_PRESETS[name]
    params = daidalus_params(preset.config, dimension=preset.dimension, alerter=preset.alerter)
    levels = load_config(preset.config).alerter(preset.alerter).levels
    assert params[L.P_N_LEVELS] == len(levels)
    for k, level in enumerate(levels):
        fields = params[L.P_LEVELS + k * L.LEVEL_FIELDS : L.P_LEVELS + (k + 1) * L.LEVEL_FIELDS]
        expected = [level.sum, level.dthr_ft, level.zthr_ft, level.tthr_s, level.tcoa_s]
        expected += [
            level.alerting_time_s,
            level.early_alerting_time_s,
            ["NONE", "FAR", "MID", "NEAR"].index(level.region),
        ]
        assert fields.tolist() == [float(x) for x in expected], (name, k)
    corrective = NONCOOP_DWC if preset.alerter == 3 else DAIDALUS_DWC
    if preset.config == "sua":  # the small-UAS configuration: ASTM F3442's well clear at every level
        corrective = SMALL_UAS_WC
    fields = params[L.P_LEVELS + L.LEVEL_FIELDS : L.P_LEVELS + 2 * L.LEVEL_FIELDS]
    assert fields[[L.L_DTHR, L.L_ZTHR, L.L_TTHR]] == pytest.approx(
        [corrective.dthr_ft, corrective.zthr_ft, corrective.tthr_s], rel=1e-12
    )


def test_unit_factors_agree_with_their_definitions():
    assert units.FT_PER_NM == pytest.approx(1852.0 / 0.3048, rel=1e-15)
    assert units.FPS_PER_KT_MITLL == pytest.approx(units.FPS_PER_KT, abs=1e-6)  # the MIT LL rounding
    assert units.SPEED_RULE_FPS_PER_KT == pytest.approx(units.FPS_PER_KT, abs=1e-5)
    assert units.fpm_to_fps(6000.0) == pytest.approx(6000.0 / units.FPM_PER_FPS) == pytest.approx(100.0)
    assert DAIDALUS_DWC.dthr_ft == pytest.approx(4010.24, abs=0.01)


#: numbers that are unit conversions (ft/m, ft/nmi, kt, seconds per minute or hour), wherever they are written
_UNIT_NUMBERS = {0.3048, 1852.0, 6076.115, 6076.115485564304, 1.68781, 1.68780972, 3.28084, 3600.0}


def _unit_literals(path: Path) -> list[str]:
    """Number tokens of a source file that are unit factors; 60 counts when it multiplies or divides."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(path.read_text()).readline) if t.type != tokenize.NL]
    found = []
    for k, token in enumerate(tokens):
        if token.type != tokenize.NUMBER or "j" in token.string.lower():
            continue
        value = float(ast.literal_eval(token.string))
        neighbours = {tokens[k - 1].string if k else "", tokens[k + 1].string if k + 1 < len(tokens) else ""}
        if np.isclose(list(_UNIT_NUMBERS), value, rtol=1e-9).any() or (value == 60.0 and neighbours & {"*", "/"}):
            found.append(f"{path.relative_to(PACKAGE)}:{token.start[0]}: {token.string}")
    return found


def test_unit_factors_are_written_only_in_units_py():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) if path.name != "units.py" for hit in _unit_literals(path)]
    assert not found, "use the constants of encsim/units.py:\n" + "\n".join(found)
