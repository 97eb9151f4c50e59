"""The ``encsim`` command: a thin adapter over the Python API.

Examples
--------
encsim models list
encsim models info uncor_1200only_fwse_v1p2
encsim models verify
encsim sample uncor_1200only_fwse_v1p2 -n 10000 --duration 300 --seed 1 --start G=1,A=4 -o tracks.h5
"""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import TYPE_CHECKING

import click

from . import __version__

if TYPE_CHECKING:  # pandas only for annotations: `encsim --help` starts without importing it
    import pandas as pd


def _fail(message: str) -> None:
    click.echo(f"encsim: error: {message}", err=True)
    sys.exit(2)


def _scenario_client(make_client, scheduler, workers, cluster):
    """The executor of ``encsim run`` and ``encsim sweep``: ``make_client`` with the scenario's ``[cluster]`` table."""
    return make_client(
        scheduler,
        workers,
        queue=cluster.queue,
        cores=cluster.cores,
        memory=cluster.memory,
        walltime=cluster.walltime,
        jobs=cluster.jobs,
    )


#: an attribute every file of each kind carries, and the command that writes such files
_FILE_KINDS = {"tracks": ("n_tracks", "encsim sample"), "results": ("scenario_text", "encsim run or encsim encounters")}


def _require_file_kind(path, kind: str) -> None:
    """Refuse, with a clear message, a path that is not an encsim HDF5 file of ``kind``."""
    import h5py

    writer = _FILE_KINDS[kind][1]
    if not os.path.isfile(path):
        _fail(f"{path}: no such file (expected a {kind} file written by {writer})")
    if not h5py.is_hdf5(path):
        _fail(f"{path}: not an HDF5 file (expected a {kind} file written by {writer})")
    try:
        with h5py.File(path, "r") as f:
            present = [name for name, (attr, _) in _FILE_KINDS.items() if attr in f.attrs]
    except OSError as exc:
        from .io.encounters_file import _h5_reason

        _fail(f"{path}: a damaged or truncated HDF5 file ({_h5_reason(exc)}); recompute it or restore it")
    if kind not in present:
        found = f"a {present[0]} file" if present else "an HDF5 file encsim did not write"
        _fail(f"{path}: this is {found}, not a {kind} file (written by {writer})")


def _rejections_text(counts: dict) -> str:
    """Rejection counts one per line, largest first, with what each reason means."""
    from .results import describe_rejections

    return describe_rejections(counts)


def _require_writable_output(output) -> None:
    """Make the output's folder (``-o out/results.h5`` on a fresh clone), or fail saying why not."""
    folder = os.path.dirname(os.path.abspath(output))
    if os.path.isdir(output):
        _fail(f"-o {output}: this is a folder; give a file name")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        _fail(f"-o {output}: cannot create the folder {folder} ({exc.strerror or exc})")
    if not os.access(folder, os.W_OK):
        _fail(f"-o {output}: the folder {folder} is not writable")


def _results_inputs(results_file) -> dict:
    """A results file and, for a joined run file, the chunk files it reads (none may be overwritten)."""
    import h5py

    inputs = {"input (results file)": results_file}
    try:
        with h5py.File(results_file, "r") as f:
            dataset = f["metadata"]["encounter_id"]
            if dataset.is_virtual:
                folder = os.path.dirname(os.path.abspath(results_file))
                for source in dict.fromkeys(s.file_name for s in dataset.virtual_sources()):
                    inputs[f"input (chunk file {source})"] = os.path.join(folder, source)
    except (OSError, KeyError):
        pass  # the reader names the damage
    return inputs


def _require_verified_run_directory(run_dir) -> None:
    """Refuse a run directory another run is writing, or whose chunks are missing, changed or mixed."""
    from pathlib import Path

    from .runner.lock import LOCK, describe_holder, read_holder, stale_reason
    from .runner.run import MANIFEST, verify_run_directory

    holder = read_holder(Path(run_dir) / LOCK)
    if holder and stale_reason(holder) is None:
        _fail(f"{run_dir} is being written by an encsim run ({describe_holder(holder)}): report it when it is done")
    if not (Path(run_dir) / MANIFEST).is_file():
        return  # not a run directory: the results-file check says what is wrong
    try:
        verify_run_directory(run_dir)
    except ValueError as exc:
        _fail(str(exc))


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _require_new_output(output, overwrite: bool, inputs: dict) -> None:
    """Refuse an output that is one of the command's inputs (always), or that exists (unless --overwrite)."""
    if os.path.isdir(output):
        _fail(f"-o {output}: this is a folder; give a file name")
    for role, path in inputs.items():
        if path is not None and os.path.exists(path) and _same_file(output, path):
            _fail(f"-o {output}: this is the command's {role}; writing there would destroy it: choose another name")
    if os.path.exists(output) and not overwrite:
        _fail(f"-o {output}: exists; pass --overwrite to replace it, or choose another name")


def _io_reason(exc: OSError) -> str:
    """The operating system's words for an I/O fault (h5py puts them in its message, not in errno)."""
    if exc.errno:
        return exc.strerror or os.strerror(exc.errno)
    text = str(exc)
    marker = "error message = '"
    if marker in text:
        return text.split(marker, 1)[1].split("'", 1)[0]
    return text.split("(", 1)[0].strip() or type(exc).__name__


_WRITE_FAULTS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EIO, errno.EPERM}

_OVERWRITE = click.option("--overwrite", is_flag=True, help="Replace the output if it exists (never an input).")


@click.group()
@click.version_option(__version__, prog_name="encsim")
def main() -> None:
    """encsim: Monte Carlo simulation of mid-air encounters with the MIT LL encounter models."""


# ---------------------------------------------------------------------------------- models


@main.group()
def models() -> None:
    """List, describe and verify the encounter models of the registry."""


def _scope(entry) -> str:
    hi = entry.altitude_scope_ft[1]
    hi_text = "inf" if hi == float("inf") else f"{hi:,.0f}"
    return f"{entry.altitude_scope_ft[0]:,.0f}-{hi_text} ft {entry.altitude_reference}"


def _abilities(entry) -> str:
    words = []
    if entry.sample_tracks:
        words.append("tracks")
    elif entry.sample_initial:
        words.append("initial-only")
    if entry.fly != "no":
        words.append("fly" if entry.fly == "yes" else f"fly({entry.fly})")
    if entry.encounters:
        words.append("encounters")
    return ",".join(words) or "load-only"


@models.command("list")
def models_list() -> None:
    """One line per registry model: class, data, altitude scope, surrogate and deprecated flags."""
    from .bayes.catalogue import load_registry

    registry = load_registry()
    rows = [("name", "aircraft class", "data", "scope", "uses", "flags")]
    for name, entry in sorted(registry.items()):
        flags = ["surrogate"] * bool(entry.noncooperative_surrogate) + ["deprecated"] * bool(entry.deprecated)
        rows.append((name, entry.aircraft_class, entry.data_source, _scope(entry), _abilities(entry), ",".join(flags)))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]) - 1)]  # whole values, never cut
    lines = [" ".join(f"{value:{width}s}" for value, width in zip(row, widths)) + " " + row[-1] for row in rows]
    click.echo(lines[0])
    click.echo("-" * len(lines[0]))
    for line in lines[1:]:
        click.echo(line.rstrip())


