"""`lake bench`: time a whole build through Dagster, asset by asset, with the peak memory of
the process tree (the JVM included), and each month's fact build against a DuckDB reference
implementation of the same transformation (same input, same outputs, same reject rules).

A benchmark, not a test: it prints figures and asserts nothing about them.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from lake_assets.transforms.immigration import DATA_ISSUES, MAX_STAY_DAYS, RAW_RENAMED, REJECT_REASONS, month_bounds

# Tables a step materializes, where they differ from the step's own name.
STEP_TABLES = {"immigration": ("fact_immigration", "fact_immigration_rejects")}


class PeakMemory(threading.Thread):
    """Samples the resident memory of this process and all its descendants (the JVM is
    one) every `interval` seconds from /proc; `peak` is the largest sum seen."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.peak = interval, 0
        self._done = threading.Event()

    @staticmethod
    def tree_rss(root: int) -> int:
        total, frontier, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
        while frontier:
            pid = frontier.pop()
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                for task in os.listdir(f"/proc/{pid}/task"):
                    frontier += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except (OSError, ValueError):
                continue
        return total

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.tree_rss(os.getpid()))
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


# ---------------------------------------------------------------- the DuckDB reference


def _source_sql(con, path: Path, fmt: str, cache_dir: str) -> str:
    """The month's extract as a DuckDB relation with the 28 standard columns, typed as
    `sources.read_i94_month` types them (numbers double, codes text, blanks null)."""
    from lake_assets.sources import I94_COLUMNS, I94_NUMERIC, sas_to_parquet

    if fmt == "csv":
        source = f"read_csv('{path}', header = true, all_varchar = true)"
    else:
        parquet = sas_to_parquet(path, Path(cache_dir)) if fmt == "sas7bdat" else path
        source = f"read_parquet('{parquet}/*.parquet')" if Path(parquet).is_dir() else f"read_parquet('{parquet}')"
    types = {name.lower(): (name, dtype) for name, dtype, *_ in con.execute(f"describe select * from {source}").fetchall()}
    cols = []
    for c in I94_COLUMNS:
        name, dtype = types[c]
        q = f'"{name}"'
        if c in I94_NUMERIC:
            cols.append(f"try_cast({q} as double) as {c}")
        elif dtype in ("DOUBLE", "FLOAT", "INTEGER", "BIGINT"):
            cols.append(f"cast(cast(trunc({q}) as bigint) as varchar) as {c}")
        else:
            cols.append(f"nullif(trim(cast({q} as varchar)), '') as {c}")
    return f"select {', '.join(cols)} from {source}"


def _int(col: str, kind: str = "int") -> str:
    return f"cast(trunc({col}) as {kind})"  # Spark's cast truncates, DuckDB's rounds


