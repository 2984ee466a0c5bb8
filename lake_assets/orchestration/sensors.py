"""The pipeline that runs itself: a sensor on the raw landing zone, a daily observation of the
sources, failure and check-warning mail (the rebuilds: `lake_assets.orchestration.automation`).

- `raw_i94_sensor` looks at `<raw>/i94/` (a folder or an S3 prefix) and asks for one
  `immigration_job` run per range of contiguous months whose extract is new or changed, so
  twelve extracts landing together are one run (one Spark session). An extract's version
  hashes the size and modification time (locally) or size and ETag (on S3) of its file or of
  each part of its folder; a folder counts once complete (a `_SUCCESS` marker, or the same
  version two ticks in a row). A failed run is retried by Dagster (`dagster/max_retries`,
  `run_retries` in dagster.yaml), then mailed by `failure_email_sensor`. Extracts that cannot
  be read or placed, that hold a month outside the partitions, or a month whose extract
  became overdue while the sensor watched (not in by `LANDING_DAY` of the next month plus
  `LANDING_MARGIN`) are logged at every tick and mailed once, all of a tick's in one mail; the
  others go on. Months already overdue at the sensor's first tick (a past year's lake) are one
  log line, not a mail. The cursor keeps this state; run keys make
  Dagster drop a repeated request too. Each new version is recorded as the data version of
  the month of `raw_i94` (an observation) before its run, and the check
  `months_built_in_time` (lake_assets.orchestration.freshness) is recorded when its outcome changes.
- `daily_refresh_schedule` runs `observe_sources_job` at 07:00 (`$LAKE_SCHEDULE_TIMEZONE`,
  default UTC): the data version of each source file; `automation_sensor` rebuilds what a
  changed one feeds, nothing when none changed.
- `failure_email_sensor` mails the operators when a run fails, including a run stopped by a
  failed blocking check (which publishes nothing: the tables keep their last good version).
- `failure_metric_sensor` counts each failed run in CloudWatch (`FailedRuns` in
  `$LAKE_METRICS_NAMESPACE`), what the deployment's alarm watches (infra/cfn/orchestrator.yaml).

Sensors and the schedule start running unless `LAKE_AUTOMATION=off` (`lake ui --no-automation`);
they can be switched on or off in the UI either way.
"""

import hashlib
import json
from datetime import datetime, timedelta, timezone

from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetObservation,
    AssetRecordsFilter,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    PartitionKeyRange,
    EventRecordsFilter,
    RunFailureSensorContext,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    run_failure_sensor,
    sensor,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG  # no public name in 1.13
from dagster._core.storage.event_log import SqlEventLogStorage  # no public name in 1.13
from dagster._time import get_current_timestamp

from lake_assets.core import settings
from lake_assets.core.mail import MailError, send_mail, smtp_settings
from lake_assets.core.sources import DONE_MARKER, I94Month, SourceError, file_stamps, scan_i94_months, stamps_version
from lake_assets.orchestration.assets.raw import observed_sources
from lake_assets.orchestration.automation import SCHEDULE_STATUS, SENSOR_STATUS
from lake_assets.orchestration.freshness import built_in_time, months_not_built
from lake_assets.orchestration.partitions import monthly_partitions
from lake_assets.orchestration.resources import LakeResource

FAILED_RUNS_METRIC = "FailedRuns"

observe_sources_job = define_asset_job(
    "observe_sources_job", AssetSelection.assets(*(source.key for source in observed_sources)),
    description="Observe the label, demographics, airport and temperature files: their data versions (no Spark)")


RETRIES = 2  # Dagster's run retries (dagster/max_retries; run_retries on in dagster.yaml) of a failed run
LANDING_DAY = 15  # an extract usually lands by this day of the month after its own
LANDING_MARGIN = timedelta(days=7)  # then it is overdue: a warning, one mail


def run_request(months: PartitionKeyRange, versions: list[str]) -> RunRequest:
    """One run for the new versions (path@version) of a range of contiguous months: a partition or a range."""
    tags = {"dagster/max_retries": str(RETRIES)}
    if months.start != months.end:
        tags |= {"dagster/asset_partition_range_start": months.start, "dagster/asset_partition_range_end": months.end}
    key = hashlib.sha1(";".join(versions).encode()).hexdigest()[:16]
    return RunRequest(run_key=f"{months.start[:7]}..{months.end[:7]}@{key}", tags=tags,
                      partition_key=months.start if months.start == months.end else None)


