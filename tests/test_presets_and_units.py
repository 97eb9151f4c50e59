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
from encsim.avoidance.daa import ALERTERS, daa_params, recovery_volumes
from encsim.metrics.detection import DAIDALUS_DWC, DO365_DWC, DO365_PREVENTIVE, NMAC, NONCOOP_DWC

PACKAGE = Path(encsim.__file__).resolve().parent


@pytest.mark.parametrize("preset", sorted(ALERTERS))
def test_daa_parameters_are_built_from_the_named_volumes(preset):
    params = daa_params(preset)
    expected_dwc = {"do365": DO365_DWC, "daidalus": DAIDALUS_DWC, "noncoop": NONCOOP_DWC}[preset]
    expected_preventive = DO365_PREVENTIVE if preset != "noncoop" else NONCOOP_DWC
    for level, volume in enumerate((expected_preventive, expected_dwc, expected_dwc)):
        fields = params[6 * level : 6 * level + 4]
        assert fields.tolist() == [volume.dthr_ft, volume.zthr_ft, volume.tthr_s, volume.hmd_ft], (preset, level)
    assert recovery_volumes(params)[-1].tolist() == [NMAC.radius_ft, NMAC.half_height_ft]


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