def duckdb_fact(extract, cache_dir: str, lake_root: str, year: int, month: int, out_dir: Path) -> dict:
    """Build one month's fact and rejects with DuckDB into `out_dir` (two parquet files), and
    measure what the Spark build checks (counts, keys, domains, issues, references).
    Returns the rows, the seconds it took and the metrics."""
    import duckdb

    from lake_assets.query import snapshots
    from lake_assets.sources import I94_COLUMNS

    started = time.monotonic()
    con = duckdb.connect()
    for dim in snapshots(lake_root, only=("dim_port", "dim_state", "dim_country", "dim_travel_mode", "dim_visa")):
        con.execute(f"create view {dim.name} as {dim.select()}")
    first, last = month_bounds(year, month)
    con.execute(f"""create view classified as
        select *, case
            when cicid is null then 'missing_cicid'
            when arrival_date is null then 'missing_arrival_date'
            when not arrival_date between date '{first}' and date '{last}' then 'arrival_outside_month'
            when not coalesce(i94visa in (1.0, 2.0, 3.0), false) then 'invalid_visa_category' end as reject_reason
        from (select *, date '1960-01-01' + {_int('arrdate')} as arrival_date
              from ({_source_sql(con, extract.path, extract.format, cache_dir)}))""")
    raw_cols = ", ".join(f"{c} as raw_{c}" if c in RAW_RENAMED else c for c in I94_COLUMNS)
    con.execute(f"""copy (select {_int('cicid', 'bigint')} as cicid, {raw_cols}, reject_reason,
               {year} as i94yr, {month} as i94mon from classified where reject_reason is not null) to '{out_dir}/rejects.parquet' (format parquet)""")

    def issue(label: str, bad: str, value: str | None = None) -> str:
        text = f"'{label}'" if value is None else f"'{label}:' || cast({value} as varchar)"
        return f"case when {bad} then {text} end"

    dtaddto_ok = "(regexp_full_match(dtaddto, '[0-9]{8}') and admitted_until is not null)"
    departure_ok = f"departure between arrival_date and arrival_date + {MAX_STAY_DAYS}"
    age_ok = f"{_int('i94bir')} between 0 and 120"
    genders = "('F', 'M', 'U', 'X')"
    issues = ", ".join([
        issue("departure_before_arrival", "departure < arrival_date", "departure"),
        issue("departure_out_of_range", f"departure > arrival_date + {MAX_STAY_DAYS}", "departure"),
        issue("unknown_port", "i94port is not null and _port is null", "i94port"),
        issue("invalid_state", "i94addr is not null and _state is null", "i94addr"),
        issue("unknown_citizenship_country", "i94cit is not null and _cit is null", _int("i94cit", "bigint")),
        issue("unknown_residence_country", "i94res is not null and _res is null", _int("i94res", "bigint")),
        issue("unknown_mode", "i94mode is not null and _mode is null", _int("i94mode", "bigint")),
        issue("unknown_visa_type", "visatype is not null and _visa is null", "visatype"),
        issue("visa_category_mismatch", f"_visa_category != {_int('i94visa')}"),
        issue("invalid_age", f"i94bir is not null and not ({age_ok})", "i94bir"),
        issue("invalid_gender", f"gender is not null and gender not in {genders}", "gender"),
        issue("invalid_admitted_until", f"dtaddto is not null and dtaddto != 'D/S' and not {dtaddto_ok}", "dtaddto"),
    ])
    con.execute(f"""copy (select
            {_int('cicid', 'bigint')} as cicid, arrival_date,
            case when {departure_ok} then departure end as departure_date,
            case when {departure_ok} then cast(departure - arrival_date as int) end as stay_days,
            _port as port_code, city_id, _state as address_state_code, _cit as citizenship_country_code,
            _res as residence_country_code, _mode as mode_code, {_int('i94visa')} as visa_category_code,
            _visa as visa_type, case when {age_ok} then {_int('i94bir')} end as age,
            case when gender in {genders} then gender end as gender,
            {_int('admnum', 'bigint')} as admission_number, {_int('biryear')} as birth_year,
            case when {dtaddto_ok} then admitted_until end as admitted_until,
            dtaddto = 'D/S' as admitted_duration_of_status,
            cast(try_strptime(dtadfile, '%Y%m%d') as date) as file_date, airline, fltno as flight_number,
            visapost as visa_post, entdepa as arrival_flag, entdepd as departure_flag, matflag as match_flag,
            list_filter([{issues}], lambda x: x is not null) as data_issues, {year} as i94yr, {month} as i94mon
        from (select *, date '1960-01-01' + {_int('depdate')} as departure,
                     cast(try_strptime(dtaddto, '%m%d%Y') as date) as admitted_until
              from classified where reject_reason is null) c
        left join (select port_code as _port, city_id from dim_port) on i94port = _port
        left join (select state_code as _state from dim_state) on i94addr = _state
        left join (select country_code as _cit from dim_country) on {_int('i94cit')} = _cit
        left join (select country_code as _res from dim_country) on {_int('i94res')} = _res
        left join (select mode_code as _mode from dim_travel_mode) on {_int('i94mode')} = _mode
        left join (select visa_type as _visa, visa_category_code as _visa_category from dim_visa) on visatype = _visa
        ) to '{out_dir}/fact.parquet' (format parquet)""")

    refs = {"port_code": ("dim_port", "port_code"), "address_state_code": ("dim_state", "state_code"),
            "citizenship_country_code": ("dim_country", "country_code"),
            "residence_country_code": ("dim_country", "country_code"),
            "mode_code": ("dim_travel_mode", "mode_code"), "visa_type": ("dim_visa", "visa_type")}
    measures = {
        "rows": "count(*)",
        "duplicate_keys": "count(cicid) - count(distinct cicid)",
        "null_keys": "count(*) - count(cicid)",
        "outside_month": f"count(*) filter (arrival_date < date '{first}' or arrival_date > date '{last}')",
        "domain_bad_rows": "count(*) filter (visa_category_code not in (1, 2, 3) or not age between 0 and 120 "
                           f"or gender not in {genders} or stay_days < 0)",
        "share_with_city": "avg(cast(city_id is not null as int))",
        **{f"rows_with_issue.{i}": f"count(*) filter (len(list_filter(data_issues, lambda x: x like '{i}%')) > 0)" for i in DATA_ISSUES},
        **{f"dangling.{col}": f"count(*) filter ({col} is not null and {col} not in (select {key} from {table}))"
           for col, (table, key) in refs.items()},
    }
    row = con.execute(f"select {', '.join(measures.values())} from '{out_dir}/fact.parquet'").fetchone()
    metrics = dict(zip(measures, row))
    reasons = dict(con.execute(f"select reject_reason, count(*) from '{out_dir}/rejects.parquet' group by 1").fetchall())
    metrics["reject_rows"] = sum(reasons.values())
    metrics.update({f"rejects.{r}": reasons.get(r, 0) for r in REJECT_REASONS})
    con.close()
    return {"seconds": time.monotonic() - started, "rows": metrics["rows"], "reject_rows": metrics["reject_rows"],
            "metrics": metrics}


