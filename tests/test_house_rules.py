"""House rules a test can check that the linters do not (issue 22): no docstring example is skipped.

An example that needs files a test does not have is written as a plain usage block (``::``), not
as a ``>>>`` example marked ``+SKIP``: every ``>>>`` example under ``encsim/`` runs as a doctest.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "encsim"


def test_no_docstring_example_is_skipped():
    skipped = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "doctest: +SKIP" in line or "doctest:+SKIP" in line
    ]
    assert not skipped, f"docstring examples marked +SKIP (write them as usage blocks, or make them run): {skipped}"
