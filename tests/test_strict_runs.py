"""Never silently wrong (issue 18, cases 1-4, 8 and 10): locked run directories, full provenance on
resume, no overwrites, I/O faults and damaged files, and the one run path of both output kinds."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import small_scenario_text

from encsim.cli import main
from encsim.io.encounters_file import DamagedFileError, read_encounter_file
from encsim.runner import run_scenario
from encsim.runner.lock import LOCK, RunLockedError, locked
from encsim.runner.run import merge_run, verify_run_directory

SCENARIO = small_scenario_text("strict_runs", encounters=20, chunk_size=10, seed=5)


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "strict.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def finished(scenario_file, tmp_path_factory):
    """A finished run directory (never modified by the tests: they copy it)."""
    return run_scenario(scenario_file, tmp_path_factory.mktemp("finished") / "run").run_dir


def copy_of(run_dir, tmp_path, name="copy"):
    target = tmp_path / name
    shutil.copytree(run_dir, target)
    return target


def datasets(path) -> dict:
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return found


# ------------------------------------------------------------------------------ one run path


def test_run_to_a_file_and_to_a_directory_give_the_same_data_and_provenance(scenario_file, finished, tmp_path):
    result = CliRunner().invoke(main, ["run", str(scenario_file), "-o", str(tmp_path / "r.h5"), "--quiet"])
    assert result.exit_code == 0, result.output
    single = datasets(tmp_path / "r.h5")
    joined = datasets(finished / "results.h5")
    for name, values in joined.items():  # the joined file holds metadata (and outcomes): the same bytes
        np.testing.assert_array_equal(single[name], values, err_msg=name)
    chunks = [datasets(finished / "chunks" / f"chunk_{k:06d}.h5") for k in range(2)]
    for name in ("ownship/schedule/hdot_fps", "intruder/initial/alt_ft"):
        np.testing.assert_array_equal(single[name], np.concatenate([chunk[name] for chunk in chunks]))
    with h5py.File(tmp_path / "r.h5") as f, h5py.File(finished / "results.h5") as g:
        assert json.loads(f.attrs["identity"]) == json.loads(g.attrs["identity"])  # the same provenance
    assert "attempts" in result.output and "P(NMAC)" in result.output


# ------------------------------------------------------------------------------ case 1: lock


def test_case_1_a_second_run_into_a_locked_directory_is_refused_naming_the_holder(scenario_file, tmp_path):
    run_dir = tmp_path / "run"
    with locked(run_dir) as holder:
        with pytest.raises(RunLockedError) as info:
            run_scenario(scenario_file, run_dir)
        message = str(info.value)
        assert f"pid {os.getpid()} on host {socket.gethostname()}, started {holder['started_utc']}" in message
        cli = CliRunner().invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--quiet"])
        assert cli.exit_code == 2 and "in use by another encsim run: pid" in cli.output
        assert "Traceback" not in cli.output
    assert not (run_dir / LOCK).exists() and not (run_dir / "manifest.json").exists()  # nothing written
    run_scenario(scenario_file, run_dir)  # free again
    assert not (run_dir / LOCK).exists()


def test_case_1_report_and_merge_refuse_a_directory_a_run_is_writing(finished, tmp_path):
    run_dir = copy_of(finished, tmp_path)
    with locked(run_dir):
        report = CliRunner().invoke(main, ["report", str(run_dir)])
        assert report.exit_code == 2 and "is being written by an encsim run (pid" in report.output
        merge = CliRunner().invoke(main, ["merge", str(run_dir)])
        assert merge.exit_code == 2 and "in use by another encsim run" in merge.output


def test_case_1_a_stale_lock_of_a_killed_run_is_cleared_and_one_of_another_host_is_kept(scenario_file, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is now free (and not reused within the test: pids advance)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    stale = {"pid": dead.pid, "host": socket.gethostname(), "started_utc": "2026-01-01T00:00:00+00:00"}
    (run_dir / LOCK).write_text(json.dumps(stale))
    cleared = []
    from encsim.runner.lock import acquire, release

    holder = acquire(run_dir, on_stale=cleared.append)
    assert cleared and f"process {dead.pid} is gone" in cleared[0]
    release(run_dir, holder)
    (run_dir / LOCK).write_text(json.dumps({**stale, "host": "another-host.example"}))
    with pytest.raises(RunLockedError, match=rf"pid {dead.pid} on host another-host.example.*remove .*{LOCK}"):
        run_scenario(scenario_file, run_dir)
    (run_dir / LOCK).write_text("{half a lock")
    with pytest.raises(RunLockedError, match="cannot be read"):
        run_scenario(scenario_file, run_dir)


# ------------------------------------------------------------------------------ case 2: provenance


def test_case_2_resume_refuses_a_changed_model_file_naming_it(tmp_path, model_dir):
    model = tmp_path / "fwse_copy.txt"
    model.write_bytes((model_dir / "uncor_1200only_fwse_v1p2.txt").read_bytes())
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO.replace('model = "uncor_1200only_fwse_v1p2"', f'model = "{model}"'))
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario, tmp_path / "run", stop_after=1)
    model.write_text(model.read_text() + "\n")  # the same tables, other bytes: another file all the same
    with pytest.raises(ValueError, match=r"ownship_model_sha256 \(\"[0-9a-f]{10}.* recorded, \"[0-9a-f]{10}.* now\)"):
        run_scenario(scenario, tmp_path / "run", resume=True)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert list(manifest["chunks"]) == ["0"]  # nothing mixed in


PLUGIN = """
def climb(t_s, own, intruder, memory, params, advisory):
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    if abs(intruder[0] - own[0]) < 3000.0:
        advisory[0], advisory[1], advisory[2], advisory[6] = 2.0, 1.0, {rate}, 1.0
