"""A DuckDB reference implementation of a month's fact build: the same input files, the same
fact and rejects with the same reject rules and `data_issues`, and the same checks, timed
against Spark by `lake bench`."""

from __future__ import annotations

import time
from pathlib import Path

from lake_assets.core.transforms.immigration import DATA_ISSUES, MAX_STAY_DAYS, RAW_RENAMED, REJECT_REASONS, month_bounds


def _source_sql(con, path: Path, fmt: str, cache_dir: str) -> str:
    """The month's extract as a DuckDB relation with the 28 standard columns, typed as
    `sources.read_i94_month` types them (numbers double, codes text, blanks null)."""
    from lake_assets.core.sources import I94_COLUMNS, I94_NUMERIC, sas_to_parquet

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


def _issue(label: str, bad: str, value: str | None = None) -> str:
    text = f"'{label}'" if value is None else f"'{label}:' || cast({value} as varchar)"
    return f"case when {bad} then {text} end"


DTADDTO_OK = "(regexp_full_match(dtaddto, '[0-9]{8}') and admitted_until is not null)"
DEPARTURE_OK = f"departure between arrival_date and arrival_date + {MAX_STAY_DAYS}"
AGE_OK = f"{_int('i94bir')} between 0 and 120"
GENDERS = "('F', 'M', 'U', 'X')"


def _fact_sql(year: int, month: int) -> str:
    """The month's fact from the view `classified`, as Spark's `place` makes it."""
    issues = ", ".join([
        _issue("departure_before_arrival", "departure < arrival_date", "departure"),
        _issue("departure_out_of_range", f"departure > arrival_date + {MAX_STAY_DAYS}", "departure"),
        _issue("unknown_port", "i94port is not null and _port is null", "i94port"),
        _issue("invalid_state", "i94addr is not null and _state is null", "i94addr"),
        _issue("unknown_citizenship_country", "i94cit is not null and _cit is null", _int("i94cit", "bigint")),
        _issue("unknown_residence_country", "i94res is not null and _res is null", _int("i94res", "bigint")),
        _issue("unknown_mode", "i94mode is not null and _mode is null", _int("i94mode", "bigint")),
        _issue("unknown_visa_type", "visatype is not null and _visa is null", "visatype"),
        _issue("visa_category_mismatch", f"_visa_category != {_int('i94visa')}"),
        _issue("invalid_age", f"i94bir is not null and not ({AGE_OK})", "i94bir"),
        _issue("invalid_gender", f"gender is not null and gender not in {GENDERS}", "gender"),
        _issue("invalid_admitted_until", f"dtaddto is not null and dtaddto != 'D/S' and not {DTADDTO_OK}", "dtaddto"),
    ])
    return f"""select
            {_int('cicid', 'bigint')} as cicid, arrival_date,
            case when {DEPARTURE_OK} then departure end as departure_date,
            case when {DEPARTURE_OK} then cast(departure - arrival_date as int) end as stay_days,
            _port as port_code, city_id, _state as address_state_code, _cit as citizenship_country_code,
            _res as residence_country_code, _mode as mode_code, {_int('i94visa')} as visa_category_code,
            _visa as visa_type, case when {AGE_OK} then {_int('i94bir')} end as age,
            case when gender in {GENDERS} then gender end as gender,
            {_int('admnum', 'bigint')} as admission_number, {_int('biryear')} as birth_year,
            case when {DTADDTO_OK} then admitted_until end as admitted_until,
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
        left join (select visa_type as _visa, visa_category_code as _visa_category from dim_visa) on visatype = _visa"""


def _measures(first, last) -> dict[str, str]:
    """What the Spark build's checks measure on the fact, as DuckDB aggregates."""
    refs = {"port_code": ("dim_port", "port_code"), "address_state_code": ("dim_state", "state_code"),
            "citizenship_country_code": ("dim_country", "country_code"),
            "residence_country_code": ("dim_country", "country_code"),
            "mode_code": ("dim_travel_mode", "mode_code"), "visa_type": ("dim_visa", "visa_type")}
    return {
        "rows": "count(*)",
        "duplicate_keys": "count(cicid) - count(distinct cicid)",
        "null_keys": "count(*) - count(cicid)",
        "outside_month": f"count(*) filter (arrival_date < date '{first}' or arrival_date > date '{last}')",
        "domain_bad_rows": "count(*) filter (visa_category_code not in (1, 2, 3) or not age between 0 and 120 "
                           f"or gender not in {GENDERS} or stay_days < 0)",
        "share_with_city": "avg(cast(city_id is not null as int))",
        **{f"rows_with_issue.{i}": f"count(*) filter (len(list_filter(data_issues, lambda x: x like '{i}%')) > 0)"
           for i in DATA_ISSUES},
        **{f"dangling.{col}": f"count(*) filter ({col} is not null and {col} not in (select {key} from {table}))"
           for col, (table, key) in refs.items()},
    }


def duckdb_fact(extract, cache_dir: str, lake_root: str, year: int, month: int, out_dir: Path) -> dict:
    """Build one month's fact and rejects with DuckDB into `out_dir` (two parquet files), and
    measure what the Spark build checks (counts, keys, domains, issues, references).
    Returns the rows, the seconds it took and the metrics."""
    import duckdb

    from lake_assets.core.query import snapshots
    from lake_assets.core.sources import I94_COLUMNS

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

    con.execute(f"copy ({_fact_sql(year, month)}) to '{out_dir}/fact.parquet' (format parquet)")
    measures = _measures(first, last)
    row = con.execute(f"select {', '.join(measures.values())} from '{out_dir}/fact.parquet'").fetchone()
    metrics = dict(zip(measures, row))
    reasons = dict(con.execute(f"select reject_reason, count(*) from '{out_dir}/rejects.parquet' group by 1").fetchall())
    metrics["reject_rows"] = sum(reasons.values())
    metrics.update({f"rejects.{r}": reasons.get(r, 0) for r in REJECT_REASONS})
    con.close()
    return {"seconds": time.monotonic() - started, "rows": metrics["rows"], "reject_rows": metrics["reject_rows"],
            "metrics": metrics}


# ---------------------------------------------------------------- the benchmark
