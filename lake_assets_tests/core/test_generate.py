"""The synthetic raw folder: deterministic, in the real formats, and every planted trap caught by a build."""

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lake_assets.core import generate as gen
from lake_assets.core.sources import I94_COLUMNS, find_i94_months, parse_labels, read_i94_month
from lake_assets.tools.cli import main

SAMPLE_MONTHS = ["2016-01", "2016-02", "2016-06"]  # .sas7bdat, CSV and parquet (June: 34 columns)
SAMPLE_SCALE = 0.0005  # ~1,500 rows a month: every trap is still planted (at least one each)
needs_readstat = pytest.mark.skipif(shutil.which("readstat") is None,
                                    reason="ReadStat's `readstat` (Debian package readstat, installed by "
                                           "scripts/setup.sh as root) writes .sas7bdat")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """A small raw folder with one month in each format (the default scale: test_cli_generate)."""
    out = tmp_path_factory.mktemp("raw")
    gen.generate_raw(out, scale=SAMPLE_SCALE, months=SAMPLE_MONTHS)
    return out


def _manifest(raw: Path) -> dict:
    return json.loads((raw / "generation_manifest.json").read_text())


def _sas_rows(path: Path) -> pd.DataFrame:
    import pyreadstat

    return pyreadstat.read_sas7bdat(str(path))[0]


def test_same_seed_same_files_other_seed_other_rows(tmp_path):
    a, b, c = (gen.generate_raw(tmp_path / name, scale=0.0005, months=SAMPLE_MONTHS, seed=seed)
               for name, seed in [("a", 7), ("b", 7), ("c", 8)])
    assert a == b and a["files"] == c["files"]
    for rel in a["files"]:
        if rel.endswith(".sas7bdat"):  # its header holds the time of writing: compare the rows
            pd.testing.assert_frame_equal(_sas_rows(tmp_path / "a" / rel), _sas_rows(tmp_path / "b" / rel))
        else:
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    june = "i94/i94_jun16_sub.parquet"
    assert not pd.read_parquet(tmp_path / "a" / june).equals(pd.read_parquet(tmp_path / "c" / june))


def test_months_in_their_formats(sample):
    manifest = _manifest(sample)
    assert {m: e["format"] for m, e in manifest["months"].items()} == {
        "2016-01": "sas7bdat" if shutil.which("readstat") else "parquet", "2016-02": "csv", "2016-06": "parquet"}
    assert {m: e["rows"] for m, e in manifest["months"].items()} == {"2016-01": 1424, "2016-02": 1285, "2016-06": 1787}

    june = sample / "i94" / "i94_jun16_sub.parquet"
    assert june.is_dir() and [p.name for p in june.iterdir()] == ["part-00000.snappy.parquet"]
    columns = pd.read_parquet(june).dtypes
    assert list(columns.index) == I94_COLUMNS[:13] + gen.JUNE_EXTRA + I94_COLUMNS[13:]  # 34, extras after count
    assert manifest["months"]["2016-06"]["columns"] == 34
    assert {str(columns[c]) for c in ["cicid", "i94yr", "arrdate", "admnum", "delete_recdup"]} == {"float64"}

    csv = (sample / "i94" / "i94_feb16_sub.csv").read_bytes()
    header, first = csv.split(b"\r\n")[:2]
    assert header == b"," + ",".join(I94_COLUMNS).encode()  # an unnamed index column first
    assert first.startswith(b"0,") and csv.count(b"\n") == csv.count(b"\r\n") == 1285 + 1
    assert re.match(rb"0,\d+\.0,2016\.0,2\.0,", first)  # numbers written as doubles


def test_label_file_parses_with_the_projects_parser(sample):
    labels = parse_labels(sample / "I94_SAS_Labels_Descriptions.SAS")
    assert len(labels.states) == 55 and labels.states["99"] == "All Other Codes"  # 54 states + '99'
    assert labels.visa_categories == {1: "Business", 2: "Pleasure", 3: "Student"}
    assert labels.modes == {1: "Air", 2: "Sea", 3: "Land", 9: "Not reported"}
    assert len(labels.ports) == len(gen.PORTS)
    assert (labels.ports["NEW"], labels.ports["WAS"], labels.ports["LAG"]) == (
        "NEWARK/TETERBORO, NJ", "WASHINGTON DC", "LA GUARDIA, NY")
    assert labels.countries[574] == "INVALID: CANADA" and labels.countries[135] == "UNITED KINGDOM"
    assert not set(gen.UNLISTED_PORTS) & set(labels.ports)