# ---------------------------------------------------------------- the benchmark


def _build_once(raw: str, lake: str, months_spec: str | None) -> tuple[object, float, int]:
    """One `lake build` (its summary swallowed): (report, wall seconds, peak tree RSS bytes)."""
    from lake_assets.build import UsageError, build

    sampler = PeakMemory()
    sampler.start()
    started = time.monotonic()
    try:
        report = build(raw, lake, months_spec, out=io.StringIO())
    finally:
        wall = time.monotonic() - started
        peak = sampler.stop()
    if report.errors or report.failed_blocking:
        raise UsageError(f"the build failed: {'; '.join(report.errors or report.failed_blocking)}")
    return report, wall, peak


def bench(raw: str | None, scale: float | None, months_spec: str | None, repeat: int = 1, out=None) -> dict:
    """Build the lake `repeat` times (from `raw`, or from a raw folder generated at `scale`
    into a temporary folder) and each month's fact with DuckDB as often; print the per-asset
    table (best of the repeats) and, last, one JSON line with every figure. Returns the figures."""
    from lake_assets.build import UsageError, absolute, parse_months
    from lake_assets.settings import lake_home
    from lake_assets.sources import find_i94_months
    from lake_assets.spark import get_spark

    out = out or sys.stdout
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, not {repeat}")
    sampler = PeakMemory()
    sampler.start()
    run_started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lake_bench_") as tmp:
        generate_s = None
        if raw is None:
            from lake_assets.build import generate
            from lake_assets.generate import DEFAULT_SCALE

            scale = DEFAULT_SCALE if scale is None else scale
            t0 = time.monotonic()
            generate(f"{tmp}/raw", scale, months_spec, 42, out=sys.stderr)
            generate_s, raw = time.monotonic() - t0, f"{tmp}/raw"
        raw = absolute(raw)
        extracts = find_i94_months(raw)
        months = parse_months(months_spec, sorted(extracts))
        t0 = time.monotonic()
        get_spark()
        spark_start_s = time.monotonic() - t0

        builds, best, facts = [], {}, {m: [] for m in months}
        for i in range(repeat):
            lake = f"{tmp}/lake{i}"
            report, wall, peak = _build_once(raw, lake, ",".join(months))
            builds.append({"wall_s": round(wall, 3), "peak_rss_bytes": peak})
            rows = {(t, p): n for t, p, n in report.tables}
            for step, partition, seconds in report.steps:
                tables = STEP_TABLES.get(step, (step,))
                n = sum(rows.get((t, partition)) or 0 for t in tables)
                size = sum(report.bytes_written.get((t, partition), 0) for t in tables)
                if (step, partition) not in best or seconds < best[(step, partition)]["seconds"]:
                    best[(step, partition)] = {"asset": step, "partition": partition[:7], "seconds": round(seconds, 3),
                                               "rows": n, "rows_per_s": round(n / seconds) if seconds else None,
                                               "bytes": size}
            for m in months:
                year, month = int(m[:4]), int(m[5:])
                ref_dir = Path(tmp) / f"duckdb{i}" / m
                ref_dir.mkdir(parents=True)
                ref = duckdb_fact(extracts[m], str(lake_home() / "cache"), lake, year, month, ref_dir)
                facts[m].append({"duckdb_s": ref["seconds"], "duckdb_rows": ref["rows"],
                                 "duckdb_reject_rows": ref["reject_rows"],
                                 "spark_rows": rows.get(("fact_immigration", f"{m}-01")),
                                 "spark_reject_rows": rows.get(("fact_immigration_rejects", f"{m}-01")),
                                 "spark_s": next(s for st, p, s in report.steps if st == "immigration"
                                                 and p == f"{m}-01")})
    peak = sampler.stop()
    fact_rows = []
    for m, runs in facts.items():
        spark_s, duckdb_s = min(r["spark_s"] for r in runs), min(r["duckdb_s"] for r in runs)
        last = runs[-1]
        fact_rows.append({"month": m, "spark_s": round(spark_s, 3), "duckdb_s": round(duckdb_s, 3),
                          "ratio": round(spark_s / duckdb_s, 2), "rows": last["spark_rows"],
                          "reject_rows": last["spark_reject_rows"],
                          "same_counts": (last["spark_rows"], last["spark_reject_rows"])
                          == (last["duckdb_rows"], last["duckdb_reject_rows"])})
    figures = {
        "raw": raw if generate_s is None else None, "scale": scale,
        "months": months, "repeat": repeat, "generate_s": None if generate_s is None else round(generate_s, 3),
        "spark_start_s": round(spark_start_s, 3),
        "build_wall_s": min(b["wall_s"] for b in builds), "builds": builds,
        "peak_rss_bytes": peak, "total_wall_s": round(time.monotonic() - run_started, 3),
        "assets": list(best.values()), "facts": fact_rows,
    }
    _print(figures, out)
    return figures


