"""The pipeline that runs itself: a sensor on the raw landing zone, a daily observation of the
sources, failure and check-warning mail (the rebuilds: `lake_assets.automation`).

- `raw_i94_sensor` looks at `<raw>/i94/` (a folder or an S3 prefix) and asks for one
  `immigration_job` run per new or changed monthly extract, for that month's partition. An
  extract's version hashes the size and modification time (locally) or size and ETag (on
  S3) of its file or of each part of its folder; a folder counts once complete (a
  `_SUCCESS` marker, or the same version two ticks in a row). A version whose run fails is
  run again, up to `MAX_RUNS` runs, then the operators are mailed. Extracts that cannot be
  read or placed, or that hold a month outside the partitions, are logged at every tick and
  mailed once; the others go on. The cursor keeps this state; run keys (path@version) make
  Dagster drop a repeated request too. Each new version is recorded as the data version of
  the month of `raw_i94` (an observation) before its run.
- `daily_refresh_schedule` runs `observe_sources_job` at 07:00 (`$LAKE_SCHEDULE_TIMEZONE`,
  default UTC): the data version of each source file; `automation_sensor` rebuilds what a
  changed one feeds, nothing when none changed.
- `failure_email_sensor` mails the operators when a run fails, including a run stopped by a
  failed blocking check (which publishes nothing: the tables keep their last good version).
- `failure_metric_sensor` counts each failed run in CloudWatch (`FailedRuns` in
  `$LAKE_METRICS_NAMESPACE`), what the deployment's alarm watches (infra/cfn/orchestrator.yaml).

Sensors and the schedule start stopped unless `LAKE_AUTOMATION=on` (then `dagster dev` or
the daemon runs them at once); they can be switched on in the UI either way.
"""

import json

