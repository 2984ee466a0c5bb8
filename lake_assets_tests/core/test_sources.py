"""Readers on tiny files written by the tests: every format, June's columns, and clear errors."""

import gzip
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lake_assets.core.sources import (
    AIRPORT_COLUMNS, DEMOGRAPHICS_COLUMNS, I94_COLUMNS, I94_NUMERIC, TEMPERATURE_COLUMNS, I94Month,
    SourceError, find_file, find_i94_months, find_temperature_files, parse_labels, read_airports,
    month_from_name, read_demographics, read_i94_month, read_us_temperatures,
)
from lake_assets_tests.support.tiny_inputs import LABELS_TEXT, VALID_ROW, write_labels

JUNE_EXTRA = ["validres", "delete_days", "delete_mexl", "delete_dup", "delete_visa", "delete_recdup"]


# ---------------------------------------------------------------- the label file


def test_labels_parse_every_block(tmp_path):
    labels = parse_labels(write_labels(tmp_path / "I94_SAS_Labels_Descriptions.SAS"))
    assert labels.countries[582] == "MEXICO Air Sea, and Not Reported (I-94, no land arrivals)"
    assert labels.countries[0] == "INVALID: STATELESS" and labels.countries[999] == "INVALID: UNKNOWN"
    assert len(labels.countries) == 8 and all(isinstance(k, int) for k in labels.countries)
    # tabs around '=', trailing blanks inside the quotes, a blank before the tab ('ADU' \t=)
    assert labels.ports["LOS"] == "LOS ANGELES, CA" and labels.ports["ADU"] == "No PORT Code (ADU)"
    assert labels.ports["NEW"] == "NEWARK/TETERBORO, NJ" and labels.ports["XXX"] == "NOT REPORTED/UNKNOWN"
    assert len(labels.ports) == 22
    assert labels.modes == {1: "Air", 2: "Sea", 3: "Land", 9: "Not reported"}
    assert labels.states["DC"] == "DIST. OF COLUMBIA" and labels.states["99"] == "All Other Codes"
    assert len(labels.states) == 18
    # only in the comment
    assert labels.visa_categories == {1: "Business", 2: "Pleasure", 3: "Student"}


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.replace("/* I94VISA", "/* VISA"), "no I94VISA comment"),
    (lambda t: t.replace("value i94model", "value i94modes"), "no 'value i94model' block"),
    (lambda t: t.replace("'99'='All Other Codes' ;", "'99'='All Other Codes'"), "block 'value i94addrl' is cut off"),
    (lambda t: t.replace("\t1 = 'Air'\n\t2 = 'Sea'\n\t3 = 'Land'\n\t9 = 'Not reported'", "\tAir Sea Land"),
     "block 'value i94model' has no code = 'label' pairs"),
])
def test_malformed_label_file_names_file_and_problem(tmp_path, edit, problem):
    path = write_labels(tmp_path / "labels.SAS", edit(LABELS_TEXT))
    with pytest.raises(SourceError, match="labels.SAS") as err:
        parse_labels(path)
    assert problem in str(err.value)


def test_missing_label_file(tmp_path):
    with pytest.raises(SourceError, match=r"nope\.SAS: missing"):
        parse_labels(tmp_path / "nope.SAS")


# ---------------------------------------------------------------- finding the sources


