"""Tests of lake_assets.core."""
