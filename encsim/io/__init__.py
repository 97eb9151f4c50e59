"""Files: HDF5 tracks and results with provenance (h5py), geodetic output (pyproj)."""
