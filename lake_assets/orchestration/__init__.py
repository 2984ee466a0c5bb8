"""The Dagster side: assets, engines, automation, sensors, resources, definitions."""
