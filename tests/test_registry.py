"""The model registry (models/registry.toml) and model-file resolution (encsim.bayes.catalogue,
encsim.bayes.locate; encsim.bayes.registry re-exports both, as the installed-wheel probe checks).

Checks the registry against the shared MIT LL copies and their README, the documented roles and
scopes, validation errors, every step of the resolution order, checksums, and the download path
against a local http.server on 127.0.0.1 (the only network these tests use). The last test builds
a wheel offline and loads the registry from it as package data.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

import encsim.checksums as checksums_module
from encsim.bayes.catalogue import (
    FAMILIES,
    FLY_CHOICES,
    TRANSPONDER_FILTERS,
    ModelNotFoundError,
    RegistryEntry,
    RegistryError,
    UnknownModelError,
    get_entry,
    load_registry,
)
from encsim.bayes.locate import ChecksumError, ModifiedModelWarning, resolve_model_file
from encsim.checksums import file_sha256

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REGISTRY_TOML = PROJECT_ROOT / "models" / "registry.toml"
_DEFAULT_SHARED = PROJECT_ROOT.parent / "shared" / "models" / "mitll"
SHARED = Path(os.environ.get("ENCSIM_MODEL_DIR") or _DEFAULT_SHARED).resolve()
PINNED = (
    "https://raw.githubusercontent.com/Airspace-Encounter-Models/em-model-manned-bayes/"
    "55bcfd688e5abe7c0288db6fa5cda91edb308cb2/model/"
)

OPENSKY_V1P2 = {
    f"uncor_{code}_{kind}_v1p2" for code in ("1200only", "1200exclude") for kind in ("fwse", "fwme", "rotorcraft")
}
OPENSKY_V1 = {f"uncor_allcode_{kind}_v1" for kind in ("fwsingle", "fwmulti", "rotorcraft")}
RADES_UNCOR = {"uncor_1200code_v2p1", "uncor_1200code_v1", "littoral_uncor_v1"}
UNCONVENTIONAL_FLOWN = {"glider_v1", "paraglider_v1", "fai1_v1", "fai5_v1", "paramotor_v1", "blimp_v1"}
BALLOONS = {"balloon_v1", "weatherballoon_v1"}
CORRELATED = {"cor_v1", "littoral_cor_v1"}
TERMINAL = {"terminal_v3_opensky_encounter_model", "terminal_v3_radar_encounter_model"}
STAR_L_TABLE = (500.0, 1200.0, 3000.0, 5000.0, 18000.0)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """Shared model folder, an empty private cache, downloads off: never the network or the user's cache."""
    if not SHARED.is_dir():
        pytest.fail(f"the shared MIT LL model copies are needed: {SHARED} is not a folder (set ENCSIM_MODEL_DIR)")
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(SHARED))
    monkeypatch.setenv("ENCSIM_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("ENCSIM_OFFLINE", "1")
    monkeypatch.delenv("ENCSIM_MODEL_URL_BASE", raising=False)


def shared_checksums() -> dict[str, str]:
    text = (SHARED / "README.md").read_text()
    return {name: digest for digest, name in re.findall(r"^\s+([0-9a-f]{64})\s+(\S+\.txt)\s*$", text, flags=re.M)}


def file_layer_edges(path: Path) -> list[float] | None:
    """The L line of a model file's `boundaries` section (None when L is absent or categorical)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            current = line[2:].strip()
            sections[current] = []
        elif current is not None and line.strip():
            sections[current].append(line.strip())
    labels = [label.strip().strip('"') for label in sections["labels_initial"][0].split(",")]
    if "L" not in labels:
        return None
    line = sections["boundaries"][labels.index("L")]
    return None if line == "*" else [float(token) for token in line.split()]


# ------------------------------------------------------------------------------ the registry's content


def test_registry_holds_exactly_the_27_shared_files_with_the_readme_checksums():
    registry = load_registry()
    sums = shared_checksums()
    assert len(sums) == 27 and len(registry) == 27
    assert {entry.file: entry.sha256 for entry in registry.values()} == sums
    assert sorted(p.name for p in SHARED.glob("*.txt")) == sorted(sums)
    for name, entry in registry.items():
        assert isinstance(entry, RegistryEntry) and entry.name == name and entry.file == f"{name}.txt"
        assert file_sha256(SHARED / entry.file) == entry.sha256  # the files themselves, not just the README


def test_urls_are_raw_urls_at_the_pinned_commit():
    for name, entry in load_registry().items():
        if name in TERMINAL:
            folder = "opensky" if "opensky" in name else "terminalradar"
            assert entry.url == f"{PINNED}correlated_terminal/{folder}/{entry.file}"
        else:
            assert entry.url == PINNED + entry.file


def test_every_entry_is_well_formed():
    for name, entry in load_registry().items():
        where = f"{name}: "
        assert entry.family in FAMILIES, where + entry.family
        assert entry.transponder in TRANSPONDER_FILTERS, where + entry.transponder
        assert entry.fly in FLY_CHOICES, where + entry.fly
        assert entry.altitude_reference in ("AGL", "MSL"), where
        for field in ("aircraft_class", "data_source", "report", "description"):
            value = getattr(entry, field)
            assert isinstance(value, str) and value.strip() and "\n" not in value, where + field
        for field in ("noncooperative_surrogate", "deprecated", "sample_tracks", "sample_initial", "encounters"):
            assert isinstance(getattr(entry, field), bool), where + field
        lo, hi = entry.altitude_scope_ft
        assert entry.altitude_lo_ft == lo and entry.altitude_hi_ft == hi
        assert 0 <= lo < hi and not math.isnan(hi), where
        edges = entry.layer_edges_ft
        assert isinstance(edges, tuple) and all(isinstance(v, float) for v in edges), where
        assert all(b > a for a, b in itertools.pairwise(edges)), where
        if edges:
            assert lo <= edges[0] and edges[-1] <= hi, where + "layer table outside the documented scope"
        refused = not (entry.sample_tracks and entry.sample_initial and entry.fly == "yes" and entry.encounters)
        assert bool(entry.refusal.strip()) == refused, where + "a refusal says why, and only when something is refused"
        if entry.encounters:
            assert entry.fly == "yes" and entry.sample_tracks
        if entry.fly != "no":
            assert entry.sample_tracks
        if entry.sample_tracks:
            assert entry.sample_initial


def test_layer_tables_follow_decisions_section_2():
    for name, entry in load_registry().items():
        edges = file_layer_edges(SHARED / entry.file)
        if name in ("uncor_1200code_v2p1", "uncor_1200code_v1", "littoral_uncor_v1"):
            assert entry.layer_edges_ft == STAR_L_TABLE, name
        elif edges is not None:
            assert entry.layer_edges_ft == tuple(edges), name  # the file's own L edges
        else:
            assert entry.family in ("correlated", "terminal-geometry") and entry.layer_edges_ft == (), name
    assert file_layer_edges(SHARED / "uncor_1200code_v2p1.txt")[-1] == 12500  # the documented exception
    assert file_layer_edges(SHARED / "uncor_1200code_v1.txt") is None  # categorical L


def test_capabilities_follow_decisions_section_2():
    registry = load_registry()
    assert set(
        registry
    ) == OPENSKY_V1P2 | OPENSKY_V1 | RADES_UNCOR | UNCONVENTIONAL_FLOWN | BALLOONS | CORRELATED | TERMINAL | {
        "skydiving_v1",
        "dueregard_v1",
        "haa_v1",
    }

    def caps(name):
        e = registry[name]
        return e.sample_tracks, e.sample_initial, e.fly, e.encounters

    for name in OPENSKY_V1P2 | OPENSKY_V1 | RADES_UNCOR | UNCONVENTIONAL_FLOWN | {"dueregard_v1"}:
        assert caps(name) == (True, True, "yes", True), name
        assert registry[name].refusal == ""
    assert caps("skydiving_v1") == (True, True, "no", False)
    assert "free fall" in registry["skydiving_v1"].refusal
    for name in BALLOONS:
        assert caps(name) == (True, True, "vertical-only", False), name
        assert "airspeed" in registry[name].refusal and "encounters" in registry[name].refusal
    for name in CORRELATED:
        assert caps(name) == (False, True, "no", False), name
        assert "correlated" in registry[name].refusal
    for name in TERMINAL:
        assert caps(name) == (False, True, "no", False), name
        assert "without a transition" in registry[name].refusal
    assert caps("haa_v1") == (False, False, "no", False)
    assert "undocumented" in registry["haa_v1"].refusal


def test_families_sources_codes_scopes_and_flags_match_the_documentation():
    registry = load_registry()
    for name in OPENSKY_V1P2:
        entry = registry[name]
        assert entry.family == "uncorrelated-conventional" and entry.data_source == "OpenSky ADS-B 2018-2020"
        assert entry.transponder == ("1200-only" if "1200only" in name else "1200-exclude")
        assert entry.altitude_scope_ft == (50, 5000) and entry.layer_edges_ft == (50, 500, 1200, 3000, 5000)
        assert "10.2514/1.D0254" in entry.report
    for name in OPENSKY_V1:
        assert registry[name].transponder == "all-codes" and registry[name].deprecated
    assert {n for n, e in registry.items() if e.noncooperative_surrogate} == {
        "uncor_1200only_fwse_v1p2",
        "uncor_1200only_fwme_v1p2",
        "uncor_1200only_rotorcraft_v1p2",
        "uncor_1200code_v2p1",
        "uncor_1200code_v1",
    }
    assert {n for n, e in registry.items() if e.deprecated} == OPENSKY_V1 | {"littoral_uncor_v1", "littoral_cor_v1"}
    assert {n for n, e in registry.items() if e.altitude_reference == "MSL"} == {"haa_v1"}
    assert registry["haa_v1"].family == "haa" and "DFDR" in registry["haa_v1"].data_source
    for name in ("uncor_1200code_v2p1", "uncor_1200code_v1"):
        assert registry[name].transponder == "1200-code" and "RADES" in registry[name].data_source
        assert registry[name].altitude_scope_ft == (500, 18000)
    assert registry["cor_v1"].altitude_scope_ft == (1000, math.inf)
    assert (
        registry["dueregard_v1"].altitude_scope_ft == (0, math.inf) and "ETMS" in registry["dueregard_v1"].data_source
    )
    assert registry["skydiving_v1"].altitude_scope_ft == (0, 15000)
    assert registry["weatherballoon_v1"].altitude_scope_ft == (0, 120000)
    for name in TERMINAL:
        assert registry[name].family == "terminal-geometry" and registry[name].altitude_scope_ft == (200, 5000)
    for name in UNCONVENTIONAL_FLOWN | BALLOONS | {"skydiving_v1"}:
        assert registry[name].family == "unconventional" and "ATC-348" in registry[name].report
    expected_reports = {
        "cor_v1": "ATC-344",
        "uncor_1200code_v1": "ATC-345",
        "uncor_1200code_v2p1": "ATC-404",
        "dueregard_v1": "ATC-397",
        "littoral_uncor_v1": "CASSATT-2",
        "littoral_cor_v1": "CASSATT-2",
    }
    for name, report in expected_reports.items():
        assert report in registry[name].report, name
    classes = {registry[n].aircraft_class for n in OPENSKY_V1P2}
    assert classes == {"fixed-wing single-engine", "fixed-wing multi-engine", "rotorcraft"}


def test_load_registry_is_cached_and_returns_a_fresh_dict():
    first = load_registry()
    first.pop("glider_v1")
    second = load_registry()
    assert "glider_v1" in second and second["balloon_v1"] is first["balloon_v1"]


# ------------------------------------------------------------------------------ validation


def _one_entry(**changes) -> str:
    text = REGISTRY_TOML.read_text()
    block = re.search(r"^\[models\.balloon_v1\]\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S).group(0)
    for field, value in changes.items():
        if value is None:
            block = re.sub(rf"^{field} = .*\n", "", block, flags=re.M)
        elif re.search(rf"^{field} = ", block, flags=re.M):
            block = re.sub(rf"^{field} = .*$", lambda _m: f"{field} = {value}", block, flags=re.M)
        else:
            block += f"{field} = {value}\n"
    return block


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"sha256": '"abc"'}, "sha256", "64 lowercase"),
        ({"fly": '"sometimes"'}, "fly", "vertical-only"),
        ({"family": '"spaceship"'}, "family", "expected one of"),
        ({"transponder": '"mode-s"'}, "transponder", "expected one of"),
        ({"altitude_reference": '"MSLL"'}, "altitude_reference", "AGL"),
        ({"altitude_scope_ft": "[10000, 0]"}, "altitude_scope_ft", "low < high"),
        ({"altitude_scope_ft": '["low", 10]'}, "altitude_scope_ft", "low < high"),
        ({"layer_edges_ft": "[0, 3000, 1200]"}, "layer_edges_ft", "increasing"),
        ({"layer_edges_ft": "[0, 1200, 30000]"}, "layer_edges_ft", "scope"),
        ({"layer_edges_ft": "[]"}, "layer_edges_ft", "needs an altitude layer table"),
        ({"deprecated": '"no"'}, "deprecated", "true or false"),
        ({"refusal": '""'}, "refusal", "say why"),
        ({"encounters": "true"}, "encounters", "fly"),
        ({"file": '"balloon_v2.txt"'}, "file", "file stem"),
        ({"url": '"ftp://example.org/x.txt"'}, "url", "http"),
        ({"description": None}, "description", "missing"),
        ({"colour": '"red"'}, "colour", "unknown field"),
    ],
)
def test_invalid_entries_are_refused_naming_the_entry_and_the_field(tmp_path, changes, field, words):
    path = tmp_path / "registry.toml"
    path.write_text(_one_entry(**changes))
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert str(path) in message and "model 'balloon_v1'" in message and f"field '{field}'" in message
    assert words in message


def test_infinite_scope_may_be_written_as_a_string_or_toml_inf(tmp_path):
    for high in ('"inf"', "inf"):
        path = tmp_path / f"registry{len(high)}.toml"
        path.write_text(_one_entry(altitude_scope_ft=f"[0, {high}]"))
        assert load_registry(path)["balloon_v1"].altitude_scope_ft == (0.0, math.inf)
    bad = tmp_path / "bad.toml"
    bad.write_text("[models.balloon_v1\n")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(bad)


# ------------------------------------------------------------------------------ resolution: local


def test_every_registry_name_resolves_through_encsim_model_dir():
    for name, entry in load_registry().items():
        path, found = resolve_model_file(name)
        assert path == SHARED / entry.file and path.is_absolute()
        assert found is entry
        assert resolve_model_file(entry.file)[0] == path  # the bare file name is a registry name too


def test_a_relative_encsim_model_dir_is_resolved_against_the_current_directory(monkeypatch, tmp_path):
    (tmp_path / "work" / "models").mkdir(parents=True)
    shutil.copy(SHARED / "balloon_v1.txt", tmp_path / "work" / "models" / "balloon_v1.txt")
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("ENCSIM_MODEL_DIR", "models")
    path, entry = resolve_model_file("balloon_v1")
    assert path == (tmp_path / "work" / "models" / "balloon_v1.txt").resolve() and entry.name == "balloon_v1"
    monkeypatch.chdir(tmp_path)  # the same relative value now names a missing folder
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_file("balloon_v1")
    assert f"{tmp_path / 'models'}  (ENCSIM_MODEL_DIR=models): no such folder" in str(caught.value)


def test_model_dir_argument_replaces_the_environment_variable(tmp_path):
    shutil.copy(SHARED / "glider_v1.txt", tmp_path / "glider_v1.txt")
    path, _ = resolve_model_file("glider_v1", model_dir=tmp_path)
    assert path == (tmp_path / "glider_v1.txt").resolve()
    with pytest.raises(ModelNotFoundError, match=r"model_dir=.*: not there"):
        resolve_model_file("balloon_v1", model_dir=tmp_path)


def test_a_missing_model_lists_every_place_looked_and_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_file("glider_v1")
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert "model 'glider_v1' (glider_v1.txt) not found" in message
    assert f"{tmp_path / 'nowhere'}  (ENCSIM_MODEL_DIR={tmp_path / 'nowhere'}): no such folder" in message
    assert f"{tmp_path / 'user-cache' / 'glider_v1.txt'}" in message
    assert get_entry("glider_v1").url in message and "switched off by ENCSIM_OFFLINE=1" in message
    assert "set ENCSIM_MODEL_DIR to a folder holding glider_v1.txt" in message
    assert "allow downloads" in message and "pass the file's path" in message

    existing = tmp_path / "empty"
    existing.mkdir()
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(existing))
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_file("glider_v1", download=False)
    assert f"{existing / 'glider_v1.txt'}  (ENCSIM_MODEL_DIR={existing}): not there" in str(caught.value)
    assert "switched off by download=False" in str(caught.value)

    monkeypatch.delenv("ENCSIM_MODEL_DIR")
    with pytest.raises(ModelNotFoundError, match="ENCSIM_MODEL_DIR: not set"):
        resolve_model_file("glider_v1")


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownModelError, match="did you mean uncor_1200only_fwse_v1p2"):
        get_entry("uncor_1200only_fwse_v1p3")
    with pytest.raises(ModelNotFoundError, match="did you mean glider_v1"):
        resolve_model_file("glider_v2")
    with pytest.raises(UnknownModelError, match="models list"):
        resolve_model_file("zzzz")


def test_explicit_paths_win_and_are_matched_to_registry_entries(tmp_path, monkeypatch):
    renamed = tmp_path / "my glider.txt"
    shutil.copy(SHARED / "glider_v1.txt", renamed)
    path, entry = resolve_model_file(renamed)
    assert path == renamed.resolve() and entry.name == "glider_v1"  # matched by sha256
    assert resolve_model_file(str(renamed))[1].name == "glider_v1"

    modified = tmp_path / "mine" / "balloon_v1.txt"
    modified.parent.mkdir()
    modified.write_text((SHARED / "balloon_v1.txt").read_text() + "\n")
    with pytest.warns(ModifiedModelWarning, match="sha256"):
        path, entry = resolve_model_file(modified)  # matched by file name, with a warning
    assert path == modified.resolve() and entry.name == "balloon_v1"

    other = tmp_path / "tiny.txt"
    other.write_text("not a registry model\n")
    assert resolve_model_file(other) == (other.resolve(), None)

    monkeypatch.chdir(tmp_path / "mine")  # an existing file in the current directory beats the registry
    with pytest.warns(ModifiedModelWarning):
        assert resolve_model_file("balloon_v1.txt")[0] == modified.resolve()

    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model_file(tmp_path / "absent" / "glider_v1.txt")
    with pytest.raises(ModelNotFoundError, match="relative to the current directory"):
        resolve_model_file("absent/glider_v1.txt")


def test_a_corrupted_local_copy_is_refused_with_both_checksums(monkeypatch, tmp_path):
    broken = tmp_path / "balloon_v1.txt"
    broken.write_bytes((SHARED / "balloon_v1.txt").read_bytes().replace(b"0 1200", b"0 1300", 1))
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(tmp_path))
    with pytest.raises(ChecksumError) as caught:
        resolve_model_file("balloon_v1")
    message = str(caught.value)
    assert str(broken) in message
    assert f"expected sha256 {get_entry('balloon_v1').sha256}" in message
    assert f"actual sha256 {hashlib.sha256(broken.read_bytes()).hexdigest()}" in message


def test_checksums_are_remembered_per_path_size_and_mtime(monkeypatch, tmp_path):
    copy = tmp_path / "balloon_v1.txt"
    shutil.copy(SHARED / "balloon_v1.txt", copy)
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(tmp_path))
    resolve_model_file("balloon_v1")

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(checksums_module, "open", no_reading, raising=False)
    resolve_model_file("balloon_v1")  # served from the remembered checksum
    copy.write_text(copy.read_text() + " ")  # size and mtime change: read again
    with pytest.raises(AssertionError, match="read again"):
        resolve_model_file("balloon_v1")


# ------------------------------------------------------------------------------ resolution: download


@pytest.fixture()
def local_server(tmp_path, monkeypatch):
    """A threaded http.server on 127.0.0.1 (ephemeral port) serving tmp_path/served; counts requests."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    served = tmp_path / "served"
    served.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_download_is_verified_cached_and_then_reused_without_a_request(local_server, monkeypatch, tmp_path):
    served, base, requests = local_server
    shutil.copy(SHARED / "balloon_v1.txt", served / "balloon_v1.txt")
    monkeypatch.delenv("ENCSIM_MODEL_DIR")
    monkeypatch.delenv("ENCSIM_OFFLINE")
    monkeypatch.setenv("ENCSIM_MODEL_URL_BASE", base + "/")
    cache = tmp_path / "user-cache"
    path, entry = resolve_model_file("balloon_v1")
    assert path == (cache / "balloon_v1.txt").resolve() and entry.name == "balloon_v1"
    assert path.read_bytes() == (SHARED / "balloon_v1.txt").read_bytes()
    assert requests == ["/balloon_v1.txt"]
    assert resolve_model_file("balloon_v1") == (path, entry)
    monkeypatch.setenv("ENCSIM_OFFLINE", "1")
    assert resolve_model_file("balloon_v1") == (path, entry)  # the cache needs no network
    assert requests == ["/balloon_v1.txt"]  # one request in all
    assert sorted(p.name for p in cache.iterdir()) == ["balloon_v1.txt"]  # no temporary files left
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(tmp_path / "typo"))
    with pytest.warns(UserWarning, match=r"ENCSIM_MODEL_DIR=.*typo, which is not a folder; using .*balloon_v1.txt"):
        assert resolve_model_file("balloon_v1") == (path, entry)  # found in the cache, but say so


