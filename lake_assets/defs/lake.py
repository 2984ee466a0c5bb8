"""The whole lake as one code location, with the resources of `$LAKE_ENV` (lake_assets.environments)."""

from lake_assets.definitions import build_definitions

defs = build_definitions()
