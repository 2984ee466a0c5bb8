"""I94 arrival rows: a chunk of a month drawn from the facts, with the rare traps planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lake_assets.core.generate.i94_facts import (
    ADDRESS_AT_PORT_STATE, ADDRESS_INVALID, ADDRESS_NULL, ADDRESS_SHARE, AGE_NULL, AGE_QUANTILES,
    AIRLINES, CITIZENSHIP_ALIASES, CITIZENSHIP_OTHER_SHARE, COUNTRIES, DTADDTO_NULL, DTADFILE_LATE,
    ENTDEPA, ENTDEPD, ENTDEPU_U, FLTNO_NULL, GENDERS, I94_COLUMNS, INSNUM_SHARE, INVALID_ADDRESSES,
    INVALID_COUNTRIES, JUNE_EXTRA, JUNK_DTADDTO, MODE_BY_KIND, MODE_NOT_REPORTED, MODE_NULL,
    OCCUPATIONS, PORTS, RARE_TRAPS, SHORT_ADMNUM, STATES, STAY_SIGMA, STUDENT_SEASON,
    UNLISTED_PORTS, VISAPOSTS, VISA_TYPES, WEEKDAY_WEIGHTS, WITHDRAWN_SHARE,
)
from lake_assets.core.generate.sampling import cum, pick


def _sas_day(date: str) -> int:
    return int((np.datetime64(date) - np.datetime64("1960-01-01")).astype(int))


def _day_strings(days: np.ndarray, fmt: str) -> tuple[np.ndarray, list[str]]:
    """SAS day numbers -> (indices, vocabulary) of their formatted dates."""
    lo = int(days.min())
    span = np.arange(lo, int(days.max()) + 1)
    return days - lo, list(pd.to_datetime(span, unit="D", origin="1960-01-01").strftime(fmt))


def _strings(idx: np.ndarray, vocab, null: np.ndarray | None = None) -> pa.Array:
    dictionary = vocab if isinstance(vocab, pa.Array) else pa.array(vocab, pa.string())
    indices = pa.array(idx.astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def _choice_table(table: dict) -> tuple[pa.Array, np.ndarray, int | None]:
    """(vocabulary, cumulative weights, index of None) of a {value: weight} table."""
    keys = list(table)
    none = keys.index(None) if None in keys else None
    return pa.array(keys, pa.string()), cum(list(table.values())), none


_COUNTRY_CODES = np.array([c[0] for c in COUNTRIES], dtype=float)
_COUNTRY_CUM = cum([c[2] for c in COUNTRIES])
_COUNTRY_VWP = np.array([c[3] for c in COUNTRIES])
_ALIAS_CODE = np.array([CITIZENSHIP_ALIASES.get(c[0], (c[0], 0))[0] for c in COUNTRIES], float)
_ALIAS_SHARE = np.array([CITIZENSHIP_ALIASES.get(c[0], (0, 0.0))[1] for c in COUNTRIES])
_INVALID_CODES = np.array([c[0] for c in INVALID_COUNTRIES], dtype=float)
_INVALID_CIT_RATE = sum(c[2] for c in INVALID_COUNTRIES) / 100
_INVALID_CUM = cum([c[2] for c in INVALID_COUNTRIES])
_IS_INVALID = np.isin(np.arange(1000), _INVALID_CODES)  # by code
_IN_LABELS = np.isin(np.arange(1000), np.concatenate([_COUNTRY_CODES, _INVALID_CODES]))

_PORT_VOCAB = pa.array([p[0] for p in PORTS] + UNLISTED_PORTS, pa.string())
_PORT_CUM = cum([p[2] for p in PORTS])
_KINDS = list(MODE_BY_KIND)
_PORT_KIND = np.array([_KINDS.index(p[3]) for p in PORTS])
_MODE_CUM = np.array([cum(MODE_BY_KIND[k]) for k in _KINDS])

_STATE_CODES = [s[0] for s in STATES] + ["99"]
_ADDR_VOCAB = pa.array(_STATE_CODES + list(INVALID_ADDRESSES), pa.string())
_ADDR_CUM = cum([ADDRESS_SHARE.get(s, 0.1) for s in _STATE_CODES])
_INVALID_ADDR_CUM = cum(list(INVALID_ADDRESSES.values()))
_PORT_STATE = np.array([  # index of the port's state in _STATE_CODES, -1 if none
    _STATE_CODES.index(p[1][-2:]) if p[1][-4:-2] == ", " and p[1][-2:] in _STATE_CODES[:-1] else -1
    for p in PORTS
])

_VISA_VOCAB = pa.array([v[0] for v in VISA_TYPES], pa.string())
_VISA_CATEGORY = np.array([v[1] for v in VISA_TYPES], dtype=float)
_VISA_STAY = np.array([v[4] for v in VISA_TYPES], dtype=float)
_VISA_DEP_NULL = np.array([v[5] for v in VISA_TYPES])
_VISA_ADMIT = np.array([v[6] for v in VISA_TYPES])
_VISA_DS = np.array([v[7] for v in VISA_TYPES])
_VISA_WAIVER = np.isin([v[0] for v in VISA_TYPES], ["WT", "WB", "GMT", "GMB", "CP", "SBP"])

_GENDER = _choice_table(GENDERS)
_ENTDEPA = _choice_table(ENTDEPA)
_ENTDEPD_VOCAB = pa.array(list(ENTDEPD) + ["W"], pa.string())
_ENTDEPD_CUM = cum(list(ENTDEPD.values()))
_AIRLINE_VOCAB, _AIRLINE_CUM, _ = _choice_table(AIRLINES)
# Flight numbers: '00000'..'09999', then the same unpadded, then 'LAND'.
_FLTNO_VOCAB = pa.array([f"{i:05d}" for i in range(10_000)] + [str(i) for i in range(10_000)]
                        + ["LAND"], pa.string())
_INSNUM_VOCAB = pa.array([str(i) for i in range(3600, 3960)], pa.string())
_NULL_COUNTED = ("depdate", "dtaddto", "i94addr", "i94mode", "i94bir", "gender")  # the manifest's "nulls"


def plan_traps(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """Row numbers (within the month) of each rare trap: disjoint, at least one each."""
    counts, left = {}, rows
    for name, rate in RARE_TRAPS.items():
        counts[name] = min(left, max(1, round(rate * rows)))
        left -= counts[name]
    rows_at = rng.choice(rows, size=rows - left, replace=False) if rows else np.array([], int)
    bounds = np.cumsum([0] + list(counts.values()))
    return {name: np.sort(rows_at[bounds[i]:bounds[i + 1]]) for i, name in enumerate(counts)}


def draw_chunk(rng, month: str, start: int, n: int, cicid0: float, plan) -> tuple[pa.Table, dict, dict]:
    """Rows start..start+n-1 of a month, the count of each trap and of nulls per column in them.

    The helpers draw from `rng` in the order they are called: the same seed gives the same rows.
    """
    mon = int(month[5:])
    first = _sas_day(f"{month}-01")
    span = (first, first + pd.Period(month).days_in_month - 1)
    here = {k: v[(v >= start) & (v < start + n)] - start for k, v in plan.items()}

    cicid = cicid0 + np.cumsum(rng.integers(1, 4, n)).astype(float)
    res_i, res, cit = _residences_and_citizenships(rng, n)
    visa = _visas(rng, mon, res_i)
    port, mode = _ports_and_modes(rng, n)
    arr, dep = _arrivals_and_departures(rng, month, visa)
    age = _ages(rng, n)
    cols = {"cicid": cicid, "i94yr": np.full(n, 2016.0), "i94mon": np.full(n, float(mon)),
            "i94cit": cit, "i94res": res, "arrdate": arr, "i94mode": mode, "depdate": dep,
            "i94bir": age, "i94visa": _VISA_CATEGORY[visa], "count": np.ones(n), "biryear": 2016.0 - age}
    _plant_traps(rng, here, span, cols, port)
    addr = _addresses(rng, port)
    cols["dtadfile"] = _filing_dates(rng, arr)
    until = _admitted_until(rng, arr, visa, here["dtaddto_junk"])
    cols |= {"i94port": _strings(port, _PORT_VOCAB), "i94addr": _strings(addr[0], _ADDR_VOCAB, addr[1]),
             "dtaddto": _strings(*until)}
    cols |= _flags_and_flights(rng, visa, mode, dep)
    table = _table(cols, mon)
    traps = _count_traps(cols, span, here, port, addr, until)
    return table, traps, {c: table[c].null_count for c in _NULL_COUNTED}


def _residences_and_citizenships(rng, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index in COUNTRIES, i94res, i94cit): citizenship aliases, other countries, invalid codes."""
    res_i = pick(rng, _COUNTRY_CUM, n)
    res = _COUNTRY_CODES[res_i]
    cit = np.where(rng.random(n) < _ALIAS_SHARE[res_i], _ALIAS_CODE[res_i], res)
    other = rng.random(n) < CITIZENSHIP_OTHER_SHARE
    cit[other] = _COUNTRY_CODES[pick(rng, _COUNTRY_CUM, int(other.sum()))]
    invalid = rng.random(n) < _INVALID_CIT_RATE
    cit[invalid] = _INVALID_CODES[pick(rng, _INVALID_CUM, int(invalid.sum()))]
    return res_i, res, cit