@needs_readstat
def test_sas7bdat_keeps_long_names_and_reads_back_like_parquet(spark, tmp_path):
    import pyreadstat

    sas = gen.generate_raw(tmp_path / "sas", 0.0005, ["2016-06"], formats={"2016-06": "sas7bdat"})
    gen.generate_raw(tmp_path / "pq", 0.0005, ["2016-06"])
    path = tmp_path / "sas" / sas["months"]["2016-06"]["path"]
    assert path.name == "i94_jun16_sub.sas7bdat" and path.read_bytes()[:32] == bytes.fromhex(
        "000000000000000000000000c2ea8160b31411cfbd92080009c7318c181f1011")  # the SAS7BDAT magic number
    _, meta = pyreadstat.read_sas7bdat(str(path), metadataonly=True)
    assert meta.column_names == I94_COLUMNS[:13] + gen.JUNE_EXTRA + I94_COLUMNS[13:]  # delete_recdup: 13 chars
    assert meta.number_rows == sas["months"]["2016-06"]["rows"]

    got, want = (read_i94_month(spark, find_i94_months(tmp_path / d)["2016-06"], tmp_path / "cache")
                 .orderBy("arrdate", "admnum").collect() for d in ("sas", "pq"))
    assert len(got) == meta.number_rows and got == want  # the same rows, nulls included, as from parquet


