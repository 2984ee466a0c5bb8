"""A synthetic raw folder shaped like the real sources (see ../shared/docs/DATA_NOTES.md).

`generate_raw` writes, from facts written in this module (never from the real files):

    i94/i94_<mon>16_sub.parquet/part-NNNNN.snappy.parquet   a month as a folder of parquet parts
    i94/i94_<mon>16_sub.csv                                 a month as CSV (unnamed index, CRLF)
    i94/i94_<mon>16_sub.sas7bdat                            a month as SAS (needs ReadStat's `readstat`)
    I94_SAS_Labels_Descriptions.SAS
    us-cities-demographics.csv
    airport-codes_csv.csv
    temperature/GlobalLandTemperaturesByCity.csv
    temperature/GlobalLandTemperaturesByMajorCity.csv.gz
    generation_manifest.json                                rows, formats and planted traps per month

I94 numbers are doubles (nulls, not NaN) and every DATA_NOTES trap is planted; the manifest
counts each trap as found in the written rows.
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DEFAULT_SCALE = 0.0025  # the whole year is ~102k rows
CHUNK_ROWS = 250_000  # rows per generated chunk (one parquet part each)
FORMATS = ("parquet", "csv", "sas7bdat")
DEFAULT_FORMATS = {"2016-01": "sas7bdat", "2016-02": "csv", "2016-10": "csv"}  # others: parquet
SAS_APT_COMMAND = "apt-get update && apt-get install -y readstat"

# Real 2016 volumes of the monthly I94 extracts (40,790,529 in all).
MONTH_ROWS = {
    "2016-01": 2_847_924, "2016-02": 2_570_543, "2016-03": 3_157_072, "2016-04": 3_096_313,
    "2016-05": 3_444_249, "2016-06": 3_574_989, "2016-07": 4_265_031, "2016-08": 4_103_570,
    "2016-09": 3_733_786, "2016-10": 3_649_136, "2016-11": 2_914_926, "2016-12": 3_432_990,
}
MONTH_ABBR = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

I94_COLUMNS = [
    "cicid", "i94yr", "i94mon", "i94cit", "i94res", "i94port", "arrdate", "i94mode", "i94addr",
    "depdate", "i94bir", "i94visa", "count", "dtadfile", "visapost", "occup", "entdepa",
    "entdepd", "entdepu", "matflag", "biryear", "dtaddto", "gender", "insnum", "airline",
    "admnum", "fltno", "visatype",
]
JUNE_EXTRA = ["validres", "delete_days", "delete_mexl", "delete_dup", "delete_visa", "delete_recdup"]

# ---------------------------------------------------------------------------------------------
# Facts: codes of the label file and how often they occur in the arrivals.
# ---------------------------------------------------------------------------------------------

# Residence countries: (code, label name, % of arrivals, visa-waiver country).
COUNTRIES = [
    (582, "MEXICO Air Sea, and Not Reported (I-94, no land arrivals)", 5.80, False),
    (236, "AFGHANISTAN", 0.01, False), (101, "ALBANIA", 0.02, False), (316, "ALGERIA", 0.02, False),
    (102, "ANDORRA", 0.005, True), (324, "ANGOLA", 0.02, False), (687, "ARGENTINA ", 2.43, False),
    (151, "ARMENIA", 0.01, False), (532, "ARUBA", 0.03, False), (438, "AUSTRALIA", 3.63, True),
    (103, "AUSTRIA", 0.50, True), (512, "BAHAMAS", 0.48, False), (274, "BANGLADESH", 0.04, False),
    (513, "BARBADOS", 0.05, False), (104, "BELGIUM", 0.67, True), (581, "BELIZE", 0.04, False),
    (509, "BERMUDA", 0.05, False), (688, "BOLIVIA", 0.08, False),
    (717, "BONAIRE, ST EUSTATIUS, SABA", 0.01, False), (689, "BRAZIL", 4.36, False),
    (105, "BULGARIA", 0.05, False), (243, "BURMA", 0.03, False), (310, "CAMEROON", 0.02, False),
    (690, "CHILE", 0.78, True), (245, "CHINA, PRC", 5.99, False), (691, "COLOMBIA", 1.75, False),
    (575, "COSTA RICA", 0.58, False), (165, "CROATIA", 0.06, False), (721, "CURACAO", 0.04, False),
    (108, "DENMARK", 0.79, True), (585, "DOMINICAN REPUBLIC", 0.80, False),
    (692, "ECUADOR", 1.37, False), (576, "EL SALVADOR", 0.45, False), (110, "FINLAND", 0.37, True),
    (111, "FRANCE", 5.99, True), (112, "GERMANY", 5.06, True), (577, "GUATEMALA", 0.56, False),
    (528, "HONDURAS", 0.45, False), (213, "INDIA", 3.46, False), (116, "IRELAND", 0.97, True),
    (251, "ISRAEL", 1.40, False), (117, "ITALY", 2.12, True), (514, "JAMAICA", 0.62, False),
    (209, "JAPAN", 8.05, True), (120, "LITHUANIA", 0.10, True), (123, "NETHERLANDS", 2.41, True),
    (464, "NEW ZEALAND", 0.77, True), (343, "NIGERIA", 0.45, False), (124, "NORWAY", 0.65, True),
    (504, "PANAMA", 0.37, False), (694, "PERU", 0.68, False), (260, "PHILIPPINES", 0.85, False),
    (107, "POLAND", 0.52, False), (158, "RUSSIA", 0.72, False), (207, "SINGAPORE", 0.37, True),
    (276, "SOUTH KOREA", 4.40, True), (129, "SPAIN", 1.59, True), (130, "SWEDEN", 1.46, True),
    (131, "SWITZERLAND", 1.55, True), (268, "TAIWAN", 0.97, True), (263, "THAILAND", 0.47, False),
    (264, "TURKEY", 0.54, False), (135, "UNITED KINGDOM", 11.90, True),
    (696, "VENEZUELA", 1.32, False),
]
# Citizenship codes that are NOT in the label file, though frequent in i94cit (the residence is
# then the country): residence code -> (citizenship code, share of that country's arrivals).
CITIZENSHIP_ALIASES = {
    112: (148, 0.94), 276: (254, 0.98), 209: (252, 0.165), 158: (746, 0.97), 264: (133, 0.98),
    135: (180, 0.011), 120: (734, 0.90), 243: (718, 0.95),
}
CITIZENSHIP_OTHER_SHARE = 0.043  # citizenship of another listed country than the residence
# Invalid codes of the label file: (code, label name, % of arrivals as citizenship).
INVALID_COUNTRIES = [
    (574, "INVALID: CANADA", 0.209), (999, "INVALID: UNKNOWN", 0.029),
    (311, "Collapsed Tanzania (should not show)", 0.013), (407, "INVALID: UNITED STATES", 0.004),
    (404, "INVALID: GUAM", 0.0), (583, "INVALID: UNITED STATES", 0.0), (0, "INVALID: STATELESS", 0.0),
    (712, "INVALID: ANTARCTICA", 0.0), (741, "Collapsed Curacao (should not show)", 0.0),
    (200, "No Country Code (200)", 0.0), (219, "No Country Code (219)", 0.0),
    (996, "No Country Code (996)", 0.0),
]

# i94addr: the 54 valid codes of the label file (+ '99'), with the full names used elsewhere.
STATES = [
    ("AL", "ALABAMA", "Alabama"), ("AK", "ALASKA", "Alaska"), ("AZ", "ARIZONA", "Arizona"),
    ("AR", "ARKANSAS", "Arkansas"), ("CA", "CALIFORNIA", "California"),
    ("CO", "COLORADO", "Colorado"), ("CT", "CONNECTICUT", "Connecticut"),
    ("DE", "DELAWARE", "Delaware"), ("DC", "DIST. OF COLUMBIA", "District of Columbia"),
    ("FL", "FLORIDA", "Florida"), ("GA", "GEORGIA", "Georgia"), ("GU", "GUAM", "Guam"),
    ("HI", "HAWAII", "Hawaii"), ("ID", "IDAHO", "Idaho"), ("IL", "ILLINOIS", "Illinois"),
    ("IN", "INDIANA", "Indiana"), ("IA", "IOWA", "Iowa"), ("KS", "KANSAS", "Kansas"),
    ("KY", "KENTUCKY", "Kentucky"), ("LA", "LOUISIANA", "Louisiana"), ("ME", "MAINE", "Maine"),
    ("MD", "MARYLAND", "Maryland"), ("MA", "MASSACHUSETTS", "Massachusetts"),
    ("MI", "MICHIGAN", "Michigan"), ("MN", "MINNESOTA", "Minnesota"),
    ("MS", "MISSISSIPPI", "Mississippi"), ("MO", "MISSOURI", "Missouri"),
    ("MT", "MONTANA", "Montana"), ("NC", "N. CAROLINA", "North Carolina"),
    ("ND", "N. DAKOTA", "North Dakota"), ("NE", "NEBRASKA", "Nebraska"), ("NV", "NEVADA", "Nevada"),
    ("NH", "NEW HAMPSHIRE", "New Hampshire"), ("NJ", "NEW JERSEY", "New Jersey"),
    ("NM", "NEW MEXICO", "New Mexico"), ("NY", "NEW YORK", "New York"), ("OH", "OHIO", "Ohio"),
    ("OK", "OKLAHOMA", "Oklahoma"), ("OR", "OREGON", "Oregon"),
    ("PA", "PENNSYLVANIA", "Pennsylvania"), ("PR", "PUERTO RICO", "Puerto Rico"),
    ("RI", "RHODE ISLAND", "Rhode Island"), ("SC", "S. CAROLINA", "South Carolina"),
    ("SD", "S. DAKOTA", "South Dakota"), ("TN", "TENNESSEE", "Tennessee"), ("TX", "TEXAS", "Texas"),
    ("UT", "UTAH", "Utah"), ("VT", "VERMONT", "Vermont"), ("VI", "VIRGIN ISLANDS", "Virgin Islands"),
    ("VA", "VIRGINIA", "Virginia"), ("WV", "W. VIRGINIA", "West Virginia"),
    ("WA", "WASHINGTON", "Washington"), ("WI", "WISCONSON", "Wisconsin"),
    ("WY", "WYOMING", "Wyoming"),
]
STATE_NAMES = {code: full for code, _, full in STATES}
# % of arrivals by intended state (states not listed share what is left).
ADDRESS_SHARE = {
    "FL": 20.1, "NY": 17.9, "CA": 15.2, "HI": 5.5, "TX": 4.3, "NV": 3.7, "GU": 3.0, "IL": 2.65,
    "NJ": 2.47, "MA": 2.28, "WA": 1.8, "GA": 1.44, "MI": 1.04, "VA": 1.01, "PA": 0.98, "DC": 0.91,
    "NE": 0.86, "MD": 0.82, "NC": 0.75, "LA": 0.73, "AZ": 0.65, "OH": 0.58, "CO": 0.51, "CT": 0.45,
    "OR": 0.41, "TN": 0.39, "IN": 0.36, "MN": 0.36, "SC": 0.32, "99": 0.002,
}
ADDRESS_AT_PORT_STATE = 0.6  # share of arrivals whose intended state is the port's state
ADDRESS_NULL = 0.049
# Invalid i94addr codes seen in the data, with their weights; 0.86 % of arrivals in all.
INVALID_ADDRESSES = {"US": 74, "MP": 45, "VQ": 45, "UN": 15, "TE": 8, "HA": 7, "GQ": 7, "GE": 7,
                     "XX": 4, "TR": 3, "LO": 3, "NB": 3, "RQ": 3, "SO": 2, "JF": 2}
ADDRESS_INVALID = 0.0086

# Ports of entry (CBP port codes, not IATA codes): (code, label name, % of arrivals, kind),
# kind: A air, L land border, M air and land, S sea and air, X unknown.
PORTS = [
    ("NYC", "NEW YORK, NY", 15.69, "A"), ("MIA", "MIAMI, FL", 11.11, "S"),
    ("LOS", "LOS ANGELES, CA", 10.02, "A"), ("SFR", "SAN FRANCISCO, CA", 4.93, "A"),
    ("ORL", "ORLANDO, FL", 4.82, "A"), ("HHW", "HONOLULU, HI", 4.61, "S"),
    ("NEW", "NEWARK/TETERBORO, NJ", 4.40, "A"), ("CHI", "CHICAGO, IL", 4.22, "A"),
    ("HOU", "HOUSTON, TX", 3.28, "S"), ("FTL", "FORT LAUDERDALE, FL", 3.10, "S"),
    ("ATL", "ATLANTA, GA", 2.99, "A"), ("LVG", "LAS VEGAS, NV", 2.88, "A"),
    ("AGA", "AGANA, GU", 2.61, "A"), ("WAS", "WASHINGTON DC", 2.42, "A"),
    ("DAL", "DALLAS, TX", 2.32, "A"), ("BOS", "BOSTON, MA", 1.85, "A"),
    ("SEA", "SEATTLE, WA", 1.54, "A"), ("PHO", "PHOENIX, AZ", 1.26, "A"),
    ("DET", "DETROIT, MI", 1.22, "M"), ("TAM", "TAMPA, FL", 0.83, "A"),
    ("PHI", "PHILADELPHIA, PA", 0.81, "A"), ("DUB", "DUBLIN, IRELAND", 0.79, "A"),
    ("SAI", "SAIPAN, SPN", 0.76, "A"), ("TOR", "TORONTO, CANADA", 0.67, "A"),
    ("DEN", "DENVER, CO", 0.59, "A"), ("MAA", "Abu Dhabi", 0.59, "A"),
    ("PSP", "PALM SPRINGS, CA", 0.59, "A"), ("FMY", "FORT MYERS, FL", 0.57, "A"),
    ("SPM", "ST PAUL, MN", 0.55, "A"), ("CLT", "CHARLOTTE, NC", 0.52, "A"),
    ("OGG", "KAHULUI - MAUI, HI", 0.43, "A"), ("NAS", "NASSAU, BAHAMAS", 0.42, "A"),
    ("VCV", "VANCOUVER, CANADA", 0.41, "A"), ("BLA", "BLAINE, WA", 0.36, "L"),
    ("SDP", "SAN DIEGO, CA", 0.35, "A"), ("SFB", "SANFORD, FL", 0.33, "A"),
    ("SAJ", "SAN JUAN, PR", 0.30, "S"), ("WPB", "WEST PALM BEACH, FL", 0.29, "S"),
    ("SNA", "SAN ANTONIO, TX", 0.23, "A"), ("NIA", "NIAGARA FALLS, NY", 0.20, "L"),
    ("MON", "MONTREAL, CANADA", 0.19, "A"), ("HAM", "HAMILTON, BERMUDA", 0.17, "A"),
    ("NCA", "NORTH CAICOS, TURK & CAIMAN", 0.17, "A"), ("CHM", "CHAMPLAIN, NY", 0.17, "L"),
    ("SLC", "SALT LAKE CITY, UT", 0.17, "A"), ("POO", "PORTLAND, OR", 0.16, "A"),
    ("SNJ", "SAN JOSE, CA", 0.15, "A"), ("NOL", "NEW ORLEANS, LA", 0.14, "S"),
    ("KOA", "KEAHOLE-KONA, HI", 0.13, "A"), ("PBB", "PEACE BRIDGE, NY", 0.13, "L"),
    ("SRQ", "BRADENTON - SARASOTA, FL", 0.13, "A"), ("XXX", "NOT REPORTED/UNKNOWN", 0.11, "X"),
    ("OAK", "OAKLAND, CA", 0.11, "A"), ("BAL", "BALTIMORE, MD", 0.11, "S"),
    ("CLG", "CALGARY, CANADA", 0.10, "A"), ("AUS", "AUSTIN, TX", 0.10, "A"),
    ("SHA", "SHANNON, IRELAND", 0.10, "A"), ("SYS", "SAN YSIDRO, CA", 0.09, "L"),
    ("LEW", "LEWISTON, NY", 0.08, "L"), ("X96", "No PORT Code (X96)", 0.077, "X"),
    ("LIH", "LIHUE, HI", 0.07, "A"), ("SAC", "SACRAMENTO, CA", 0.07, "A"),
    ("RDU", "RALEIGH/DURHAM, NC", 0.07, "A"), ("OTM", "OTAY MESA, CA", 0.06, "L"),
    ("YGF", "No PORT Code (YGF)", 0.057, "X"), ("STT", "ST THOMAS, VI", 0.056, "S"),
    ("CIN", "CINCINNATI, OH", 0.056, "A"), ("PHU", "PORT HURON, MI", 0.053, "L"),
    ("SAA", "SANTA ANA, CA", 0.052, "A"), ("HIG", "HIGHGATE SPRINGS, VT", 0.051, "L"),
    ("PEV", "PORT EVERGLADES, FL", 0.035, "S"), ("BUF", "BUFFALO, NY", 0.034, "M"),
    ("NOR", "NORFOLK, VA", 0.032, "S"), ("NSV", "NASHVILLE, TN", 0.030, "A"),
    ("LNB", "LONG BEACH, CA", 0.029, "S"), ("DER", "DERBY LINE, VT (I-91)", 0.028, "L"),
    ("PEM", "PEMBINA, ND", 0.027, "L"), ("ONT", "ONTARIO, CA", 0.025, "A"),
    ("YHC", "HAKAI PASS, CANADA", 0.025, "A"), ("SPE", "ST PETERSBURG, FL", 0.025, "A"),
    ("OTT", "OTTAWA, CANADA", 0.021, "A"), ("EDA", "EDMONTON, CANADA", 0.021, "A"),
    ("VIC", "VICTORIA, CANADA", 0.020, "A"), ("CLE", "CLEVELAND, OH", 0.020, "A"),
    ("STL", "ST LOUIS, MO", 0.018, "A"), ("CLM", "COLUMBUS, OH", 0.018, "A"),
    ("PIT", "PITTSBURG, PA", 0.017, "A"), ("MCA", "MCALLEN, TX", 0.017, "M"),
    ("INP", "INDIANAPOLIS, IN", 0.014, "A"), ("BRO", "BROWNSVILLE, TX", 0.013, "L"),
    ("HAL", "Halifax, NS, Canada", 0.012, "A"), ("ANC", "ANCHORAGE, AK", 0.010, "A"),
    ("LAG", "LA GUARDIA, NY", 0.004, "A"), ("BLI", "BELLINGHAM, WASHINGTON #INTL", 0.005, "A"),
    ("APF", "NAPLES, FL #ARPT", 0.004, "A"), ("ASE", "ASPEN, CO #ARPT", 0.003, "A"),
    ("ALC", "ALCAN, AK", 0.003, "L"), ("CAE", "COLUMBIA, SC #ARPT", 0.002, "A"),
    ("HEF", "MANASSAS, VA #ARPT", 0.002, "A"), ("HSV", "MADISON COUNTY - HUNTSVILLE, AL", 0.002, "A"),
    ("MOB", "MOBILE, AL", 0.002, "S"), ("UNK", "UNKNOWN POE", 0.002, "X"),
    ("LIA", "LITTLE ROCK, AR (BPS)", 0.001, "A"), ("SLS", "SALINAS, CA (BPS)", 0.0005, "A"),
    ("HOM", "HOMER, AK", 0.0005, "S"), ("888", "UNIDENTIFED AIR / SEAPORT", 0.001, "X"),
    ("CUN", "CANCUN, MEXICO", 0.001, "A"), ("MEX", "JUAREZ INTL, MEXICO CITY, MX", 0.001, "A"),
    ("BOG", "BOGOTA, EL DORADO #ARPT, COLOMBIA", 0.0005, "A"),
    ("IWA", "INVALID - IWAKUNI, JAPAN", 0.0001, "X"), ("GTF", "Collapsed into INT, MN", 0.0002, "A"),
    ("BUS", "Collapsed (BUF) 06/15", 0.0003, "L"),
    ("CP ", "No PORT Code (CP)", 0.0, "X"), ("NK", "No PORT Code (NK)", 0.0, "X"),
]
UNLISTED_PORTS = ["ZZX", "QQA", "4XB"]  # codes in no label file (the i94port_not_in_labels trap)
# P(mode 1, 2, 3) by port kind; then 9 (not reported) and null replace a few.
MODE_BY_KIND = {"A": (0.995, 0.005, 0.0), "L": (0.02, 0.0, 0.98), "M": (0.90, 0.0, 0.10),
                "S": (0.975, 0.025, 0.0), "X": (0.30, 0.60, 0.10)}
MODE_NOT_REPORTED = 0.0028
MODE_NULL = 0.00008

# Visa types: (type, category code, % in visa-waiver countries, % elsewhere, median stay in
# days, P(null depdate), days admitted (dtaddto), P(dtaddto = 'D/S')).
VISA_TYPES = [
    ("WT", 2, 80.0, 0.0, 7, 0.045, 90, 0.0), ("WB", 1, 17.5, 0.0, 5, 0.02, 90, 0.0),
    ("B2", 2, 0.5, 72.0, 10, 0.11, 183, 0.0), ("B1", 1, 0.2, 13.0, 6, 0.05, 183, 0.0),
    ("GMT", 2, 0.8, 4.0, 3, 0.17, 45, 0.0), ("GMB", 1, 0.005, 0.005, 3, 0.18, 45, 0.0),
    ("F1", 3, 0.3, 2.5, 57, 0.45, 365, 0.998), ("F2", 3, 0.05, 0.2, 46, 0.60, 365, 1.0),
    ("M1", 3, 0.02, 0.08, 64, 0.60, 120, 0.002), ("M2", 3, 0.0, 0.003, 45, 0.60, 120, 0.0),
    ("E2", 1, 0.4, 0.8, 33, 0.27, 730, 0.0), ("E1", 1, 0.08, 0.15, 33, 0.25, 730, 0.01),
    ("I", 1, 0.15, 0.1, 7, 0.11, 365, 0.99), ("I1", 1, 0.01, 0.01, 7, 0.14, 365, 0.8),
    ("CP", 2, 0.0, 0.9, 4, 0.30, 30, 0.0), ("CPL", 2, 0.0, 0.001, 9, 0.30, 30, 0.0),
    ("SBP", 2, 0.0, 0.001, 12, 0.80, 90, 0.0),
]
VISA_CATEGORIES = {1: "Business", 2: "Pleasure", 3: "Student"}
STUDENT_SEASON = {1: 2.0, 8: 4.0, 9: 1.8, 12: 0.8}  # student visas by month (else 1)
STAY_SIGMA = 0.9  # log-normal spread of the stay around its median

AGE_QUANTILES = ([0, .01, .05, .10, .25, .50, .75, .90, .95, .99, 1],
                 [0, 3, 11, 19, 30, 41, 54, 65, 70, 79, 100])
AGE_NULL = 0.00026
WEEKDAY_WEIGHTS = [1.0, 0.93, 0.90, 1.0, 1.05, 1.07, 1.02]  # Monday .. Sunday
GENDERS = {"M": 44.5, "F": 42.1, "X": 0.05, "U": 0.015, None: 13.4}
ENTDEPA = {"G": 77.5, "O": 13.3, "A": 3.5, "Z": 2.1, "T": 2.0, "K": 0.55, "P": 0.46, "H": 0.46,
           "U": 0.08, "B": 0.013, "N": 0.008, "M": 0.001, None: 0.008}
ENTDEPD = {"O": 87.0, "I": 3.4, "D": 3.3, "N": 2.6, "K": 2.4, "Q": 1.8, "R": 1.45, "J": 0.06,
           "V": 0.025, "L": 0.0015, "M": 0.0005}
WITHDRAWN_SHARE = 0.03  # rows without depdate flagged 'W' (and matched)
ENTDEPU_U = 0.00013
DTADFILE_LATE = 0.04  # dtadfile 60-70 days after arrival (else the same or the next day)
DTADDTO_NULL = 0.00015
JUNK_DTADDTO = ["/   183D", "183", "06 02002", "10 02003"]
AIRLINES = {"AA": 10.0, "UA": 8.5, "DL": 8.2, "BA": 6.2, "LH": 3.9, "VS": 3.7, "AF": 2.6,
            "KE": 2.3, "JL": 2.2, "AM": 1.9, "EK": 1.8, "CM": 1.6, "B6": 1.6, "AV": 1.6, "JJ": 1.5,
            "LA": 1.4, "QF": 1.4, "NH": 1.3, "KL": 1.3, "SK": 1.3, "DY": 1.2, "Y4": 1.1, "OZ": 1.1,
            "LX": 1.1, "CX": 1.1, "AC": 1.0, "IB": 1.0, "TK": 1.0, "QR": 0.9, "EY": 0.8, "CA": 0.8,
            "MU": 0.7, "CZ": 0.7, "BR": 0.6, "CI": 0.6, "NZ": 0.5, "EI": 0.5, "SQ": 0.4, "AZ": 0.4,
            "*GA": 0.2, "*FX": 0.05}
FLTNO_NULL = 0.006
VISAPOSTS = ["MEX", "SPL", "BNS", "GUZ", "BGT", "CRS", "BEJ", "SHG", "GDL", "RDJ", "MTR", "DOH",
             "SEO", "TKY", "BMB", "NWD", "MDR", "QTO", "LMA", "SDO", "KGL", "CHN", "MNL", "HCM"]
OCCUPATIONS = ["STU", "OTH", "NRR", "MKT", "EXA", "GLS", "ULS", "ADM", "TIE", "MVC"]
INSNUM_SHARE = 0.037
SHORT_ADMNUM = 0.03  # admission numbers of 9-10 digits; the rest have 11

# Rare traps planted at a fixed rate per row, at least one per month.
RARE_TRAPS = {
    "depdate_before_arrival": 375 / 3_096_313, "depdate_absurd": 1e-6, "dtaddto_junk": 1.5e-6,
    "i94mode_zero": 1e-7, "i94port_not_in_labels": 2e-6, "arrdate_outside_month": 1e-5,
    "cicid_null": 3e-7,
}

# US cities: (city, state code, population, foreign-born, median age, latitude, longitude,
# annual mean temperature °C, half the July-January difference °C).
CITIES = [
    ("New York", "NY", 8550405, 3212500, 36.0, 40.71, -74.01, 12.5, 11.5),
    ("Los Angeles", "CA", 3971896, 1485425, 35.0, 34.05, -118.24, 18.5, 4.0),
    ("Chicago", "IL", 2720556, 573463, 34.2, 41.88, -87.63, 10.0, 14.0),
    ("Houston", "TX", 2298628, 696210, 32.6, 29.76, -95.37, 21.0, 8.5),
    ("Philadelphia", "PA", 1567442, 205339, 34.1, 39.95, -75.17, 13.0, 11.5),
    ("Phoenix", "AZ", 1563001, 300702, 33.8, 33.45, -112.07, 23.5, 10.5),
    ("San Antonio", "TX", 1469824, 208046, 33.1, 29.42, -98.49, 21.0, 8.5),
    ("San Diego", "CA", 1394907, 373842, 34.5, 32.72, -117.16, 17.5, 3.5),
    ("Dallas", "TX", 1300082, 326825, 32.6, 32.78, -96.80, 19.5, 10.5),
    ("San Jose", "CA", 1026919, 401493, 36.5, 37.34, -121.89, 16.0, 5.0),
    ("Austin", "TX", 931840, 181686, 32.7, 30.27, -97.74, 20.5, 9.0),
    ("Jacksonville", "FL", 868031, 92830, 35.8, 30.33, -81.66, 20.5, 7.5),
    ("San Francisco", "CA", 864816, 297199, 38.3, 37.77, -122.42, 14.5, 3.5),
    ("Indianapolis", "IN", 848423, 72456, 34.1, 39.77, -86.16, 11.5, 13.0),
    ("Columbus", "OH", 849067, 101129, 32.5, 39.96, -83.00, 11.5, 12.5),
    ("Fort Worth", "TX", 833297, 136538, 32.4, 32.76, -97.33, 19.0, 10.5),
    ("Charlotte", "NC", 827121, 128897, 34.3, 35.23, -80.84, 16.0, 10.0),
    ("Seattle", "WA", 684443, 119840, 35.5, 47.61, -122.33, 11.5, 7.0),
    ("Denver", "CO", 682545, 113222, 34.1, 39.74, -104.99, 10.0, 11.0),
    ("El Paso", "TX", 681136, 159709, 33.1, 31.76, -106.49, 18.0, 10.0),
    ("Detroit", "MI", 677124, 39861, 34.8, 42.33, -83.05, 10.0, 13.0),
    ("Washington", "DC", 672228, 95117, 33.8, 38.91, -77.04, 14.5, 11.0),
    ("Boston", "MA", 669469, 190123, 31.8, 42.36, -71.06, 10.5, 12.0),
    ("Memphis", "TN", 655760, 43318, 34.1, 35.15, -90.05, 17.0, 11.0),
    ("Nashville", "TN", 654596, 88193, 34.1, 36.16, -86.78, 15.5, 11.0),
    ("Portland", "OR", 632187, 86041, 36.7, 45.52, -122.68, 12.5, 7.5),
    ("Oklahoma City", "OK", 631263, 69275, 34.2, 35.47, -97.52, 15.5, 12.0),
    ("Las Vegas", "NV", 623769, 127609, 37.5, 36.17, -115.14, 20.0, 12.0),
    ("Baltimore", "MD", 621849, 49857, 34.7, 39.29, -76.61, 13.5, 11.5),
    ("Louisville/Jefferson County", "KY", 615366, 47222, 37.5, 38.25, -85.76, 14.0, 12.0),
    ("Milwaukee", "WI", 600155, 58497, 31.0, 43.04, -87.91, 8.5, 14.0),
    ("Albuquerque", "NM", 559131, 58200, 36.0, 35.08, -106.65, 14.0, 11.0),
    ("Tucson", "AZ", 531674, 82220, 33.6, 32.22, -110.97, 21.0, 9.5),
    ("Fresno", "CA", 520159, 107290, 30.4, 36.74, -119.79, 17.5, 9.5),
    ("Sacramento", "CA", 490715, 112579, 33.7, 38.58, -121.49, 16.5, 8.0),
    ("Mesa", "AZ", 471833, 57127, 36.9, 33.42, -111.83, 23.0, 10.5),
    ("Kansas City", "MO", 475361, 37787, 35.9, 39.10, -94.58, 13.0, 13.0),
    ("Long Beach", "CA", 474172, 127764, 34.6, 33.77, -118.19, 18.5, 4.0),
    ("Atlanta", "GA", 463875, 32016, 33.8, 33.75, -84.39, 17.0, 9.5),
    ("Colorado Springs", "CO", 456576, 33393, 35.1, 38.83, -104.82, 10.0, 10.5),
    ("Raleigh", "NC", 451949, 65125, 32.8, 35.78, -78.64, 16.0, 10.0),
    ("Miami", "FL", 440989, 260789, 40.4, 25.76, -80.19, 25.2, 4.0),
    ("Virginia Beach", "VA", 452745, 40061, 35.6, 36.85, -75.98, 16.0, 10.0),
    ("Omaha", "NE", 443887, 46293, 34.5, 41.26, -95.93, 10.5, 14.5),
    ("Oakland", "CA", 419278, 113896, 35.7, 37.80, -122.27, 15.0, 4.0),
    ("Minneapolis", "MN", 410935, 70769, 32.4, 44.98, -93.27, 7.5, 16.0),
    ("Tulsa", "OK", 403507, 42209, 35.6, 36.15, -95.99, 16.0, 12.0),
    ("Arlington", "TX", 388122, 79271, 32.6, 32.74, -97.11, 19.5, 10.5),
    ("New Orleans", "LA", 389617, 21679, 35.9, 29.95, -90.07, 21.0, 7.5),
    ("Cleveland", "OH", 388059, 18830, 36.0, 41.50, -81.69, 10.5, 12.5),
    ("Wichita", "KS", 389965, 40790, 33.6, 37.69, -97.34, 14.0, 13.0),
    ("Tampa", "FL", 369028, 58795, 35.3, 27.95, -82.46, 23.0, 5.5),
    ("Aurora", "CO", 358870, 65816, 34.2, 39.73, -104.83, 10.0, 11.0),
    ("Anaheim", "CA", 350742, 130592, 34.0, 33.84, -117.91, 18.0, 4.5),
    ("Urban Honolulu", "HI", 352766, 101312, 41.4, 21.31, -157.86, 25.5, 2.0),
    ("Santa Ana", "CA", 335423, 152999, 30.8, 33.75, -117.87, 18.0, 4.0),
    ("Riverside", "CA", 319504, 73090, 31.2, 33.95, -117.40, 18.5, 7.0),
    ("Corpus Christi", "TX", 324082, 24397, 34.9, 27.80, -97.40, 22.0, 7.5),
    ("Lexington-Fayette", "KY", 314488, 28301, 34.2, 38.04, -84.50, 13.0, 11.5),
    ("Pittsburgh", "PA", 304385, 28187, 32.9, 40.44, -79.99, 11.0, 12.0),
    ("Anchorage", "AK", 298695, 33258, 32.2, 61.22, -149.90, 2.5, 11.5),
    ("Stockton", "CA", 305650, 75005, 31.8, 37.96, -121.29, 16.5, 8.0),
    ("Cincinnati", "OH", 298537, 16896, 32.7, 39.10, -84.51, 12.5, 12.0),
    ("Saint Paul", "MN", 300840, 56514, 31.5, 44.95, -93.09, 7.5, 16.0),
    ("Newark", "NJ", 281913, 86253, 34.6, 40.74, -74.17, 12.5, 11.5),
    ("Orlando", "FL", 270917, 50558, 33.1, 28.54, -81.38, 22.8, 6.0),
    ("Buffalo", "NY", 258066, 24630, 33.1, 42.89, -78.88, 9.0, 12.5),
    ("Plano", "TX", 283558, 66420, 38.1, 33.02, -96.70, 19.0, 10.5),
    ("Henderson", "NV", 285670, 45069, 40.6, 36.04, -114.98, 20.0, 12.0),
    ("Jersey City", "NJ", 264277, 109186, 34.3, 40.73, -74.08, 12.5, 11.5),
    ("Durham", "NC", 257598, 38642, 33.2, 35.99, -78.90, 15.5, 10.0),
    ("Laredo", "TX", 255789, 68427, 28.8, 27.51, -99.51, 23.0, 8.5),
    ("Madison", "WI", 248956, 28367, 31.0, 43.07, -89.40, 8.0, 14.5),
    ("Norfolk", "VA", 246393, 16702, 30.2, 36.85, -76.29, 16.0, 10.0),
    ("Hialeah", "FL", 237082, 170148, 43.0, 25.86, -80.28, 25.0, 4.0),
    ("Arlington", "VA", 229164, 55205, 34.4, 38.88, -77.10, 14.5, 11.0),
    ("Irvine", "CA", 258386, 104713, 33.3, 33.68, -117.83, 17.5, 4.0),
    ("Scottsdale", "AZ", 236836, 24011, 46.0, 33.49, -111.93, 23.0, 10.5),
    ("Boise City", "ID", 218281, 14934, 35.9, 43.62, -116.21, 11.0, 12.0),
    ("Richmond", "VA", 220289, 16426, 32.5, 37.54, -77.44, 14.5, 11.0),
    ("Spokane", "WA", 215973, 11903, 35.5, 47.66, -117.43, 8.5, 11.5),
    ("Des Moines", "IA", 210330, 22727, 33.7, 41.59, -93.62, 10.0, 14.5),
    ("Aurora", "IL", 203715, 50980, 31.7, 41.76, -88.32, 9.5, 14.0),
    ("Columbus", "GA", 200579, 10376, 33.7, 32.46, -84.99, 18.5, 9.0),
    ("Salt Lake City", "UT", 192660, 32166, 32.1, 40.76, -111.89, 11.5, 13.0),
    ("Little Rock", "AR", 198541, 14232, 35.4, 34.75, -92.29, 17.0, 11.0),
    ("Providence", "RI", 179204, 53117, 29.8, 41.82, -71.41, 10.5, 11.5),
    ("Fort Lauderdale", "FL", 178587, 47582, 42.8, 26.12, -80.14, 25.0, 4.0),
    ("Brownsville", "TX", 183888, 53301, 30.6, 25.90, -97.50, 23.5, 6.5),
    ("Springfield", "MO", 166798, 7765, 34.1, 37.21, -93.29, 13.5, 11.5),
    ("Springfield", "MA", 154336, 16226, 31.8, 42.10, -72.59, 9.5, 12.5),
    ("Springfield", "IL", 117809, 4264, 38.8, 39.78, -89.65, 11.5, 13.5),
    ("Kansas City", "KS", 151261, 25507, 33.4, 39.11, -94.63, 13.0, 13.0),
    ("McAllen", "TX", 140253, 37691, 32.3, 26.20, -98.23, 23.5, 7.0),
    ("Hartford", "CT", 124006, 27035, 30.5, 41.76, -72.68, 10.0, 12.5),
    ("Saint Petersburg", "FL", 257083, 27853, 42.4, 27.77, -82.64, 23.0, 5.5),
    ("Miami Beach", "FL", 92311, 49908, 42.5, 25.79, -80.13, 25.2, 4.0),
    ("West Palm Beach", "FL", 106782, 30675, 39.6, 26.72, -80.05, 24.5, 4.5),
    ("Fort Myers", "FL", 74015, 15365, 37.3, 26.64, -81.87, 24.0, 5.0),
    ("Portland", "ME", 66872, 9229, 40.3, 43.66, -70.26, 7.5, 12.5),
    ("Ontario", "CA", 171200, 48557, 31.0, 34.06, -117.65, 18.0, 6.5),
    ("San Juan", "PR", 342237, None, 41.4, 18.47, -66.11, 26.5, 1.5),
    ("Caguas", "PR", 136032, None, 40.1, 18.23, -66.04, 25.0, 1.5),
    ("Bayamón", "PR", 180664, None, 39.8, 18.40, -66.16, 26.0, 1.5),
]
NULL_SEX_CITIES = {("The Villages", "FL")}  # a city whose male/female populations are unknown
EXTRA_DEMOGRAPHIC_CITIES = [("The Villages", "FL", 72590, 4034, 70.5, 28.93, -81.96, 22.0, 6.5)]
RACES = ["White", "Hispanic or Latino", "Black or African-American", "Asian",
         "American Indian and Alaska Native"]

# Real airports whose IATA code equals a big I94 port's code: the port-to-IATA join trap.
# (ident, type, name, elevation, continent, country, region, municipality, iata, lat, lon)
AIRPORTS = [
    ("KJFK", "large_airport", "John F Kennedy International Airport", 13, "NA", "US", "US-NY", "New York", "JFK", 40.639801, -73.7789),
    ("KLGA", "large_airport", "La Guardia Airport", 21, "NA", "US", "US-NY", "New York", "LGA", 40.777199, -73.872597),
    ("KEWR", "large_airport", "Newark Liberty International Airport", 18, "NA", "US", "US-NJ", "Newark", "EWR", 40.692501, -74.168701),
    ("KLAX", "large_airport", "Los Angeles International Airport", 125, "NA", "US", "US-CA", "Los Angeles", "LAX", 33.942501, -118.407997),
    ("KSFO", "large_airport", "San Francisco International Airport", 13, "NA", "US", "US-CA", "San Francisco", "SFO", 37.618999, -122.375),
    ("KMIA", "large_airport", "Miami International Airport", 8, "NA", "US", "US-FL", "Miami", "MIA", 25.79319953918457, -80.29060363769531),
    ("KMCO", "large_airport", "Orlando International Airport", 96, "NA", "US", "US-FL", "Orlando", "MCO", 28.429399490356445, -81.30899810791016),
    ("KORL", "medium_airport", "Executive Airport", 113, "NA", "US", "US-FL", "Orlando", "ORL", 28.5455, -81.332901),
    ("PHNL", "large_airport", "Daniel K Inouye International Airport", 13, "OC", "US", "US-HI", "Honolulu", "HNL", 21.32062, -157.924228),
    ("KORD", "large_airport", "Chicago O'Hare International Airport", 672, "NA", "US", "US-IL", "Chicago", "ORD", 41.9786, -87.9048),
    ("KIAH", "large_airport", "George Bush Intercontinental Houston Airport", 97, "NA", "US", "US-TX", "Houston", "IAH", 29.984399795532227, -95.34140014648438),
    ("KHOU", "medium_airport", "William P Hobby Airport", 46, "NA", "US", "US-TX", "Houston", "HOU", 29.64539909, -95.27890015),
    ("KFLL", "large_airport", "Fort Lauderdale Hollywood International Airport", 9, "NA", "US", "US-FL", "Fort Lauderdale", "FLL", 26.072599, -80.152702),
    ("KATL", "large_airport", "Hartsfield Jackson Atlanta International Airport", 1026, "NA", "US", "US-GA", "Atlanta", "ATL", 33.6367, -84.428101),
    ("KLAS", "large_airport", "McCarran International Airport", 2181, "NA", "US", "US-NV", "Las Vegas", "LAS", 36.08010101, -115.1520004),
    ("KIAD", "large_airport", "Washington Dulles International Airport", 312, "NA", "US", "US-DC", "Washington", "IAD", 38.9445, -77.455803),
    ("KDFW", "large_airport", "Dallas Fort Worth International Airport", 607, "NA", "US", "US-TX", "Dallas-Fort Worth", "DFW", 32.896801, -97.038002),
    ("KDAL", "large_airport", "Dallas Love Field", 487, "NA", "US", "US-TX", "Dallas", "DAL", 32.847099, -96.851799),
    ("KBOS", "large_airport", "General Edward Lawrence Logan International Airport", 20, "NA", "US", "US-MA", "Boston", "BOS", 42.36429977, -71.00520325),
    ("KSEA", "large_airport", "Seattle Tacoma International Airport", 433, "NA", "US", "US-WA", "Seattle", "SEA", 47.449001, -122.308998),
    ("KPHX", "large_airport", "Phoenix Sky Harbor International Airport", 1135, "NA", "US", "US-AZ", "Phoenix", "PHX", 33.43429946899414, -112.01200103759766),
    ("KDTW", "large_airport", "Detroit Metropolitan Wayne County Airport", 645, "NA", "US", "US-MI", "Detroit", "DTW", 42.212398529052734, -83.35340118408203),
    ("KDET", "medium_airport", "Coleman A. Young Municipal Airport", 626, "NA", "US", "US-MI", "Detroit", "DET", 42.40919876, -83.00990295),
    ("KTPA", "large_airport", "Tampa International Airport", 26, "NA", "US", "US-FL", "Tampa", "TPA", 27.975500106811523, -82.533203125),
    ("KPHL", "large_airport", "Philadelphia International Airport", 36, "NA", "US", "US-PA", "Philadelphia", "PHL", 39.87189865112305, -75.24109649658203),
    ("KDEN", "large_airport", "Denver International Airport", 5431, "NA", "US", "US-CO", "Denver", "DEN", 39.861698150635, -104.672996521),
    ("KCLT", "large_airport", "Charlotte Douglas International Airport", 748, "NA", "US", "US-NC", "Charlotte", "CLT", 35.2140007019043, -80.94309997558594),
    ("KSAN", "large_airport", "San Diego International Airport", 17, "NA", "US", "US-CA", "San Diego", "SAN", 32.7336006165, -117.190002441),
    ("KNEW", "medium_airport", "Lakefront Airport", 8, "NA", "US", "US-LA", "New Orleans", "NEW", 30.042400360107, -90.028297424316),
    ("KMSY", "large_airport", "Louis Armstrong New Orleans International Airport", 4, "NA", "US", "US-LA", "New Orleans", "MSY", 29.99340057373047, -90.25800323486328),
    ("PGUM", "large_airport", "Antonio B. Won Pat International Airport", 298, "OC", "GU", "GU-U-A", "Hagåtña, Guam International Airport", "GUM", 13.4834, 144.796005),
    ("DNMM", "large_airport", "Murtala Muhammed International Airport", 135, "AF", "NG", "NG-LA", "Lagos", "LOS", 6.5773701667785645, 3.321160078048706),
    ("GMAA", "medium_airport", "Agadir Inezgane Airport", 89, "AF", "MA", "MA-AGD", "Agadir", "AGA", 30.381399154663086, -9.546279907226562),
    ("MMTM", "medium_airport", "General Francisco Javier Mina International Airport", 80, "NA", "MX", "MX-TAM", "Tampico", "TAM", 22.2964, -97.8659),
    ("CYYZ", "large_airport", "Lester B. Pearson International Airport", 569, "NA", "CA", "CA-ON", "Toronto", "YYZ", 43.6772003174, -79.63059997559999),
]
SMALL_AIRPORTS = 1500  # generated small fields, heliports, … around the cities above
AIRPORT_TYPES = {"small_airport": 2276, "heliport": 1333, "closed": 224, "seaplane_base": 104,
                 "balloonport": 5}
AIRPORT_NAME_WORDS = ["Miller", "Johnson", "Hidden Valley", "Sky Ranch", "Cedar", "Walnut Creek",
                      "Eagle", "Pine Ridge", "Flying W", "Lake", "Mercy Hospital", "County",
                      "Sunrise", "Red Oak", "Twin Oaks", "Meadow", "Windy Hill", "Harbor"]

# Foreign cities of the temperature files: (city, country, latitude, longitude, mean, half-range).
WORLD_CITIES = [
    ("Århus", "Denmark", 56.16, 10.21, 7.5, 8.0), ("London", "United Kingdom", 51.51, -0.13, 10.0, 6.5),
    ("Paris", "France", 48.86, 2.35, 11.0, 7.5), ("Tokyo", "Japan", 35.68, 139.69, 15.0, 10.5),
    ("Mexico", "Mexico", 19.43, -99.13, 16.5, 3.0), ("Toronto", "Canada", 43.65, -79.38, 7.5, 13.5),
    ("São Paulo", "Brazil", -23.55, -46.63, 19.5, -3.0), ("Sydney", "Australia", -33.87, 151.21, 17.5, -4.5),
    ("Abidjan", "Côte D'Ivoire", 5.36, -4.01, 26.5, 1.5), ("Lagos", "Nigeria", 6.52, 3.38, 27.0, 1.5),
    ("Shanghai", "China", 31.23, 121.47, 16.0, 11.5), ("Bombay", "India", 19.08, 72.88, 27.0, 2.0),
]
MAJOR_US_CITIES = ["New York", "Chicago", "Los Angeles"]  # the US cities of the major-city file
GRID_STEP = 1.6  # degrees between the Berkeley Earth grid points of this synthetic file


# ---------------------------------------------------------------------------------------------
# I94 arrivals
# ---------------------------------------------------------------------------------------------

def _cum(weights) -> np.ndarray:
    c = np.cumsum(np.asarray(weights, dtype=float))
    return c / c[-1]


def _pick(rng: np.random.Generator, cum: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(cum, rng.random(n), side="right")


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
    return pa.array(keys, pa.string()), _cum(list(table.values())), none


_COUNTRY_CODES = np.array([c[0] for c in COUNTRIES], dtype=float)
_COUNTRY_CUM = _cum([c[2] for c in COUNTRIES])
_COUNTRY_VWP = np.array([c[3] for c in COUNTRIES])
_ALIAS_CODE = np.array([CITIZENSHIP_ALIASES.get(c[0], (c[0], 0))[0] for c in COUNTRIES], float)
_ALIAS_SHARE = np.array([CITIZENSHIP_ALIASES.get(c[0], (0, 0.0))[1] for c in COUNTRIES])
_INVALID_CODES = np.array([c[0] for c in INVALID_COUNTRIES], dtype=float)
_INVALID_CIT_RATE = sum(c[2] for c in INVALID_COUNTRIES) / 100
_INVALID_CUM = _cum([c[2] for c in INVALID_COUNTRIES])
_IS_INVALID = np.isin(np.arange(1000), _INVALID_CODES)  # by code
_IN_LABELS = np.isin(np.arange(1000), np.concatenate([_COUNTRY_CODES, _INVALID_CODES]))

_PORT_VOCAB = pa.array([p[0] for p in PORTS] + UNLISTED_PORTS, pa.string())
_PORT_CUM = _cum([p[2] for p in PORTS])
_KINDS = list(MODE_BY_KIND)
_PORT_KIND = np.array([_KINDS.index(p[3]) for p in PORTS])
_MODE_CUM = np.array([_cum(MODE_BY_KIND[k]) for k in _KINDS])

_STATE_CODES = [s[0] for s in STATES] + ["99"]
_ADDR_VOCAB = pa.array(_STATE_CODES + list(INVALID_ADDRESSES), pa.string())
_ADDR_CUM = _cum([ADDRESS_SHARE.get(s, 0.1) for s in _STATE_CODES])
_INVALID_ADDR_CUM = _cum(list(INVALID_ADDRESSES.values()))
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
_ENTDEPD_CUM = _cum(list(ENTDEPD.values()))
_AIRLINE_VOCAB, _AIRLINE_CUM, _ = _choice_table(AIRLINES)
# Flight numbers: '00000'..'09999', then the same unpadded, then 'LAND'.
_FLTNO_VOCAB = pa.array([f"{i:05d}" for i in range(10_000)] + [str(i) for i in range(10_000)]
                        + ["LAND"], pa.string())
_INSNUM_VOCAB = pa.array([str(i) for i in range(3600, 3960)], pa.string())


def _visa_cums(month: int) -> tuple[np.ndarray, np.ndarray]:
    boost = np.where(_VISA_CATEGORY == 3, STUDENT_SEASON.get(month, 1.0), 1.0)
    return (_cum(np.array([v[2] for v in VISA_TYPES]) * boost),
            _cum(np.array([v[3] for v in VISA_TYPES]) * boost))


def _plan_traps(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """Row numbers (within the month) of each rare trap: disjoint, at least one each."""
    counts, left = {}, rows
    for name, rate in RARE_TRAPS.items():
        counts[name] = min(left, max(1, round(rate * rows)))
        left -= counts[name]
    rows_at = rng.choice(rows, size=rows - left, replace=False) if rows else np.array([], int)
    bounds = np.cumsum([0] + list(counts.values()))
    return {name: np.sort(rows_at[bounds[i]:bounds[i + 1]]) for i, name in enumerate(counts)}


def _chunk(rng, month: str, start: int, n: int, cicid0: float, plan) -> tuple[pa.Table, dict, dict]:
    """Rows start..start+n-1 of a month, the count of each trap and of nulls per column in them."""
    mon = int(month[5:])
    first = _sas_day(f"{month}-01")
    days = pd.Period(month).days_in_month
    last = first + days - 1
    here = {k: v[(v >= start) & (v < start + n)] - start for k, v in plan.items()}

    cicid = cicid0 + np.cumsum(rng.integers(1, 4, n)).astype(float)

    res_i = _pick(rng, _COUNTRY_CUM, n)
    res = _COUNTRY_CODES[res_i]
    cit = np.where(rng.random(n) < _ALIAS_SHARE[res_i], _ALIAS_CODE[res_i], res)
    other = rng.random(n) < CITIZENSHIP_OTHER_SHARE
    cit[other] = _COUNTRY_CODES[_pick(rng, _COUNTRY_CUM, int(other.sum()))]
    invalid = rng.random(n) < _INVALID_CIT_RATE
    cit[invalid] = _INVALID_CODES[_pick(rng, _INVALID_CUM, int(invalid.sum()))]

    cum_vwp, cum_other = _visa_cums(mon)
    u = rng.random(n)
    visa = np.where(_COUNTRY_VWP[res_i], np.searchsorted(cum_vwp, u, "right"),
                    np.searchsorted(cum_other, u, "right"))

    port = _pick(rng, _PORT_CUM, n)
    mode = 1.0 + (rng.random(n)[:, None] >= _MODE_CUM[_PORT_KIND[port]][:, :2]).sum(axis=1)
    mode[rng.random(n) < MODE_NOT_REPORTED] = 9.0
    mode[rng.random(n) < MODE_NULL] = np.nan

    weekday = (np.arange(days) + pd.Timestamp(f"{month}-01").weekday()) % 7
    arr = first + _pick(rng, _cum(np.array(WEEKDAY_WEIGHTS)[weekday]), n).astype(float)
    stay = np.rint(_VISA_STAY[visa] * np.exp(STAY_SIGMA * rng.standard_normal(n)))
    dep = arr + np.minimum(stay, _VISA_ADMIT[visa] + 30)
    dep[rng.random(n) < _VISA_DEP_NULL[visa]] = np.nan

    age = np.rint(np.interp(rng.random(n), *AGE_QUANTILES))
    age[rng.random(n) < AGE_NULL] = np.nan

    # Planted traps, on disjoint rows.
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
    mode[here["i94mode_zero"]] = 0.0
    port[here["i94port_not_in_labels"]] = len(PORTS) + rng.integers(0, len(UNLISTED_PORTS),
                                                                    len(here["i94port_not_in_labels"]))
    cicid[here["cicid_null"]] = np.nan

    # i94addr: the port's state or the national mix; some null, some invalid.
    port_state = np.where(port < len(PORTS), _PORT_STATE[np.minimum(port, len(PORTS) - 1)], -1)
    addr = np.where((port_state >= 0) & (rng.random(n) < ADDRESS_AT_PORT_STATE), port_state,
                    _pick(rng, _ADDR_CUM, n))
    bad = rng.random(n) < ADDRESS_INVALID
    addr[bad] = len(_STATE_CODES) + _pick(rng, _INVALID_ADDR_CUM, int(bad.sum()))
    addr_null = rng.random(n) < ADDRESS_NULL

    # Dates as text: dtadfile YYYYMMDD, dtaddto MMDDYYYY or D/S or junk.
    filed = arr + np.where(rng.random(n) < DTADFILE_LATE, rng.integers(60, 71, n),
                           (rng.random(n) < 0.02).astype(int))
    dtadfile = _strings(*_day_strings(filed.astype(np.int64), "%Y%m%d"))
    until_idx, until_vocab = _day_strings((arr + _VISA_ADMIT[visa]).astype(np.int64), "%m%d%Y")
    ds = rng.random(n) < _VISA_DS[visa]
    until_idx[ds] = len(until_vocab)
    junk = here["dtaddto_junk"]
    until_idx[junk] = len(until_vocab) + 1 + rng.integers(0, len(JUNK_DTADDTO), len(junk))
    until_null = rng.random(n) < DTADDTO_NULL
    until_null[junk] = False
    dtaddto = _strings(until_idx, until_vocab + ["D/S"] + JUNK_DTADDTO, until_null)

    departed = ~np.isnan(dep)
    withdrawn = ~departed & (rng.random(n) < WITHDRAWN_SHARE)
    entdepd_idx = np.where(withdrawn, len(ENTDEPD), _pick(rng, _ENTDEPD_CUM, n))
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

    cols = {
        "cicid": cicid, "i94yr": np.full(n, 2016.0), "i94mon": np.full(n, float(mon)),
        "i94cit": cit, "i94res": res, "i94port": _strings(port, _PORT_VOCAB), "arrdate": arr,
        "i94mode": mode, "i94addr": _strings(addr, _ADDR_VOCAB, addr_null), "depdate": dep,
        "i94bir": age, "i94visa": _VISA_CATEGORY[visa], "count": np.ones(n),
        "dtadfile": dtadfile,
        "visapost": _strings(rng.integers(0, len(VISAPOSTS), n), VISAPOSTS,
                             _VISA_WAIVER[visa] | (rng.random(n) < 0.12)),
        "occup": _strings(np.where(is_student, 0, rng.integers(0, len(OCCUPATIONS), n)),
                          OCCUPATIONS, rng.random(n) >= occup_p),
        "entdepd": _strings(entdepd_idx, _ENTDEPD_VOCAB, ~matched),
        "entdepu": _strings(np.zeros(n, int), ["U"], rng.random(n) >= ENTDEPU_U),
        "matflag": _strings(np.zeros(n, int), ["M"], ~matched),
        "biryear": 2016.0 - age,
        "dtaddto": dtaddto,
        "insnum": _strings(rng.integers(0, len(_INSNUM_VOCAB), n), _INSNUM_VOCAB,
                           rng.random(n) >= INSNUM_SHARE),
        "airline": _strings(_pick(rng, _AIRLINE_CUM, n), _AIRLINE_VOCAB, ~air),
        "admnum": admnum,
        "fltno": _strings(fltno, _FLTNO_VOCAB, rng.random(n) < FLTNO_NULL),
        "visatype": _strings(visa, _VISA_VOCAB),
    }
    gender = _pick(rng, _GENDER[1], n)
    cols["gender"] = _strings(gender, _GENDER[0], gender == _GENDER[2])
    entdepa = _pick(rng, _ENTDEPA[1], n)
    cols["entdepa"] = _strings(entdepa, _ENTDEPA[0], entdepa == _ENTDEPA[2])

    names = list(I94_COLUMNS)
    if mon == 6:
        names[names.index("count") + 1:names.index("count") + 1] = JUNE_EXTRA
        cols.update({"validres": np.ones(n)} | {c: np.zeros(n) for c in JUNE_EXTRA[1:]})
    # from_pandas: NaN is written as null, as in the real files (a NaN cicid would read as 0).
    table = pa.table({c: cols[c] if isinstance(cols[c], pa.Array)
                      else pa.array(cols[c], pa.float64(), from_pandas=True) for c in names})

    with np.errstate(invalid="ignore"):
        absurd = (dep < _sas_day("2000-01-01")) | (dep >= _sas_day("2050-01-01"))
        traps = {
            "cicid_null": np.isnan(cicid).sum(),
            "arrdate_outside_month": ((arr < first) | (arr > last)).sum(),
            "depdate_before_arrival": ((dep < arr) & ~absurd).sum(),
            "depdate_absurd": absurd.sum(),
            "dtaddto_ds": (until_idx == len(until_vocab))[~until_null].sum(),
            "dtaddto_junk": len(junk),
            "i94addr_invalid": ((addr >= len(STATES)) & ~addr_null).sum(),  # '99' is not a state
            "i94cit_invalid": _IS_INVALID[cit.astype(int)].sum(),
            "i94cit_not_in_labels": (~_IN_LABELS[cit.astype(int)]).sum(),
            "i94mode_zero": (mode == 0).sum(),
            "i94port_not_in_labels": (port >= len(PORTS)).sum(),
        }
    nulls = {"depdate": ~departed, "dtaddto": until_null, "i94addr": addr_null, "i94mode": np.isnan(mode),
             "i94bir": np.isnan(age), "gender": gender == _GENDER[2]}
    return table, {k: int(v) for k, v in traps.items()}, {k: int(v.sum()) for k, v in nulls.items()}


def write_sas7bdat(df: pd.DataFrame, path: str | Path) -> None:
    """Write `df` as SAS7BDAT: a Stata file by pyreadstat, converted by ReadStat's `readstat` tool.

    No Python library writes sas7bdat. Numbers become SAS doubles, text SAS strings (a null
    string is blank). Raises RuntimeError when `readstat` is not on PATH.
    """
    import pyreadstat

    exe = shutil.which("readstat")
    if exe is None:
        raise RuntimeError("writing .sas7bdat needs ReadStat's command-line tool `readstat`, "
                           f"which is not on PATH: install it with `{SAS_APT_COMMAND}`")
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        dta, out = Path(tmp) / "data.dta", Path(tmp) / "data.sas7bdat"
        # Column labels: without them pandas.read_sas misreads the last names of the
        # column-text block readstat writes (e.g. 'visatype' comes back empty).
        pyreadstat.write_dta(df, str(dta), column_labels=[c.upper() for c in df.columns])
        done = subprocess.run([exe, str(dta), str(out)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"readstat failed converting to {path.name}: {done.stderr.strip()}")
        shutil.move(out, path)


def _month_path(month: str, fmt: str) -> str:
    suffix = {"parquet": ".parquet", "csv": ".csv", "sas7bdat": ".sas7bdat"}[fmt]
    return f"i94/i94_{MONTH_ABBR[int(month[5:]) - 1]}16_sub{suffix}"


def _write_month(out: Path, month: str, rows: int, fmt: str, seed: int, progress) -> tuple[dict, list]:
    """Write one month in `fmt`, CHUNK_ROWS at a time; return its manifest entry and files."""
    rng = np.random.default_rng([seed, 2016, int(month[5:])])
    plan = _plan_traps(rng, rows)
    target = out / _month_path(month, fmt)
    for old in (out / "i94").glob(f"i94_{MONTH_ABBR[int(month[5:]) - 1]}16_sub*"):
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    if fmt == "parquet":
        target.mkdir(parents=True)
    traps: dict[str, int] = {}
    nulls: dict[str, int] = {}
    tables, files, cicid = [], [], 0.0
    for part, start in enumerate(range(0, rows, CHUNK_ROWS)):
        n = min(CHUNK_ROWS, rows - start)
        table, found, empty = _chunk(rng, month, start, n, cicid, plan)
        cicid = pc.max(table["cicid"]).as_py()
        traps = {k: traps.get(k, 0) + v for k, v in found.items()}
        nulls = {k: nulls.get(k, 0) + v for k, v in empty.items()}
        if fmt == "parquet":
            files.append(target / f"part-{part:05d}.snappy.parquet")
            pq.write_table(table, files[-1], compression="snappy")
        elif fmt == "csv":  # like immigration_data_sample.csv: an unnamed index column, CRLF
            df = table.to_pandas()
            df.index = pd.RangeIndex(start, start + n)
            with open(target, "a" if start else "w", newline="") as f:
                df.to_csv(f, header=start == 0, lineterminator="\r\n")
        else:
            tables.append(table)
        progress(f"{month}: {start + n:,}/{rows:,} rows ({fmt})")
    if fmt == "sas7bdat":
        write_sas7bdat(pa.concat_tables(tables).to_pandas(), target)
        progress(f"{month}: converted to {target.name}")
    if fmt != "parquet":
        files.append(target)
    entry = {"rows": rows, "path": _month_path(month, fmt), "format": fmt,
             "columns": len(I94_COLUMNS) + (len(JUNE_EXTRA) if month == "2016-06" else 0),
             "traps": traps, "nulls": nulls}
    return entry, files


# ---------------------------------------------------------------------------------------------
# The other sources
# ---------------------------------------------------------------------------------------------

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
    kinds = _pick(rng, _cum(list(AIRPORT_TYPES.values())), SMALL_AIRPORTS)
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


# ---------------------------------------------------------------------------------------------
# The raw folder
# ---------------------------------------------------------------------------------------------

def generate_raw(out_dir: str | Path, scale: float = DEFAULT_SCALE, months: list[str] | None = None,
                 seed: int = 42, progress: Callable[[str], None] | None = None,
                 formats: dict[str, str] | None = None) -> dict:
    """Write a synthetic raw folder laid out like ../shared/data into `out_dir`.

    Each month 'YYYY-MM' of 2016 in `months` (default: all twelve) gets round(2016 volume ×
    `scale`) rows, in its format ('parquet', 'csv' or 'sas7bdat': DEFAULT_FORMATS, then
    `formats`); a sas7bdat month falls back to parquet when `readstat` is missing. The label
    file, demographics, airports and temperatures are written every time. The same seed gives
    the same rows. Returns the manifest (also written as generation_manifest.json):
    {"seed", "scale", "months": {month: {"rows", "path", "format", "columns", "traps",
    "nulls"}}, "files"}; paths are relative to `out_dir`. "traps" counts the rows of each
    planted trap (what a build must reject or flag), "nulls" the null values per column.
    """
    progress = progress or (lambda message: None)
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, not {scale}")
    months = sorted(MONTH_ROWS) if months is None else sorted(set(months))
    unknown = [m for m in months if m not in MONTH_ROWS]
    if unknown:
        raise ValueError(f"months must be 'YYYY-MM' of 2016, not {unknown}")
    chosen = {m: "parquet" for m in months} | {m: f for m, f in DEFAULT_FORMATS.items() if m in months}
    chosen |= {m: f for m, f in (formats or {}).items() if m in months}
    bad = {m: f for m, f in chosen.items() if f not in FORMATS}
    if bad:
        raise ValueError(f"formats must be one of {FORMATS}, not {bad}")

    out = Path(out_dir)
    (out / "i94").mkdir(parents=True, exist_ok=True)
    manifest: dict = {"seed": seed, "scale": scale, "months": {}, "files": []}
    files: list[Path] = []
    for month in months:
        rows = max(1, math.floor(MONTH_ROWS[month] * scale + 0.5))
        fmt = chosen[month]
        if fmt == "sas7bdat" and shutil.which("readstat") is None:
            progress(f"{month}: `readstat` is not on PATH ({SAS_APT_COMMAND}): writing parquet instead")
            fmt = "parquet"
        entry, written = _write_month(out, month, rows, fmt, seed, progress)
        manifest["months"][month] = entry
        files += written

    rng = np.random.default_rng([seed, 0])
    labels = out / "I94_SAS_Labels_Descriptions.SAS"
    _write_labels(labels)
    demographics = out / "us-cities-demographics.csv"
    _write_demographics(demographics, rng)
    airports = out / "airport-codes_csv.csv"
    _write_airports(airports, rng)
    files += [labels, demographics, airports] + _write_temperatures(out / "temperature", rng)
    progress("labels, demographics, airports and temperatures written")

    manifest["files"] = [p.relative_to(out).as_posix() for p in files]
    (out / "generation_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