"""


@pytest.mark.filterwarnings("ignore:a plain Python logic")
def test_case_2_resume_refuses_a_changed_logic_naming_its_source_and_parameters(scenario_file, tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    module = folder / "strict_case2_logic.py"
    module.write_text(textwrap.dedent(PLUGIN.format(rate="20.0")))
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario_file, tmp_path / "run", logic="strict_case2_logic:climb", stop_after=1)
    module.write_text(textwrap.dedent(PLUGIN.format(rate="25.0")))
    with pytest.raises(ValueError, match=r"closed_loop.logic_source_sha256 .* recorded, .* now"):
        run_scenario(scenario_file, tmp_path / "run", logic="strict_case2_logic:climb", resume=True)
    with pytest.raises(ValueError, match=r"logic \(\"strict_case2_logic:climb\" recorded, \"tcas\" now\)"):
        run_scenario(scenario_file, tmp_path / "run", logic="tcas", resume=True)


def test_case_2_a_chunk_computed_from_other_inputs_is_never_joined(scenario_file, finished, tmp_path):
    run_dir = copy_of(finished, tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["chunks"]["1"]["identity"]["intruder_model_sha256"] = "0" * 64  # as a worker with another file
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"chunk 1: .*chunk_000001.h5: made from something else \(intruder_model"):
        verify_run_directory(run_dir)
    resumed = run_scenario(scenario_file, run_dir, resume=True)  # the chunk is recomputed, the rest kept
    assert resumed.chunks_computed == 1 and resumed.chunks_reused == 1


# ------------------------------------------------------------------------------ case 3: outputs


def test_case_3_outputs_are_never_overwritten_by_default_and_never_an_input(scenario_file, finished, tmp_path):
    runner = CliRunner()
    results = tmp_path / "r.h5"
    assert runner.invoke(main, ["run", str(scenario_file), "-o", str(results), "--quiet"]).exit_code == 0
    before = results.read_bytes()
    again = runner.invoke(main, ["run", str(scenario_file), "-o", str(results), "--quiet"])
    assert again.exit_code == 2 and "exists; pass --overwrite to replace it" in again.output
    assert results.read_bytes() == before
    assert runner.invoke(main, ["run", str(scenario_file), "-o", str(results), "--quiet", "--overwrite"]).exit_code == 0
    tracks = tmp_path / "tracks.h5"
    sample = ["sample", "uncor_1200only_fwse_v1p2", "-n", "3", "--duration", "10", "-o", str(tracks), "--quiet"]
    assert runner.invoke(main, sample).exit_code == 0
    assert "exists; pass --overwrite" in runner.invoke(main, sample).output
    scenario_copy = tmp_path / "scenario.toml"
    scenario_copy.write_text(SCENARIO)
    run_dir = copy_of(finished, tmp_path)
    cases = [
        (["report", str(results), "-o", str(results)], "this is the command's input (results file)"),
        (["report", str(results), "-o", str(results), "--overwrite"], "this is the command's input"),
        (["report", str(results), "-o", str(scenario_copy)], "exists; pass --overwrite"),
        (["report", str(run_dir), "-o", str(run_dir / "chunks" / "chunk_000000.h5")], "input (chunk file"),
        (["run", str(scenario_copy), "-o", str(scenario_copy) + ".h5"], None),
        (["plot", str(tracks), "-o", str(tracks), "--overwrite"], "this is the command's input (tracks file)"),
    ]
    for args, words in cases:
        result = runner.invoke(main, args)
        if words is None:
            continue
        assert result.exit_code == 2 and words in result.output, (args, result.output)
    assert scenario_copy.read_text() == SCENARIO
    with h5py.File(results) as f:
        assert "scenario_text" in f.attrs  # still the results, not a page


def test_case_3_an_output_another_process_writes_meanwhile_is_not_replaced(scenario_file, tmp_path, monkeypatch):
    import encsim.io.encounters_file as encounters_file

    output, original = tmp_path / "r.h5", encounters_file._append

    def append(group, name, values):  # another process finishes the same output while this one writes
        if not output.exists():
            output.write_text("the other process's results")
        original(group, name, values)

    monkeypatch.setattr(encounters_file, "_append", append)
    result = CliRunner().invoke(main, ["run", str(scenario_file), "-o", str(output), "--quiet"])
    assert result.exit_code == 2 and "appeared while this file was written" in result.output, result.output
    assert output.read_text() == "the other process's results" and list(tmp_path.iterdir()) == [output]


# ------------------------------------------------------------------------------ case 4: mixed chunks


def test_case_4_a_chunk_swapped_for_one_of_another_seed_is_refused_by_every_reader(scenario_file, finished, tmp_path):
    other_scenario = tmp_path / "other.toml"
    other_scenario.write_text(SCENARIO.replace("seed = 5", "seed = 6"))
    other = run_scenario(other_scenario, tmp_path / "other").run_dir
    run_dir = copy_of(finished, tmp_path)
    shutil.copy(other / "chunks" / "chunk_000001.h5", run_dir / "chunks" / "chunk_000001.h5")
    runner = CliRunner()
    for args in (["report", str(run_dir)], ["merge", str(run_dir)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and "chunk_000001.h5: its sha256 is not the manifest's" in result.output, (
            args,
            result.output,
        )
    with pytest.raises(
        DamagedFileError, match=r"chunk files that changed since the run wrote them: \['chunks/chunk_000001"
    ):
        read_encounter_file(run_dir / "results.h5")
    # even with the manifest edited to vouch for the swapped bytes, the chunk's own identity differs
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["chunks"]["1"]["sha256"] = json.loads((other / "manifest.json").read_text())["chunks"]["1"]["sha256"]
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"chunk 1: .* its own identity is not the run's \(scenario_sha256 .*seed \(6"):
        merge_run(run_dir)


# ------------------------------------------------------------------------------ case 8: I/O faults


def _disk_fills_after(monkeypatch, calls: int):
    import encsim.io.encounters_file as encounters_file

    original, count = encounters_file._append, {"n": 0}

    def append(group, name, values):
        count["n"] += 1
        if count["n"] > calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(group, name, values)

    monkeypatch.setattr(encounters_file, "_append", append)


def test_case_8_disk_full_while_writing_a_file_ends_with_one_message_and_no_partial_file(
    scenario_file, tmp_path, monkeypatch
):
    _disk_fills_after(monkeypatch, 100)
    out = tmp_path / "out"
    out.mkdir()
    for command in ("run", "encounters"):
        result = CliRunner().invoke(main, [command, str(scenario_file), "-o", str(out / "r.h5"), "--quiet"])
        assert result.exit_code == 2, result.output
        assert f"-o {out / 'r.h5'}: cannot write (No space left on device); nothing was written" in result.output
        assert result.output.count("error") == 1 and "Traceback" not in result.output
        assert list(out.iterdir()) == []  # neither the output nor a partial file


def test_case_8_disk_full_in_a_run_directory_keeps_the_finished_chunks_for_resume(scenario_file, tmp_path, monkeypatch):
    _disk_fills_after(monkeypatch, 100)  # the first chunk's file is complete, the second's is not
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--quiet"])
    assert result.exit_code == 2 and "cannot write (No space left on device)" in result.output, result.output
    assert "--resume" in result.output and not list((run_dir / "chunks").glob("*.partial"))
    assert not (run_dir / LOCK).exists()
    monkeypatch.undo()
    resumed = run_scenario(scenario_file, run_dir, resume=True)
    assert resumed.chunks_reused == 1 and resumed.chunks_computed == 1


def test_case_8_an_unwritable_output_is_one_message(scenario_file, tmp_path, monkeypatch):
    import h5py as h5

    real_file = h5.File

    def refusing(name, mode="r", *args, **kwargs):
        if mode == "w":
            raise PermissionError(errno.EACCES, "Permission denied", str(name))
        return real_file(name, mode, *args, **kwargs)

    monkeypatch.setattr(h5, "File", refusing)
    result = CliRunner().invoke(main, ["run", str(scenario_file), "-o", str(tmp_path / "r.h5"), "--quiet"])
    assert result.exit_code == 2 and "cannot write (Permission denied)" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ case 10: damaged files


def _flip_a_byte_of(path, dataset: str) -> None:
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as handle:
        handle.seek(offset + 3)
        byte = handle.read(1)
        handle.seek(offset + 3)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_case_10_truncated_and_bit_flipped_files_give_one_message_naming_file_and_dataset(
    scenario_file, finished, tmp_path
):
    runner = CliRunner()
    results = tmp_path / "r.h5"
    assert (
        runner.invoke(main, ["run", str(scenario_file), "--logic", "tcas", "-o", str(results), "--quiet"]).exit_code
        == 0
    )
    flipped = tmp_path / "flipped.h5"
    shutil.copy(results, flipped)
    _flip_a_byte_of(flipped, "outcomes/mitigated_hmd_ft")
    with pytest.raises(DamagedFileError, match=r"flipped.h5: dataset outcomes/mitigated_hmd_ft cannot be read"):
        read_encounter_file(flipped)
    report = runner.invoke(main, ["report", str(flipped), "-o", str(tmp_path / "p.html")])
    assert report.exit_code == 2 and "dataset outcomes/mitigated_hmd_ft cannot be read" in report.output
    assert "Traceback" not in report.output and not (tmp_path / "p.html").exists()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(results.read_bytes()[: results.stat().st_size // 2])
    report = runner.invoke(main, ["report", str(truncated)])
    assert report.exit_code == 2 and "truncated.h5: a damaged or truncated HDF5 file" in report.output, report.output
    with pytest.raises(DamagedFileError, match=r"truncated.h5: the file cannot be read"):
        read_encounter_file(truncated)
    run_dir = copy_of(finished, tmp_path)
    _flip_a_byte_of(run_dir / "chunks" / "chunk_000000.h5", "metadata/weight")
    for args in (["report", str(run_dir)], ["merge", str(run_dir)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and "chunk_000000.h5: its sha256 is not the manifest's" in result.output
    with pytest.raises(DamagedFileError, match="chunk_000000"):
        read_encounter_file(run_dir / "results.h5")
