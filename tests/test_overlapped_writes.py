"""A ``.h5`` output's parts are generated and flown in parallel lanes while the caller writes the
finished ones in order (issue 19, `encsim.runner.lanes`): the file is the serial path's, errors and
interrupts surface in the caller as before, and progress is reported from the caller's thread."""

from __future__ import annotations

import signal
import threading
import time
import warnings

import h5py
import numpy as np
import pytest
from conftest import small_scenario_text

import encsim.simulate
from encsim.encounters.source import EncounterError, EncounterSource
from encsim.io.scenario import parse_scenario
from encsim.runner import run as run_module
from encsim.runner import write_encounter_file
from encsim.runner.lanes import Lanes
from encsim.simulate import LogicRunError

SCENARIO = small_scenario_text("overlap_test", encounters=190, seed=11, chunk_size=40)
N_CHUNKS = 5
#: attributes that say when and how the file was made, not what it holds
_CIRCUMSTANCES = {"created_utc", "command"}


@pytest.fixture(scope="module")
def scenario():
    return parse_scenario(SCENARIO, source="overlap test")


def _write(path, scenario, logic="unequipped", **options) -> dict:
    return write_encounter_file(path, scenario, SCENARIO, logic, range(N_CHUNKS), **options)


def _serially(monkeypatch) -> None:
    """Make the writer take its serial path (as with a threading layer that is not thread-safe)."""
    monkeypatch.setattr(run_module, "_threadsafe_parallel_layer", lambda: False)


def _finishing_threads(monkeypatch) -> list[str]:
    """The name of the thread that flies each chunk, in order."""
    names: list[str] = []
    original = run_module._fly_chunk

    def recording(encounters, logic, chunk_index, **options):
        names.append(threading.current_thread().name)
        return original(encounters, logic, chunk_index, **options)

    monkeypatch.setattr(run_module, "_fly_chunk", recording)
    return names


def _everything(path) -> dict:
    """Every dataset's values and every attribute of the file and its groups and datasets."""
    with h5py.File(path, "r") as f:
        found: dict = {f"/@{key}": value for key, value in f.attrs.items() if key not in _CIRCUMSTANCES}

        def visit(name, item):
            for key, value in item.attrs.items():
                found[f"{name}@{key}"] = value
            if isinstance(item, h5py.Dataset):
                found[name] = item[()]

        f.visititems(visit)
    return found


def _assert_same_files(a, b) -> None:
    first, second = _everything(a), _everything(b)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def _lane_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("encsim-lane-")]


def test_chunks_computed_in_lanes_write_the_serial_file_bit_for_bit(scenario, tmp_path, monkeypatch):
    names = _finishing_threads(monkeypatch)
    overlapped = _write(tmp_path / "overlapped.h5", scenario)
    assert len(names) == N_CHUNKS and all(name.startswith("encsim-lane-") for name in names)
    names.clear()
    _serially(monkeypatch)
    serial = _write(tmp_path / "serial.h5", scenario)
    assert names == [threading.main_thread().name] * N_CHUNKS
    assert overlapped == serial
    assert overlapped["encounters"] == 190
    _assert_same_files(tmp_path / "overlapped.h5", tmp_path / "serial.h5")
    with h5py.File(tmp_path / "overlapped.h5", "r") as f:
        assert f["metadata/encounter_id"][()].tolist() == list(range(190))
        assert f["outcomes/nominal_nmac"].shape == (190,)
        # the offsets' leading 0 goes with the first rows: HDF5 sizes a dataset's blocks by its first
        # write, and a block of one offset made one compressed, checksummed block per encounter
        assert f["ownship/schedule/offsets"].chunks[0] > 1 and f["intruder/schedule/offsets"].chunks[0] > 1


def test_chunks_computed_in_halves_write_the_serial_file_bit_for_bit(scenario, tmp_path, monkeypatch):
    """In lanes, every chunk is generated and flown in halves (chunks here are small, so the least
    part is lowered to let them split): the file is still the serial path's."""
    monkeypatch.setattr(run_module, "_MIN_PART_ENCOUNTERS", 10)
    names, flying = _finishing_threads(monkeypatch), []
    _write(tmp_path / "halves.h5", scenario, on_flying=flying.append)
    assert flying == [20] * 8 + [15, 15] and len(names) == 2 * N_CHUNKS
    _serially(monkeypatch)
    flying.clear()
    _write(tmp_path / "serial.h5", scenario, on_flying=flying.append)
    assert flying == [40, 40, 40, 40, 30]  # serially, chunks are whole
    _assert_same_files(tmp_path / "halves.h5", tmp_path / "serial.h5")


def test_nominal_files_overlap_their_writes_and_equal_the_serial_ones(scenario, tmp_path, monkeypatch):
    _write(tmp_path / "overlapped.h5", scenario, logic=None, keep_trajectories=True)
    _serially(monkeypatch)
    _write(tmp_path / "serial.h5", scenario, logic=None, keep_trajectories=True)
    _assert_same_files(tmp_path / "overlapped.h5", tmp_path / "serial.h5")


