"""Build outcomes as Dagster events: the one way every asset reports what it wrote."""


from typing import Iterable, Iterator

from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetMaterialization,
    AssetRecordsFilter,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (  # no public name in 1.13
    AssetCheckEvaluationTargetMaterializationData,
)

from lake_assets.core.builds import CheckOutcome, TableOutcome

_KINDS = {"md": MetadataValue.md, "path": MetadataValue.path, "json": MetadataValue.json,
          "float": MetadataValue.float, "int": MetadataValue.int, "text": MetadataValue.text,
          "bool": MetadataValue.bool, "null": lambda _: MetadataValue.null()}


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


def dagster_results_by_partition(context: AssetExecutionContext,
                                 months: Iterable[tuple[str, list[TableOutcome]]]) -> Iterator:
    """The results of a monthly build over one month or several (a single-run backfill), each
    month recorded under its own partition key.

    A MaterializeResult or AssetCheckResult names no partition: over several months Dagster
    would record every month with the same metadata, and the checks without a month. So each
    month's metadata goes to `add_asset_metadata(partition_key=…)` (one MaterializeResult per
    table then records each month with its own), and each check result becomes an evaluation
    of its month. If a month fails (blocking check, missing extract), the months published
    before it are recorded, then the step fails; later months are not built.
    """
    published, checks = [], []
    try:
        for key, outcomes in months:
            for outcome in outcomes:
                checks += [(key, check) for check in outcome.checks]
                if outcome.metadata is not None:
                    published.append((key, outcome))
            failures = [f"{key[:7]} {failure}" for outcome in outcomes for failure in outcome.failed_blocking]
            if failures:
                raise blocking_failure(failures)
    except Exception:
        for key, outcome in published:
            yield AssetMaterialization(outcome.table, partition=key, metadata=metadata_values(outcome.metadata))
        yield from _evaluations(context, checks)
        raise
    for key, outcome in published:
        context.add_asset_metadata(metadata_values(outcome.metadata), asset_key=outcome.table, partition_key=key)
    for table in dict.fromkeys(outcome.table for _, outcome in published):
        yield MaterializeResult(asset_key=table)
    yield from _evaluations(context, checks)
    # The checks' outputs, which evaluations do not produce.
    for output_name, spec in context.assets_def.check_specs_by_output_name.items():
        if spec.key in context.selected_asset_check_keys:
            yield Output(None, output_name=output_name)


def _evaluations(context: AssetExecutionContext, checks: list[tuple[str, CheckOutcome]]) -> Iterator:
    """Check outcomes as evaluations of their month, each pointing at its month's latest materialization
    (looked up once per table and month)."""
    latest_of: dict[tuple[str, str], list] = {}
    for key, check in checks:
        if (check.table, key) not in latest_of:
            latest_of[(check.table, key)] = context.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(check.table), asset_partitions=[key]), limit=1).records
        latest = latest_of[(check.table, key)]
        yield AssetCheckEvaluation(
            asset_key=AssetKey(check.table), check_name=check.name, passed=check.passed,
            metadata=metadata_values(check.metadata), description=check.description, partition=key,
            severity=AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN,
            blocking=check.blocking,
            target_materialization_data=AssetCheckEvaluationTargetMaterializationData(
                storage_id=latest[0].storage_id, run_id=latest[0].run_id, timestamp=latest[0].timestamp)
            if latest else None)
