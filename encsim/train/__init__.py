"""Training encounter models from tracks (issue 21): tables in, MIT LL model files out.

`train_model` reads a track table (`read_tracks`), processes it as MIT LL's OpenSky processing
does (`process_tracks`), counts the initial and transition networks over a template model's
graphs with its bin edges (`ModelCounter`) and writes the MIT LL ASCII format, which
`encsim.load_model` reads back. See docs/train.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..bayes import EncounterModel, load_model
from ..bayes.model_file import format_model_text, parse_model_text, write_model_file
from ..checksums import text_sha256
from .counting import ModelCounter, ModelLayout, TrainingError, model_layout, read_edges_toml
from .processing import TYPE_LIMITS, ProcessedTracks, ProcessingOptions, ProcessingReport, TypeLimits, process_tracks
from .structure import LearnedStructure, learn_initial_structure, learn_transition_structure
from .tables import TrackTableError, read_tracks

__all__ = [
    "TYPE_LIMITS",
    "LearnedStructure",
    "ModelCounter",
    "ModelLayout",
    "ProcessedTracks",
    "ProcessingOptions",
    "ProcessingReport",
    "TrackTableError",
    "TrainResult",
    "TrainingError",
    "TypeLimits",
    "learn_initial_structure",
    "learn_transition_structure",
    "model_layout",
    "process_tracks",
    "read_edges_toml",
    "read_tracks",
    "train_model",
]


@dataclass
class TrainResult:
    """A trained model, how the tracks were processed and counted, and optionally learned structure."""

    model: EncounterModel
    processed: ProcessedTracks
    counter: ModelCounter
    path: Path | None = None
    structure: tuple[LearnedStructure, ...] = ()

    @property
    def report(self) -> pd.DataFrame:
        """The processing report, then the counting lines (seconds and pairs counted, clipped values)."""
        frame = self.processed.report.to_frame()
        clipped = ", ".join(f"{k} {v}" for k, v in self.counter.clipped.items() if v)
        pairs_note = "pairs of states 1 s apart"
        if clipped:
            pairs_note += f"; values outside the edges, put in the end bins: {clipped}"
        extra = [
            {"step": "count_initial", "segments": None, "rows": self.counter.seconds, "removed_rows": 0,
             "note": f"initial network from {self.counter.initial!r} seconds"},
            {"step": "count_transitions", "segments": None, "rows": self.counter.pairs, "removed_rows": 0,
             "note": pairs_note},
        ]  # fmt: skip
        return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


def _default_limits(template: EncounterModel) -> str:
    entry = template.entry
    return "rotorcraft" if entry is not None and "rotorcraft" in entry.aircraft_class else "fixed-wing"


def _layer_edges(layout: ModelLayout):
    i = layout.template.roles.get("L")
    if i is None:
        return None
    if layout.edges[i] is not None:
        return layout.edges[i]
    entry = layout.template.entry
    return entry.layer_edges_ft if entry is not None and entry.layer_edges_ft else None


def train_model(
    tracks,
    like: str | os.PathLike | EncounterModel,
    output: str | os.PathLike | None = None,
    *,
    edges: dict | str | os.PathLike | None = None,
    fixed: dict | None = None,
    columns: dict | None = None,
    ground_ft: float | None = None,
    keep_class: str | None = None,
    options: ProcessingOptions | None = None,
    initial: str = "every",
    learn_structure: str | None = None,
    max_indegree: int | None = None,
) -> TrainResult:
    """Train an encounter model from tracks with the structure and bins of a template model.

    Parameters
    ----------
    tracks : DataFrame, path, traffic object or ProcessedTracks
        A track table (see `encsim.train.read_tracks`), or tracks already processed.
    like : str, path or EncounterModel
        The template: its initial and transition graphs (and bin edges unless ``edges``).
    output : path, optional
        Where to write the MIT LL ASCII file (read back with `encsim.load_model`).
    edges : dict or path, optional
        Bin edges by variable (role or label), or a TOML file with an ``[edges]`` table.
    fixed : dict, optional
        Constant 1-based bins of categorical variables the tracks lack, e.g. ``{"G": 1, "A": 4}``.
    columns, ground_ft, keep_class
        Passed to `encsim.train.read_tracks`.
    options : ProcessingOptions, optional
        Processing parameters; by default the OpenSky processing's, with the template's aircraft
        type limits (rotorcraft or fixed-wing).
    initial : {"every", "first"}
        Count the initial network from every second (MIT LL) or from each segment's first second.
    learn_structure : {"bdeu", "bic"}, optional
        Also learn both networks' structure with pgmpy (reported, not used for the counts).
    max_indegree : int, optional
        Largest number of parents in structure learning.

    Returns
    -------
    TrainResult

    Usage (needs files on disk, so shown rather than run as a doctest)::

        import encsim

        result = encsim.train_model("tracks.csv", "uncor_1200only_rotorcraft_v1p2", "mine.txt", fixed={"G": 1, "A": 4})
        result.report
    """
    template = like if isinstance(like, EncounterModel) else load_model(like)
    if isinstance(edges, (str, os.PathLike)):
        edges = read_edges_toml(edges)
    layout = model_layout(template, edges)
    if isinstance(tracks, ProcessedTracks):
        processed = tracks
    else:
        table = read_tracks(tracks, columns=columns, ground_ft=ground_ft, keep_class=keep_class)
        if options is None:
            options = ProcessingOptions(limits=_default_limits(template))
        processed = process_tracks(table, options, layer_edges_ft=_layer_edges(layout))
    if processed.frame.empty:
        raise TrainingError("no 1-s state is left after processing: see the processing report")
    counter = ModelCounter(layout, initial=initial)
    counter.add_states(processed.frame, fixed=fixed)
    name = Path(output).stem if output is not None else f"trained_like_{template.name}"
    contents = counter.contents(source=name)
    structure = ()
    if learn_structure:
        bins, _, keep = counter.bins_of(processed.frame, fixed)
        structure = (learn_initial_structure(layout, bins[keep], score=learn_structure, max_indegree=max_indegree),)
    if output is not None:
        path = write_model_file(contents, output)
        model = load_model(path)
    else:
        text = format_model_text(contents)
        digest = text_sha256(text)
        model = EncounterModel(name=name, contents=parse_model_text(text, source=name), sha256=digest)
        path = None
    return TrainResult(model, processed, counter, path, structure)