@models.command("info")
@click.argument("name")
def models_info(name: str) -> None:
    """Variables, bins with units, parents, altitude scope and training hours of one model."""
    from .bayes import load_model

    try:
        model = load_model(name)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    entry = model.entry
    click.echo(f"model      {model.name}")
    click.echo(f"file       {model.path}")
    click.echo(f"sha256     {model.sha256}")
    if entry is not None:
        click.echo(f"class      {entry.aircraft_class} ({entry.family})")
        click.echo(f"data       {entry.data_source}")
        click.echo(f"scope      {_scope(entry)}")
        click.echo(f"layers     {list(entry.layer_edges_ft)} ft {entry.altitude_reference}")
        click.echo(f"uses       {_abilities(entry)}" + (f"  ({entry.refusal})" if entry.refusal else ""))
        click.echo(f"surrogate  {'yes' if entry.noncooperative_surrogate else 'no'} for non-cooperative aircraft")
        click.echo(f"deprecated {'yes' if entry.deprecated else 'no'}")
        click.echo(f"about      {entry.description}")
    hours = model.training_hours()
    if hours is not None:
        click.echo(f"training   {hours:,.0f} h (total initial count / 3600)")
    elif model.transition is None or (entry is not None and entry.family in ("correlated", "terminal-geometry")):
        click.echo("training   n/a (the counts are encounters, not seconds of track)")
    else:
        click.echo("training   n/a (initial tables disagree in their totals)")
    click.echo(f"transitions {'yes' if model.has_transitions else 'no (static network)'}")
    click.echo("")
    click.echo(f"{'#':>2} {'label':14s} {'role':7s} {'bins':>4} {'units':10s} {'rate':>9} parents / edges")
    for row in model.describe_variables():
        edges = "*" if row["edges"] is None else " ".join(f"{e:g}" for e in row["edges"])
        zero = f" (zero bin {row['zero_bin']})" if row["zero_bin"] else ""
        dynamic = " dynamic" if row["dynamic"] else ""
        click.echo(
            f"{row['index']:>2} {row['label']:14s} {row['role']:7s} {row['bins']:>4} {row['units']:10s} "
            f"{row['resample_rate']:9.6f} parents [{', '.join(row['parents'])}]{dynamic}"
        )
        click.echo(f"{'':>2} {'':14s} edges: {edges}{zero}")
        if row.get("bin_meanings"):
            meanings = ", ".join(f"{k} = {text}" for k, text in enumerate(row["bin_meanings"], start=1))
            click.echo(f"{'':>2} {'':14s} bins: {meanings}")
    if model.has_transitions:
        click.echo("")
        click.echo("transition parents:")
        for j in model.transition_order:
            parents = [model.transition.labels[p] for p in model.transition.parents(j)]
            click.echo(f"   {model.transition.labels[j]:16s} <- {', '.join(parents)}")
    for quirk in model.quirks:
        click.echo(f"QUIRK: {quirk}")


@models.command("verify")
@click.argument("names", nargs=-1)
def models_verify(names) -> None:
    """Find, checksum and validate every registry model (or the NAMES given); report quirks."""
    from .bayes import load_model
    from .bayes.catalogue import load_registry

    registry = load_registry()
    failures = 0
    for name in names or sorted(registry):
        try:
            model = load_model(name)
        except (FileNotFoundError, ValueError) as exc:
            failures += 1
            click.echo(f"FAIL  {name}: {exc}")
            continue
        status = "QUIRK" if model.quirks else "ok"
        click.echo(
            f"{status:5s} {name}: sha256 verified, {model.n_variables} variables, "
            f"{'transitions' if model.has_transitions else 'static'}, file {model.path}"
        )
        for quirk in model.quirks:
            click.echo(f"      {quirk}")
    click.echo(f"{failures} failed" if failures else "all models verified")
    sys.exit(1 if failures else 0)


# ---------------------------------------------------------------------------------- sample


