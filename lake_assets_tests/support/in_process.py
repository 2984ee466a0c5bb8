"""Tables built in the test's process by the builds `lake build` runs (`lake_assets.core.builds`),
without Dagster: for tests that need the tables, not the orchestration or the analytics."""

from __future__ import annotations

from lake_assets.core import s3 as lake_s3
from lake_assets.core.builds import Inputs, TableOutcome, run_build, run_months
from lake_assets.core.storage import Lake
from lake_assets.core.tables import dimensions


def build_here(spark, raw: str, lake: str, cache: str, months: list[str] = (),
               skip: tuple[str, ...] = (), run_id: str = "build_here") -> list[TableOutcome]:
    """The dimensions (but those in `skip`), then the fact's `months` ('YYYY-MM', each run of
    consecutive months in one pass), published into `lake` by run `run_id`; fails if a blocking
    check failed."""
    if lake_s3.is_s3(raw) or lake_s3.is_s3(lake):
        lake_s3.configure_spark(spark)
    inputs = Inputs(spark, Lake(spark, lake, run_id=run_id), raw, cache, log=lambda line: None)
    outcomes = [o for b in dimensions.BUILDS if b.name not in skip for o in run_build(b.name, inputs)]
    if months:
        outcomes += [o for _, month in run_months("immigration", inputs, [f"{m}-01" for m in months]) for o in month]
    assert not any(o.failed_blocking for o in outcomes), [o.failed_blocking for o in outcomes]
    return outcomes
