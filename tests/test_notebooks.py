"""The notebooks run top to bottom (at reduced size)."""

from __future__ import annotations

import nbformat
import pytest
from conftest import PROJECT_ROOT
from nbclient import NotebookClient


def execute(name: str, monkeypatch):
    """Run notebooks/NAME at reduced size; returns the executed notebook."""
    monkeypatch.setenv("ENCSIM_QUICKSTART_SMALL", "1")
    monkeypatch.setenv("ENCSIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_ROOT / "notebooks")}}
    ).execute()
    return notebook


def printed(notebook) -> str:
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
def test_quickstart_notebook_runs(monkeypatch):
    text = printed(execute("quickstart.ipynb", monkeypatch))
    assert "acceptance rate" in text and "nmac" in text and "first predicted loss of well clear at t =" in text
    assert "<Results" in text and "daa: NMAC" in text  # the closed-loop run opened with encsim.open_results


@pytest.mark.slow
def test_daa_study_notebook_runs(monkeypatch):
    notebook = execute("daa_study.ipynb", monkeypatch)
    results = [o for o in notebook.cells[2]["outputs"] if o.get("output_type") == "execute_result"]
    table = results[0]["data"]["text/plain"]
    assert "daa" in table and "tcas" in table


@pytest.mark.slow
def test_surrogacy_notebook_runs_and_states_conclusions(monkeypatch):
    import re

    from encsim.bayes.catalogue import load_registry

    text = printed(execute("surrogacy.ipynb", monkeypatch))
    conclusions = [line for line in text.splitlines() if line.startswith("Conclusion:")]
    assert len(conclusions) == 4, conclusions  # one per question, in order
    for line in conclusions:  # computed from the numbers: each one quotes at least one of them
        assert re.search(r"\d\.\d{3}", line), line
    assert "rotorcraft" in conclusions[0] and "transponder code" in conclusions[1]
    assert "radar-era" in conclusions[2] and re.search(r"(agree|disagree)", conclusions[2])
    surrogates = [
        name for name, entry in load_registry().items() if entry.noncooperative_surrogate and not entry.deprecated
    ]
    assert re.match(r"Conclusion: use (\S+) as the surrogate", conclusions[3]).group(1) in surrogates
    assert all(name in conclusions[3] for name in surrogates)  # every recommended surrogate was considered
    assert "stand in" in text or "inconclusive" in text


@pytest.mark.slow
def test_train_and_compare_notebook_runs_and_concludes(monkeypatch):
    import re

    text = printed(execute("train_and_compare.ipynb", monkeypatch))
    conclusions = [line for line in text.splitlines() if line.startswith("Conclusion:")]
    assert len(conclusions) == 4, conclusions  # airspeed, acceleration, vertical rate, turn rate
    assert all(re.search(r"\d\.\d{3}", line) for line in conclusions)
    assert "assumed ground elevation per mission" in text and "training hours" in text
