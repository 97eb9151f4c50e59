"""The registry and model resolution: local folder, cache, checksum, download, package data.

Downloads are tested against a local http.server on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

import encsim
from encsim.bayes.registry import (
    ChecksumError,
    ModelNotFoundError,
    get_entry,
    load_registry,
    resolve_model_file,
)
from conftest import MODEL_DIR, PROJECT_ROOT


def shared_checksums() -> dict[str, str]:
    text = (MODEL_DIR / "README.md").read_text()
    return {name: digest for digest, name in re.findall(r"^ +([0-9a-f]{64})  (\S+)$", text, flags=re.M)}


def test_registry_names_the_27_shared_files_with_their_checksums():
    registry = load_registry()
    sums = shared_checksums()
    assert len(sums) == 27
    assert {entry.file: entry.sha256 for entry in registry.values()} == sums
    for name, entry in registry.items():
        assert entry.file == name + ".txt"
        assert entry.url.startswith("https://raw.githubusercontent.com/Airspace-Encounter-Models/em-model-manned-bayes/")
        assert entry.url.endswith("/" + entry.file)


def test_registry_encodes_the_documented_roles_and_scopes():
    registry = load_registry()
    assert registry["haa_v1"].altitude_reference == "MSL" and not registry["haa_v1"].sample_tracks
    assert registry["uncor_1200code_v2p1"].layer_edges_ft == (500, 1200, 3000, 5000, 18000)
    assert registry["uncor_1200code_v1"].layer_edges_ft == (500, 1200, 3000, 5000, 18000)
    assert registry["uncor_1200only_fwse_v1p2"].layer_edges_ft == (50, 500, 1200, 3000, 5000)
    surrogates = {name for name, entry in registry.items() if entry.noncooperative_surrogate}
    assert {"uncor_1200only_fwse_v1p2", "uncor_1200only_fwme_v1p2", "uncor_1200only_rotorcraft_v1p2", "uncor_1200code_v2p1"} <= surrogates
    assert not any(name.startswith("uncor_1200exclude") for name in surrogates)
    assert registry["skydiving_v1"].fly == "no" and registry["balloon_v1"].fly == "vertical-only"
    assert not registry["cor_v1"].sample_tracks and registry["cor_v1"].sample_initial
    for name in ("uncor_allcode_fwsingle_v1", "littoral_uncor_v1", "littoral_cor_v1"):
        assert registry[name].deprecated
    assert "correlated_terminal/terminalradar/" in registry["terminal_v3_radar_encounter_model"].url


def test_every_registry_model_resolves_and_loads_from_the_model_dir():
    for name in load_registry():
        path, entry = resolve_model_file(name)
        assert path.parent == MODEL_DIR and entry.name == name
    model = encsim.load_model("dueregard_v1")
    assert model.entry.name == "dueregard_v1" and model.roles["L"] == 0 and model.roles["G"] == 1


def test_relative_model_dir_is_resolved_against_the_current_directory(monkeypatch, tmp_path):
    (tmp_path / "m").mkdir()
    shutil.copy(MODEL_DIR / "balloon_v1.txt", tmp_path / "m" / "balloon_v1.txt")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENCSIM_MODEL_DIR", "m")
    path, _ = resolve_model_file("balloon_v1")
    assert path == (tmp_path / "m" / "balloon_v1.txt").resolve()


def test_missing_model_says_where_it_looked_and_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("ENCSIM_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ModelNotFoundError) as caught:
        encsim.load_model("glider_v1", download=False)
    message = str(caught.value)
    assert str(tmp_path / "nowhere") in message and "no such folder" in message
    assert str(tmp_path / "cache" / "glider_v1.txt") in message
    assert "ENCSIM_MODEL_DIR" in message and "glider_v1.txt" in message and "download" in message


def test_unknown_name_and_missing_path(tmp_path):
    with pytest.raises(ModelNotFoundError, match="did you mean glider_v1"):
        get_entry("glider_v2")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model_file(tmp_path / "absent" / "x.txt")


def test_explicit_path_is_matched_to_its_registry_entry_by_checksum(tmp_path):
    copy = tmp_path / "renamed.txt"
    shutil.copy(MODEL_DIR / "glider_v1.txt", copy)
    model = encsim.load_model(copy)
    assert model.name == "glider_v1" and model.path == copy.resolve()
    edited = tmp_path / "edited.txt"
    edited.write_text((MODEL_DIR / "glider_v1.txt").read_text().replace("# resample_rates", "# resample_rates", 1) + "\n")
    assert encsim.load_model(edited).entry is None


def test_corrupted_local_copy_is_refused(monkeypatch, tmp_path):
    text = (MODEL_DIR / "balloon_v1.txt").read_text()
    (tmp_path / "balloon_v1.txt").write_text(text.replace("# boundaries", "# boundaries", 1) + " ")
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(tmp_path))
    with pytest.raises(ChecksumError, match="sha256"):
        resolve_model_file("balloon_v1")


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture()
def local_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _CountingHandler.requests = []
    handler = functools.partial(_CountingHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_is_checksum_verified_cached_and_reused(local_server, monkeypatch, tmp_path):
    served, base = local_server
    shutil.copy(MODEL_DIR / "balloon_v1.txt", served / "balloon_v1.txt")
    monkeypatch.delenv("ENCSIM_MODEL_DIR", raising=False)
    monkeypatch.setenv("ENCSIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ENCSIM_MODEL_URL_BASE", base)
    with pytest.raises(ModelNotFoundError, match="download switched off"):
        resolve_model_file("balloon_v1")  # ENCSIM_OFFLINE=1 from conftest
    path, entry = resolve_model_file("balloon_v1", download=True)
    assert path == (tmp_path / "cache" / "balloon_v1.txt").resolve() and entry.name == "balloon_v1"
    assert _CountingHandler.requests == ["/balloon_v1.txt"]
    again, _ = resolve_model_file("balloon_v1", download=True)
    assert again == path and len(_CountingHandler.requests) == 1  # served from the cache


def test_download_with_a_wrong_checksum_is_refused(local_server, monkeypatch, tmp_path):
    served, base = local_server
    (served / "blimp_v1.txt").write_text((MODEL_DIR / "blimp_v1.txt").read_text() + "tampered\n")
    monkeypatch.delenv("ENCSIM_MODEL_DIR", raising=False)
    monkeypatch.setenv("ENCSIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ENCSIM_MODEL_URL_BASE", base)
    with pytest.raises(ChecksumError, match="sha256"):
        resolve_model_file("blimp_v1", download=True)
    assert not (tmp_path / "cache" / "blimp_v1.txt").exists()


@pytest.mark.slow
def test_wheel_carries_the_registry_as_package_data(tmp_path):
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling (in the dev extra)")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(PROJECT_ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("encsim-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("encsim/bayes/_data/registry.toml")
        archive.extractall(tmp_path / "site")
    assert packaged == (PROJECT_ROOT / "models" / "registry.toml").read_bytes()
    probe = (
        "from encsim.bayes.registry import load_registry, registry_source_path; "
        "print(registry_source_path()); print(len(load_registry()))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    where, count = run.stdout.split()
    assert Path(where) == tmp_path / "site" / "encsim" / "bayes" / "_data" / "registry.toml"
    assert count == "27"