def test_progress_and_flying_notes_come_from_the_callers_thread_in_chunk_order(scenario, tmp_path):
    progress, flying = [], []

    def on_progress(n):
        progress.append((threading.current_thread().name, n))

    def on_flying(n):
        flying.append((threading.current_thread().name, n))

    _write(tmp_path / "x.h5", scenario, progress=on_progress, on_flying=on_flying)
    main = threading.main_thread().name
    assert {name for name, _ in progress + flying} == {main}
    assert sum(n for _, n in progress) == 190
    assert [n for _, n in flying] == [40, 40, 40, 40, 30]


def _failing_simulate(monkeypatch, failing_id: int) -> None:
    """The closed loop fails, as a logic breaking its contract does, on the chunk holding ``failing_id``."""
    original = encsim.simulate.simulate

    def simulate(encounters, logic, **options):
        ids = encounters.metadata["encounter_id"].to_numpy()
        if failing_id in ids:
            raise LogicRunError(
                f"logic {logic} wrote alert level 7 at t = 5 s of encounter {failing_id}: the run stops"
            )
        return original(encounters, logic, **options)

    monkeypatch.setattr(encsim.simulate, "simulate", simulate)


def test_a_background_chunks_logic_error_reaches_the_caller_naming_its_chunk(scenario, tmp_path, monkeypatch):
    _failing_simulate(monkeypatch, failing_id=85)
    expected = r"^chunk 2 \(encounters 80-119\): logic unequipped wrote alert level 7 at t = 5 s of encounter 85"
    for path in (tmp_path / "overlapped.h5", tmp_path / "serial.h5"):
        with pytest.raises(LogicRunError, match=expected):
            _write(path, scenario)
        assert not path.exists()
        assert not list(tmp_path.glob("*.partial"))
        _serially(monkeypatch)
    assert not _lane_threads()


def test_a_background_error_comes_before_a_later_chunks_generation_error(scenario, tmp_path, monkeypatch):
    """As in the serial order: chunk 1's closed loop fails before chunk 2 would be generated."""
    _failing_simulate(monkeypatch, failing_id=45)
    original = EncounterSource.generate

    def generate(self, ids, *args, **kwargs):
        if int(ids[0]) == 80:
            raise EncounterError("generation of chunk 2 failed")
        return original(self, ids, *args, **kwargs)

    monkeypatch.setattr(EncounterSource, "generate", generate)
    with pytest.raises(LogicRunError, match=r"^chunk 1 \(encounters 40-79\)") as raised:
        _write(tmp_path / "x.h5", scenario)
    assert raised.value.__suppress_context__  # the generation error it interrupted is not shown as its cause
    assert not (tmp_path / "x.h5").exists() and not list(tmp_path.glob("*.partial"))


def test_an_interrupt_while_waiting_lets_the_parts_in_flight_finish_and_leaves_no_file(scenario, tmp_path, monkeypatch):
    started: list[int] = []
    finished: list[int] = []
    original = run_module._fly_chunk

    def recording(encounters, logic, chunk_index, **options):
        started.append(chunk_index)
        result = original(encounters, logic, chunk_index, **options)
        finished.append(chunk_index)
        return result

    monkeypatch.setattr(run_module, "_fly_chunk", recording)
    calls = {"n": 0}

    def interrupt_after_three_chunks(n):  # reported in the caller's thread, as a Ctrl-C there
        calls["n"] += n
        if calls["n"] > 120:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path / "x.h5", scenario, progress=interrupt_after_three_chunks)
    assert sorted(started) == sorted(finished)  # every part in flight was waited for
    assert len(finished) < N_CHUNKS + 1 and not _lane_threads()
    assert not (tmp_path / "x.h5").exists() and not list(tmp_path.glob("*.partial"))


def test_an_interrupt_wins_over_a_background_error(scenario, tmp_path, monkeypatch):
    _failing_simulate(monkeypatch, failing_id=85)
    calls = {"n": 0}

    def interrupt_in_chunk_3(n):
        calls["n"] += n
        if calls["n"] > 120:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path / "x.h5", scenario, progress=interrupt_in_chunk_3)


@pytest.fixture
def blocking_lanes():
    """Lanes of one part that blocks until released, and the events of that part."""
    release, started, done = threading.Event(), threading.Event(), []

    def make(part, report):
        started.set()
        release.wait(60)
        done.append(part)
        return part

    yield Lanes(make, 3, 2), release, started, done
    release.set()


def test_lanes_wait_for_the_part_in_flight_when_the_caller_fails(blocking_lanes):
    lanes, release, started, done = blocking_lanes
    threading.Timer(0.3, release.set).start()
    with pytest.raises(RuntimeError, match="caller failed"):
        with lanes:
            started.wait(60)
            raise RuntimeError("caller failed")
    assert sorted(done) == [0, 1]  # both lanes' parts finished before the block ended; none started after
    assert not _lane_threads()