def _write_parquet(path, columns: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def test_find_i94_months_by_name_or_content(tmp_path):
    i94 = tmp_path / "i94"
    i94.mkdir()
    (i94 / "i94_apr16_sub.sas7bdat").write_bytes(b"")  # month from the name: never opened
    (i94 / "2016-05.csv").write_text("x\n")
    _write_parquet(i94 / "i94_jun16_sub" / "part-0.parquet", {"cicid": [1.0]})
    _write_parquet(i94 / "sas_data" / "part-0.parquet", {"i94yr": [2016.0, 2016.0], "i94mon": [7.0, 7.0]})
    (i94 / ".hidden.csv").write_text("x\n")
    (i94 / "notes.txt").write_text("not an extract\n")
    (i94 / "empty_folder").mkdir()

    months = find_i94_months(tmp_path)
    assert {m: (e.path.name, e.format) for m, e in months.items()} == {
        "2016-04": ("i94_apr16_sub.sas7bdat", "sas7bdat"),
        "2016-05": ("2016-05.csv", "csv"),
        "2016-06": ("i94_jun16_sub", "parquet"),
        "2016-07": ("sas_data", "parquet"),
    }


@pytest.mark.parametrize("name, month", [
    ("i94_apr16_sub.sas7bdat", "2016-04"), ("I94_DEC16_SUB.parquet", "2016-12"), ("2016-04.csv", "2016-04"),
    ("i94_2016_06", "2016-06"), ("i94_201611.csv", "2016-11"), ("sas_data", None), ("immigration_2016.csv", None),
])
def test_month_from_name(name, month):
    assert month_from_name(name) == month


def test_find_i94_months_errors_name_the_path(tmp_path):
    with pytest.raises(SourceError, match=r"i94: no such folder"):
        find_i94_months(tmp_path)
    i94 = tmp_path / "i94"
    i94.mkdir()
    (i94 / "extract.csv").write_text("cicid,i94yr,i94mon\n1.0,,\n")
    with pytest.raises(SourceError, match=r"extract\.csv: i94yr/i94mon are empty"):
        find_i94_months(tmp_path)
    (i94 / "extract.csv").write_text("cicid,i94yr,i94mon\n1.0,2016.0,4.0\n")
    (i94 / "i94_apr16_sub.parquet").write_bytes(b"")
    with pytest.raises(SourceError, match=r"holds 2016-04 too"):
        find_i94_months(tmp_path)


def test_find_files_and_temperatures(tmp_path):
    with pytest.raises(SourceError, match=r"us-cities-demographics\.csv: missing: the demographics CSV"):
        find_file(tmp_path, "us-cities-demographics.csv", "demographics CSV")
    with pytest.raises(SourceError, match=r"temperature: no GlobalLandTemperaturesBy"):
        find_temperature_files(tmp_path)
    (tmp_path / "temperature").mkdir()
    (tmp_path / "GlobalLandTemperaturesByCity.csv").write_text("x\n")
    (tmp_path / "temperature" / "GlobalLandTemperaturesByMajorCity.csv.gz").write_bytes(gzip.compress(b"x\n"))
    (tmp_path / "temperature" / "README.txt").write_text("x\n")
    assert [p.name for p in find_temperature_files(tmp_path)] == [
        "GlobalLandTemperaturesByCity.csv", "GlobalLandTemperaturesByMajorCity.csv.gz"]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "airport-codes_csv.partial.csv").write_text("x\n")
    assert find_file(tmp_path, "airport-codes*.csv", "airports").name == "airport-codes_csv.partial.csv"


# ---------------------------------------------------------------- I94 months


def _assert_standard(df):
    assert df.columns == I94_COLUMNS
    types = dict(df.dtypes)
    assert {c for c in I94_COLUMNS if types[c] == "double"} == set(I94_NUMERIC)
    assert {c for c in I94_COLUMNS if types[c] == "string"} == set(I94_COLUMNS) - set(I94_NUMERIC)


def test_csv_month_with_unnamed_index_column(spark, tmp_path):
    header = "," + ",".join(I94_COLUMNS)
    row = {**VALID_ROW, "i94port": "HHW", "visapost": "", "fltno": "00782", "dtaddto": "D/S"}
    line = "2027561," + ",".join("" if row[c] is None else str(row[c]) for c in I94_COLUMNS)
    path = tmp_path / "i94_apr16_sub.csv"
    path.write_bytes(f"{header}\r\n{line}\r\n".encode())

    df = read_i94_month(spark, I94Month("2016-04", path, "csv"), tmp_path / "cache")
    _assert_standard(df)
    r = df.collect()[0].asDict()
    assert r["cicid"] == 7.0 and r["i94port"] == "HHW" and r["arrdate"] == 20550.0
    assert r["admnum"] == 56582674633.0  # 11 digits survive as double
    assert r["fltno"] == "00782" and r["dtadfile"] == "20160406" and r["dtaddto"] == "D/S"
    assert r["visapost"] is None and r["visatype"] == "B2"  # last column: no stray '\r'


def test_june_34_columns_read_by_name(spark, tmp_path):
    """June has six more columns after `count`: read by name, never by position."""
    june = I94_COLUMNS[:13] + JUNE_EXTRA + I94_COLUMNS[13:]
    assert len(june) == 34
    values = {**VALID_ROW, "i94mon": 6.0, "arrdate": 20606.0, "dtadfile": 20160601.0, "biryear": 1980.0}
    columns = {c: [values.get(c, 9.0)] for c in june}
    columns["validres"] = [1.0]
    path = tmp_path / "i94_jun16_sub.parquet"
    _write_parquet(path, {c.upper() if c == "cicid" else c: v for c, v in columns.items()})

    df = read_i94_month(spark, I94Month("2016-06", path, "parquet"), tmp_path / "cache")
    _assert_standard(df)
    r = df.collect()[0].asDict()
    assert (r["cicid"], r["count"], r["biryear"], r["dtaddto"], r["visatype"]) == (7.0, 1.0, 1980.0, "07052016", "B2")
    assert r["dtadfile"] == "20160601"  # a code stored as a number comes back without '.0'
    assert r["admnum"] == 56582674633.0


