"""The Dagster-free core: settings, storage, catalog, checks, sources, transforms, tables, builds."""