from dagster import (
    AssetCheckSeverity,
    AssetObservation,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    EventRecordsFilter,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    run_failure_sensor,
    sensor,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG  # no public name in 1.13

from lake_assets import settings
from lake_assets.assets.raw import observed_sources
from lake_assets.mail import MailError, send_mail, smtp_settings
from lake_assets.partitions import monthly_partitions
from lake_assets.resources import LakeResource
from lake_assets.sources import DONE_MARKER, I94Month, SourceError, file_stamps, scan_i94_months, stamps_version

AUTOMATION_ON = settings.AUTOMATION.flag()
FAILED_RUNS_METRIC = "FailedRuns"

observe_sources_job = define_asset_job(
    "observe_sources_job", AssetSelection.assets(*(source.key for source in observed_sources)),
    description="Observe the label, demographics, airport and temperature files: their data versions (no Spark)")


MAX_RUNS = 3  # runs of one version of an extract (the first and two retries) before an alert


def run_request(extract: I94Month, version: str, attempt: int) -> RunRequest:
    # The first run keeps the key path@version, so versions built before retries existed are not rebuilt.
    path = str(extract.path)
    return RunRequest(run_key=f"{path}@{version}" + (f"#{attempt}" if attempt > 1 else ""),
                      partition_key=f"{extract.month}-01",
                      tags={"lake/extract": path, "lake/extract_version": version,
                            "lake/extract_attempt": f"{attempt}/{MAX_RUNS}"})


def last_run(instance: DagsterInstance, path: str, version: str, requested: int) -> DagsterRun | None:
    """The latest run of this version of the extract, once the last one requested exists."""
    runs = instance.get_runs(RunsFilter(tags={"lake/extract": path, "lake/extract_version": version}))
    return runs[0] if len(runs) >= requested else None


def advance(context: SensorEvaluationContext, extract: I94Month, stamps: dict[str, str],
            entry: dict | None) -> tuple[dict, RunRequest | None, str | None]:
    """The extract's next cursor entry, the run to ask for, and what to mail if its runs all failed."""
    path, version = str(extract.path), stamps_version(stamps)
    if entry is None or entry["version"] != version:
        entry = {"version": version, "runs": 0}
        # a folder of parts may still be uploading: complete with its marker, or unchanged at the next tick
        if DONE_MARKER not in stamps and list(stamps) != [extract.path.name]:
            context.log.info(f"{path}: version {version} of {extract.month} seen, built if unchanged at the next tick")
            return entry, None, None
    elif entry["runs"]:
        run = last_run(context.instance, path, version, entry["runs"])
        if run is None or run.status != DagsterRunStatus.FAILURE or entry.get("gave_up"):
            return entry, None, None
        if entry["runs"] >= MAX_RUNS:
            return entry, None, (f"{path}: the {MAX_RUNS} runs of version {version} of {extract.month} failed "
                                 f"(last: run {run.run_id}); fix the cause, then re-upload or re-execute")
    entry = {**entry, "runs": entry["runs"] + 1}
    context.log.info(f"{path}: version {version} of {extract.month}, run {entry['runs']}/{MAX_RUNS}")
    return entry, run_request(extract, version, entry["runs"]), None


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


@sensor(job_name="immigration_job", minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING if AUTOMATION_ON else DefaultSensorStatus.STOPPED,
        description="One immigration_job run per new or changed monthly I94 extract in <raw>/i94/; "
                    "failed runs retried, problems mailed")
def raw_i94_sensor(context: SensorEvaluationContext, lake: LakeResource):
    """Ask for the month's partition run of each complete extract whose version is new, retry a
    failed one up to MAX_RUNS, and report (log, mail once) what cannot be built.

    The cursor holds, per extract path, its version, the runs asked for it and whether the
    operators were told they all failed; and the problems already mailed."""
    state = json.loads(context.cursor) if context.cursor else {}
    before, mailed = state.get("extracts", {}), state.get("problems", {})
    try:
        extracts, unreadable = scan_i94_months(lake.raw_dir)
    except (SourceError, OSError) as exc:
        return SkipReason(f"cannot read the landing zone: {exc}")
    problems = {exc.path: str(exc) for exc in unreadable}
    months = monthly_partitions.get_partition_keys()
    current, requests, observations, gave_up = {}, [], [], {}
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
        current[path], request, failed = advance(context, extract, stamps, before.get(path))
        if request:
            requests.append(request)
            if current[path]["runs"] == 1:  # a new version: raw_i94's data version for the month
                observations.append(AssetObservation("raw_i94", partition=request.partition_key,
                                                     tags={DATA_VERSION_TAG: current[path]["version"]}))
        if failed:
            gave_up[path] = failed
    for message in problems.values():
        context.log.warning(message)
    incidents = [m for p, m in problems.items() if mailed.get(p) != m] + list(gave_up.values())
    if incidents and not alert(context, incidents):
        problems = {p: m for p, m in problems.items() if mailed.get(p) == m}
    else:
        for path in gave_up:
            current[path]["gave_up"] = True
    cursor = json.dumps({"extracts": current, "problems": problems}, sort_keys=True)
    skip = "; ".join(problems.values()) if problems and not requests else None
    return SensorResult(run_requests=requests, asset_events=observations, cursor=cursor, skip_reason=skip)


daily_refresh_schedule = ScheduleDefinition(
    name="daily_refresh_schedule", job=observe_sources_job, cron_schedule="0 7 * * *",
    execution_timezone=settings.SCHEDULE_TIMEZONE.value(),
    default_status=DefaultScheduleStatus.RUNNING if AUTOMATION_ON else DefaultScheduleStatus.STOPPED,
    description="07:00 every day: observe the source files; automation_sensor rebuilds what a changed one feeds")


# ---------------------------------------------------------------- failure mail


def failure_mail(context: RunFailureSensorContext) -> tuple[str, str]:
    """Subject and body: the job, its partition, each failed step's one-line error."""
    from lake_assets.console import user_error_message

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
                    default_status=DefaultSensorStatus.RUNNING if AUTOMATION_ON else DefaultSensorStatus.STOPPED,
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
                    default_status=DefaultSensorStatus.RUNNING if AUTOMATION_ON else DefaultSensorStatus.STOPPED,
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


def check_warnings(instance: DagsterInstance, after: int | None, failing: dict) -> tuple[int | None, dict, dict]:
    """Read the check evaluations recorded after storage id `after`: the last id read, the warnings
    failing then (check -> description), and those among them that were not failing before."""
    failing, new = dict(failing), {}
    while records := instance.event_log_storage.get_event_records(
            EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after), limit=1000, ascending=True):
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
        default_status=DefaultSensorStatus.RUNNING if AUTOMATION_ON else DefaultSensorStatus.STOPPED,
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