def test_a_download_with_the_wrong_checksum_is_refused_and_not_cached(local_server, monkeypatch, tmp_path):
    served, base, requests = local_server
    tampered = (SHARED / "blimp_v1.txt").read_bytes() + b"0 \n"
    (served / "blimp_v1.txt").write_bytes(tampered)
    monkeypatch.delenv("ENCSIM_MODEL_DIR")
    monkeypatch.setenv("ENCSIM_MODEL_URL_BASE", base)
    with pytest.raises(ChecksumError) as caught:
        resolve_model_file("blimp_v1", download=True)  # an explicit download=True beats ENCSIM_OFFLINE
    message = str(caught.value)
    assert f"{base}/blimp_v1.txt" in message
    assert f"expected sha256 {get_entry('blimp_v1').sha256}" in message
    assert f"actual sha256 {hashlib.sha256(tampered).hexdigest()}" in message
    assert requests == ["/blimp_v1.txt"]
    assert not (tmp_path / "user-cache" / "blimp_v1.txt").exists()


def test_offline_mode_refuses_to_download(local_server, monkeypatch):
    served, base, requests = local_server
    shutil.copy(SHARED / "balloon_v1.txt", served / "balloon_v1.txt")
    monkeypatch.delenv("ENCSIM_MODEL_DIR")
    monkeypatch.setenv("ENCSIM_MODEL_URL_BASE", base)
    for value in ("1", "true", "yes"):
        monkeypatch.setenv("ENCSIM_OFFLINE", value)
        with pytest.raises(
            ModelNotFoundError, match=f"{base}/balloon_v1.txt: download switched off by ENCSIM_OFFLINE={value}"
        ):
            resolve_model_file("balloon_v1")
    monkeypatch.setenv("ENCSIM_OFFLINE", "0")
    with pytest.raises(ModelNotFoundError, match="switched off by download=False"):
        resolve_model_file("balloon_v1", download=False)
    assert requests == []


