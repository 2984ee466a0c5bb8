"""The fault suite: bad inputs, kills and reruns never leave a half-written or changed lake.

One small lake is the test run's `sample` (generated March to May 2016, scale 0.0005). Each malformed
input is a copy of its raw folder with one fault; `lake build` must stop with one paragraph
(the file, what was expected, what was found, what to do) before any Spark work, the lake
untouched. The kills SIGKILL a `lake build` of April at points of its run (data files written
but not committed, right after a commit, between steps); every table must still read as its
last good snapshot, and the next build must complete with no repair while a concurrent reader
never sees a partial table.
"""

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lake_assets.core.query import connect, snapshots
from lake_assets.core.storage import Lake
from lake_assets.tools.build import build
from lake_assets.tools.cli import main

LABELS = "I94_SAS_Labels_Descriptions.SAS"
DEMOGRAPHICS = "us-cities-demographics.csv"
AIRPORTS = "airport-codes_csv.csv"
CITY_TEMPERATURES = "temperature/GlobalLandTemperaturesByCity.csv"
MAJOR_TEMPERATURES = "temperature/GlobalLandTemperaturesByMajorCity.csv.gz"
APRIL = "i94/i94_apr16_sub.parquet"


@pytest.fixture(scope="module")
def built(sample):
    """(raw folder, lake folder, {table: content digest}) of the good build of the sample."""
    return sample.raw, sample.lake, contents(sample.lake)


def files(lake: Path) -> dict[str, tuple[int, int]]:
    """Every file under the lake (internals too): relative path -> (size, mtime)."""
    return {p.relative_to(lake).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(lake.rglob("*")) if p.is_file()}


def _digest(rows) -> str:
    canon = sorted(repr(tuple(round(v, 6) if isinstance(v, float) else v for v in r)) for r in rows)
    return hashlib.sha256("\n".join(canon).encode()).hexdigest()


def contents(lake: Path) -> dict[str, tuple[int, str]]:
    """Every table read by DuckDB: name -> (rows, digest of its sorted rows)."""
    con = connect(lake)
    found = {}
    for table in snapshots(lake):
        rows = con.execute(f'select * from "{table.name}"').fetchall()
        found[table.name] = (len(rows), _digest(rows))
    return found


# ---------------------------------------------------------------- malformed inputs


def _part(raw: Path) -> Path:
    return next((raw / APRIL).glob("*.parquet"))


def _edit_april(raw: Path, edit) -> None:
    part = _part(raw)
    pq.write_table(edit(pq.read_table(part)), part)


def _edit_text(raw: Path, name: str, edit, encoding="utf-8") -> None:
    path = raw / name
    path.write_bytes(edit(path.read_text(encoding=encoding)).encode(encoding))


def _edit_csv_header(raw: Path, name: str, old: str, new: str) -> None:
    lines = (raw / name).read_text().split("\n", 1)
    (raw / name).write_text(lines[0].replace(old, new) + "\n" + lines[1])


def _latin1(raw: Path, name: str) -> None:
    """A row for San Germán, PR, saved as Latin-1 (á is byte 0xe1)."""
    lines = (raw / name).read_text().split("\n")
    lines.insert(1, ";".join(["San Germán", *lines[1].split(";")[1:]]))
    (raw / name).write_bytes("\n".join(lines).encode("latin-1"))


def _cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _label_cut_mid_block(raw: Path) -> None:
    text = (raw / LABELS).read_text(encoding="latin-1")
    start = re.search(r"value \$?i94prtl", text).end()
    (raw / LABELS).write_text(text[:start + 400], encoding="latin-1")


def _replace_april(raw: Path, name: str, data: bytes) -> None:
    shutil.rmtree(raw / APRIL)
    (raw / "i94" / name).write_bytes(data)


def _column_type(table: pa.Table, name: str, values) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


