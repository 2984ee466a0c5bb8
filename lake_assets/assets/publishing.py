"""Step outcomes as Dagster events: the one way every asset reports what it wrote."""


from typing import Iterable, Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
)

from lake_assets.quality import TABLES
from lake_assets.steps import TableOutcome

_KINDS = {"md": MetadataValue.md, "path": MetadataValue.path, "json": MetadataValue.json,
          "float": MetadataValue.float, "int": MetadataValue.int, "text": MetadataValue.text,
          "bool": MetadataValue.bool, "null": lambda _: MetadataValue.null()}


def check_specs(table: str) -> list[AssetCheckSpec]:
    return [AssetCheckSpec(c.name, asset=table, blocking=c.blocking, description=c.description)
            for c in TABLES[table].all_checks()]


def metadata_values(metadata: dict) -> dict:
    """Pipes-form metadata (`{"type", "raw_value"}`) as Dagster metadata values."""
    return {k: _KINDS[v["type"]](v["raw_value"]) for k, v in metadata.items()}


def blocking_failure(failures: list[str]) -> Failure:
    return Failure(
        description="blocking check failed, nothing published (tables keep their last good version): "
                    + "; ".join(failures),
        metadata={"failed_checks": MetadataValue.json(failures)})


def dagster_results(outcomes: Iterable[TableOutcome]) -> Iterator:
    """One MaterializeResult per published table, with its check results; check results alone
    for the tables that were not. Fails the step if a blocking check failed, so downstream
    assets do not run."""
    failures = []
    for outcome in outcomes:
        checks = [AssetCheckResult(
            asset_key=outcome.table, check_name=c.name, passed=c.passed,
            severity=AssetCheckSeverity.ERROR if c.blocking else AssetCheckSeverity.WARN,
            description=c.description, metadata=metadata_values(c.metadata)) for c in outcome.checks]
        failures += outcome.failed_blocking
        if outcome.metadata is None:
            yield from checks
        else:
            yield MaterializeResult(asset_key=outcome.table, metadata=metadata_values(outcome.metadata),
                                    check_results=checks)
    if failures:
        raise blocking_failure(failures)