def test_a_second_interrupt_stops_waiting_for_the_parts_in_flight(blocking_lanes):
    lanes, release, started, done = blocking_lanes
    main = threading.main_thread().ident
    with pytest.raises(KeyboardInterrupt):
        with lanes:
            started.wait(60)
            # Ctrl-C again half a second later, while the block's end waits for the parts in flight
            threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT)).start()
            raise KeyboardInterrupt
    assert done == []  # it stopped waiting: the parts are still blocked
    release.set()


def test_lanes_hand_results_over_in_order_and_raise_errors_in_their_turn():
    def make(part, report):
        report(1)
        time.sleep(0.05 * (5 - part))  # later parts finish first
        if part == 3:
            raise ValueError("part 3 failed")
        return part

    progress: list[int] = []
    handed: list[int] = []
    with pytest.raises(ValueError, match="part 3 failed"):
        with Lanes(make, 5, 2, progress=progress.append) as lanes:
            handed.extend(lanes)
    assert handed == [0, 1, 2]
    assert 3 <= sum(progress) <= 5 and not _lane_threads()


def test_a_plain_python_logic_and_a_single_chunk_are_finished_serially(scenario, tmp_path, monkeypatch):
    names = _finishing_threads(monkeypatch)
    write_encounter_file(tmp_path / "one.h5", scenario, SCENARIO, "unequipped", [3])
    assert names == [threading.main_thread().name]
    names.clear()
    monkeypatch.setattr(run_module, "_compiled_logic", lambda logic: False)  # as a plain logic is
    filters = list(warnings.filters)
    _write(tmp_path / "plain.h5", scenario)
    assert names == [threading.main_thread().name] * N_CHUNKS
    assert warnings.filters == filters


def test_compiled_logics_are_told_from_plain_ones():
    assert run_module._compiled_logic("daa") and run_module._compiled_logic("unequipped")
    assert run_module._compiled_logic("strict_logics:misbehaves")
    assert not run_module._compiled_logic("strict_logics:python_boom")


def test_every_parallel_kernel_releases_the_interpreter():
    """The overlap needs the kernels that run during it to release the GIL (``nogil=True``)."""
    import importlib

    from numba.core.registry import CPUDispatcher

    modules = ("encounters", "sampling", "metrics", "dynamics", "simulate")
    parallel = {}
    for name in modules:
        module = importlib.import_module(f"encsim.{name}._kernels")
        for attribute, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.targetoptions.get("parallel"):
                parallel[f"{name}.{attribute}"] = value.targetoptions.get("nogil", False)
    assert {"simulate.reference_closed_loop_kernel", "encounters.fly_attempts_kernel"} <= set(parallel)
    assert [kernel for kernel, nogil in parallel.items() if not nogil] == []


def test_what_lanes_would_import_on_their_own_is_imported_before_them(tmp_path):
    """Two lanes importing one package's modules at once can meet in a circular import (one gets a
    partially initialised module): a fresh process writes a file in lanes, and the closed loop's
    and the source's lazy imports were done in the caller's thread before the lanes started."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, threading\n"
        "from encsim.io.scenario import parse_scenario\n"
        "from encsim.runner import run\n"
        "from encsim.encounters import encounter_source\n"
        f"text = {SCENARIO!r}\n"
        "scenario = parse_scenario(text, source='t')\n"
        "seen = {}\n"
        "original = run._import_before_lanes\n"
        "def recording(source, logic):\n"
        "    original(source, logic)\n"
        "    seen['thread'] = threading.current_thread().name\n"
        "    missing = [name for name in ('encsim.simulate',) if name not in sys.modules]\n"
        "    import encsim.simulate\n"
        "    seen['modules'] = missing + [name for name in encsim.simulate.LAZY_IMPORTS if name not in sys.modules]\n"
        "run._import_before_lanes = recording\n"
        "run.write_encounter_file(sys.argv[1], scenario, text, 'unequipped', range(2))\n"
        "assert seen == {'thread': 'MainThread', 'modules': []}, seen\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "x.h5")], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_the_closed_loops_lazy_imports_are_all_listed():
    """`encsim.simulate.LAZY_IMPORTS` names every module `simulate`'s functions import when called
    (its plain-logic path, which never runs in lanes, and third-party modules aside), so a lazy import
    added later cannot slip past `_import_before_lanes`."""
    import ast
    from pathlib import Path

    source = Path(encsim.simulate.__file__)
    lazy = set()
    for function in ast.walk(ast.parse(source.read_text())):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level:
                package = "encsim.simulate" if node.level == 1 else "encsim"
                lazy.add(f"{package}.{node.module}" if node.module else package)
    assert lazy - {"encsim.simulate.plain"} <= set(encsim.simulate.LAZY_IMPORTS)


def test_a_sources_lazy_imports_are_imported_before_the_lanes(monkeypatch):
    """`EncounterSource.lazy_imports` (the recorded source's scipy.signal) are imported by the caller."""
    import sys

    from encsim.encounters.recorded_source import RecordedSource

    assert "scipy.signal" in RecordedSource.lazy_imports
    monkeypatch.delitem(sys.modules, "encsim._reprs", raising=False)

    class Source:
        lazy_imports = ("encsim._reprs",)

    run_module._import_before_lanes(Source(), None)
    assert "encsim._reprs" in sys.modules
