"""Person-level data by allowlist: no person-level value of a sample lake anywhere the Dagster
instance recorded, and only columns declared safe in what shows rows.

The values looked for are read from the lake's own tables: every column declared person-level
(`Column.personal`: admission numbers, INS numbers, birth years, flight numbers), with the record
id (cicid) of its row. They are looked for in every event of every run as Dagster stores it
(materializations and their metadata, check evaluations, log messages), in every file under the
instance's home (the event log database, the runs' captured stdout and stderr), and in the mails
the failure sensor sends to a real SMTP server.

How a value is found: a text is cut into lines and the lines into tokens (words and numbers; a
number is compared by its value, so 55425872933, 55425872933.0 and 5.5425872933E10 are one). A
value of six characters or more (an admission number) is found wherever it stands as a token.
A shorter one (a birth year, a four-digit INS number, a flight number) is as common as a count,
a code or a year, so it is found only on a line that also holds its own record's id: a row of
that person shown somewhere. Values under three characters (flight number 7) are not looked
for: a day of the month looks the same.
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context
from dagster_shared.serdes import serialize_value

from lake_assets.core import query
from lake_assets.core.tables import TABLES
from lake_assets.core.tables.table import Column, Table
from lake_assets.orchestration.definitions import build_definitions
from lake_assets.orchestration.environments import resources_for
from lake_assets.orchestration.sensors import failure_email_sensor

PERSONAL = {t.name: [c.name for c in t.columns if c.personal] for t in TABLES.values()
            if any(c.personal for c in t.columns)}
LONG = 6  # characters: a value this long is found anywhere
TOKEN = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z0-9]+")


def canonical(text) -> str:
    """A token as compared: a number by its value, a word as it is."""
    try:
        number = float(text)
    except (TypeError, ValueError):
        return str(text)
    return str(int(number)) if number.is_integer() else repr(number)


def person_level_values(lake: Path) -> tuple[set[str], dict[str, set[str]]]:
    """(the long values, and the short values by record id) of every person-level column of the lake."""
    con = query.connect(lake, only=PERSONAL)
    long, short = set(), defaultdict(set)
    for table, columns in PERSONAL.items():
        for record, *values in con.execute(f"select cicid, {', '.join(columns)} from {table}").fetchall():
            values = {canonical(v) for v in values if v is not None}
            long |= {v for v in values if len(v) >= LONG}
            if record is not None:
                short[canonical(record)] |= {v for v in values if 3 <= len(v) < LONG}
    return long, short


def found(texts: list[str], long: set[str], short: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(value, the line it is on) of every person-level value in `texts` (see the module's rule)."""
    hits = []
    for text in texts:
        for line in re.split(r'\n|\\n|"', text):  # lines, and JSON's strings apart (its line ends as \n)
            tokens = {canonical(t) for t in TOKEN.findall(line)}
            values = tokens & long
            values |= {v for record in tokens & short.keys() for v in short[record] & tokens if v != record}
            hits += [(value, line[:300]) for value in values]
    return hits


def recorded(instance: DagsterInstance, home: Path | None = None) -> list[str]:
    """Every event of every run as stored, and every file under the instance's home."""
    texts = [serialize_value(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id)]
    if home is not None:
        texts += [p.read_bytes().decode("utf-8", "replace") for p in home.rglob("*") if p.is_file()]
    return texts


def failed_run_mail(tmp_path: Path, raw: Path) -> list[str]:
    """The event log of a failed month run (its extract is missing) and the mail that says so."""
    job = build_definitions(resources_for("local", str(raw), str(tmp_path / "lake"))).resolve_job_def(
        "immigration_job")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="2016-12-01", raise_on_error=False)
        assert not result.success
        event = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)[-1]
        failure_email_sensor(build_run_status_sensor_context(
            sensor_name=failure_email_sensor.name, dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=event.dagster_event).for_run_failure())
        return recorded(instance)


def test_privacy_no_person_level_value_anywhere_the_instance_recorded(sample, smtp, tmp_path):
    lake, home = sample.lake, sample.dagster_home
    long, short = person_level_values(lake)
    assert PERSONAL == {"fact_immigration": ["admission_number", "birth_year", "flight_number"],
                        "fact_immigration_rejects": ["biryear", "insnum", "admnum", "fltno"]}
    assert len(long) > 1000 and len(short) > 1000  # the sample's admission numbers; its people's other values

    assert any(home.rglob("compute_logs/*.err")) and any(home.rglob("compute_logs/*.out"))  # the runs' own logs
    with DagsterInstance.from_config(str(home)) as instance:
        texts = recorded(instance, home)
        previews = [entry.asset_materialization.metadata["preview"].value for run in instance.get_runs()
                    for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)]
    texts += failed_run_mail(tmp_path, sample.raw)
    mails = [f"{m['Subject']}\n{m.get_content()}" for m in smtp.messages]
    assert len(mails) == 1  # the failed run's

    # What shows rows shows only the columns declared safe.
    assert len(previews) >= len(TABLES)
    for preview in previews:
        header = preview.splitlines()[0]
        shown = [c.strip() for c in header.strip("|").split("|")]
        assert any(set(shown) == set(t.safe_columns) for t in TABLES.values()), header
    # The rule finds a person shown in a row, and a long value anywhere.
    table, columns = "fact_immigration", TABLES["fact_immigration"].columns
    row = query.connect(lake, only={table}).execute(f"select * from {table} where birth_year < 2000 limit 1").fetchone()
    shown_row = "| " + " | ".join(map(str, row)) + " |"
    assert {v for v, _ in found([shown_row], long, short)} >= {
        canonical(v) for c, v in zip(columns, row) if c.personal and v is not None and len(canonical(v)) >= 3}
    assert found([f"record of {row[[c.name for c in columns].index('admission_number')]}.0"], long, short)

    leaks = found(texts + mails, long, short)
    assert leaks == [], leaks[:5]


def test_privacy_checks_show_no_person_level_column():
    """A key or a referenced column is what check examples show: never a person-level one."""
    columns = (Column("cicid", "BIGINT", "record id"), Column("admission_number", "BIGINT", "I94 number", personal=True))
    with pytest.raises(ValueError, match="not admission_number"):
        Table("t", "a table", (), columns, keys=("admission_number",))
    assert Table("t", "a table", (), columns, keys=("cicid",)).safe_columns == ("cicid",)
