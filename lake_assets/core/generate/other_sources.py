"""The label file, demographics, airports and temperatures of a synthetic raw folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from lake_assets.core.generate.i94_facts import (
    COUNTRIES, INVALID_COUNTRIES, PORTS, STATE_NAMES, STATES, VISA_CATEGORIES,
)
from lake_assets.core.generate.place_facts import (
    AIRPORTS, AIRPORT_NAME_WORDS, AIRPORT_TYPES, CITIES, EXTRA_DEMOGRAPHIC_CITIES, GRID_STEP,
    MAJOR_US_CITIES, NULL_SEX_CITIES, RACES, SMALL_AIRPORTS, WORLD_CITIES,
)
from lake_assets.core.generate.sampling import cum, pick


def write_other_sources(out: Path, seed: int) -> list[Path]:
    """Write the label file, demographics, airports and temperatures into `out`; return their paths."""
    rng = np.random.default_rng([seed, 0])
    labels = out / "I94_SAS_Labels_Descriptions.SAS"
    _write_labels(labels)
    demographics = out / "us-cities-demographics.csv"
    _write_demographics(demographics, rng)
    airports = out / "airport-codes_csv.csv"
    _write_airports(airports, rng)
    return [labels, demographics, airports] + _write_temperatures(out / "temperature", rng)


def _write_labels(path: Path) -> None:
    """I94_SAS_Labels_Descriptions.SAS: SAS proc format blocks, CRLF, tabs and padded names."""
    countries = [(c, name) for c, name, *_ in COUNTRIES] + [(c, name) for c, name, _ in INVALID_COUNTRIES]
    lines = ["libname library 'C:\\lake\\formats' ;", "proc format library=library ;", "",
             "/* I94YR - year of arrival, four digits */", "",
             "/* I94MON - month of arrival, a number */", "",
             "/* I94CIT & I94RES - country codes of citizenship and residence, valid and invalid */",
             "  value i94cntyl"]
    for i, (code, name) in enumerate(countries):
        key = f"    {code}  =" if code == 0 else f"   {code} ="
        end = " ;" if i == len(countries) - 1 else (" " if name.endswith("A") else "")
        lines.append(f"{key}  '{name}'{end}")
    lines += ["", "", "/* I94PORT - port of entry codes, valid and invalid */", "  value $i94prtl"]
    for code, name, *_ in PORTS:
        padded = name.ljust(22) if name[-4:-2] == ", " and code.isalpha() else name
        key = f"'{code}' " if len(code.strip()) < 3 and not code.endswith(" ") else f"'{code}'"
        tail = "   " if code == "HOM" else ""
        lines.append(f"   {key}\t=\t'{padded}'{tail}")
    lines += [";", "", "", "/* ARRDATE - arrival date, as a SAS date number (days since 1960-01-01);",
              "   no format is applied to it. */", "", "",
              "/* I94MODE - travel mode; missing values occur, and 9 means not reported */",
              "value i94model", "\t1 = 'Air'", "\t2 = 'Sea'", "\t3 = 'Land'", "\t9 = 'Not reported' ;",
              "\t", "", "/* I94ADDR - US state of address; many codes in the data are invalid, the ones",
              "   listed are the valid ones and all others count as '99' */", "value i94addrl"]
    lines += [f"\t'{code}'='{name}'" + (" " if code == "WY" else "") for code, name, _ in STATES]
    lines += ["\t'99'='All Other Codes' ;", "",
              "/* DEPDATE - departure date, as a SAS date number like ARRDATE */", "", "",
              "/* I94BIR - age in years */", "", "",
              "/* I94VISA - visa category, three groups:"]
    lines += [f"   {code} = {name}" for code, name in VISA_CATEGORIES.items()]
    lines += ["*/", "", ""]
    for column, text in [("COUNT", "1 on every row, for sums"), ("DTADFILE", "date added to the file, text YYYYMMDD"),
                         ("VISAPOST", "where the visa was issued"), ("OCCUP", "occupation in the US"),
                         ("ENTDEPA", "arrival flag"), ("ENTDEPD", "departure flag"), ("ENTDEPU", "update flag"),
                         ("MATFLAG", "arrival and departure records matched"), ("BIRYEAR", "year of birth"),
                         ("DTADDTO", "admitted until, text MMDDYYYY or D/S"), ("GENDER", "sex"),
                         ("INSNUM", "INS number"), ("AIRLINE", "airline of arrival"),
                         ("ADMNUM", "admission number"), ("FLTNO", "flight number"),
                         ("VISATYPE", "class of admission (visa type)")]:
        lines += [f"/* {column} - {text} */", "", ""]
    lines[-2:] = ["run ;", "", ""]
    path.write_bytes("\r\n".join(lines).encode("ascii"))


def _write_demographics(path: Path, rng: np.random.Generator) -> None:
    """us-cities-demographics.csv: ';'-separated, one row per (city, state, race), CRLF."""
    rows = []
    for city, st, pop, foreign, age, *_ in CITIES + EXTRA_DEMOGRAPHIC_CITIES:
        male = round(pop * rng.uniform(0.47, 0.50))
        puerto_rico = st == "PR"
        shares = rng.dirichlet([6, 3, 2, 1.2, 0.1]) * [1, 1.3, 1, 1, 0.3]
        races = RACES if rng.random() > 0.1 else RACES[:4]
        for race, share in zip(races, shares):
            rows.append({
                "City": city, "State": STATE_NAMES[st], "Median Age": age,
                "Male Population": None if (city, st) in NULL_SEX_CITIES else male,
                "Female Population": None if (city, st) in NULL_SEX_CITIES else pop - male,
                "Total Population": pop,
                "Number of Veterans": None if puerto_rico else round(pop * 0.045),
                "Foreign-born": foreign,
                "Average Household Size": None if puerto_rico else round(2.2 + 0.8 * foreign / pop, 2),
                "State Code": st, "Race": race, "Count": max(1, round(pop * min(share, 0.95))),
            })
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=rng.integers(2**31)).reset_index(drop=True)
    for c in ["Male Population", "Female Population", "Number of Veterans", "Foreign-born"]:
        df[c] = df[c].astype("Int64")
    df.to_csv(path, sep=";", index=False, lineterminator="\r\n")


def _write_airports(path: Path, rng: np.random.Generator) -> None:
    """airport-codes_csv.csv: the datahub columns, coordinates as "longitude, latitude"."""
    rows = [dict(ident=i, type=t, name=nm, elevation_ft=el, continent=co, iso_country=cn,
                 iso_region=rg, municipality=mu, gps_code=i, iata_code=ia, local_code=ia,
                 coordinates=f"{lon}, {lat}")
            for i, t, nm, el, co, cn, rg, mu, ia, lat, lon in AIRPORTS]
    types = list(AIRPORT_TYPES)
    kinds = pick(rng, cum(list(AIRPORT_TYPES.values())), SMALL_AIRPORTS)
    for k, town in zip(kinds, rng.choice(len(CITIES), SMALL_AIRPORTS)):
        city, st, *_, lat, lon, _, _ = CITIES[town]
        ident = f"{rng.integers(0, 100):02d}{st}{rng.integers(0, 10) if rng.random() < 0.5 else ''}"
        kind = types[k]
        suffix = {"heliport": "Heliport", "seaplane_base": "Seaplane Base",
                  "balloonport": "Balloonport"}.get(kind, rng.choice(["Airport", "Field", "Airstrip"]))
        digits = int(rng.integers(4, 13))
        rows.append(dict(
            ident=ident, type=kind, name=f"{rng.choice(AIRPORT_NAME_WORDS)} {suffix}",
            elevation_ft="" if rng.random() < 0.007 else int(rng.integers(0, 3000)),
            continent="NA", iso_country="US", iso_region=f"US-{st}",
            municipality="" if rng.random() < 0.03 else city,
            gps_code="" if rng.random() < 0.2 else ident, iata_code="", local_code=ident,
            coordinates=f"{round(lon + rng.uniform(-0.8, 0.8), digits)}, "
                        f"{round(lat + rng.uniform(-0.8, 0.8), digits)}",
        ))
    df = pd.DataFrame(rows).drop_duplicates("ident").sort_values("ident", kind="stable")
    df.to_csv(path, index=False)


def _grid(value: float, pos: str, neg: str) -> str:
    point = round(value / GRID_STEP) * GRID_STEP + 0.19
    return f"{abs(point):.2f}{pos if point >= 0 else neg}"


def _temperature_rows(rng, cities, first_year: int, null_years: int) -> pd.DataFrame:
    """Monthly rows to 2013-09-01 per city; cities on the same grid point share the series."""
    dts = pd.date_range(f"{first_year}-01-01", "2013-09-01", freq="MS")
    months = dts.month.to_numpy()
    years = dts.year.to_numpy() - first_year
    series, frames, seen = {}, [], set()
    for city, country, lat, lon, mean, half in cities:
        point = (_grid(lat, "N", "S"), _grid(lon, "E", "W"))
        if (city, point) in seen:  # e.g. Kansas City MO and KS: one series in the file
            continue
        seen.add((city, point))
        if point not in series:
            season = -np.cos(2 * np.pi * (months - 1.5) / 12)
            temp = mean + half * season + 0.008 * years + rng.normal(0, 1.0, len(dts))
            unc = np.maximum(0.1, 2.5 * np.exp(-years / 25) + rng.uniform(0, 0.4, len(dts)))
            gone = (years < null_years) & (rng.random(len(dts)) < 0.3)
            series[point] = (np.where(gone, np.nan, temp.round(3)), np.where(gone, np.nan, unc.round(3)))
        temp, unc = series[point]
        frames.append(pd.DataFrame({
            "dt": dts.strftime("%Y-%m-%d"), "AverageTemperature": temp,
            "AverageTemperatureUncertainty": unc, "City": city, "Country": country,
            "Latitude": point[0], "Longitude": point[1]}))
    return pd.concat(frames).sort_values(["City", "Latitude", "Longitude", "dt"], kind="stable")


def _write_temperatures(folder: Path, rng: np.random.Generator) -> list[Path]:
    """GlobalLandTemperaturesByCity.csv (LF) and GlobalLandTemperaturesByMajorCity.csv.gz (CRLF)."""
    folder.mkdir(parents=True, exist_ok=True)
    us = [(c, "United States", lat, lon, m, h) for c, _, _, _, _, lat, lon, m, h in CITIES]
    by_city = folder / "GlobalLandTemperaturesByCity.csv"
    _temperature_rows(rng, us + WORLD_CITIES, 1950, 3).to_csv(by_city, index=False)
    major = [c for c in us if c[0] in MAJOR_US_CITIES] + WORLD_CITIES[1:]
    text = _temperature_rows(rng, major, 1850, 15).to_csv(index=False, lineterminator="\r\n")
    by_major = folder / "GlobalLandTemperaturesByMajorCity.csv.gz"
    with open(by_major, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return [by_city, by_major]