@main.command()
@click.argument("model")
@click.option("-n", "n_tracks", type=click.IntRange(min=1), required=True, help="Number of tracks.")
@click.option(
    "--duration", "duration_s", type=click.IntRange(min=1), default=60, show_default=True, help="Track length, s."
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the Philox streams.")
@click.option("--start", default=None, help="Presets as 1-based bins, e.g. G=1,A=4.")
@click.option("--first-id", type=click.IntRange(min=0), default=0, show_default=True, help="Id of the first track.")
@click.option("--empty-column", type=click.Choice(["reject", "hold", "bin1"]), default="reject", show_default=True)
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, help="Tracks per chunk (memory bound).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="HDF5 file to write.")
@click.option("--fly", "fly_tracks", is_flag=True, help="Also fly the tracks (10-Hz dynamics, model limits, redraws).")
@click.option(
    "--output-hz",
    type=click.Choice(["10", "5", "2", "1"]),
    default="10",
    show_default=True,
    help="Recording rate of the trajectories with --fly.",
)
@click.option("--reference-limits", is_flag=True, help="With --fly: the reference's getDynamicLimits exactly.")
@click.option("--strict", is_flag=True, help="Error (not warn) when layers leave the model's altitude scope.")
@click.option(
    "--anchor",
    "anchor_text",
    default=None,
    metavar="LAT,LON,GROUND_FT",
    help="With --fly: also store latitude, longitude and altitude (ft above WGS-84) of the trajectories, "
    "each track starting at this point (deg, deg, ft of ground).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_OVERWRITE
def sample(
    model,
    n_tracks,
    duration_s,
    seed,
    start,
    first_id,
    empty_column,
    chunk_size,
    output,
    fly_tracks,
    output_hz,
    reference_limits,
    strict,
    anchor_text,
    quiet,
    overwrite,
) -> None:
    """Sample tracks from MODEL (registry name or file) and write them to an HDF5 file."""
    from tqdm import tqdm

    from .bayes import load_model
    from .io.geodetic import parse_anchor
    from .io.tracks_file import TrackFileWriter
    from .sampling import SamplingError, preset_mapping, sample_tracks
    from .tracks import fly_chunks

    anchor = None
    if anchor_text is not None:
        if not fly_tracks:
            raise click.BadParameter(
                f"{anchor_text!r}: the anchor places flown trajectories; add --fly", param_hint="'--anchor'"
            )
        try:
            anchor = parse_anchor(anchor_text)
        except ValueError as exc:
            raise click.BadParameter(f"{anchor_text!r}: {exc}", param_hint="'--anchor'") from None
    _require_new_output(output, overwrite, {"model file": model})
    try:
        loaded = load_model(model)
        presets = preset_mapping(start)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    records = duration_s * int(output_hz) + 1
    # bound memory: about 2e6 command-buffer track-seconds, or 25e6 trajectory values, per chunk
    chunk = chunk_size or (max(100, 25_000_000 // (records * 8)) if fly_tracks else max(1000, 2_000_000 // duration_s))
    provenance = {
        "model_name": loaded.name,
        "model_sha256": loaded.sha256,
        "seed": seed,
        "first_id": first_id,
        "duration_s": duration_s,
        "presets": presets,
        "empty_column": empty_column,
        "arguments": {
            "model": model,
            "n": n_tracks,
            "duration_s": duration_s,
            "seed": seed,
            "start": start,
            "first_id": first_id,
            "empty_column": empty_column,
            "chunk_size": chunk,
            "fly": fly_tracks,
            "output_hz": int(output_hz),
            "reference_limits": reference_limits,
            "strict": strict,
            "anchor": anchor_text,
        },
    }
    if anchor is not None:
        provenance["anchor"] = anchor

    def sampled_chunks():
        # one chunk sampled at a time: fly_chunks flies (and redraws in) it before the next is drawn
        for chunk_start in range(0, n_tracks, chunk):
            yield sample_tracks(
                loaded,
                min(chunk, n_tracks - chunk_start),
                duration_s,
                rng=seed,
                start=presets,
                strict=strict,
                first_id=first_id + chunk_start,
                empty_column=empty_column,
            )

    with tqdm(total=n_tracks, unit="track", disable=quiet, desc=f"sampling {loaded.name}") as bar:
        with TrackFileWriter(output, provenance, overwrite=overwrite) as writer:
            chunks = (
                fly_chunks(
                    sampled_chunks(),
                    loaded,
                    output_hz=float(output_hz),
                    reference_limits=reference_limits,
                    strict=strict,
                )
                if fly_tracks
                else sampled_chunks()
            )
            try:
                for part in chunks:
                    if fly_tracks:
                        writer.append(part.sample)
                        writer.append_trajectories(part.trajectories, part.rejections, part.limits, anchor=anchor)
                    else:
                        writer.append(part)
                    bar.update((part.sample if fly_tracks else part).n_tracks)
            except (ValueError, SamplingError) as exc:
                _fail(str(exc))
            except OSError as exc:
                _fail(f"-o {output}: cannot write ({_io_reason(exc)}); nothing was written")
        rejections = writer.rejections
    total_rejected = sum(rejections.values())
    flown_text = f", flown at {output_hz} Hz" if fly_tracks else ""
    if anchor is not None:
        flown_text += f" and placed at {anchor['lat_deg']}, {anchor['lon_deg']} ({anchor['ground_alt_ft']} ft)"
    click.echo(f"wrote {n_tracks} tracks of {duration_s} s from {loaded.name}{flown_text} to {output}")
    click.echo(f"rejected and redrawn: {total_rejected}")
    if total_rejected:
        click.echo(_rejections_text(rejections))


# ---------------------------------------------------------------------------------- encounters


def _load_logic(spec: str) -> str:
    """Check that ``--logic`` names a reference logic or an importable ``module:object``; returns the name.

    The name, not the object, travels on (to the outcomes' provenance and to runner workers, which
    import it themselves). Modules are looked up from the current directory too, as ``python -m`` does.
    """
    from .avoidance import LogicContractError, LogicSpecError, check_named_logic, is_compiled

    if ":" in spec and "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        function, _ = check_named_logic(spec)
    except LogicSpecError as exc:
        _fail(f"--logic: {exc}")
    except LogicContractError as exc:
        _fail(f"--logic {spec} breaks the logic contract: {exc}")
    if not is_compiled(function):
        click.echo(
            f"note: --logic {spec} is a plain Python logic: the closed loop runs on the slow path "
            "(about a thousand times slower than @njit); use it to prototype, then compile it",
            err=True,
        )
    return spec


def _scenario_for_output(scenario_path, output, encounters, seed, overwrite=False, seams=None):
    """The scenario of a ``.h5`` output (with the --encounters/--seed overrides, and the --surveillance/--pilot
    ones written into its text) and its text."""
    from .io.scenario import ScenarioError, load_scenario, parse_scenario, with_seam_overrides

    try:
        scenario, text = load_scenario(scenario_path)
        if seams and any(value is not None for value in seams.values()):
            text = with_seam_overrides(text, **seams, source=str(scenario_path))
            scenario = parse_scenario(text, source=str(scenario_path))
    except ScenarioError as exc:
        _fail(str(exc))
    overrides = {key: value for key, value in (("encounters", encounters), ("seed", seed)) if value is not None}
    if overrides:
        scenario = scenario.model_copy(update={"run": scenario.run.model_copy(update=overrides)})
    if not str(output).endswith(".h5"):
        _fail(f"-o {output}: give a file ending in .h5 (run directories come with the distributed runner)")
    _require_new_output(output, overwrite, {"scenario file": scenario_path})
    _require_writable_output(output)
    return scenario, text


def _write_h5(
    scenario_path, output, encounters, seed, quiet, trajectories=False, logic=None, overwrite=False, seams=None
):
    """Generate (and fly) a scenario's encounters into one ``.h5`` file through the runner's chunk writer."""
    from tqdm import tqdm

    from .bayes.registry import ModelNotFoundError
    from .encounters import EncounterError
    from .runner import n_chunks, write_encounter_file
    from .runner.resources import InsufficientMemoryError, check_memory

    scenario, text = _scenario_for_output(scenario_path, output, encounters, seed, overwrite, seams)
    if logic:
        _check_seams(scenario)
    try:
        check_memory(scenario, keep_trajectories=trajectories, source=str(scenario_path))
    except InsufficientMemoryError as exc:
        _fail(str(exc))
    _exempt_imported_objects_from_gc()
    with tqdm(total=scenario.run.encounters, unit="enc", disable=quiet, desc=scenario.name or "encounters") as bar:

        def flying(n_encounters):  # the bar counts generated encounters: say what it waits for meanwhile
            bar.set_postfix_str(f"flying {n_encounters} encounters with {logic}")

        try:
            write_encounter_file(
                output,
                scenario,
                text,
                logic,
                range(n_chunks(scenario)),
                progress=bar.update,
                keep_trajectories=trajectories,
                on_flying=flying,
                overwrite=overwrite,
            )
        except (ModelNotFoundError, FileNotFoundError) as exc:  # says where encsim looked and how to provide it
            _fail(str(exc))
        except (EncounterError, ValueError) as exc:
            _fail(str(exc))
        except OSError as exc:  # disk full, folder removed or made read-only meanwhile...
            _fail(f"-o {output}: cannot write ({_io_reason(exc)}); nothing was written (no partial file is left)")
    return scenario


def _exempt_imported_objects_from_gc() -> None:
    """Leave every object alive now out of Python's cyclic garbage collection (`gc.freeze`).

    They are the imports' modules, classes, functions and tables (numpy, numba, pandas, scipy,
    encsim), alive until the process ends. Each collection of the oldest generation traversed them
    all, and the glue between a run's kernels makes enough containers to trigger collections often:
    about 4 % of generation's CPU time (benchmarks/README.md, issue 19). Objects made later are
    collected as before.
    """
    import gc

    gc.freeze()


def _results_summary(path, first_line: str) -> None:
    """The summary of a written results file (either output kind): totals, rejections and estimates."""
    from .io.encounters_file import read_summary_tables

    try:
        attrs, metadata, outcomes = read_summary_tables(path)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    click.echo(first_line)
    attempts = int(attrs["attempts"])
    click.echo(f"attempts {attempts}, acceptance rate {len(metadata) / attempts:.4f}")
    click.echo(f"rejections:\n{_rejections_text(json.loads(attrs['rejections']))}")
    if "ends_before_cpa" in metadata:  # recorded encounters: a recording cut before its closest approach
        early = metadata.loc[metadata["ends_before_cpa"].astype(bool), "encounter_id"].tolist()
        click.echo(
            f"recordings ending before their closest approach: {len(early)} (ids {early})"
            if early
            else "recordings ending before their closest approach: none"
        )
    if outcomes is None:
        _nominal_estimates(metadata)
        return
    click.echo(f"logic: {attrs['logic']}")
    from .io.scenario import parse_scenario

    scenario = parse_scenario(str(attrs["scenario_text"]), source=str(path), check_models=False)
    provenance = json.loads(attrs.get("closed_loop", "{}"))
    _closed_loop_summary(outcomes, metadata, scenario, provenance)


def _nominal_estimates(metadata: pd.DataFrame) -> None:
    """Weighted P(NMAC) and P(LoWC) of generated (nominal) encounters, with 95 % intervals."""
    from .metrics import weighted_probability

    weights = metadata["weight"].to_numpy()
    click.echo(f"{'metric':10s} {'weighted P':>12s} {'95 % CI':>25s} {'events':>7s}")
    for name, column in (("P(NMAC)", "nmac"), ("P(LoWC)", "lowc")):
        estimate = weighted_probability(metadata[column].to_numpy().astype(float), weights, rng=0)
        interval = f"{estimate.ci_low:.4g} - {estimate.ci_high:.4g}"
        click.echo(f"{name:10s} {estimate.probability:12.4g} {interval:>25s} {estimate.events:7d}")


@main.command()
@click.argument("scenario_file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Encounter set (.h5).")
@click.option("--encounters", type=click.IntRange(min=1), default=None, help="Override run.encounters.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override run.seed.")
@click.option("--trajectories", is_flag=True, help="Also store the placed 10-Hz trajectories (float32).")
@click.option(
    "--daa",
    "daa_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write each encounter as a .daa file in this folder (1 Hz; geodetic with the scenario's [anchor]).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_OVERWRITE
def encounters(scenario_file, output, encounters, seed, trajectories, daa_dir, quiet, overwrite) -> None:
    """Generate the encounters of SCENARIO_FILE (initial states, commands, weights, metadata)."""
    if daa_dir is not None:
        _require_new_daa_folder(daa_dir, overwrite)
    scenario = _write_h5(scenario_file, output, encounters, seed, quiet, trajectories, overwrite=overwrite)
    _results_summary(
        output, f"wrote {scenario.run.encounters} encounters of {scenario.name or 'the scenario'} to {output}"
    )
    if daa_dir is not None:
        _write_daa_folder(output, daa_dir)


def _require_new_daa_folder(daa_dir, overwrite: bool) -> None:
    """Refuse a --daa folder that already holds encounter .daa files (unless --overwrite) or is not a folder."""
    from pathlib import Path

    folder = Path(daa_dir)
    if folder.exists() and not folder.is_dir():
        _fail(f"--daa {daa_dir}: exists and is not a folder")
    existing = sorted(folder.glob("encounter_*.daa")) if folder.is_dir() else []
    if existing and not overwrite:
        found = f"{len(existing)} encounter .daa files (e.g. {existing[0].name})"
        _fail(f"--daa {daa_dir}: already holds {found}; give another folder or --overwrite")


def _write_daa_folder(results_path, daa_dir) -> None:
    """The nominal trajectories of every encounter in RESULTS_PATH as .daa files (provenance from the file)."""
    from . import __version__
    from .checksums import text_sha256
    from .io.daa_encounters import OUTPUT_HZ, write_flown_daa
    from .results import open_results

    results = open_results(results_path)
    scenario = results.scenario
    ids, own, intruder = results.nominal_trajectories(output_hz=OUTPUT_HZ)
    provenance = {
        "encsim_version": __version__,
        "scenario_name": scenario.name,
        "scenario_sha256": text_sha256(results.scenario_text),
        "seed": int(results.provenance["seed"]),
    }
    try:
        paths = write_flown_daa(ids, own, intruder, daa_dir, anchor=scenario.anchor, provenance=provenance)
    except OSError as exc:
        _fail(f"--daa {daa_dir}: cannot write ({_io_reason(exc)})")
    frame = (
        "geodetic (the scenario's anchor)" if scenario.anchor is not None else "Euclidean (no [anchor] in the scenario)"
    )
    click.echo(f"wrote {len(paths)} .daa files to {daa_dir}: {frame}, 1 Hz, ownship first")


def _closed_loop_summary(outcomes: pd.DataFrame, metadata=None, scenario=None, provenance=None) -> None:
    """Print the summary table; with metadata, the scenario and the logic's provenance, all its rows."""
    from .io.scenario import intruder_layer_edges_ft, scored_regions_ft
    from .metrics import closed_loop_summary
    from .simulate import alerting_times

    rows = closed_loop_summary(
        outcomes,
        alerting_times=alerting_times(provenance),
        metadata=metadata,
        layer_edges_ft=None if scenario is None else intruder_layer_edges_ft(scenario),
        regions_ft=None if scenario is None else scored_regions_ft(scenario),
    )
    click.echo(f"{'metric':22s} {'estimate':>10s} {'95 % CI':>22s}  detail")
    for row in rows:
        estimate = "refused" if row.estimate is None else f"{row.estimate:.4g}"
        click.echo(f"{row.name:22s} {estimate:>10s} {row.interval_text():>22s}  {row.detail}")
        for note in row.notes:  # estimator cautions, under their row rather than as Python warnings
            click.echo(f"{'':22s} note: {note}")


@main.command()
@click.argument("scenario_file", type=click.Path(exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    required=True,
    help="A results file (.h5), or a run directory (chunk files, manifest, joined results.h5).",
)
@click.option(
    "--logic",
    default=None,
    help="unequipped | daa | daa-vertical | daa-both | daa-sum | daa-a | daa-noncoop | tcas | "
    "module:object (closed loop; a user logic, @njit or plain Python).",
)
@click.option(
    "--encounters",
    type=click.IntRange(min=1),
    default=None,
    help="Override run.encounters (a run directory records it in its scenario text).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Override run.seed (a run directory records it too)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Local worker processes (run directory; 0: this process).",
)
@click.option(
    "--scheduler",
    default=None,
    help="local | tcp://host:port | slurm | pbs (run directory; default: the scenario's [cluster]).",
)
@click.option("--resume", is_flag=True, help="Continue the run in the run directory, keeping its verified chunks.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--overwrite", is_flag=True, help="Replace an existing .h5 output (a run directory: --resume).")
@click.option(
    "--chunk-time-limit",
    "chunk_time_limit_s",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop a chunk running longer than this with an error (run directory; a logic that never returns).",
)
@click.option(
    "--surveillance",
    default=None,
    metavar="NAME",
    help="What the logic sees: perfect | noise | adsb | radar | active | active-mode-c, optionally +tracker "
    "(adsb+tracker), or module:object; overrides the scenario's [surveillance] model (written into its text).",
)
@click.option(
    "--pilot",
    default=None,
    metavar="NAME",
    help="standard | r6 | r6-deterministic | module:object; overrides the scenario's [pilot] model.",
)
def run(
    scenario_file,
    output,
    logic,
    encounters,
    seed,
    workers,
    scheduler,
    resume,
    quiet,
    overwrite,
    chunk_time_limit_s,
    surveillance,
    pilot,
) -> None:
    """Run SCENARIO_FILE: its encounters with nominal outcomes, or nominal and mitigated with --logic.

    SCENARIO_FILE may also be a folder of .daa recordings (or one .daa file): each file one
    encounter of weight 1, with the default metrics, perfect surveillance and the standard pilot
    (docs/encounter_sources.md, "recorded").
    """
    chosen = _load_logic(logic) if logic else None
    if (surveillance or pilot) and not logic:
        _fail("--surveillance and --pilot: for a closed-loop run (give --logic)")
    seams = {"surveillance": surveillance, "pilot": pilot}
    _note_first_compilation(chosen)
    if not str(output).endswith(".h5"):
        if os.path.exists(output) and not os.path.isdir(output):
            _fail(f"-o {output}: exists and is not a folder; give a run directory, or a results file ending in .h5")
        if overwrite:
            _fail("--overwrite: for a .h5 output; a run directory is continued with --resume (or remove it first)")
        _run_directory(
            scenario_file, output, logic, workers, scheduler, resume, quiet, chunk_time_limit_s, encounters, seed, seams
        )
        return
    given = [
        name
        for name, value in (
            ("--workers", workers),
            ("--scheduler", scheduler),
            ("--resume", resume or None),
            ("--chunk-time-limit", chunk_time_limit_s),
        )
        if value is not None
    ]
    if given:
        _fail(f"{', '.join(given)}: for a run directory (-o DIR); a .h5 output runs here, in this process")
    scenario = _write_h5(scenario_file, output, encounters, seed, quiet, logic=chosen, overwrite=overwrite, seams=seams)
    _results_summary(
        output, f"wrote {scenario.run.encounters} encounters of {scenario.name or 'the scenario'} to {output}"
    )


def _check_seams(scenario) -> None:
    """Check a user's surveillance or pilot model of the scenario once, before the run (as --logic is)."""
    from .simulate import SeamContractError, check_pilot, check_surveillance, scenario_seams

    surveillance, pilot = scenario_seams(scenario)
    try:
        if surveillance.kernel_id is None:
            check_surveillance(surveillance.model)
        if pilot.kernel_id is None:
            check_pilot(pilot.model)
    except SeamContractError as exc:
        _fail(f"the scenario's surveillance or pilot model breaks its contract: {exc}")


def _note_first_compilation(logic) -> None:
    """Say why the first run of an installation is slow: Numba compiles the kernels once, then caches them."""
    from .encounters import kernels_cached as generation_cached
    from .simulate import kernels_cached as closed_loop_cached

    # the generation's kernel, then the closed loop's when a logic flies (False: not compiled yet)
    if generation_cached() is False or (logic and closed_loop_cached() is False):
        click.echo(
            "note: the first run on this installation compiles encsim's kernels once (about 1-2 minutes on "
            "2 cores); they are cached on disk, so later runs start at once",
            err=True,
        )


def _start_bar_at(bar, encounters_done: int) -> None:
    """Start a progress bar at the encounters a resumed run kept, so its rate counts only new work."""
    bar.initial = bar.n = bar.last_print_n = encounters_done
    bar.refresh()


def _run_directory(
    scenario_file,
    run_dir,
    logic,
    workers,
    scheduler,
    resume,
    quiet,
    chunk_time_limit_s=None,
    encounters=None,
    seed=None,
    seams=None,
) -> None:
    """Chunked run into a directory on the chosen executor, then the summary from the joined file.

    ``encounters``/``seed`` (--encounters/--seed) are written into the run's scenario text, which
    the manifest binds the run to (`encsim.io.scenario.with_run_overrides`).
    """
    from tqdm import tqdm

    from .io.scenario import (
        ClusterSpec,
        ScenarioError,
        load_scenario,
        parse_scenario,
        with_run_overrides,
        with_seam_overrides,
    )
    from .runner import run_scenario
    from .runner.clusters import make_client

    seams = seams or {}
    try:
        scenario, text = load_scenario(scenario_file)
        if encounters is not None or seed is not None:
            text = with_run_overrides(text, encounters=encounters, seed=seed, source=str(scenario_file))
            scenario = parse_scenario(text, source=str(scenario_file))
        if any(value is not None for value in seams.values()):
            text = with_seam_overrides(text, **seams, source=str(scenario_file))
            scenario = parse_scenario(text, source=str(scenario_file))
    except ScenarioError as exc:
        _fail(str(exc))
    if logic:
        _check_seams(scenario)
    cluster = scenario.cluster or ClusterSpec()
    scheduler = scheduler or cluster.scheduler
    workers = cluster.workers if workers is None else workers
    if scheduler == "local":  # the workers share this machine's memory
        from .runner.resources import InsufficientMemoryError, check_memory

        try:
            check_memory(scenario, workers=workers, source=str(scenario_file))
        except InsufficientMemoryError as exc:
            _fail(str(exc))
    try:
        with _scenario_client(make_client, scheduler, workers, cluster) as client:
            with tqdm(total=scenario.run.encounters, unit="enc", disable=quiet, desc=scenario.name or "run") as bar:
                result = run_scenario(
                    scenario_file,
                    run_dir,
                    logic=logic,
                    executor=client,
                    resume=resume,
                    progress=bar.update,
                    on_reused=lambda reused: _start_bar_at(bar, reused),
                    chunk_time_limit_s=chunk_time_limit_s,
                    on_stale_lock=lambda sentence: click.echo(f"note: {sentence}", err=True),
                    encounters=encounters,
                    seed=seed,
                    **seams,
                )
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        _fail(str(exc))
    except OSError as exc:  # a folder that cannot be written (disk full...), or a tcp:// scheduler that does not answer
        if exc.errno in _WRITE_FAULTS or "error message = " in str(exc):
            _fail(
                f"-o {run_dir}: cannot write ({_io_reason(exc)}); the chunks finished so far are kept: make room "
                "and continue with --resume"
            )
        _fail(f"{exc} (scheduler {scheduler})")
    _results_summary(
        result.results_path,
        f"{result.encounters} encounters in {run_dir}: {result.chunks_computed} chunks computed, "
        f"{result.chunks_reused} reused; joined in {result.results_path}",
    )


def _split_values(text: str) -> list[str]:
    """``60,90,110`` -> its values; a comma inside brackets or quotes belongs to the value."""
    values, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(current.strip())
            current = ""
            continue
        current += char
    values.append(current.strip())
    return values


def _key_values(option: str, text: str, *, many: bool) -> tuple[str, list]:
    """``--vary key=v1,v2`` (or ``--baseline key=value``) as the key and its parsed values."""
    from .io.overrides import parse_override_value

    key, sep, rest = text.partition("=")
    if not sep or not key.strip() or not rest.strip():
        _fail(f"{option} {text!r}: expected KEY=VALUE{',VALUE...' if many else ''} (e.g. metrics.well_clear=do365)")
    raw = _split_values(rest) if many else [rest.strip()]
    if any(not value for value in raw):
        _fail(f"{option} {text!r}: an empty value")
    key = key.strip()
    # a logic name is a name, never a number or a TOML value
    return key, raw if key == "logic" else [parse_override_value(value) for value in raw]


def _baseline_values(texts) -> dict:
    baseline = {}
    for text in texts:
        for item in _split_values(text):
            key, values = _key_values("--baseline", item, many=False)
            baseline[key] = values[0]
    return baseline


@main.command()
@click.argument("scenario_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--vary",
    "vary_options",
    multiple=True,
    required=True,
    metavar="KEY=V1,V2,...",
    help="A scenario key (dotted, e.g. metrics.well_clear) or 'logic' and its values; repeat for a grid.",
)
@click.option("--logic", default=None, help="The logic of every point (or vary it with --vary logic=daa,tcas).")
@click.option("-o", "--output", type=click.Path(file_okay=False), required=True, help="The sweep's folder.")
@click.option(
    "--baseline",
    "baseline_options",
    multiple=True,
    metavar="KEY=VALUE,...",
    help="The point the paired differences are from (default: the first combination).",
)
@click.option("--encounters", type=click.IntRange(min=1), default=None, help="Override run.encounters for every point.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override run.seed for every point.")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="Local worker processes (0: this process).")
@click.option("--scheduler", default=None, help="local | tcp://host:port | slurm | pbs (default: the scenario's).")
@click.option("--n-boot", type=click.IntRange(min=10), default=1000, show_default=True, help="Bootstrap resamples.")
@click.option(
    "--chunk-time-limit",
    "chunk_time_limit_s",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop a chunk running longer than this with an error.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep(
    scenario_file,
    vary_options,
    logic,
    output,
    baseline_options,
    encounters,
    seed,
    workers,
    scheduler,
    n_boot,
    chunk_time_limit_s,
    quiet,
) -> None:
    """Run SCENARIO_FILE over every combination of the --vary values, all points over the same encounters.

    Each point runs in OUTPUT/point_NNN (resumable: run the command again to continue); OUTPUT gets
    sweep.csv (and sweep.parquet) with the risk and LoWC ratios, their paired differences from the
    baseline point and 95 % intervals, and sweep.html. See docs/sweep.md.
    """
    from tqdm import tqdm

    from .io.scenario import ClusterSpec, ScenarioError, load_scenario, parse_scenario, with_run_overrides
    from .runner.clusters import make_client
    from .runner.lock import RunLockedError
    from .runner.sweeps import sweep as run_sweep
    from .runner.sweeps import sweep_points

    vary: dict = {}
    for text in vary_options:
        key, values = _key_values("--vary", text, many=True)
        if key in vary:
            _fail(f"--vary {key}: given twice; give its values once, separated by commas")
        vary[key] = values
    baseline = _baseline_values(baseline_options)
    for name in vary.get("logic", [logic] if logic else []):
        _load_logic(name)
    _note_first_compilation(True)
    try:
        scenario, text = load_scenario(scenario_file)
        if encounters is not None or seed is not None:
            text = with_run_overrides(text, encounters=encounters, seed=seed, source=str(scenario_file))
            scenario = parse_scenario(text, source=str(scenario_file))
        n_points = len(sweep_points(text, logic, vary, source=str(scenario_file)))
    except (ScenarioError, ValueError) as exc:
        _fail(str(exc))
    cluster = scenario.cluster or ClusterSpec()
    scheduler = scheduler or cluster.scheduler
    workers = cluster.workers if workers is None else workers
    if scheduler == "local":  # the workers share this machine's memory, as for encsim run
        from .runner.resources import InsufficientMemoryError, check_memory

        try:
            check_memory(scenario, workers=workers, source=str(scenario_file))
        except InsufficientMemoryError as exc:
            _fail(str(exc))
    total = n_points * scenario.run.encounters
    try:
        with _scenario_client(make_client, scheduler, workers, cluster) as client:
            with tqdm(total=total, unit="enc", disable=quiet, desc=scenario.name or "sweep") as bar:
                result = run_sweep(
                    scenario_file,
                    logic,
                    vary,
                    output,
                    executor=client,
                    baseline=baseline or None,
                    encounters=encounters,
                    seed=seed,
                    n_boot=n_boot,
                    progress=bar.update,
                    on_reused=bar.update,
                    chunk_time_limit_s=chunk_time_limit_s,
                    on_stale_lock=lambda sentence: click.echo(f"note: {sentence}", err=True),
                )
    except (FileNotFoundError, ValueError, RuntimeError, RunLockedError) as exc:
        _fail(str(exc))
    except OSError as exc:
        if exc.errno in _WRITE_FAULTS:
            _fail(f"-o {output}: cannot write ({_io_reason(exc)}); finished points are kept: run the sweep again")
        _fail(f"{exc} (scheduler {scheduler})")
    _sweep_summary(result, list(vary))


def _sweep_summary(result, keys: list[str]) -> None:
    click.echo(
        f"{len(result.table)} points in {result.out_dir}: {result.points_computed} computed, "
        f"{result.points_reused} reused; {result.csv_path.name}"
        + (f", {result.parquet_path.name}" if result.parquet_path else "")
        + (f", {result.html_path.name}" if result.html_path else "")
    )

    def estimate(row, column, signed=False) -> str:
        value = row[column]
        if value != value:  # NaN: not estimated
            return "-"
        form = "+.3g" if signed else ".3g"
        return f"{value:{form}} ({row[column + '_ci_low']:{form}}, {row[column + '_ci_high']:{form}})"

    for _, row in result.table.iterrows():
        values = ", ".join(f"{key}={row[key]}" for key in keys)
        mark = " [baseline]" if row["baseline"] else ""
        click.echo(
            f"  {row['directory']} {values}{mark}: risk ratio {estimate(row, 'risk_ratio')}, "
            f"LoWC ratio {estimate(row, 'lowc_ratio')}; paired difference: risk "
            f"{estimate(row, 'risk_ratio_diff', True)}, LoWC {estimate(row, 'lowc_ratio_diff', True)}"
        )


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
def merge(run_dir) -> None:
    """Re-join the chunks of RUN_DIR into results.h5 (after a resumed or hand-repaired run)."""
    from .runner.lock import RunLockedError
    from .runner.run import merge_run

    try:
        path = merge_run(run_dir)
    except (ValueError, RunLockedError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{run_dir}: cannot write the joined results ({exc.strerror or exc}); nothing was changed")
    click.echo(f"wrote {path}")


def _encounter_figure_uri(path, encounter_id) -> str | None:
    """`encsim show`'s figure of one encounter as a PNG data URI, or None when it cannot be replayed."""
    from .io.encounter_plot import draw_replay
    from .io.report_figures import png_uri
    from .replays import ReplayError, replay

    try:
        return png_uri(draw_replay(replay(path, encounter_id)))
    except (ReplayError, ValueError, KeyError) as exc:  # e.g. a plug-in logic this process cannot import
        click.echo(f"note: encounter {encounter_id} of {path} is not drawn ({exc})", err=True)
        return None


@main.command()
@click.argument("runs", metavar="RUN [RUN...]", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file (default: next to the first RUN, with .html).",
)
@click.option(
    "--pages",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Encounters per run drawn on the page (replayed, as encsim show draws them); 0 for none.",
)
@_OVERWRITE
def report(runs, output, pages, overwrite) -> None:
    """Write a self-contained HTML report of one or more closed-loop RUNs (results files or run directories).

    Several runs must fly the same encounters (one scenario file and seed; different logics or
    settings): they are compared on one page.
    """
    from pathlib import Path

    from .io.report import DifferentEncountersError, write_run_report

    inputs, read = {}, []
    for k, run in enumerate(runs):
        results_file = run
        if Path(run).is_dir():
            _require_verified_run_directory(run)
            results_file = str(Path(run) / "results.h5")
        _require_file_kind(results_file, "results")
        for role, path in _results_inputs(results_file).items():
            inputs[role if len(runs) == 1 else f"{role} {k + 1}"] = path
        read.append(run if Path(run).is_dir() else results_file)
    first = Path(runs[0])
    output = output or str((first / "results.h5" if first.is_dir() else first).with_suffix(".html"))
    _require_new_output(output, overwrite, inputs)
    _require_writable_output(output)
    try:
        path = write_run_report(read, output, encounter_figure=_encounter_figure_uri, pages_per_run=pages)
    except DifferentEncountersError as exc:
        _fail(f"{exc}. A report compares runs over the same encounters only; report the others on pages of their own")
    except (ValueError, KeyError, FileNotFoundError) as exc:
        message = str(exc)
        _fail(message if any(str(run) in message for run in runs) else f"{', '.join(runs)}: {message}")
    except OSError as exc:
        _fail(f"-o {output}: cannot write ({_io_reason(exc)}); nothing was written")
    click.echo(f"wrote {path}")


@main.command()
@click.argument("run_path", metavar="RUN", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "geojson", "kml", "h5"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option("--anchor", default=None, metavar="LAT,LON[,GROUND_FT]", help="geojson/kml: where the ownship starts.")
@click.option("--ids", default=None, help="geojson/kml: comma-separated encounter ids (default: all).")
def export(run_path, fmt, output, anchor, ids) -> None:
    """Export RUN (results file or run directory): outcome tables (parquet, csv), nominal trajectories
    (geojson, kml; needs --anchor), or one self-contained results file (h5)."""
    from .export import export_results, parse_lat_lon
    from .io.results_file import ResultsFileError

    _require_writable_output(output)
    try:
        place = None if anchor is None else parse_lat_lon(anchor)
        chosen = None if ids is None else [int(part) for part in ids.split(",") if part.strip()]
    except ValueError as exc:
        _fail(f"--anchor/--ids: {exc}")
    try:
        path = export_results(run_path, output, fmt, anchor=place, encounter_ids=chosen)
    except (ResultsFileError, ValueError, KeyError, RuntimeError) as exc:
        _fail(str(exc) if str(run_path) in str(exc) else f"{run_path}: {exc}")
    click.echo(f"wrote {path}")


# ---------------------------------------------------------------------------------- compare


@main.command()
@click.argument("models", nargs=-1, required=True)
@click.option(
    "--level",
    type=click.Choice(["model", "track", "outcome"]),
    default="model",
    show_default=True,
    help="model: exact, from the counts; track: also sampled and flown tracks; outcome: also the closed-loop "
    "results of --scenario with the intruder from each model.",
)
@click.option(
    "--layers",
    default=None,
    help="Altitude layers to compare, by their edges in ft AGL, e.g. 500-1200,1200-3000 (model and track "
    "levels; default: every layer both models have).",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Scenario for the outcome level (its intruder model is replaced by each model).",
)
@click.option("--logic", default="daa", show_default=True, help="Logic for the outcome level.")
@click.option(
    "--encounters",
    type=click.IntRange(min=50),
    default=5000,
    show_default=True,
    help="Encounters per model (outcome level).",
)
@click.option(
    "--metric",
    type=click.Choice(
        [
            "risk_ratio",
            "lowc_ratio",
            "nmac",
            "lowc",
            "alert_rate",
            "p_nmac_nominal",
            "p_nmac_mitigated",
            "p_lowc_nominal",
            "p_lowc_mitigated",
        ]
    ),
    default="risk_ratio",
    show_default=True,
    help="Outcome-level metric of the verdict (nmac = risk_ratio, lowc = lowc_ratio).",
)
@click.option(
    "--tolerance",
    type=float,
    default=0.05,
    show_default=True,
    help="Largest difference B - A of --metric (in its units) accepted for a surrogate.",
)
@click.option(
    "--tracks",
    "n_tracks",
    type=click.IntRange(min=50),
    default=2000,
    show_default=True,
    help="Tracks per model (track level).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the track-level sampling (pair k uses seed + k) and of the bootstraps.",
)
@click.option("--start", default="G=1,A=4", show_default=True, help="Presets applied where a model has the variable.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), required=True, help="Folder for the report.")
def compare(
    models, level, layers, scenario_file, logic, encounters, metric, tolerance, n_tracks, seed, start, report_dir
) -> None:
    """Compare two or more encounter MODELS; write an HTML report with CSV tables, figures and provenance."""
    from .compare.model_level import parse_layers
    from .compare.report import write_report
    from .sampling import preset_mapping

    if len(models) < 2:
        _fail("give at least two models to compare")
    arguments = {
        "models": list(models),
        "level": level,
        "layers": layers,
        "scenario": scenario_file,
        "logic": logic,
        "encounters": encounters,
        "metric": metric,
        "tolerance": tolerance,
        "tracks": n_tracks,
        "seed": seed,
        "start": start,
        "report": report_dir,
    }
    try:
        parsed_layers = parse_layers(layers)
    except ValueError as exc:
        _fail(f"--layers {layers}: {exc}")
    try:
        levels = {"model": ("model",), "track": ("model", "track"), "outcome": ("model", "track", "outcome")}[level]
        scenario, scenario_text = None, None
        if level == "outcome":
            from .io.scenario import ScenarioError, load_scenario

            if scenario_file is None:
                _fail("--level outcome needs --scenario")
            try:
                scenario, scenario_text = load_scenario(scenario_file)
            except ScenarioError as exc:
                _fail(str(exc))
            _load_logic(logic)  # before anything runs or is written
            from .compare.outcome_level import intruder_variant

            for name in models:  # each compared model as the scenario's intruder, checked like a loaded scenario
                try:
                    intruder_variant(scenario, name)
                except ValueError as exc:
                    _fail(f"--level outcome: {exc}")
        index = write_report(
            list(models),
            report_dir,
            presets=preset_mapping(start),
            levels=levels,
            n_tracks=n_tracks,
            seed=seed,
            scenario=scenario,
            scenario_text=scenario_text,
            logic=logic,
            encounters=encounters,
            tolerance=tolerance,
            metric=metric,
            layers=parsed_layers,
            arguments=arguments,
        )
    except (FileNotFoundError, ValueError) as exc:
        prefix = f"--layers {layers}: " if layers and "layer" in str(exc) else ""
        _fail(prefix + str(exc))
    click.echo(f"wrote {index}")


# ---------------------------------------------------------------------------------- plot


@main.command()
@click.argument("tracks_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--count", type=click.IntRange(min=1, max=50), default=5, show_default=True, help="Tracks to draw.")
@click.option("--first", type=click.IntRange(min=0), default=0, show_default=True, help="First track (position).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="PNG file (default: next to the input)."
)
@click.option(
    "--geodetic/--local",
    default=None,
    help="Longitude/latitude axes (needs a file written with --anchor) or local east/north in NM "
    "[default: geodetic when the file has it].",
)
@_OVERWRITE
def plot(tracks_file, count, first, output, geodetic, overwrite) -> None:
    """Draw a few tracks of TRACKS_FILE in plan and profile (PNG)."""
    from pathlib import Path

    from .io.plots import plot_tracks

    _require_file_kind(tracks_file, "tracks")
    output = output or str(Path(tracks_file).with_suffix(".png"))
    _require_new_output(output, overwrite, {"input (tracks file)": tracks_file})
    _require_writable_output(output)
    try:
        path = plot_tracks(tracks_file, count=count, first=first, output=output, geodetic=geodetic)
    except (ValueError, KeyError) as exc:
        _fail(f"{tracks_file}: {exc}")
    click.echo(f"wrote {path}")


@main.command()
@click.argument("results_path", metavar="RESULTS", type=click.Path(exists=True))
@click.argument("encounter_id", metavar="ID", type=click.IntRange(min=0))
@click.option("--logic", default=None, help="The logic to replay with (default: the run's own, by its recorded name).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="PNG file (default: NAME_encounter_ID.png beside the results file or run directory NAME).",
)
@_OVERWRITE
def show(results_path, encounter_id, logic, output, overwrite) -> None:
    """Replay encounter ID of RESULTS (encsim run --logic) nominal and mitigated, and draw it (PNG)."""
    from pathlib import Path

    from .io.encounter_plot import save_replay
    from .replays import ReplayError, replay

    results_path = Path(results_path)
    # beside the results file or run directory (a run directory holds only what the run wrote)
    stem = results_path.name if results_path.is_dir() else results_path.stem
    output = output or str(results_path.parent / f"{stem}_encounter_{encounter_id}.png")
    _require_new_output(output, overwrite, {"input (results)": str(results_path)})
    _require_writable_output(output)
    try:
        replayed = replay(results_path, encounter_id, logic=None if logic is None else _load_logic(logic))
    except (ReplayError, KeyError, ValueError) as exc:
        _fail(str(exc).strip("'\""))
    try:
        path = save_replay(replayed, output)
    except OSError as exc:
        _fail(f"-o {output}: cannot write ({_io_reason(exc)}); nothing was written")
    o = replayed.outcome
    click.echo(
        f"encounter {encounter_id} ({replayed.logic}): HMD {o['nominal_hmd_ft']:.0f} ft nominal, "
        f"{o['mitigated_hmd_ft']:.0f} ft mitigated; replayed outcome equals the stored one"
    )
    click.echo(f"wrote {path}")


@main.command("daa")
@click.argument("daa_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--config",
    "config",
    default="do365b",
    show_default=True,
    help="do365b | do365b-sum | do365a | sua (small UAS) | PATH.conf (a DAIDALUS configuration file).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="CSV file to write.")
@click.option(
    "--vz-from",
    type=click.Choice(["file", "altitude"]),
    default="file",
    show_default=True,
    help="Vertical rates as written (DAIDALUS) or derived from the altitude track.",
)
@click.option(
    "--no-bands",
    is_flag=True,
    help="Skip the guidance band columns (left empty): they take seconds per hundred steps, minutes on 10 Hz files.",
)
def daa_replay(daa_file, config, output, vz_from, no_bands) -> None:
    """Replay DAA_FILE (.daa): DAIDALUS-exact alerting and guidance bands, one CSV row per step per traffic aircraft."""
    from .avoidance.daidalus import DaaReplayError, alert_timeline, format_reference_csv, replay_daa

    _require_writable_output(output)
    try:
        if no_bands:
            table = replay_daa(daa_file, config, vz_from=vz_from)
        else:
            table = _replay_with_bands(daa_file, config, vz_from, replay_daa)
    except DaaReplayError as exc:
        _fail(str(exc))
    with open(output, "w") as handle:
        handle.write(format_reference_csv(table))
    click.echo(f"wrote {output}: {len(table)} rows")
    for traffic, timeline in alert_timeline(table).items():
        click.echo(f"{traffic}: {timeline}")


def _replay_with_bands(daa_file, config, vz_from, replay_daa):
    """The replay with its band columns, a progress bar on stderr (the bands are the slow part)."""
    with click.progressbar(length=1, label="guidance bands (--no-bands skips them)", file=sys.stderr) as bar:

        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        return replay_daa(daa_file, config, vz_from=vz_from, bands=True, progress=progress)


# ---------------------------------------------------------------------------------- train


def _pairs(items, what: str) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            _fail(f"{what} {item!r}: expected NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


@main.command()
@click.argument("tracks", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Model file to write (.txt).")
@click.option("--like", required=True, help="Template model: its graphs and (unless --edges) its bin edges.")
@click.option("--edges", type=click.Path(exists=True, dir_okay=False), default=None, help="TOML file with [edges].")
@click.option("--set", "fixed", multiple=True, help="Constant 1-based bin of a variable the tracks lack, e.g. G=1.")
@click.option("--column", "columns", multiple=True, help="Column map CANONICAL=NAME, e.g. track_id=icao24.")
@click.option("--ground-ft", type=float, default=None, help="Constant ground elevation, ft MSL (MSL altitudes).")
@click.option("--class", "keep_class", default=None, help="Keep only rows whose aircraft_class is this.")
@click.option("--initial", type=click.Choice(["every", "first"]), default="every", show_default=True)
@click.option("--learn-structure", type=click.Choice(["bdeu", "bic"]), default=None, help="Also learn the structure.")
@click.option("--report", "report_csv", type=click.Path(dir_okay=False), default=None, help="Processing report CSV.")
def train(tracks, output, like, edges, fixed, columns, ground_ft, keep_class, initial, learn_structure, report_csv):
    """Train an encounter model from TRACKS (CSV, JSON or Parquet) like a template model (docs/train.md)."""
    from .train import TrackTableError, TrainingError, train_model

    fixed_bins = {}
    for name, value in _pairs(fixed, "--set").items():
        if not value.isdigit():
            _fail(f"--set {name}={value}: expected a 1-based bin number")
        fixed_bins[name] = int(value)
    try:
        result = train_model(
            tracks,
            like,
            output,
            edges=edges,
            fixed=fixed_bins,
            columns=_pairs(columns, "--column"),
            ground_ft=ground_ft,
            keep_class=keep_class,
            initial=initial,
            learn_structure=learn_structure,
        )
    except (TrackTableError, TrainingError, ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    report = result.report
    click.echo(report.to_string(index=False))
    if report_csv:
        report.to_csv(report_csv, index=False)
    for learned in result.structure:
        click.echo(f"{learned.network} network skeleton recall {learned.skeleton_recall:.2f}")
        click.echo(learned.to_frame().to_string(index=False))
    click.echo(f"wrote {result.path} ({result.model.training_hours():.2f} training hours)")


def _exit_status(code) -> int:
    """The process status of ``sys.exit(code)``, as Python gives it (a message is printed, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


#: glibc's ``mallopt`` parameter for the memory kept at the top of the heap when it is trimmed, and
#: what the command keeps: generation allocates and frees flight records of megabytes every round
M_TOP_PAD, TOP_PAD_BYTES = -2, 256 * 2**20


def _keep_freed_memory() -> bool:
    """Let glibc keep up to `TOP_PAD_BYTES` of freed heap for the next allocations instead of
    returning it to the system (``mallopt(M_TOP_PAD)``; as ``MALLOC_TOP_PAD_``, which, when set,
    is left to rule). Memory handed back and asked for again comes back as fresh pages the kernel
    must fault in and zero: a 20,000-encounter run made 130,000-200,000 page faults and spent
    1.5-2 s of system time doing so, against 70,000 and 0.6 s with the pad (benchmarks/README.md,
    issue 19). False where there is no glibc (the default allocator is kept)."""
    if "MALLOC_TOP_PAD_" in os.environ or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_TOP_PAD, TOP_PAD_BYTES) == 1


def _no_idle_blas_threads() -> None:
    """One OpenBLAS thread for the command (``OPENBLAS_NUM_THREADS=1``, unless the user set it).

    numpy and scipy each load an OpenBLAS that starts a thread per core, and those threads poll for
    work for a while before they sleep, on cores a run needs for its kernels. No command does
    linear algebra large enough to want them (a 20,000-encounter run: 1.9 % of its CPU time was in
    those threads, and it ended 2-3 % sooner without them; benchmarks/README.md, issue 19). Set
    before numpy is first imported, which the command does lazily; the library itself leaves
    OpenBLAS as the user configured it.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def console() -> None:
    """The ``encsim`` command: `main`, then the process ends without Python tearing down its modules.

    After a run, Python's finalisation (freeing every module, and Numba's and LLVM's compiled code)
    took 0.3-0.5 s of the whole process (benchmarks/README.md, issue 19). By the time `main`
    returns, every output is written and closed (files are written under a temporary name and
    moved into place), so the exit handlers are run, unreachable objects collected (their files
    flushed), the standard streams flushed, and the process ends with `main`'s status. An
    exception that escapes `main` (a bug: click turns usage errors into a status) takes Python's
    ordinary path, traceback and finalisation included. The command also keeps freed memory for
    its next allocations (`_keep_freed_memory`) and runs OpenBLAS on one thread (`_no_idle_blas_threads`).
    """
    import atexit
    import gc

    _keep_freed_memory()
    _no_idle_blas_threads()
    try:
        main()
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    atexit._run_exitfuncs()
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``encsim ... | head``): nothing more to say
            status = status or 120  # what Python itself returns when that flush fails
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    console()