def test_nan_in_numeric_columns_reads_as_null(spark, tmp_path):
    """pandas writes a missing number as NaN: it must not read as a value (cicid 0, 1960-01-01)."""
    nan = float("nan")
    rows = [VALID_ROW, {**VALID_ROW, "cicid": nan, "arrdate": nan, "depdate": nan, "i94bir": nan}]
    path = tmp_path / "i94_apr16_sub.parquet"
    _write_parquet(path, {c: [r[c] for r in rows] for c in I94_COLUMNS})
    csv_path = tmp_path / "i94_apr16_sub.csv"
    csv_path.write_text(",".join(I94_COLUMNS) + "\n" + ",".join(
        "NaN" if c in ("cicid", "arrdate") else "" if VALID_ROW[c] is None else str(VALID_ROW[c])
        for c in I94_COLUMNS) + "\n")

    parquet_rows = read_i94_month(spark, I94Month("2016-04", path, "parquet"), tmp_path / "c").collect()
    nulls = [r.asDict() for r in parquet_rows if r.cicid is None]
    assert len(nulls) == 1 and all(nulls[0][c] is None for c in ("arrdate", "depdate", "i94bir"))
    assert [r.cicid for r in parquet_rows if r.cicid is not None] == [7.0]
    csv_row = read_i94_month(spark, I94Month("2016-04", csv_path, "csv"), tmp_path / "c").first()
    assert csv_row.cicid is None and csv_row.arrdate is None and csv_row.i94yr == 2016.0


def test_month_missing_a_column_names_file_and_column(spark, tmp_path):
    path = tmp_path / "i94_apr16_sub.csv"
    path.write_text(",".join(c for c in I94_COLUMNS if c != "visatype") + "\n" + ",".join("1" * 27) + "\n")
    with pytest.raises(SourceError, match=r"i94_apr16_sub\.csv: not an I94 extract: missing column\(s\) visatype"):
        read_i94_month(spark, I94Month("2016-04", path, "csv"), tmp_path / "cache")


@pytest.mark.skipif(shutil.which("readstat") is None, reason="ReadStat's `readstat` writes .sas7bdat")
def test_sas7bdat_month_converted_once(spark, tmp_path):
    from lake_assets.core.generate import write_sas7bdat

    rows = [VALID_ROW, {**VALID_ROW, "cicid": 8.0, "i94addr": None, "depdate": None}]
    frame = pd.DataFrame(rows)[I94_COLUMNS]
    for c in frame.columns:  # SAS has doubles and strings: a null string is blank
        frame[c] = frame[c].astype(float) if c in I94_NUMERIC else frame[c].fillna("")
    path = tmp_path / "i94" / "i94_apr16_sub.sas7bdat"
    path.parent.mkdir()
    write_sas7bdat(frame, path)

    extract = find_i94_months(tmp_path)["2016-04"]
    assert extract.format == "sas7bdat"
    df = read_i94_month(spark, extract, tmp_path / "cache")
    _assert_standard(df)
    got = sorted(df.collect())
    assert [(r.cicid, r.i94addr, r.depdate, r.visatype, r.admnum) for r in got] == [
        (7.0, "CA", 20560.0, "B2", 56582674633.0), (8.0, None, None, "B2", 56582674633.0)]
    assert len(list((tmp_path / "cache").glob("*/_DONE"))) == 1
    read_i94_month(spark, extract, tmp_path / "cache")  # the cached conversion is reused
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_malformed_parquet_names_the_part(spark, tmp_path):
    folder = tmp_path / "i94_apr16_sub"
    _write_parquet(folder / "part-00000.parquet", {c: [1.0] for c in I94_COLUMNS})
    (folder / "part-00001.parquet").write_bytes(b"PAR1 cut short")
    with pytest.raises(SourceError, match=r"part-00001\.parquet: not a readable parquet file"):
        read_i94_month(spark, I94Month("2016-04", folder, "parquet"), tmp_path / "cache")


def test_malformed_sas7bdat_names_the_file(spark, tmp_path):
    path = tmp_path / "i94_apr16_sub.sas7bdat"
    path.write_bytes(b"this is not SAS" * 100)
    with pytest.raises(SourceError, match=r"i94_apr16_sub\.sas7bdat: not a readable SAS7BDAT file"):
        read_i94_month(spark, I94Month("2016-04", path, "sas7bdat"), tmp_path / "cache")


