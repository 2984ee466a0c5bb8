"""City names, keys, numbers and distances on the driver, as Spark SQL's functions give them
(the small dimensions are computed in Python; no Dagster, no Spark here).

Java's regular expressions, `trim`, `initcap` and casts differ from Python's in small ways
(`\\s` is ASCII whitespace, `trim` removes spaces only, `initcap` starts a word after a space
only, a cast of '35.0' to bigint is 35): the functions below follow Spark's.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

# Names that mean another city than they read (after normalisation).
CITY_ALIASES = {
    "NEW YORK CITY": "NEW YORK",
    "LA GUARDIA": "NEW YORK",
    "MINN": "MINNEAPOLIS",
    "WASHINGTON DC": "WASHINGTON",
    "URBAN HONOLULU": "HONOLULU",
    "AIR TERM BOISE": "BOISE",
}
_DROPPED, _SPACE_LIKE = re.compile(r"[.'`]"), re.compile(r"[-/]")
_SPACES = re.compile(r"[ \t\n\x0b\f\r]+")  # Java's \s
_PREFIXES = (("SAINT ", "ST "), ("FORT ", "FT "), ("MOUNT ", "MT "))
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_WHITE = "".join(map(chr, range(33)))  # what Spark strips around a number before casting it
_LONG = re.compile(r"([+-]?)([0-9]*)(?:\.[0-9]*)?")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@lru_cache(maxsize=1 << 16)
def norm_city(name: str | None) -> str | None:
    """A city name reduced for matching: upper case, no punctuation, ST/FT/MT, aliases."""
    if name is None:
        return None
    c = _SPACES.sub(" ", _SPACE_LIKE.sub(" ", _DROPPED.sub("", name.upper()))).strip(" ")
    for word, short in _PREFIXES:
        c = short + c[len(word):] if c.startswith(word) else c
    return CITY_ALIASES.get(c, c)


def city_id(state_code: str | None, city_norm: str | None) -> str | None:
    """Deterministic, readable city key: 'NY-new-york'."""
    if state_code is None or city_norm is None:
        return None
    return f"{state_code}-{_NOT_SLUG.sub('-', city_norm.lower())}"


def initcap(text: str | None) -> str | None:
    """Spark's initcap: lower case, each letter after a space (or first) in title case."""
    if text is None:
        return None
    return re.sub(r"(?:^|(?<= )).", lambda m: m.group(0).title()[0], text.lower(), flags=re.DOTALL)


def to_long(text: str | None) -> int | None:
    """Spark's cast of a string to bigint: '35' and '35.0' -> 35, '.5' -> 0, anything else None."""
    text = text.strip(_WHITE) if text is not None else ""
    m = _LONG.fullmatch(text) if text not in ("", "+", "-") else None
    value = m and int(m.group(1) + (m.group(2) or "0"))
    return value if m and -2**63 <= value < 2**63 else None


def to_double(text: str | None) -> float | None:
    """Spark's cast of a decimal string to double ('-2', '1.5', '1e3'); anything else None."""
    text = text.strip(_WHITE) if text is not None else None
    return float(text) if text and _DOUBLE.fullmatch(text) else None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    dlat, dlon = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def round_half_up(value: float | None, digits: int) -> float | None:
    """Spark's round(): the double's shortest decimal form rounded half up."""
    if value is None or not math.isfinite(value):
        return value
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
