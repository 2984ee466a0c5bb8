"""Facts of the I94 months: volumes, columns, the label file's codes and how often they occur."""

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