def extract_observation(month: str, version: str) -> AssetObservation:
    """The data version of the month of `raw_i94`: the version of its extract about to be built."""
    return AssetObservation("raw_i94", partition=f"{month}-01", tags={DATA_VERSION_TAG: version})


def built_before(instance: DagsterInstance, month: str, version: str) -> bool:
    """Whether this version of the month's extract is in the fact already (by `lake build`, say)."""
    def latest(fetch, key: str):
        records = fetch(AssetRecordsFilter(asset_key=AssetKey(key), asset_partitions=[f"{month}-01"]), limit=1).records
        return records[0] if records else None

    seen = latest(instance.fetch_observations, "raw_i94")
    if seen is None or seen.asset_observation.tags.get(DATA_VERSION_TAG) != version:
        return False
    built = latest(instance.fetch_materializations, "fact_immigration")
    return built is not None and built.timestamp > seen.timestamp


def advance(context: SensorEvaluationContext, extract: I94Month, stamps: dict[str, str],
            entry: dict | None) -> tuple[dict, bool]:
    """The extract's next cursor entry, and whether to build its version now (new, complete, not built)."""
    version = stamps_version(stamps)
    if entry is not None and entry["version"] == version:
        requested = entry.get("requested", bool(entry.get("runs")))  # "runs": a cursor written before Dagster retried the runs
        return {"version": version, "requested": True}, not requested and not built_before(context.instance,
                                                                                             extract.month, version)
    # a folder of parts may still be uploading: complete with its marker, or unchanged at the next tick
    if DONE_MARKER not in stamps and list(stamps) != [extract.path.name]:
        context.log.info(f"{extract.path}: version {version} of {extract.month} seen, built if unchanged at the next tick")
        return {"version": version, "requested": False}, False
    return {"version": version, "requested": True}, not built_before(context.instance, extract.month, version)


def overdue(landed: set[str], now: datetime, since: datetime) -> tuple[dict[str, str], list[str]]:
    """The months of the lake with no extract LANDING_MARGIN after their usual landing day: those
    that became overdue since the sensor began watching (`since`), and those overdue before it."""
    late, before = {}, []
    for key in monthly_partitions.get_partition_keys():
        start = datetime.fromisoformat(key).replace(tzinfo=timezone.utc)
        due = (start + timedelta(days=32)).replace(day=LANDING_DAY) + LANDING_MARGIN
        if key[:7] in landed or now <= due:
            continue
        if due < since:
            before.append(key[:7])
        else:
            late[f"overdue {key[:7]}"] = (f"the I94 extract of {key[:7]} is overdue: due by "
                                          f"{due - LANDING_MARGIN:%Y-%m-%d}, not in the landing zone")
    return late, before


def alert(context: SensorEvaluationContext, incidents: list[str]) -> bool:
    """Mail the operators the new incidents of the landing zone; False if the mail could not go
    (then it is logged in one line and they are mailed again at the next tick)."""
    settings = smtp_settings()
    if settings is None:
        context.log.warning("landing-zone problems not mailed: set LAKE_SMTP_HOST and LAKE_ALERT_TO")
        return True
    body = "\n".join(["The sensor raw_i94_sensor found:", *(f"- {i}" for i in incidents)])
    try:
        send_mail(settings, f"[lake] landing zone: {len(incidents)} problem(s) with the I94 extracts", body)
    except MailError as exc:  # every kind of mail failure: the tick goes on, the mail is tried again next tick
        context.log.error(f"landing-zone problems not mailed (again at the next tick): {exc}")
        return False
    return True


@sensor(job_name="immigration_job", minimum_interval_seconds=60, default_status=SENSOR_STATUS,
        description="One immigration_job run per range of new or changed monthly I94 extracts in <raw>/i94/ "
                    "(retried by Dagster); extracts becoming overdue and unreadable ones mailed once")
