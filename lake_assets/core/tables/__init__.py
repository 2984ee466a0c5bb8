"""Every lake table, declared once: `TABLES` by name, and `BUILDS` (what each asset computes).

No Dagster here: `spark_job.py` runs the builds on a cluster; `lake_assets.orchestration.assets.factory`
makes the assets from the same declarations.
"""

from lake_assets.core.tables import analytics, dimensions, immigration
from lake_assets.core.tables.table import Build, Table

BUILDS: dict[str, Build] = {b.name: b for b in (*dimensions.BUILDS, *immigration.BUILDS, *analytics.BUILDS)}
TABLES: dict[str, Table] = {t.name: t for b in BUILDS.values() for t in b.tables}