# (id, fault applied to a copy of the raw folder, --months, pattern the message must match)
FAULTS = [
    ("missing-demographics", lambda r: (r / DEMOGRAPHICS).unlink(), None,
     r"us-cities-demographics\.csv: missing: the demographics CSV is expected here"),
    ("missing-label-file", lambda r: (r / LABELS).unlink(), None, r"SAS: missing: the SAS label file"),
    ("missing-airports", lambda r: (r / AIRPORTS).unlink(), None, r"airport-codes\*\.csv: missing"),
    ("missing-temperatures", lambda r: shutil.rmtree(r / "temperature"), None,
     r"temperature: no GlobalLandTemperaturesBy\*\.csv\[\.gz\] file found"),
    ("missing-i94-folder", lambda r: shutil.rmtree(r / "i94"), None, r"i94: no such folder"),
    ("month-not-in-raw", lambda r: None, "2016-06", r"no I94 extract for 2016-06 .*found: 2016-03, 2016-04, 2016-05"),
    ("two-extracts-one-month", lambda r: shutil.copytree(r / APRIL, r / "i94" / "2016-04"), None,
     r"holds 2016-04 too"),
    ("demographics-comma-separated", lambda r: _edit_text(r, DEMOGRAPHICS, lambda t: t.replace(";", ",")), None,
     r"us-cities-demographics\.csv: missing column\(s\) City.*is the separator ';'"),
    ("demographics-renamed-column", lambda r: _edit_csv_header(r, DEMOGRAPHICS, "Median Age", "MedianAge"), None,
     r"us-cities-demographics\.csv: missing column\(s\) Median Age: the header is"),
    ("airports-without-coordinates", lambda r: _edit_csv_header(r, AIRPORTS, ",coordinates", ""), None,
     r"airport-codes_csv\.csv: missing column\(s\) coordinates"),
    ("temperature-renamed-column", lambda r: _edit_csv_header(r, CITY_TEMPERATURES, "AverageTemperature,",
                                                              "AvgTemp,"), None,
     r"GlobalLandTemperaturesByCity\.csv: missing column\(s\) AverageTemperature"),
    ("empty-demographics", lambda r: (r / DEMOGRAPHICS).write_bytes(b""), None,
     r"us-cities-demographics\.csv: is empty: expected a header line"),
    ("airports-header-only", lambda r: _edit_text(r, AIRPORTS, lambda t: t.split("\n")[0] + "\n"), None,
     r"airport-codes_csv\.csv: has a header but no rows"),
    ("demographics-latin-1", lambda r: _latin1(r, DEMOGRAPHICS), None,
     r"us-cities-demographics\.csv: is not UTF-8 text: byte 0xe1 .*iconv"),
    ("truncated-temperature-gz", lambda r: _cut(r / MAJOR_TEMPERATURES, 0.5), None,
     r"GlobalLandTemperaturesByMajorCity\.csv\.gz: cannot be read to its end: .*truncated"),
    ("label-file-cut-mid-block", _label_cut_mid_block, None,
     r"SAS: block 'value i94prtl' is cut off: no closing ';'"),
    ("label-file-without-visa-comment", lambda r: _edit_text(
        r, LABELS, lambda t: t.replace("/* I94VISA", "/* VISA"), "latin-1"), None, r"SAS: no I94VISA comment"),
    ("label-block-renamed", lambda r: _edit_text(
        r, LABELS, lambda t: t.replace("i94model", "i94modes"), "latin-1"), None, r"no 'value i94model' block"),
    ("truncated-parquet", lambda r: _cut(_part(r), 0.6), None,
     r"part-00000\.snappy\.parquet: not a readable parquet file"),
    ("i94-missing-column", lambda r: _edit_april(r, lambda t: t.drop(["visatype"])), None,
     r"i94_apr16_sub\.parquet: not an I94 extract: missing column\(s\) visatype; found cicid"),
    ("i94-renamed-column", lambda r: _edit_april(r, lambda t: t.rename_columns(
        ["port" if c == "i94port" else c for c in t.column_names])), None, r"missing column\(s\) i94port"),
    ("i94-dates-as-timestamps", lambda r: _edit_april(r, lambda t: _column_type(
        t, "arrdate", pa.array([pd.Timestamp("2016-04-01")] * len(t)))), None,
     r"wrong column types: arrdate is timestamp\[\w+\]; expected numbers"),
    ("i94-rows-of-another-month", lambda r: _edit_april(r, lambda t: _column_type(
        t, "i94mon", pa.array([5.0] * len(t)))), None,
     r"holds rows of 2016-05 .*not of 2016-04 as its name says"),
    ("i94-no-rows", lambda r: _edit_april(r, lambda t: t.slice(0, 0)), None, r"i94_apr16_sub\.parquet: holds no rows"),
    ("i94-corrupt-sas7bdat", lambda r: _replace_april(r, "i94_apr16_sub.sas7bdat", b"\x00SAS garbage" * 500),
     None, r"i94_apr16_sub\.sas7bdat: not a readable SAS7BDAT file"),
    ("i94-empty-csv", lambda r: _replace_april(r, "i94_apr16_sub.csv", b""), None,
     r"i94_apr16_sub\.csv: is not a readable CSV: No columns to parse"),
]


