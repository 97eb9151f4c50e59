"""The README's quick start and CI stay one thing: `.ci/run` runs the two commands as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    section = ROOT.joinpath("README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)


def test_the_readme_has_exactly_two_one_line_set_up_commands():
    commands = quick_start_commands()
    assert len(commands) == 2 and all("\n" not in command for command in commands)
    main_job, tests = commands
    assert "encsim run scenarios/" in main_job and "pip install" in main_job
    assert "pytest" in tests and "pip install" in tests


def test_ci_runs_both_commands_verbatim_in_order():
    ci_lines = [line for line in ROOT.joinpath(".ci", "run").read_text().splitlines() if not line.startswith("#")]
    positions = [ci_lines.index(command) for command in quick_start_commands()]  # ValueError: missing or edited
    assert positions == sorted(positions)
    assert "set -euo pipefail" in ci_lines


def test_ci_runs_the_lint_format_and_import_gates_before_the_tests():
    ci_lines = [line for line in ROOT.joinpath(".ci", "run").read_text().splitlines() if not line.startswith("#")]
    tests_at = ci_lines.index(quick_start_commands()[1])
    for gate in ("ruff check .", "ruff format --check .", "lint-imports"):
        assert ci_lines.index(gate) < tests_at, gate  # ValueError if a gate is missing


def test_the_tests_include_the_docstring_examples():
    options = ROOT.joinpath("pyproject.toml").read_text().split("[tool.pytest.ini_options]", 1)[1].split("\n[", 1)[0]
    assert "--doctest-modules" in options and '"encsim"' in options
