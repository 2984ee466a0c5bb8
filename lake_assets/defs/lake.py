"""The whole lake as one code location, with the resources of `$LAKE_ENV` (lake_assets.orchestration.environments)."""

from lake_assets.orchestration.definitions import build_definitions

defs = build_definitions()