# ---------------------------------------------------------------- the CSV sources


DEMOGRAPHICS = """City;State;Median Age;Male Population;Female Population;Total Population;Number of Veterans;Foreign-born;Average Household Size;State Code;Race;Count
Springfield;Illinois;38.0;55000;61000;116000;8000;5000;2.3;IL;White;85000
Springfield;Massachusetts;32.0;74000;80000;154000;5000;18000;2.6;MA;Hispanic or Latino;66000
Silver Spring;Maryland;33.8;40601;41862;82463;;30908;2.6;MD;Asian;8841
"""


def test_demographics_semicolon_csv(tmp_path):
    path = tmp_path / "us-cities-demographics.csv"
    path.write_text(DEMOGRAPHICS, encoding="utf-8")
    df = read_demographics(path)
    assert list(df.columns) == DEMOGRAPHICS_COLUMNS
    assert {type(v) for v in df.stack()} == {str}
    rows = {(r["City"], r["State Code"]): r for r in df.to_dict("records")}
    assert rows[("Springfield", "IL")]["Total Population"] == "116000"
    assert rows[("Springfield", "MA")]["Race"] == "Hispanic or Latino"
    assert rows[("Silver Spring", "MD")]["Number of Veterans"] is None


def test_csv_with_wrong_separator_or_missing_column(tmp_path):
    path = tmp_path / "us-cities-demographics.csv"
    path.write_text(DEMOGRAPHICS.replace(";", ","), encoding="utf-8")
    with pytest.raises(SourceError, match=r"us-cities-demographics\.csv: missing column\(s\) City.*separator ';'"):
        read_demographics(path)
    path = tmp_path / "airport-codes_csv.csv"
    path.write_text("ident,type,name\nX,heliport,Y\n")
    with pytest.raises(SourceError, match=r"airport-codes_csv\.csv: missing column\(s\) elevation_ft"):
        read_airports(path)
    with pytest.raises(SourceError, match=r"gone\.csv: missing"):
        read_airports(tmp_path / "gone.csv")


def test_airports_keep_na_continent_and_lon_lat_pair(tmp_path):
    path = tmp_path / "airport-codes_csv.csv"
    path.write_text(
        ",".join(AIRPORT_COLUMNS) + "\n"
        '00A,heliport,Total Rf Heliport,11,NA,US,US-PA,Bensalem,00A,,00A,"-74.93360137939453, 40.07080078125"\n'
        'KPDX,large_airport,Portland International Airport,31,NA,US,US-OR,Portland,KPDX,PDX,PDX,"-122.5975, 45.5887"\n',
        encoding="utf-8")
    rows = {r["ident"]: r for r in read_airports(path).to_dict("records")}
    assert rows["00A"]["continent"] == "NA"  # North America, not a null
    assert rows["00A"]["iata_code"] is None
    assert rows["KPDX"]["coordinates"] == "-122.5975, 45.5887"  # one field: 'longitude, latitude'


def test_temperatures_plain_and_gz(tmp_path):
    header = ",".join(TEMPERATURE_COLUMNS)
    plain = tmp_path / "GlobalLandTemperaturesByCity.csv"
    plain.write_text(f"{header}\n1820-01-01,2.101,3.217,Abilene,United States,32.95N,100.53W\n"
                     "1743-11-01,,,Abilene,United States,32.95N,100.53W\n")
    gz = tmp_path / "GlobalLandTemperaturesByMajorCity.csv.gz"
    gz.write_bytes(gzip.compress(f"{header}\n1849-01-01,26.704,1.435,Abidjan,Côte D'Ivoire,5.63N,3.23W\n"
                                 "1849-01-01,-3.5,1.435,Anchorage,United States,61.88N,151.13W\n".encode()))

    df = read_us_temperatures([gz, plain])  # the larger file first, the US rows only
    assert list(df.columns) == TEMPERATURE_COLUMNS
    assert [tuple(r) for r in df.drop(columns="AverageTemperatureUncertainty").itertuples(index=False)] == [
        ("1820-01-01", "2.101", "Abilene", "United States", "32.95N", "100.53W"),
        ("1743-11-01", None, "Abilene", "United States", "32.95N", "100.53W"),
        ("1849-01-01", "-3.5", "Anchorage", "United States", "61.88N", "151.13W"),
    ]
    bad = tmp_path / "GlobalLandTemperaturesByState.csv.gz"
    bad.write_bytes(gzip.compress(b"dt,AverageTemperature,State,Country\n"))
    with pytest.raises(SourceError, match=r"ByState\.csv\.gz: missing column\(s\) AverageTemperatureUncertainty"):
        read_us_temperatures([plain, bad])
