"""A ``.h5`` output's chunks are finished (written, flown, written) in a background thread while the
next chunk is generated (issue 19): the file is the serial path's, errors and interrupts surface in
the caller as before, and progress is reported from the caller's thread."""

from __future__ import annotations

import signal
import threading
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


def test_overlapped_chunks_write_the_serial_file_bit_for_bit(scenario, tmp_path, monkeypatch):
    names = _finishing_threads(monkeypatch)
    overlapped = _write(tmp_path / "overlapped.h5", scenario)
    assert names == ["encsim-finish-chunk"] * N_CHUNKS  # every chunk was flown in the background
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


def test_the_first_and_last_chunks_generated_in_halves_write_the_serial_file_bit_for_bit(
    scenario, tmp_path, monkeypatch
):
    """With the overlap, the first and last chunks are generated and flown in halves (chunks here are
    small, so the least part is lowered to let them split): the file is still the serial path's."""
    monkeypatch.setattr(run_module, "_MIN_PART_ENCOUNTERS", 10)
    names, flying = _finishing_threads(monkeypatch), []
    _write(tmp_path / "halves.h5", scenario, on_flying=flying.append)
    assert flying == [20, 20, 40, 40, 40, 15, 15] and len(names) == N_CHUNKS + 2
    _serially(monkeypatch)
    flying.clear()
    _write(tmp_path / "serial.h5", scenario, on_flying=flying.append)
    # serially (a layer found not thread-safe once the first chunk ran), the later chunks are whole
    assert flying == [20, 20, 40, 40, 40, 30]
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
    assert not [thread for thread in threading.enumerate() if thread.name == "encsim-finish-chunk"]


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


def test_an_interrupt_while_generating_waits_for_the_chunk_in_flight_and_leaves_no_file(
    scenario, tmp_path, monkeypatch
):
    finished: list[int] = []
    original = run_module._fly_chunk

    def recording(encounters, logic, chunk_index, **options):
        result = original(encounters, logic, chunk_index, **options)
        finished.append(chunk_index)
        return result

    monkeypatch.setattr(run_module, "_fly_chunk", recording)
    calls = {"n": 0}

    def interrupt_in_chunk_3(n):
        calls["n"] += n
        if calls["n"] > 120:  # while generating chunk 3, chunk 2 being finished in the background
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path / "x.h5", scenario, progress=interrupt_in_chunk_3)
    assert finished == [0, 1, 2]  # the chunk in flight was waited for: no write was under way at the discard
    assert not [thread for thread in threading.enumerate() if thread.name == "encsim-finish-chunk"]
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
def pipeline_in_threads(monkeypatch):
    """A pipeline that finishes in the background whatever the machine's threading layer, and the
    events of a finish that blocks until released."""
    monkeypatch.setattr(run_module, "_threadsafe_parallel_layer", lambda: True)
    release, started, done = threading.Event(), threading.Event(), []

    def finish(k):
        started.set()
        release.wait(60)
        done.append(k)

    yield run_module._Pipeline(finish, overlap=True), release, started, done
    release.set()


def test_the_pipeline_waits_for_the_chunk_in_flight_when_the_caller_fails(pipeline_in_threads):
    pipeline, release, started, done = pipeline_in_threads
    threading.Timer(0.3, release.set).start()
    with pytest.raises(RuntimeError, match="caller failed"):
        with pipeline:
            pipeline.submit(0)
            started.wait(60)
            raise RuntimeError("caller failed")
    assert done == [0]  # the block did not end before the chunk in flight was finished


def test_a_second_interrupt_stops_waiting_for_the_chunk_in_flight(pipeline_in_threads):
    pipeline, release, started, done = pipeline_in_threads
    main = threading.main_thread().ident
    with pytest.raises(KeyboardInterrupt):
        with pipeline:
            pipeline.submit(0)
            started.wait(60)
            # Ctrl-C again half a second later, while the block's end waits for the chunk in flight
            threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT)).start()
            raise KeyboardInterrupt
    assert done == []  # it stopped waiting: the finish is still blocked
    release.set()


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