def raw_i94_sensor(context: SensorEvaluationContext, lake: LakeResource):
    """Ask for one run per contiguous range of months whose extract has a new complete version,
    record each version as the month's data version of `raw_i94`, evaluate `months_built_in_time`,
    and report (log, mail once) what cannot be built and the months whose extract is overdue.

    The cursor holds, per extract path, its version and whether it was asked for; the problems
    already mailed; the last outcome of the check; and when the sensor began watching."""
    state = json.loads(context.cursor) if context.cursor else {}
    before, mailed = state.get("extracts", {}), state.get("problems", {})
    try:
        extracts, unreadable = scan_i94_months(lake.raw_dir)
    except (SourceError, OSError) as exc:
        return SkipReason(f"cannot read the landing zone: {exc}")
    problems = {exc.path: str(exc) for exc in unreadable}
    now = get_current_timestamp()
    months = monthly_partitions.get_partition_keys()
    current, new, events = {}, {}, []
    for month, extract in sorted(extracts.items()):
        path = str(extract.path)
        if f"{month}-01" not in months:
            problems[path] = f"{path}: holds {month}, outside the lake's months {months[0][:7]}..{months[-1][:7]}: not built"
            continue
        try:
            stamps = file_stamps(extract.path)
        except OSError as exc:
            problems[path] = f"{path}: cannot be read: {exc}"
            continue
        current[path], build = advance(context, extract, stamps, before.get(path))
        if build:
            new[f"{month}-01"] = f"{path}@{current[path]['version']}"
            events.append(extract_observation(month, current[path]["version"]))
    since = state.get("since", now)
    newly, missed = overdue(set(extracts), datetime.fromtimestamp(now, timezone.utc),
                            datetime.fromtimestamp(since, timezone.utc))
    problems |= newly
    if missed and "since" not in state:  # a first tick on a past year: a line, not a mail per month
        context.log.info(f"no I94 extract for {', '.join(missed)}: due before this sensor began watching "
                         f"({datetime.fromtimestamp(since, timezone.utc):%Y-%m-%d}), not mailed as overdue")
    for message in problems.values():
        context.log.warning(message)
    incidents = [m for p, m in problems.items() if mailed.get(p) != m]
    if incidents and not alert(context, incidents):
        problems = {p: m for p, m in problems.items() if mailed.get(p) == m}
    ranges = monthly_partitions.subset_with_partition_keys(new).get_partition_key_ranges(monthly_partitions)
    requests = [run_request(r, [new[k] for k in monthly_partitions.get_partition_keys_in_range(r)]) for r in ranges]
    late = months_not_built(context.instance, now)
    if late != state.get("late", ""):
        events.append(built_in_time(late))
    cursor = json.dumps({"extracts": current, "problems": problems, "late": late, "since": since}, sort_keys=True)
    skip = "; ".join(problems.values()) if problems and not requests else None
    return SensorResult(run_requests=requests, asset_events=events, cursor=cursor, skip_reason=skip)


daily_refresh_schedule = ScheduleDefinition(
    name="daily_refresh_schedule", job=observe_sources_job, cron_schedule="0 7 * * *",
    execution_timezone=settings.SCHEDULE_TIMEZONE.value(),
    default_status=SCHEDULE_STATUS,
    description="07:00 every day: observe the source files; automation_sensor rebuilds what a changed one feeds")


# ---------------------------------------------------------------- failure mail


def failure_mail(context: RunFailureSensorContext) -> tuple[str, str]:
    """Subject and body: the job, its partition, each failed step's one-line error."""
    from lake_assets.orchestration.console import user_error_message

    run = context.dagster_run
    partition = run.tags.get("dagster/partition")
    first, last = (run.tags.get(f"dagster/asset_partition_range_{end}") for end in ("start", "end"))
    failures = [e.dagster_event for e in context.instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)]
    steps = [f"- {e.step_key}: {user_error_message(e.step_failure_data.error).splitlines()[0]}" for e in failures]
    where = f" {partition[:7]}" if partition else f" {first[:7]}..{last[:7]}" if first and last else ""
    subject = f"[lake] {run.job_name}{where} failed"
    ui = settings.UI_URL.value()
    body = "\n".join([
        f"The run {run.run_id} of {run.job_name}{where} failed.",
        "Tables whose blocking checks failed were not published: they keep their last good version.",
        "", "Failed steps:", *(steps or [f"- {context.failure_event.message}"]),
        *(["", f"Run: {ui.rstrip('/')}/runs/{run.run_id}"] if ui else []),
    ])
    return subject, body


