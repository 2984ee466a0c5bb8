"""The defs folder that `dg` and `lake_assets.orchestration.definitions` load (`load_from_defs_folder`)."""