def test_cli_generate(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path / "raw"), "--months", "2016-03..2016-04", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(rf"raw: {re.escape(str(tmp_path / 'raw'))}  \(15,634 I94 rows written in 2 month\(s\), \d+s\)\n",
                        out)  # stdout: only where the raw folder is and how many rows
    assert "2016-04: 7,741/7,741 rows (parquet)" in err and _manifest(tmp_path / "raw")["seed"] == 3
    assert sorted(p.name for p in (tmp_path / "raw" / "i94").iterdir()) == ["i94_apr16_sub.parquet",
                                                                          "i94_mar16_sub.parquet"]

    assert main(["generate", "--out", str(tmp_path / "x"), "--months", "2017-01"]) == 2
    assert main(["generate", "--out", str(tmp_path / "x"), "--scale", "-1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["lake: month '2017-01' is not one of 2016-01 … 2016-12",
                   "lake: --scale must be a positive number, not -1.0"]


# ---------------------------------------------------------------- planted traps against a build

# How a build must catch each trap the generator plants: a reject reason, an issue in the fact's
# `data_issues`, or (named here) `duration_of_status` = admitted_duration_of_status and
# `invalid_country` = a citizenship that resolves to a dim_country row with is_valid false.
REJECT_TRAPS = {"cicid_null": "missing_cicid", "arrdate_outside_month": "arrival_outside_month"}
CATCHES = {
    **{trap: {reason} for trap, reason in REJECT_TRAPS.items()},
    "depdate_before_arrival": {"departure_before_arrival"},
    "depdate_absurd": {"departure_before_arrival", "departure_out_of_range"},  # 1920 / 2092
    "dtaddto_junk": {"invalid_admitted_until"},
    "dtaddto_ds": {"duration_of_status"},
    "i94addr_invalid": {"invalid_state"},
    "i94cit_invalid": {"invalid_country"},
    "i94cit_not_in_labels": {"unknown_citizenship_country"},
    "i94mode_zero": {"unknown_mode"},
    "i94port_not_in_labels": {"unknown_port"},
}


def _planted(raw: pd.DataFrame, labels, month: str) -> dict[str, pd.Series]:
    """Which raw rows carry each trap, judged from the raw values alone."""
    first, last = (gen._sas_day(d) for d in (f"{month}-01", str(pd.Period(month).end_time.date())))
    y2000, y2050 = gen._sas_day("2000-01-01"), gen._sas_day("2050-01-01")
    invalid = [c for c, name in labels.countries.items() if re.match(r"INVALID|No Country Code|Collapsed", name)]
    return {
        "cicid_null": raw.cicid.isna(),
        "arrdate_outside_month": ~raw.arrdate.between(first, last),
        "depdate_before_arrival": (raw.depdate < raw.arrdate) & (raw.depdate >= y2000),
        "depdate_absurd": (raw.depdate < y2000) | (raw.depdate >= y2050),
        "dtaddto_junk": raw.dtaddto.notna() & (raw.dtaddto != "D/S") & ~raw.dtaddto.str.fullmatch(r"\d{8}", na=False),
        "dtaddto_ds": raw.dtaddto == "D/S",
        "i94addr_invalid": raw.i94addr.notna() & ~raw.i94addr.isin([s for s in labels.states if s != "99"]),
        "i94cit_invalid": raw.i94cit.isin(invalid),
        "i94cit_not_in_labels": ~raw.i94cit.isin(list(labels.countries)),
        "i94mode_zero": raw.i94mode == 0,
        "i94port_not_in_labels": raw.i94port.notna() & ~raw.i94port.isin(list(labels.ports)),
    }


def _verdicts(lake: Path, month: int) -> tuple[dict, list]:
    """cicid -> what the build said of that row; and the reasons of rejects without a cicid
    (the tables read as `lake query` reads them)."""
    import duckdb

    from lake_assets_tests.conftest import table_sql

    con = duckdb.connect()
    fact = con.execute(f"""select f.cicid, f.data_issues, f.admitted_duration_of_status, c.is_valid
        from {table_sql(lake, "fact_immigration")} f left join {table_sql(lake, "dim_country")} c
        on f.citizenship_country_code = c.country_code where f.i94mon = {month}""").fetchall()
    rejects = con.execute(f"select raw_cicid, reject_reason from {table_sql(lake, 'fact_immigration_rejects')} "
                          f"where i94mon = {month}").fetchall()
    verdicts = {float(cicid): {i.split(":")[0] for i in issues}
                | ({"duration_of_status"} if duration_of_status else set())
                | ({"invalid_country"} if is_valid is False else set())
                for cicid, issues, duration_of_status, is_valid in fact}
    assert len(verdicts) == len(fact)
    verdicts |= {cicid: {reason} for cicid, reason in rejects if cicid is not None}
    return verdicts, [reason for cicid, reason in rejects if cicid is None]


@pytest.mark.slow
def test_build_rejects_or_flags_every_planted_trap(spark, sample, lake_home, tmp_path, capsys, request):
    from lake_assets.core.transforms.immigration import REJECT_REASONS
    from lake_assets_tests.support.in_process import build_here

    manifest, labels = _manifest(sample), parse_labels(sample / "I94_SAS_Labels_Descriptions.SAS")
    cache = lake_home / "cache"  # the session's, as `lake build`'s: the .sas7bdat conversion, the gazetteer's rows
    build_here(spark, str(sample), str(tmp_path / "lake"), str(cache), months=list(manifest["months"]),
               skip=("dim_temperature",))  # the fact reads every other dimension

    lines, missed = [], []
    for month, entry in manifest["months"].items():
        raw = read_i94_month(spark, find_i94_months(sample)[month], cache).toPandas()
        planted = _planted(raw, labels, month)
        assert {t: int(rows.sum()) for t, rows in planted.items()} == entry["traps"]  # the manifest is honest
        verdicts, cicid_less = _verdicts(tmp_path / "lake", int(month[5:]))
        assert len(verdicts) + len(cicid_less) == len(raw)  # every raw row is in the fact or the rejects
        said = [verdicts.get(c, set()) if c == c else set(cicid_less) for c in raw.cicid]
        should = [set().union(*(CATCHES[t] for t in planted if planted[t].iat[i])) for i in range(len(raw))]
        # nothing flagged or rejected without a planted trap behind it (e.g. no 1960 departure from a null)
        assert all(s <= w for s, w in zip(said, should)), [(i, s, w) for i, (s, w) in enumerate(zip(said, should))
                                                           if not s <= w][:5]
        for trap, rows in planted.items():
            # a rejected row counts as caught for the traps it carries besides its reason
            accepted = CATCHES[trap] | (set(REJECT_REASONS) if trap not in REJECT_TRAPS else set())
            caught = sum(bool(said[i] & accepted) for i in rows[rows].index)
            lines.append(f"{month} {trap:<24}{int(rows.sum()):>6} planted {caught:>6} caught "
                         f"{caught / max(1, rows.sum()):>6.0%}")
            if caught != rows.sum():
                missed.append(lines[-1])
    if request.config.getoption("verbose") > 0:  # the table, with -v
        with capsys.disabled():
            print("\nplanted traps caught by the build:\n" + "\n".join(lines))
    assert not missed
    assert all(n >= 1 for e in manifest["months"].values() for n in e["traps"].values())  # each trap planted