def test_a_url_argument_overrides_the_download_source(local_server, monkeypatch, tmp_path):
    served, base, requests = local_server
    (served / "mirror").mkdir()
    shutil.copy(SHARED / "fai5_v1.txt", served / "mirror" / "copy.txt")
    monkeypatch.delenv("ENCSIM_MODEL_DIR")
    path, entry = resolve_model_file("fai5_v1", download=True, url=f"{base}/mirror/copy.txt", cache_dir=tmp_path / "c")
    assert path == (tmp_path / "c" / "fai5_v1.txt").resolve() and entry.name == "fai5_v1"
    assert requests == ["/mirror/copy.txt"]


def test_a_stale_cached_copy_is_refused_offline_and_replaced_online(local_server, monkeypatch, tmp_path):
    served, base, requests = local_server
    shutil.copy(SHARED / "balloon_v1.txt", served / "balloon_v1.txt")
    cache = tmp_path / "user-cache"
    cache.mkdir()
    (cache / "balloon_v1.txt").write_text("an older version\n")
    monkeypatch.delenv("ENCSIM_MODEL_DIR")
    monkeypatch.setenv("ENCSIM_MODEL_URL_BASE", base)
    with pytest.raises(ChecksumError, match="allow downloads to replace it"):
        resolve_model_file("balloon_v1")
    assert requests == []
    path, _ = resolve_model_file("balloon_v1", download=True)
    assert path.read_bytes() == (SHARED / "balloon_v1.txt").read_bytes() and requests == ["/balloon_v1.txt"]


