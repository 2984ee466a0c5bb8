"""Column helpers shared by the transforms."""

from __future__ import annotations

from itertools import chain

from pyspark.sql import Column
from pyspark.sql import functions as F

# Names that mean another city than they read (after normalisation).
CITY_ALIASES = {
    "NEW YORK CITY": "NEW YORK",
    "LA GUARDIA": "NEW YORK",
    "MINN": "MINNEAPOLIS",
    "WASHINGTON DC": "WASHINGTON",
    "URBAN HONOLULU": "HONOLULU",
    "AIR TERM BOISE": "BOISE",
}


def norm_city(col: Column | str) -> Column:
    """A city name reduced for matching: upper case, no punctuation, ST/FT/MT, aliases."""
    c = F.upper(F.col(col) if isinstance(col, str) else col)
    c = F.regexp_replace(c, r"[.'`]", "")
    c = F.regexp_replace(c, r"[-/]", " ")
    c = F.trim(F.regexp_replace(c, r"\s+", " "))
    c = F.regexp_replace(c, r"^SAINT\s", "ST ")
    c = F.regexp_replace(c, r"^FORT\s", "FT ")
    c = F.regexp_replace(c, r"^MOUNT\s", "MT ")
    aliases = F.create_map(*[F.lit(x) for x in chain(*CITY_ALIASES.items())])
    return F.coalesce(aliases[c], c)


def city_id(state_code: Column, city_norm: Column) -> Column:
    """Deterministic, readable city key: 'NY-new-york'."""
    return F.concat(state_code, F.lit("-"), F.regexp_replace(F.lower(city_norm), r"[^a-z0-9]+", "-"))


def haversine_km(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    dlat, dlon = F.radians(lat2 - lat1), F.radians(lon2 - lon1)
    a = F.sin(dlat / 2) ** 2 + F.cos(F.radians(lat1)) * F.cos(F.radians(lat2)) * F.sin(dlon / 2) ** 2
    return F.lit(2 * 6371.0) * F.asin(F.sqrt(a))


def sas_date(col: str) -> Column:
    """A SAS day number (days since 1960-01-01) as a date."""
    return F.date_add(F.lit("1960-01-01").cast("date"), F.col(col).cast("int"))


def digits_date(col: str, pattern: str) -> Column:
    """An 8-digit date string ('MMddyyyy' or 'yyyyMMdd') as a date; null where it is not one.

    The digits are cut out and cast, which is several times cheaper than a date parser on
    millions of rows; impossible dates (month 13, 30 February, year 0) come out null.
    """
    y, m, d = (pattern.index(token) + 1 for token in ("yyyy", "MM", "dd"))
    iso = f"concat_ws('-', substr({col}, {y}, 4), substr({col}, {m}, 2), substr({col}, {d}, 2))"
    valid = f"{col} rlike '^[0-9]{{8}}$' and substr({col}, {y}, 4) != '0000'"  # no year 0, as a parser
    return F.expr(f"case when {valid} then try_cast({iso} as date) end")
