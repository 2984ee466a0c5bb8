"""The defs folder that `dg` and `lake_assets.definitions` load (`load_from_defs_folder`)."""