@pytest.mark.parametrize("fault, months, message", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_bad_source_stops_the_build_in_one_paragraph_and_keeps_the_lake(built, tmp_path, capsys,
                                                                        fault, months, message):
    raw_good, lake, _ = built
    raw = tmp_path / "raw"
    shutil.copytree(raw_good, raw)
    fault(raw)
    before = files(lake)
    capsys.readouterr()
    started = time.monotonic()
    code = main(["build", "--raw", str(raw), "--lake", str(lake)] + (["--months", months] if months else []))
    out, err = capsys.readouterr()

    assert code == 2, out + err
    assert time.monotonic() - started < 10, "a bad source must stop the build before any Spark work"
    assert "Traceback" not in out + err and err.count("\n") == 1, err
    assert err.startswith("lake: ") and re.search(message, err), err
    if months is None:  # the file, the problem, and what to do
        assert str(raw) in err and re.search(r"\([^()]*(fetch|put|use|name|convert|keep|pass)[^()]*\)$",
                                             err.strip()), err
    assert files(lake) == before, "the lake changed although the build stopped"


def test_fault_suite_counts():
    assert len(FAULTS) >= 20 and len({f[0] for f in FAULTS}) == len(FAULTS)


# ---------------------------------------------------------------- kills and reruns


def _data_files(lake: Path, table: str) -> set[Path]:
    return set((lake / table / "data").rglob("*.parquet"))


def _commits(lake: Path, table: str) -> int:
    """Metadata versions of a table: one more for each commit (a staged write, a publish)."""
    return len(list((lake / table / "metadata").glob("*.metadata.json")))


def _build_process(raw: Path, lake: Path) -> tuple[subprocess.Popen, list[str]]:
    """`lake build` of April in its own process group (Python and its Spark JVM), its stderr collected."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["LAKE_SPARK_MASTER"] = "local[2]"
    proc = subprocess.Popen([sys.executable, "-m", "lake_assets.tools.cli", "build", "--raw", str(raw), "--lake", str(lake),
                             "--months", "2016-04"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    lines: list[str] = []

    def collect():
        for line in proc.stderr:
            lines.append(line)

    threading.Thread(target=collect, daemon=True).start()
    return proc, lines


# Where a build is killed: the progress line it must have printed, then the moment: new data
# files of a table that no commit names yet, or a table's publish just committed.
KILLS = [
    ("a dimension's files written, not committed", "[1/3] dimensions_job …",
     lambda lake, before: any(_data_files(lake, t) - before["files"][t] for t in before["files"] if t.startswith("dim_"))),
    ("the fact's files written, not committed", "[2/3] immigration_job 2016-04 …",
     lambda lake, before: bool(_data_files(lake, "fact_immigration") - before["files"]["fact_immigration"])),
    ("right after the fact's publish", "[2/3] immigration_job 2016-04 …",
     lambda lake, before: _commits(lake, "fact_immigration") >= before["commits"] + 2),
    ("between fact and analytics", "[3/3] analytics_job …", lambda lake, before: True),
]


def _forget_content(spark, lake: Path, table: str) -> None:
    """Commit a small table's rows again without their content hash (as a build before hashes did): a build
    whose rows equal `main`'s writes nothing, so the next build writes this one again."""
    tables = Lake(spark, str(lake))
    tables.read(table).writeTo(tables.name(table)).overwritePartitions()


@pytest.mark.slow
def test_killed_builds_leave_last_good_tables_and_a_rebuild_under_a_reader_completes(built, spark):
    raw, lake, good = built
    _forget_content(spark, lake, "dim_city")  # the first built: so the first kill finds its files written
    assert contents(lake) == good
    for point, line, moment in KILLS:
        before = {"files": {t: _data_files(lake, t) for t in good}, "commits": _commits(lake, "fact_immigration")}
        proc, lines = _build_process(raw, lake)
        deadline = time.monotonic() + 300
        try:
            while not (any(line in seen for seen in lines) and moment(lake, before)):
                assert proc.poll() is None, f"the build ended before the kill point ({point}): {''.join(lines)}"
                assert time.monotonic() < deadline, f"no kill point ({point}) in 300 s: {''.join(lines)}"
                time.sleep(0.01)
        finally:  # the kill, or a failed wait's build stopped: no build goes on writing into the shared lake
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert contents(lake) == good, f"killed {point}: a table is not at its last good snapshot"

    # No repair in between; a reader counts every table in a loop while the rebuild commits.
    seen, errors = read_while(lake, list(good), lambda: build(str(raw), str(lake), "2016-04"))
    assert not seen.pop("report").errors
    partial = [(name, n) for name, n in seen["counts"] if n != good[name][0]]
    assert len(seen["counts"]) > 5 * len(good) and partial == [], partial[:5]
    assert errors == [], errors[:3]  # a reader of snapshots never meets a half-made table
    assert contents(lake) == good, "a rebuild of the same month gave other tables"


def read_while(lake: Path, tables: list[str], work) -> tuple[dict, list[str]]:
    """Count every table with DuckDB in a loop while `work()` runs: ({"counts": [(table, rows)],
    "report": what work returned}, errors met by the reader)."""
    seen, errors, stop = {"counts": []}, [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                con = connect(lake)
                for name in tables:
                    seen["counts"].append((name, con.execute(f'select count(*) from "{name}"').fetchone()[0]))
            except Exception as exc:  # noqa: BLE001 - recorded: a reader must never fail
                errors.append(str(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        seen["report"] = work()
    finally:
        stop.set()
        reader.join()
    return seen, errors
