"""Tests of lake_assets.orchestration."""
