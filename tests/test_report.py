"""`encsim report RUN [RUN...]` (issue 17, "Report"): the HTML page from the packaged Jinja2 templates
for a results file and a run directory, several runs over the same encounters compared, runs over
different encounters refused, the provenance table, and a title and labels on every plot."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import small_scenario_text

from encsim.cli import main
from encsim.io import report_figures
from encsim.runner import run_scenario

SCENARIO = small_scenario_text("report_test", tcpa_s=40, duration_s=70, hmd_ft=2000, vmd_ft=400, encounters=30)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two results files (daa, tcas) and a run directory (daa-vertical) over the same encounters, and
    a results file over other encounters (another seed)."""
    folder = tmp_path_factory.mktemp("report")
    scenario = folder / "scenario.toml"
    scenario.write_text(SCENARIO)
    runner = CliRunner()
    made = {}
    for logic, extra in (("daa", []), ("tcas", []), ("other", ["--seed", "6"])):
        path = folder / f"{logic}.h5"
        args = ["run", str(scenario), "--logic", "daa" if logic == "other" else logic, "-o", str(path), "--quiet"]
        result = runner.invoke(main, args + extra)
        assert result.exit_code == 0, result.output
        made[logic] = path
    made["run_dir"] = run_scenario(scenario, folder / "run_dir", logic="daa-vertical").run_dir
    return made


def report(args):
    return CliRunner().invoke(main, ["report", *map(str, args)])


def test_a_results_file_gives_a_page_with_headline_figures_alerting_rows_and_provenance(runs, tmp_path):
    page_path = tmp_path / "one.html"
    result = report([runs["daa"], "-o", page_path])
    assert result.exit_code == 0, result.output
    page = " ".join(page_path.read_text().split())  # the template's line breaks as spaces
    assert "<h2>Headline</h2>" in page and "The daa logic alerts in" in page
    for title in ("Risk ratio (NMAC)", "LoWC ratio", "Alert rate", "Nuisance-alert rate"):
        assert f'<div class="title">{title}</div>' in page
    encounter_pages = page.count('alt="encounter ')
    # ratios, closest approaches (all, zoomed), timing, P(alert), and the replayed encounters worth a look
    assert page.count('src="data:image/png;base64,') == 5 + encounter_pages
    assert "importance-sampled" in page and "negative values: the alert came before the loss of well clear" in page
    assert "<h2>DO-365 alerting performance</h2>" in page and "L2 corrective" in page and "in window" in page
    assert "[geometry" in page and "resolved (LOWC)" in page  # the whole summary table, collapsible
    provenance = page.split("<h2>Provenance</h2>", 1)[1]
    for field in (
        "encsim 0.1.0",
        "seed",
        "ownship model",
        "uncor_1200only_fwse_v1p2 (sha256 ",
        "logic source sha256",
        "pilot",
        "initial delay 5 s",
        "surveillance",
        "decision period",
        "well-clear preset",
        "NMAC cylinder",
        "radius 500 ft, half height 100 ft",
        "identity",
        "Scenario text",
        "DAA configuration",
        "do365b (sha256 ",
    ):
        assert field in provenance, field
    assert "{&#34;" not in provenance and "{'" not in provenance  # a table, not a raw dict
    assert "{% block" not in page and "encsim show" in page  # the place for the per-encounter pages
    default = report([runs["daa"]])  # the default output: next to the input
    assert default.exit_code == 0 and runs["daa"].with_suffix(".html").is_file()


def test_a_run_directory_and_two_files_over_the_same_encounters_are_compared_on_one_page(runs, tmp_path):
    page_path = tmp_path / "three.html"
    result = report([runs["daa"], runs["tcas"], runs["run_dir"], "-o", page_path])
    assert result.exit_code == 0, result.output
    page = " ".join(page_path.read_text().split())
    assert "All 3 runs fly the same 30 encounters" in page and "seed 5" in page
    assert "<h2>Runs compared</h2>" in page
    for logic in ("daa", "tcas", "daa-vertical"):
        assert f"<h3>{logic}</h3>" in page and f"The {logic} logic alerts in" in page
    # one chart per display, every run in it, and the replayed encounters worth a look
    assert page.count('src="data:image/png;base64,') == 5 + page.count('alt="encounter ')
    assert "run directory, 3 file(s) read" in page  # read through its (verified) chunk files
    alone = report([runs["run_dir"], "-o", tmp_path / "dir.html"])
    assert alone.exit_code == 0 and "daa-vertical" in (tmp_path / "dir.html").read_text()


def test_runs_over_different_encounters_are_refused_and_inputs_never_overwritten(runs, tmp_path):
    result = report([runs["daa"], runs["other"], "-o", tmp_path / "x.html"])
    assert result.exit_code == 2 and "fly different encounters: seed 6 vs 5" in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.html").exists()
    before = runs["tcas"].read_bytes()
    clash = report([runs["daa"], runs["tcas"], "-o", runs["tcas"], "--overwrite"])
    assert clash.exit_code == 2 and "this is the command's input (results file) 2" in clash.output
    assert runs["tcas"].read_bytes() == before


def test_every_plot_has_a_title_and_labelled_axes(runs, tmp_path, monkeypatch):
    drawn = []
    original = report_figures.png_uri

    def keep(figure):
        drawn.append(
            (
                figure.get_suptitle(),
                [(a.get_title(), a.get_xlabel(), a.get_ylabel()) for a in figure.axes if a.get_visible()],
            )
        )
        return original(figure)

    monkeypatch.setattr(report_figures, "png_uri", keep)
    result = report([runs["daa"], runs["tcas"], "-o", tmp_path / "two.html"])
    assert result.exit_code == 0, result.output
    pages = (tmp_path / "two.html").read_text().count('alt="encounter ')
    assert len(drawn) == 5 + pages  # the report's figures and the replayed encounters (encsim show's)
    for suptitle, axes in drawn:
        for title, xlabel, ylabel in axes:
            if re.fullmatch(r"weighted P\(alert\)", ylabel):  # the colour bar: labelled, no title of its own
                continue
            assert (title or suptitle) and xlabel, (suptitle, title, xlabel)


def test_the_encounters_worth_a_look_are_replayed_and_drawn_on_the_page(runs, tmp_path, monkeypatch):
    import encsim.io.report as report_module

    def first_two(outcomes, n=5):  # two real encounters of the run, ranked as if they were NMACs
        rows = outcomes.head(2)
        return [
            {
                "kind": "induced NMAC",
                "encounter_id": int(r.encounter_id),
                "weight": float(r.weight),
                "hmd": 0.0,
                "vmd": 0.0,
                "figure": None,
            }
            for r in rows.itertuples()
        ]

    monkeypatch.setattr(report_module, "_worst", first_two)
    drawn = tmp_path / "drawn.html"
    result = report([runs["daa"], "--pages", "1", "-o", drawn])
    assert result.exit_code == 0, result.output
    page = drawn.read_text()
    assert page.count('alt="encounter ') == 1  # --pages 1: the first of the two
    assert page.count("encsim show ") >= 2  # both keep their command
    none = tmp_path / "none.html"
    assert report([runs["daa"], "--pages", "0", "-o", none]).exit_code == 0
    assert 'alt="encounter ' not in none.read_text()
