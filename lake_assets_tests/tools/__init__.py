"""Tests of lake_assets.tools."""
