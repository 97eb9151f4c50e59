"""DBN samplers: initial network, per-second transitions, within-bin resampling, command schedules."""

from .sampler import SamplingError, TrackSample, parse_presets, sample_initial, sample_tracks

__all__ = ["SamplingError", "TrackSample", "parse_presets", "sample_initial", "sample_tracks"]