def _visas(rng, month: int, res_i: np.ndarray) -> np.ndarray:
    """Index in VISA_TYPES: by the residence's visa-waiver status, students by season."""
    boost = np.where(_VISA_CATEGORY == 3, STUDENT_SEASON.get(month, 1.0), 1.0)
    cum_vwp = cum(np.array([v[2] for v in VISA_TYPES]) * boost)
    cum_other = cum(np.array([v[3] for v in VISA_TYPES]) * boost)
    u = rng.random(len(res_i))
    return np.where(_COUNTRY_VWP[res_i], np.searchsorted(cum_vwp, u, "right"),
                    np.searchsorted(cum_other, u, "right"))


def _ports_and_modes(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(index in PORTS, i94mode): the mode by the port's kind, a few 9 (not reported) and null."""
    port = pick(rng, _PORT_CUM, n)
    mode = 1.0 + (rng.random(n)[:, None] >= _MODE_CUM[_PORT_KIND[port]][:, :2]).sum(axis=1)
    mode[rng.random(n) < MODE_NOT_REPORTED] = 9.0
    mode[rng.random(n) < MODE_NULL] = np.nan
    return port, mode


def _arrivals_and_departures(rng, month: str, visa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arrdate, depdate) as SAS days: arrivals by weekday, stays by visa type, some never left."""
    n = len(visa)
    days = pd.Period(month).days_in_month
    weekday = (np.arange(days) + pd.Timestamp(f"{month}-01").weekday()) % 7
    arr = _sas_day(f"{month}-01") + pick(rng, cum(np.array(WEEKDAY_WEIGHTS)[weekday]), n).astype(float)
    stay = np.rint(_VISA_STAY[visa] * np.exp(STAY_SIGMA * rng.standard_normal(n)))
    dep = arr + np.minimum(stay, _VISA_ADMIT[visa] + 30)
    dep[rng.random(n) < _VISA_DEP_NULL[visa]] = np.nan
    return arr, dep


def _ages(rng, n: int) -> np.ndarray:
    """i94bir, by the age quantiles, a few null."""
    age = np.rint(np.interp(rng.random(n), *AGE_QUANTILES))
    age[rng.random(n) < AGE_NULL] = np.nan
    return age


def _plant_traps(rng, here: dict, span: tuple[int, int], cols: dict, port: np.ndarray) -> None:
    """Plant the rare traps on their rows of the chunk (`here`), in `cols` and `port`."""
    first, last = span
    arr, dep = cols["arrdate"], cols["depdate"]
    rows = here["depdate_before_arrival"]
    dep[rows] = arr[rows] - np.ceil(rng.exponential(15, len(rows)))
    rows = here["depdate_absurd"]
    dep[rows] = [_sas_day(f"{y}-{m:02d}-{d:02d}") for y, m, d in
                 zip(rng.choice([1920, 2092], len(rows)), rng.integers(1, 13, len(rows)),
                     rng.integers(1, 29, len(rows)))]
    rows = here["arrdate_outside_month"]
    shift = np.where(rng.random(len(rows)) < 0.5, first - 1 - rng.integers(0, 3, len(rows)),
                     last + 1 + rng.integers(0, 3, len(rows))) - arr[rows]
    arr[rows] += shift
    dep[rows] += shift
    cols["i94mode"][here["i94mode_zero"]] = 0.0
    port[here["i94port_not_in_labels"]] = len(PORTS) + rng.integers(0, len(UNLISTED_PORTS),
                                                                    len(here["i94port_not_in_labels"]))
    cols["cicid"][here["cicid_null"]] = np.nan


def _addresses(rng, port: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """i94addr as (index in _ADDR_VOCAB, null): the port's state or the national mix, some invalid."""
    n = len(port)
    port_state = np.where(port < len(PORTS), _PORT_STATE[np.minimum(port, len(PORTS) - 1)], -1)
    addr = np.where((port_state >= 0) & (rng.random(n) < ADDRESS_AT_PORT_STATE), port_state,
                    pick(rng, _ADDR_CUM, n))
    bad = rng.random(n) < ADDRESS_INVALID
    addr[bad] = len(_STATE_CODES) + pick(rng, _INVALID_ADDR_CUM, int(bad.sum()))
    return addr, rng.random(n) < ADDRESS_NULL


def _filing_dates(rng, arr: np.ndarray) -> pa.Array:
    """dtadfile, text YYYYMMDD: the day of arrival or the next, a few 60-70 days later."""
    n = len(arr)
    filed = arr + np.where(rng.random(n) < DTADFILE_LATE, rng.integers(60, 71, n),
                           (rng.random(n) < 0.02).astype(int))
    return _strings(*_day_strings(filed.astype(np.int64), "%Y%m%d"))


def _admitted_until(rng, arr: np.ndarray, visa: np.ndarray, junk: np.ndarray) -> tuple[np.ndarray, list, np.ndarray]:
    """dtaddto as (index, vocabulary, null): text MMDDYYYY, or D/S by visa type, junk on `junk`."""
    n = len(arr)
    idx, dates = _day_strings((arr + _VISA_ADMIT[visa]).astype(np.int64), "%m%d%Y")
    idx[rng.random(n) < _VISA_DS[visa]] = len(dates)
    idx[junk] = len(dates) + 1 + rng.integers(0, len(JUNK_DTADDTO), len(junk))
    null = rng.random(n) < DTADDTO_NULL
    null[junk] = False
    return idx, dates + ["D/S"] + JUNK_DTADDTO, null


def _flags_and_flights(rng, visa: np.ndarray, mode: np.ndarray, dep: np.ndarray) -> dict[str, pa.Array]:
    """The flag, flight, admission, visa post, occupation, INS number and gender columns."""
    n = len(visa)
    departed = ~np.isnan(dep)
    withdrawn = ~departed & (rng.random(n) < WITHDRAWN_SHARE)
    entdepd_idx = np.where(withdrawn, len(ENTDEPD), pick(rng, _ENTDEPD_CUM, n))
    matched = departed | withdrawn

    air = (mode == 1) | ((mode == 2) & (rng.random(n) < 0.7))
    land = mode == 3
    fltno = np.where(land & (rng.random(n) < 0.66), 20_000,
                     (10_000 ** rng.random(n)).astype(int) + 10_000 * (rng.random(n) < 0.02))
    admnum = np.where(rng.random(n) < SHORT_ADMNUM, rng.integers(10**8, 10**10, n),
                      rng.integers(10**10, 10**11, n)).astype(float)
    is_student = _VISA_CATEGORY[visa] == 3
    occup_p = np.where(visa == [v[0] for v in VISA_TYPES].index("M1"), 0.98,
                       np.where(is_student, 0.1, 0.002))
    return {
        "visapost": _strings(rng.integers(0, len(VISAPOSTS), n), VISAPOSTS,
                             _VISA_WAIVER[visa] | (rng.random(n) < 0.12)),
        "occup": _strings(np.where(is_student, 0, rng.integers(0, len(OCCUPATIONS), n)),
                          OCCUPATIONS, rng.random(n) >= occup_p),
        "entdepd": _strings(entdepd_idx, _ENTDEPD_VOCAB, ~matched),
        "entdepu": _strings(np.zeros(n, int), ["U"], rng.random(n) >= ENTDEPU_U),
        "matflag": _strings(np.zeros(n, int), ["M"], ~matched),
        "insnum": _strings(rng.integers(0, len(_INSNUM_VOCAB), n), _INSNUM_VOCAB,
                           rng.random(n) >= INSNUM_SHARE),
        "airline": _strings(pick(rng, _AIRLINE_CUM, n), _AIRLINE_VOCAB, ~air),
        "admnum": admnum,
        "fltno": _strings(fltno, _FLTNO_VOCAB, rng.random(n) < FLTNO_NULL),
        "visatype": _strings(visa, _VISA_VOCAB),
        "gender": _draw_choice(rng, _GENDER, n),
        "entdepa": _draw_choice(rng, _ENTDEPA, n),
    }


def _draw_choice(rng, choice: tuple[pa.Array, np.ndarray, int | None], n: int) -> pa.Array:
    """`n` values drawn from a _choice_table; its None key gives nulls."""
    vocab, cumulative, none = choice
    idx = pick(rng, cumulative, n)
    return _strings(idx, vocab, idx == none)


def _table(cols: dict, mon: int) -> pa.Table:
    """The columns as a table in the month's order (June has six more)."""
    n = len(cols["cicid"])
    names = list(I94_COLUMNS)
    if mon == 6:
        names[names.index("count") + 1:names.index("count") + 1] = JUNE_EXTRA
        cols = cols | {"validres": np.ones(n)} | {c: np.zeros(n) for c in JUNE_EXTRA[1:]}
    # from_pandas: NaN is written as null, as in the real files (a NaN cicid would read as 0).
    return pa.table({c: cols[c] if isinstance(cols[c], pa.Array)
                     else pa.array(cols[c], pa.float64(), from_pandas=True) for c in names})


def _count_traps(cols: dict, span: tuple[int, int], here: dict, port: np.ndarray, addr: tuple,
                 until: tuple) -> dict[str, int]:
    """Rows of each planted trap, as found in the chunk's values."""
    first, last = span
    cicid, arr, dep, cit = cols["cicid"], cols["arrdate"], cols["depdate"], cols["i94cit"].astype(int)
    (addr_idx, addr_null), (until_idx, until_vocab, until_null) = addr, until
    with np.errstate(invalid="ignore"):
        absurd = (dep < _sas_day("2000-01-01")) | (dep >= _sas_day("2050-01-01"))
        traps = {
            "cicid_null": np.isnan(cicid).sum(),
            "arrdate_outside_month": ((arr < first) | (arr > last)).sum(),
            "depdate_before_arrival": ((dep < arr) & ~absurd).sum(),
            "depdate_absurd": absurd.sum(),
            "dtaddto_ds": (until_idx == until_vocab.index("D/S"))[~until_null].sum(),
            "dtaddto_junk": len(here["dtaddto_junk"]),
            "i94addr_invalid": ((addr_idx >= len(STATES)) & ~addr_null).sum(),  # '99' is not a state
            "i94cit_invalid": _IS_INVALID[cit].sum(),
            "i94cit_not_in_labels": (~_IN_LABELS[cit]).sum(),
            "i94mode_zero": (cols["i94mode"] == 0).sum(),
            "i94port_not_in_labels": (port >= len(PORTS)).sum(),
        }
    return {k: int(v) for k, v in traps.items()}