def _print(figures: dict, out) -> None:
    print(f"\n{'asset':<34}{'partition':<10}{'seconds':>9}{'rows':>12}{'rows/s':>12}{'bytes':>14}", file=out)
    for a in figures["assets"]:
        rate = "" if a["rows_per_s"] is None else f"{a['rows_per_s']:,}"
        print(f"{a['asset']:<34}{a['partition']:<10}{a['seconds']:>9.2f}{a['rows']:>12,}{rate:>12}{a['bytes']:>14,}",
              file=out)
    print(f"\n{'fact build':<12}{'spark s':>9}{'duckdb s':>10}{'ratio':>7}{'rows':>12}{'rejects':>10}  same counts",
          file=out)
    for f in figures["facts"]:
        print(f"{f['month']:<12}{f['spark_s']:>9.2f}{f['duckdb_s']:>10.2f}{f['ratio']:>7.2f}{f['rows']:>12,}"
              f"{f['reject_rows']:>10,}  {'yes' if f['same_counts'] else 'NO'}", file=out)
    builds = ", ".join(f"{b['wall_s']:.1f}s" for b in figures["builds"])
    print(f"\nSpark session start {figures['spark_start_s']:.1f}s; build wall (best of {figures['repeat']}) "
          f"{figures['build_wall_s']:.1f}s [{builds}]; peak memory incl. JVM "
          f"{figures['peak_rss_bytes'] / 2**30:.2f} GiB; whole bench {figures['total_wall_s']:.1f}s", file=out)
    print(json.dumps(figures), file=out)
