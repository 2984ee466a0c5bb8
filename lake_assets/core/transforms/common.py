"""Column helpers shared by the transforms."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


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
