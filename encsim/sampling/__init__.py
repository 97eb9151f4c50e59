"""DBN samplers: initial network, per-second transitions, within-bin resampling, command schedules.

`sampler` is the public API, `track_sample` the container of sampled tracks, `_batch` the same as
arrays for the encounter generator's rounds, `_buffers` runs the kernel (`_kernels`) chunk by chunk
over the tables of `_tables`.
"""

from .sampler import (
    SamplingError,
    ScopeWarning,
    check_scope,
    parse_presets,
    preset_mapping,
    redraw_tracks,
    sample_initial,
    sample_track_ids,
    sample_tracks,
)
from .track_sample import TrackSample

__all__ = [
    "SamplingError",
    "ScopeWarning",
    "TrackSample",
    "check_scope",
    "parse_presets",
    "preset_mapping",
    "redraw_tracks",
    "sample_initial",
    "sample_track_ids",
    "sample_tracks",
]