def test_a_failed_download_is_reported_with_every_place_looked(local_server, monkeypatch, tmp_path):
    _served, base, requests = local_server  # serves nothing: 404
    monkeypatch.delenv("ENCSIM_MODEL_DIR")
    monkeypatch.setenv("ENCSIM_MODEL_URL_BASE", base)
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_file("paramotor_v1", download=True)
    message = str(caught.value)
    assert f"{base}/paramotor_v1.txt: download failed" in message and "404" in message
    assert str(tmp_path / "user-cache" / "paramotor_v1.txt") in message and "ENCSIM_MODEL_DIR: not set" in message
    assert requests == ["/paramotor_v1.txt"]


# ------------------------------------------------------------------------------ packaging


@pytest.mark.slow
def test_a_wheel_built_offline_carries_the_registry_and_finds_it_as_package_data(tmp_path):
    pytest.importorskip(
        "hatchling", reason="building the wheel offline needs hatchling (pip install hatchling, or the dev extra)"
    )
    dist = tmp_path / "dist"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-w", str(dist)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = dist.glob("encsim-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("encsim/bayes/_data/registry.toml") == REGISTRY_TOML.read_bytes()
        archive.extractall(site)
    assert not [n for n in names if Path(n).name in shared_checksums()]  # never the MIT LL count files

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = (
        "import encsim, encsim.bayes.registry as r\n"
        "print(encsim.__file__)\n"
        "print(r.registry_source_path())\n"
        "print(len(r.load_registry()))\n"
        "print(r.resolve_model_file('balloon_v1')[0])\n"
    )
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ENCSIM_"))}
    run_env.update(PYTHONPATH=str(site), ENCSIM_MODEL_DIR=str(SHARED), ENCSIM_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=outside, env=run_env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    module, source, count, balloon = run.stdout.split("\n")[:4]
    assert Path(module).resolve().is_relative_to(site.resolve())  # the wheel's copy, not the source tree
    assert Path(source).resolve() == (site / "encsim" / "bayes" / "_data" / "registry.toml").resolve()
    assert count == "27" and Path(balloon) == SHARED / "balloon_v1.txt"
