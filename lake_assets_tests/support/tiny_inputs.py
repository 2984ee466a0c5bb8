"""Tiny hand-made inputs for the unit tests: a label file and I94 rows that carry the traps.

Written here from DATA_NOTES, never copied from ../shared. The label file keeps the real
file's quirks: CRLF line ends, tabs, trailing blanks in labels, comments between blocks,
and the visa categories only inside a comment.
"""

from __future__ import annotations

from pathlib import Path

from lake_assets.core.sources import I94_COLUMNS, I94_NUMERIC

LABELS_TEXT = """libname library 'Your file location' ;
proc format library=library ;

/* I94YR - 4 digit year */

/* I94CIT & I94RES - This format shows all the valid and invalid codes for processing */
  value i94cntyl
   582 =  'MEXICO Air Sea, and Not Reported (I-94, no land arrivals)'
   111 =  'FRANCE'
   135 =  'UNITED KINGDOM'
   209 =  'JAPAN'
    0  =  'INVALID: STATELESS'
   999 =  'INVALID: UNKNOWN'  
   311 =  'Collapsed Tanzania (should not show)'
   996 =  'No Country Code (996)' ;


/* I94PORT - This format shows all the valid and invalid codes for processing */
  value $i94prtl
   'LOS'\t=\t'LOS ANGELES, CA       '
   'SFR'\t=\t'SAN FRANCISCO, CA     '
   'NYC'\t=\t'NEW YORK, NY          '
   'LAG'\t=\t'LA GUARDIA, NY        '
   'NEW'\t=\t'NEWARK/TETERBORO, NJ  '
   'WAS'\t=\t'WASHINGTON DC         '
   'POO'\t=\t'PORTLAND, OR          '
   'POM'\t=\t'PORTLAND, ME          '
   'SPI'\t=\t'CAPITAL - SPRINGFIELD, IL'
   'SGF'\t=\t'SPRINGFIELD-BRANSON, MO'
   'SGR'\t=\t'HULL FIELD, SUGAR LAND ARPT, TX'
   'LIA'\t=\t'LITTLE ROCK, AR (BPS)'
   'ASE'\t=\t'ASPEN, CO #ARPT'
   'DER'\t=\t'DERBY LINE, VT (I-91) '
   'MAP'\t=\t'MARIPOSA AZ           '
   'HHW'\t=\t'HONOLULU, HI          '
   'QXV'\t=\t'QUUXVILLE, OR         '
   'TOR'\t=\t'TORONTO, CANADA       '
   'XXX'\t=\t'NOT REPORTED/UNKNOWN  ' 
   '888'\t=\t'UNIDENTIFED AIR / SEAPORT'
   'FRG'\t=\t'Collapsed (FOK) 06/15'
   'ADU' \t=\t'No PORT Code (ADU)'
;


/* ARRDATE is the Arrival Date in the USA. It is a SAS date numeric field that a 
   permament format has not been applied.  Please apply whichever date format 
   works for you. */


/* I94MODE - There are missing values as well as not reported (9) */
value i94model
\t1 = 'Air'
\t2 = 'Sea'
\t3 = 'Land'
\t9 = 'Not reported' ;
\t

/* I94ADDR - There is lots of invalid codes in this variable and the list below 
   shows what we have found to be valid, everything else goes into 'other' */
value i94addrl
\t'AR'='ARKANSAS'
\t'AZ'='ARIZONA'
\t'CA'='CALIFORNIA'
\t'CO'='COLORADO'
\t'DC'='DIST. OF COLUMBIA'
\t'HI'='HAWAII'
\t'IL'='ILLINOIS'
\t'MA'='MASSACHUSETTS'
\t'ME'='MAINE'
\t'MO'='MISSOURI'
\t'NJ'='NEW JERSEY'
\t'NY'='NEW YORK'
\t'OR'='OREGON'
\t'TX'='TEXAS'
\t'VA'='VIRGINIA'
\t'VT'='VERMONT'
\t'WA'='WASHINGTON'
\t'99'='All Other Codes' ;


/* DEPDATE is the Departure Date from the USA. */


/* I94VISA - Visa codes collapsed into three categories:
   1 = Business
   2 = Pleasure
   3 = Student
*/


/* COUNT - Used for summary statistics */
"""


def write_labels(path: Path, text: str = LABELS_TEXT) -> Path:
    """Write a label file with CRLF line ends, as the publisher ships it."""
    path.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    return path


# SAS day numbers (days since 1960-01-01).
APR_1, APR_30, MAR_31, MAY_1 = 20545, 20574, 20544, 20575

VALID_ROW = {
    "cicid": 7.0, "i94yr": 2016.0, "i94mon": 4.0, "i94cit": 111.0, "i94res": 135.0,
    "i94port": "LOS", "arrdate": 20550.0, "i94mode": 1.0, "i94addr": "CA", "depdate": 20560.0,
    "i94bir": 40.0, "i94visa": 2.0, "count": 1.0, "dtadfile": "20160406", "visapost": None,
    "occup": None, "entdepa": "G", "entdepd": "O", "entdepu": None, "matflag": "M",
    "biryear": 1976.0, "dtaddto": "07052016", "gender": "F", "insnum": None, "airline": "AF",
    "admnum": 56582674633.0, "fltno": "00066", "visatype": "B2",
}

# The schema read_i94_month returns: numbers as double, codes as string.
I94_SCHEMA = ", ".join(f"{c} {'DOUBLE' if c in I94_NUMERIC else 'STRING'}" for c in I94_COLUMNS)


def i94_rows(*overrides: dict) -> list[tuple]:
    """One raw I94 row per dict: VALID_ROW with the dict's values, in the 28-column order."""
    return [tuple({**VALID_ROW, **o}[c] for c in I94_COLUMNS) for o in overrides]
