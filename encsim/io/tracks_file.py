"""HDF5 files of sampled tracks, written chunk by chunk, with provenance.

Layout (one file):

- root attributes: provenance (``encsim_version``, ``model_name``, ``model_sha256``, ``seed``,
  ``first_id``, ``duration_s``, ``presets``, ``empty_column``, ``created_utc``, ``command``,
  ``arguments`` as JSON) and, when the file is complete, ``n_tracks`` and ``rejections`` (JSON);
- ``initial/<column>``: one dataset per column of `TrackSample.initial`;
- ``schedule/{offsets,t_s,hdot_fps,psidot_rad_s,vdot_fps2,bins}``: the command schedule (CSR);
- ``counts/bin_changes`` (n, n_dynamic) and ``counts/resamples`` (n, n_variables), with the
  variable labels in the ``columns`` attribute;
- optionally ``trajectories/{t_s,north_ft,east_ft,up_ft,speed_fps,heading_rad,pitch_rad,bank_rad,hdot_fps}``
  (float32, (n, n_records)) and the per-track limits ``trajectories/limit_*``; rejection counts of
  the flight are in ``rejections`` with a ``fly:`` prefix;
- with an anchor (``encsim sample --fly --anchor LAT,LON,GROUND_FT``), also
  ``trajectories/{lat_deg,lon_deg}`` (float64) and ``trajectories/alt_ft_wgs84`` (float32, ft above
  the WGS-84 ellipsoid), the stored local positions placed with `encsim.io.geodetic`, and the
  anchor as JSON (``lat_deg``, ``lon_deg``, ``ground_alt_ft``) in the root attribute ``anchor``.

Datasets are resizable and appended per chunk, so memory stays bounded by one chunk.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .. import __version__
from ..commands import CommandSchedule


def _append(group: h5py.Group, name: str, values: np.ndarray) -> None:
    values = np.asarray(values)
    if name not in group:
        maxshape = (None,) + values.shape[1:]
        # fletcher32: HDF5 checks every stored block on reading, so a flipped bit is an error, not a value
        group.create_dataset(
            name,
            data=values,
            maxshape=maxshape,
            chunks=True,
            compression="gzip",
            compression_opts=1,
            fletcher32=True,
        )
        return
    dataset = group[name]
    old = dataset.shape[0]
    dataset.resize(old + values.shape[0], axis=0)
    dataset[old:] = values


class AtomicH5Writer:
    """An HDF5 file written under ``NAME.partial`` and moved into place only when complete.

    Opens the file with the provenance every encsim file carries (version, time, command line and
    the given attributes); a failure inside ``with`` removes the partial file. With
    ``overwrite=False`` an output that appeared while the file was written is not replaced.
    """

    def __init__(self, path, provenance: dict, *, overwrite: bool = True):
        self.path = Path(path)
        self._overwrite = overwrite
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a name of this process's own, in the same folder (the rename is then atomic, and two
        # writers of the same output never share a temporary file)
        self._tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        self._file = h5py.File(self._tmp, "w")
        attrs = {
            "encsim_version": __version__,
            "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
        attrs.update(provenance)
        for key, value in attrs.items():
            self._file.attrs[key] = (
                value if isinstance(value, (str, int, float, np.integer, np.floating)) else json.dumps(value)
            )
        self._rejections: dict[str, int] = {}

    @property
    def rejections(self) -> dict[str, int]:
        return dict(self._rejections)

    def _add_rejections(self, counts: dict, prefix: str = "") -> None:
        for reason, count in counts.items():
            self._rejections[prefix + reason] = self._rejections.get(prefix + reason, 0) + int(count)

    def _final_attributes(self) -> dict:
        return {"rejections": json.dumps(self._rejections)}

    def close(self) -> Path:
        """Record the totals and move the file into place (never leaves a half-written file).

        If anything fails here (a full disk often shows only when HDF5 flushes on closing), the
        temporary file is removed and the error raised: the output is either complete or absent.
        """
        try:
            for key, value in self._final_attributes().items():
                self._file.attrs[key] = value
            self._file.close()
            self._move_into_place()
        except BaseException:
            self._discard()
            raise
        return self.path

    def _move_into_place(self) -> None:
        if self._overwrite:
            self._tmp.replace(self.path)
            return
        try:  # atomic and refused if the output appeared meanwhile (another process writing it)
            os.link(self._tmp, self.path)
        except FileExistsError:
            raise FileExistsError(
                errno.EEXIST, f"{self.path} appeared while this file was written (another process?); not replaced"
            ) from None
        except OSError:  # a file system without hard links: the check made before writing must do
            self._tmp.replace(self.path)
            return
        self._tmp.unlink()

    def _discard(self) -> None:
        try:
            self._file.close()
        except Exception:  # closing a file whose writes failed can fail again: it is removed anyway
            pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self._discard()
        return False


class TrackFileWriter(AtomicH5Writer):
    """Append `TrackSample` chunks (consecutive ids) to one HDF5 file.

    Examples
    --------
    Two chunks of five tracks written one after the other and read back as one sample:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import encsim
    >>> chunks = [
    ...     encsim.sample_tracks("uncor_1200only_fwse_v1p2", 5, 30, rng=1, start="G=1,A=4", first_id=first)
    ...     for first in (0, 5)
    ... ]
    >>> provenance = {"model_name": chunks[0].model_name, "model_sha256": chunks[0].model_sha256}
    >>> provenance |= {"seed": chunks[0].seed, "first_id": 0, "duration_s": 30}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with TrackFileWriter(Path(folder) / "tracks.h5", provenance) as writer:
    ...         for chunk in chunks:
    ...             writer.append(chunk)
    ...     back = read_tracks(Path(folder) / "tracks.h5")
    >>> back.n_tracks, back.initial["track_id"].tolist() == list(range(10))
    (10, True)
    """

    def __init__(self, path, provenance: dict, *, overwrite: bool = True):
        super().__init__(path, provenance, overwrite=overwrite)
        self._rows = 0
        self._tracks = 0
        self._offsets_written = False

    def append(self, sample) -> None:
        f = self._file
        if sample.layer_edges_ft is not None:
            f.attrs["layer_edges_ft"] = np.asarray(sample.layer_edges_ft, dtype=np.float64)
        if sample.stream_end is not None:
            _append(f.require_group("streams"), "end_draw", sample.stream_end)
        initial = f.require_group("initial")
        initial.attrs["columns"] = json.dumps(list(sample.initial.columns))
        for column in sample.initial.columns:
            _append(initial, column, sample.initial[column].to_numpy())
        schedule = f.require_group("schedule")
        offsets = sample.schedule.offsets[1:] + self._rows
        if not self._offsets_written:  # the leading 0 with the first rows: HDF5 sizes blocks by the first write
            offsets = np.concatenate((sample.schedule.offsets[:1], offsets))
            self._offsets_written = True
        _append(schedule, "offsets", offsets)
        for name in ("t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2"):
            _append(schedule, name, getattr(sample.schedule, name))
        _append(schedule, "bins", sample.schedule_bins)
        counts = f.require_group("counts")
        _append(counts, "bin_changes", sample.bin_changes.to_numpy())
        counts["bin_changes"].attrs["columns"] = json.dumps(list(sample.bin_changes.columns))
        _append(counts, "resamples", sample.resamples.to_numpy())
        counts["resamples"].attrs["columns"] = json.dumps(list(sample.resamples.columns))
        self._rows += int(sample.schedule.offsets[-1])
        self._tracks += sample.n_tracks
        self._add_rejections(sample.rejections)

    def append_trajectories(self, trajectories, fly_rejections: dict, limits=None, anchor: dict | None = None) -> None:
        """Add the flown trajectories of the tracks appended last (same order), and their limits.

        With ``anchor`` (`encsim.io.geodetic.parse_anchor`), also their latitude, longitude and
        altitude, computed from the stored (float32) local positions so that the file agrees with
        itself; the anchor must be the same for every chunk.
        """
        group = self._file.require_group("trajectories")
        if "t_s" not in group:
            group.create_dataset("t_s", data=trajectories.t_s)
        stored = {name: getattr(trajectories, name).astype(np.float32) for name in trajectories.FIELDS}
        for name, values in stored.items():
            _append(group, name, values)
        if anchor is not None:
            from types import SimpleNamespace

            from .geodetic import geodetic_fields

            recorded = self._file.attrs.get("anchor")
            if recorded is None:
                self._file.attrs["anchor"] = json.dumps(anchor)
            elif json.loads(recorded) != anchor:
                raise ValueError(f"anchor {anchor} differs from the file's {recorded}")
            local = SimpleNamespace(
                **{name: stored[name].astype(np.float64) for name in ("east_ft", "north_ft", "up_ft")}
            )
            for name, values in geodetic_fields(local, anchor).items():
                _append(group, name, values.astype(np.float32) if name == "alt_ft_wgs84" else values)
        if limits is not None:
            for name in ("speed_min_fps", "speed_max_fps", "hdot_max_fps"):
                _append(group, "limit_" + name, getattr(limits, name))
        self._add_rejections(fly_rejections, prefix="fly:")

    def _final_attributes(self) -> dict:
        return {**super()._final_attributes(), "n_tracks": self._tracks}


def read_tracks(path):
    """Read a tracks file written by `TrackFileWriter` back into a `TrackSample`."""
    from ..sampling import TrackSample

    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
        if "n_tracks" not in attrs:
            raise ValueError(f"{path}: incomplete tracks file (no n_tracks attribute)")
        ordered = json.loads(f["initial"].attrs["columns"])
        initial = pd.DataFrame({name: f["initial"][name][()] for name in ordered})
        schedule = CommandSchedule(
            *(f["schedule"][name][()] for name in ("offsets", "t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2"))
        )
        bins = f["schedule"]["bins"][()]
        changes = f["counts"]["bin_changes"]
        resamples = f["counts"]["resamples"]
        sample = TrackSample(
            model_name=str(attrs["model_name"]),
            model_sha256=str(attrs["model_sha256"]),
            seed=int(attrs["seed"]),
            first_id=int(attrs["first_id"]),
            duration_s=int(attrs["duration_s"]),
            presets=json.loads(attrs.get("presets", "{}")),
            empty_column=str(attrs.get("empty_column", "reject")),
            initial=initial,
            schedule=schedule,
            schedule_bins=bins,
            bin_changes=pd.DataFrame(changes[()], columns=json.loads(changes.attrs["columns"])),
            resamples=pd.DataFrame(resamples[()], columns=json.loads(resamples.attrs["columns"])),
            rejections=json.loads(attrs["rejections"]),
            stream_end=f["streams"]["end_draw"][()] if "streams" in f else None,
            layer_edges_ft=np.asarray(attrs["layer_edges_ft"]) if "layer_edges_ft" in attrs else None,
        )
    return sample


def read_trajectories(path, rows=None):
    """The trajectories stored in a tracks file (all tracks, or the given rows)."""
    from ..dynamics import Trajectories

    with h5py.File(path, "r") as f:
        if "trajectories" not in f:
            raise ValueError(f"{path}: no trajectories (sample with --fly to store them)")
        group = f["trajectories"]
        selection = slice(None) if rows is None else np.asarray(rows)
        return Trajectories(
            group["t_s"][()], *(group[name][selection].astype(np.float64) for name in Trajectories.FIELDS)
        )


def read_geodetic(path, rows=None) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The anchor and the geodetic trajectories (``lat_deg``, ``lon_deg``, ``alt_ft_wgs84``) of a
    tracks file written with an anchor (all tracks, or the given rows); None if it has none."""
    from .geodetic import GEODETIC_FIELDS

    with h5py.File(path, "r") as f:
        if "anchor" not in f.attrs or "trajectories" not in f or "lat_deg" not in f["trajectories"]:
            return None
        group = f["trajectories"]
        selection = slice(None) if rows is None else np.asarray(rows)
        return json.loads(f.attrs["anchor"]), {
            name: group[name][selection].astype(np.float64) for name in GEODETIC_FIELDS
        }