@run_failure_sensor(name="failure_email_sensor", monitor_all_code_locations=False,
                    default_status=SENSOR_STATUS,
                    description="Mail the operators (LAKE_ALERT_TO) when a run fails")
def failure_email_sensor(context: RunFailureSensorContext):
    settings = smtp_settings()
    if settings is None:
        context.log.warning("run failed but no alert sent: set LAKE_SMTP_HOST and LAKE_ALERT_TO")
        return
    try:
        send_mail(settings, *failure_mail(context))
    except MailError as exc:
        context.log.error(str(exc))


@run_failure_sensor(name="failure_metric_sensor", monitor_all_code_locations=False,
                    default_status=SENSOR_STATUS,
                    description="Count each failed run in CloudWatch (FailedRuns in LAKE_METRICS_NAMESPACE)")
def failure_metric_sensor(context: RunFailureSensorContext):
    namespace = settings.METRICS_NAMESPACE.value()
    if not namespace:
        context.log.warning("run failed but not counted: set LAKE_METRICS_NAMESPACE")
        return
    import boto3

    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": FAILED_RUNS_METRIC, "Value": 1, "Unit": "Count"}])


# ---------------------------------------------------------------- warning checks


def check_evaluations(instance: DagsterInstance, after: int | None) -> list:
    """The next check evaluations recorded after storage id `after`, oldest first. An instance
    folder made before the consolidated event log (Dagster's default SQLite storage, a database
    per run) refuses such a cursor across runs, but copies every check evaluation into its index
    database, which the SQL storages' own query reads."""
    storage, records = instance.event_log_storage, EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION,
                                                                      after_cursor=after)
    if storage.is_run_sharded:
        return SqlEventLogStorage.get_event_records(storage, records, limit=1000, ascending=True)
    return storage.get_event_records(records, limit=1000, ascending=True)


def check_warnings(instance: DagsterInstance, after: int | None, failing: dict) -> tuple[int | None, dict, dict]:
    """Read the check evaluations recorded after storage id `after`: the last id read, the warnings
    failing then (check -> description), and those among them that were not failing before."""
    failing, new = dict(failing), {}
    while records := check_evaluations(instance, after):
        for record in records:
            evaluation = record.event_log_entry.dagster_event.event_specific_data
            check = " ".join(filter(None, [evaluation.asset_key.to_user_string(), evaluation.partition and
                                           evaluation.partition[:7], evaluation.check_name]))
            if evaluation.passed:
                failing.pop(check, None)
                new.pop(check, None)
            elif evaluation.severity == AssetCheckSeverity.WARN and check not in failing:
                failing[check] = new[check] = evaluation.description or ""
        after = records[-1].storage_id
    return after, failing, new


@sensor(name="check_warning_sensor", minimum_interval_seconds=60,
        default_status=SENSOR_STATUS,
        description="Mail the operators when a warning check fails (a coverage floor, a freshness check), "
                    "once until it passes again")
def check_warning_sensor(context: SensorEvaluationContext):
    """Failed blocking checks fail their run, which `failure_email_sensor` mails; this mails the
    warnings. The cursor holds the last evaluation read and the warnings failing (mailed)."""
    state = json.loads(context.cursor) if context.cursor else {"after": None, "failing": {}}
    after, failing, new = check_warnings(context.instance, state["after"], state["failing"])
    settings = smtp_settings()
    if new and settings is None:
        context.log.warning("check warnings not mailed: set LAKE_SMTP_HOST and LAKE_ALERT_TO")
    elif new:
        body = "\n".join(["These warning checks failed (mailed again only after they pass):",
                          *(f"- {check}: {description}" for check, description in new.items())])
        try:
            send_mail(settings, f"[lake] {len(new)} check warning(s)", body)
        except MailError as exc:
            context.log.error(f"cannot mail the check warnings (again at the next tick): {exc}")
            return SkipReason(f"{len(new)} check warning(s) not mailed: {exc}")
    return SensorResult(cursor=json.dumps({"after": after, "failing": failing}, sort_keys=True))


sensors = [raw_i94_sensor, failure_email_sensor, failure_metric_sensor, check_warning_sensor]
schedules = [daily_refresh_schedule]
